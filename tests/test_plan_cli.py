"""`python -m advisor plan` on the bundled snapshot: report, --json field names, errors with exit 2."""

from __future__ import annotations

import argparse
import json

import pytest
from pydantic import ValidationError

from llm_advisor.cli.main import main
from llm_advisor.cli.plan_cmd import add_workload_arguments, memory_bar, workload_from_args
from llm_advisor.planner.models import Plan

BASE = [
    "plan",
    "--model",
    "meta-llama/Meta-Llama-3.1-8B",
    "--concurrency",
    "20",
    "--max-model-len",
    "2048",
    "--pricing",
    "snapshot",
]


def test_json_prints_the_plan_with_exactly_its_field_names(capsys):
    assert main([*BASE, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == list(Plan.model_fields) and data["schema_version"] == 2
    for part in ("served", "vllm", "placement", "cost", "latency"):  # stored fields, then derived ones
        model = Plan.model_fields[part].annotation
        assert list(data[part]) == [*model.model_fields, *model.model_computed_fields]
    plan = Plan.model_validate(data)  # derived fields are accepted back when they agree
    assert plan.model_dump(mode="json") == data
    contradicting = {**data, "placement": {**data["placement"], "needs_efa": True}}
    with pytest.raises(ValidationError, match="needs_efa"):
        Plan.model_validate(contradicting)
    assert plan.placement.region == "us-east-1" and plan.cost.price_source == "snapshot"
    # 20 x 2048 does not fit one 24 GB A10G/L4 (see tests/test_planner.py): never 1 x g5/g6 single GPU
    assert not (plan.placement.instance_count == 1 and plan.memory.total_gpu_memory_gib < 23)


def test_readable_report_has_plan_memory_bar_and_alternatives(capsys):
    # --strict-dtype: batch work ranked per token would otherwise take a T4 in fp16
    assert main([*BASE, "--region", "us-east-1", "--region", "us-west-2", "--workload", "batch",
                 "--strict-dtype"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Plan for meta-llama/Meta-Llama-3.1-8B (bf16 weights, KV auto)")
    assert "Per-GPU memory:" in out and "W weights" in out and "K KV cache" in out
    assert "Alternatives:" in out and "why not" in out
    assert len([line for line in out.splitlines() if line.startswith("   ") and "$" in line]) >= 5
    assert "Why:" in out
    assert "snapshot" in err  # the catalog's age warning


def test_memory_bar_marks_the_utilization_budget(capsys):
    assert main([*BASE, "--json"]) == 0
    plan = Plan.model_validate_json(capsys.readouterr().out)
    bar = memory_bar(plan, width=40)[0]
    inside = bar[bar.index("[") + 1 : bar.index("]")]
    assert len(inside) == 41 and inside.index("|") == round(plan.vllm.gpu_memory_utilization * 40)
    assert inside.startswith("W")


def test_workload_flags_map_to_the_workload_model():
    import argparse

    from llm_advisor.cli.plan_cmd import add_workload_arguments

    parser = argparse.ArgumentParser()
    add_workload_arguments(parser)
    args = parser.parse_args(
        [
            "--model",
            "m",
            "--concurrency",
            "3",
            "--max-model-len",
            "4096",
            "--quantization",
            "awq",
            "--kv-cache-dtype",
            "fp8",
            "--workload",
            "batch",
            "--capacity",
            "spot",
            "--region",
            "eu-west-1",
            "--region",
            "eu-west-1",
            "--max-usd-per-hour",
            "9.5",
            "--target-tokens-per-s",
            "100",
            "--headroom",
            "0.1",
            "--allow-family",
            "g6e",
        ]
    )
    w = workload_from_args(args)
    assert (w.quantization, w.kv_cache_dtype, w.workload_type, w.capacity) == ("awq", "fp8", "batch", "spot")
    assert w.regions == ("eu-west-1",) and w.max_usd_per_hour == 9.5 and w.target_output_tokens_per_s == 100
    assert w.headroom == 0.1 and w.allowed_families == ("g6e",)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([*BASE[:2], "no-such-model", *BASE[3:]], "unknown model 'no-such-model'"),
        ([*BASE, "--max-usd-per-hour", "0.1"], "binding constraint: the budget"),
        ([*BASE[:4], "0", *BASE[5:]], "concurrency"),
        # an unsupported release: one line naming the modelled range, not a search failure (review #26)
        ([*BASE, "--vllm-version", "0.1"], "--vllm-version: vLLM version '0.1' is outside"),
        # a deployed type the catalog does not have: named with the nearest types (review #27)
        ([*BASE, "--previous-instance-type", "p9.xlarge"], "'p9.xlarge' is not in the priced catalog"),
        # an unlisted served repo planned fp8: its format must be stated (review 2 #1)
        ([*BASE, "--quantization", "fp8", "--served-model", "acme/x"], "--served-model-quantization none"),
    ],
)
def test_errors_exit_2_with_one_message(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err
    assert len(err.strip().splitlines()) == 1 or "Nearest options" in err


def test_served_model_flag_and_report_line(capsys):
    import argparse

    from llm_advisor.cli.plan_cmd import add_workload_arguments

    parser = argparse.ArgumentParser()
    add_workload_arguments(parser)
    base = ["--model", "m", "--concurrency", "1", "--max-model-len", "1024"]
    assert workload_from_args(parser.parse_args(base)).served_model is None
    args = parser.parse_args([*base, "--served-model", "acme/M-AWQ"])
    assert workload_from_args(args).served_model == "acme/M-AWQ"
    # the report says which repo vLLM loads and that vLLM quantizes it at load time
    assert main([*BASE, "--quantization", "fp8"]) == 0
    out = capsys.readouterr().out
    served = "  serves meta-llama/Meta-Llama-3.1-8B (bf16 checkpoint, quantized to fp8 by vLLM at load time)"
    assert served in out


def test_warnings_come_whole_and_before_the_report_on_a_shared_stream(monkeypatch):
    # Both streams into one buffer (like `2>&1`): every warning line is whole and precedes the report.
    import io
    import sys

    shared = io.StringIO()
    monkeypatch.setattr(sys, "stdout", shared)
    monkeypatch.setattr(sys, "stderr", shared)
    assert main(BASE) == 0
    lines = shared.getvalue().splitlines()
    first_report = next(i for i, line in enumerate(lines) if line.startswith("Plan for "))
    warnings = [i for i, line in enumerate(lines) if line.startswith("warning: ")]
    assert warnings and max(warnings) < first_report
    assert all("warning:" not in line for line in lines[first_report:])
    assert lines[warnings[0]].startswith("warning: us-east-1: using the bundled price snapshot")


def test_report_and_json_say_which_latency_bound_applied(capsys):
    assert main(BASE) == 0
    assert "latency bound: 100 ms per output token (realtime default; planned at predicted +11%)" in (
        capsys.readouterr().out
    )
    assert main([*BASE, "--max-time-per-output-token-ms", "250", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["latency"] == {
        "max_time_per_output_token_ms": 250,
        "latency_bound_source": "workload",
        "max_time_to_first_token_ms": None,  # the default prompt is the capacity worst case: no default
        "ttft_bound_source": None,
        "tpot_uncertainty": 0.11,
        "ttft_uncertainty": 0.0,
    }
    assert main([*BASE, "--mean-input-tokens", "500", "--mean-output-tokens", "200", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["latency"]["max_time_to_first_token_ms"], data["latency"]["ttft_bound_source"]) == (
        2000,
        "realtime default",
    )
    assert "ms to the first token (the realtime default, MLPerf" in data["explanation"]
    assert main([*BASE, "--workload", "batch"]) == 0
    assert "latency bound: none (batch)" in capsys.readouterr().out


def test_strict_dtype_flag():
    import argparse

    from llm_advisor.cli.plan_cmd import add_workload_arguments

    parser = argparse.ArgumentParser()
    add_workload_arguments(parser)
    base = ["--model", "m", "--concurrency", "1", "--max-model-len", "1024"]
    assert workload_from_args(parser.parse_args(base)).strict_dtype is False
    assert workload_from_args(parser.parse_args([*base, "--strict-dtype"])).strict_dtype is True


# --max-instances-per-replica and --served-model-quantization (planner second review #5)
def test_cli_flags_reach_the_workload():
    parser = argparse.ArgumentParser()
    add_workload_arguments(parser)
    base = ["--model", "m", "--concurrency", "1", "--max-model-len", "1024"]
    w = workload_from_args(parser.parse_args(base))
    assert (w.max_instances_per_replica, w.served_model_quantization) == (None, None)
    args = parser.parse_args(
        [*base, "--max-instances-per-replica", "1", "--served-model-quantization", "fp8"]
    )
    w = workload_from_args(args)
    assert (w.max_instances_per_replica, w.served_model_quantization) == (1, "fp8")
