"""GpuAutoScalingGroup: a Plan on plain EC2, a launch template + Auto Scaling group running vLLM.

The ASG's MixedInstancesPolicy carries the plan's capacity split. ASG defaults are 100% on-demand and
`lowest-price` spot allocation (EC2 Auto Scaling InstancesDistribution), so every distribution setting
is set explicitly here.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from llm_advisor.infra.eks import ec2_assume_role_policy, encrypted_gp3, metadata_options
from llm_advisor.infra.volumes import ROOT_DEVICE, ec2_root_volume_gib, gp3_performance
from llm_advisor.planner.models import Plan
from templates.common import VLLM_PORT, RenderError, replicas_per_instance

# Public SSM parameter of the Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023, x86_64):
# NVIDIA driver, Docker + NVIDIA container toolkit, AWS CLI, EFA preinstalled (AWS DLAMI developer guide).
DLAMI_SSM_PARAMETER = (
    "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id"
)
# vLLM needs minutes to pull the image and load weights before it is healthy: the ASG health-check grace
# period and the instance refresh's warm-up both wait this long for a new instance.
STARTUP_GRACE_S = 1800
# Lets operators reach instances through Session Manager instead of SSH (no key pair, no open port 22).
SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def check_ec2_plan(plan: Plan) -> None:
    """EC2 user data runs independent servers: a replica must fit on one instance."""
    if plan.placement.instances_per_replica > 1:
        raise RenderError(
            f"a replica of this plan spans {plan.placement.instances_per_replica} x "
            f"{plan.placement.instance_type}; the EC2 "
            "target runs single-instance replicas. Use target eks (LeaderWorkerSet) or a plan that fits "
            "one instance (larger instance type or quantization fp8)"
        )


def instance_refresh(plan: Plan) -> aws.autoscaling.GroupInstanceRefreshArgs:
    """Roll the instances when the launch template changes (new AMI, user data, volume), one at a time.

    EC2 Auto Scaling user guide, "Use an instance refresh to update instances in an Auto Scaling group":
    MinHealthyPercentage is the share of desired capacity kept in service while instances are replaced
    (default 90), and a change to the group's launch template or mixed instances policy starts a refresh
    when `instance_refresh` is set (pulumi-aws autoscaling.Group, `instance_refresh`). Keeping
    floor(100 x (N - 1) / N) replaces one of N instances at a time without buying more GPUs (a single
    instance is replaced with a gap: there is nothing else to keep serving).
    """
    count = plan.placement.instance_count
    return aws.autoscaling.GroupInstanceRefreshArgs(
        strategy="Rolling",
        preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
            min_healthy_percentage=100 * (count - 1) // count,
            max_healthy_percentage=100,
            instance_warmup=str(STARTUP_GRACE_S),
            skip_matching=True,  # instances already on the new template are not replaced again
        ),
    )


def ami_pin_options(ami_id: str | None) -> pulumi.ResourceOptions:
    """Launch-template options pinning the AMI: with no amiId, the SSM answer of the first `pulumi up` is
    kept in state (`ignore_changes` on imageId) so a newer DLAMI release does not roll the fleet on every
    run; setting amiId is the explicit update path (the template changes, the instance refresh rolls)."""
    return pulumi.ResourceOptions(ignore_changes=[] if ami_id else ["imageId"])


def check_capacity_block_plan(plan: Plan) -> None:
    """A Capacity Block holds instances of one type, on-demand, in one AZ: the plan must be that shape."""
    at = plan.placement
    if at.spot_instances or at.spot_instance_types:
        raise RenderError(
            f"capacityReservationId: the plan runs {at.spot_instances} spot instance(s) "
            f"({', '.join(at.spot_instance_types) or at.instance_type}); a Capacity Block runs every "
            "instance in the reservation: `pulumi config set capacity on-demand`"
        )


def capacity_block_launch_args(reservation_id: str) -> dict[str, object]:
    """Launch-template arguments that run instances in a purchased Capacity Block.

    EC2 User Guide, "Launch instances using Capacity Blocks": instances must name the Capacity Block's
    reservation ID, with the purchasing option (InstanceMarketOptions.MarketType) capacity-block
    (EC2 API reference, LaunchTemplateInstanceMarketOptionsRequest: MarketType spot | capacity-block);
    EC2 Auto Scaling user guide, "Use Capacity Blocks for machine learning workloads": the launch template
    carries the reservation ID and the instance type.
    """
    return {
        "instance_market_options": aws.ec2.LaunchTemplateInstanceMarketOptionsArgs(
            market_type="capacity-block"
        ),
        "capacity_reservation_specification": aws.ec2.LaunchTemplateCapacityReservationSpecificationArgs(
            capacity_reservation_target=(
                aws.ec2.LaunchTemplateCapacityReservationSpecificationCapacityReservationTargetArgs(
                    capacity_reservation_id=reservation_id
                )
            )
        ),
    }


def instances_distribution(plan: Plan) -> aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs:
    """The plan's on-demand base, the rest spot (or all on-demand), price-capacity-optimized spot."""
    return aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs(
        on_demand_base_capacity=plan.placement.on_demand_instances,
        on_demand_percentage_above_base_capacity=0 if plan.placement.spot_instances else 100,
        on_demand_allocation_strategy="prioritized",
        # AWS's recommended spot strategy: lowest price among the pools least likely to be interrupted.
        spot_allocation_strategy="price-capacity-optimized",
    )


class GpuAutoScalingGroup(pulumi.ComponentResource):
    """Instance role (reads only the token secret), security group, launch template, ASG."""

    asg_name: pulumi.Output[str]
    ami_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        plan: Plan,
        subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]],
        user_data: pulumi.Input[str],
        hf_token_read_policy: pulumi.Input[str] | None = None,
        associate_public_ip: bool = False,
        ami_id: str | None = None,
        capacity_reservation_id: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        check_ec2_plan(plan)
        if capacity_reservation_id:
            check_capacity_block_plan(plan)
        in_block = (
            {**capacity_block_launch_args(capacity_reservation_id),
             "instance_type": plan.placement.instance_type}
            if capacity_reservation_id else {}
        )
        super().__init__("llm-advisor:ec2:GpuAutoScalingGroup", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self)
        profile = self._instance_profile(name, hf_token_read_policy)
        region = plan.placement.region
        first_subnet = (subnet_ids[0] if isinstance(subnet_ids, (list, tuple))
                        else pulumi.Output.from_input(subnet_ids).apply(lambda ids: ids[0]))
        security_group = self._security_group(name, region, first_subnet, replicas_per_instance(plan))
        # Every invoke: parent=self (the component's regional provider) and region=plan.placement.region.
        if ami_id is None:
            image_id: pulumi.Input[str] = aws.ssm.get_parameter_output(
                name=DLAMI_SSM_PARAMETER, region=region, opts=pulumi.InvokeOutputOptions(parent=self)
            ).insecure_value
        else:
            image_id = ami_id
        template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            name_prefix=f"{name}-",
            image_id=image_id,
            block_device_mappings=[
                encrypted_gp3(ROOT_DEVICE, ec2_root_volume_gib(plan), gp3_performance(plan))
            ],
            metadata_options=metadata_options(),
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0,
                    associate_public_ip_address=str(associate_public_ip).lower(),
                    security_groups=[security_group.id],
                    delete_on_termination="true",
                )
            ],
            # Launch templates take user data base64-encoded (EC2 RequestLaunchTemplateData.UserData).
            user_data=pulumi.Output.from_input(user_data).apply(
                lambda text: base64.b64encode(text.encode()).decode()
            ),
            opts=pulumi.ResourceOptions.merge(self._child, ami_pin_options(ami_id)),
            **in_block,
        )
        at = plan.placement
        instance_types = list(dict.fromkeys((at.instance_type, *at.spot_instance_types)))
        # In a Capacity Block: the template alone (one type, the reservation's), no spot to rebalance.
        launch: dict[str, object] = (
            {"launch_template": aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str))}
            if capacity_reservation_id
            else {"mixed_instances_policy": self._mixed(plan, template, instance_types)}
        )
        group = aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=subnet_ids,
            desired_capacity=plan.placement.instance_count,
            min_size=plan.placement.instance_count,
            max_size=plan.placement.instance_count,
            # Replace spot instances at elevated interruption risk before they are reclaimed.
            capacity_rebalance=not capacity_reservation_id,
            health_check_grace_period=STARTUP_GRACE_S,
            instance_refresh=instance_refresh(plan),
            tags=[aws.autoscaling.GroupTagArgs(key="Name", value=name, propagate_at_launch=True)],
            opts=self._child,
            **launch,
        )
        self.asg_name = group.name
        self.ami_id = template.image_id
        self.register_outputs({"asg_name": self.asg_name, "ami_id": self.ami_id})

    @staticmethod
    def _mixed(plan: Plan, template: aws.ec2.LaunchTemplate, instance_types: list[str],
               ) -> aws.autoscaling.GroupMixedInstancesPolicyArgs:
        spec = aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs(
            launch_template_id=template.id, version=template.latest_version.apply(str)
        )
        return aws.autoscaling.GroupMixedInstancesPolicyArgs(
            instances_distribution=instances_distribution(plan),
            launch_template=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs(
                launch_template_specification=spec,
                overrides=[
                    aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs(instance_type=t)
                    for t in instance_types
                ],
            ),
        )

    def _instance_profile(self, name: str, read_policy: pulumi.Input[str] | None) -> aws.iam.InstanceProfile:
        role = aws.iam.Role(f"{name}-role", assume_role_policy=ec2_assume_role_policy(), opts=self._child)
        aws.iam.RolePolicyAttachment(
            f"{name}-ssm", role=role.name, policy_arn=SSM_CORE_POLICY, opts=self._child
        )
        if read_policy is not None:
            aws.iam.RolePolicy(f"{name}-hf-token", role=role.id, policy=read_policy, opts=self._child)
        return aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=self._child)

    def _security_group(
        self, name: str, region: str, subnet_id: pulumi.Input[str], servers: int
    ) -> aws.ec2.SecurityGroup:
        """vLLM ports open to the VPC only; all egress (image pull, Hugging Face, Secrets Manager)."""
        in_region = pulumi.InvokeOutputOptions(parent=self)
        subnet = aws.ec2.get_subnet_output(id=subnet_id, region=region, opts=in_region)
        vpc = aws.ec2.get_vpc_output(id=subnet.vpc_id, region=region, opts=in_region)
        return aws.ec2.SecurityGroup(
            f"{name}-sg",
            description="vLLM OpenAI servers: reachable from the VPC only",
            vpc_id=subnet.vpc_id,
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp", from_port=VLLM_PORT, to_port=VLLM_PORT + servers - 1,
                    cidr_blocks=[vpc.cidr_block],
                )
            ],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"]
                )
            ],
            opts=self._child,
        )
