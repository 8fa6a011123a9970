"""Memory per GPU: KV bytes per token, weights by format, vLLM budget, versions, tuned utilization.

Expected values are derived by hand in the comments or come from real vLLM startup logs
(shared/data/vllm_reference_logs.csv, row named in the comment).
"""

from __future__ import annotations

import json

import pytest

from sizing import (
    LATEST_VLLM_VERSION,
    SizingError,
    check_layout,
    estimate_memory,
    gpu_profile,
    load_model,
    recommend_utilization,
    sizing_input,
    vllm_defaults,
)
from sizing.memory import pp_stage_bounds, stage_facts
from sizing.precision import GIB, mxfp4_expert_padding


def est(model: str, gpu: str = "H100", **kw):
    return estimate_memory(sizing_input(model=model, gpu=gpu, **kw))


# --- KV bytes per token per GPU -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "model,tp,kv_dtype,expected",
    [
        ("llama3.1-8b", 1, "auto", 32 * 2 * 8 * 128 * 2),  # GQA: 131,072
        ("llama3.1-8b", 2, "auto", 32 * 2 * 4 * 128 * 2),
        ("llama3.1-8b", 16, "auto", 32 * 2 * 1 * 128 * 2),  # TP > KV heads: one replicated head per rank
        ("llama3.1-8b", 1, "fp8", 32 * 2 * 8 * 128 * 1),  # fp8 KV halves it
        ("mistral-small-24b", 1, "auto", 163_840),  # checked against a real log (accounting §3)
        ("qwen2-7b", 1, "auto", 57_344),
        ("qwen2-7b", 2, "auto", 28_672),
        ("phi-4", 1, "auto", 204_800),
        ("qwen2.5-1.5b", 1, "auto", 28_672),
        ("gemma3-1b", 1, "auto", 26 * 2 * 1 * 256 * 2),  # MQA: one KV head
        ("gemma3-1b", 4, "auto", 26 * 2 * 1 * 256 * 2),  # ... replicated on every rank
        ("deepseek-v3", 1, "auto", 61 * (512 + 64) * 2),  # MLA: latent + rope key, no separate V
        ("deepseek-v3", 8, "auto", 61 * (512 + 64) * 2),  # ... replicated on every TP rank
        ("deepseek-v2-lite", 1, "auto", 31_104),  # 27 x 576 x 2, as vLLM#15871 says
        ("deepseek-v3", 8, "fp8", 61 * 576),
    ],
)
def test_kv_bytes_per_token(model: str, tp: int, kv_dtype: str, expected: int) -> None:
    assert (
        est(
            model, "B200", tensor_parallel_size=tp, kv_cache_dtype=kv_dtype, max_model_len=4096
        ).kv_bytes_per_token
        == expected
    )


def test_pipeline_stages_split_layers_like_get_pp_indices() -> None:
    assert pp_stage_bounds(61, 4) == ((0, 15), (15, 30), (30, 46), (46, 61))  # remainder before the last
    assert pp_stage_bounds(32, 2) == ((0, 16), (16, 32))
    assert est("llama3.1-8b", pipeline_parallel_size=2, max_model_len=4096).kv_bytes_per_token == 65_536


def test_sliding_window_layers_only_hold_the_window() -> None:
    # gpt-oss-120b TP4 on A100-80GB, vLLM 0.10.1 (dennislee22 log): 18 full + 18 sliding layers form two
    # groups of 18; a 16384-token request needs 1024 full blocks + cdiv(min(127 + 2048, 16384), 16) + 1.
    inp = sizing_input(
        model="gpt-oss-120b",
        gpu="A100",
        gpu_memory_gib=80,
        tensor_parallel_size=4,
        vllm_version="0.10.1",
        max_model_len=16384,
        gpu_memory_utilization=0.8,
    )
    _, stages = stage_facts(inp)
    assert stages[0].blocks_per_request == 1024 + 137
    assert stages[0].bytes_per_block == 18 * (2 * 2 * 64 * 2) * 16
    e = estimate_memory(inp)
    assert e.max_concurrency == pytest.approx(284.25, rel=0.03)  # logged 284.25x
    assert e.kv_cache_tokens == pytest.approx(2_640_144, rel=0.03)


def test_all_sliding_model_holds_only_the_window_per_request(tmp_path) -> None:
    # Mistral-7B-v0.1 style: every layer windowed (4096); a 32K request needs
    # cdiv(4095 + in-flight tokens, 16) + 1 blocks: mnbt (2048 on an L4) up to 0.26, 2 x mnbt in 0.33.
    import json

    cfg = {
        "model_type": "mistral",
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "intermediate_size": 14336,
        "vocab_size": 32000,
        "sliding_window": 4096,
        "max_position_embeddings": 32768,
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))

    def blocks(version: str, pp: int = 1) -> int:
        inp = sizing_input(
            model=str(path), gpu="L4", max_model_len=32768, vllm_version=version, pipeline_parallel_size=pp
        )
        return stage_facts(inp)[1][0].blocks_per_request

    assert blocks("0.26") == -(-(4095 + 2048) // 16) + 1
    # 0.33: max_in_flight_tokens = max_concurrent_batches (2 with async scheduling, the default) x mnbt
    assert blocks("0.33") == -(-(4095 + 2 * 2048) // 16) + 1
    # PP2: V2 model runner keeps pp + 1 = 3 batches in flight
    assert blocks("0.33", pp=2) == -(-(4095 + 3 * 2048) // 16) + 1
    assert blocks("0.26", pp=2) == -(-(4095 + 2048) // 16) + 1


def test_sliding_windows_count_as_full_attention_before_the_hybrid_manager() -> None:
    # Gemma-3-27B: 52 sliding (1024) + 10 global layers. Hybrid: 7 groups of 10 layers; a 32K request needs
    # 2048 global blocks + 6 x (cdiv(1023 + 2048, 16) + 1) sliding ones, per 10-layer pages, instead of
    # 2048 blocks of 62-layer pages: (62 x 2048) / (10 x 3206) = 3.96x the requests.
    def request_bytes(version: str) -> int:
        _, (stage,) = stage_facts(
            sizing_input(
                model="gemma3-27b",
                gpu="H100",
                vllm_version=version,
                max_model_len=32768,
                max_num_batched_tokens=2048,
            )
        )
        return stage.bytes_per_block * stage.blocks_per_request

    assert request_bytes("0.11") == 10 * 2 * 16 * 128 * 2 * 16 * (2048 + 6 * 193)
    assert request_bytes("0.9") / request_bytes("0.11") == pytest.approx(3.96, rel=0.01)


# --- weights ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model,gpu,tp,quant,logged_gib,rel",
    [
        ("llama3-8b", "H100", 1, None, 14.96, 0.005),  # vLLM#10511
        ("llama3-8b", "H100", 2, None, 7.48, 0.005),
        ("qwen2-7b", "A100-80GB", 1, None, 14.2488, 0.01),  # dennislee22 log, 0.10.1
        (
            "llama3.3-70b-fp8",
            "H100",
            1,
            None,
            67.72,
            0.005,
        ),  # llm-d: FP8-dynamic keeps lm_head/embeddings bf16
        ("llama3.1-405b-fp8", "H100", 8, None, 57.752, 0.02),  # vLLM#6746: Meta FP8 = MLPs only
        ("gpt-oss-20b", "H100", 1, None, 13.47, 0.01),  # llm-d: MXFP4 experts, bf16 attention
        ("gpt-oss-120b", "H100", 1, None, 64.38, 0.01),  # llm-d / vLLM#33155
        ("qwen2.5-7b-awq", "RTX 4060", 1, None, 5.2032, 0.01),  # vLLM#13882: 4-bit 7B
        ("qwen3-0.6b", "H100", 1, None, 1.12, 0.01),
        ("qwen3-32b", "H100", 1, None, 61.03, 0.005),
    ],
)
def test_weights_match_real_logs(model, gpu, tp, quant, logged_gib, rel) -> None:
    assert est(
        model, gpu, tensor_parallel_size=tp, quantization=quant, max_model_len=4096
    ).weights_gib == pytest.approx(logged_gib, rel=rel)


def _llama8b_split() -> tuple[int, int, int]:
    """(linear params in the layers, 16-bit params: embeddings + lm_head, norms) of Llama-3.1-8B."""
    h, v, layers, inter = 4096, 128256, 32, 14336
    linear = layers * (2 * h * h + 2 * h * 1024 + 3 * h * inter)
    return linear, 2 * v * h, layers * 2 * h + h


@pytest.mark.parametrize(
    "quant,bytes_per_weight",
    [
        ("fp8", 1.0),
        ("int8", 1.0),
        ("awq", 0.5 + 2.5 / 128),
        ("gptq", 0.5 + 2.5 / 128),
        ("bnb4", 0.5 + 4 / 64),
    ],
)
def test_weight_formats_quantize_linear_layers_and_keep_embeddings_in_16_bit(quant, bytes_per_weight) -> None:
    linear, embed, norms = _llama8b_split()
    expected = (linear * bytes_per_weight + (embed + norms) * 2) / GIB
    version = "0.27" if quant == "bnb4" else None  # bitsandbytes left vLLM in 0.28
    weights = est("llama3.1-8b", "L40S", quantization=quant, max_model_len=4096, vllm_version=version)
    assert weights.weights_gib == pytest.approx(expected, rel=1e-9)


def test_bitsandbytes_is_refused_from_028() -> None:
    with pytest.raises(SizingError, match="no bitsandbytes quantization .*--vllm-version 0.27"):
        est("llama3.1-8b", "L40S", quantization="bnb4", vllm_version="0.28")


def test_mxfp4_quantizes_experts_only_and_needs_moe() -> None:
    bf16 = est("gpt-oss-20b", quantization="none", max_model_len=4096).weights_gib
    mx = est("gpt-oss-20b", quantization="mxfp4", max_model_len=4096).weights_gib
    assert 0.25 < mx / bf16 < 0.4
    with pytest.raises(SizingError, match="MoE experts only"):
        est("llama3.1-8b", quantization="mxfp4")


def test_mxfp4_padding_follows_the_moe_backend_per_tp_rank() -> None:
    # mxfp4.py create_weights pads after the TP split: gpt-oss hidden 2880, intermediate 2880.
    arch = load_model("gpt-oss-120b")
    # Marlin (compute capability < 9): per-rank intermediate to 128, hidden to 256.
    assert mxfp4_expert_padding(arch, 1, "8.0") == pytest.approx((2944 / 2880) * (3072 / 2880))
    assert mxfp4_expert_padding(arch, 4, "8.0") == pytest.approx((768 / 720) * (3072 / 2880))
    # H100 Triton: intermediate to 256 only (fitted on the logs); B200 FlashInfer SM100: both to 256.
    assert mxfp4_expert_padding(arch, 1, "9.0") == pytest.approx(3072 / 2880)
    assert mxfp4_expert_padding(arch, 4, "10.0") == pytest.approx((768 / 720) * (3072 / 2880))
    # dennislee22 log: gpt-oss-120b, A100-80GB, TP4, vLLM 0.10.1.1 loads 17.2217 GiB per rank.
    kw = dict(tensor_parallel_size=4, vllm_version="0.10.1", max_model_len=16384)
    a100 = est("gpt-oss-120b", "A100-80GB", **kw)
    assert a100.weights_gib == pytest.approx(17.2217, rel=0.02)
    h100 = est("gpt-oss-120b", **kw)
    assert h100.weights_gib < a100.weights_gib * 0.96


def test_tensor_parallel_splits_weights_with_replicated_kv_heads() -> None:
    tp1 = est("llama3.1-8b", max_model_len=4096).weights_gib
    tp2 = est("llama3.1-8b", tensor_parallel_size=2, max_model_len=4096).weights_gib
    tp16 = est("llama3.1-8b", tensor_parallel_size=16, max_model_len=4096).weights_gib
    assert tp2 == pytest.approx(tp1 / 2, rel=0.001)
    assert tp16 > tp1 / 16  # 8 KV heads over 16 ranks: k/v projections replicated


def test_moe_bf16_weights_scale_with_total_params() -> None:
    arch = load_model("mixtral-8x7b")
    e = est("mixtral-8x7b", "H200", max_model_len=4096)
    assert e.weights_gib == pytest.approx(arch.total_params * 2 / GIB, rel=0.001)


def test_fp8_needs_turing_or_newer_and_mxfp4_ampere() -> None:
    # FP8 Marlin runs W8A16 on Turing
    assert est("llama3.1-8b", "T4", quantization="fp8", max_model_len=4096).weights_gib < 9
    with pytest.raises(SizingError, match="compute capability >= 7.5"):
        est("llama3.1-8b", "V100", gpu_memory_gib=32, quantization="fp8")
    with pytest.raises(SizingError, match="compute capability >= 8.0"):
        est("gpt-oss-20b", "T4")


# --- budget, versions, defaults -------------------------------------------------------------------------


def test_llm_d_h100_rows_are_reproduced() -> None:
    # llm-d empirical results, V1 ~0.11, H100 79.18 GiB, util 0.9, block 128, defaults 8192/1024.
    e = est(
        "qwen3-0.6b", vllm_version="0.11", max_model_len=16000, block_size=128, gpu_memory_utilization=0.9
    )
    assert e.activation_peak_gib == pytest.approx(5.56, rel=0.05)
    assert e.kv_cache_gib == pytest.approx(64.45, rel=0.01)
    e = est("qwen3-32b", vllm_version="0.11", max_model_len=16000, block_size=128, gpu_memory_utilization=0.9)
    assert e.kv_cache_gib == pytest.approx(4.45, rel=0.05)
    e = est("llama3.3-70b-fp8", vllm_version="0.11", max_model_len=16000, gpu_memory_utilization=0.9)
    assert e.kv_cache_gib < 0 and not e.fits  # logged: -1.44 GiB, "No available memory for the cache blocks"


def test_v1_activation_is_flat_in_max_model_len_but_v0_grows() -> None:
    a = est("qwen3-0.6b", vllm_version="0.11", max_model_len=16000)
    b = est("qwen3-0.6b", vllm_version="0.11", max_model_len=32000)
    assert a.kv_cache_gib == b.kv_cache_gib  # llm-d: 64.45 GiB at both
    c = est("qwen3-8b", "L40S", vllm_version="0.7", max_model_len=8192)
    d = est("qwen3-8b", "L40S", vllm_version="0.7", max_model_len=32768)
    assert d.activation_peak_gib > 2 * c.activation_peak_gib  # V0 profiles one max_model_len prefill


def test_qwen2_7b_a100_quarter_budget() -> None:
    # dennislee22 0.10.1: util 0.25 -> KV 5.01 GiB, 93,872 tokens, 5.73x concurrency at 16384.
    e = est("qwen2-7b", "A100-80GB", vllm_version="0.10.1", gpu_memory_utilization=0.25, max_model_len=16384)
    assert e.kv_cache_gib == pytest.approx(5.01, rel=0.02)
    assert e.kv_cache_tokens == pytest.approx(93_872, rel=0.02)
    assert e.max_concurrency == pytest.approx(5.73, rel=0.02)


def test_cuda_graphs_enter_the_budget_from_0_20_and_default_utilization_rises() -> None:
    old = est("qwen3-8b", vllm_version="0.19", max_model_len=8192, gpu_memory_utilization=0.9)
    new = est("qwen3-8b", vllm_version="0.20", max_model_len=8192, gpu_memory_utilization=0.9)
    assert old.kv_cache_gib - new.kv_cache_gib == pytest.approx(new.cudagraph_gib, rel=1e-6)
    assert est("qwen3-8b", vllm_version="0.19").gpu_memory_utilization == 0.9
    assert est("qwen3-8b", vllm_version="0.20").gpu_memory_utilization == 0.92


def test_nccl_counts_inside_the_budget_before_0_11() -> None:
    old = est("llama3.1-8b", tensor_parallel_size=2, vllm_version="0.10", max_model_len=8192)
    new = est("llama3.1-8b", tensor_parallel_size=2, vllm_version="0.11", max_model_len=8192)
    assert old.non_torch_gib > new.non_torch_gib


@pytest.mark.parametrize(
    "gpu,memory,version,mnbt,seqs",
    [
        ("H100", None, None, 8192, 1024),
        ("H200", None, None, 8192, 1024),
        ("A100", 80, None, 2048, 256),  # A100 stays in the small tier despite 80 GB
        ("L40S", None, None, 2048, 256),
        ("L4", None, None, 2048, 256),
        ("B200", None, "0.33", 16384, 1024),
        ("B200", None, "0.20", 8192, 1024),
        ("H100", None, "0.7", None, 256),  # V0: no chunked prefill by default
    ],
)
def test_vllm_serve_defaults(gpu, memory, version, mnbt, seqs) -> None:
    d = vllm_defaults(gpu_profile(gpu, memory), version)
    assert (d.max_num_batched_tokens, d.max_num_seqs) == (mnbt, seqs)


def test_mla_block_size_follows_the_backend() -> None:
    assert est("deepseek-v3", "H200", tensor_parallel_size=8).block_size == 64  # FlashMLA
    assert est("deepseek-v3", "B200", tensor_parallel_size=8).block_size == 128  # CUTLASS MLA
    assert est("llama3.1-8b", vllm_version="0.33").block_size == 16
    assert est("llama3.1-8b").block_size == 64  # 0.34: CacheConfig.DEFAULT_BLOCK_SIZE 64


def test_concurrency_is_blocks_over_blocks_per_request() -> None:
    e = est("llama3.1-8b", "L4", max_model_len=8192)
    assert e.max_concurrency == pytest.approx(e.num_gpu_blocks / (8192 / e.block_size))
    assert e.kv_cache_tokens == int(e.max_concurrency * 8192)  # 0.21+: tokens from concurrency
    old = est("llama3.1-8b", "L4", max_model_len=8192, vllm_version="0.11")
    assert old.kv_cache_tokens == old.num_gpu_blocks * 16


def test_notes_say_which_release_rules_apply() -> None:
    old = est("llama3.1-8b", "A100-80GB", vllm_version="0.5", max_model_len=8192)
    assert any("other processes" in n for n in old.notes) and any("V0 engine" in n for n in old.notes)
    assert any("CUDA graphs" in n for n in old.notes)
    new = est("deepseek-v3", "H200", tensor_parallel_size=8)
    assert any("replicated on every TP rank" in n for n in new.notes)
    assert not any("other processes" in n or "CUDA graphs" in n for n in new.notes)


def test_latest_version_is_the_default() -> None:
    assert est("llama3.1-8b").vllm_version == LATEST_VLLM_VERSION


def test_bad_version_and_context_are_rejected() -> None:
    with pytest.raises(SizingError, match="X.Y"):
        est("llama3.1-8b", vllm_version="latest")
    with pytest.raises(SizingError, match="max_position_embeddings"):
        est("llama3.1-8b", max_model_len=10**7)


# --- layout rules --------------------------------------------------------------------------------------


def test_heads_must_divide_by_tp_and_error_names_working_sizes() -> None:
    with pytest.raises(SizingError, match=r"not divisible by tensor_parallel_size 3.*work: 1, 2, 4, 8"):
        check_layout(load_model("llama3.1-8b"), 3, 1)


def test_kv_heads_must_split_or_replicate() -> None:
    with pytest.raises(SizingError, match="10 KV heads"):
        check_layout(load_model("phi-4"), 4, 1)  # 40 heads / 4 fine, 10 KV heads neither split nor replicate
    check_layout(load_model("phi-4"), 2, 1)


def test_pipeline_rules() -> None:
    arch = load_model("llama3.2-1b")
    with pytest.raises(SizingError, match="exceeds the 16 layers"):
        check_layout(arch, 1, 17)
    with pytest.raises(SizingError, match="SupportsPP"):
        check_layout(arch.model_copy(update={"supports_pp": False}), 1, 2)


def test_block_fp8_partition_must_divide_by_the_block() -> None:
    with pytest.raises(SizingError, match="weight_block_size 128.*work: 1, 2, 4"):
        check_layout(load_model("qwen3-235b-fp8"), 8, 1)


def test_awq_partition_must_divide_by_the_group() -> None:
    # Qwen2.5-14B: intermediate 13824 / TP8 = 1728 = 13.5 groups of 128
    with pytest.raises(SizingError, match="group size 128"):
        check_layout(load_model("qwen2.5-14b"), 8, 1, "awq")
    check_layout(load_model("qwen2.5-14b"), 8, 1, "none")


# --- tuned utilization ----------------------------------------------------------------------------------


def test_recommended_utilization_is_the_smallest_that_fits() -> None:
    inp = sizing_input(model="llama3.1-8b", gpu="H100", max_model_len=8192)
    advice = recommend_utilization(inp, concurrency=10, headroom=0.3)
    util = advice.recommended_gpu_memory_utilization
    assert advice.fits and util is not None
    assert advice.required_kv_tokens == 106_496  # 10 x 8192 x 1.3
    assert estimate_memory(inp, gpu_memory_utilization=util).max_concurrency >= 13
    assert estimate_memory(inp, gpu_memory_utilization=util - 0.01).max_concurrency < 13
    assert advice.estimate.gpu_memory_utilization == util


def test_utilization_reports_the_shortfall_at_the_ceiling() -> None:
    inp = sizing_input(model="llama3.1-70b", gpu="L4", tensor_parallel_size=8, max_model_len=8192)
    advice = recommend_utilization(inp, concurrency=40, ceiling=0.9)
    assert not advice.fits and advice.recommended_gpu_memory_utilization is None
    assert advice.shortfall_gib > 0
    assert advice.estimate.gpu_memory_utilization == 0.9
    # the shortfall is exactly what the KV pool misses at the ceiling
    _, stages = stage_facts(inp)
    missing = (52 * stages[0].blocks_per_request - advice.estimate.num_gpu_blocks) * stages[0].bytes_per_block
    assert advice.shortfall_gib == pytest.approx(missing / GIB, abs=stages[0].bytes_per_block / GIB)


def test_utilization_input_errors() -> None:
    inp = sizing_input(model="llama3.1-8b", gpu="H100")
    with pytest.raises(SizingError, match="concurrency"):
        recommend_utilization(inp, 0)
    with pytest.raises(SizingError, match="headroom"):
        recommend_utilization(inp, 1, headroom=-0.1)


# --- release-specific accounting (patch level) ----------------------------------------------------------


@pytest.mark.parametrize(
    "version,tp,expected",
    [
        ("0.5.1", 2, 27 * 2 * 8 * 256 * 2),  # per-head K and V, padded to head size 256, split by TP
        ("0.7.0", 1, 27 * 2 * 16 * 256 * 2),  # 442,368 B: PR #10927's "Before" log, 35.42 GiB / 5373 blocks
        ("0.7.1", 2, 27 * 576 * 2),  # MLA latent cache from 0.7.1, replicated
    ],
)
def test_deepseek_kv_before_and_after_the_mla_cache(version: str, tp: int, expected: int) -> None:
    e = est("deepseek-coder-v2-lite", "L40S", tensor_parallel_size=tp, vllm_version=version, max_model_len=99)
    assert e.kv_bytes_per_token == expected


def test_pr_10927_before_log_block_count() -> None:
    # "Before": DeepSeek-V2-Lite-Chat fp16 on H100, util 0.9: kv_cache_size 35.42 GiB -> 5373 blocks.
    e = est("deepseek-v2-lite", "H100", vllm_version="0.6.4", max_model_len=8192)
    assert int(35.42 * GIB // (e.kv_bytes_per_token * e.block_size)) == 5373


def test_deepseek_coder_v2_lite_on_0_5_1_profiles_the_whole_context() -> None:
    # vLLM#6156 (~0.5.1, 2 x L40, fp16, default 163840 context): "KV cache (63040)". Before PR #6666 (0.5.4)
    # nothing chunked the 163,840-token profile prefill.
    e = est("deepseek-coder-v2-lite", "L40S", tensor_parallel_size=2, vllm_version="0.5.1")
    assert e.max_num_batched_tokens == 163_840
    assert e.kv_cache_tokens == pytest.approx(63_040, rel=0.03)


@pytest.mark.parametrize(
    "version,mml,mnbt",
    [
        ("0.5.3", 131072, 131072),  # before PR #6666: one prefill of the whole context
        ("0.5.4", 131072, 512),  # auto chunked prefill past 32K, chunk 512
        ("0.6.4", 131072, 512),
        ("0.6.5", 131072, 2048),  # PR #10544: chunk 2048
        ("0.7", 131072, 2048),
        ("0.7", 32768, 32768),  # not past 32K: no chunking
        ("0.7", 1024, 2048),  # max(max_model_len, 2048)
    ],
)
def test_v0_max_num_batched_tokens_by_release(version: str, mml: int, mnbt: int) -> None:
    assert est("llama3.1-8b", "A10G", vllm_version=version, max_model_len=mml).max_num_batched_tokens == mnbt


def test_v0_mla_is_never_auto_chunked_from_0_7_1() -> None:
    e = est("deepseek-v2-lite", "H100", vllm_version="0.7.1", max_model_len=65536)
    assert e.max_num_batched_tokens == 65536


def test_oci_a10_row_v0_chunked_prefill_has_no_sampler_peak() -> None:
    # OCI troubleshooting log (~0.7, 22.07 GiB card, 131072 context): activation 0.22 GiB, KV 4.6 GiB,
    # 37,696 tokens. The 256-sequence sampler term (1.2 GiB) does not show with chunked prefill on.
    e = est("llama3.1-8b", "A10G", vllm_version="0.7", max_model_len=131072, gpu_memory_utilization=0.9)
    assert e.activation_peak_gib == pytest.approx(0.22, abs=0.05)
    assert e.kv_cache_gib == pytest.approx(4.6, rel=0.03)
    assert e.kv_cache_tokens == pytest.approx(37_696, rel=0.03)
    unchunked = est("llama3.1-8b", "A10G", vllm_version="0.7", max_model_len=8192, gpu_memory_utilization=0.9)
    assert unchunked.activation_peak_gib > 1.0  # 256 x vocab fp32 sampler copies, as vLLM#13882 logs


def test_before_0_2_5_only_the_torch_peak_is_charged() -> None:
    # vLLM#2031: Llama-2-70B TP4 on A100-80GB had 31,615 blocks before that PR (0.2.4 accounting).
    old = est("llama2-70b", "A100-80GB", tensor_parallel_size=4, vllm_version="0.2.4")
    assert old.non_torch_gib == 0 and old.num_gpu_blocks == pytest.approx(31_615, rel=0.01)
    new = est("llama2-70b", "A100-80GB", tensor_parallel_size=4, vllm_version="0.2.5")
    assert new.non_torch_gib > 0 and new.num_gpu_blocks < old.num_gpu_blocks


def test_codellama_0_2_4_blocks() -> None:
    # vLLM#2136: 2 x RTX 4090, util 0.95, max_model_len 16384, max_num_seqs 16 -> 1464 blocks on 0.2.4.
    e = est(
        "codellama-13b",
        "RTX 4090",
        tensor_parallel_size=2,
        vllm_version="0.2.4",
        gpu_memory_utilization=0.95,
        max_model_len=16384,
        max_num_seqs=16,
    )
    assert e.num_gpu_blocks == pytest.approx(1464, rel=0.03)


def test_a_patch_release_is_reported_as_named() -> None:
    assert est("llama3.1-8b", vllm_version="0.5.1", max_model_len=4096).vllm_version == "0.5.1"
    assert est("llama3.1-8b", vllm_version="0.11", max_model_len=4096).vllm_version == "0.11"


def test_starcoder2_all_sliding_layers_hold_only_the_window() -> None:
    # vLLM PR #19029: starcoder2-3b, 16384 context, 2,198,512 tokens (137,407 blocks) -> 178.68x once each
    # request is charged cdiv(min(4096 - 1 + 8192, 16384), 16) + 1 = 769 blocks; 134.19x (1024) before.
    inp = sizing_input(model="starcoder2-3b", gpu="H100", max_model_len=16384, vllm_version="0.10")
    _, stages = stage_facts(inp)
    assert stages[0].blocks_per_request == 769 and 137_407 / 769 == pytest.approx(178.68, abs=0.01)
    old = sizing_input(model="starcoder2-3b", gpu="H100", max_model_len=16384, vllm_version="0.9")
    assert stage_facts(old)[1][0].blocks_per_request == 1024
    assert est("starcoder2-3b", max_model_len=16384).kv_bytes_per_token == 30 * 2 * 2 * 128 * 2


def test_v0_auto_chunking_skips_sliding_window_and_multimodal_models(tmp_path) -> None:
    # arg_utils.py: no auto chunked prefill with a sliding window, nor (0.6.1+, PR #8425) for multimodal.
    windowed = est("gemma3-12b", "A100-80GB", vllm_version="0.6.0", max_model_len=65536)
    assert windowed.max_num_batched_tokens == 65536
    config = {
        "model_type": "llama",
        "hidden_size": 2048,
        "num_hidden_layers": 4,
        "num_attention_heads": 16,
        "num_key_value_heads": 8,
        "intermediate_size": 4096,
        "vocab_size": 32000,
        "max_position_embeddings": 65536,
        "vision_config": {"hidden_size": 64, "num_hidden_layers": 1},
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert est(str(path), vllm_version="0.6.0", max_model_len=65536).max_num_batched_tokens == 512
    assert est(str(path), vllm_version="0.6.1", max_model_len=65536).max_num_batched_tokens == 65536
