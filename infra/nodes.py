"""Node shapes: vCPUs and RAM of the instance types a Plan's nodes may launch as (no Pulumi).

The planner carries them in the Plan (placement.node_vcpus / node_memory_gib: the smallest of the planned
type and its spot alternatives, from the priced catalog's DescribeInstanceTypes facts), so the Pulumi
program and `python -m advisor render` size the pods' CPU/memory requests from the same numbers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from planner.models import Plan


class NodeShape(BaseModel):
    """The smallest vCPU count and RAM among the instance types a Plan's nodes may be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    vcpus: int
    memory_gib: float


def node_shape(plan: Plan) -> NodeShape:
    """The plan's node shape, as planned (no catalog lookup)."""
    return NodeShape(vcpus=plan.placement.node_vcpus, memory_gib=plan.placement.node_memory_gib)
