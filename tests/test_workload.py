"""The workload deployed by Pulumi (targets eks and karpenter) under Pulumi mocks: the Kubernetes provider,
device plugin Helm releases, the token Secret, the rendered objects, their order, readiness and outputs."""

from __future__ import annotations

import json

import pytest
import yaml

from llm_advisor.infra.config import PROJECT
from llm_advisor.infra.preview import MockRun, is_secret_value
from llm_advisor.infra.tree import format_run, mask
from llm_advisor.infra.workload import (
    efa_device_plugin_chart,
    kubeconfig,
    nvidia_device_plugin_chart,
    readiness_budget_s,
    workload_objects,
)
from llm_advisor.program import run_main_program
from templates.render import RenderError, startup_budget_s
from tests.conftest import (
    EKS,
    SENTINEL,
    deploy_run,
    example_config,
    single_instance_plan,
    spot_plan,
    two_node_plan,
)

RELEASE = "kubernetes:helm.sh/v3:Release"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
SECRET = "kubernetes:core/v1:Secret"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"


def kube_resources(run: MockRun) -> list:
    return [r for r in run.resources
            if r.type.startswith("kubernetes:") or r.type == "pulumi:providers:kubernetes"]


def test_eks_deploys_the_workload_after_the_node_groups_and_the_device_plugin() -> None:
    run = deploy_run(single_instance_plan(), EKS)
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["enableServerSideApply"] in (True, "true")  # provider inputs travel as strings
    (plugin,) = run.of_type(RELEASE)
    chart = nvidia_device_plugin_chart()
    assert plugin.inputs["chart"] == "nvidia-device-plugin" and plugin.inputs["version"] == chart["version"]
    assert plugin.inputs["repositoryOpts"] == {"repo": "https://nvidia.github.io/k8s-device-plugin"}
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in (
        plugin.inputs["values"]["tolerations"])
    groups = {g.urn for g in run.of_type(NODE_GROUP)}
    assert len(groups) == 2 and groups <= set(plugin.dependencies)
    deployments = run.of_type(DEPLOYMENT)
    assert sorted(d.inputs["metadata"]["name"] for d in deployments) == [
        "vllm-llama-3-1-8b-instruct-od", "vllm-llama-3-1-8b-instruct-spot"]
    (configmap,) = run.of_type("kubernetes:core/v1:ConfigMap")
    (secret,) = run.of_type(SECRET)
    for deployment in deployments:
        # node groups and device plugin first (and, on destroy, the workload goes before them)
        assert groups | {plugin.urn, configmap.urn, secret.urn} <= set(deployment.dependencies)
    (service,) = run.of_type(SERVICE)
    assert {d.urn for d in deployments} <= set(service.dependencies)
    for resource in kube_resources(run):
        if resource.type != "pulumi:providers:kubernetes":
            assert provider.urn in resource.provider, resource.name


def test_the_objects_are_the_rendered_manifests() -> None:
    run = deploy_run(spot_plan(), EKS)
    rendered = workload_objects(run.outputs["kubernetes_yaml"])
    declared = {(r.type.split(":")[-1], r.inputs["metadata"]["name"]): r.inputs for r in kube_resources(run)
                if r.type in (DEPLOYMENT, SERVICE, "kubernetes:core/v1:ConfigMap",
                              "kubernetes:policy/v1:PodDisruptionBudget")}
    assert len(declared) == len(rendered) == 4  # ConfigMap, Deployment, Service, PDB (2 replicas)
    for obj in rendered:
        inputs = declared[(obj["kind"], obj["metadata"]["name"])]
        assert {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")} == {
            k: v for k, v in inputs.items() if k not in ("apiVersion", "kind")}


def test_readiness_waits_for_the_startup_budget_and_says_how_to_watch() -> None:
    plan = single_instance_plan()
    run = deploy_run(plan, EKS)
    budget = startup_budget_s(plan, "server")
    assert readiness_budget_s(plan, karpenter=False) == budget == run.outputs["readiness_budget_s"]
    for resource in (*run.of_type(DEPLOYMENT), *run.of_type(SERVICE)):
        assert resource.custom_timeouts == {"create": f"{budget}s", "update": f"{budget}s"}
    assert run.outputs["endpoint"] == "http://vllm-llama-3-1-8b-instruct.default.svc:8000/v1"
    access = run.outputs["endpoint_access"]
    assert "port-forward svc/vllm-llama-3-1-8b-instruct 8000:8000" in access
    assert f"{-(-budget // 60)} min" in access and "kubectl -n default get deployment,pods" in access


def test_token_secret_is_a_pulumi_secret_and_never_plain_text() -> None:
    run = deploy_run(single_instance_plan(), EKS)
    (secret,) = run.of_type(SECRET)
    assert is_secret_value(secret.inputs["stringData"])
    assert secret.inputs["metadata"]["name"] == "hf-token"
    assert "annotations" not in secret.inputs["metadata"]
    # only inside secret values (this Secret, the Secrets Manager version): masked, nowhere in plain text
    for resource in run.resources:
        assert SENTINEL not in json.dumps(mask(resource.inputs)), resource.name
    assert SENTINEL not in json.dumps(run.outputs) and SENTINEL not in format_run(run, show_config=True)
    # the kubeconfig carries no token: it execs `aws eks get-token`
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    config = json.loads(provider.inputs["kubeconfig"])
    user = config["users"][0]["user"]
    assert "token" not in user and user["exec"]["command"] == "aws"


def test_no_token_no_secret() -> None:
    run = deploy_run(single_instance_plan(), EKS, token=None)
    assert not run.of_type(SECRET) and run.of_type(DEPLOYMENT)


def test_deploy_workload_false_declares_no_kubernetes_resource() -> None:
    # kubernetesVersion set: the AMI release lookup needs not ask the cluster for its version either.
    run = deploy_run(single_instance_plan(), {**EKS, "deployWorkload": "false", "kubernetesVersion": "1.33"})
    assert kube_resources(run) == []
    assert "endpoint" not in run.outputs
    assert run.of_type(NODE_GROUP) and "kubectl apply -f kubernetes.yaml" in run.outputs["kubectl_apply_hint"]
    assert not any(c.token == "aws:eks/getCluster:getCluster" for c in run.calls)


def test_a_namespace_of_our_own_is_created_first() -> None:
    run = deploy_run(single_instance_plan(), {**EKS, "namespace": "llm"})
    (namespace,) = run.of_type("kubernetes:core/v1:Namespace")
    assert namespace.inputs["metadata"]["name"] == "llm"
    for deployment in run.of_type(DEPLOYMENT):
        assert namespace.urn in deployment.dependencies
    assert run.outputs["endpoint"] == "http://vllm-llama-3-1-8b-instruct.llm.svc:8000/v1"
    # `default` exists on every cluster: never created, never deleted on destroy
    assert not deploy_run(single_instance_plan(), EKS).of_type("kubernetes:core/v1:Namespace")


def test_efa_plan_adds_the_efa_device_plugin_before_the_leaderworkerset() -> None:
    plan = two_node_plan()
    run = deploy_run(plan, EKS)
    releases = {r.inputs["chart"]: r for r in run.of_type(RELEASE)}
    assert set(releases) == {"nvidia-device-plugin", "aws-efa-k8s-device-plugin"}
    efa = releases["aws-efa-k8s-device-plugin"]
    assert efa.inputs["version"] == efa_device_plugin_chart()["version"]
    assert efa.inputs["values"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal",
                                                   "value": "present", "effect": "NoSchedule"}]
    (lws,) = run.of_type("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet")
    assert {r.urn for r in releases.values()} <= set(lws.dependencies)
    (service,) = run.of_type(SERVICE)
    assert lws.urn in service.dependencies
    assert service.custom_timeouts["create"] == f"{startup_budget_s(plan, 'leader')}s"
    assert "get leaderworkerset,pods" in run.outputs["endpoint_access"]


def test_bottlerocket_ships_the_device_plugin() -> None:
    run = deploy_run(single_instance_plan(), {**EKS, "amiType": "BOTTLEROCKET_x86_64_NVIDIA"})
    assert not run.of_type(RELEASE) and run.of_type(DEPLOYMENT)


def test_kubeconfig_runs_aws_eks_get_token_for_the_cluster_and_region() -> None:
    config = json.loads(kubeconfig("inference", "us-west-2", "https://x.eks.amazonaws.com", "Q0E=", "team"))
    assert config["clusters"][0]["cluster"] == {"server": "https://x.eks.amazonaws.com",
                                               "certificate-authority-data": "Q0E="}
    exec_ = config["users"][0]["user"]["exec"]
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert exec_["args"] == ["--region", "us-west-2", "eks", "get-token", "--cluster-name", "inference",
                             "--output", "json"]
    assert exec_["env"] == [{"name": "AWS_PROFILE", "value": "team"}]


def test_an_unknown_kind_is_refused_before_any_resource() -> None:
    text = yaml.safe_dump({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"}})
    with pytest.raises(RenderError, match="cannot deploy Job"):
        workload_objects(text)


def test_example_stack_ends_with_an_endpoint() -> None:
    run = run_main_program(example_config(hfToken=SENTINEL), secret_keys=(f"{PROJECT}:hfToken",))
    assert run.outputs["endpoint"] == "http://vllm-qwen3-8b.default.svc:8000/v1"
    assert SENTINEL not in json.dumps(run.outputs)
    (secret,) = run.of_type(SECRET)
    assert is_secret_value(secret.inputs["stringData"])
