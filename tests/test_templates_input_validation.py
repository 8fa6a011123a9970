"""Renderer inputs that reach scripts: secret IDs, served model and image validated before
rendering (naming the flag), and shell-quoted anyway.

From the renderer second review's finding #6."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from templates.common import (
    InvalidInputError,
    check_hf_token_secret_id,
    check_image,
    check_served_model,
)
from templates.models import RenderOptions
from templates.render import (
    hf_token_fill_command,
    render_bundle,
    render_cloud_init,
    render_vllm_config,
)
from tests.conftest import (
    options_for,
    single_instance_plan,
    write_files,
)

INJECTIONS = ("a b;rm -rf /", "org/repo $(id)", "x; curl x|sh", "x`id`", "x\nExecStartPre=/bin/sh", "x'y", "")


# --- 6: validation before rendering, quoting anyway ---------------------------------------------------

@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize(("check", "flag"), [
    (check_hf_token_secret_id, "--hf-token-secret-id"), (check_served_model, "--served-model"),
    (check_image, "--image"),
])
def test_injection_strings_are_refused_naming_the_flag_and_form(check, flag: str, value: str) -> None:
    with pytest.raises(InvalidInputError, match=flag) as caught:
        check(value)
    assert "expected" in str(caught.value) and "e.g." in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_valid_forms_are_accepted() -> None:
    assert check_hf_token_secret_id("arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf")
    assert check_hf_token_secret_id("llm-advisor/hf_token+v2=@.x")
    assert check_served_model("nvidia/Llama-3.1-70B-Instruct-FP8")
    for image in ("vllm/vllm-openai:v0.11.0", "localhost:5000/team/vllm-efa:0.11",
                  "public.ecr.aws/x/vllm@sha256:" + "a" * 64):
        assert check_image(image) == image


def test_render_options_and_the_plan_refuse_injection_strings() -> None:
    plan = single_instance_plan()
    with pytest.raises(ValueError, match="--hf-token-secret-id"):
        options_for(plan, hf_token_secret_id="a b;rm -rf /")
    with pytest.raises(ValueError, match="--image"):
        options_for(plan, image="x; curl x|sh")
    bad = single_instance_plan(served_model="org/repo $(id)")
    with pytest.raises(InvalidInputError, match="--served-model"):
        render_bundle(bad, options_for(single_instance_plan()))


@pytest.mark.parametrize(("flag", "value"), [
    ("--hf-token-secret-id", "a b;rm -rf /"), ("--served-model", "org/repo $(id)"),
    ("--image", "x; curl x|sh"),
])
def test_render_cli_exits_2_before_writing(tmp_path: Path, capsys, flag: str, value: str) -> None:
    from llm_advisor.cli.main import main

    out = tmp_path / "out"
    code = main(["render", "--model", "Qwen/Qwen3-8B", "--concurrency", "8", "--max-model-len", "4096",
                 "--pricing", "snapshot", "--out", str(out), flag, value])
    assert code == 2 and not out.exists()
    assert flag in capsys.readouterr().err


def test_values_are_shell_quoted_in_scripts_even_when_validation_is_bypassed() -> None:
    plan = single_instance_plan()
    # model_construct skips the validators: the templates must still quote what they are given.
    fields = {**options_for(plan).model_dump(), "hf_token_secret_id": "a b;id"}
    options = RenderOptions.model_construct(**fields)
    fetch = write_files(yaml.safe_load(render_cloud_init(plan, options, render_vllm_config(plan))))[
        "/usr/local/bin/vllm-fetch-hf-token"]
    assert "--secret-id 'a b;id'" in fetch
    assert "--secret-id 'a b;id'" in hf_token_fill_command(plan, options)
