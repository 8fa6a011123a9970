"""Release-by-release switches read from the vLLM wheels for issue 15: Model Runner V2, its sampler state, the
CUDA graph estimate it skips before 0.29, --enforce-eager, and the CUDA graph capture sizes."""

from __future__ import annotations

import pytest

from sizing import SizingInput, estimate_memory, gpu_profile, load_model
from sizing.memory import GIB, _resolve, graph_in_budget
from sizing.vllm_versions import cudagraph_capture_sizes, uses_v2_model_runner


@pytest.mark.parametrize(
    ("version", "model_type", "moe", "hybrid", "quantized", "expected"),
    [
        ((0, 21), "qwen3", False, False, False, False),  # env default "0"
        ((0, 22), "qwen3", False, False, False, True),
        ((0, 22), "qwen3", False, False, True, False),  # quantized stays on V1 in 0.22-0.23
        ((0, 23), "llama", False, False, False, False),  # only Qwen3ForCausalLM listed
        ((0, 24), "llama", False, False, True, True),
        ((0, 24), "gemma3", False, False, False, False),
        ((0, 25), "gemma3", False, False, False, True),  # every dense non-hybrid model
        ((0, 26), "qwen3_moe", True, False, False, False),  # MoE outside the list
        ((0, 26), "qwen2_moe", True, False, False, True),
        ((0, 27), "qwen3_next", True, True, False, False),  # hybrid
        ((0, 28), "deepseek_v4", True, False, False, True),
        ((0, 29), "qwen3_next", True, True, False, True),  # every model
    ],
)
def test_v2_runner_by_release(version, model_type, moe, hybrid, quantized, expected):
    assert uses_v2_model_runner(version, model_type, moe, hybrid, quantized) is expected


def _inp(version: str, **kw) -> SizingInput:
    return SizingInput(arch=load_model("llama3.1-8b"), gpu=gpu_profile("L4"), vllm_version=version, **kw)


def test_v2_runner_skips_the_graph_estimate_before_029():
    # Llama on 0.26 runs on V2 (profile_cudagraph_memory returns 0); 0.29's V2 measures the graphs.
    assert not graph_in_budget(_resolve(_inp("0.26")))
    assert graph_in_budget(_resolve(_inp("0.29")))
    assert graph_in_budget(_resolve(_inp("0.21")))  # V1 runner, estimate on since 0.20
    est_26, est_29 = estimate_memory(_inp("0.26")), estimate_memory(_inp("0.29"))
    assert est_26.cudagraph_gib == est_29.cudagraph_gib > 0  # reported either way
    assert any("Model Runner V2" in note for note in est_26.notes)


def test_v2_sampler_state_is_charged_from_027():
    # output_bin_counts (seqs x vocab int32) + prompt_bin_mask (seqs x vocab/32 int32), last stage.
    vocab = load_model("llama3.1-8b").vocab_size
    state = 256 * (vocab + -(-vocab // 32)) * 4 / GIB
    e26 = estimate_memory(_inp("0.26", max_num_seqs=256))
    e27 = estimate_memory(_inp("0.27", max_num_seqs=256))
    # 0.26 -> 0.27 also switches the profiler; with no other change the KV pool drops by the state alone.
    assert e26.kv_cache_gib - e27.kv_cache_gib == pytest.approx(state, rel=1e-6)


def test_enforce_eager_charges_no_graph_memory():
    eager, graphs = estimate_memory(_inp("0.21", enforce_eager=True)), estimate_memory(_inp("0.21"))
    assert eager.cudagraph_gib == 0
    assert eager.kv_cache_gib - graphs.kv_cache_gib == pytest.approx(graphs.cudagraph_gib)


def test_cudagraph_capture_sizes_follow_vllm():
    # 256 sequences: 1, 2, 4, 8..248 by 8, 256..512 by 16 -> 51 sizes, 35 of them <= 256 (FULL decode).
    sizes = cudagraph_capture_sizes(256, 2048)
    assert len(sizes) == 51 and sizes[-1] == 512 and sum(s <= 256 for s in sizes) == 35
    assert cudagraph_capture_sizes(8, 8192) == (1, 2, 4, 8, 16)
    assert cudagraph_capture_sizes(1024, 300) == (*cudagraph_capture_sizes(1024, 248), 256, 272, 288, 300)


def test_mla_decode_matrices_add_to_the_weights_by_release():
    # DeepSeek-V3 FP8, TP8 (16 heads per rank), 61 MLA layers: kv_lora_rank 512, q_lora_rank 1536, rope 64,
    # nope 128, v 128, hidden 7168.
    arch = load_model("deepseek-v3")
    assert arch.q_lora_rank == 1536 and arch.kv_lora_rank == 512

    def weights(version: str) -> float:
        gpu, mml = gpu_profile("H200"), 4096
        inp = SizingInput(arch=arch, gpu=gpu, tensor_parallel_size=8, vllm_version=version, max_model_len=mml)
        return estimate_memory(inp).weights_gib

    base = weights("0.7.0")  # before the MLA backends: no decode matrices (and no latent cache)
    # 0.7.1-0.7.3: W_Q_UK + W_UV_O requantized to fp8, W_QR in bf16
    absorbed = 1536 * 16 * 512 + 16 * 512 * 7168 + 1536 * 16 * 64 * 2
    assert weights("0.7.2") - base == pytest.approx(61 * absorbed / GIB, rel=1e-9)
    assert (weights("0.7.2") - base) / base == pytest.approx(0.053, abs=0.003)  # "about 5 % more"
    # 0.8+: a bf16 copy of the dequantized kv_b_proj (W_UK_T / W_UV)
    assert weights("0.34") - base == pytest.approx(61 * 16 * (128 + 128) * 512 * 2 / GIB, rel=1e-9)
    # a 16-bit MLA model keeps views only
    lite = SizingInput(arch=load_model("deepseek-v2-lite"), gpu=gpu_profile("L40S"), vllm_version="0.34")
    lite_old = lite.model_copy(update={"vllm_version": "0.7.0"})
    assert estimate_memory(lite).weights_gib == estimate_memory(lite_old).weights_gib
