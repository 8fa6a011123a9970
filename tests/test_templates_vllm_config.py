"""The vLLM side of the rendered output: the served checkpoint (serve args, config, object
names), --quantization only where vLLM quantizes at load time, vLLM >= 0.6 for `vllm serve --config`.

From the renderer review findings #1 #2 #4 and the second review's #7."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from templates.render import (
    RenderError,
    render_bundle,
    render_vllm_config,
    serve_args,
    vllm_quantization,
)
from tests.conftest import (
    options_for,
    single_instance_plan,
    yaml_docs,
)

# --- served checkpoint (review #1, #4) ------------------------------------------------------------------

def test_a_config_path_model_serves_the_named_checkpoint_and_names_objects_after_it() -> None:
    plan = single_instance_plan(model="/tmp/rev/config.json", served_model="hugging-quants/Llama-3.1-8B-AWQ",
                                quantization="awq", checkpoint_quantization="awq")
    assert serve_args(plan)[:2] == ["serve", "hugging-quants/Llama-3.1-8B-AWQ"]
    config = yaml.safe_load(render_vllm_config(plan))
    assert config["served-model-name"] == "hugging-quants/Llama-3.1-8B-AWQ"
    assert "quantization" not in config  # AWQ is read from the checkpoint's quantization_config
    bundle = render_bundle(plan, options_for(plan))
    for doc in yaml_docs(bundle.file("kubernetes.yaml").content):
        if doc["kind"] == "Deployment":
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            assert container["args"][1] == "hugging-quants/Llama-3.1-8B-AWQ"
    assert "vllm serve /tmp" not in bundle.file("cloud-init.yaml").content
    names = {d["metadata"]["name"] for d in yaml_docs(bundle.file("kubernetes.yaml").content)}
    assert names == {"vllm-llama-3-1-8b-awq", "vllm-llama-3-1-8b-awq-od", "vllm-llama-3-1-8b-awq-spot"}
    assert "serve hugging-quants/Llama-3.1-8B-AWQ --config" in bundle.file("cloud-init.yaml").content


def test_a_plan_without_a_served_checkpoint_is_refused_naming_the_option_and_the_key() -> None:
    plan = single_instance_plan(served_model=None, quantization="awq")
    with pytest.raises(RenderError, match="--served-model") as caught:
        render_bundle(plan, options_for(single_instance_plan()))
    assert "servedModel" in str(caught.value)
    with pytest.raises(RenderError, match="--served-model"):
        options_for(plan)


# --- quantization only at load time (review #2) ----------------------------------------------------------

@pytest.mark.parametrize(("quantization", "checkpoint", "expected"), [
    ("none", "none", None),
    ("fp8", "none", "fp8"),            # bf16 checkpoint, vLLM quantizes to fp8 at load time
    ("bnb4", "none", "bitsandbytes"),  # in-flight bitsandbytes 4-bit
    ("fp8", "fp8", None),              # pre-quantized FP8 (compressed-tensors / fbgemm_fp8 / modelopt)
    ("awq", "awq", None),
    ("gptq", "gptq", None),
    ("int8", "int8", None),
    ("mxfp4", "mxfp4", None),
])
def test_quantization_is_named_only_when_vllm_quantizes_at_load_time(
    quantization: str, checkpoint: str, expected: str | None
) -> None:
    plan = single_instance_plan(quantization=quantization, checkpoint_quantization=checkpoint)
    assert vllm_quantization(plan) == expected
    config = yaml.safe_load(render_vllm_config(plan))
    assert config.get("quantization") == expected


def test_a_format_vllm_cannot_produce_at_load_time_is_refused() -> None:
    plan = single_instance_plan(quantization="awq", checkpoint_quantization="none")
    with pytest.raises(RenderError, match="--served-model"):
        render_vllm_config(plan)


def test_emitted_quantization_values_are_vllm_choices() -> None:
    from templates.vllm_options import VLLM_OPTION_CHOICES

    for quantization in ("fp8", "bnb4"):
        config = yaml.safe_load(render_vllm_config(single_instance_plan(quantization=quantization)))
        assert config["quantization"] in VLLM_OPTION_CHOICES["quantization"]


# --- 7: vLLM before 0.6 has no `vllm serve --config` --------------------------------------------------

def test_render_refuses_vllm_before_0_6_naming_the_fix() -> None:
    plan = single_instance_plan(vllm_version="0.5.4")
    with pytest.raises(RenderError, match=r"--vllm-version 0\.6 or later"):
        render_bundle(plan, options_for(plan))
    assert render_bundle(single_instance_plan(vllm_version="0.6"), options_for(plan)).files


def test_render_cli_refuses_an_old_vllm_but_plan_keeps_working(tmp_path: Path, capsys) -> None:
    from llm_advisor.cli.main import main

    common = ["--model", "Qwen/Qwen3-8B", "--concurrency", "8", "--max-model-len", "4096", "--pricing",
              "snapshot", "--vllm-version", "0.5.4"]
    assert main(["plan", *common]) == 0
    capsys.readouterr()
    assert main(["render", *common, "--out", str(tmp_path / "o")]) == 2
    assert "--vllm-version 0.6 or later" in capsys.readouterr().err
