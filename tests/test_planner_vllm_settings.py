"""The vLLM settings of a plan: max_num_seqs tuned to the replica (never above
max_num_batched_tokens, memory sized with it) and the --vllm-version range and calibration warning.

From the planner review findings #3 #11 #13 #26."""

from __future__ import annotations

import pytest

import sizing
from llm_advisor.planner import PlanningError, Workload, make_plan
from llm_advisor.planner.search import search
from sizing import load_model
from tests.conftest import (
    L40S,
    LLAMA8,
    LLAMA70_FP8,
    P5,
)

# --- #3 / #11: max_num_seqs tuned to the replica, never above max_num_batched_tokens ---------------------


def test_max_num_seqs_never_exceeds_max_num_batched_tokens():
    # 4000 requests x 64 tokens on one L40S: 4000 x 1.3 = 5200 sequences (a multiple of 16, a CUDA graph
    # size above 256). vLLM's default max_num_batched_tokens there is 2048 and vLLM refuses
    # max_num_seqs > max_num_batched_tokens, so the plan raises it to 5200 and sizes the activation with it.
    w = Workload(model="llama-3.2-1b", concurrency=4000, max_model_len=64, workload_type="batch")
    plan = make_plan(w, L40S)
    per_replica = -(-4000 // plan.placement.replicas)
    assert plan.vllm.max_num_seqs >= per_replica
    assert plan.vllm.max_num_seqs <= plan.vllm.max_num_batched_tokens
    assert (plan.placement.replicas, plan.vllm.max_num_seqs, plan.vllm.max_num_batched_tokens) == (
        1,
        5200,
        5200,
    )
    # the sampler's dummy run is sized with 5200 sequences: with the default release's FlashInfer sampler
    # (3.5 fp32 copies, sizing/vllm_versions.py) 3.5 x 5200 x 128,256 x 4 B = 8.7 GiB
    assert plan.memory.activation_peak_gib == pytest.approx(3.5 * 5200 * 128256 * 4 / 2**30, rel=0.02)


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
    assert plan.vllm.max_num_seqs == 16 and plan.throughput.batch_size == 8  # 8 x 1.3 = 10.4 -> 11 -> 16


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


def test_bnb4_on_a_release_without_bitsandbytes_fails_up_front():
    # vLLM 0.28 dropped "bitsandbytes" from QuantizationMethods; 0.27 still makes bnb4 at load time.
    with pytest.raises(PlanningError) as err:
        make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048, quantization="bnb4"), L40S)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("--quantization bnb4: vLLM") and "--vllm-version 0.27" in msg
    old = Workload(model=LLAMA8, concurrency=4, max_model_len=2048, quantization="bnb4", vllm_version="0.27")
    plan = make_plan(old, L40S)
    assert plan.vllm.vllm_version == "0.27"
