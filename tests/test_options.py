"""Each option is declared once (planner.models.Workload / PlanOptions, infra.config.DeployOptions): the
drift test holds the CLI flags, StackConfig and Pulumi.yaml to those fields, and errors and planner
messages name options in the caller's own spelling."""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from llm_advisor.cli.main import build_parser, main
from llm_advisor.infra.config import (
    STACK_OPTION_MODELS,
    DeployOptions,
    StackConfig,
    pulumi_config_schema,
    pulumi_template,
)
from llm_advisor.planner.models import PlanOptions, Workload
from llm_advisor.planner.options import cli_flag, literal_choices, opt, stack_key, use_spelling

ROOT = Path(__file__).resolve().parent.parent


def pulumi_yaml_drift(declared: dict[str, Any]) -> list[str]:
    """Every key whose type, default or description in Pulumi.yaml differs from the derived schema."""
    derived = pulumi_config_schema()
    drift = [f"{k}: not declared by the models" for k in declared if k not in derived]
    drift += [f"{k}: missing from Pulumi.yaml" for k in derived if k not in declared]
    for key in set(declared) & set(derived):
        for part in ("type", "items", "default", "description", "secret"):
            if declared[key].get(part) != derived[key].get(part):
                drift.append(f"{key}.{part}: {declared[key].get(part)!r} != {derived[key].get(part)!r}")
    return drift


def _declared() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]


def test_pulumi_yaml_is_the_derived_config() -> None:
    assert pulumi_yaml_drift(_declared()) == [], "regenerate with `python -m llm_advisor.infra.config`"


def test_every_declared_default_is_of_its_keys_type() -> None:
    # Pulumi refuses the whole project otherwise: "The default value specified for configuration key ...
    # is not of the expected type" (sdk/go/common/workspace/project.go, Project.Validate)
    python_type = {"string": str, "integer": int, "boolean": bool, "array": list}
    for key, entry in _declared().items():
        if "default" in entry:
            default = entry["default"]
            assert isinstance(default, python_type[entry["type"]]) and not (
                entry["type"] == "integer" and isinstance(default, bool)), (key, entry["type"], default)


def test_pulumi_yaml_is_a_project_template_that_builds_its_own_venv() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["template"] == pulumi_template(), "regenerate with `python -m llm_advisor.infra.config`"
    # every prompted project key is a declared one, with its own description
    assert set(project["template"]["config"]) - {"aws:region"} <= set(project["config"])
    assert project["runtime"]["options"]["virtualenv"] == "venv"


@pytest.mark.parametrize(("key", "part", "value"), [
    ("maxModelLen", "default", 4096),
    ("maxModelLen", "type", "string"),
    ("capacity", "description", "Capacity."),
    ("concurrency", None, None),
])
def test_the_drift_check_catches_a_changed_or_missing_key(key: str, part: str | None, value: Any) -> None:
    declared = copy.deepcopy(_declared())
    if part is None:
        del declared[key]
    else:
        declared[key][part] = value
    assert any(d.startswith(key) for d in pulumi_yaml_drift(declared))


def _sub_parser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def _flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings if s.startswith("--")}


@pytest.mark.parametrize(("command", "models", "own"), [
    ("plan", (Workload, PlanOptions), {"--help", "--json"}),
    ("render", (Workload, PlanOptions),
     {"--help", "--out", "--force", "--hf-token-secret-id", "--namespace", "--image", "--efa-image"}),
])
def test_cli_flags_are_the_models_fields(command: str, models: tuple, own: set[str]) -> None:
    flags = _flags(_sub_parser(command))
    expected = {cli_flag(n, f): (n, f) for m in models for n, f in m.model_fields.items() if cli_flag(n, f)}
    assert set(flags) - {"-h"} == set(expected) | own
    for flag, (name, info) in expected.items():
        action = flags[flag]
        assert action.dest == name, flag
        assert action.default is None, f"{flag}: the model's default applies, not argparse's"
        assert action.required == info.is_required(), flag
        assert (info.description or "") in action.help.replace("%%", "%"), flag
        choices = literal_choices(info.annotation)
        assert tuple(action.choices or ()) == choices, flag


def test_render_deploy_flags_come_from_deploy_options() -> None:
    flags = _flags(_sub_parser("render"))
    for name in ("namespace", "vllm_image"):
        info = DeployOptions.model_fields[name]
        action = flags[cli_flag(name, info)]
        assert action.dest == name and action.default == info.default and info.description in action.help


def test_stack_config_fields_are_the_models_fields_with_their_defaults_and_bounds() -> None:
    expected = {n: f for m in STACK_OPTION_MODELS for n, f in m.model_fields.items() if stack_key(n, f)}
    assert set(StackConfig.model_fields) == set(expected)
    for name, info in StackConfig.model_fields.items():
        source = expected[name]
        assert info.alias == stack_key(name, source)
        assert info.annotation == source.annotation and info.default == source.default, name
        assert info.metadata == source.metadata and info.description == source.description, name
    assert "max_instances_per_replica" not in StackConfig.model_fields  # derived from target


def test_cli_errors_name_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--model", "llama-3.1-8b", "--max-model-len", "4", "--pricing", "snapshot"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --max-model-len: ") and "maxModelLen" not in err


def test_stack_errors_name_the_key() -> None:
    with pytest.raises(ValidationError) as caught:
        StackConfig.model_validate({"model": "m", "clusterName": "c", "subnetIds": ["s"], "maxModelLen": 4,
                                    "quantization": "fp4"})
    text = str(caught.value)
    assert "maxModelLen" in text and "quantization" in text and "--" not in text


def test_planner_messages_follow_the_callers_spelling() -> None:
    assert opt("max_model_len", 4096) == "--max-model-len 4096"
    assert opt("strict_dtype", True) == "--strict-dtype"
    assert opt("target_output_tokens_per_s") == "--target-tokens-per-s"
    with use_spelling("stack"):
        assert opt("max_model_len", 4096) == "maxModelLen=4096"
        assert opt("strict_dtype", True) == "strictDtype=true"
        assert opt("previous_instance_type") == "currentInstanceType"
    assert opt("quantization", "fp8") == "--quantization fp8"  # the spelling is restored on exit


def test_an_infeasible_stack_workload_is_told_stack_keys() -> None:
    from llm_advisor.planner import PlanningError, make_plan
    from pricing import load_priced_catalog

    workload = Workload(model="llama-3.1-405b", max_model_len=131072, concurrency=64,
                        allowed_families=("g5",), regions=("us-east-1",))
    catalog = load_priced_catalog(workload.regions, pricing="snapshot")
    with use_spelling("stack"), pytest.raises(PlanningError) as caught:
        make_plan(workload, catalog)
    text = str(caught.value)
    assert "quantization=fp8" in text and "maxModelLen down to" in text and "--" not in text
    with pytest.raises(PlanningError) as caught:
        make_plan(workload, catalog)
    assert "--quantization fp8" in str(caught.value) and "--max-model-len" in str(caught.value)


def test_only_the_command_run_derives_its_flags() -> None:
    """`--help` and the other commands do not import the option models (pydantic schemas, sizing)."""
    import subprocess
    import sys

    probe = ("import sys; from llm_advisor.cli.main import build_parser; build_parser({argv}); "
             "print('llm_advisor.planner.models' in sys.modules, 'llm_advisor.infra.config' in sys.modules)")
    def loaded(argv: list[str]) -> str:
        return subprocess.run([sys.executable, "-c", probe.format(argv=argv)], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.split()
    assert loaded(["--help"]) == ["False", "False"]
    assert loaded(["prices", "--json"]) == ["False", "False"]
    assert loaded(["plan", "--model", "m"]) == ["True", "False"]
    assert loaded(["render"]) == ["True", "True"]


def test_a_rule_over_several_options_is_one_line_in_the_callers_spelling(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # a model-level validator (no single field): no pydantic "Workload: Value error," prefix, no dump of
    # every input, and the options named as the CLI spells them
    assert main(["plan", "--model", "llama-3.1-8b", "--mean-input-tokens", "5000", "--max-model-len", "4096",
                 "--pricing", "snapshot"]) == 2
    err = capsys.readouterr().err.splitlines()[0]
    assert err.startswith(
        "error: --mean-input-tokens + --mean-output-tokens (5000 + 1024) exceed --max-model-len")
    assert "Value error" not in err and "Workload" not in err and "(got {" not in err
