"""Issue 10: decisions users pay for. Each expected cost is derived by hand in a comment."""

from __future__ import annotations

import pytest

from llm_advisor.planner import PlanningError, Workload, make_plan
from llm_advisor.planner import batch as bw
from sizing import gated_repo
from tests.conftest import G6E_X, LLAMA8, LLAMA405, P5_48X, catalog, offer

I8 = "meta-llama/Llama-3.1-8B-Instruct"


def in_azs(o, azs=("use1-az1", "use1-az2")):
    """The offer with its spot price in these AZs (the planner counts AZs from the per-AZ spot prices)."""
    p = o.price
    by_az = {a: p.spot_usd_per_hour for a in azs}
    return o.model_copy(update={"price": p.model_copy(update={"spot_usd_per_hour_by_az": by_az})})


# --- 1. batch as work ------------------------------------------------------------------------------------


def test_batch_work_formulas_by_hand():
    # 3.6e6 output tokens at 1,000 tokens/s = 3,600 s = 1 h; 2e7 input tokens at 1,000 x 3 = 3,000 input
    # tokens/s = 6,666.7 s = 1.8519 h: the input binds.
    assert bw.work_hours(3_600_000, None, 1000.0, 3.0) == pytest.approx(1.0)
    assert bw.work_hours(3_600_000, 20_000_000, 1000.0, 3.0) == pytest.approx(20e6 / 3000 / 3600)
    # Spot Advisor band 1 (5-10 %: midpoint 7.5 %) x 1 node x 15 min recovery = 0.075 x 0.25 h = 0.01875 h;
    # unknown band (25 %) x 2 nodes x 0.25 h = 0.125 h.
    assert bw.lost_hours_per_interruption_share(1, 1) == pytest.approx(0.01875)
    assert bw.lost_hours_per_interruption_share(None, 2) == pytest.approx(0.125)
    # Within a month: work + loss; beyond: the loss recurs every 730 h: 1000 / (1 - 0.01875 / 730).
    assert bw.wall_hours(10, 0.01875) == pytest.approx(10.01875)
    assert bw.wall_hours(1000, 0.01875) == pytest.approx(1000 / (1 - 0.01875 / 730))
    # 10 h of work, 0.125 h lost, 3 h deadline: ceil(10 / (3 - 0.125)) = ceil(3.48) = 4 copies (2.625 h).
    assert bw.fleets_for_deadline(10, 0.125, 3) == 4
    assert bw.fleets_for_deadline(10, 0.0, None) == 1
    assert bw.fleets_for_deadline(10, 4.0, 3) is None  # the expected loss alone exceeds the deadline


def _batch(**kw) -> Workload:
    base = dict(model=LLAMA8, concurrency=8, max_model_len=2048, workload_type="batch")
    return Workload(**(base | kw))


def test_batch_volume_total_cost_includes_redone_spot_work():
    # One L40S at $1.861/h on demand or $0.60/h spot (band 1). Spot for W hours of work costs
    # 0.60 x (W + 0.01875) (see above), on demand 1.861 x W: spot wins for any W here.
    cat = catalog(offer("g6e.xlarge", G6E_X, 0.60, band=1))
    plan = make_plan(_batch(batch_output_tokens=50_000_000, batch_input_tokens=10_000_000), cat)
    b, rate = plan.batch, plan.throughput.total_output_tokens_per_s
    n = plan.placement.instance_count
    work = 50e6 / rate / 3600  # input: 10e6 at rate x 1536/512 per s is far less
    assert plan.placement.capacity_type == "spot" and b.fleets == 1
    assert b.work_hours == pytest.approx(work, rel=1e-3)
    assert b.hours - b.work_hours == pytest.approx(0.01875, abs=2e-4)  # the re-done work, exactly
    assert b.total_usd == pytest.approx(0.60 * n * (work + 0.01875), abs=0.01)
    assert b.usd_per_million_tokens == pytest.approx(b.total_usd / 60, rel=1e-3)
    assert b.usd_per_million_output_tokens == pytest.approx(b.total_usd / 50, rel=1e-3)
    assert "to finish" in plan.explanation and f"${b.total_usd:,.2f}" in plan.explanation


def test_batch_deadline_runs_copies_of_the_fleet():
    cat = catalog(offer("g6e.xlarge", G6E_X, 0.60, band=1))
    one = make_plan(_batch(batch_output_tokens=50_000_000), cat)
    work = one.batch.work_hours
    # deadline = work / 2.5: ceil(work / (work / 2.5 - 0.01875)) = 3 copies; total = 3 x 0.60 x n x
    # (work / 3 + 0.01875) = 0.60 x n x work + 3 x 0.60 x n x 0.01875.
    plan = make_plan(_batch(batch_output_tokens=50_000_000, deadline_hours=work / 2.5), cat)
    n = one.placement.instance_count
    assert plan.batch.fleets == 3 and plan.placement.instance_count == 3 * n
    assert plan.batch.hours <= work / 2.5
    assert plan.batch.hours == pytest.approx(work / 3 + 0.01875, abs=2e-4)
    assert plan.batch.total_usd == pytest.approx(0.60 * n * work + 3 * 0.60 * n * 0.01875, abs=0.01)


def test_batch_deadline_no_layout_can_meet_names_it_and_the_nearest_option():
    cat = catalog(offer("g6e.xlarge", G6E_X, 0.60, band=1))
    with pytest.raises(PlanningError) as err:
        make_plan(_batch(batch_output_tokens=10**12, deadline_hours=1.0), cat)
    msg = str(err.value)
    assert "binding constraint: the batch deadline" in msg
    assert "no --deadline-hours: 1 x g6e.xlarge" in msg and " total in " in msg


def test_batch_options_only_for_batch_work():
    with pytest.raises(ValueError, match="batch_output_tokens: a volume of work is for workload_type batch"):
        Workload(model=LLAMA8, batch_output_tokens=10)
    with pytest.raises(ValueError, match="deadline_hours: needs batch_output_tokens"):
        _batch(deadline_hours=2)


# --- 2. capacity preferences -----------------------------------------------------------------------------


def test_a_capacity_preference_dearer_than_the_margin_is_said_with_both_figures():
    # Only the p5 sells spot ($20/h, band 1): --capacity spot plans it for an 8B model; realtime spot
    # = 20 + 0.075/730 x (15 - 2)/60 h x 55.04 = $20.0012/h. auto takes on-demand L40S at $1.861/h each.
    cat = catalog(offer("g6e.xlarge", G6E_X), offer("p5.48xlarge", P5_48X, 20.0, band=1))
    plan = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048, capacity="spot"), cat)
    assert plan.placement.instance_type == "p5.48xlarge"
    assert plan.cost.usd_per_hour == pytest.approx(20 + 0.075 / 730 * 13 / 60 * 55.04, abs=1e-4)
    t = next(t for t in plan.tradeoffs if t.kind == "capacity")
    assert t.other_cost == pytest.approx(G6E_X) and t.other.startswith("1 x g6e.xlarge")
    warning = next(w for w in plan.warnings if w.startswith("--capacity spot costs"))
    assert "$20.00/h" in warning and "$1.86/h" in warning and "more than the 10% margin" in warning


def test_auto_says_why_it_left_a_cheaper_capacity_type():
    # One L40S, realtime, auto: the band split keeps the only unit on-demand ($1.861/h); spot at
    # 0.60 + 0.025/730 x 13/60 x 1.861 = $0.60/h is cheaper and the explanation says why not.
    cat = catalog(offer("g6e.xlarge", G6E_X, 0.60, band=0))
    plan = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048), cat)
    assert plan.placement.capacity_type == "on-demand" and plan.cost.usd_per_hour == pytest.approx(G6E_X)
    assert "spot would be $0.60/h but realtime serving keeps an on-demand base" in plan.explanation


# --- 3. target constraints -------------------------------------------------------------------------------


def test_the_ec2_single_instance_rule_is_named_with_its_cost():
    # 405B bf16 (811 GB) needs two p5.48xlarge (640 GB each) as PP=2: 2 x $55.04 = $110.08/h. With one
    # instance per replica (target ec2) only the 8 x H200 p5en (priced $200/h here) holds it.
    cat = catalog(offer("p5.48xlarge", P5_48X), offer("p5en.48xlarge", 200.0))
    w = Workload(model=LLAMA405, concurrency=8, max_model_len=8192, max_instances_per_replica=1)
    plan = make_plan(w, cat)
    t = next(t for t in plan.tradeoffs if t.kind == "target")
    assert (t.plan_cost, t.other_cost) == (200.0, pytest.approx(110.08))
    assert "--max-instances-per-replica 1" in t.rule and "target ec2" in t.rule
    assert "Target rule:" in plan.explanation and "$110.08/h" in plan.explanation


# --- 4. availability -------------------------------------------------------------------------------------


def test_realtime_plan_prices_the_highly_available_variant_within_or_over_the_budget():
    # Band 4: realtime keeps every unit on demand. 1 replica = $1.861/h; 2 replicas in 2 AZs = $3.722/h.
    cat = catalog(in_azs(offer("g6e.xlarge", G6E_X, 0.60, band=4)))
    w = Workload(model=I8, concurrency=4, max_model_len=2048, has_hf_token=True)
    plan = make_plan(w, cat)
    t = next(t for t in plan.tradeoffs if t.kind == "availability")
    assert (t.plan_cost, t.other_cost, t.difference_share) == (G6E_X, pytest.approx(3.722), 1.0)
    over = make_plan(w.model_copy(update={"max_usd_per_hour": 3.0}), cat)
    t = next(t for t in over.tradeoffs if t.kind == "availability")
    assert t.other.startswith("over the $3.00/h budget: 2 x g6e.xlarge")
    assert t.other_cost == pytest.approx(3.722)
    ha = make_plan(w.model_copy(update={"min_replicas": 2, "availability_zones": 2}), cat)
    assert ha.placement.instance_count == 2 and ha.cost.usd_per_hour == pytest.approx(3.722)


def test_more_zones_than_the_type_is_offered_in_is_refused_with_the_nearest_option():
    cat = catalog(in_azs(offer("g6e.xlarge", G6E_X, 0.60, band=4)))
    with pytest.raises(PlanningError) as err:
        make_plan(Workload(model=I8, concurrency=4, max_model_len=2048, availability_zones=3), cat)
    msg = str(err.value)
    assert "availability" in msg and "offered in 2 AZ(s), 3 asked" in msg
    assert "--min-replicas 1 --availability-zones 1: 1 x g6e.xlarge" in msg and "$1.86/h" in msg


# --- 5. cheaper variants ---------------------------------------------------------------------------------


def test_fp8_kv_variant_is_listed_not_applied():
    # 32 x 8192 tokens: bf16 KV needs 2 L40S ($3.722/h); an fp8 KV cache halves it into one ($1.861/h),
    # a 50 % cut (> 20 %): listed, the plan keeps KV auto.
    cat = catalog(offer("g6e.xlarge", G6E_X))
    plan = make_plan(Workload(model=I8, concurrency=32, max_model_len=8192), cat)
    assert plan.cost.usd_per_hour == pytest.approx(3.722) and plan.served.kv_cache_dtype == "auto"
    t = next(t for t in plan.tradeoffs if t.kind == "variant")
    assert t.rule.startswith("--kv-cache-dtype fp8") and t.changes_numerics
    assert (t.other_cost, t.difference_share, t.other_is_cheaper) == (pytest.approx(G6E_X), 0.5, True)
    assert t.checkpoint == I8


def test_no_variant_when_a_quantization_is_asked():
    cat = catalog(offer("g6e.xlarge", G6E_X))
    plan = make_plan(Workload(model=I8, concurrency=32, max_model_len=8192, quantization="fp8"), cat)
    assert not [t for t in plan.tradeoffs if t.kind == "variant"]


# --- 6. gated models -------------------------------------------------------------------------------------


def test_gated_models_warn_without_a_token():
    assert gated_repo("meta-llama/Llama-3.1-8B-Instruct") == "meta-llama/*"
    assert gated_repo("google/gemma-2-9b-it") == "google/gemma*" and gated_repo("Qwen/Qwen2.5-7B") is None
    cat = catalog(offer("g6e.xlarge", G6E_X))
    w = Workload(model=I8, concurrency=4, max_model_len=2048)
    assert any("gated Hugging Face repo (meta-llama/*)" in x for x in make_plan(w, cat).warnings)
    with_token = make_plan(w.model_copy(update={"has_hf_token": True}), cat)
    assert not any("gated" in x for x in with_token.warnings)


# --- 8. on-demand discount -------------------------------------------------------------------------------


def test_on_demand_discount_is_applied_and_shown_but_not_to_spot():
    # 20 % off $1.861/h = $1.4888/h; spot ($0.60/h, batch, band 1) stays at 0.60 / (1 - 0.075/730 x 0.25).
    cat = catalog(offer("g6e.xlarge", G6E_X))
    plan = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048, on_demand_discount=0.2), cat)
    assert plan.cost.usd_per_hour == pytest.approx(1.4888) and plan.cost.on_demand_discount == 0.2
    assert "after your 20% on-demand discount" in plan.explanation
    spot = catalog(offer("g6e.xlarge", G6E_X, 0.60, band=1))
    b = make_plan(_batch(on_demand_discount=0.2), spot)
    assert b.placement.capacity_type == "spot"
    assert b.cost.usd_per_hour == pytest.approx(0.60 / (1 - 0.075 / 730 * 0.25), abs=1e-4)
