"""check-log: parsing vLLM startup logs (sizing/startup_log.py) and the CLI command (exit 2 on bad logs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_advisor.cli.main import main
from sizing import SizingError
from sizing.startup_log import parse_startup_log

LOGS = Path(__file__).parent / "fixtures" / "vllm_logs"


def test_v1_log_settings_and_figures_are_read() -> None:
    log = parse_startup_log((LOGS / "v1_qwen3_06b_h100.log").read_text())
    assert (log.vllm_version, log.model, log.max_model_len) == ("0.11.0", "Qwen/Qwen3-0.6B", 16384)
    assert (log.weights_gib, log.kv_cache_gib, log.kv_cache_tokens) == (1.1201, 64.45, 603344)
    assert log.max_concurrency == 36.83 and log.cudagraph_gib == 0.27
    assert log.lines["kv_cache_gib"] == 5


def test_v0_profiling_block_is_read() -> None:
    log = parse_startup_log((LOGS / "v0_profile.log").read_text())
    assert log.vllm_version == "0.6.5" and log.total_gpu_memory_gib == 79.22
    assert log.gpu_memory_utilization == 0.9
    assert (log.non_torch_gib, log.activation_peak_gib, log.kv_cache_gib) == (1.79, 1.26, 53.29)
    assert log.gpu_blocks == 27284 and log.weights_gib == 14.9595


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "is empty"),
        ("hello world\n", "nothing a vLLM startup log prints"),
        ("llama_model_loader: loaded meta data\nllm_load_tensors: ctx\n", "llama.cpp log, not vLLM"),
        ("[2025-07-22 TP0] sglang.srt.server_args ...\n", "SGLang log, not vLLM"),
        (
            "INFO Initializing a V1 LLM engine (v0.11.0) with config: model='x'\n"
            "INFO Model loading took 1.12 GiB and 2 seconds\n",
            "truncated.*last step logged: model loading",
        ),
    ],
)
def test_logs_that_are_not_a_complete_vllm_startup_are_refused(text: str, message: str) -> None:
    with pytest.raises(SizingError, match=message):
        parse_startup_log(text)


def test_cli_prints_predicted_vs_logged_and_a_utilization(capsys) -> None:
    assert main(["check-log", str(LOGS / "v1_qwen3_06b_h100.log"), "--gpu", "H100", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    figures = {f["figure"]: f for f in out["figures"]}
    assert figures["kv_cache_gib"]["logged"] == 64.45
    assert abs(figures["kv_cache_gib"]["error_pct"]) < 2
    assert abs(figures["weights_gib"]["error_pct"]) < 2
    # one 16,384-token request at 28 layers x 8 KV heads x 128 x 2 x 2 B = 114,688 B/token (from the log's
    # own GiB/token) on top of the log's non-KV memory (0.9 x 79.19 - 64.45)
    per_token = 64.45 / 603344
    expected = (0.9 * 79.19 - 64.45 + 16384 * per_token) / 79.19
    assert out["gpu_memory_utilization_for_target"] == pytest.approx(expected, rel=1e-3)


def test_cli_infers_the_gpu_from_the_logged_total(capsys) -> None:
    assert main(["check-log", str(LOGS / "v0_profile.log")]) == 0
    out = capsys.readouterr().out
    assert "on H100" in out and "non_torch_gib" in out and "gpu_blocks" in out


def test_cli_without_gpu_or_model_asks_for_them_exit_2(capsys) -> None:
    assert main(["check-log", str(LOGS / "v1_qwen3_06b_h100.log")]) == 2
    assert "pass --gpu" in capsys.readouterr().err
    assert main(["check-log", str(LOGS / "lmcache_21348.log"), "--gpu", "H100"]) == 2
    assert "does not echo the model; pass --model" in capsys.readouterr().err


def test_cli_refuses_a_truncated_log_exit_2(capsys, tmp_path) -> None:
    path = tmp_path / "vllm.log"
    path.write_text("\n".join((LOGS / "v1_qwen3_06b_h100.log").read_text().splitlines()[:4]))
    assert main(["check-log", str(path), "--gpu", "H100"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "truncated" in err and err.count("\n") == 1


def test_020_plus_graph_estimate_lines_are_read() -> None:
    # Line shapes of the 0.21 wheel (gpu_model_runner.py::profile_cudagraph_memory, gpu_worker.py); the
    # figures are a hand-made L4 example, not a real run.
    log = parse_startup_log((LOGS / "v021_graph_estimate_l4.log").read_text())
    assert log.vllm_version == "0.21.0" and log.max_num_seqs == 64 and not log.enforce_eager
    assert log.cudagraph_estimate_gib == 0.31 and log.lines["cudagraph_estimate_gib"] == 5
    assert log.cudagraph_gib == 0.28 and log.activation_peak_gib == 0.35 and log.non_torch_gib == 0.12
    assert log.total_gpu_memory_gib == 22.05 and log.gpu_memory_utilization == 0.92


def test_027_consumed_memory_wording_is_read() -> None:
    text = (LOGS / "v021_graph_estimate_l4.log").read_text().replace(
        "14.99 GiB for weight, 0.35 GiB for peak activation, 0.12 GiB for non-torch memory, and",
        "15.11 GiB for consumed memory (weights + non-torch), 0.36 GiB for peak activation, and",
    )
    log = parse_startup_log(text)
    assert (log.activation_peak_gib, log.non_torch_gib, log.cudagraph_gib) == (0.36, None, 0.28)


def test_graph_estimate_from_the_equivalent_utilization_line() -> None:
    text = (LOGS / "v021_graph_estimate_l4.log").read_text().replace(
        "Estimated CUDA graph memory: 0.31 GiB total", "graph profiling done"
    )
    log = parse_startup_log(text)
    assert log.cudagraph_estimate_gib == pytest.approx((0.92 - 0.9062) * 22.05, abs=1e-4)


def test_enforce_eager_is_read_from_the_args() -> None:
    text = (LOGS / "v021_graph_estimate_l4.log").read_text().replace(
        "'max_num_seqs': 64}", "'max_num_seqs': 64, 'enforce_eager': True}"
    )
    assert parse_startup_log(text).enforce_eager


def test_034_warmup_measurement_replaces_the_reservation() -> None:
    # measure_kv_cache_blocks' INFO line in the shape of the 0.34.0 wheel (hand-made figures).
    warmup = (LOGS / "v034_memory_after_warmup.log").read_text()
    text = (LOGS / "v021_graph_estimate_l4.log").read_text() + warmup
    log = parse_startup_log(text)
    assert (log.gpu_blocks, log.kv_cache_gib) == (1356, 4.24)
    assert log.lines["kv_cache_gib"] == len(text.splitlines())
