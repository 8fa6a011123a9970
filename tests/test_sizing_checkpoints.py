"""Repos people type and serve: base/Instruct twins, renamed ids, quantized checkpoints, load-time flags."""

from __future__ import annotations

import pytest

from sizing import (
    QUANTIZED,
    SizingError,
    estimate_memory,
    gpu_profile,
    load_model,
    load_time_quantization,
    quantized_checkpoint,
    sizing_input,
)
from tests.conftest import load_edited_table

ARCH_FACTS = {"hf_id", "base_model", "source"}


def _facts(name: str) -> dict:
    return load_model(name).model_dump(exclude=ARCH_FACTS)


# (repo a user types, another repo of the same catalog row): one pair per family
TWINS = [
    ("meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Meta-Llama-3.1-8B"),
    ("meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B"),
    ("meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Meta-Llama-3.1-70B"),
    ("meta-llama/Meta-Llama-3.1-405B-Instruct", "meta-llama/Llama-3.1-405B"),
    ("meta-llama/Llama-3.3-70B-Instruct", "llama3.3-70b"),
    ("meta-llama/Llama-2-7b-chat-hf", "meta-llama/Llama-2-7b-hf"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "meta-llama/Meta-Llama-3-8B"),
    ("meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.2-1B-Instruct"),
    ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5-7b"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "mistralai/Mistral-7B-v0.3"),
    ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mistralai/Mixtral-8x7B-v0.1"),
    ("google/gemma-2-9b", "google/gemma-2-9b-it"),
    ("google/gemma-3-27b-pt", "google/gemma-3-27b-it"),
    ("deepseek-ai/DeepSeek-V2-Lite-Chat", "deepseek-ai/DeepSeek-V2-Lite"),
    ("deepseek-ai/DeepSeek-V3-0324", "deepseek-ai/DeepSeek-V3"),
    ("deepseek-ai/DeepSeek-R1-0528", "deepseek-ai/DeepSeek-R1"),
    ("meta-llama/Llama-3.1-405B-Instruct-FP8", "llama3.1-405b-fp8"),
]


@pytest.mark.parametrize("typed,twin", TWINS)
def test_instruct_and_base_repos_resolve_to_the_same_architecture_under_their_own_id(
    typed: str, twin: str
) -> None:
    arch = load_model(typed.lower())  # case-insensitive, returned as the Hub spells it
    assert arch.hf_id == typed
    assert _facts(typed) == _facts(twin)


@pytest.mark.parametrize(
    "alias,served",
    [
        ("llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct"),
        ("llama3.1-70b", "meta-llama/Llama-3.1-70B-Instruct"),
        ("llama-3.1-405b", "meta-llama/Llama-3.1-405B-Instruct"),
        ("llama2-7b", "meta-llama/Llama-2-7b-chat-hf"),
        ("llama3-8b", "meta-llama/Meta-Llama-3-8B-Instruct"),
        ("mixtral-8x7b", "mistralai/Mixtral-8x7B-Instruct-v0.1"),
        ("deepseek-v2-lite", "deepseek-ai/DeepSeek-V2-Lite-Chat"),
        ("gemma3-270m", "google/gemma-3-270m-it"),
    ],
)
def test_aliases_resolve_to_the_instruct_repo(alias: str, served: str) -> None:
    assert load_model(alias).hf_id == served


def test_renamed_repo_records_the_current_16_bit_repo_as_its_base() -> None:
    assert (
        load_model("meta-llama/Meta-Llama-3.1-70B-Instruct").base_model == "meta-llama/Llama-3.1-70B-Instruct"
    )
    assert load_model("meta-llama/Llama-3.1-70B").base_model == "meta-llama/Llama-3.1-70B"


@pytest.mark.parametrize("ckpt", QUANTIZED, ids=lambda c: c.hf_id)
def test_every_listed_quantized_checkpoint_loads_in_its_format_and_round_trips(ckpt) -> None:
    assert ckpt.source
    base = load_model(ckpt.base_model)
    assert base.hf_id == ckpt.base_model and base.quantization == "none"
    arch = load_model(ckpt.hf_id)
    assert (arch.hf_id, arch.quantization, arch.quant_method) == (
        ckpt.hf_id,
        ckpt.quantization,
        ckpt.quant_method,
    )
    assert arch.base_model == ckpt.base_model
    assert arch.total_params == pytest.approx(base.total_params, rel=1e-9)
    assert quantized_checkpoint(base, ckpt.quantization) == ckpt.hf_id
    assert quantized_checkpoint(arch, "none") == ckpt.base_model


def test_one_quantized_checkpoint_per_base_and_format() -> None:
    keys = [(c.base_model, c.quantization) for c in QUANTIZED]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    "model,quantization,expected",
    [
        ("llama3.1-70b", "awq", "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4"),
        (
            "meta-llama/Meta-Llama-3.1-70B-Instruct",
            "gptq",
            "hugging-quants/Meta-Llama-3.1-70B-Instruct-GPTQ-INT4",
        ),
        ("llama3.1-405b", "awq", "hugging-quants/Meta-Llama-3.1-405B-Instruct-AWQ-INT4"),
        ("llama3.1-405b", "fp8", "meta-llama/Meta-Llama-3.1-405B-Instruct-FP8"),
        ("llama3.3-70b", "fp8", "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"),
        ("llama3.3-70b", "int8", "RedHatAI/Llama-3.3-70B-Instruct-quantized.w8a8"),
        ("qwen2.5-72b", "awq", "Qwen/Qwen2.5-72B-Instruct-AWQ"),
        ("qwen3-32b", "awq", "Qwen/Qwen3-32B-AWQ"),
        ("qwen3-32b", "fp8", "Qwen/Qwen3-32B-FP8"),
        ("qwen3-32b-fp8", "fp8", "Qwen/Qwen3-32B-FP8"),  # already that format: itself
        ("llama3.3-70b-fp8", "none", "meta-llama/Llama-3.3-70B-Instruct"),
        ("gpt-oss-20b", "mxfp4", "openai/gpt-oss-20b"),
        ("phi-4", "awq", None),  # none listed
        ("meta-llama/Meta-Llama-3.1-70B", "awq", None),  # base weights: the listed AWQ is of the Instruct
        ("llama3.1-8b", "bnb4", None),  # vLLM makes bnb4 at load time
    ],
)
def test_quantized_checkpoint(model: str, quantization: str, expected: str | None) -> None:
    assert quantized_checkpoint(load_model(model), quantization) == expected


def test_a_pre_quantized_checkpoint_is_sized_in_its_own_format() -> None:
    def weights(model: str) -> float:
        return estimate_memory(sizing_input(model=model, gpu="H100", max_model_len=4096)).weights_gib

    awq = weights("hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4")
    assert 35 < awq < 40  # int4 + group scales, embeddings and lm_head 16-bit
    assert weights("llama3.1-70b") > 3 * awq


@pytest.mark.parametrize(
    "model,quantization,expected",
    [
        ("llama3.1-8b", "fp8", "fp8"),  # dynamic FP8 from bf16 at load time
        ("llama3.1-8b", "bnb4", "bitsandbytes"),
        ("llama3.1-8b", "none", None),
        ("llama3.3-70b-fp8", "fp8", None),  # compressed-tensors: naming fp8 makes vLLM refuse (review #2)
        ("llama3.1-405b-fp8", "fp8", None),  # fbgemm_fp8
        ("hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4", "awq", None),
        ("gpt-oss-120b", "mxfp4", None),
    ],
)
def test_load_time_quantization(model: str, quantization: str, expected: str | None) -> None:
    assert load_time_quantization(load_model(model), quantization) == expected


def test_awq_of_a_16_bit_checkpoint_needs_another_repo_and_names_it() -> None:
    with pytest.raises(
        SizingError, match="serve hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4 instead"
    ):
        load_time_quantization(load_model("llama3.1-70b"), "awq")
    with pytest.raises(SizingError, match=r"checkpoint of it .*fp8 \(or bnb4 up to vLLM 0.27\)"):
        load_time_quantization(load_model("phi-4"), "gptq")
    with pytest.raises(SizingError, match="ships fp8 weights"):
        load_time_quantization(load_model("llama3.3-70b-fp8"), "awq")


def test_modelopt_fp8_checkpoint_needs_ada_or_newer_and_names_a_compressed_tensors_one() -> None:
    inp = sizing_input(model="llama3.1-70b-fp8", gpu="A100", gpu_memory_gib=80, tensor_parallel_size=2)
    with pytest.raises(
        SizingError, match=r"modelopt .* 8\.9; A100-80GB is 8\.0: serve RedHatAI/Meta-Llama-3\.1-70B"
    ):
        estimate_memory(inp)
    compressed = load_model("RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8")
    assert estimate_memory(inp.model_copy(update={"arch": compressed})).fits
    assert estimate_memory(inp.model_copy(update={"gpu": gpu_profile("H100")})).fits


@pytest.mark.parametrize(
    "model,method",
    [
        ("qwen3-32b-fp8", "fp8"),
        ("gpt-oss-20b", "mxfp4"),
        ("llama3.3-70b-fp8", "compressed-tensors"),
        ("llama3.1-405b-fp8", "fbgemm_fp8"),
        ("llama3.1-70b-fp8", "modelopt"),
        ("qwen2.5-7b-awq", "awq"),
        ("llama3.1-8b", None),
    ],
)
def test_quant_method_is_the_checkpoints_own(model: str, method: str | None) -> None:
    assert load_model(model).quant_method == method


def test_a_malformed_catalog_row_fails_naming_it(tmp_path, monkeypatch) -> None:
    from sizing import model_table

    def edit(table: dict) -> None:
        del table["models"][2]["source"]
        table["quantized_checkpoints"][0]["quantization"] = "int3"

    named = r"models.json: models\[2\] \(meta-llama/Llama-2-70b-chat-hf\)"
    with pytest.raises(SizingError, match=named):
        load_edited_table(monkeypatch, tmp_path, model_table, "MODEL_TABLE_PATH", model_table.model_table,
                          edit)
