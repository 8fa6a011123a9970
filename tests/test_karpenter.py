"""Target karpenter: NodePools + EC2NodeClass (karpenter.sh/v1, karpenter.k8s.aws/v1) under Pulumi mocks,
their golden files validated against Karpenter's vendored CRD schemas (tests/schemas/), limits from the plan.

Regenerate the golden files after an intended change with `UPDATE_GOLDEN=1 python -m pytest
tests/test_karpenter.py`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from llm_advisor.infra.config import StackConfig
from llm_advisor.infra.karpenter import (
    AL2023_ALIAS,
    KarpenterSettings,
    karpenter_manifests,
    pool_limits,
    render_karpenter_yaml,
)
from llm_advisor.infra.preview import MockRun
from llm_advisor.program import run_main_program
from templates.render import RenderError, startup_budget_s
from tests.conftest import deploy_run as shared_deploy_run
from tests.conftest import example_config, single_instance_plan, spot_plan, two_node_plan

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
SCHEMAS = {
    "NodePool": json.loads((HERE / "schemas" / "karpenter.sh_v1_nodepool.json").read_text()),
    "EC2NodeClass": json.loads((HERE / "schemas" / "karpenter.k8s.aws_v1_ec2nodeclass.json").read_text()),
}
KARPENTER = {"model": "m", "target": "karpenter", "clusterName": "inference"}
NODEPOOL = "kubernetes:karpenter.sh/v1:NodePool"
NODECLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def deploy_run(plan, config: dict[str, Any], log: list | None = None) -> MockRun:
    """Target karpenter, no token."""
    return shared_deploy_run(plan, config, token=None, log=log)


def requirements(pool: dict[str, Any]) -> list[dict[str, Any]]:
    return pool["spec"]["template"]["spec"]["requirements"]


def settings(**fields: Any) -> KarpenterSettings:
    base: dict[str, Any] = dict(name="vllm-test", cluster_name="inference", discovery="inference",
                                node_role="KarpenterNodeRole-inference")
    return KarpenterSettings(**{**base, **fields})


CASES = {
    "karpenter-mixed": (single_instance_plan, {}),
    "karpenter-spot": (spot_plan, {"subnet_ids": ("subnet-a", "subnet-b")}),
    "karpenter-two-node": (two_node_plan, {"placement_group": "vllm-test-inference", "zone_id": "use1-az6"}),
}


def rendered(case: str) -> str:
    make_plan, fields = CASES[case]
    return render_karpenter_yaml(make_plan(), settings(**fields))


@pytest.mark.parametrize("case", sorted(CASES))
def test_karpenter_yaml_matches_golden(case: str) -> None:
    golden = GOLDEN / case / "karpenter.yaml"
    content = rendered(case)
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(content)
    assert golden.exists(), f"missing golden file {golden}; run with UPDATE_GOLDEN=1"
    assert content == golden.read_text()


def unknown_fields(obj: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields the CRD schema does not declare: the API server would prune them silently (structural
    schemas), so a misspelt field is a setting that never takes effect."""
    if isinstance(obj, dict) and "properties" in schema:
        found = []
        for key, value in obj.items():
            if key not in schema["properties"]:
                found.append(f"{path}.{key}")
            else:
                found += unknown_fields(value, schema["properties"][key], f"{path}.{key}")
        return found
    if isinstance(obj, list) and "items" in schema:
        items = schema["items"]
        return [f for i, item in enumerate(obj) for f in unknown_fields(item, items, f"{path}[{i}]")]
    return []


def validate(doc: dict[str, Any]) -> None:
    schema = SCHEMAS[doc["kind"]]
    jsonschema.Draft7Validator(schema).validate(doc)
    assert unknown_fields(doc, schema) == [], doc["kind"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_files_validate_against_karpenters_crd_schemas(case: str) -> None:
    docs = [d for d in yaml.safe_load_all((GOLDEN / case / "karpenter.yaml").read_text()) if d]
    assert [d["kind"] for d in docs][0] == "EC2NodeClass" and {d["kind"] for d in docs[1:]} == {"NodePool"}
    for doc in docs:
        validate(doc)
    node_class = docs[0]
    # CEL rules (x-kubernetes-validations) jsonschema does not evaluate, checked for the fields we set:
    # an alias is family@version and alone in amiSelectorTerms; role set (not instanceProfile).
    (term,) = node_class["spec"]["amiSelectorTerms"]
    assert re.match(r"^al2023@v\d{8}$", term["alias"]) and term["alias"] == AL2023_ALIAS
    assert "instanceProfile" not in node_class["spec"] and node_class["spec"]["role"]
    for pool in docs[1:]:
        assert pool["spec"]["template"]["spec"]["nodeClassRef"]["name"] == node_class["metadata"]["name"]


def test_schema_validation_can_fail() -> None:
    docs = karpenter_manifests(single_instance_plan(), settings())
    pool = json.loads(json.dumps(docs[1]))
    pool["spec"]["disruption"]["consolidateAfter"] = "ten minutes"
    with pytest.raises(jsonschema.ValidationError, match="ten minutes"):
        validate(pool)
    pool = json.loads(json.dumps(docs[1]))
    pool["spec"]["disruption"]["consolidationPolicy"] = "WhenIdle"
    with pytest.raises(jsonschema.ValidationError):
        validate(pool)
    node_class = json.loads(json.dumps(docs[0]))
    node_class["spec"]["metadataOption"] = node_class["spec"].pop("metadataOptions")  # typo: pruned
    with pytest.raises(AssertionError):
        validate(node_class)


def test_mixed_plan_is_an_on_demand_base_pool_and_a_weighted_spot_burst_pool() -> None:
    plan = single_instance_plan()  # 1 on-demand g6e.xlarge + 1 spot of (g6e.xlarge, g6e.2xlarge)
    _, od, spot = karpenter_manifests(plan, settings())
    assert od["metadata"]["name"] == "vllm-test-od" and spot["metadata"]["name"] == "vllm-test-spot"
    assert od["spec"]["weight"] > spot["spec"]["weight"]
    reqs = {p["metadata"]["name"]: {r["key"]: r["values"] for r in requirements(p)} for p in (od, spot)}
    assert reqs["vllm-test-od"] == {"node.kubernetes.io/instance-type": ["g6e.xlarge"],
                                    "karpenter.sh/capacity-type": ["on-demand"]}
    assert reqs["vllm-test-spot"] == {"node.kubernetes.io/instance-type": ["g6e.xlarge", "g6e.2xlarge"],
                                      "karpenter.sh/capacity-type": ["spot"]}
    for pool, capacity in ((od, "on-demand"), (spot, "spot")):
        template = pool["spec"]["template"]
        taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
        assert template["spec"]["taints"] == [taint]
        assert template["metadata"]["labels"] == {
            "llm-advisor/pool": "vllm-test", "llm-advisor/capacity": capacity,
            "nvidia.com/gpu.present": "true"}
        assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmpty"
        assert pool["spec"]["disruption"]["budgets"] == [{"nodes": "1"}]
        assert template["spec"]["expireAfter"] == "Never"


def test_limits_are_the_planned_nodes_plus_one_at_the_largest_type() -> None:
    # g6e.xlarge: 4 vCPUs, 1 L40S; g6e.2xlarge: 8 vCPUs, 1 L40S (DescribeInstanceTypes facts).
    _, od, spot = karpenter_manifests(single_instance_plan(), settings())
    assert od["spec"]["limits"] == {"cpu": "8", "nvidia.com/gpu": "2"}  # (1 + 1) x 4, (1 + 1) x 1
    assert spot["spec"]["limits"] == {"cpu": "16", "nvidia.com/gpu": "2"}  # (1 + 1) x 8
    # all spot: 2 nodes of g6e.12xlarge (48 vCPUs, 4 GPUs) or g6e.24xlarge (96 vCPUs, 4 GPUs)
    _, pool = karpenter_manifests(spot_plan(), settings())
    assert "weight" not in pool["spec"] and pool["metadata"]["name"] == "vllm-test"
    assert pool["spec"]["limits"] == {"cpu": "288", "nvidia.com/gpu": "12"}  # (2 + 1) x 96, (2 + 1) x 4
    # the planned nodes always fit, one replacement too, two more do not
    assert pool_limits(4, ("p5.48xlarge",)) == {"cpu": "960", "nvidia.com/gpu": "40"}


def test_a_type_outside_the_catalog_fails_naming_it() -> None:
    with pytest.raises(RenderError, match="g9z.xlarge"):
        pool_limits(1, ("g9z.xlarge",))


def test_node_class_selects_by_discovery_tag_or_given_subnets_and_sizes_the_disk() -> None:
    node_class = karpenter_manifests(single_instance_plan(), settings(discovery="team-a"))[0]["spec"]
    assert node_class["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "team-a"}}]
    assert node_class["securityGroupSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "team-a"}}]
    # 20 GiB OS + 30 GiB image + 14.96 GiB x 1.1 checkpoint -> 70 GiB, as the node groups' launch template
    assert node_class["blockDeviceMappings"][0]["ebs"]["volumeSize"] == "70Gi"
    assert node_class["metadataOptions"]["httpPutResponseHopLimit"] == 1
    given = karpenter_manifests(single_instance_plan(), settings(subnet_ids=("subnet-a",)))[0]["spec"]
    assert given["subnetSelectorTerms"] == [{"id": "subnet-a"}]


def test_karpenter_target_declares_pools_and_no_node_groups() -> None:
    run = deploy_run(single_instance_plan(), KARPENTER)
    types = {r.type for r in run.resources}
    assert not {t for t in types if t.startswith("aws:eks/") or t.startswith("aws:ec2/launchTemplate")}
    assert "aws:iam/role:Role" not in types
    (node_class,) = run.of_type(NODECLASS)
    pools = run.of_type(NODEPOOL)
    assert sorted(p.inputs["metadata"]["name"] for p in pools) == ["vllm-llama-3-1-8b-instruct-od",
                                                                 "vllm-llama-3-1-8b-instruct-spot"]
    assert node_class.inputs["spec"]["role"] == "KarpenterNodeRole-inference"
    for pool in pools:
        assert node_class.urn in pool.dependencies
        assert "-k8s" in pool.provider
    # the workload waits for the pools (and is deleted before them)
    pool_urns = {p.urn for p in pools}
    for deployment in run.of_type("kubernetes:apps/v1:Deployment"):
        assert pool_urns <= set(deployment.dependencies)
    # the rendered YAML output holds the same pools first
    docs = [d for d in yaml.safe_load_all(run.outputs["kubernetes_yaml"]) if d]
    assert [d["kind"] for d in docs[:3]] == ["EC2NodeClass", "NodePool", "NodePool"]
    on_demand = next(p for p in pools if p.inputs["metadata"]["name"].endswith("-od"))
    assert docs[1]["spec"] == on_demand.inputs["spec"]
    assert run.outputs["node_pool_names"] == sorted(p.inputs["metadata"]["name"] for p in pools)


def test_karpenter_pods_carry_do_not_disrupt_for_their_startup_budget() -> None:
    plan = single_instance_plan()
    run = deploy_run(plan, KARPENTER)
    for deployment in run.of_type("kubernetes:apps/v1:Deployment"):
        annotations = deployment.inputs["spec"]["template"]["metadata"]["annotations"]
        assert annotations["karpenter.sh/do-not-disrupt"] == f"{startup_budget_s(plan, 'server')}s"
        # readiness waits for Karpenter to register the node (15 min) and the model to load
        assert deployment.custom_timeouts["create"] == f"{startup_budget_s(plan, 'server') + 900}s"
    eks = deploy_run(plan, {**KARPENTER, "target": "eks", "subnetIds": ("subnet-a",)})
    assert "karpenter.sh/do-not-disrupt" not in eks.outputs["kubernetes_yaml"]


def test_two_node_plan_gets_a_cluster_placement_group_and_one_az() -> None:
    plan = two_node_plan()
    run = deploy_run(plan, {**KARPENTER, "subnetIds": ("subnet-a", "subnet-b")})
    (placement,) = run.of_type("aws:ec2/placementGroup:PlacementGroup")
    assert placement.inputs["strategy"] == "cluster"
    (node_class,) = run.of_type(NODECLASS)
    assert node_class.inputs["spec"]["placementGroupSelector"] == {"name": placement.inputs["name"]}
    assert placement.urn in node_class.dependencies
    # subnet-a (use1-az1) does not offer p5.48xlarge; subnet-b (use1-az6) does
    assert node_class.inputs["spec"]["subnetSelectorTerms"] == [{"id": "subnet-b"}]
    (pool,) = run.of_type(NODEPOOL)
    zone = [r for r in pool.inputs["spec"]["template"]["spec"]["requirements"]
            if r["key"] == "topology.k8s.aws/zone-id"]
    assert zone == [{"key": "topology.k8s.aws/zone-id", "operator": "In", "values": ["use1-az6"]}]
    (lws,) = run.of_type("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet")
    leader = lws.inputs["spec"]["leaderWorkerTemplate"]["leaderTemplate"]
    budget = startup_budget_s(plan, "leader")
    assert leader["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"] == f"{budget}s"


def test_karpenter_without_a_cluster_name_is_one_error_before_any_resource() -> None:
    config = example_config(target="karpenter")
    del config["llm-advisor:clusterName"]
    with pytest.raises(ValidationError) as caught:
        run_main_program(config)
    errors = caught.value.errors()
    assert len(errors) == 1 and errors[0]["loc"][0] in ("clusterName", "cluster_name")
    assert "required when target is karpenter; `pulumi config set clusterName NAME`" in errors[0]["msg"]
    log: list = []
    with pytest.raises(ValidationError, match="clusterName"):
        deploy_run(single_instance_plan(), {**KARPENTER, "clusterName": ""}, log=log)
    assert log == []


def test_karpenter_refuses_bottlerocket_and_needs_no_subnets_while_eks_does() -> None:
    with pytest.raises(ValidationError, match="amiType"):
        StackConfig.model_validate({**KARPENTER, "amiType": "BOTTLEROCKET_x86_64_NVIDIA"})
    assert StackConfig.model_validate(KARPENTER).subnet_ids == ()
    for target in ("eks", "ec2"):
        with pytest.raises(ValidationError, match="subnetIds"):
            StackConfig.model_validate({**KARPENTER, "target": target})


def test_example_stack_previews_as_karpenter_with_the_real_planner() -> None:
    run = run_main_program(example_config(target="karpenter"))
    assert not run.of_type("aws:eks/nodeGroup:NodeGroup")
    plan = run.outputs["plan"]
    pools = run.of_type(NODEPOOL)
    capacities = sorted(r["values"][0] for p in pools for r in requirements(p.inputs)
                        if r["key"] == "karpenter.sh/capacity-type")
    assert capacities == ["on-demand", "spot"]
    # the example names subnets: the node class selects them
    (node_class,) = run.of_type(NODECLASS)
    assert {t["id"] for t in node_class.inputs["spec"]["subnetSelectorTerms"]} == set(
        json.loads(example_config()["llm-advisor:subnetIds"]))
    assert run.outputs["endpoint"].startswith("http://vllm-") and plan["placement"]["instance_type"]
