"""Pulumi components under `pulumi.runtime.set_mocks`: node groups, launch templates, ASG, secrets, config.

Each test runs infra.stack.deploy for a hand-built Plan through infra.preview.run_program (the mock
runtime) and checks the resource inputs the program declared.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from llm_advisor.infra.config import PROJECT, StackConfig, check_known_keys, config_keys, stack_config_from
from llm_advisor.infra.ec2 import DLAMI_SSM_PARAMETER
from llm_advisor.infra.eks import efa_subnet
from llm_advisor.infra.preview import MOCK_AMI, is_secret_value
from llm_advisor.infra.volumes import checkpoint_gib, ec2_root_volume_gib, eks_volume
from templates.render import RenderError, pod_requests
from tests.conftest import (
    EC2,
    EKS,
    SENTINEL,
    deploy_run,
    options_for,
    plain,
    single_instance_plan,
    spot_plan,
    two_node_plan,
)

ROOT = Path(__file__).resolve().parent.parent
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def test_mixed_plan_makes_an_on_demand_and_a_spot_node_group() -> None:
    run = deploy_run(single_instance_plan(), EKS)
    groups = {g.name: plain(g.inputs) for g in run.of_type(NODE_GROUP)}
    od, spot = groups["vllm-llama-3-1-8b-instruct-od"], groups["vllm-llama-3-1-8b-instruct-spot"]
    assert od["capacityType"] == "ON_DEMAND" and od["instanceTypes"] == ["g6e.xlarge"]
    assert spot["capacityType"] == "SPOT" and spot["instanceTypes"] == ["g6e.xlarge", "g6e.2xlarge"]
    for group in (od, spot):
        assert group["amiType"] == "AL2023_x86_64_NVIDIA"
        assert group["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
        assert group["labels"]["llm-advisor/pool"] == "vllm-llama-3-1-8b-instruct"
        assert group["scalingConfig"] == {"desiredSize": 1, "minSize": 1, "maxSize": 1}
        assert group["subnetIds"] == ["subnet-a", "subnet-b"]
        assert group["clusterName"] == "inference"


def test_all_spot_plan_makes_one_diversified_spot_group_sized_to_the_plan() -> None:
    run = deploy_run(spot_plan(), EKS)
    (group,) = run.of_type(NODE_GROUP)
    inputs = plain(group.inputs)
    assert inputs["capacityType"] == "SPOT" and inputs["instanceTypes"] == ["g6e.12xlarge", "g6e.24xlarge"]
    assert inputs["scalingConfig"]["desiredSize"] == 2


def test_launch_template_disk_imdsv2_encryption() -> None:
    plan = single_instance_plan()
    (template,) = run_lt = deploy_run(plan, EKS).of_type(LAUNCH_TEMPLATE)
    inputs = plain(template.inputs)
    (mapping,) = inputs["blockDeviceMappings"]
    # 20 GiB OS + 30 GiB image + 14.96 GiB x 1.1 checkpoint = 66.5 -> 70 GiB
    assert mapping == {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 70, "volumeType": "gp3",
                                                          "encrypted": "true", "deleteOnTermination": "true",
                                                          "throughput": 125, "iops": 3000}}  # gp3 baseline
    assert inputs["metadataOptions"] == {"httpTokens": "required", "httpPutResponseHopLimit": 1,
                                         "httpEndpoint": "enabled"}
    assert "imageId" not in inputs  # EKS picks the AMI from ami_type
    assert "networkInterfaces" not in inputs and "placement" not in inputs and run_lt


def test_bottlerocket_sizes_its_data_volume() -> None:
    run = deploy_run(single_instance_plan(), {**EKS, "amiType": "BOTTLEROCKET_x86_64_NVIDIA"})
    (mapping,) = plain(run.of_type(LAUNCH_TEMPLATE)[0].inputs)["blockDeviceMappings"]
    assert mapping["deviceName"] == "/dev/xvdb" and mapping["ebs"]["volumeSize"] == 50  # 30 + 16.5 -> 50
    assert plain(run.of_type(NODE_GROUP)[0].inputs)["amiType"] == "BOTTLEROCKET_x86_64_NVIDIA"


def test_two_node_plan_gets_efa_a_cluster_placement_group_and_one_az() -> None:
    run = deploy_run(two_node_plan(efa_interfaces_per_instance=4), EKS)
    (placement,) = run.of_type("aws:ec2/placementGroup:PlacementGroup")
    assert placement.inputs["strategy"] == "cluster"
    inputs = plain(run.of_type(LAUNCH_TEMPLATE)[0].inputs)
    assert inputs["placement"] == {"groupName": placement.name}
    interfaces = inputs["networkInterfaces"]
    # one `efa` (EFA + ENA) primary at card 0, `efa-only` on the other cards at device index 0
    assert [i["interfaceType"] for i in interfaces] == ["efa", "efa-only", "efa-only", "efa-only"]
    assert [i["networkCardIndex"] for i in interfaces] == [0, 1, 2, 3]
    assert [i["deviceIndex"] for i in interfaces] == [0, 0, 0, 0]
    assert "sg-0mockcluster0000000" in interfaces[0]["securityGroups"]
    (efa_sg,) = run.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert plain(efa_sg.inputs)["ingress"][0]["self"] is True
    (group,) = run.of_type(NODE_GROUP)
    # subnet-a (use1-az1) does not offer the type; subnet-b (use1-az6) does.
    assert plain(group.inputs)["subnetIds"] == ["subnet-b"]
    assert plain(group.inputs)["scalingConfig"] == {"desiredSize": 2, "minSize": 2, "maxSize": 2}


def test_efa_subnet_is_the_first_whose_az_offers_the_type() -> None:
    plan = two_node_plan()
    assert efa_subnet(plan, {"subnet-x": "use1-az6", "subnet-y": "use1-az4"}) == "subnet-x"
    assert efa_subnet(plan, {"subnet-x": "use1-az2", "subnet-y": "use1-az4"}) == "subnet-y"
    # offerings unknown: the first subnet, as before
    assert efa_subnet(two_node_plan(availability_zone_ids=()), {"subnet-x": "use1-az2"}) == "subnet-x"


def test_no_subnet_in_an_offering_az_fails_before_any_resource_naming_the_azs() -> None:
    log: list = []
    with pytest.raises(ValueError, match="use1-az4, use1-az6") as caught:
        deploy_run(two_node_plan(), {**EKS, "subnetIds": ("subnet-a", "subnet-c")}, log=log)
    assert "subnet-a (use1-az1)" in str(caught.value) and "subnetIds" in str(caught.value)
    assert log == []


def test_efa_count_comes_from_the_plan_and_matches_the_pods() -> None:
    run = deploy_run(two_node_plan(), EKS)
    interfaces = plain(run.of_type(LAUNCH_TEMPLATE)[0].inputs)["networkInterfaces"]
    assert len(interfaces) == 32
    assert [i["interfaceType"] for i in interfaces].count("efa") == 1
    manifests = list(yaml.safe_load_all(run.outputs["kubernetes_yaml"]))
    lws = next(d for d in manifests if d and d["kind"] == "LeaderWorkerSet")
    # The stock image has no EFA libraries: no EFA device requested, no EFA plugin, and the hint says so.
    for role in ("leaderTemplate", "workerTemplate"):
        container = lws["spec"]["leaderWorkerTemplate"][role]["spec"]["containers"][0]
        assert "vpc.amazonaws.com/efa" not in container["resources"]["limits"]
    assert "aws-efa-k8s-device-plugin" not in run.outputs["kubectl_apply_hint"]
    assert "TCP sockets" in run.outputs["kubectl_apply_hint"]
    efa_build = {**EKS, "vllmImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/vllm-efa:v0.11.0",
                 "efaImage": True}
    run = deploy_run(two_node_plan(), efa_build)
    docs = yaml.safe_load_all(run.outputs["kubernetes_yaml"])
    lws = next(d for d in docs if d and d["kind"] == "LeaderWorkerSet")
    for role in ("leaderTemplate", "workerTemplate"):
        container = lws["spec"]["leaderWorkerTemplate"][role]["spec"]["containers"][0]
        assert container["resources"]["limits"]["vpc.amazonaws.com/efa"] == 32
        assert container["resources"]["requests"]["vpc.amazonaws.com/efa"] == 32
    hint = run.outputs["kubectl_apply_hint"]
    assert "aws-efa-k8s-device-plugin" in hint and '"value": "present"' in hint


def test_efa_image_without_an_image_is_refused_naming_the_key() -> None:
    with pytest.raises(ValidationError, match="efaImage"):
        StackConfig.model_validate({**EKS, "efaImage": True})


def test_an_efa_plan_without_a_count_cannot_be_built() -> None:
    # The Placement validator refuses it, so no stack ever sees one (it failed in deploy before schema 2).
    with pytest.raises(ValidationError, match="efa_interfaces_per_instance"):
        two_node_plan(efa_interfaces_per_instance=0)


def test_a_plan_without_a_served_checkpoint_fails_before_any_resource() -> None:
    for config in (EKS, EC2):
        log: list = []
        with pytest.raises(RenderError, match="servedModel"):
            deploy_run(single_instance_plan(served_model=None, quantization="awq"), config, log=log)
        assert log == []


def test_vllm_image_config_reaches_pods_and_user_data() -> None:
    image = "123.dkr.ecr.us-east-1.amazonaws.com/vllm-efa:0.11"
    eks = deploy_run(two_node_plan(), {**EKS, "vllmImage": image})
    assert f'image: "{image}"' in eks.outputs["kubernetes_yaml"]
    assert "not declared an EFA build" in eks.outputs["kubectl_apply_hint"]
    ec2 = deploy_run(spot_plan(), {**EC2, "vllmImage": image})
    user_data = base64.b64decode(plain(ec2.of_type(LAUNCH_TEMPLATE)[0].inputs)["userData"]).decode()
    assert f"--entrypoint vllm {image} serve" in user_data


def test_pods_cache_in_an_emptydir_that_pod_security_baseline_allows() -> None:
    # Pod Security Standards, baseline: "HostPath volumes must be forbidden". The emptyDir lives in the
    # kubelet's ephemeral storage: the root volume on AL2023, the data volume (/local) on Bottlerocket,
    # the volume eks_volume sizes for the checkpoint.
    for ami in ("AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"):
        run = deploy_run(single_instance_plan(), {**EKS, "amiType": ami})
        assert "    hostPath:" not in run.outputs["kubernetes_yaml"]
        assert "sizeLimit: \"17Gi\"" in run.outputs["kubernetes_yaml"]


def test_single_node_plan_has_no_efa_interfaces() -> None:
    run = deploy_run(single_instance_plan(), EKS)
    assert "networkInterfaces" not in run.of_type(LAUNCH_TEMPLATE)[0].inputs
    assert "vpc.amazonaws.com/efa" not in run.outputs["kubernetes_yaml"]


def test_node_role_is_created_only_when_none_is_given() -> None:
    created = deploy_run(spot_plan(), EKS)
    assert len(created.of_type("aws:iam/role:Role")) == 1
    given = deploy_run(spot_plan(), {**EKS, "nodeRoleArn": "arn:aws:iam::1:role/nodes"})
    assert not given.of_type("aws:iam/role:Role")
    assert given.of_type(NODE_GROUP)[0].inputs["nodeRoleArn"] == "arn:aws:iam::1:role/nodes"


def test_ec2_asg_distribution_is_explicit() -> None:
    run = deploy_run(single_instance_plan(), EC2)
    (asg,) = run.of_type("aws:autoscaling/group:Group")
    inputs = plain(asg.inputs)
    policy = inputs["mixedInstancesPolicy"]
    assert policy["instancesDistribution"] == {
        "onDemandBaseCapacity": 1, "onDemandPercentageAboveBaseCapacity": 0,
        "onDemandAllocationStrategy": "prioritized", "spotAllocationStrategy": "price-capacity-optimized",
    }
    assert [o["instanceType"] for o in policy["launchTemplate"]["overrides"]] == ["g6e.xlarge", "g6e.2xlarge"]
    assert inputs["capacityRebalance"] is True
    assert (inputs["desiredCapacity"], inputs["minSize"], inputs["maxSize"]) == (2, 2, 2)


def test_on_demand_plan_on_ec2_is_all_on_demand() -> None:
    plan = single_instance_plan(capacity_type="on-demand", on_demand_instances=2)
    distribution = plain(deploy_run(plan, EC2).of_type("aws:autoscaling/group:Group")[0].inputs)[
        "mixedInstancesPolicy"]["instancesDistribution"]
    assert distribution["onDemandBaseCapacity"] == 2
    assert distribution["onDemandPercentageAboveBaseCapacity"] == 100


def test_ec2_launch_template_uses_the_ssm_ami_imdsv2_and_no_public_ip() -> None:
    run = deploy_run(spot_plan(), EC2)
    inputs = plain(run.of_type(LAUNCH_TEMPLATE)[0].inputs)
    assert inputs["imageId"] == MOCK_AMI  # the mock's answer to the SSM parameter lookup
    assert inputs["metadataOptions"]["httpTokens"] == "required"
    assert inputs["networkInterfaces"][0]["associatePublicIpAddress"] == "false"
    (mapping,) = inputs["blockDeviceMappings"]
    # 75 GiB DLAMI snapshot + 30 GiB image + 14.96 GiB x TP 2 x 1.1 = 137.9 -> 140
    assert mapping["ebs"]["volumeSize"] == ec2_root_volume_gib(spot_plan()) == 140
    assert mapping["ebs"]["encrypted"] == "true" and mapping["ebs"]["volumeType"] == "gp3"
    user_data = base64.b64decode(inputs["userData"]).decode()
    assert user_data.startswith("#cloud-config") and "--secret-id arn:aws:mock:" in user_data
    policy = json.loads(run.of_type("aws:iam/rolePolicy:RolePolicy")[0].inputs["policy"])
    assert policy["Statement"][0]["Action"] == ["secretsmanager:GetSecretValue"]
    assert policy["Statement"][0]["Resource"].startswith("arn:aws:mock:")


def test_ssm_parameter_is_the_dlami_one() -> None:
    assert DLAMI_SSM_PARAMETER.startswith("/aws/service/deeplearning/ami/x86_64/")
    assert DLAMI_SSM_PARAMETER.endswith("amazon-linux-2023/latest/ami-id")


def _plain_strings(value: Any) -> list[str]:
    """Every string in a value, except inside values marked secret."""
    if is_secret_value(value):
        return []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_plain_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _plain_strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize(("plan_factory", "config"), [
    (single_instance_plan, EKS), (two_node_plan, EKS), (single_instance_plan, EC2), (spot_plan, EC2),
])
def test_token_is_never_in_plain_text(plan_factory, config) -> None:
    run = deploy_run(plan_factory(), config)
    for resource in run.resources:
        for text in _plain_strings(resource.inputs):
            decoded = text
            if resource.type == LAUNCH_TEMPLATE and text.startswith("I2Nsb3VkLWNvbmZpZw"):
                decoded = base64.b64decode(text).decode()  # user data
            assert SENTINEL not in decoded, f"{resource.type} {resource.name}"
    assert SENTINEL not in json.dumps(run.outputs)
    (version,) = run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret_value(version.inputs["secretString"])
    assert version.inputs["secretString"]["value"] == SENTINEL  # it did reach the secret, encrypted


def test_without_a_token_no_secret_is_created() -> None:
    run = deploy_run(single_instance_plan(), EKS, token=None)
    assert not run.of_type("aws:secretsmanager/secret:Secret")
    assert "hf_token_secret_arn" not in run.outputs
    # The pods still reference the (optional) Secret, and the placeholder + fill command are output.
    assert "optional: true" in run.outputs["kubernetes_yaml"]
    assert '"${HF_TOKEN}"' in run.outputs["hf_token_secret_yaml"]
    assert "read -rs HF_TOKEN" in run.outputs["kubectl_apply_hint"]


def test_stack_outputs() -> None:
    run = deploy_run(two_node_plan(), EKS)
    assert {"plan", "instance_type", "price_source", "prices_as_of", "vllm_config", "kubectl_apply_hint",
            "kubernetes_yaml", "hf_token_secret_yaml", "hf_token_secret_arn"} <= set(run.outputs)
    assert json.loads(json.dumps(run.outputs["plan"])) == two_node_plan().model_dump(mode="json")
    assert run.outputs["instance_type"] == "p5.48xlarge" and not run.secret_outputs
    assert run.outputs["price_source"] == "snapshot"
    assert run.outputs["prices_as_of"] == "2026-07-20T13:44:30+00:00"
    assert run.outputs["plan"]["schema_version"] == 2
    assert run.outputs["plan"]["placement"]["instance_type"] == "p5.48xlarge"
    assert run.outputs["plan"]["placement"]["needs_efa"] is True
    assert "tensor-parallel-size: 8" in run.outputs["vllm_config"]
    assert "kind: LeaderWorkerSet" in run.outputs["kubernetes_yaml"]
    assert "kubectl apply -f kubernetes.yaml" in run.outputs["kubectl_apply_hint"]
    # kubectl create (no last-applied annotation), token on stdin; never `kubectl apply` of the Secret
    hint = run.outputs["kubectl_apply_hint"]
    assert "create secret generic hf-token --from-file=HF_TOKEN=/dev/stdin" in hint
    assert "hf-token-secret.yaml | kubectl apply" not in run.outputs["kubectl_apply_hint"]
    assert "aws secretsmanager get-secret-value" in run.outputs["kubectl_apply_hint"]
    assert SENTINEL not in json.dumps(run.outputs)


def test_ec2_target_refuses_a_multi_instance_replica_before_any_resource() -> None:
    with pytest.raises(RenderError, match="target eks"):
        deploy_run(two_node_plan(), EC2)


@pytest.mark.parametrize(("config", "key"), [
    ({**EKS, "maxModelLen": "lots"}, "maxModelLen"),
    ({**EKS, "capacity": "cheap"}, "capacity"),
    ({**EKS, "clusterName": ""}, "clusterName"),
    ({**EKS, "regions": ("us-east-1", "us-west-2")}, "regions"),
    ({**EC2, "subnetIds": ()}, "subnetIds"),
    ({**EKS, "amiType": "AL2_x86_64_GPU"}, "amiType"),
    ({**EKS, "churnThreshold": "1.5"}, "churnThreshold"),
    ({**EKS, "maxTimePerOutputTokenMs": "-5"}, "maxTimePerOutputTokenMs"),
])
def test_invalid_config_names_the_key(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError, match=key):
        StackConfig.model_validate(config)


def test_unknown_config_key_is_named() -> None:
    with pytest.raises(ValueError, match="maxModelLength"):
        check_known_keys(["model", "maxModelLength"])


def test_config_strings_from_pulumi_are_parsed() -> None:
    raw = {"model": "m", "maxModelLen": "4096", "regions": '["us-west-2"]', "subnetIds": "subnet-a, subnet-b",
           "clusterName": "c", "headroom": "0.5", "maxUsdPerHour": "", "associatePublicIp": "false"}
    cfg = stack_config_from(raw.get)
    assert cfg.max_model_len == 4096 and cfg.regions == ("us-west-2",)
    assert cfg.subnet_ids == ("subnet-a", "subnet-b") and cfg.headroom == 0.5 and cfg.max_usd_per_hour is None
    workload = cfg.to_workload()
    assert workload.max_model_len == 4096 and workload.regions == ("us-west-2",)


def test_workload_keys_reach_the_planner() -> None:
    raw = {"model": "m", "subnetIds": "s", "clusterName": "c", "maxTimePerOutputTokenMs": "250",
           "targetOutputTokensPerS": "", "allowedFamilies": '["g6e", "g6"]', "excludedFamilies": "p3",
           "strictDtype": "true"}
    workload = stack_config_from(raw.get).to_workload()
    assert workload.max_time_per_output_token_ms == 250 and workload.target_output_tokens_per_s is None
    assert workload.allowed_families == ("g6e", "g6") and workload.excluded_families == ("p3",)
    assert workload.strict_dtype is True


def test_pulumi_yaml_declares_every_key_with_the_programs_defaults() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT and project["runtime"]["name"] == "python"
    declared = project["config"]
    # hfToken is a declared secret (Pulumi refuses a plain-text value); required, empty for public models
    # (a secret with a default "" fails Pulumi's validation since 3.202, pulumi/pulumi#21865).
    assert set(declared) == {*config_keys(), "hfToken"}
    assert declared["hfToken"]["secret"] is True and "default" not in declared["hfToken"]
    # subnetIds defaults to [] (target karpenter may select subnets by tag); eks and ec2 require it.
    assert {k for k, v in declared.items() if "default" not in v} == {"model", "hfToken"}
    declared = {k: v for k, v in declared.items() if k != "hfToken"}
    for spec in declared.values():
        assert spec["type"] in {"string", "integer", "boolean", "array"} and spec["description"]
    defaults = {k: (json.dumps(v["default"]) if v["type"] == "array" else str(v["default"]).lower()
                    if v["type"] == "boolean" else str(v["default"]))
                for k, v in declared.items() if "default" in v}
    from_yaml = stack_config_from({**defaults, "model": "m", "clusterName": "c", "subnetIds": "s"}.get)
    assert from_yaml.churn_threshold == 0.05 and from_yaml.previous_instance_type is None
    from_model = StackConfig.model_validate({"model": "m", "clusterName": "c", "subnetIds": ("s",)})
    assert from_yaml == from_model


def test_example_stack_uses_only_declared_keys() -> None:
    stack = yaml.safe_load((ROOT / "Pulumi.example.yaml").read_text())["config"]
    keys = [k.split(":", 1)[1] for k in stack]
    check_known_keys(keys)
    assert all(k.startswith(f"{PROJECT}:") for k in stack)


def test_volume_sizes() -> None:
    # 405B fp8 online quantization: the checkpoint on disk is bf16, twice the fp8 weights in GPU memory.
    plan = two_node_plan()
    assert checkpoint_gib(plan) == pytest.approx(24.3 * 16 * 2)
    assert eks_volume(plan, "AL2023_x86_64_NVIDIA") == ("/dev/xvda", 910)  # 20 + 30 + 777.6 x 1.1 = 905.4


def test_a_pre_quantized_checkpoint_is_sized_in_its_own_format() -> None:
    # Meta's FP8 405B checkpoint: on disk as in GPU memory (review #14: not x2).
    plan = two_node_plan(served_model="meta-llama/Llama-3.1-405B-Instruct-FP8", checkpoint_quantization="fp8")
    assert checkpoint_gib(plan) == pytest.approx(24.3 * 16)
    assert eks_volume(plan, "AL2023_x86_64_NVIDIA") == ("/dev/xvda", 480)  # 20 + 30 + 388.8 x 1.1 = 477.7
    awq = single_instance_plan(quantization="awq", checkpoint_quantization="awq",
                               memory=single_instance_plan().memory.model_copy(update={"weights_gib": 5.4}))
    assert checkpoint_gib(awq) == pytest.approx(5.4)
    bnb = single_instance_plan(quantization="bnb4", checkpoint_quantization="none",
                               memory=single_instance_plan().memory.model_copy(update={"weights_gib": 4.0}))
    # bf16 checkpoint downloaded, bnb 4-bit in memory: 2 bytes on disk per 0.5625 (4 bits + fp32 absmax/64)
    assert checkpoint_gib(bnb) == pytest.approx(4.0 * 2 / 0.5625)


def test_eks_with_several_regions_names_the_key_and_the_fix_without_the_whole_config() -> None:
    from llm_advisor.planner.options import describe_validation_error

    with pytest.raises(ValidationError) as caught:
        StackConfig.model_validate({**EKS, "regions": ("us-east-1", "us-west-2")})
    message = describe_validation_error(caught.value)
    assert message.startswith("regions: ") and "use target ec2" in message and "regions[0]" in message
    assert "clusterName" not in message and "subnet-a" not in message  # no dump of the other keys
    for config, key in (({**EKS, "clusterName": ""}, "clusterName"), ({**EC2, "subnetIds": ()}, "subnetIds")):
        with pytest.raises(ValidationError) as caught:
            StackConfig.model_validate(config)
        message = describe_validation_error(caught.value)
        assert message.startswith(f"{key}: ") and "'model': 'm'" not in message


def test_served_model_key_reaches_the_workload() -> None:
    cfg = stack_config_from({"model": "m", "subnetIds": "s", "clusterName": "c", "servedModel": "org/m-AWQ",
                             "vllmImage": ""}.get)
    assert cfg.to_workload().served_model == "org/m-AWQ" and cfg.vllm_image is None
    assert stack_config_from({"model": "m", "subnetIds": "s", "clusterName": "c",
                              "servedModel": ""}.get).to_workload().served_model is None


def _node_shape(plan) -> dict[str, float]:
    options = options_for(plan)
    return {"vcpus": options.node_vcpus, "memory_gib": options.node_memory_gib}


def test_node_shape_comes_from_the_plan() -> None:
    # g6e.xlarge (4 vCPUs, 32 GiB) is the smaller of g6e.xlarge / g6e.2xlarge (snapshot facts)
    assert _node_shape(single_instance_plan()) == {"vcpus": 4, "memory_gib": 32.0}
    # whatever the plan carries (the priced catalog's facts), with no catalog lookup: a type no catalog
    # lists renders too, and the Pulumi program and `render` size the pods alike
    plan = single_instance_plan(instance_type="p9.xlarge", spot_instance_types=(), node_vcpus=40,
                                node_memory_gib=320.0)
    assert _node_shape(plan) == {"vcpus": 40, "memory_gib": 320.0}
    cpu, memory_mib = pod_requests(plan, options_for(plan))
    assert cpu > pod_requests(single_instance_plan(), options_for(single_instance_plan()))[0]
    docs = list(yaml.safe_load_all(deploy_run(plan, EKS).outputs["kubernetes_yaml"]))
    pods = [d["spec"]["template"]["spec"] for d in docs if d and d["kind"] == "Deployment"]
    requests = [p["containers"][0]["resources"]["requests"] for p in pods]
    assert requests and all((r["cpu"], r["memory"]) == (f"{cpu}m", f"{memory_mib}Mi") for r in requests)
