"""The Plan in parts (schema 2): derived fields, the constraints that remain, and the node shape the
planner takes from the priced catalog."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from llm_advisor.planner import Workload, make_plan
from pricing.models import Offer
from tests.conftest import FACTS, LLAMA8, build_plan, catalog, offer, single_instance_plan, two_node_plan


def test_derived_fields_follow_the_stored_ones() -> None:
    plan = single_instance_plan(replicas=5, instance_count=5, on_demand_instances=2)
    assert (plan.placement.spot_instances, plan.placement.needs_efa) == (3, False)
    two = two_node_plan()
    assert (two.vllm.gpus_per_replica, two.placement.needs_efa, two.placement.spot_instances) == (16, True, 0)
    with pytest.raises(TypeError, match="needs_efa is derived"):
        single_instance_plan(needs_efa=True)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(on_demand_instances=3), "more than instance_count"),
        (dict(capacity_type="on-demand"), "make it mixed"),
        (dict(capacity_type="spot", on_demand_instances=2), "make it on-demand"),
        (dict(efa_interfaces_per_instance=2), "no EFA needed"),
        (dict(instances_per_replica=2, efa_interfaces_per_instance=1), "not replicas x instances_per"),
    ],
)
def test_contradicting_placements_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        single_instance_plan(**overrides)


def test_a_replica_must_split_evenly_over_its_instances() -> None:
    with pytest.raises(ValidationError, match="does not split evenly"):
        two_node_plan(tensor_parallel_size=3, pipeline_parallel_size=1)


def test_schema_version_is_2() -> None:
    assert single_instance_plan().schema_version == 2
    with pytest.raises(ValidationError, match="schema_version"):
        build_plan(**{**_flat(single_instance_plan()), "schema_version": 1})


def _flat(plan) -> dict:
    fields = {k: getattr(plan, k) for k in ("memory", "throughput", "alternatives", "explanation")}
    for part in (plan.served, plan.vllm, plan.placement, plan.cost, plan.latency):
        fields.update({k: getattr(part, k) for k in type(part).model_fields})
    return fields


def test_node_shape_is_the_smallest_of_the_planned_type_and_its_spot_alternatives() -> None:
    # g6e.2xlarge listed for spot diversification with fewer vCPUs than the chosen g6e.xlarge (a made-up
    # fact): the plan's node shape is the smaller of each, as the priced catalog states them.
    fewer_cpus = FACTS["g6e.2xlarge"].model_copy(update={"vcpus": 2})
    alternative = Offer(instance=fewer_cpus, price=offer("g6e.2xlarge", 2.24, spot=0.95, band=0).price)
    cat = catalog(offer("g6e.xlarge", 1.861, spot=0.90, band=0), alternative)
    plan = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048, capacity="spot"), cat)
    at = plan.placement
    assert (at.instance_type, at.spot_instance_types) == ("g6e.xlarge", ("g6e.xlarge", "g6e.2xlarge"))
    assert (at.node_vcpus, at.node_memory_gib) == (2, FACTS["g6e.xlarge"].memory_gib)
    w = Workload(model=LLAMA8, concurrency=4, max_model_len=2048, capacity="on-demand")
    on_demand = make_plan(w, cat)
    assert on_demand.placement.spot_instance_types == ()
    assert (on_demand.placement.node_vcpus, on_demand.placement.node_memory_gib) == (4, 32.0)
