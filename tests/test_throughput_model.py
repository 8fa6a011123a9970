"""The step-time model (planner/throughput.py) with hand-derived numbers, its fit, and the one-layout path."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from llm_advisor.planner.calibration import fit, load_runs
from llm_advisor.planner.one_layout import layout_estimate
from llm_advisor.planner.throughput import (
    FITTED,
    ReplicaShape,
    RequestShape,
    StepParams,
    estimate_throughput,
    replica_timing,
    step_seconds,
)

CSV = Path(__file__).resolve().parent.parent / "bench" / "data" / "serving_calibration.csv"
LLAMA8B_BYTES = 16.06e9  # 8.03 B params x 2 bytes (bf16)
P = StepParams(bandwidth_efficiency=0.8, step_overhead_s=0.001, layer_overhead_s=10e-6)


def shape(**kw) -> ReplicaShape:
    base = dict(
        memory_bandwidth_gb_per_s=1555.0,
        dense_tflops=312.0,
        nvlink=False,
        link_gb_per_s=25.0,
        network_gb_per_s=0.0,
        tensor_parallel_size=1,
        pipeline_parallel_size=1,
        num_hidden_layers=32,
        hidden_size=4096,
        weights_bytes_per_gpu=LLAMA8B_BYTES,
        kv_bytes_per_token_per_gpu=131072,
        active_params=8_030_000_000,
        total_params=8_030_000_000,
        is_moe=False,
        attention_width=4096,
    )
    base.update(kw)
    return ReplicaShape(**base)


def test_decode_step_is_bandwidth_plus_fixed_costs():
    # One sequence, no prefill, 1024 tokens of context on an A100-40GB:
    # memory (16.06e9 + 1024 x 131072) / (1555e9 x 0.8) = 13.017 ms; compute 2 x 8.03e9 / 156e12 = 0.103 ms
    # charged at half (imperfect overlap): 0.051 ms; + 1 ms per step + 32 layers x 10 us = 14.389 ms.
    t, memory_bound = step_seconds(shape(), 1, 0, 1024, 0, P)
    assert memory_bound
    assert t * 1e3 == pytest.approx(13.017 + 0.0515 + 1.0 + 0.32, abs=0.005)


def test_tpot_includes_the_prefill_mixed_into_decode_steps():
    # 8 requests of 1024 in / 128 out: each decode step also carries 8 x 1024 / 128 = 64 prefill tokens, so
    # it computes 72 tokens, not 8, and reads KV at the mean context 1024 + 64 = 1088.
    req = RequestShape(1024, 128)
    t = replica_timing(shape(), 8, req, P)
    step, _ = step_seconds(shape(), 8, 64, 1088, 512, P)
    no_prefill, _ = step_seconds(shape(), 8, 0, 1088, 512, P)
    assert t.time_per_output_token_s == pytest.approx(step)
    assert step > no_prefill
    # Little's law on 8 slots: 8 x 128 / (TTFT + 127 x TPOT)
    assert t.output_tokens_per_s == pytest.approx(8 * 128 / (t.time_to_first_token_s + 127 * step))


def test_ttft_at_one_request_is_the_prompt_computed_in_one_chunk():
    # 4096-token prompt, budget 8192: one chunk. Compute 4096 x 2 x 8.03e9 = 65.8 TFLOP + attention
    # 4 x 4096 x 2048 x 4096 x 32 = 4.4 TFLOP = 70.2 TFLOP / 156 TFLOPS = 450 ms; memory 13.0 ms charged
    # at half; + 1.32 ms of overheads.
    t = replica_timing(shape(), 1, RequestShape(4096, 16), P)
    compute = (4096 * 2 * 8.03e9 + 4 * 4096 * 2048 * 4096 * 32) / 156e12
    memory = LLAMA8B_BYTES / (1555e9 * 0.8)
    assert t.time_to_first_token_s == pytest.approx(compute + memory / 2 + 0.00132, rel=1e-3)


def test_kv_pool_caps_the_batch_and_the_rest_queue():
    # A pool of 20,000 tokens holds 20,000 // (1024 + 1024) = 9 requests: 32 asked, 9 run, 23 queue.
    capped = shape(kv_cache_tokens=20_000)
    req = RequestShape(1024, 1024)
    est = estimate_throughput(capped, 32, req, 1, params=P)
    free = estimate_throughput(shape(), 9, req, 1, params=P)
    assert (est.batch_size, est.bound) == (9, "kv-capacity")
    assert est.decode_output_tokens_per_s == pytest.approx(free.decode_output_tokens_per_s, rel=1e-3)
    assert est.time_to_first_token_ms > 3 * free.time_to_first_token_ms  # (32/9 - 1) request cycles


def test_fp8_weights_read_at_the_fitted_factor():
    # Half the bytes; a factor 1.6 (= 2 / 1.25) makes the weight read 0.8x the 16-bit one, 1.0 makes it 0.5x.
    bf16 = shape()
    fp8 = shape(weights_bytes_per_gpu=LLAMA8B_BYTES / 2, fp8_weights=True)
    p0 = dataclasses.replace(P, step_overhead_s=0.0, layer_overhead_s=0.0)
    t16, _ = step_seconds(bf16, 1, 0, 0, 0, p0)
    slow, _ = step_seconds(fp8, 1, 0, 0, 0, dataclasses.replace(p0, fp8_weight_time_factor=1.6))
    at_bytes, _ = step_seconds(fp8, 1, 0, 0, 0, dataclasses.replace(p0, fp8_weight_time_factor=1.0))
    assert t16 / slow == pytest.approx(1.25, rel=0.01)
    assert t16 / at_bytes == pytest.approx(2.0, rel=0.01)
    # a 16-bit replica ignores the factor
    assert step_seconds(bf16, 1, 0, 0, 0, dataclasses.replace(p0, fp8_weight_time_factor=1.6))[0] == t16


def test_moe_batch_touches_many_distinct_experts():
    # 64 experts, 8 per token, routed weights 90% of 60 GB: one token reads 6 + 54 x 8/64 = 12.75 GB;
    # 32 tokens read 6 + 54 x (1 - (56/64)^32) = 6 + 54 x 0.986 = 59.2 GB.
    moe = shape(weights_bytes_per_gpu=60e9, is_moe=True, num_experts=64, experts_per_token=8,
                routed_expert_fraction=0.9, memory_bandwidth_gb_per_s=1000.0)
    p0 = StepParams(1.0, 0.0, 0.0)
    one, _ = step_seconds(moe, 1, 0, 0, 0, p0)
    many, _ = step_seconds(moe, 32, 0, 0, 0, p0)
    assert one * 1e3 == pytest.approx(12.75, rel=0.02)
    assert many * 1e3 == pytest.approx((6 + 54 * (1 - (56 / 64) ** 32)) * 1e3 / 1000 * 1e0, rel=0.05)


def test_sliding_window_layers_read_only_their_window():
    # Half the KV bytes in layers with a 128-token window, 8,192 tokens of context, 16 sequences:
    # full 16 x 8192 x 65536 + sliding 16 x 128 x 65536 = 8.72 GB vs 17.2 GB without windows.
    p0 = StepParams(1.0, 0.0, 0.0)
    base = shape(weights_bytes_per_gpu=0.0, memory_bandwidth_gb_per_s=1000.0, active_params=1)
    windowed = dataclasses.replace(base, sliding_kv_fraction=0.5, sliding_window=128)
    full, _ = step_seconds(base, 16, 0, 8192, 0, p0)
    win, _ = step_seconds(windowed, 16, 0, 8192, 0, p0)
    assert win / full == pytest.approx((8192 + 128) / (2 * 8192), rel=0.01)


def test_tp_allreduce_nccl_above_two_pcie_gpus():
    # 32 layers x 2 all-reduces of 4096 x 2 bytes: 4 PCIe GPUs pay NCCL's 20 us, NVLink the custom 5 us.
    p0 = StepParams(0.8, 0.0, 0.0)
    pcie4 = shape(tensor_parallel_size=4, weights_bytes_per_gpu=LLAMA8B_BYTES / 4)
    nvl4 = dataclasses.replace(pcie4, nvlink=True, link_gb_per_s=300.0)
    t_pcie, _ = step_seconds(pcie4, 1, 0, 0, 0, p0)
    t_nvl, _ = step_seconds(nvl4, 1, 0, 0, 0, p0)
    ring = 2 * 3 / 4 * 4096 * 2
    assert (t_pcie - t_nvl) == pytest.approx(64 * (20e-6 - 5e-6 + ring / 25e9 - ring / 300e9), rel=1e-3)


def test_pipeline_bubble_with_fewer_sequences_than_stages():
    # PP=4 with 2 sequences: each micro-step carries 1 sequence, a token passes 4 stages: TPOT = 4 steps.
    pp4 = shape(pipeline_parallel_size=4, weights_bytes_per_gpu=LLAMA8B_BYTES / 4)
    two = replica_timing(pp4, 2, RequestShape(16, 16), P)
    step, _ = step_seconds(pp4, 1, 1, 24, 8, P)
    assert two.time_per_output_token_s == pytest.approx(4 * step, rel=1e-6)


def test_fitted_parameters_are_the_fit_of_the_calibration_set():
    # FITTED must be what bench/throughput.py --fit gives on the committed CSV (no hand-tuned drift).
    assert fit(load_runs(CSV)) == FITTED


def test_one_layout_caps_the_batch_by_the_vllm_kv_pool():
    # Llama-3.1-8B bf16 on one L4 (22.4 GiB): ~15 GiB of weights leave a few GiB of KV at 0.9 utilization,
    # 128 KiB per token: far fewer than 256 requests of 2,048 tokens fit.
    est, shape_ = layout_estimate("meta-llama/Llama-3.1-8B-Instruct", "L4", 256, 1024, 1024)
    assert est.bound == "kv-capacity"
    assert est.batch_size == shape_.kv_cache_tokens // 2048 < 256
    assert est.time_to_first_token_ms > est.time_per_output_token_ms


def test_one_layout_refuses_an_unknown_gpu_naming_the_known_ones():
    with pytest.raises(ValueError, match="gpu: 'H900' is not a known GPU.*H100"):
        layout_estimate("meta-llama/Llama-3.1-8B-Instruct", "H900", 1, 128, 128)


def _runs_with(tmp_path, rows: list[dict[str, str]]):
    import csv

    fields = list(next(csv.DictReader(CSV.open(encoding="utf-8"))).keys())
    out = tmp_path / "runs.csv"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return load_runs(out)


def _row(**kw: str) -> dict[str, str]:
    import csv

    rows = csv.DictReader(CSV.open(encoding="utf-8"))
    base = next(r for r in rows if r["source_id"] == "dennislee-a100-qwen2")
    return {**base, **kw}


def test_a_burst_row_is_predicted_with_pure_decode_steps(tmp_path):
    from llm_advisor.planner.calibration import predict

    closed, burst = _runs_with(tmp_path, [_row(concurrency="100", arrival="closed"),
                                          _row(concurrency="100", arrival="burst")])
    pc, pb = predict(closed, P), predict(burst, P)
    # same total work, so the same rate; the burst's TPOT carries no prefill tokens and is shorter
    assert pb["output_tokens_per_s"] == pc["output_tokens_per_s"]
    step, _ = step_seconds(burst.shape, 100, 0.0, burst.request.decode_context, 0.0, P)
    assert pb["time_per_output_token_ms"] == pytest.approx(step * 1e3, rel=1e-9)
    assert pb["time_per_output_token_ms"] < pc["time_per_output_token_ms"]


def test_an_unknown_arrival_names_the_key_and_the_choices(tmp_path):
    with pytest.raises(ValueError, match=r"arrival: 'poisson'.*\('closed', 'burst'\)"):
        _runs_with(tmp_path, [_row(arrival="poisson")])


def test_the_fit_ignores_rows_of_other_engines(tmp_path):
    vllm = _runs_with(tmp_path, [_row(concurrency="1"), _row(concurrency="20", arrival="burst")])
    other = _runs_with(tmp_path, [_row(concurrency="1", engine="nim", time_per_output_token_ms="1.0")])
    assert fit(list(vllm) + list(other)) == fit(vllm)
    # and a set with no vLLM row at all is still fitted (on everything), not left empty
    assert fit(other) != fit(vllm)
