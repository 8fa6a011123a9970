"""End to end: __main__.py (config -> plan -> resources) under Pulumi mocks, and the CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from llm_advisor.infra.preview import PROJECT, load_stack_file
from llm_advisor.infra.tree import format_run
from llm_advisor.program import run_main_program
from tests.conftest import EXAMPLE, example_config, single_instance_plan, two_node_plan

ROOT = Path(__file__).resolve().parent.parent
SENTINEL = "hf_SENTINELmainprogram0123456789"



def test_example_stack_previews_with_the_real_planner() -> None:
    config = example_config(hfToken=SENTINEL)
    run = run_main_program(config, secret_keys=(f"{PROJECT}:hfToken",))
    plan = run.outputs["plan"]
    assert plan["served"]["model"] == "Qwen/Qwen3-8B" and plan["placement"]["region"] == "us-east-1"
    assert run.outputs["price_source"] == "snapshot"
    groups = run.of_type("aws:eks/nodeGroup:NodeGroup")
    # capacity mixed: the example demonstrates an on-demand base plus a spot burst node group.
    assert plan["placement"]["on_demand_instances"] >= 1 and plan["placement"]["spot_instances"] >= 1
    assert sorted(g.inputs["capacityType"] for g in groups) == ["ON_DEMAND", "SPOT"]
    assert (
        groups
        and sum(g.inputs["scalingConfig"]["desiredSize"] for g in groups)
        == plan["placement"]["instance_count"]
    )
    assert {t for g in groups for t in g.inputs["instanceTypes"]} >= {plan["placement"]["instance_type"]}
    text = format_run(run, show_config=True)
    assert SENTINEL not in text and SENTINEL not in json.dumps(run.outputs)
    assert f"tensor-parallel-size: {plan['vllm']['tensor_parallel_size']}" in run.outputs["vllm_config"]


def test_current_instance_type_is_kept_when_the_saving_is_under_the_threshold() -> None:
    best = run_main_program(example_config()).outputs["plan"]
    # The cheapest other instance type the planner found feasible, and what switching away would save.
    other = min((a for a in best["alternatives"] if a["instance_type"] != best["placement"]["instance_type"]),
                key=lambda a: a["usd_per_hour"])
    saving = (other["usd_per_hour"] - best["cost"]["usd_per_hour"]) / other["usd_per_hour"]
    assert saving > 0
    kept = run_main_program(example_config(currentInstanceType=other["instance_type"],
                                            churnThreshold=str(round(saving + 0.01, 4))))
    assert kept.outputs["instance_type"] == other["instance_type"]
    switched = run_main_program(example_config(currentInstanceType=other["instance_type"],
                                                churnThreshold=str(round(max(saving - 0.01, 0), 4))))
    assert switched.outputs["instance_type"] == best["placement"]["instance_type"]


def test_ec2_target_previews_with_the_real_planner() -> None:
    run = run_main_program(example_config(target="ec2"))
    (asg,) = run.of_type("aws:autoscaling/group:Group")
    assert asg.inputs["capacityRebalance"] is True


def test_invalid_config_fails_before_any_resource() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="maxModelLen"):
        run_main_program(example_config(maxModelLen="long"))
    with pytest.raises(ValueError, match="maxModelLength"):
        run_main_program({**example_config(), f"{PROJECT}:maxModelLength": "8192"})


def test_secure_values_in_a_stack_file_stay_placeholders(tmp_path: Path) -> None:
    stack = yaml.safe_load(EXAMPLE.read_text())
    stack["config"][f"{PROJECT}:hfToken"] = {"secure": "v1:AAAAencrypted"}
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(stack))
    config, secrets = load_stack_file(path)
    assert config[f"{PROJECT}:hfToken"] == "[secret]" and secrets == (f"{PROJECT}:hfToken",)


def test_preview_command_prints_the_tree(capsys: pytest.CaptureFixture[str]) -> None:
    from llm_advisor.cli.main import build_parser

    argv = ["preview", "--config", str(EXAMPLE)]
    args = build_parser(argv).parse_args(argv)
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert "+ aws:eks/nodeGroup:NodeGroup" in out and '"httpTokens":"required"' in out
    assert "Plan: " in out and "price_source: snapshot" in out


def test_render_command_writes_the_files(tmp_path: Path) -> None:
    from llm_advisor.cli.render_cmd import write_bundle

    written = write_bundle(single_instance_plan(), tmp_path, hf_token_secret_id="llm-advisor/hf")
    assert sorted(p.name for p in written) == [
        "APPLY.txt", "cloud-init.yaml", "hf-token-secret.yaml", "kubernetes.yaml", "vllm-config.yaml"]
    written = write_bundle(two_node_plan(), tmp_path / "lws")
    # No token id: the placeholder Secret and how to fill it are still written (gated models).
    assert (tmp_path / "lws" / "hf-token-secret.yaml").exists()
    assert "read -rs HF_TOKEN" in (tmp_path / "lws" / "APPLY.txt").read_text()
    assert "kind: LeaderWorkerSet" in (tmp_path / "lws" / "kubernetes.yaml").read_text()
    assert not (tmp_path / "lws" / "cloud-init.yaml").exists()


def test_render_command_end_to_end(tmp_path: Path) -> None:
    from llm_advisor.cli.main import main

    status = main(["render", "--model", "Qwen/Qwen3-8B", "--concurrency", "8", "--max-model-len", "4096",
                   "--pricing", "snapshot", "--out", str(tmp_path)])
    assert status == 0
    config = yaml.safe_load((tmp_path / "vllm-config.yaml").read_text())
    assert config["max-model-len"] == 4096


def test_main_program_validates_config_before_declaring_anything() -> None:
    # Run __main__.py itself (without run_main_program's own pre-check): it must fail on the key
    # before the provider, the secret or any node group is registered.
    import runpy

    import pulumi

    from llm_advisor.infra.preview import RecordedResource, run_program

    log: list[RecordedResource] = []
    config = {**example_config(clusterName=""), f"{PROJECT}:hfToken": SENTINEL}
    with pytest.raises(pulumi.RunError, match="clusterName") as caught:
        run_program(lambda: runpy.run_path(str(ROOT / "__main__.py")) and None, config, log=log)
    assert log == []
    # One line, the key as the stack spells it and the fix; Pulumi's language host prints str(RunError) only.
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{PROJECT} config: clusterName: required")
    assert "pulumi config set clusterName" in message and SENTINEL not in message


def _run_stack_program(**overrides: str):  # type: ignore[no-untyped-def]
    """llm_advisor.program.run itself under mocks (no pre-validation by run_main_program)."""
    from llm_advisor.infra.preview import RecordedResource, run_program
    from llm_advisor.program import run

    log: list[RecordedResource] = []
    return run_program(run, example_config(**overrides), log=log), log


@pytest.mark.parametrize(("overrides", "names"), [
    # A PlanningError (the model's own context limit), named as the stack spells it.
    ({"maxModelLen": "100000000"}, "maxModelLen"),
    # A value the config models refuse: its stack key, not the Python field name.
    ({"concurrency": "-3"}, "concurrency"),
    # A budget no layout meets (PlanningError naming the key and the nearest options).
    ({"maxUsdPerHour": "0.01"}, "maxUsdPerHour"),
])
def test_typed_errors_in_the_stack_program_are_one_pulumi_error_line(overrides: dict[str, str],
                                                                     names: str) -> None:
    import pulumi

    from llm_advisor.program import StackProgramError

    with pytest.raises(StackProgramError) as caught:
        _run_stack_program(**overrides)
    error = caught.value
    assert isinstance(error, pulumi.RunError) and isinstance(error, ValueError) and error.exit_code == 2
    message = str(error)
    assert message.startswith(f"{PROJECT}") and "\n" not in message and "Traceback" not in message
    assert names in message and "max_model_len" not in message
    assert error.__cause__ is None and error.__suppress_context__  # no chained traceback either


def test_aws_unavailable_keeps_its_exit_code_and_a_bug_keeps_its_traceback() -> None:
    from llm_advisor.program import StackProgramError, one_line, stack_errors
    from pricing.errors import AwsUnavailableError

    unreachable = "^llm-advisor: pricing live: us-east-1 unreachable$"
    with pytest.raises(StackProgramError, match=unreachable) as caught, stack_errors():
        raise AwsUnavailableError("pricing live: us-east-1 unreachable")
    assert caught.value.exit_code == 3
    # A planner message's lines (binding constraint, then nearest options) become one line, nothing lost.
    assert one_line("no layout serves X.\n  largest: p5\nNearest options:\n  - a: $1/h\n  - b\n") == (
        "no layout serves X.; largest: p5; Nearest options: a: $1/h; b")
    with pytest.raises(KeyError):  # not a typed error: a bug, left for Pulumi's traceback
        with stack_errors():
            raise KeyError("bug")


def test_preview_exit_status_is_unchanged_for_a_stack_program_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from llm_advisor.cli.main import main

    stack = yaml.safe_load(EXAMPLE.read_text())
    stack["config"][f"{PROJECT}:maxModelLen"] = 100000000
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(stack))
    assert main(["preview", "--config", str(path)]) == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith(f"error: {PROJECT}: ") and "maxModelLen" in first


def test_render_onto_an_unwritable_path_exits_2_with_one_line(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from llm_advisor.cli.main import main

    blocker = tmp_path / "file"
    blocker.write_text("")
    status = main(["render", "--model", "Qwen/Qwen3-8B", "--concurrency", "8", "--max-model-len", "4096",
                   "--pricing", "snapshot", "--out", str(blocker / "deploy")])
    err = capsys.readouterr().err
    first, *rest = err.splitlines()
    assert status == 2 and all(line.startswith("warning: ") for line in rest)  # plan warnings, after it
    assert first.startswith(f"error: --out {blocker / 'deploy'}: {blocker} is a file") and "writable" in first


def test_write_bundle_refuses_a_plan_without_a_served_checkpoint_before_writing(tmp_path: Path) -> None:
    from llm_advisor.cli.render_cmd import write_bundle
    from templates.render import RenderError

    with pytest.raises(RenderError, match="--served-model"):
        write_bundle(single_instance_plan(served_model=None, quantization="awq"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_render_serves_the_checkpoint_named_with_served_model(tmp_path: Path, capsys) -> None:
    from llm_advisor.cli.main import main

    code = main(["render", "--model", "llama-3.1-70b", "--quantization", "awq", "--served-model",
                 "acme/Llama-70B-AWQ", "--concurrency", "4", "--max-model-len", "4096", "--pricing",
                 "snapshot", "--out", str(tmp_path)])
    assert code == 0
    config = (tmp_path / "vllm-config.yaml").read_text()
    assert 'served-model-name: "acme/Llama-70B-AWQ"' in config and "quantization" not in config


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("config: [a\n", "not valid YAML at line 2"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_preview_with_a_missing_or_malformed_config_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    from llm_advisor.cli.main import main

    path = tmp_path / "Pulumi.dev.yaml"
    if content is not None:
        path.write_text(content)
    assert main(["preview", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: --config {path}: {message}")


@pytest.mark.parametrize(("regions", "aws_region", "planned"), [
    (None, "us-west-2", "us-west-2"),  # `pulumi new` prompts for aws:region: the stack plans there
    ("[]", "us-west-2", "us-west-2"),  # Pulumi.yaml's declared default for regions is []
    (None, None, "us-east-1"),  # neither: the field's default
    ('["us-east-2"]', "us-west-2", "us-east-2"),  # an explicit regions wins
])
def test_regions_unset_follow_the_stacks_aws_region(regions: str | None, aws_region: str | None,
                                                    planned: str) -> None:
    config = {k: v for k, v in example_config().items() if k != f"{PROJECT}:regions"}
    if regions is not None:
        config[f"{PROJECT}:regions"] = regions
    if aws_region is not None:
        config["aws:region"] = aws_region
    assert run_main_program(config).outputs["plan"]["placement"]["region"] == planned
