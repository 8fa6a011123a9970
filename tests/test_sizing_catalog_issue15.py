"""Issue 15 catalog rows for the models of the new vLLM startup logs, each checked against a fact derived
by hand from its real config.json: Qwen2.5-0.5B-Instruct, Gemma 4 31B (dense), Qwen3.5-27B / 35B-A3B and
Qwen3.6-27B (Gated DeltaNet hybrids with a float32 temporal state); Gemma 4 E2B's per-layer embeddings and
Nemotron 3 Nano (nemotron_h) are refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sizing import SizingError, SizingInput, estimate_memory, gpu_profile, load_model
from sizing.catalog import catalog_entry

FIXTURES = Path(__file__).parent / "fixtures" / "hf_configs"


def _estimate(name: str, tp: int = 1, **kw) -> object:
    return estimate_memory(
        SizingInput(arch=load_model(name), gpu=gpu_profile("H100"), tensor_parallel_size=tp, **kw)
    )


def test_qwen25_05b_is_a_tied_gqa_model_of_0_49b() -> None:
    arch = load_model("Qwen/Qwen2.5-0.5B-Instruct")
    assert arch.total_params / 1e9 == pytest.approx(0.49, rel=0.015)  # model card: 0.49B
    assert arch.tie_word_embeddings and arch.head_dim == 896 // 14
    # 24 layers x 2 KV heads x 64 x (K+V) x 2 bytes
    assert _estimate("qwen2.5-0.5b").kv_bytes_per_token == 24 * 2 * 64 * 2 * 2 == 12_288


def test_gemma4_31b_sliding_and_global_layers_cache_their_own_shapes() -> None:
    arch = load_model("google/gemma-4-31B-it")
    assert arch.total_params / 1e9 == pytest.approx(31.0, rel=0.015)
    kinds = arch.attention_layer_kinds
    assert kinds.count("sliding") == 50 and kinds.count("full") == 10 and kinds[5] == "full"
    assert arch.sliding_window == 1024 and not arch.is_moe
    # sliding: 16 KV heads x 256; global: 4 KV heads x 512 (global_head_dim); K+V, bf16
    assert _estimate("gemma4-31b").kv_bytes_per_token == 50 * 16 * 256 * 4 + 10 * 4 * 512 * 4 == 901_120


def test_gemma4_per_layer_input_embeddings_are_refused_by_name(tmp_path) -> None:
    cfg = dict(catalog_entry("google/gemma-4-31B-it").config or {})
    cfg["text_config"] = {**cfg["text_config"], "hidden_size_per_layer_input": 256}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(SizingError, match="per-layer input embeddings .*hidden_size_per_layer_input 256"):
        load_model(str(path))


def test_qwen35_27b_hybrid_keeps_a_float32_temporal_state() -> None:
    arch = load_model("Qwen/Qwen3.5-27B")
    assert arch.model_type == "qwen3_5" and not arch.is_moe
    kinds = arch.attention_layer_kinds
    assert kinds.count("full") == 16 and kinds.count("mamba") == 48 and kinds[3] == "full"
    assert arch.total_params / 1e9 == pytest.approx(27.0, rel=0.015)
    assert arch.vision_params == pytest.approx(460.7e6, rel=0.001)  # Qwen3-VL-style tower, 27 blocks
    est = _estimate("qwen3.5-27b", max_model_len=32768)
    assert est.kv_bytes_per_token == 16 * 4 * 256 * 2 * 2  # 16 full-attention layers, 4 KV heads x 256
    # state page: conv (2*16*128 + 48*128) x 3 in bf16 + temporal 48 x 128 x 128 in fp32 (mamba_ssm_dtype)
    state = (2 * 16 * 128 + 48 * 128) * 3 * 2 + 48 * 128 * 128 * 4
    assert state == 3_207_168
    # alignment max(16, block_size): 16 (default block) up to 0.33, 64 from 0.34
    assert est.block_size == 64 * -(-state // (64 * 4 * 256 * 2 * 2))  # = 832
    est_033 = _estimate("qwen3.5-27b", max_model_len=32768, vllm_version="0.33")
    assert est_033.block_size == 16 * -(-state // (16 * 4 * 256 * 2 * 2))  # = 784


def test_qwen35_35b_a3b_routes_256_experts_with_a_gated_shared_expert() -> None:
    arch = load_model("Qwen/Qwen3.5-35B-A3B")
    assert arch.model_type == "qwen3_5_moe" and arch.num_experts == 256 and arch.num_experts_per_tok == 8
    assert arch.total_params / 1e9 == pytest.approx(35.0, rel=0.015)
    layer = arch.layers[0]
    assert layer.routed_expert_params == 256 * 3 * 2048 * 512
    assert layer.shared_expert_params == 3 * 2048 * 512 + 2048  # + shared_expert_gate
    kinds = arch.attention_layer_kinds
    assert kinds.count("full") == 10 and kinds.count("mamba") == 30
    assert _estimate("qwen3.5-35b-a3b").kv_bytes_per_token == 10 * 2 * 256 * 2 * 2


def test_qwen36_27b_has_qwen35_27b_text_architecture() -> None:
    q36, q35 = load_model("Qwen/Qwen3.6-27B"), load_model("Qwen/Qwen3.5-27B")
    assert q36.layers == q35.layers and q36.vocab_size == q35.vocab_size == 248_320
    assert q36.total_params == q35.total_params


def test_nemotron_h_is_refused_naming_its_type_and_the_nearest_family() -> None:
    path = FIXTURES / "nvidia--NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.json"
    assert json.loads(path.read_text())["hybrid_override_pattern"].count("*") == 6  # attention layers
    with pytest.raises(SizingError, match="model_type 'nemotron_h' .*nearest supported family: 'qwen3_next'"):
        load_model(str(path))
