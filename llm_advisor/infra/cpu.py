"""The llama.cpp CPU path on AWS (issue 13): a CpuPlan's nodes and workload.

* target eks: one EKS managed node group of the plan's CPU type, on-demand (CPU plans are priced
  on-demand), on the standard AL2023 AMI of its architecture (AL2023_x86_64_STANDARD, or
  AL2023_ARM_64_STANDARD for Graviton), labelled with our pool, with no taint: nothing but the llama.cpp
  pod's node selector keeps other pods away, and nothing needs a toleration or a device plugin.
* target karpenter: an EC2NodeClass + one NodePool without the GPU taint, the type and architecture as
  requirements, limits in vCPUs only.
* target ec2: a launch template on the standard AL2023 AMI (public SSM parameter per architecture) with the
  rendered llama.cpp cloud-init, and an Auto Scaling group of `replicas` instances.

The manifests and the cloud-init come from templates/render.py (render_cpu_kubernetes /
render_cpu_cloud_init); this module only declares resources around them.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import yaml

from llm_advisor.infra.eks import NODE_POLICIES, ec2_assume_role_policy, encrypted_gp3, metadata_options
from llm_advisor.infra.karpenter import (
    AL2023_ALIAS,
    CONSOLIDATE_AFTER,
    DISCOVERY_TAG,
    DISRUPTION_BUDGET_NODES,
    IMDS_HOP_LIMIT,
    LIMIT_HEADROOM_NODES,
    NODECLASS_API,
    NODEPOOL_API,
    KarpenterSettings,
    _custom,
)
from llm_advisor.infra.volumes import ROOT_DEVICE
from llm_advisor.infra.workload import (
    BUILTIN_NAMESPACES,
    KARPENTER_REGISTRATION_S,
    KubeObject,
    cluster_provider,
    workload_objects,
)
from llm_advisor.planner.cpu import CpuPlan
from templates.llamacpp import (
    EKS_CPU_AMI,
    K8S_ARCH,
    LLAMACPP_PORT,
    node_labels,
    node_volume_gib,
    startup_budget_s,
)

# Public SSM parameters of the latest standard Amazon Linux 2023 AMI per architecture (AL2023 user guide,
# "Launching AL2023 using the SSM parameter": /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-
# <arch>). It has the AWS CLI and curl; the cloud-init installs Docker.
AL2023_SSM_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
# The ASG health-check grace: image pull + GGUF download + load (templates/llamacpp.py startup budget)
# come on top of boot, so one whole budget is allowed.
SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


class CpuNodeGroup(pulumi.ComponentResource):
    """A launch template (disk for the GGUF, IMDSv2) and one untainted on-demand EKS node group."""

    node_group_names: pulumi.Output[list[str]]

    def __init__(self, name: str, cpu: CpuPlan, cluster_name: pulumi.Input[str],
                 subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]], pool: str,
                 node_role_arn: pulumi.Input[str] | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-advisor:eks:CpuNodeGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        attachments: list[pulumi.Resource] = []
        if node_role_arn is None:
            role = aws.iam.Role(f"{name}-node-role", assume_role_policy=ec2_assume_role_policy(), opts=child)
            for i, policy_arn in enumerate(NODE_POLICIES):
                attachments.append(aws.iam.RolePolicyAttachment(
                    f"{name}-node-policy-{i}", role=role.name, policy_arn=policy_arn, opts=child))
            node_role_arn = role.arn
        template = aws.ec2.LaunchTemplate(
            f"{name}-lt", name_prefix=f"{name}-",
            block_device_mappings=[encrypted_gp3(ROOT_DEVICE, node_volume_gib(cpu))],
            metadata_options=metadata_options(), opts=child,
        )
        group = aws.eks.NodeGroup(
            f"{name}-od",
            cluster_name=cluster_name,
            node_role_arn=node_role_arn,
            subnet_ids=list(subnet_ids) if isinstance(subnet_ids, (list, tuple)) else subnet_ids,
            capacity_type="ON_DEMAND",
            ami_type=EKS_CPU_AMI[cpu.instance.arch],
            instance_types=[cpu.instance.instance_type],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=cpu.replicas, min_size=cpu.replicas, max_size=cpu.replicas),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels=node_labels(pool),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )
        self.node_group_names = pulumi.Output.all(group.node_group_name)
        self.register_outputs({"node_group_names": self.node_group_names})


class CpuAutoScalingGroup(pulumi.ComponentResource):
    """Instance role (reads only the token secret), security group (port 8080 from the VPC), launch
    template on the standard AL2023 AMI with the llama.cpp cloud-init, ASG of `replicas` instances."""

    asg_name: pulumi.Output[str]
    ami_id: pulumi.Output[str]

    def __init__(self, name: str, cpu: CpuPlan, subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
                 user_data: pulumi.Input[str], hf_token_read_policy: pulumi.Input[str] | None = None,
                 associate_public_ip: bool = False, ami_id: str | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-advisor:ec2:CpuAutoScalingGroup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = cpu.instance.region
        role = aws.iam.Role(f"{name}-role", assume_role_policy=ec2_assume_role_policy(), opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-ssm", role=role.name, policy_arn=SSM_CORE_POLICY, opts=child)
        if hf_token_read_policy is not None:
            aws.iam.RolePolicy(f"{name}-hf-token", role=role.id, policy=hf_token_read_policy, opts=child)
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=child)
        first_subnet = (subnet_ids[0] if isinstance(subnet_ids, (list, tuple))
                        else pulumi.Output.from_input(subnet_ids).apply(lambda ids: ids[0]))
        subnet = aws.ec2.get_subnet_output(id=first_subnet, region=region, opts=invoke)
        vpc = aws.ec2.get_vpc_output(id=subnet.vpc_id, region=region, opts=invoke)
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", description="llama.cpp server: reachable from the VPC only", vpc_id=subnet.vpc_id,
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=LLAMACPP_PORT,
                                                      to_port=LLAMACPP_PORT, cidr_blocks=[vpc.cidr_block])],
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0,
                                                    cidr_blocks=["0.0.0.0/0"])],
            opts=child,
        )
        image_id: pulumi.Input[str] = ami_id or aws.ssm.get_parameter_output(
            name=AL2023_SSM_PARAMETER.format(arch=cpu.instance.arch), region=region, opts=invoke
        ).insecure_value
        template = aws.ec2.LaunchTemplate(
            f"{name}-lt", name_prefix=f"{name}-", image_id=image_id,
            instance_type=cpu.instance.instance_type,
            block_device_mappings=[encrypted_gp3(ROOT_DEVICE, node_volume_gib(cpu))],
            metadata_options=metadata_options(),
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            network_interfaces=[aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                device_index=0, associate_public_ip_address=str(associate_public_ip).lower(),
                security_groups=[security_group.id], delete_on_termination="true")],
            user_data=pulumi.Output.from_input(user_data).apply(
                lambda text: base64.b64encode(text.encode()).decode()),
            opts=child,
        )
        group = aws.autoscaling.Group(
            f"{name}-asg", vpc_zone_identifiers=subnet_ids,
            desired_capacity=cpu.replicas, min_size=cpu.replicas, max_size=cpu.replicas,
            health_check_grace_period=startup_budget_s(cpu),
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)),
            tags=[aws.autoscaling.GroupTagArgs(key="Name", value=name, propagate_at_launch=True)],
            opts=child,
        )
        self.asg_name = group.name
        self.ami_id = template.image_id
        self.register_outputs({"asg_name": self.asg_name, "ami_id": self.ami_id})


def cpu_karpenter_manifests(cpu: CpuPlan, settings: KarpenterSettings) -> list[dict[str, Any]]:
    """EC2NodeClass (AL2023 alias, disk for the GGUF) and one NodePool without the GPU taint."""
    discovery = [{"tags": {DISCOVERY_TAG: settings.discovery}}]
    node_class = {
        "apiVersion": NODECLASS_API, "kind": "EC2NodeClass", "metadata": {"name": settings.name},
        "spec": {
            "role": settings.node_role,
            "amiSelectorTerms": [{"alias": AL2023_ALIAS}],
            "subnetSelectorTerms": [{"id": s} for s in settings.subnet_ids] or discovery,
            "securityGroupSelectorTerms": discovery,
            "blockDeviceMappings": [{"deviceName": ROOT_DEVICE, "ebs": {
                "volumeSize": f"{node_volume_gib(cpu)}Gi", "volumeType": "gp3", "encrypted": True,
                "deleteOnTermination": True}}],
            "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required",
                                "httpPutResponseHopLimit": IMDS_HOP_LIMIT},
            "tags": {"llm-advisor/pool": settings.name},
        },
    }
    pool = {
        "apiVersion": NODEPOOL_API, "kind": "NodePool", "metadata": {"name": settings.name},
        "spec": {
            "template": {
                "metadata": {"labels": node_labels(settings.name)},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass",
                                     "name": settings.name},
                    "requirements": [
                        {"key": "node.kubernetes.io/instance-type", "operator": "In",
                         "values": [cpu.instance.instance_type]},
                        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                        {"key": "kubernetes.io/arch", "operator": "In",
                         "values": [K8S_ARCH[cpu.instance.arch]]},
                    ],
                    "expireAfter": "Never",
                },
            },
            "disruption": {"consolidationPolicy": "WhenEmpty", "consolidateAfter": CONSOLIDATE_AFTER,
                           "budgets": [{"nodes": DISRUPTION_BUDGET_NODES}]},
            "limits": {"cpu": str((cpu.replicas + LIMIT_HEADROOM_NODES) * cpu.instance.vcpus)},
        },
    }
    return [node_class, pool]


def render_cpu_karpenter_yaml(cpu: CpuPlan, settings: KarpenterSettings) -> str:
    header = ("# Karpenter v1 EC2NodeClass + NodePool for the plan's CPU nodes (llm-advisor target\n"
              "# karpenter, engine llama.cpp); no GPU taint. Needs Karpenter v1 running on the cluster.\n")
    objects = cpu_karpenter_manifests(cpu, settings)
    return header + "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects)


def deploy_cpu_on_cluster(name: str, cpu: CpuPlan, cfg: Any, kubernetes_yaml: str,
                          hf_token: pulumi.Input[str] | None, nodes: list[pulumi.Resource],
                          karpenter: KarpenterSettings | None, cluster_name: pulumi.Input[str],
                          parent: pulumi.Resource | None = None) -> dict[str, Any]:
    """Targets eks and karpenter: the Karpenter pool (if any), then, when deployWorkload, the namespace,
    the token Secret and the llama.cpp objects (no device plugin: CPU nodes). Returns stack outputs."""
    objects = workload_objects(kubernetes_yaml)  # before any resource
    outputs: dict[str, Any] = {}
    if karpenter is None and not cfg.deploy_workload:
        return outputs
    provider = cluster_provider(name, cluster_name, cpu.instance.region, None, parent)
    on_cluster = pulumi.ResourceOptions(parent=parent, provider=provider)
    if karpenter is not None:
        node_class, pool = cpu_karpenter_manifests(cpu, karpenter)
        declared_class = _custom(node_class, on_cluster)
        nodes = [*nodes, _custom(pool, pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=[declared_class])))]
        outputs["node_pool_names"] = [pool["metadata"]["name"]]
    if not cfg.deploy_workload:
        return outputs
    before: list[pulumi.Resource] = list(nodes)
    after_nodes = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=before))
    if cfg.namespace not in BUILTIN_NAMESPACES:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": cfg.namespace}}
        before.append(KubeObject(f"{name}-ns", namespace, opts=after_nodes))
    if hf_token is not None:
        secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": {"name": "hf-token", "namespace": cfg.namespace,
                               "labels": {"app.kubernetes.io/managed-by": "llm-advisor"}},
                  "stringData": {"HF_TOKEN": pulumi.Output.secret(hf_token)}}
        before.append(KubeObject(f"{name}-hf-token", secret, opts=pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=list(before)))))
    budget = startup_budget_s(cpu) + (KARPENTER_REGISTRATION_S if karpenter is not None else 0)
    timeouts = pulumi.CustomTimeouts(create=f"{budget}s", update=f"{budget}s")
    declared: list[pulumi.Resource] = []
    for obj in objects:
        awaited = obj["kind"] in ("Deployment", "Service")
        declared.append(KubeObject(
            f"{name}-{obj['kind'].lower()}-{obj['metadata']['name']}", obj,
            pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(
                depends_on=[*before, *declared], custom_timeouts=timeouts if awaited else None)),
        ))
    outputs["endpoint"] = f"http://{name}.{cfg.namespace}.svc:{LLAMACPP_PORT}/v1"
    outputs["readiness_budget_s"] = budget
    return outputs
