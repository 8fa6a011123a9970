"""The llama.cpp CPU path through the Pulumi program under mocks (llm_advisor/infra/cpu.py, stack.py
prepare_cpu/declare_cpu, component.py): eks node group, karpenter NodePool, ec2 ASG, bad input."""

from __future__ import annotations

import base64

import pytest
import yaml

from llm_advisor.infra.preview import PROJECT
from llm_advisor.program import run_main_program
from tests.conftest import example_config

SENTINEL = "hf_SENTINELcpupath0123456789abcd"
CPU = dict(engine="llama.cpp", concurrency="2", maxModelLen="4096", model="llama3.1-8b")


def test_cpu_plan_on_eks_gets_an_untainted_cpu_node_group_and_the_llamacpp_workload() -> None:
    run = run_main_program(example_config(**CPU, hfToken=SENTINEL), secret_keys=(f"{PROJECT}:hfToken",))
    assert run.outputs["engine"] == "llama.cpp"
    plan = run.outputs["plan"]
    (group,) = run.of_type("aws:eks/nodeGroup:NodeGroup")
    assert group.inputs["instanceTypes"] == [plan["instance"]["instance_type"]]
    assert group.inputs["amiType"] == {"x86_64": "AL2023_x86_64_STANDARD",
                                       "arm64": "AL2023_ARM_64_STANDARD"}[plan["instance"]["arch"]]
    assert group.inputs["capacityType"] == "ON_DEMAND"
    assert group.inputs["scalingConfig"]["desiredSize"] == plan["replicas"]
    assert "taints" not in group.inputs
    docs = [d for d in yaml.safe_load_all(run.outputs["kubernetes_yaml"]) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert group.inputs["labels"].items() >= {
        k: v for k, v in pod["nodeSelector"].items() if k != "kubernetes.io/arch"}.items()
    assert "tolerations" not in pod
    assert pod["containers"][0]["image"].startswith("ghcr.io/ggml-org/llama.cpp:server-b")
    # no GPU node group, no device plugin release, the objects deployed (deployWorkload in the example)
    assert not run.of_type("kubernetes:helm.sh/v3:Release")
    assert run.of_type("kubernetes:apps/v1:Deployment")
    assert SENTINEL not in run.outputs["kubernetes_yaml"]
    assert run.outputs["endpoint"].endswith(":8080/v1")


def test_cpu_plan_on_karpenter_gets_a_nodepool_without_the_gpu_taint() -> None:
    run = run_main_program(example_config(**CPU, target="karpenter"))
    assert not run.of_type("aws:eks/nodeGroup:NodeGroup")
    (pool,) = run.of_type("kubernetes:karpenter.sh/v1:NodePool")
    spec = pool.inputs["spec"]["template"]["spec"]
    assert "taints" not in spec
    req = {r["key"]: r["values"] for r in spec["requirements"]}
    assert req["node.kubernetes.io/instance-type"] == [run.outputs["instance_type"]]
    assert req["karpenter.sh/capacity-type"] == ["on-demand"]
    assert "nvidia.com/gpu" not in pool.inputs["spec"]["limits"]
    assert "kind: NodePool" in run.outputs["kubernetes_yaml"]


def test_cpu_plan_on_ec2_uses_the_standard_al2023_ami_and_the_llamacpp_cloud_init() -> None:
    run = run_main_program(example_config(**CPU, target="ec2"))
    (asg,) = run.of_type("aws:autoscaling/group:Group")
    assert asg.inputs["desiredCapacity"] == run.outputs["plan"]["replicas"]
    (template,) = run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["instanceType"] == run.outputs["instance_type"]
    user_data = base64.b64decode(template.inputs["userData"]).decode()
    assert "llama-server.service" in user_data and "packages:\n  - docker" in user_data
    (sg,) = run.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert sg.inputs["ingress"][0]["fromPort"] == 8080


def test_auto_picks_cpu_for_two_users_of_a_7b_model_and_says_so() -> None:
    run = run_main_program(example_config(**{**CPU, "engine": "auto"}))
    assert run.outputs.get("engine") == "llama.cpp"


def test_a_gguf_type_without_a_known_file_fails_before_any_resource() -> None:
    with pytest.raises(Exception, match="publishes no IQ4_XS file .* it has Q8_0, Q6_K, Q5_K_M, Q4_K_M"):
        run_main_program(example_config(**{**CPU, "model": "qwen3-8b"}, ggufType="IQ4_XS"))
