"""Issue 15 architectures, each from its real config.json: Gemma 3 (text_config, no vocab_size), GLM-4.7
(glm4_moe), GLM-5 (glm_moe_dsa), Qwen3-Next (hybrid Gated DeltaNet + attention), Llama 4's vision tower
under TP; config.json validation (issue 11 item 4) and the unsupported-model_type error."""

from __future__ import annotations

import json
import math

import pytest

from sizing import SizingError, SizingInput, estimate_memory, gpu_profile, load_model
from sizing.catalog import CONFIG_DIR


def _estimate(name: str, gpu: str, tp: int = 1, **kw) -> object:
    return estimate_memory(
        SizingInput(arch=load_model(name), gpu=gpu_profile(gpu), tensor_parallel_size=tp, **kw)
    )


def test_gemma3_multimodal_config_reads_the_text_config_and_transformers_defaults() -> None:
    raw = json.loads((CONFIG_DIR / "google--gemma-3-27b-it.json").read_text())
    assert "vocab_size" not in raw and "vocab_size" not in raw["text_config"]
    arch = load_model("google/gemma-3-27b-it")
    assert arch.vocab_size == 262_208  # Gemma3TextConfig default
    assert arch.num_hidden_layers == 62 and arch.num_key_value_heads == 16 and arch.head_dim == 128
    kinds = arch.attention_layer_kinds
    assert kinds.count("full") == 10 and kinds[5] == "full" and kinds[0] == "sliding"  # 5 local : 1 global
    # SigLIP tower + projector from vision_config, bf16, split by TP
    assert arch.vision_params == pytest.approx(417.3e6, rel=0.002)
    tp1, tp2 = _estimate("gemma3-27b", "H100"), _estimate("gemma3-27b", "H100", 2)
    assert tp1.weights_gib == pytest.approx(2 * tp2.weights_gib, rel=0.01)


def test_glm47_moe_counts_dense_prefix_routed_and_shared_experts() -> None:
    arch = load_model("glm-4.7")
    assert arch.model_type == "glm4_moe" and arch.num_experts == 160
    assert [layer.routed_expert_params > 0 for layer in arch.layers[:4]] == [False, False, False, True]
    assert arch.layers[3].router_params == 5120 * 160 + 160  # gate + e_score_correction_bias
    # GQA: 8 KV heads x 128 x K+V x 2 bytes x 92 layers at TP8 (one head per rank)
    assert _estimate("glm-4.7", "H200", 8).kv_bytes_per_token == 92 * 1 * 256 * 2


def test_glm5_dsa_caches_the_mla_latent_plus_the_indexer_keys() -> None:
    arch = load_model("glm-5")
    assert arch.model_type == "glm_moe_dsa" and arch.is_mla
    att = arch.layers[0].attention
    assert att.kind == "mla" and att.indexer_bytes == 128 + 4  # fp8 keys + one fp32 scale per 128
    est = _estimate("glm-5", "H200", 8, quantization="fp8")
    assert est.kv_bytes_per_token == 78 * (576 * 2 + 132)  # bf16 latent, replicated on every rank
    fp8 = _estimate("glm-5", "H200", 8, quantization="fp8", kv_cache_dtype="fp8")
    assert fp8.kv_bytes_per_token == 78 * (656 + 132)  # fp8_ds_mla page
    assert est.block_size == 64  # MLA on Hopper


def test_qwen3_next_hybrid_raises_the_block_size_to_hold_one_mamba_state() -> None:
    arch = load_model("qwen3-next")
    kinds = arch.attention_layer_kinds
    assert kinds.count("full") == 12 and kinds.count("mamba") == 36 and kinds[3] == "full"
    est = _estimate("qwen3-next", "H200", 2, max_model_len=32768, vllm_version="0.33")
    # TP2 mamba page: (conv (2*2048 + 4096) x 3 + temporal 32 x 128 x 128) / 2, bf16 = 548,864 B; attention
    # page per token 1 head x 256 x (K+V) x 2 B = 1024 B -> block = 16 x cdiv(548864, 16 x 1024) = 544
    assert est.block_size == 544
    # 0.34: the alignment is max(16, block_size 64) (platforms/interface.py::_align_hybrid_block_size)
    est_034 = _estimate("qwen3-next", "H200", 2, max_model_len=32768)
    assert est_034.block_size == 64 * -(-548864 // (64 * 1024))
    assert est.kv_bytes_per_token == 12 * 1024
    assert est.num_gpu_blocks > 0
    page = 544 * 1024
    bytes_per_block = 12 * page  # group size 12: 1 attention group + 3 mamba groups share the pool
    assert est.num_gpu_blocks == int(est.kv_cache_gib * 2**30 // bytes_per_block)
    per_request = math.ceil(32768 / 544) + 3
    assert est.max_concurrency == pytest.approx(est.num_gpu_blocks / per_request)
    assert arch.total_params / 1e9 == pytest.approx(80.0, rel=0.015)


def test_qwen3_next_before_0_10_2_is_refused_naming_the_release() -> None:
    with pytest.raises(SizingError, match="0.10.2"):
        _estimate("qwen3-next", "H200", 1, vllm_version="0.9")


def test_llama4_vision_tower_is_counted_and_split_by_tp() -> None:
    arch = load_model("llama4-scout")
    assert arch.vision_params == 871_932_416
    assert arch.active_params / 1e9 == pytest.approx(17.0, rel=0.02)  # text only
    tp4, tp8 = _estimate("llama4-scout", "H200", 4), _estimate("llama4-scout", "H200", 8)
    assert tp4.weights_gib == pytest.approx(2 * tp8.weights_gib, rel=0.01)


def _write(tmp_path, cfg) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return str(path)


def test_unsupported_model_type_names_the_nearest_supported_family(tmp_path) -> None:
    path = _write(tmp_path, {"model_type": "kimi_linear", "hidden_size": 8})
    with pytest.raises(SizingError, match="'kimi_linear'.*nearest supported family: 'qwen3_next'"):
        load_model(path)
    path = _write(tmp_path, {"model_type": "mixtral2", "hidden_size": 8})
    with pytest.raises(SizingError, match="nearest supported family: 'mixtral'"):
        load_model(path)


@pytest.mark.parametrize(
    "edit,message",
    [
        ({"num_attention_heads": -4}, "field 'num_attention_heads' is -4; it must be between 1 and"),
        ({"hidden_size": 4096.5}, "field 'hidden_size' must be an integer"),
        ({"num_hidden_layers": True}, "field 'num_hidden_layers' must be an integer"),
        (
            {"num_key_value_heads": 5},
            "'num_key_value_heads' \\(5\\) must divide 'num_attention_heads' \\(32\\)",
        ),
        ({"vocab_size": 10**9}, "field 'vocab_size' is 1000000000"),
        ({"model_type": None}, "field 'model_type' is missing"),
    ],
)
def test_config_json_fields_are_validated_naming_file_and_field(tmp_path, edit, message) -> None:
    cfg = {**json.loads((CONFIG_DIR / "Qwen--Qwen3-8B.json").read_text()), **edit}
    path = _write(tmp_path, cfg)
    with pytest.raises(SizingError, match=message) as err:
        load_model(path)
    assert str(tmp_path) in str(err.value)


def test_nested_text_config_fields_are_validated(tmp_path) -> None:
    cfg = json.loads((CONFIG_DIR / "google--gemma-3-27b-it.json").read_text())
    cfg["text_config"]["num_hidden_layers"] = 0
    with pytest.raises(SizingError, match="field 'text_config.num_hidden_layers' is 0"):
        load_model(_write(tmp_path, cfg))


def test_binary_and_non_utf8_files_are_named_as_such(tmp_path) -> None:
    binary = tmp_path / "model.safetensors"
    binary.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(SizingError, match="model.safetensors is a binary file, not a config.json"):
        load_model(str(binary))
    latin = tmp_path / "config.json"
    latin.write_bytes('{"model_type": "llama", "name": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(SizingError, match="is not UTF-8 text"):
        load_model(str(latin))
