"""Stack config: target ec2 asks the planner for single-instance replicas, and config strings
that reach scripts are validated naming the key.

From the Pulumi program's second review, findings #5 #6."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_advisor.infra.config import StackConfig, stack_config_from
from llm_advisor.program import run_main_program
from tests.conftest import EC2, EKS, example_config

ROOT = Path(__file__).resolve().parent.parent








INJECTIONS = ("a b;rm -rf /", "org/repo $(id)", "x; curl x|sh", "x`id`", "x\nExecStartPre=/bin/sh", "x'y")



# --- 5: target ec2 asks the planner for single-instance replicas --------------------------------------

def test_target_ec2_caps_replicas_at_one_instance_in_the_workload() -> None:
    assert StackConfig.model_validate(EC2).to_workload().max_instances_per_replica == 1
    assert StackConfig.model_validate(EKS).to_workload().max_instances_per_replica is None
    assert "maxInstancesPerReplica" not in StackConfig.model_validate(EC2).model_dump(by_alias=True)


def test_deepseek_v3_on_target_ec2_plans_one_instance_per_replica() -> None:
    run = run_main_program(example_config(model="deepseek-ai/DeepSeek-V3", target="ec2", capacity="on-demand",
                                    maxModelLen="4096", concurrency="4"))
    plan = run.outputs["plan"]
    assert plan["placement"]["instances_per_replica"] == 1
    assert run.of_type("aws:autoscaling/group:Group")


# --- 6: config strings that reach scripts are validated, naming the key -------------------------------

@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize(("key", "form"), [("servedModel", "ORG/NAME"), ("vllmImage", "image reference")])
def test_config_strings_with_shell_syntax_are_refused_naming_the_key(key: str, form: str, value: str) -> None:
    with pytest.raises(ValueError, match=key) as caught:
        stack_config_from({**{k: str(v) if not isinstance(v, tuple) else ",".join(v) for k, v in EKS.items()},
                           key: value}.get)
    assert form in str(caught.value)


def test_valid_config_strings_are_accepted() -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/vllm:v0.11.0"
    cfg = StackConfig.model_validate({**EKS, "servedModel": "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic",
                                      "vllmImage": image})
    assert cfg.served_model.startswith("RedHatAI/") and cfg.vllm_image.endswith(":v0.11.0")
    assert StackConfig.model_validate({**EKS, "servedModelQuantization": "fp8"}).to_workload() \
        .served_model_quantization == "fp8"
