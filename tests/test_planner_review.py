"""Review fixes of the planner (findings #1 #3 #4 #6 #10 #11 #13 #26 #27 #30): hand-priced catalogs,
hand-derived answers, each test failing on the code before its fix."""

from __future__ import annotations

import pytest

import sizing
from planner import PlanningError, Workload, checkpoint, make_plan
from planner.search import search
from pricing.models import InstancePrice, Offer
from sizing import load_model
from tests.test_planner import (
    AS_OF,
    FACTS,
    G6_X,
    G6E_X,
    LLAMA8,
    LLAMA70,
    LLAMA405,
    P5_48X,
    assert_alternatives_agree_with_their_numbers,
    catalog,
    offer,
)

LLAMA70_FP8 = "llama3.3-70b-fp8"
L40S = catalog(offer("g6e.xlarge", G6E_X))
P5 = catalog(offer("p5.48xlarge", P5_48X))


# --- #1 / #4: the checkpoint vLLM loads -----------------------------------------------------------------


def test_bf16_checkpoint_served_as_is_and_fp8_quantized_at_load_time():
    cat = L40S
    plain = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048), cat)
    assert (plain.served_model, plain.checkpoint_quantization, plain.quantization) == (LLAMA8, "none", "none")
    # vLLM quantizes a bf16 checkpoint to fp8 at load time: the same repo, checkpoint format "none"
    fp8 = make_plan(Workload(model=LLAMA8, quantization="fp8", concurrency=4, max_model_len=2048), cat)
    assert (fp8.served_model, fp8.checkpoint_quantization, fp8.quantization) == (LLAMA8, "none", "fp8")


def test_prequantized_fp8_checkpoint_is_its_own_format():
    arch = load_model(LLAMA70_FP8)
    plan = make_plan(Workload(model=LLAMA70_FP8, concurrency=4, max_model_len=4096), P5)
    assert (plan.served_model, plan.checkpoint_quantization, plan.quantization) == (arch.hf_id, "fp8", "fp8")


def test_awq_on_a_bf16_checkpoint_without_a_known_variant_has_no_served_model(monkeypatch):
    # The 70B base checkpoint is bf16; AWQ cannot be made at load time and no AWQ repo is known for it.
    monkeypatch.setattr(checkpoint, "quantized_checkpoint", lambda arch, q: None)
    w = Workload(model=LLAMA70, quantization="awq", concurrency=4, max_model_len=4096)
    plan = make_plan(w, L40S)
    assert plan.quantization == "awq" and plan.served_model is None and plan.checkpoint_quantization == "awq"
    needs = "render needs --served-model <an AWQ checkpoint of this architecture>"
    assert any(needs in x for x in plan.warnings)
    # --served-model names it: served as given, an AWQ checkpoint, no warning
    given = make_plan(w.model_copy(update={"served_model": "acme/Llama-70B-AWQ"}), L40S)
    assert (given.served_model, given.checkpoint_quantization) == ("acme/Llama-70B-AWQ", "awq")
    assert not any("--served-model" in x for x in given.warnings)


def test_awq_served_from_the_known_variant(monkeypatch):
    known = {"awq": "hq/Llama-70B-AWQ"}
    monkeypatch.setattr(checkpoint, "quantized_checkpoint", lambda arch, q: known.get(q))
    w = Workload(model=LLAMA70, quantization="awq", concurrency=4, max_model_len=4096)
    plan = make_plan(w, L40S)
    assert (plan.served_model, plan.checkpoint_quantization) == ("hq/Llama-70B-AWQ", "awq")


def test_config_json_model_has_no_served_model_unless_given(tmp_path):
    import shutil
    from pathlib import Path

    bundled = Path(sizing.__file__).parent / "data" / "model_configs" / "meta-llama--Meta-Llama-3.1-8B.json"
    path = tmp_path / "config.json"
    shutil.copy(bundled, path)
    w = Workload(model=str(path), concurrency=4, max_model_len=2048)
    plan = make_plan(w, L40S)
    assert plan.model == str(path) and plan.served_model is None
    assert any("local config.json" in x and "--served-model" in x for x in plan.warnings)
    named = make_plan(w.model_copy(update={"served_model": "meta-llama/Llama-3.1-8B"}), L40S)
    assert named.served_model == "meta-llama/Llama-3.1-8B"


def test_infeasible_awq_option_says_it_needs_a_checkpoint(monkeypatch):
    # 405B on one g6e.xlarge cannot fit in any format: the awq option must say what serving it needs.
    monkeypatch.setattr(checkpoint, "quantized_checkpoint", lambda arch, q: None)
    with pytest.raises(PlanningError) as err:
        make_plan(Workload(model=LLAMA405, concurrency=1, max_model_len=4096), L40S)
    line = next(x for x in str(err.value).splitlines() if "--quantization awq" in x)
    assert "needs --served-model <an AWQ checkpoint of this architecture>, none is known" in line
    monkeypatch.setattr(checkpoint, "quantized_checkpoint", lambda arch, q: f"hq/{q}-405B")
    with pytest.raises(PlanningError) as err:
        make_plan(Workload(model=LLAMA405, concurrency=1, max_model_len=4096), L40S)
    assert "needs an AWQ checkpoint: hq/awq-405B" in str(err.value)


# --- #3 / #11: max_num_seqs tuned to the replica, never above max_num_batched_tokens ---------------------


def test_max_num_seqs_never_exceeds_max_num_batched_tokens():
    # 4000 requests x 64 tokens on one L40S: 4000 x 1.3 = 5200 sequences (a multiple of 16, a CUDA graph
    # size above 256). vLLM's default max_num_batched_tokens there is 2048 and vLLM refuses
    # max_num_seqs > max_num_batched_tokens, so the plan raises it to 5200 and sizes the activation with it.
    w = Workload(model="llama-3.2-1b", concurrency=4000, max_model_len=64, workload_type="batch")
    plan = make_plan(w, L40S)
    per_replica = -(-4000 // plan.replicas)
    assert plan.max_num_seqs >= per_replica
    assert plan.max_num_seqs <= plan.max_num_batched_tokens
    assert (plan.replicas, plan.max_num_seqs, plan.max_num_batched_tokens) == (1, 5200, 5200)
    # the sampler's dummy run is sized with 5200 sequences: 9.8 x 5200 x 128,256 x 4 B = 24.3 GiB
    assert plan.memory.activation_peak_gib == pytest.approx(9.8 * 5200 * 128256 * 4 / 2**30, rel=0.02)


def test_max_num_seqs_is_tuned_to_the_replica_and_memory_sized_with_it():
    # Llama-3.3-70B FP8 on H100s at 8192: with vLLM's default max_num_seqs (1024 on >= 70 GiB GPUs) the
    # sampler's dummy run takes 9.8 x 1024 x 128,256 x 4 B = 4.79 GiB and one H100 keeps 6,736 KV tokens:
    # less than one 8,192-token request, so TP=1 could not be planned. 8 requests on p5.48xlarge's 8 GPUs
    # at TP=1 carry 1 each: max_num_seqs 1 x 1.3 -> 2, a sampler of ~0.01 GiB (the forward pass at 8192
    # batched tokens, 1.97 GiB, is then the peak) and 16,000 KV tokens: it fits.
    w = Workload(model=LLAMA70_FP8, concurrency=8, max_model_len=8192)
    ranked = search(w, P5, load_model(LLAMA70_FP8)).ranked
    tp1 = next(c for c in ranked if c.sized.layout.tp == 1)
    est = tp1.sized.advice.estimate
    assert (tp1.sized.replicas, tp1.sized.concurrency_per_replica, est.max_num_seqs) == (8, 1, 2)
    assert est.activation_peak_gib < 2.5 and est.kv_cache_tokens >= 8192 * 1.3
    plan = make_plan(w, P5)
    # whatever layout wins, vLLM admits about the batch the roofline assumed, not 1024
    assert plan.max_num_seqs == 16 and plan.throughput.batch_size == 8  # 8 x 1.3 = 10.4 -> 11 -> 16


# --- #6: spot at the median across AZs ------------------------------------------------------------------


def _spread_offer() -> Offer:
    by_az = {"use1-az4": 0.80, "use1-az1": 0.20, "use1-az2": 0.70}
    price = InstancePrice(
        instance_type="g6.xlarge",
        region="us-east-1",
        on_demand_usd_per_hour=G6_X,
        spot_usd_per_hour=0.20,
        spot_median_usd_per_hour=0.70,
        spot_usd_per_hour_by_az=by_az,
        interruption_band=0,
        interruption_frequency=None,
        price_source="snapshot",
        prices_as_of=AS_OF,
    )
    return Offer(instance=FACTS["g6.xlarge"], price=price)


def test_spot_is_priced_at_the_median_az_and_the_plan_lists_the_az_ids():
    w = Workload(model=LLAMA8, concurrency=4, max_model_len=2048, workload_type="batch", capacity="spot")
    plan = make_plan(w, catalog(_spread_offer()))
    assert plan.billed_usd_per_hour == pytest.approx(0.70)  # the median, not use1-az1's $0.20
    assert "median across 3 AZs" in plan.explanation
    assert plan.availability_zone_ids == ("use1-az1", "use1-az2", "use1-az4")


# --- #10: complexity penalty in the ranking ---------------------------------------------------------------


def test_single_node_beats_a_slightly_cheaper_four_node_fp16_pipeline():
    # Qwen3-30B-A3B, 32 x 32768: 4 x g4dn.12xlarge (16 T4s, fp16, TP=2 x PP=8 over 4 nodes) cost
    # 4 x $3.912 = $15.65/h, 1 x g7e.24xlarge $16.57/h. Ranked: 15.648 x (1 + 3 x 0.10) x 1.05 = $21.36/h
    # > $16.57: the single bf16 node wins; the T4 pipeline stays listed, cheaper but penalised.
    cat = catalog(offer("g4dn.12xlarge", 3.912), offer("g7e.24xlarge", 16.57))
    plan = make_plan(Workload(model="qwen3-30b-a3b", concurrency=32, max_model_len=32768), cat)
    assert (plan.instance_type, plan.instance_count, plan.dtype) == ("g7e.24xlarge", 1, "bf16")
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
    assert only_t4.needs_efa
    assert only_t4.efa_interfaces_per_instance == FACTS["g4dn.12xlarge"].efa_max_interfaces == 1


def test_efa_interfaces_only_when_a_replica_spans_nodes():
    plan = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048), P5)
    assert not plan.needs_efa and plan.efa_interfaces_per_instance == 0
    two = make_plan(
        Workload(model=LLAMA405, concurrency=1, max_model_len=4096, workload_type="batch"),
        P5,
    )
    assert two.needs_efa and two.efa_interfaces_per_instance == FACTS["p5.48xlarge"].efa_max_interfaces > 0


# --- #13 / #26: vLLM releases ------------------------------------------------------------------------------


def test_uncalibrated_vllm_release_is_flagged_and_a_calibrated_one_is_not():
    cat = L40S
    latest = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048), cat)
    assert any("no calibration logs" in x and "source reading only" in x for x in latest.warnings)
    old = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048, vllm_version="0.11"), cat)
    assert not any("calibration" in x for x in old.warnings)


def test_unsupported_vllm_version_fails_up_front_with_the_range():
    with pytest.raises(PlanningError) as err:
        make_plan(
            Workload(model=LLAMA8, concurrency=4, max_model_len=2048, vllm_version="0.1"),
            L40S,
        )
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("--vllm-version:")
    assert f"0.2 .. {sizing.LATEST_VLLM_VERSION}" in msg and "candidates" not in msg


# --- #27: churn keeps the deployed type only where it is deployed ----------------------------------------


def test_unknown_previous_instance_type_names_the_nearest_types():
    with pytest.raises(PlanningError) as err:
        make_plan(
            Workload(model=LLAMA8, concurrency=4, max_model_len=2048),
            catalog(offer("g6e.xlarge", G6E_X), offer("g6e.2xlarge", 2.24)),
            previous_instance_type="g6e.xlarg",
        )
    assert "'g6e.xlarg' is not in the priced catalog" in str(err.value) and "g6e.xlarge" in str(err.value)


def test_churn_never_keeps_the_type_by_moving_it_to_another_region():
    # Deployed: g6e.xlarge in us-east-1, where it is gone from the catalog; it still exists in us-west-2
    # ($1.86) within 3% of the best plan (g6e.2xlarge in us-east-1, $1.81). Keeping it would move region.
    cat = catalog(
        offer("g6e.2xlarge", 1.81),
        offer("g6e.xlarge", G6E_X, region="us-west-2"),
    )
    w = Workload(model=LLAMA8, concurrency=4, max_model_len=2048, regions=("us-east-1", "us-west-2"))
    plan = make_plan(w, cat, previous_instance_type="g6e.xlarge")
    assert (plan.instance_type, plan.region) == ("g6e.2xlarge", "us-east-1")
    assert "eplaces g6e.xlarge in us-east-1, which no longer serves the workload there" in plan.explanation
    # deployed in us-west-2 (said so): kept there, and the explanation names the region
    kept = make_plan(w, cat, previous_instance_type="g6e.xlarge", previous_region="us-west-2")
    assert (kept.instance_type, kept.region) == ("g6e.xlarge", "us-west-2")
    assert "ept the current g6e.xlarge in us-west-2" in kept.explanation


# --- #30: spot diversification never adds a riskier interruption band -------------------------------------


def test_spot_types_leave_out_worse_interruption_bands():
    # g6e.xlarge (band 1, 5-10%) chosen on spot; g6e.2xlarge same price band 1 (listed), g6e.4xlarge
    # same price band 4 (>20%: left out, the expected spot cost assumed band 1).
    cat = catalog(
        offer("g6e.xlarge", G6E_X, spot=0.90, band=1),
        offer("g6e.2xlarge", 2.24, spot=0.92, band=1),
        offer("g6e.4xlarge", 3.0, spot=0.91, band=4),
    )
    w = Workload(model=LLAMA8, concurrency=4, max_model_len=2048, workload_type="batch", capacity="spot")
    plan = make_plan(w, cat)
    assert plan.instance_type == "g6e.xlarge"
    assert plan.spot_instance_types == ("g6e.xlarge", "g6e.2xlarge")
