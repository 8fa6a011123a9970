"""Architectures: catalog lookup, config.json parsing, parameter counts against published counts."""

from __future__ import annotations

import json
import shutil

import pytest

from sizing import SizingError, list_models, load_model
from sizing.catalog import CONFIG_DIR, catalog_entries

PUBLISHED = [(e.hf_id, e.published_params_b) for e in catalog_entries() if e.published_params_b]


def test_catalog_has_at_least_30_models_each_with_a_source() -> None:
    models = list_models()
    assert len(models) >= 30
    assert all(m.source for m in models)
    assert len({m.hf_id for m in models}) == len(models)


@pytest.mark.parametrize("hf_id,published_b", PUBLISHED)
def test_total_params_match_the_published_count_within_1_5_percent(hf_id: str, published_b: float) -> None:
    total_b = load_model(hf_id).total_params / 1e9
    assert total_b == pytest.approx(published_b, rel=0.015)


@pytest.mark.parametrize(
    "name,active_b",
    [
        ("mixtral-8x7b", 12.9),  # Mistral AI: 12.9B active of 46.7B
        ("mixtral-8x22b", 39.0),
        ("deepseek-v3", 37.0),  # DeepSeek-V3 report: 37B activated (embeddings counted)
        ("qwen3-30b-a3b", 3.3),
        ("qwen3-235b", 22.0),
        ("llama4-scout", 17.0),
    ],
)
def test_moe_active_params_per_token(name: str, active_b: float) -> None:
    arch = load_model(name)
    assert arch.is_moe
    assert arch.active_params / 1e9 == pytest.approx(active_b, rel=0.02)


def test_gpt_oss_active_params_exclude_the_embedding_as_openai_counts_them() -> None:
    # OpenAI's model card: 5.13B active for gpt-oss-120b, counted without the input embedding table.
    arch = load_model("gpt-oss-120b")
    assert (arch.active_params - arch.embedding_params) / 1e9 == pytest.approx(5.13, rel=0.015)


def test_dense_model_active_equals_total() -> None:
    arch = load_model("llama3.1-8b")
    assert not arch.is_moe and arch.active_params == arch.total_params


@pytest.mark.parametrize(
    "name", ["Meta-Llama-3.1-8B", "META-LLAMA/META-LLAMA-3.1-8B", " meta-llama/meta-llama-3.1-8b "]
)
def test_lookup_is_case_insensitive_by_id_or_short_id_and_keeps_the_repo_named(name: str) -> None:
    assert load_model(name).hf_id == "meta-llama/Meta-Llama-3.1-8B"  # the base repo, as the Hub spells it


@pytest.mark.parametrize("name", ["llama3.1-8b", "LLAMA-3.1-8B", " Llama-3.1-8B "])
def test_aliases_resolve_to_the_instruct_repo_people_serve(name: str) -> None:
    assert load_model(name).hf_id == "meta-llama/Llama-3.1-8B-Instruct"


def test_unknown_model_names_the_closest_catalog_ids() -> None:
    with pytest.raises(SizingError, match="closest catalog ids: .*qwen3-8b"):
        load_model("qwen3-8bb")


def test_unknown_hf_id_suggests_the_catalog_row_of_the_same_model() -> None:
    expected = r"closest catalog ids: meta-llama/Llama-3\.1-8B-Instruct \(llama3\.1-8b\)"
    with pytest.raises(SizingError, match=expected):
        load_model("meta-llama/Llama-3.1-8B-Instruct-FP16")


def test_unknown_model_with_nothing_close_offers_popular_aliases_and_a_config_path() -> None:
    expected = r"\(none is close\); popular aliases: llama3.1-8b, .*; or pass a path to a config.json"
    with pytest.raises(SizingError, match=expected) as info:
        load_model("zzz-unrelated")
    for alias in ("llama3.1-8b", "qwen3-32b"):
        assert alias in str(info.value)
        load_model(alias)  # the offered aliases exist


def test_rope_scaling_factor_extends_the_context_like_vllm() -> None:
    # config.py::_get_and_verify_max_len: linear x4 on 16384 -> 65536; llama3 and gemma3 are not scaled.
    assert load_model("deepseek-coder-6.7b").max_position_embeddings == 65536
    assert load_model("llama3.1-8b").max_position_embeddings == 131072
    assert load_model("deepseek-v3").max_position_embeddings == 163840  # yarn: 4096 x 40


def test_local_config_json_path_loads(tmp_path) -> None:
    path = tmp_path / "config.json"
    shutil.copy(CONFIG_DIR / "Qwen--Qwen3-8B.json", path)
    arch = load_model(str(path))
    assert arch.hf_id == str(path)
    assert arch.total_params == load_model("qwen3-8b").total_params


def test_malformed_config_json_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(SizingError, match="not valid JSON"):
        load_model(str(path))


def test_unknown_model_type_names_the_supported_ones(tmp_path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "rwkv", "hidden_size": 8}))
    with pytest.raises(SizingError, match="model_type 'rwkv'.*supported: .*llama"):
        load_model(str(path))


def test_missing_field_is_named(tmp_path) -> None:
    cfg = json.loads((CONFIG_DIR / "Qwen--Qwen3-8B.json").read_text())
    del cfg["num_hidden_layers"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(SizingError, match="num_hidden_layers"):
        load_model(str(path))


@pytest.mark.parametrize(
    "name,quantization",
    [
        ("gpt-oss-20b", "mxfp4"),
        ("qwen3-32b-fp8", "fp8"),
        ("deepseek-v3", "fp8"),
        ("qwen3-32b", "none"),
        ("llama3.3-70b-fp8", "fp8"),
        ("qwen2.5-7b-awq", "awq"),
        ("qwen1.5-7b-gptq", "gptq"),
    ],
)
def test_native_quantization_comes_from_the_checkpoint(name: str, quantization: str) -> None:
    assert load_model(name).quantization == quantization


def test_family_facts() -> None:
    dsv3 = load_model("deepseek-v3")
    assert dsv3.is_mla and dsv3.is_moe and dsv3.kv_lora_rank == 512 and dsv3.qk_rope_head_dim == 64
    oss = load_model("gpt-oss-120b")
    assert oss.attention_layer_kinds.count("sliding") == 18 and oss.sliding_window == 128
    gemma3 = load_model("gemma3-27b")
    assert gemma3.attention_layer_kinds.count("full") == 62 // 6  # every 6th layer is global
    gemma2 = load_model("gemma2-9b")
    assert gemma2.attention_layer_kinds[:2] == ("sliding", "full")
    scout = load_model("llama4-scout")
    assert scout.attention_layer_kinds.count("chunked") == 36  # NoPE global layer every 4th
    assert load_model("nemotron-super-49b").attention_layer_kinds.count("none") == 31


@pytest.mark.parametrize("model", ["qwen3-8b", "qwen3-30b-a3b"])
def test_qwen3_counts_per_layer_q_norm_and_k_norm(model) -> None:
    # vLLM qwen3.py / qwen3_moe.py: q_norm and k_norm are RMSNorm(head_dim) in every attention layer,
    # next to input_layernorm and post_attention_layernorm (hidden_size each).
    arch = load_model(model)
    assert all(layer.norm_params == 2 * arch.hidden_size + 2 * arch.head_dim for layer in arch.layers)
