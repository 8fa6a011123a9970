"""The ECR pull-through cache option for Docker Hub (issue 9)."""

from __future__ import annotations

import json

import pytest
import yaml
from pydantic import ValidationError

from llm_advisor.infra.config import StackConfig
from llm_advisor.infra.ecr import cached_image
from tests.conftest import EC2, EKS, deploy_run, single_instance_plan

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
CACHE = {**EKS, "ecrPullThroughCache": "docker-hub", "dockerHubCredentialArn": ARN}
HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"


def test_rule_policy_and_image_under_the_cache() -> None:
    plan = single_instance_plan()
    run = deploy_run(plan, CACHE)
    (rule,) = run.of_type(RULE)
    assert rule.inputs["ecrRepositoryPrefix"] == "docker-hub"
    assert rule.inputs["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert rule.inputs["credentialArn"] == ARN and rule.inputs["region"] == "us-east-1"
    (policy,) = run.of_type("aws:iam/rolePolicy:RolePolicy")
    statement = json.loads(policy.inputs["policy"])["Statement"][0]
    assert sorted(statement["Action"]) == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    assert statement["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/*"
    # The node groups wait for the policy (nodes pull on their first pod).
    for group in run.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert policy.urn in group.dependencies
    assert _vllm_images(run.outputs["kubernetes_yaml"]) == {run.outputs["image"]}
    assert run.outputs["image"].startswith(f"{HOST}/docker-hub/vllm/vllm-openai:v")


def _vllm_images(text: str) -> set[str]:
    docs = [d for d in yaml.safe_load_all(text) if d and d["kind"] == "Deployment"]
    return {c["image"] for d in docs for c in d["spec"]["template"]["spec"]["containers"]
            if "vllm-openai" in c["image"]}


def test_without_the_option_nothing_changes() -> None:
    run = deploy_run(single_instance_plan(), EKS)
    assert not run.of_type(RULE) and not run.of_type("aws:iam/rolePolicy:RolePolicy")
    (image,) = _vllm_images(run.outputs["kubernetes_yaml"])
    assert image.startswith("vllm/vllm-openai:v") and "image" not in run.outputs


@pytest.mark.parametrize(("image", "expected"), [
    ("vllm/vllm-openai:v0.11.0", f"{HOST}/docker-hub/vllm/vllm-openai:v0.11.0"),
    ("docker.io/vllm/vllm-openai:v0.11.0", f"{HOST}/docker-hub/vllm/vllm-openai:v0.11.0"),
    ("ubuntu:24.04", f"{HOST}/docker-hub/library/ubuntu:24.04"),  # official images need library/
])
def test_docker_hub_references(image: str, expected: str) -> None:
    assert cached_image(image, "docker-hub", ARN, "us-east-1") == expected


@pytest.mark.parametrize(("image", "region", "match"), [
    ("ghcr.io/acme/vllm:1", "us-east-1", "ecrPullThroughCache: caches Docker Hub images"),
    ("vllm/vllm-openai:v0.11.0", "eu-west-1", "dockerHubCredentialArn: the secret is in us-east-1"),
])
def test_refused_before_any_resource(image: str, region: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cached_image(image, "docker-hub", ARN, region)


@pytest.mark.parametrize(("config", "key"), [
    ({**EKS, "ecrPullThroughCache": "docker-hub"}, "dockerHubCredentialArn"),  # Docker Hub needs credentials
    ({**CACHE, "dockerHubCredentialArn": ARN.replace("ecr-pullthroughcache/", "dh/")},
     "ecr-pullthroughcache"),
    ({**EKS, "dockerHubCredentialArn": ARN}, "dockerHubCredentialArn"),
    ({**EC2, "ecrPullThroughCache": "docker-hub", "dockerHubCredentialArn": ARN}, "ecrPullThroughCache"),
    ({**CACHE, "ecrPullThroughCache": "Docker Hub"}, "ecrPullThroughCache"),
])
def test_config_errors_name_the_key(config: dict, key: str) -> None:
    with pytest.raises(ValidationError, match=key):
        StackConfig.model_validate(config)
