"""Second-review fixes of the planner (findings #1 #5 #12 #14): hand-priced catalogs, hand-derived answers,
each test failing on the code before its fix."""

from __future__ import annotations

import argparse

import pytest

import sizing
from advisor.plan_cmd import add_workload_arguments, workload_from_args
from planner import PlanningError, Workload, checkpoint, make_plan
from planner.costing import choose_capacity
from tests.test_planner import G6_X, G6E_X, LLAMA8, LLAMA70, LLAMA405, P5_48X, P5EN_48X, catalog, offer
from tests.test_planner_units import price

L40S = catalog(offer("g6e.xlarge", G6E_X))
RH_FP8 = "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"  # sizing/checkpoints.py: compressed-tensors FP8
HQ_AWQ = "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4"  # AutoAWQ INT4 of Llama-3.1-70B-Instruct


def wl(**kw) -> Workload:
    return Workload(**{"model": "llama-3.3-70b", "concurrency": 2, "max_model_len": 4096, **kw})


# --- #1: a --served-model repo is served in its own format ------------------------------------------------


def test_listed_fp8_repo_is_an_fp8_checkpoint_not_a_load_time_quantization():
    # RedHat's FP8-dynamic repo already holds fp8 weights: vLLM must not be told --quantization fp8 again
    # (its quant_method is compressed-tensors), so checkpoint_quantization == quantization == fp8.
    cat = catalog(offer("p5.48xlarge", P5_48X))
    plan = make_plan(wl(quantization="fp8", served_model=RH_FP8), cat)
    assert (plan.served_model, plan.checkpoint_quantization, plan.quantization) == (RH_FP8, "fp8", "fp8")
    # no --quantization: the repo's own format is planned
    assert make_plan(wl(served_model=RH_FP8), cat).quantization == "fp8"


def test_listed_awq_repo_without_quantization_plans_awq_weights():
    # Llama-3.1-70B AWQ INT4: ~37 GiB of weights fit one L40S (44.5 GiB usable at 0.95); bf16 (131 GiB)
    # does not, and g6e.xlarge has no EFA: sized as bf16 the workload would be infeasible.
    plan = make_plan(wl(model=LLAMA70, served_model=HQ_AWQ), L40S)
    assert (plan.quantization, plan.checkpoint_quantization, plan.served_model) == ("awq", "awq", HQ_AWQ)
    assert plan.instance_count == 1 and plan.memory.weights_gib < 40


def test_a_format_the_listed_repo_contradicts_is_refused_naming_the_right_quantization():
    with pytest.raises(PlanningError) as err:
        make_plan(wl(model=LLAMA70, quantization="fp8", served_model=HQ_AWQ), L40S)
    msg = str(err.value)
    assert HQ_AWQ in msg and "AWQ checkpoint" in msg and "--quantization awq" in msg
    # a 16-bit repo cannot become AWQ at load time: none, fp8 or bnb4 work
    with pytest.raises(PlanningError, match="--quantization none, fp8 or bnb4"):
        make_plan(wl(quantization="awq", served_model="meta-llama/Llama-3.3-70B-Instruct"), L40S)


def test_a_repo_of_another_architecture_is_refused_naming_both():
    with pytest.raises(PlanningError) as err:
        make_plan(wl(model=LLAMA8, served_model=HQ_AWQ), L40S)
    msg = str(err.value)
    assert HQ_AWQ in msg and "meta-llama/Meta-Llama-3.1-8B" in msg and "num_hidden_layers 80 vs 32" in msg


def test_the_base_repo_may_be_served_from_its_instruct_awq_twin():
    # base_model differs (base vs Instruct) but every architecture fact is the same
    plan = make_plan(wl(model=LLAMA70, served_model=HQ_AWQ), L40S)
    assert plan.model == sizing.load_model(LLAMA70).hf_id and plan.served_model == HQ_AWQ


def test_unlisted_repo_format_follows_the_plan_or_must_be_stated():
    cat = catalog(offer("p5.48xlarge", P5_48X))
    # none planned: a 16-bit repo; awq planned: an AWQ repo (vLLM reads AWQ only from the checkpoint)
    assert make_plan(wl(served_model="acme/L70"), cat).checkpoint_quantization == "none"
    assert make_plan(wl(quantization="awq", served_model="acme/L70"), cat).checkpoint_quantization == "awq"
    # fp8 is ambiguous: load-time from 16-bit, or a pre-quantized FP8 repo
    with pytest.raises(PlanningError) as err:
        make_plan(wl(quantization="fp8", served_model="acme/L70"), cat)
    assert "--served-model-quantization none" in str(err.value) and "acme/L70" in str(err.value)
    stated = make_plan(wl(quantization="fp8", served_model="acme/L70", served_model_quantization="fp8"), cat)
    assert (stated.checkpoint_quantization, stated.quantization) == ("fp8", "fp8")
    load_time = wl(quantization="fp8", served_model="acme/L70", served_model_quantization="none")
    assert make_plan(load_time, cat).checkpoint_quantization == "none"
    # an FP8 repo with no --quantization: fp8 is planned, in its format
    assert make_plan(wl(served_model="acme/L70", served_model_quantization="fp8"), cat).quantization == "fp8"
    # bnb4 likewise ambiguous
    with pytest.raises(PlanningError, match="--served-model-quantization bnb4"):
        make_plan(wl(quantization="bnb4", served_model="acme/L70"), cat)


def test_stated_format_that_contradicts_a_listed_repo_is_refused():
    with pytest.raises(PlanningError, match="--served-model-quantization none contradicts"):
        make_plan(
            wl(served_model=RH_FP8, served_model_quantization="none"), catalog(offer("p5.48xlarge", P5_48X))
        )


# --- #14: sizing.quantized_checkpoint imported directly ---------------------------------------------------


def test_quantized_checkpoint_is_sizings_own_function():
    assert checkpoint.quantized_checkpoint is sizing.quantized_checkpoint


# --- #5: Workload.max_instances_per_replica -------------------------------------------------------------


def test_one_instance_per_replica_refuses_pp_across_nodes_and_says_to_lift_it():
    # 405B bf16 needs two p5.48xlarge (test_planner.test_405b_bf16_needs_two_p5_nodes_with_pp2): capped at
    # one instance per replica it is infeasible, and the message prices lifting the cap.
    cat = catalog(offer("p5.48xlarge", P5_48X))
    w = Workload(model=LLAMA405, concurrency=8, max_model_len=8192)
    assert make_plan(w, cat).instances_per_replica == 2
    with pytest.raises(PlanningError) as err:
        make_plan(w.model_copy(update={"max_instances_per_replica": 1}), cat)
    msg = str(err.value)
    assert "--max-instances-per-replica 1 binds" in msg
    assert "lift --max-instances-per-replica (now 1" in msg and "2 x p5.48xlarge" in msg
    # a cap of 2 still allows the two-node replica
    assert make_plan(w.model_copy(update={"max_instances_per_replica": 2}), cat).instance_count == 2


def test_one_instance_per_replica_picks_a_node_that_holds_the_model():
    # with the H200 node offered it is the plan either way; the cap only removes the p5 pair
    cat = catalog(offer("p5.48xlarge", P5_48X), offer("p5en.48xlarge", P5EN_48X))
    w = Workload(model=LLAMA405, concurrency=8, max_model_len=8192, max_instances_per_replica=1)
    plan = make_plan(w, cat)
    assert (plan.instance_type, plan.instances_per_replica) == ("p5en.48xlarge", 1)
    assert all(a.instances_per_replica == 1 for a in plan.alternatives)


def test_cli_flags_reach_the_workload():
    parser = argparse.ArgumentParser()
    add_workload_arguments(parser)
    base = ["--model", "m", "--concurrency", "1", "--max-model-len", "1024"]
    w = workload_from_args(parser.parse_args(base))
    assert (w.max_instances_per_replica, w.served_model_quantization) == (None, None)
    args = parser.parse_args(
        [*base, "--max-instances-per-replica", "1", "--served-model-quantization", "fp8"]
    )
    w = workload_from_args(args)
    assert (w.max_instances_per_replica, w.served_model_quantization) == (1, "fp8")


# --- #12: --capacity mixed asked explicitly ---------------------------------------------------------------


def test_explicit_mixed_gets_one_spot_unit_where_the_band_split_keeps_all_on_demand():
    # band 4 (>20%/month): the realtime base share is 100%, so the split is 4 on-demand + 0 spot; mixed
    # asked explicitly puts one unit on spot: 3 x $10 + 1 x the effective spot price.
    c = choose_capacity(price(band=4), 4, 1, "realtime", "mixed")
    assert (c.capacity_type, c.on_demand_instances, c.spot_instances, c.forced_spot) == ("mixed", 3, 1, True)
    # auto keeps the saving rule: all on-demand at that band
    assert choose_capacity(price(band=4), 4, 1, "realtime", "auto").spot_instances == 0
    # multi-node units stay whole: 2 replicas of 2 nodes -> 2 on-demand + 2 spot
    c = choose_capacity(price(band=4), 4, 2, "realtime", "mixed")
    assert (c.on_demand_instances, c.spot_instances) == (2, 2)


def test_explicit_mixed_plan_states_the_cost_of_its_spot_unit():
    # 8B, 56 x 2048 on g6.xlarge needs 4 instances (test_realtime_mixed_base_plus_spot_burst...); at band
    # 4 the split keeps all 4 on-demand ($3.22/h); mixed asked: 3 on-demand + 1 spot.
    cat = catalog(offer("g6.xlarge", G6_X, spot=0.20, band=4))
    plan = make_plan(Workload(model=LLAMA8, concurrency=56, max_model_len=2048, capacity="mixed"), cat)
    assert (plan.capacity_type, plan.on_demand_instances, plan.spot_instances) == ("mixed", 3, 1)
    assert "--capacity mixed as asked" in plan.explanation
    assert f"${4 * G6_X:,.2f}/h all on-demand" in plan.explanation


def test_explicit_mixed_on_one_instance_warns_why_it_is_all_on_demand():
    cat = catalog(offer("g6e.xlarge", G6E_X, spot=0.9, band=0))
    plan = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048, capacity="mixed"), cat)
    assert (plan.capacity_type, plan.instance_count) == ("on-demand", 1)
    assert any("--capacity mixed asked, but the plan has a single instance" in w for w in plan.warnings)


def test_the_listed_variant_is_sized_on_its_own_facts():
    # --quantization awq on the 16-bit Instruct model is served from hugging-quants' AWQ repo: its listed
    # facts are what the plan sizes; fp8 is made at load time from the model's own repo (no variant).
    arch = sizing.load_model("meta-llama/Llama-3.1-70B-Instruct")
    assert checkpoint.variant_arch(arch, "awq").hf_id == HQ_AWQ
    assert checkpoint.variant_arch(arch, "fp8") is None and checkpoint.variant_arch(arch, "none") is None
    plan = make_plan(wl(model="meta-llama/Llama-3.1-70B-Instruct", quantization="awq"), L40S)
    given = make_plan(wl(model="meta-llama/Llama-3.1-70B-Instruct", served_model=HQ_AWQ), L40S)
    assert plan.served_model == HQ_AWQ and plan.memory == given.memory
