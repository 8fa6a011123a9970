"""Replica layout across nodes: the complexity penalty in the ranking, EFA interfaces only
for multi-node replicas, Workload.max_instances_per_replica.

From the planner review finding #10 and the second review's #5."""

from __future__ import annotations

import pytest

from llm_advisor.planner import PlanningError, Workload, make_plan
from tests.conftest import (
    FACTS,
    LLAMA8,
    LLAMA405,
    P5,
    P5_48X,
    P5EN_48X,
    assert_alternatives_agree_with_their_numbers,
    catalog,
    offer,
)

# --- #10: complexity penalty in the ranking ---------------------------------------------------------------


def test_single_node_beats_a_slightly_cheaper_four_node_fp16_pipeline():
    # Qwen3-30B-A3B, 32 x 32768: 4 x g4dn.12xlarge (16 T4s, fp16, TP=2 x PP=8 over 4 nodes) cost
    # 4 x $3.912 = $15.65/h, 1 x g7e.24xlarge $16.57/h. Ranked: 15.648 x (1 + 3 x 0.10) x 1.05 = $21.36/h
    # > $16.57: the single bf16 node wins; the T4 pipeline stays listed, cheaper but penalised.
    cat = catalog(offer("g4dn.12xlarge", 3.912), offer("g7e.24xlarge", 16.57))
    plan = make_plan(Workload(model="qwen3-30b-a3b", concurrency=32, max_model_len=32768), cat)
    assert (plan.placement.instance_type, plan.placement.instance_count, plan.served.dtype) == (
        "g7e.24xlarge",
        1,
        "bf16",
    )
    t4 = next(a for a in plan.alternatives if a.instance_type == "g4dn.12xlarge")
    assert (t4.instance_count, t4.instances_per_replica, t4.dtype) == (4, 4, "fp16")
    assert t4.usd_per_hour == pytest.approx(15.648)
    assert t4.why_not.startswith("$0.92/h cheaper (5.6%) but ranked at $21.36/h vs $16.57/h")
    assert "complexity penalty" in plan.explanation
    assert_alternatives_agree_with_their_numbers(plan)
    # Without the g7e the pipeline is still planned (the penalty ranks, it never refuses).
    only_t4 = make_plan(
        Workload(model="qwen3-30b-a3b", concurrency=32, max_model_len=32768),
        catalog(offer("g4dn.12xlarge", 3.912)),
    )
    assert only_t4.placement.needs_efa
    assert only_t4.placement.efa_interfaces_per_instance == FACTS["g4dn.12xlarge"].efa_max_interfaces == 1


def test_efa_interfaces_only_when_a_replica_spans_nodes():
    plan = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048), P5)
    assert not plan.placement.needs_efa and plan.placement.efa_interfaces_per_instance == 0
    two = make_plan(
        Workload(model=LLAMA405, concurrency=1, max_model_len=4096, workload_type="batch"),
        P5,
    )
    assert (
        two.placement.needs_efa
        and two.placement.efa_interfaces_per_instance == FACTS["p5.48xlarge"].efa_max_interfaces > 0
    )


# --- #5: Workload.max_instances_per_replica -------------------------------------------------------------


def test_one_instance_per_replica_refuses_pp_across_nodes_and_says_to_lift_it():
    # 405B bf16 needs two p5.48xlarge (test_planner.test_405b_bf16_needs_two_p5_nodes_with_pp2): capped at
    # one instance per replica it is infeasible, and the message prices lifting the cap.
    cat = catalog(offer("p5.48xlarge", P5_48X))
    w = Workload(model=LLAMA405, concurrency=8, max_model_len=8192)
    assert make_plan(w, cat).placement.instances_per_replica == 2
    with pytest.raises(PlanningError) as err:
        make_plan(w.model_copy(update={"max_instances_per_replica": 1}), cat)
    msg = str(err.value)
    assert "--max-instances-per-replica 1 binds" in msg
    assert "lift --max-instances-per-replica (now 1" in msg and "2 x p5.48xlarge" in msg
    # a cap of 2 still allows the two-node replica
    assert make_plan(w.model_copy(update={"max_instances_per_replica": 2}), cat).placement.instance_count == 2


def test_one_instance_per_replica_picks_a_node_that_holds_the_model():
    # with the H200 node offered it is the plan either way; the cap only removes the p5 pair
    cat = catalog(offer("p5.48xlarge", P5_48X), offer("p5en.48xlarge", P5EN_48X))
    w = Workload(model=LLAMA405, concurrency=8, max_model_len=8192, max_instances_per_replica=1)
    plan = make_plan(w, cat)
    assert (plan.placement.instance_type, plan.placement.instances_per_replica) == ("p5en.48xlarge", 1)
    assert all(a.instances_per_replica == 1 for a in plan.alternatives)
