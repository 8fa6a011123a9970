"""Plausibility (issue 11): real GPU variants only, served repos checked at plan time, a wasteful layout
reported, hints within the model's limits, an impossible tokens/s target blamed on itself."""

from __future__ import annotations

import pytest

from llm_advisor.cli.main import main

SNAP = ["--pricing", "snapshot"]


@pytest.mark.parametrize(("gpu", "gib"), [("A100", "40"), ("A100", "80"), ("V100", "32"), ("L4", "2.79")])
def test_size_takes_the_real_variants(gpu: str, gib: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["size", "--model", "qwen3-0.6b", "--gpu", gpu, "--gpu-memory-gib", gib,
                 "--max-model-len", "1024"]) in (0, 2)
    assert "no " + gpu not in capsys.readouterr().err


@pytest.mark.parametrize("gib", ["60", "0", "-5", "nan", "inf"])
def test_size_refuses_an_invented_variant(gib: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["size", "--model", "llama3.1-8b", "--gpu", "A100", "--gpu-memory-gib", gib]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--gpu-memory-gib" in err and err.count("\n") == 1


def test_custom_gpu_declares_an_unsold_variant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["size", "--model", "llama3.1-8b", "--gpu", "A100", "--gpu-memory-gib", "60", "--custom-gpu",
                 "--max-model-len", "8192"]) == 0
    assert "59.36 GiB (CUDA total)" in capsys.readouterr().out


def test_plan_checks_the_served_repo_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--model", "llama3.1-8b", "--served-model", "not a repo!!", *SNAP]) == 2
    assert "expected a Hugging Face repo id ORG/NAME" in capsys.readouterr().err


def test_a_wasteful_layout_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    # 8 ms per token for an 8B model needs TP=8 (the step-time model's per-step overhead rules out one GPU):
    # its 16 GiB of weights and KV fill a small share of 8 GPUs' memory
    assert main(["plan", "--model", "llama3.1-8b", "--max-time-per-output-token-ms", "8", *SNAP]) == 0
    err = capsys.readouterr().err
    assert "warning: wasteful layout: gpu_memory_utilization 0." in err
    assert "--max-time-per-output-token-ms 8 chose it" in err


def test_an_impossible_tokens_per_s_target_is_blamed_on_itself(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--model", "llama3.1-8b", "--target-tokens-per-s", "1e9", *SNAP]) == 2
    assert "binding constraint: the output tokens/s target" in capsys.readouterr().err


def test_context_hints_never_exceed_the_models_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--model", "llama3.1-8b", "--max-model-len", "2000000000", *SNAP]) == 2
    err = capsys.readouterr().err
    assert "--max-model-len 131072 (the model's limit)" in err
    assert "--max-model-len down to" not in err and "15625000" not in err
