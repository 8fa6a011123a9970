"""EKS managed node groups pin their AMI release (issue 9): resolved once from SSM, then kept; an explicit
amiReleaseVersion is the update path."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from llm_advisor.infra.config import StackConfig
from llm_advisor.infra.eks import EKS_RELEASE_SSM_PARAMETER
from llm_advisor.infra.preview import MOCK_EKS_RELEASE, MOCK_KUBERNETES_VERSION
from tests.conftest import EC2, EKS, deploy_run, single_instance_plan

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SSM = "aws:ssm/getParameter:getParameter"


def _release_calls(run):  # type: ignore[no-untyped-def]
    return [c for c in run.calls if c.token == SSM and c.args["name"].endswith("/release_version")]


def test_release_is_resolved_from_ssm_for_the_kubernetes_version_and_kept() -> None:
    run = deploy_run(single_instance_plan(), {**EKS, "kubernetesVersion": "1.32"})
    (call,) = _release_calls(run)
    assert call.args == {"name": EKS_RELEASE_SSM_PARAMETER.format(kube="1.32"), "region": "us-east-1"}
    assert call.args["name"] == (
        "/aws/service/eks/optimized-ami/1.32/amazon-linux-2023/x86_64/nvidia/recommended/release_version")
    groups = run.of_type(NODE_GROUP)
    assert groups and all(g.inputs["releaseVersion"] == MOCK_EKS_RELEASE for g in groups)
    # Kept: a newer SSM answer (or EKS's "latest" default on an update) never rolls the GPU nodes by itself.
    assert all(g.ignore_changes == ("releaseVersion",) for g in groups)


def test_without_kubernetes_version_the_clusters_own_version_is_used() -> None:
    run = deploy_run(single_instance_plan(), EKS)
    (call,) = _release_calls(run)
    assert call.args["name"] == EKS_RELEASE_SSM_PARAMETER.format(kube=MOCK_KUBERNETES_VERSION)


def test_an_explicit_release_is_the_update_path() -> None:
    run = deploy_run(single_instance_plan(), {**EKS, "amiReleaseVersion": "1.33.0-20250704"})
    assert _release_calls(run) == []
    groups = run.of_type(NODE_GROUP)
    assert all(g.inputs["releaseVersion"] == "1.33.0-20250704" and g.ignore_changes == () for g in groups)
    assert all(g.inputs["updateConfig"]["updateStrategy"] == "MINIMAL" for g in groups)


def test_bottlerocket_is_pinned_only_explicitly() -> None:
    run = deploy_run(single_instance_plan(), {**EKS, "amiType": "BOTTLEROCKET_x86_64_NVIDIA"})
    assert _release_calls(run) == []
    groups = run.of_type(NODE_GROUP)
    assert all("releaseVersion" not in g.inputs and g.ignore_changes == ("releaseVersion",) for g in groups)


@pytest.mark.parametrize(("config", "match"), [
    ({**EKS, "amiReleaseVersion": "latest"}, "amiReleaseVersion"),
    ({**EC2, "amiReleaseVersion": "1.33.0-20250704"}, "(?s)amiReleaseVersion.*pins with amiId"),
])
def test_bad_release_is_refused_naming_the_key(config: dict, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        StackConfig.model_validate(config)
