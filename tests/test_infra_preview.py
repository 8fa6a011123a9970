"""`pulumi preview` under infra.preview's mocks: an unknown subnet placed in an AZ the plan is
offered in (and said so), every invoke sent to the plan's region, the plaintext hfToken warning.

From the Pulumi program's second review, findings #2 #3 #13."""

from __future__ import annotations

import logging
from pathlib import Path

import pulumi
import pytest

from llm_advisor.infra.config import PLAINTEXT_HF_TOKEN_WARNING, StackConfig
from llm_advisor.infra.preview import (
    PROJECT,
    AwsMocks,
    load_stack_file,
    plaintext_secret_warnings,
    region_az_ids,
    run_program,
)
from llm_advisor.infra.tree import format_run
from llm_advisor.program import run_main_program
from tests.conftest import EC2, EKS, EXAMPLE, example_config, single_instance_plan, two_node_plan

ROOT = Path(__file__).resolve().parent.parent









def _deploy(plan, config, subnet_az_ids=None, mocks=None):
    cfg = StackConfig.model_validate(config)

    def program() -> None:
        from llm_advisor.infra.stack import deploy

        for key, value in deploy(plan, cfg, None).items():
            pulumi.export(key, value)

    return run_program(program, {}, subnet_az_ids=subnet_az_ids, mocks=mocks)


# --- 2: the mock places an unknown subnet in one of the plan's offering AZs ---------------------------

def test_mock_places_an_unknown_subnet_in_an_az_the_plan_is_offered_in() -> None:
    mocks = AwsMocks()
    mocks.observe_plan(two_node_plan(region="us-west-2", availability_zone_ids=("usw2-az4",)))
    assert mocks.subnet_az_id("subnet-x", "us-west-2") == "usw2-az4"
    assert mocks.assumed_subnet_az_ids == {"subnet-x": "usw2-az4"}
    # A region without an observed plan: one of that region's AZ IDs, never another region's.
    assert mocks.subnet_az_id("subnet-y", "eu-central-1") in region_az_ids("eu-central-1")
    assert region_az_ids("ap-northeast-1")[0] == "apne1-az1" and region_az_ids("us-west-2")[1] == "usw2-az2"


def test_us_west_2_multi_node_preview_assumes_the_subnet_az_and_says_so() -> None:
    # p5 only (8 x H100 = 640 GB < 810 GB of bf16 weights): the plan must span instances. Unpinned, the
    # calibrated throughput model may prefer one p6-b200 (8 x 180 GB), which holds 405B on one node.
    run = run_main_program(example_config(model="meta-llama/Llama-3.1-405B-Instruct", regions='["us-west-2"]',
                                    capacity="on-demand", quantization="none", allowedFamilies='["p5"]'))
    plan = run.outputs["plan"]
    assert (
        plan["placement"]["region"] == "us-west-2"
        and plan["placement"]["instances_per_replica"] > 1
        and plan["placement"]["needs_efa"]
    )
    assert run.assumed_subnet_az_ids
    assert set(run.assumed_subnet_az_ids.values()) <= set(plan["placement"]["availability_zone_ids"])
    (group,) = run.of_type("aws:eks/nodeGroup:NodeGroup")
    assert group.inputs["subnetIds"][0] in run.assumed_subnet_az_ids
    text = format_run(run)
    assert "AZ assumed to be" in text and "subnet-0123456789abcdef0" in text


def test_a_known_subnet_az_mapping_is_used_as_given() -> None:
    plan = two_node_plan(region="us-west-2", availability_zone_ids=("usw2-az3",))
    run = _deploy(plan, EKS, subnet_az_ids={"subnet-a": "usw2-az1", "subnet-b": "usw2-az3"})
    assert run.assumed_subnet_az_ids == {}
    (group,) = run.of_type("aws:eks/nodeGroup:NodeGroup")
    assert group.inputs["subnetIds"] == ["subnet-b"]
    assert "assumed" not in format_run(run)
    with pytest.raises(ValueError, match="usw2-az3"):
        _deploy(plan, EKS, subnet_az_ids={"subnet-a": "usw2-az1", "subnet-b": "usw2-az2"})


# --- 3: every invoke goes to the plan's region --------------------------------------------------------

def test_eks_get_cluster_uses_the_plans_region_through_the_default_provider() -> None:
    plan = two_node_plan(region="us-west-2", availability_zone_ids=("usw2-az3",))
    run = _deploy(plan, EKS, subnet_az_ids={"subnet-a": "usw2-az3"})
    # the EFA security group's VPC lookup, the Kubernetes provider's kubeconfig (deployWorkload) and the
    # cluster's version for the AMI release parameter (no kubernetesVersion set)
    calls = [c for c in run.calls if c.token == "aws:eks/getCluster:getCluster"]
    assert len(calls) == 3
    subnets = [c for c in run.calls if c.token == "aws:ec2/getSubnet:getSubnet"]  # the EFA subnet lookup
    for call in [*calls, subnets[0]]:
        assert call.args.get("region") == "us-west-2"
        assert "aws-us-west-2" not in call.provider  # the default provider keeps the stack's aws:* settings


def test_ec2_invokes_use_the_plans_region() -> None:
    plan = single_instance_plan(region="eu-west-1")
    run = _deploy(plan, EC2)
    tokens = {c.token for c in run.calls}
    expected = {"aws:ssm/getParameter:getParameter", "aws:ec2/getSubnet:getSubnet", "aws:ec2/getVpc:getVpc"}
    assert expected <= tokens
    for call in run.calls:
        assert call.args.get("region") == "eu-west-1", call.token


@pytest.mark.parametrize(("factory", "config"), [(two_node_plan, EKS), (single_instance_plan, EC2)])
def test_the_stacks_aws_settings_survive(factory, config) -> None:
    # An explicit aws.Provider(region=...) took none of aws:assumeRoles / aws:defaultTags / aws:profile /
    # aws:allowedAccountIds: a team deployed with the wrong credentials or without its tags. Every
    # resource now uses the default provider (configured from those settings) with a per-resource region.
    plan = factory(region="eu-west-1", availability_zone_ids=())
    run = _deploy(plan, config, subnet_az_ids={"subnet-a": "euw1-az1", "subnet-b": "euw1-az2"})
    assert run.of_type("pulumi:providers:aws") == []
    regional = [r for r in run.resources if r.custom and r.type.startswith("aws:")
                and not r.type.startswith("aws:iam/")]
    assert regional and all(r.inputs.get("region") == "eu-west-1" for r in regional)
    assert all("region" not in r.inputs for r in run.resources if r.type.startswith("aws:iam/"))


# --- 13: a plaintext hfToken in the stack file is warned about ----------------------------------------

def test_plaintext_hf_token_warns_in_preview_and_in_the_program_log(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(EXAMPLE.read_text() + f"  {PROJECT}:hfToken: hf_plaintextSENTINEL000\n")
    config, secret_keys = load_stack_file(stack)
    assert plaintext_secret_warnings(config, secret_keys) == [PLAINTEXT_HF_TOKEN_WARNING]
    assert "pulumi config set --secret hfToken" in PLAINTEXT_HF_TOKEN_WARNING
    run = run_main_program(config, secret_keys)
    assert PLAINTEXT_HF_TOKEN_WARNING in run.warnings  # pulumi.log.warn from __main__.py
    assert "hf_plaintextSENTINEL000" not in format_run(run, show_config=True)
    secure = run_main_program(example_config(hfToken="[secret]"), (f"{PROJECT}:hfToken",))
    assert PLAINTEXT_HF_TOKEN_WARNING not in secure.warnings
    assert plaintext_secret_warnings(*load_stack_file(EXAMPLE)) == []


def test_preview_command_prints_the_plaintext_token_warning(tmp_path: Path, capsys, caplog) -> None:
    from llm_advisor.cli.main import main

    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(EXAMPLE.read_text() + f"  {PROJECT}:hfToken: hf_plaintextSENTINEL000\n")
    with caplog.at_level(logging.WARNING):
        assert main(["preview", "--config", str(stack)]) == 0
    out = capsys.readouterr().out
    assert "plain text" in out and "pulumi config set --secret hfToken" in out
    assert "hf_plaintextSENTINEL000" not in out
