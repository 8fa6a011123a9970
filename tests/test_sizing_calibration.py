"""Calibration files: logged startup figures replace the prediction for exactly their settings (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_advisor.cli.main import main
from llm_advisor.planner import Workload, make_plan
from sizing import SizingError, estimate_memory, load_calibration, recommend_utilization, sizing_input
from sizing.calibration import COLUMNS, CalibrationRow, append_calibration
from tests.conftest import L40S

LOGS = Path(__file__).parent / "fixtures" / "vllm_logs"
QWEN_LOG = LOGS / "v1_qwen3_06b_h100.log"


def _row(**over) -> CalibrationRow:
    fields = dict(
        model="meta-llama/Llama-3.2-1B-Instruct",
        gpu="L40S",
        tensor_parallel_size=1,
        pipeline_parallel_size=1,
        vllm_version="0.34",
        quantization="none",
        kv_cache_dtype="auto",
        max_num_batched_tokens=2048,
        max_num_seqs=64,
        gpu_memory_utilization=0.9,
        total_gpu_memory_gib=44.39,
        weights_gib=2.40,
        non_kv_gib=6.5,
        kv_cache_tokens=None,
        source="my-cluster.log",
    )
    fields.update(over)
    return CalibrationRow(**fields)


def test_check_log_writes_a_row_that_reproduces_the_logged_kv(tmp_path, capsys) -> None:
    path = tmp_path / "calib.csv"
    assert main(["check-log", str(QWEN_LOG), "--gpu", "H100", "--write-calibration", str(path)]) == 0
    assert "calibration row written" in capsys.readouterr().out
    (row,) = load_calibration(path).rows
    assert (row.model, row.gpu, row.vllm_version, row.max_num_batched_tokens, row.max_num_seqs) == (
        "Qwen/Qwen3-0.6B",
        "H100",
        "0.11",
        8192,
        1024,
    )
    assert row.weights_gib == 1.1201 and row.kv_cache_tokens == 603344
    inp = sizing_input(model="Qwen/Qwen3-0.6B", gpu="H100", max_model_len=16384, vllm_version="0.11")
    plain = estimate_memory(inp)
    calibrated = estimate_memory(inp.model_copy(update={"calibration": load_calibration(path)}))
    # util x total - logged non-KV = the logged 64.45 GiB (the log printed no total: the table's is used)
    assert calibrated.kv_cache_gib == pytest.approx(64.45, abs=1e-3)
    assert calibrated.weights_gib == 1.1201 and plain.weights_gib != 1.1201
    assert calibrated.calibration and "calib.csv" in calibrated.calibration
    assert calibrated.notes[0].startswith("calibrated: weights 1.12 GiB")
    # other settings (fewer sequences: a smaller sampler peak) are not the logged ones: the model applies
    other = estimate_memory(
        inp.model_copy(update={"calibration": load_calibration(path), "max_num_seqs": 64})
    )
    assert other.calibration is None and other.weights_gib == plain.weights_gib
    # writing the same log again replaces its row instead of adding one
    assert main(["check-log", str(QWEN_LOG), "--gpu", "H100", "--write-calibration", str(path)]) == 0
    assert len(load_calibration(path).rows) == 1


def test_utilization_advice_uses_the_logged_non_kv_memory(tmp_path) -> None:
    path = tmp_path / "c.csv"
    append_calibration(path, _row(non_kv_gib=10.0))
    inp = sizing_input(
        model="llama-3.2-1b", gpu="L40S", max_model_len=8192, max_num_seqs=64, max_num_batched_tokens=2048
    )
    cal = inp.model_copy(update={"calibration": load_calibration(path)})
    advice = recommend_utilization(cal, 4)
    est = advice.estimate
    total = est.total_gpu_memory_gib
    assert est.kv_cache_gib == pytest.approx(advice.recommended_gpu_memory_utilization * total - 10.0)
    assert (
        advice.recommended_gpu_memory_utilization
        > recommend_utilization(inp, 4).recommended_gpu_memory_utilization
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model,gpu\nx,y\n", "missing column(s) tensor_parallel_size"),
        (
            ",".join(COLUMNS) + "\nm,L4,0,1,0.33,none,auto,2048,256,0.9,,1,2,,s\n",
            "line 2: tensor_parallel_size",
        ),
        (
            ",".join(COLUMNS) + "\nm,L4,1,1,0.99,none,auto,2048,256,0.9,,1,2,,s\n",
            "line 2: vLLM version '0.99'",
        ),
        (",".join(COLUMNS) + "\nm,L4,1,1,0.33,zip,auto,2048,256,0.9,,1,2,,s\n", "line 2: quantization"),
        (
            ",".join(COLUMNS)
            + "\nm,L4,1,1,0.33,none,auto,2048,256,0.9,,1,2,,a"
            + "\nm,L4,1,1,0.33.1,none,auto,2048,256,0.9,,1,3,,b\n",
            "line 3: same settings as line 2",
        ),
    ],
)
def test_bad_calibration_files_name_the_line_and_column(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(SizingError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_calibration(path)


def test_plan_runs_with_the_logged_settings_and_says_so(tmp_path) -> None:
    path = tmp_path / "c.csv"
    append_calibration(path, _row())
    w = Workload(model="llama-3.2-1b", concurrency=8, max_model_len=8192, calibration_file=str(path))
    plan = make_plan(w, L40S)
    assert (plan.vllm.max_num_seqs, plan.vllm.max_num_batched_tokens) == (64, 2048)
    assert plan.memory.weights_gib == 2.40
    assert any(w.startswith("memory calibrated from your log") for w in plan.warnings)
    assert not any("no calibration logs of this release" in w for w in plan.warnings)
    uncalibrated = make_plan(w.model_copy(update={"calibration_file": None}), L40S)
    assert uncalibrated.memory.weights_gib != 2.40
    assert any("no calibration logs of this release" in w for w in uncalibrated.warnings)


def test_plan_refuses_an_unreadable_calibration_file_naming_the_key(tmp_path) -> None:
    w = Workload(model="llama-3.2-1b", calibration_file=str(tmp_path / "missing.csv"))
    with pytest.raises(
        ValueError, match=r"^calibration_file: calibration file .*missing.csv: cannot read it"
    ):
        make_plan(w, L40S)


def test_check_log_json_reports_the_written_row(tmp_path, capsys) -> None:
    path = tmp_path / "c.csv"
    args = ["check-log", str(QWEN_LOG), "--gpu", "H100", "--json", "--write-calibration", str(path)]
    assert main(args) == 0
    assert (
        "Qwen/Qwen3-0.6B on H100 TP1 PP1 vLLM 0.11"
        in json.loads(capsys.readouterr().out)["calibration_written"]
    )


def test_a_row_logged_without_cuda_graphs_only_calibrates_eager_settings(tmp_path) -> None:
    path = tmp_path / "c.csv"
    append_calibration(path, _row(non_kv_gib=10.0, enforce_eager=True))
    cal = load_calibration(path)
    assert cal.rows[0].enforce_eager and "eager" in cal.rows[0].describe()
    inp = sizing_input(
        model="llama-3.2-1b", gpu="L40S", max_model_len=8192, max_num_seqs=64, max_num_batched_tokens=2048
    ).model_copy(update={"calibration": cal, "gpu_memory_utilization": 0.9})
    assert estimate_memory(inp).calibration is None  # graphs captured: the eager log does not apply
    eager = estimate_memory(inp.model_copy(update={"enforce_eager": True}))
    assert eager.calibration and eager.kv_cache_gib == pytest.approx(0.9 * eager.total_gpu_memory_gib - 10.0)


def test_a_034_log_round_trips_through_the_capped_budget(tmp_path, capsys) -> None:
    # vLLM 0.34 with gpu_memory_utilization unset (1.0): the extensible cache's cap binds, so the row keeps
    # the cap's gap and the calibrated estimate gives back the logged KV size.
    text = (LOGS / "v021_graph_estimate_l4.log").read_text()
    text = text.replace("version 0.21.0", "version 0.34.0").replace(", 'gpu_memory_utilization': 0.92", "")
    text = "\n".join(line for line in text.splitlines() if "equivalent to" not in line) + "\n"
    text += (LOGS / "v034_memory_after_warmup.log").read_text()
    log = tmp_path / "v034.log"
    log.write_text(text)
    path = tmp_path / "c.csv"
    assert main(["check-log", str(log), "--gpu", "L4", "--write-calibration", str(path)]) == 0
    capsys.readouterr()
    (row,) = load_calibration(path).rows
    assert row.vllm_version == "0.34" and row.gpu_memory_utilization == 1.0
    inp = sizing_input(
        model="meta-llama/Llama-3.1-8B-Instruct", gpu="L4", max_model_len=8192, max_num_seqs=64
    )
    calibrated = estimate_memory(inp.model_copy(update={"calibration": load_calibration(path)}))
    assert calibrated.calibration is not None
    # the table's L4 total (22.07) is 0.02 GiB above the logged 22.05
    assert calibrated.kv_cache_gib == pytest.approx(4.24, abs=0.03)
