"""Node shapes: vCPUs and RAM of the instance types a Plan's nodes may launch as (no Pulumi).

Read from the instance catalog (pricing.instance_catalog(): a dated DescribeInstanceTypes snapshot; an
instance type's vCPUs and memory do not change). The pods' CPU/memory requests must fit every type the
node groups may launch, so the smallest of the planned type and its spot alternatives is used.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from planner.models import Plan
from pricing import InstanceType, instance_catalog


class NodeShape(BaseModel):
    """The smallest vCPU count and RAM among the instance types a Plan's nodes may be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vcpus: int
    memory_gib: float


class UnknownInstanceTypeError(ValueError):
    """An instance type the catalog does not list."""


def node_shape(plan: Plan, instances: Iterable[InstanceType] | None = None) -> NodeShape:
    """From `instances` (e.g. the priced catalog's, live DescribeInstanceTypes) or the snapshot catalog."""
    by_type = {i.instance_type: i for i in (instance_catalog() if instances is None else instances)}
    types = dict.fromkeys((plan.instance_type, *plan.spot_instance_types))
    missing = [t for t in types if t not in by_type]
    if missing:
        raise UnknownInstanceTypeError(
            f"instance_type: {', '.join(missing)} not in the instance catalog, so the pods' CPU/memory "
            "requests cannot be sized; plan a catalogued type (python -m advisor prices lists them)"
        )
    return NodeShape(vcpus=min(by_type[t].vcpus for t in types),
                     memory_gib=min(by_type[t].memory_gib for t in types))
