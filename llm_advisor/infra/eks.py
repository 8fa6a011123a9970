"""GpuNodeGroups: EKS managed node groups that carry a Plan's GPU instances, one per capacity type.

EKS managed node groups are all-spot or all-on-demand (CreateNodegroup `capacityType`), so an on-demand
base plus spot burst is two node groups. GPU nodes are not tainted by default: we taint them
nvidia.com/gpu=present:NoSchedule and label them with the pool the rendered manifests select on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from llm_advisor.infra.volumes import EksAmiType, eks_volume, gp3_performance
from llm_advisor.planner.models import Plan
from templates.common import (
    CAPACITY_LABEL,
    GPU_PRESENT_LABEL,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    POOL_LABEL,
    efa_interfaces,
)

GPU_TAINT = aws.eks.NodeGroupTaintArgs(key=GPU_TAINT_KEY, value=GPU_TAINT_VALUE, effect="NO_SCHEDULE")
# Managed policies every EKS node role needs (EKS user guide, "Amazon EKS node IAM role"); image pulls
# use AmazonEC2ContainerRegistryPullOnly, the pull-only subset the guide now recommends over ReadOnly
# (which also lists and describes every repository).
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
)
# EKS managed node group updates (EKS API NodegroupUpdateConfig.updateStrategy): DEFAULT launches the new
# nodes first (up to twice the AZ count more, "Understand each phase of node updates"), MINIMAL
# "terminates the old instances before launching the new instances ... useful ... with hardware
# accelerators such as GPUs": one node at a time, never a doubled GPU fleet; the PodDisruptionBudget keeps
# the other replicas serving.
NODE_UPDATE_STRATEGY = "MINIMAL"
# The AMI release of the EKS AL2023 NVIDIA AMI for a Kubernetes version (EKS user guide, "Retrieve
# recommended Amazon Linux AMI IDs": the `recommended` parameter's `release_version` sub-parameter, ami-type
# amazon-linux-2023/x86_64/nvidia). A node group's releaseVersion defaults to the latest release at create
# AND at every update (EKS API CreateNodegroup / UpdateNodegroupVersion `releaseVersion`: "By default, the
# latest available AMI version for the node group's Kubernetes version is used"; allowed with a launch
# template that names no AMI, as ours), so a launch-template change would also move the AMI: pinned here.
EKS_RELEASE_SSM_PARAMETER = (
    "/aws/service/eks/optimized-ami/{kube}/amazon-linux-2023/x86_64/nvidia/recommended/release_version"
)


def release_pin_options(ami_release_version: str | None) -> pulumi.ResourceOptions:
    """Node group options pinning the AMI release: with no amiReleaseVersion the release resolved at the
    first `pulumi up` is kept in state (`ignore_changes` on releaseVersion: a newer SSM answer, or EKS's
    "latest" default, never rolls the GPU nodes by itself); setting amiReleaseVersion is the explicit update
    path (EKS updates the node group to it with update_config's MINIMAL strategy, one node at a time)."""
    return pulumi.ResourceOptions(ignore_changes=[] if ami_release_version else ["releaseVersion"])


def release_version(
    ami_type: EksAmiType, region: str, cluster_name: pulumi.Input[str], kubernetes_version: str | None,
    ami_release_version: str | None, parent: pulumi.Resource,
) -> pulumi.Input[str] | None:
    """The release the node groups boot: amiReleaseVersion when set; for AL2023 NVIDIA the SSM parameter's
    recommended release for kubernetesVersion (else the cluster's own version); None for Bottlerocket (its
    releases are named differently: pin with amiReleaseVersion, else EKS picks the latest at create)."""
    if ami_release_version:
        return ami_release_version
    if ami_type != "AL2023_x86_64_NVIDIA":
        return None
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    kube: pulumi.Input[str] = kubernetes_version or aws.eks.get_cluster_output(
        name=cluster_name, region=region, opts=invoke).version
    name = pulumi.Output.from_input(kube).apply(lambda k: EKS_RELEASE_SSM_PARAMETER.format(kube=k))
    return aws.ssm.get_parameter_output(name=name, region=region, opts=invoke).insecure_value


def ec2_assume_role_policy() -> str:
    """Trust policy of an instance role: EC2 may assume it (EKS nodes and the EC2 target's instances)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def metadata_options() -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    """IMDSv2 only, hop limit 1: only the host reaches IMDS, so pods (one network hop away) cannot take
    the node role's credentials (EKS best practices, "Restrict access to the instance profile assigned to
    the worker node"). Nothing here needs 2: the VPC CNI and kube-proxy run on the host network; on the
    EC2 target the token is fetched by a host unit, not the container."""
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
    )


def encrypted_gp3(
    device_name: str, size_gib: int, performance: tuple[int, int] | None = None
) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    """An encrypted gp3 volume; `performance` = (throughput MiB/s, IOPS) from volumes.gp3_performance."""
    throughput, iops = performance or (None, None)
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name=device_name,
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_size=size_gib, volume_type="gp3", encrypted="true", delete_on_termination="true",
            throughput=throughput, iops=iops,
        ),
    )


def efa_interface_layout(count: int) -> list[tuple[int, int, str]]:
    """(network card index, device index, interface type) of a node's `count` EFA interfaces.

    Card 0 keeps the primary interface as `efa` (EFA with ENA: the node's IP traffic and one EFA
    device). Every further card gets an `efa-only` interface at device index 0, as AWS recommends for
    instance types with several network cards (EC2 user guide, "Maximize network bandwidth on Amazon EC2
    instances with multiple network cards": "For each additional network interface, use the next unused
    network card index, device index 0, for EFA-only network interface"): EFA-only interfaces take no IP
    address, so a p5.48xlarge uses 1 subnet IP instead of 32.
    """
    return [(0, 0, "efa"), *((card, 0, "efa-only") for card in range(1, count))]


def subnet_availability_zone_ids(subnet_ids: list[str], region: str) -> dict[str, str]:
    """subnet id -> AZ ID (use1-az4), looked up with ec2:DescribeSubnets (aws.ec2.get_subnet) in `region`."""
    return {s: aws.ec2.get_subnet(id=s, region=region).availability_zone_id for s in subnet_ids}


def efa_subnet(plan: Plan, subnet_az_ids: dict[str, str]) -> str:
    """The first configured subnet whose AZ offers the plan's instance type (placement.availability_zone_ids).

    EFA traffic and a cluster placement group need every node of a replica in one AZ, and a multi-node
    type is often offered in few AZs (p4de.24xlarge: 2 of 6 in us-east-1), so the first subnet is not
    enough. Without the plan's AZ list (unknown offerings) the first subnet is used."""
    subnets = list(subnet_az_ids)
    if not plan.placement.availability_zone_ids:
        return subnets[0]
    for subnet, az_id in subnet_az_ids.items():
        if az_id in plan.placement.availability_zone_ids:
            return subnet
    seen = ", ".join(f"{s} ({az})" for s, az in subnet_az_ids.items())
    raise ValueError(
        f"subnetIds: none of {seen} is in an AZ that offers {plan.placement.instance_type} in "
        f"{plan.placement.region}; add a "
        f"subnet in one of {', '.join(plan.placement.availability_zone_ids)}"
    )


def node_labels(pool: str, capacity_type: str) -> dict[str, str]:
    """Labels of a GPU node group: our pool and capacity (the vLLM pods select on them) and
    nvidia.com/gpu.present=true, which the NVIDIA device plugin's node affinity requires without Node
    Feature Discovery (templates.daemonsets)."""
    capacity = capacity_type.lower().replace("_", "-")
    return {POOL_LABEL: pool, CAPACITY_LABEL: capacity, GPU_PRESENT_LABEL: "true"}


def node_groups_for(plan: Plan) -> list[tuple[str, str, int, list[str]]]:
    """(suffix, EKS capacity type, node count, instance types) per node group the plan needs."""
    groups = []
    if plan.placement.on_demand_instances:
        groups.append(("od", "ON_DEMAND", plan.placement.on_demand_instances, [plan.placement.instance_type]))
    if plan.placement.spot_instances:
        # Same-shape types let EKS's ASG pick the deepest spot pools (capacity-optimized for spot).
        spot_types = list(plan.placement.spot_instance_types or (plan.placement.instance_type,))
        groups.append(("spot", "SPOT", plan.placement.spot_instances, spot_types))
    return groups


class GpuNodeGroups(pulumi.ComponentResource):
    """Launch template (disk, IMDSv2, EFA + placement when a replica spans nodes) and node groups."""

    node_group_names: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        plan: Plan,
        cluster_name: pulumi.Input[str],
        subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
        pool: str,
        node_role_arn: pulumi.Input[str] | None = None,
        ami_type: EksAmiType = "AL2023_x86_64_NVIDIA",
        opts: pulumi.ResourceOptions | None = None,
        kubernetes_version: str | None = None,
        ami_release_version: str | None = None,
        first_pull_policy: str | None = None,
    ):
        efa_count = efa_interfaces(plan)  # fails on an EFA plan without a count, before any resource
        # Subnet ids known only as an Output are the caller's to pick (llm_advisor.infra.stack does).
        if plan.placement.needs_efa and isinstance(subnet_ids, (list, tuple)) and len(subnet_ids) != 1:
            raise ValueError(
                "subnet_ids: EFA and a cluster placement group need every node of "
                f"{plan.placement.instance_type} in "
                f"one AZ; pass the one subnet llm_advisor.infra.eks.efa_subnet() picks, not {len(subnet_ids)}"
            )
        super().__init__("llm-advisor:eks:GpuNodeGroups", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        # A created role's policy attachments come before the node groups (nodes join only with them) and
        # go after them on destroy (permissions never vanish mid-delete).
        attachments: list[pulumi.Resource] = []
        role_arn = node_role_arn or self._node_role(name, attachments, first_pull_policy)
        subnets = list(subnet_ids) if isinstance(subnet_ids, (list, tuple)) else subnet_ids
        template = self._launch_template(name, plan, cluster_name, ami_type, efa_count)
        release = release_version(ami_type, plan.placement.region, cluster_name, kubernetes_version,
                                  ami_release_version, self)
        groups = [
            aws.eks.NodeGroup(
                f"{name}-{suffix}",
                cluster_name=cluster_name,
                node_role_arn=role_arn,
                subnet_ids=subnets,
                capacity_type=capacity_type,
                ami_type=ami_type,
                release_version=release,
                instance_types=instance_types,
                # Fixed size: replicas x instances per replica, split by capacity type as planned.
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    desired_size=count, min_size=count, max_size=count
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(
                    max_unavailable=1, update_strategy=NODE_UPDATE_STRATEGY
                ),
                labels=node_labels(pool, capacity_type),
                taints=[GPU_TAINT],
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=template.id, version=template.latest_version.apply(str)
                ),
                opts=pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(parent=self, depends_on=attachments),
                release_pin_options(ami_release_version),
                ),
            )
            for suffix, capacity_type, count, instance_types in node_groups_for(plan)
        ]
        self.node_group_names = pulumi.Output.all(*[g.node_group_name for g in groups])
        self.register_outputs({"node_group_names": self.node_group_names})

    def _node_role(self, name: str, attachments: list[pulumi.Resource],
                   first_pull_policy: str | None = None) -> pulumi.Output[str]:
        role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=ec2_assume_role_policy(),
            opts=self._child,
        )
        for i, policy_arn in enumerate(NODE_POLICIES):
            attachments.append(aws.iam.RolePolicyAttachment(
                f"{name}-node-policy-{i}", role=role.name, policy_arn=policy_arn, opts=self._child
            ))
        if first_pull_policy:  # ECR pull-through cache: the first pull creates and imports the repository
            attachments.append(aws.iam.RolePolicy(
                f"{name}-ecr-pull-through", role=role.id, policy=first_pull_policy, opts=self._child
            ))
        return role.arn

    def _launch_template(
        self,
        name: str,
        plan: Plan,
        cluster_name: pulumi.Input[str],
        ami_type: EksAmiType,
        efa_count: int,
    ) -> aws.ec2.LaunchTemplate:
        device, size_gib = eks_volume(plan, ami_type)
        extra: dict[str, object] = {}
        if plan.placement.needs_efa:
            extra = self._efa(name, plan, cluster_name, efa_count)
        return aws.ec2.LaunchTemplate(
            f"{name}-lt",
            name_prefix=f"{name}-",
            block_device_mappings=[encrypted_gp3(device, size_gib, gp3_performance(plan))],
            metadata_options=metadata_options(),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type="instance", tags={"Name": name, POOL_LABEL: name}
                )
            ],
            opts=self._child,
            **extra,
        )

    def _efa(self, name: str, plan: Plan, cluster_name: pulumi.Input[str], count: int) -> dict[str, object]:
        """EFA interfaces + cluster placement group for multi-node replicas.

        A launch template with network interfaces cannot use SecurityGroupIds: each interface lists its
        groups, and every EFA needs a group that allows all traffic to itself (AWS EFA user guide).
        The first interface also carries the cluster security group so the node can join the cluster.
        """
        # The plan's region, whatever aws:region says: parent=self inherits the component's regional
        # provider, and region= (pulumi-aws 7 per-invoke region) pins it even without one.
        cluster = aws.eks.get_cluster_output(
            name=cluster_name, region=plan.placement.region, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        efa_sg = aws.ec2.SecurityGroup(
            f"{name}-efa-sg",
            description="EFA: all traffic between the GPU nodes of one replica",
            vpc_id=cluster.vpc_config.vpc_id,
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="-1", from_port=0, to_port=0, self=True)],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, self=True),
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"]
                ),
            ],
            opts=self._child,
        )
        placement = aws.ec2.PlacementGroup(f"{name}-pg", strategy="cluster", opts=self._child)
        cluster_sg = cluster.vpc_config.cluster_security_group_id
        interfaces = [
            aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                device_index=device_index,
                network_card_index=card,
                interface_type=interface_type,
                delete_on_termination="true",
                security_groups=[cluster_sg, efa_sg.id] if card == 0 else [efa_sg.id],
            )
            for card, device_index, interface_type in efa_interface_layout(count)
        ]
        return {
            "network_interfaces": interfaces,
            "placement": aws.ec2.LaunchTemplatePlacementArgs(group_name=placement.name),
        }
