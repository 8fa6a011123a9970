"""Planner building blocks with hand-derived numbers: roofline throughput and capacity costing."""

from __future__ import annotations

import pytest

from llm_advisor.planner.costing import MIXED_MIN_SAVING, choose_capacity
from llm_advisor.planner.throughput import (
    BANDWIDTH_EFFICIENCY,
    ReplicaShape,
    estimate_throughput,
    usd_per_million_output_tokens,
)
from tests.conftest import price

LLAMA8B_BYTES = 16.06e9  # 8.03 B params x 2 bytes (bf16)


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
    )
    base.update(kw)
    return ReplicaShape(**base)


def test_single_stream_decode_matches_the_published_a100_figure():
    # Published: Llama-3.1-8B bf16, one A100-40GB, vLLM 0.23, one request: ~75 tokens/s
    # (johnmusgrave.com/p/vllm-throughput-latency-sweep-on). Hand: (16.06e9 + 1024 x 131072) bytes
    # / (1555e9 x 0.77) = 13.53 ms -> 73.9 tokens/s; compute 2 x 8.03e9 / (312e12 x 0.5) = 0.10 ms.
    t = estimate_throughput(shape(), batch_size=1, context_tokens=1024, replicas=1)
    expected_s = (LLAMA8B_BYTES + 1024 * 131072) / (1555e9 * BANDWIDTH_EFFICIENCY)
    assert t.time_per_output_token_ms == pytest.approx(expected_s * 1e3, rel=1e-3)
    assert t.decode_output_tokens_per_s == pytest.approx(75, rel=0.05)
    assert t.bound == "memory"


def test_batching_amortises_weights_until_kv_reads_dominate():
    one = estimate_throughput(shape(), 1, 2048, 1)
    many = estimate_throughput(shape(), 32, 2048, 1)
    # 32 sequences read the weights once: (16.06e9 + 32 x 2048 x 131072) / 1197.35e9 = 20.59 ms per step.
    assert many.time_per_output_token_ms == pytest.approx(
        (LLAMA8B_BYTES + 32 * 2048 * 131072) / 1197.35e9 * 1e3, rel=1e-3
    )
    assert many.decode_output_tokens_per_s > 20 * one.decode_output_tokens_per_s


def test_replicas_multiply_total_throughput():
    t = estimate_throughput(shape(), 8, 1024, replicas=3)
    assert t.total_output_tokens_per_s == pytest.approx(3 * t.decode_output_tokens_per_s, abs=0.2)


def test_tp_allreduce_custom_on_nvlink_and_two_pcie_gpus_nccl_above():
    # 32 layers x 2 all-reduces of 1 x 4096 x 2 bytes per step; ring bytes 2(tp-1)/tp x 8 KiB.
    # vLLM's custom all-reduce (5 us) runs on NVLink and on 2 PCIe GPUs; 4 PCIe GPUs fall back to
    # NCCL (20 us): 64 x 20 us = 1.28 ms per token on top of the weight reads.
    def tp(n, **kw):
        return shape(
            tensor_parallel_size=n,
            weights_bytes_per_gpu=LLAMA8B_BYTES / n,
            kv_bytes_per_token_per_gpu=131072 // n,
            **kw,
        )

    def expected_ms(n, link_gb_s, latency_s):
        mem_s = (LLAMA8B_BYTES / n + 1024 * 131072 / n) / 1197.35e9
        ring = 2 * (n - 1) / n * 4096 * 2
        return (mem_s + 64 * (ring / (link_gb_s * 1e9) + latency_s)) * 1e3

    pcie2 = estimate_throughput(tp(2), 1, 1024, 1)
    nvl2 = estimate_throughput(tp(2, nvlink=True, link_gb_per_s=300.0), 1, 1024, 1)
    pcie4 = estimate_throughput(tp(4), 1, 1024, 1)
    nvl4 = estimate_throughput(tp(4, nvlink=True, link_gb_per_s=300.0), 1, 1024, 1)
    assert pcie2.time_per_output_token_ms == pytest.approx(expected_ms(2, 25, 5e-6), rel=1e-3)
    assert nvl2.time_per_output_token_ms == pytest.approx(expected_ms(2, 300, 5e-6), rel=1e-3)
    assert pcie4.time_per_output_token_ms == pytest.approx(expected_ms(4, 25, 20e-6), rel=1e-3)
    assert nvl4.time_per_output_token_ms == pytest.approx(expected_ms(4, 300, 5e-6), rel=1e-3)
    assert nvl4.decode_output_tokens_per_s > pcie4.decode_output_tokens_per_s


def test_pipeline_bubble_with_fewer_sequences_than_stages():
    # PP=2, each stage holds half the weights. One sequence: the second stage idles while the first works
    # (the bubble), so the time per token equals one GPU's; two sequences fill the pipeline: 2x the rate.
    pp = dict(
        pipeline_parallel_size=2, weights_bytes_per_gpu=LLAMA8B_BYTES / 2, kv_bytes_per_token_per_gpu=65536
    )
    one = estimate_throughput(shape(**pp), 1, 1024, 1)
    two = estimate_throughput(shape(**pp), 2, 1024, 1)
    single_gpu = estimate_throughput(shape(), 1, 1024, 1)
    assert one.time_per_output_token_ms == pytest.approx(single_gpu.time_per_output_token_ms, rel=0.02)
    assert two.decode_output_tokens_per_s == pytest.approx(2 * one.decode_output_tokens_per_s, rel=1e-3)


def test_moe_reads_only_touched_experts_at_small_batch():
    # active/total = 0.1: one token reads 10% of the weights; 64 tokens touch 1 - 0.9^64 = 99.9%.
    moe = dict(is_moe=True, active_params=803_000_000)
    one = estimate_throughput(shape(**moe), 1, 16, 1)
    assert one.time_per_output_token_ms == pytest.approx(
        (0.1 * LLAMA8B_BYTES + 16 * 131072) / 1197.35e9 * 1e3, rel=1e-3
    )
    dense_64 = estimate_throughput(shape(), 64, 16, 1)
    moe_64 = estimate_throughput(shape(**moe), 64, 16, 1)
    assert moe_64.time_per_output_token_ms == pytest.approx(dense_64.time_per_output_token_ms, rel=0.01)


def test_usd_per_million_output_tokens():
    # $10/h over 1000 tokens/s x 3600 s = 3.6 M tokens/h -> $2.7778 per million.
    assert usd_per_million_output_tokens(10.0, 1000.0) == pytest.approx(2.7778, abs=1e-4)
    assert usd_per_million_output_tokens(10.0, 0.0) is None


# Hand figures (pricing/economics.py's model): band 0 = 2.5 %/month -> 0.025 / 730 interruptions per hour.
RATE = 0.025 / 730


def test_batch_auto_buys_spot_with_interruption_overhead():
    c = choose_capacity(price(), 4, 1, "batch", "auto")
    # batch: spot / (1 - rate x 15 min) per instance, x 4.
    assert c.capacity_type == "spot" and c.spot_instances == 4 and c.on_demand_instances == 0
    assert c.usd_per_hour == pytest.approx(4 * 3.0 / (1 - RATE * 0.25), abs=1e-4)
    assert c.billed_usd_per_hour == pytest.approx(12.0)


def test_realtime_auto_uses_on_demand_base_plus_spot_burst_when_it_saves_enough():
    c = choose_capacity(price(), 4, 1, "realtime", "auto")
    # band 0: base = ceil(4 x 0.5) = 2 on-demand, 2 spot at 3 + rate x (13/60 h) x 10.
    assert (c.capacity_type, c.on_demand_instances, c.spot_instances) == ("mixed", 2, 2)
    assert c.usd_per_hour == pytest.approx(2 * 10 + 2 * (3 + RATE * 13 / 60 * 10), abs=1e-4)
    assert c.usd_per_hour <= 40 * (1 - MIXED_MIN_SAVING)


def test_realtime_auto_single_instance_and_risky_band_stay_on_demand():
    assert choose_capacity(price(), 1, 1, "realtime", "auto").capacity_type == "on-demand"
    risky = choose_capacity(price(band=4), 4, 1, "realtime", "auto")
    assert (risky.capacity_type, risky.usd_per_hour) == ("on-demand", 40.0)


def test_explicit_capacity_and_missing_prices():
    assert choose_capacity(price(), 2, 1, "batch", "on-demand").usd_per_hour == 20.0
    assert choose_capacity(price(), 2, 1, "realtime", "spot").capacity_type == "spot"
    assert choose_capacity(price(spot=None), 2, 1, "batch", "auto").capacity_type == "on-demand"
    assert choose_capacity(price(spot=None), 2, 1, "batch", "spot") is None
    assert choose_capacity(price(od=None), 2, 1, "realtime", "auto") is None
    # p5e-style: no on-demand, batch may still run on spot
    assert choose_capacity(price(od=None), 2, 1, "batch", "auto").capacity_type == "spot"


def test_multi_node_replicas_are_split_whole():
    # 2 replicas of 2 instances each, realtime mixed at band 0: 1 replica on-demand (2 instances), 1 spot.
    c = choose_capacity(price(), 4, 2, "realtime", "mixed")
    assert (c.on_demand_instances, c.spot_instances) == (2, 2)


# --- one hand-derived test per roofline term (issue 4 review: KV read, TP all-reduce, PP bubble) ---------


def test_decode_step_reads_the_kv_cache_of_the_whole_batch():
    # Term: batch x context x KV bytes per token per GPU, read once per decode step on top of the weights.
    # Llama-3.1-8B, one GPU, batch 16: raising the context from 1024 to 4096 tokens adds
    # 16 x 3072 x 131,072 B = 6.442e9 B per step = 6.442e9 / (1555e9 x 0.77) = 5.380 ms per token
    # (compute stays 16 x 2 x 8.03e9 / 156e12 = 1.6 ms, so the step stays memory-bound).
    short = estimate_throughput(shape(), batch_size=16, context_tokens=1024, replicas=1)
    long = estimate_throughput(shape(), batch_size=16, context_tokens=4096, replicas=1)
    assert long.time_per_output_token_ms - short.time_per_output_token_ms == pytest.approx(5.380, abs=0.002)
    assert long.bound == short.bound == "memory"
    # Absolute: (16.06e9 + 16 x 4096 x 131,072) / 1197.35e9 = (16.06e9 + 8.590e9) / 1197.35e9 = 20.587 ms.
    assert long.time_per_output_token_ms == pytest.approx(20.587, abs=0.002)


def test_tp_allreduce_bytes_scale_with_the_batch():
    # Term: 2 all-reduces per layer on the stage, ring bytes 2(tp-1)/tp x batch x hidden x 2 B over the
    # link, plus a fixed latency. TP=2 on NVLink (300 GB/s per direction), batch 64, context 16:
    #   ring bytes = 2 x 1/2 x 64 x 4096 x 2 = 524,288 B -> 524,288 / 300e9 = 1.748 us, + 5 us = 6.748 us;
    #   x 32 layers x 2 = 0.4318 ms per step.
    # Memory: (16.06e9 / 2 + 64 x 16 x 65,536) / 1197.35e9 = (8.03e9 + 67.1e6) / 1197.35e9 = 6.7625 ms.
    # Compute: 64 x 2 x 8.03e9 / 2 GPUs / (312e12 x 0.5) = 3.294 ms < memory. Total 7.1943 ms.
    tp2 = shape(
        tensor_parallel_size=2,
        nvlink=True,
        link_gb_per_s=300.0,
        weights_bytes_per_gpu=LLAMA8B_BYTES / 2,
        kv_bytes_per_token_per_gpu=65536,
    )
    t = estimate_throughput(tp2, batch_size=64, context_tokens=16, replicas=1)
    assert t.time_per_output_token_ms == pytest.approx(7.1943, abs=0.001)
    one = estimate_throughput(tp2, batch_size=1, context_tokens=16, replicas=1)
    # batch 1: ring 8,192 B / 300e9 = 0.0273 us + 5 us -> 64 x 5.0273 us = 0.3217 ms of all-reduce.
    memory_1 = (LLAMA8B_BYTES / 2 + 16 * 65536) / 1197.35e9 * 1e3
    assert one.time_per_output_token_ms - memory_1 == pytest.approx(0.3217, abs=0.0005)


def test_pp_bubble_two_sequences_on_four_stages_leave_half_the_pipeline_idle():
    # Term: time per token = PP x t_stage(max(1, B / PP)). PP=4 (PCIe, 25 GB/s), each stage a quarter of
    # the weights and layers. B=2 < 4 stages: micro-batches of one sequence, two of four slots busy.
    # t_stage(1) = (16.06e9 / 4 + 1024 x 32,768) / 1197.35e9 = (4.015e9 + 33.55e6) / 1197.35e9 = 3.3813 ms
    #            + hand-off 8,192 B / 25e9 + 5 us = 5.33 us  -> 3.3866 ms; x 4 stages = 13.546 ms per token.
    # B=2 -> 2 / 13.546 ms = 147.6 tokens/s; B=4 keeps micro-batch 1 and the same 13.546 ms: 295.3 tokens/s
    # (the bubble filled). No TP, so no all-reduce term.
    pp4 = shape(
        pipeline_parallel_size=4, weights_bytes_per_gpu=LLAMA8B_BYTES / 4, kv_bytes_per_token_per_gpu=32768
    )
    two = estimate_throughput(pp4, batch_size=2, context_tokens=1024, replicas=1)
    four = estimate_throughput(pp4, batch_size=4, context_tokens=1024, replicas=1)
    assert two.time_per_output_token_ms == pytest.approx(13.546, abs=0.002)
    assert four.time_per_output_token_ms == pytest.approx(13.546, abs=0.002)
    assert two.decode_output_tokens_per_s == pytest.approx(147.6, abs=0.2)
    assert four.decode_output_tokens_per_s == pytest.approx(295.3, abs=0.2)
