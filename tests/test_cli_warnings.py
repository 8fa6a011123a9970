"""Warnings reach every CLI reader (plan report, --json `warnings`, render, preview) and the Pulumi log
through log_plan_warnings (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_advisor.cli.main import main
from llm_advisor.planner.warnings import log_plan_warnings, unsaid_warnings
from tests.conftest import single_instance_plan

# T4 has no bf16: the planner plans fp16 and warns about overflow risk (a planner warning, not a catalog one)
T4 = ["--model", "Qwen/Qwen3-8B", "--concurrency", "2", "--max-model-len", "2048", "--allow-family", "g4dn",
      "--pricing", "snapshot"]


def planner_warning(warnings: list[str]) -> str:
    found = [w for w in warnings if "fp16" in w]
    assert found, warnings
    return found[0]


def test_plan_text_and_json_carry_the_planner_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", *T4, "--json"]) == 0
    warning = planner_warning(json.loads(capsys.readouterr().out)["warnings"])
    assert main(["plan", *T4]) == 0
    assert f"warning: {warning}" in capsys.readouterr().err


def test_render_prints_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", *T4, "--out", str(tmp_path / "out")]) == 0
    planner_warning([line.removeprefix("warning: ") for line in capsys.readouterr().err.splitlines()])


def test_preview_prints_the_planners_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "Pulumi.t4.yaml"
    stack.write_text("config:\n  llm-advisor:model: Qwen/Qwen3-8B\n  llm-advisor:concurrency: 2\n"
                     "  llm-advisor:maxModelLen: 2048\n  llm-advisor:allowedFamilies: [g4dn]\n"
                     "  llm-advisor:pricing: snapshot\n  llm-advisor:target: ec2\n"
                     "  llm-advisor:subnetIds: [subnet-a, subnet-b]\n  aws:region: us-east-1\n")
    assert main(["preview", "--config", str(stack)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert len(lines) == len(set(lines)) and any("fp16" in line for line in lines)  # each once


def test_preview_names_keys_under_another_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text("config:\n  myproj:model: Qwen/Qwen3-8B\n  aws:region: us-east-1\n")
    assert main(["preview", "--config", str(stack)]) == 2
    err = capsys.readouterr().err
    assert "keys myproj:model are under project 'myproj'" in err and "llm-advisor:model" in err


def test_log_plan_warnings_says_each_once_and_skips_those_already_said() -> None:
    plan = single_instance_plan().model_copy(update={"warnings": ("a", "b", "a", "c")})
    said: list[str] = []
    assert log_plan_warnings(plan, said.append, already=("b",)) == ["a", "c"] == said
    assert unsaid_warnings(plan) == ["a", "b", "c"]
