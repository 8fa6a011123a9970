"""`python -m advisor size`: the --json contract, the text table, and one-line errors with exit status 2."""

from __future__ import annotations

import json

import pytest

from llm_advisor.cli.main import main
from sizing.compat import VRAMCalculator

CONTRACT_KEYS = {
    "weights_gib",
    "activation_peak_gib",
    "non_torch_gib",
    "cudagraph_gib",
    "kv_cache_gib",
    "kv_bytes_per_token",
    "kv_cache_tokens",
    "max_concurrency",
    "total_gpu_memory_gib",
    "gpu_memory_utilization",
    "budget_gib",
    "fits",
}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["size", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_the_contract_keys(capsys) -> None:
    code, out, _ = run(capsys, "--model", "llama3.1-8b", "--gpu", "L4", "--max-model-len", "8192", "--json")
    data = json.loads(out)
    assert code == 0
    assert CONTRACT_KEYS <= set(data)
    assert "recommended_gpu_memory_utilization" not in data
    assert data["kv_bytes_per_token"] == 131_072 and data["total_gpu_memory_gib"] == 22.07
    assert data["fits"] is True


def test_json_with_concurrency_recommends_a_utilization(capsys) -> None:
    code, out, _ = run(
        capsys,
        "--model",
        "qwen3-8b",
        "--gpu",
        "A100",
        "--gpu-memory-gib",
        "80",
        "--tp",
        "2",
        "--max-model-len",
        "16384",
        "--concurrency",
        "8",
        "--headroom",
        "0.2",
        "--vllm-version",
        "0.11",
        "--kv-cache-dtype",
        "fp8",
        "--json",
    )
    data = json.loads(out)
    assert code == 0
    assert 0 < data["recommended_gpu_memory_utilization"] <= 0.95
    assert data["kv_bytes_per_token"] == 36 * 2 * 4 * 128 * 1 and data["vllm_version"] == "0.11"


def test_every_flag_is_accepted(capsys) -> None:
    code, out, _ = run(
        capsys,
        "--model",
        "qwen2.5-7b",
        "--gpu",
        "A10G",
        "--gpu-memory-gib",
        "22.35",
        "--tp",
        "1",
        "--pp",
        "2",
        "--dtype",
        "fp16",
        "--quantization",
        "awq",
        "--kv-cache-dtype",
        "auto",
        "--max-model-len",
        "4096",
        "--max-num-batched-tokens",
        "1024",
        "--max-num-seqs",
        "64",
        "--gpu-memory-utilization",
        "0.85",
        "--block-size",
        "32",
        "--concurrency",
        "4",
        "--headroom",
        "0.3",
        "--vllm-version",
        "0.20.1",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["gpu_memory_utilization"] == 0.85 and data["block_size"] == 32
    assert data["max_num_batched_tokens"] == 1024 and data["quantization"] == "awq"


def test_text_output_has_a_budget_bar(capsys) -> None:
    code, out, _ = run(capsys, "--model", "gpt-oss-20b", "--gpu", "H100", "--concurrency", "10")
    assert code == 0
    assert "[WWW" in out and "K" in out and "recommended --gpu-memory-utilization" in out


def test_text_output_reports_a_workload_that_does_not_fit(capsys) -> None:
    code, out, err = run(capsys, "--model", "llama3.1-70b", "--gpu", "L4", "--tp", "8",
                         "--max-model-len", "8192", "--concurrency", "100")
    # The full report still prints; the status is 2 (README "Exit codes") with one error line.
    assert code == 2 and "does not fit at utilization 0.95: short by" in out
    assert err.count("\n") == 1 and err.startswith("error: 100 x 8192-token requests do not fit")


def test_a_layout_that_does_not_fit_exits_2_with_no_negative_figure(capsys) -> None:
    code, out, err = run(capsys, "--model", "llama3.1-70b", "--gpu", "L4", "--json")
    data = json.loads(out)
    assert code == 2 and data["fits"] is False and data["kv_cache_gib"] == 0.0
    assert data["memory_shortfall_gib"] > 100  # 131 GiB of weights on a 22 GiB GPU
    assert all(v >= 0 for v in data.values() if isinstance(v, (int, float)))
    assert err.startswith("error: meta-llama/Llama-3.1-70B-Instruct does not fit on L4 at TP=1 PP=1: short")
    code, out, _ = run(capsys, "--model", "llama3.1-70b", "--gpu", "L4")
    assert code == 2 and "-" not in out.split("KV cache")[1].split("GiB")[0]


def test_a_layout_that_fits_exits_0(capsys) -> None:
    code, out, _ = run(capsys, "--model", "llama3.1-8b", "--gpu", "L40S", "--max-model-len", "8192", "--json")
    assert code == 0 and json.loads(out)["fits"] is True and json.loads(out)["memory_shortfall_gib"] == 0.0


@pytest.mark.parametrize(
    "argv,message",
    [
        (("--model", "llama-9b", "--gpu", "H100"), "unknown model 'llama-9b'"),
        (("--model", "llama3.1-8b", "--gpu", "Z80"), "unknown GPU 'Z80'; known: H100"),
        (("--model", "llama3.1-8b", "--gpu", "H100", "--tp", "3"), "not divisible by tensor_parallel_size 3"),
        (
            ("--model", "llama3.1-8b", "--gpu", "H100", "--max-model-len", "-1"),
            "--max-model-len must be a positive",
        ),
        (("--model", "llama3.1-8b", "--gpu", "A100"), "several sizes"),
        (("--model", "llama3.1-8b", "--gpu", "H100", "--gpu-memory-utilization", "1.5"), "(0, 1]"),
        (("--model", "llama3.1-8b", "--gpu", "H100", "--block-size", "7"), "1, 8, 16, 32, 64, 128"),
        (
            (
                "--model",
                "llama3.2-1b",
                "--gpu",
                "L4",
                "--max-num-seqs",
                "4000",
                "--max-num-batched-tokens",
                "2048",
            ),
            "max_num_batched_tokens (2048) must be greater than or equal to max_num_seqs (4000)",
        ),
        (
            ("--model", "llama3.1-8b", "--gpu", "H100", "--vllm-version", "0.1"),
            "supported releases 0.2 .. 0.34",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, message) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_malformed_config_json_exits_2(capsys, tmp_path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text('{"model_type": "llama", "hidden_size": 4096')
    code, _, err = run(capsys, "--model", str(bad), "--gpu", "H100")
    assert code == 2 and "not valid JSON" in err and err.count("\n") == 1


def test_compatibility_calculator_returns_what_its_formula_gives() -> None:
    # The notes' "LLAMA3_7B" (really Llama-3-8B's shape): 7B params in FP16, 32 layers, 8 KV heads, dim 128.
    calc = VRAMCalculator(7, 2, 32, 8, 128)
    assert calc.weight_vram_gb() == pytest.approx(7e9 * 2 / 2**30)  # 13.04
    assert calc.kv_cache_vram_gb(2048, 20) == pytest.approx(5.0)  # 131,072 B/token x 40,960 tokens
    assert calc.total_vram_gb(2048, 20) == pytest.approx(19.84, abs=0.01)  # not the notes' 16.4
    assert calc.total_vram_gb() == pytest.approx((13.039 + 0.25) * 1.1, abs=0.01)
    assert VRAMCalculator(7, 2, 32, 8, 128, kv_bytes_per_element=1.0).kv_cache_vram_gb(2048, 20) == 2.5


@pytest.mark.parametrize(
    "argv,header",
    [
        (("--model", "llama3.1-8b", "--gpu", "H100"), "bf16 weights, bf16 KV cache"),
        (("--model", "llama3.1-8b", "--gpu", "H100", "--dtype", "fp16"), "fp16 weights, fp16 KV cache"),
        # no bf16 before Ampere; TP=2: 15 GiB of weights do not fit one 16 GiB T4
        (("--model", "llama3.1-8b", "--gpu", "T4", "--max-model-len", "2048", "--tp", "2"), "fp16 weights"),
        (("--model", "gpt-oss-20b", "--gpu", "H100"), "mxfp4 (checkpoint), bf16 KV cache"),
        (("--model", "qwen3-32b-fp8", "--gpu", "H100", "--kv-cache-dtype", "fp8"), "fp8 (checkpoint), fp8"),
        (("--model", "qwen2.5-7b", "--gpu", "L4", "--quantization", "awq"), "awq int4 weights"),
    ],
)
def test_text_header_names_the_effective_weight_and_kv_formats(capsys, argv, header) -> None:
    code, out, _ = run(capsys, *argv)
    first = out.splitlines()[0]
    assert code == 0 and header in first and "none" not in first


def test_unknown_model_names_popular_aliases_when_nothing_is_close(capsys) -> None:
    code, _, err = run(capsys, "--model", "zzz-unrelated", "--gpu", "H100")
    assert code == 2 and "popular aliases: llama3.1-8b" in err and "pass a path to a config.json" in err


def test_unknown_gpu_names_the_nearest_known_ones(capsys) -> None:
    code, _, err = run(capsys, "--model", "llama3.1-8b", "--gpu", "A10")
    assert code == 2 and "nearest known GPUs: A10G" in err


@pytest.mark.parametrize(
    "argv,served,flag",
    [
        (("--model", "meta-llama/Llama-3.1-8B-Instruct"), "meta-llama/Llama-3.1-8B-Instruct", None),
        (("--model", "llama3.1-8b", "--quantization", "fp8"), "meta-llama/Llama-3.1-8B-Instruct", "fp8"),
        (
            ("--model", "llama3.1-70b", "--quantization", "awq"),
            "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4",
            None,
        ),
        (("--model", "llama3.3-70b-fp8"), "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic", None),
        (("--model", "phi-4", "--quantization", "awq"), None, None),
    ],
)
def test_json_names_the_repo_vllm_serves_and_its_quantization_flag(capsys, argv, served, flag) -> None:
    code, out, _ = run(capsys, *argv, "--gpu", "H200", "--max-model-len", "4096", "--json")
    data = json.loads(out)
    assert code == 0 and data["served_model"] == served and data["vllm_quantization"] == flag
    assert (data["serving_note"] is None) == (served is not None)


def test_text_output_ends_with_the_serve_command(capsys) -> None:
    code, out, _ = run(
        capsys, "--model", "llama3.1-8b", "--gpu", "L4", "--quantization", "fp8", "--max-model-len", "4096"
    )
    last = out.splitlines()[-1]
    assert (
        code == 0
        and last
        == "serve: vllm serve meta-llama/Llama-3.1-8B-Instruct --quantization fp8 (quantized at load time)"
    )


def test_enforce_eager_flag_charges_no_graph_memory(capsys) -> None:
    base = ("--model", "llama3.1-8b", "--gpu", "L4", "--max-model-len", "8192", "--json")
    code, out, _ = run(capsys, *base)
    graphs = json.loads(out)
    code_eager, out_eager, _ = run(capsys, *base, "--enforce-eager")
    eager = json.loads(out_eager)
    assert code == code_eager == 0 and eager["cudagraph_gib"] == 0 < graphs["cudagraph_gib"]
    assert eager["kv_cache_gib"] == pytest.approx(graphs["kv_cache_gib"] + graphs["cudagraph_gib"], abs=1e-3)
