"""Builds a Plan's resources (token secret, EKS node groups, Karpenter pools or EC2 ASG, and the
workload on the cluster) and its stack outputs.

`prepare` runs every check that can fail (before any resource); `declare` then declares the resources,
under a parent (the LlmServing component) or at the stack root. `deploy` is both, for a StackConfig:
tests call it with hand-built Plans under Pulumi mocks. Where the nodes go is a `Target` of Inputs, so
subnet ids, the node role ARN and the cluster name may be Outputs of the caller's own resources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from llm_advisor.infra.config import StackConfig
from llm_advisor.infra.cpu import (
    CpuAutoScalingGroup,
    CpuNodeGroup,
    deploy_cpu_on_cluster,
    render_cpu_karpenter_yaml,
)
from llm_advisor.infra.ec2 import GpuAutoScalingGroup, check_capacity_block_plan, check_ec2_plan
from llm_advisor.infra.ecr import DOCKER_HUB_URL, cached_image, first_pull_policy
from llm_advisor.infra.eks import GpuNodeGroups, efa_subnet, subnet_availability_zone_ids
from llm_advisor.infra.karpenter import (
    KarpenterSettings,
    karpenter_manifests,
    karpenter_settings,
    node_role_name,
    render_karpenter_yaml,
)
from llm_advisor.infra.secrets import HfTokenSecret
from llm_advisor.infra.workload import deploy_on_cluster, workload_objects
from llm_advisor.planner.cpu import CpuPlan
from llm_advisor.planner.models import Plan
from templates.llamacpp import object_name as llamacpp_object_name
from templates.llamacpp import server_args as llamacpp_server_args
from templates.models import RenderOptions
from templates.render import (
    cpu_apply_hint,
    cpu_options,
    default_options,
    efa_interfaces,
    kubectl_apply_hint,
    object_name,
    render_cloud_init,
    render_cpu_bundle,
    render_cpu_cloud_init,
    render_cpu_kubernetes,
    render_hf_token_secret,
    render_kubernetes,
    render_vllm_config,
    require_served_model,
    vllm_image,
)

# Subnet ids: plain strings (looked up before any resource) or an Output of the list (looked up in an apply).
SubnetIds = tuple[str, ...] | pulumi.Output[list[str]]


@dataclass(frozen=True)
class Target:
    """Where the GPU nodes go. Every field may be an Output of the caller's own VPC, IAM or EKS resources;
    the plan does not depend on them."""

    subnet_ids: SubnetIds
    cluster_name: pulumi.Input[str] | None = None
    node_role_arn: pulumi.Input[str] | None = None
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None  # on every AWS resource (default_tags)

    @classmethod
    def of(cls, cfg: StackConfig) -> Target:
        return cls(subnet_ids=tuple(cfg.subnet_ids), cluster_name=cfg.cluster_name,
                   node_role_arn=cfg.node_role_arn)


@dataclass(frozen=True)
class Prepared:
    """A checked deployment: the plan, its options, where it goes and the subnets its nodes launch in."""

    plan: Plan
    cfg: StackConfig
    target: Target
    subnets: Sequence[str] | pulumi.Output[list[str]]
    workload_yaml: str | None = None  # the rendered vLLM objects (targets eks and karpenter)
    karpenter: KarpenterSettings | None = None  # target karpenter


GLOBAL_SERVICES = ("aws:iam/",)  # IAM is global: its resources take no region
# Resources of ours whose `tags` input is a plain key -> value map (the ASG's is a list of tag blocks and
# gets its tags through the launch template's tag specifications instead).
TAGGABLE = ("aws:iam/role:Role", "aws:iam/policy:Policy", "aws:iam/instanceProfile:InstanceProfile",
            "aws:ec2/launchTemplate:LaunchTemplate", "aws:eks/nodeGroup:NodeGroup",
            "aws:secretsmanager/secret:Secret", "aws:ec2/placementGroup:PlacementGroup")


def in_plan_region(
    region: str, tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
) -> pulumi.ResourceTransformation:
    """A transformation for a component's children: every regional aws resource gets `region`, and the
    caller's `tags` (LlmServing's tags arg) go on every taggable one, under the resource's own tags. The
    stack's aws:defaultTags still apply through the default provider."""

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if not args.type_.startswith("aws:"):
            return None
        props = dict(args.props)
        if not args.type_.startswith(GLOBAL_SERVICES):
            props["region"] = region
        if tags is not None and args.type_ in TAGGABLE:
            own = props.get("tags")
            props["tags"] = pulumi.Output.all(tags, own).apply(lambda both: {**both[0], **(both[1] or {})})
        return pulumi.ResourceTransformationResult(props, args.opts)

    return transform


def pulled_image(plan: Plan, cfg: StackConfig) -> str | None:
    """The image the pods pull: through the ECR pull-through cache when ecrPullThroughCache is set (the
    pinned vllm/vllm-openai image, or a Docker Hub vllmImage, under the cache's registry), else vllmImage
    (None = the pinned image). The planner checked the image itself; only where it is pulled from changes."""
    if not (cfg.ecr_pull_through_cache and cfg.docker_hub_credential_arn):
        return cfg.vllm_image
    image = cfg.vllm_image or vllm_image(plan)
    return cached_image(image, cfg.ecr_pull_through_cache, cfg.docker_hub_credential_arn,
                        plan.placement.region)


def _options(plan: Plan, cfg: StackConfig, secret_id: str | None) -> RenderOptions:
    return default_options(
        plan, namespace=cfg.namespace, hf_token_secret_id=secret_id,
        image=pulled_image(plan, cfg), efa_image=cfg.efa_image, ami_type=cfg.ami_type,
        karpenter=cfg.target == "karpenter",
    )


def _apply_hint(plan: Plan, options: RenderOptions) -> str:
    """Fetch the rendered files from the stack outputs, then apply them (token Secret first)."""
    fetch = [
        "pulumi stack output kubernetes_yaml > kubernetes.yaml",
        "pulumi stack output hf_token_secret_yaml > hf-token-secret.yaml",
    ]
    return "\n".join([*fetch, kubectl_apply_hint(plan, options)])


def _hint(plan: Plan, cfg: StackConfig, options: pulumi.Output[RenderOptions]) -> pulumi.Input[str]:
    if cfg.target == "ec2":
        return "target ec2: no Kubernetes; each instance runs vLLM under systemd (vllm@N.service)"
    if cfg.deploy_workload:
        note = ("# deployWorkload is on: `pulumi up` deployed all of this (device plugins, token Secret, "
                "workload); see the endpoint and endpoint_access outputs. With deployWorkload false:\n")
        return options.apply(lambda o: note + _apply_hint(plan, o))
    return options.apply(lambda o: _apply_hint(plan, o))


def _plain_karpenter_target(target: Target) -> None:
    """Target karpenter renders the cluster, subnets and role into the NodePool/EC2NodeClass YAML at plan
    time: they must be plain values, not Outputs of other resources."""
    for key, value in (("clusterName", target.cluster_name), ("subnetIds", target.subnet_ids),
                       ("nodeRoleArn", target.node_role_arn)):
        if isinstance(value, pulumi.Output):
            raise ValueError(f"{key}: target karpenter needs a plain value (it is written into the "
                             "EC2NodeClass at plan time), not an Output of another resource")


def _efa_subnet_of(plan: Plan, subnet_ids: pulumi.Output[list[str]]) -> pulumi.Output[list[str]]:
    """efa_subnet for subnet ids known only as an Output: the DescribeSubnets look-ups run in an apply, so a
    list without a subnet in an offering AZ fails when the ids are known, not before the first resource."""
    region = plan.placement.region

    def pick(ids: list[str]) -> pulumi.Output[list[str]]:
        zones = [aws.ec2.get_subnet_output(id=s, region=region).availability_zone_id for s in ids]
        return pulumi.Output.all(*zones).apply(
            lambda az_ids: [efa_subnet(plan, dict(zip(ids, az_ids, strict=True)))]
        )

    return subnet_ids.apply(pick)


def prepare(plan: Plan, cfg: StackConfig, target: Target | None = None) -> Prepared:
    """Every check that can fail, before any resource: a bad input never leaves a partial stack.
    Picks the subnets the GPU nodes launch in (one, in an AZ offering the type, for an EFA plan)."""
    target = target or Target.of(cfg)
    require_served_model(plan)
    efa_interfaces(plan)
    # the vLLM config (quantization the checkpoint allows), then the pods' requests and image
    render_kubernetes(plan, _options(plan, cfg, None), render_vllm_config(plan))
    subnets: Sequence[str] | pulumi.Output[list[str]] = target.subnet_ids
    if cfg.target == "ec2":
        check_ec2_plan(plan)
        if cfg.capacity_reservation_id:
            check_capacity_block_plan(plan)
        return Prepared(plan=plan, cfg=cfg, target=target, subnets=subnets)
    if cfg.target == "karpenter":
        _plain_karpenter_target(target)
    if plan.placement.needs_efa:
        if isinstance(target.subnet_ids, pulumi.Output):
            subnets = _efa_subnet_of(plan, target.subnet_ids)
        elif target.subnet_ids:  # karpenter may select subnets by its discovery tag instead
            az_ids = subnet_availability_zone_ids(list(target.subnet_ids), plan.placement.region)
            subnets = [efa_subnet(plan, az_ids)]
    # The manifests (they do not name the token's ARN) and, for karpenter, the pools' limits from catalog
    # facts: both can refuse, so both are built here, before any resource.
    workload_yaml = render_kubernetes(plan, _options(plan, cfg, None), render_vllm_config(plan))
    workload_objects(workload_yaml)
    karpenter = None
    if cfg.target == "karpenter":
        karpenter = karpenter_settings(plan, cfg, object_name(plan), list(subnets))
        karpenter_manifests(plan, karpenter)
    return Prepared(plan=plan, cfg=cfg, target=target, subnets=subnets, workload_yaml=workload_yaml,
                    karpenter=karpenter)


def declare(
    prepared: Prepared, hf_token: pulumi.Input[str] | None, parent: pulumi.Resource | None = None,
    adopt_root_resources: bool = False,
) -> dict[str, Any]:
    """Declare every resource of a prepared deployment; returns the stack outputs (name -> value or Output).

    `parent` is the component the resources belong to (None: the stack root). `adopt_root_resources`
    aliases them to the names this program declared at the stack root before it became a component, so
    `pulumi up` moves an existing stack's resources under the component instead of replacing them.
    The pods' requests are sized from the plan's node shape (placement.node_vcpus/node_memory_gib)."""
    plan, cfg, target = prepared.plan, prepared.cfg, prepared.target
    name = object_name(plan)
    vllm_config = render_vllm_config(plan)
    # Everything lands in the plan's region, whatever the ambient aws:region says, through the DEFAULT
    # provider: it is configured from the stack's aws:* settings (profile, assumeRoles, defaultTags,
    # allowedAccountIds ...), which an explicit aws.Provider would silently drop. pulumi-aws v7 takes the
    # region per resource ("Migrating to v7": resources and invokes have a `region` argument).
    moved = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)] if adopt_root_resources else None
    in_region = pulumi.ResourceOptions(
        transformations=[in_plan_region(plan.placement.region, target.tags)], parent=parent, aliases=moved,
    )
    secret = HfTokenSecret(f"{name}-hf-token", hf_token, opts=in_region) if hf_token is not None else None
    secret_arn: pulumi.Output[str | None] = secret.arn if secret else pulumi.Output.from_input(None)
    options = secret_arn.apply(lambda arn: _options(plan, cfg, arn))
    outputs: dict[str, Any] = {
        "plan": plan.model_dump(mode="json"),
        # `pulumi config set currentInstanceType $(pulumi stack output instance_type)` keeps it next run.
        "instance_type": plan.placement.instance_type,
        "price_source": plan.cost.price_source,
        "prices_as_of": plan.cost.prices_as_of.isoformat(),
        "usd_per_hour": plan.cost.usd_per_hour,
        "vllm_config": vllm_config,
        "kubectl_apply_hint": _hint(plan, cfg, options),
    }
    if secret:
        outputs["hf_token_secret_arn"] = secret.arn
    if cfg.target != "ec2":
        assert prepared.workload_yaml is not None
        # The manifests as outputs too: `pulumi stack output kubernetes_yaml > kubernetes.yaml`; target
        # karpenter puts its NodePools + EC2NodeClass first.
        karpenter = prepared.karpenter
        node_yaml = render_karpenter_yaml(plan, karpenter) + "---\n" if karpenter else ""
        outputs["kubernetes_yaml"] = node_yaml + prepared.workload_yaml
        # Only the ${HF_TOKEN} placeholder: filled from Secrets Manager (or typed) at apply time.
        outputs["hf_token_secret_yaml"] = options.apply(lambda o: render_hf_token_secret(plan, o))
        nodes: list[pulumi.Resource] = []
        pull_policy = None
        if cfg.ecr_pull_through_cache and cfg.docker_hub_credential_arn:
            # The rule exists before any pod pulls through it (the workload waits on `nodes`).
            nodes.append(aws.ecr.PullThroughCacheRule(
                f"{name}-docker-hub", ecr_repository_prefix=cfg.ecr_pull_through_cache,
                upstream_registry_url=DOCKER_HUB_URL, credential_arn=cfg.docker_hub_credential_arn,
                opts=in_region,
            ))
            outputs["image"] = pulled_image(plan, cfg)
            pull_policy = first_pull_policy(cfg.ecr_pull_through_cache, cfg.docker_hub_credential_arn,
                                            plan.placement.region)
        if cfg.target == "eks":
            groups = GpuNodeGroups(
                name, plan, cluster_name=target.cluster_name or "", subnet_ids=prepared.subnets, pool=name,
                node_role_arn=target.node_role_arn, ami_type=cfg.ami_type, opts=in_region,
                kubernetes_version=cfg.kubernetes_version, ami_release_version=cfg.ami_release_version,
                first_pull_policy=pull_policy,
            )
            outputs["node_group_names"] = groups.node_group_names
            nodes.append(groups)
        outputs.update(deploy_on_cluster(
            name, plan, cfg, prepared.workload_yaml, hf_token, nodes, None, karpenter,
            cluster_name=target.cluster_name or "", parent=parent,
        ))
    else:
        user_data = secret_arn.apply(
            lambda arn: render_cloud_init(plan, _options(plan, cfg, arn), vllm_config)
        )
        asg = GpuAutoScalingGroup(
            name, plan, subnet_ids=prepared.subnets, user_data=user_data,
            hf_token_read_policy=secret.read_policy() if secret else None,
            associate_public_ip=cfg.associate_public_ip, ami_id=cfg.ami_id,
            capacity_reservation_id=cfg.capacity_reservation_id, opts=in_region,
        )
        if cfg.capacity_reservation_id:
            outputs["capacity_reservation_id"] = cfg.capacity_reservation_id
        outputs["asg_name"] = asg.asg_name
        outputs["ami_id"] = asg.ami_id  # pin it with `pulumi config set amiId <this>` (docs/deploy.md)
    return outputs


def deploy(
    plan: Plan, cfg: StackConfig, hf_token: pulumi.Input[str] | None, target: Target | None = None
) -> dict[str, Any]:
    """Check, then declare every resource of the stack at the stack root; returns the stack outputs."""
    return declare(prepare(plan, cfg, target), hf_token)


# ---- the llama.cpp CPU path (issue 13) ------------------------------------------------------------------
@dataclass(frozen=True)
class PreparedCpu:
    """A checked CPU deployment: the CpuPlan, its options, where it goes, the rendered manifests."""

    cpu: CpuPlan
    cfg: StackConfig
    target: Target
    workload_yaml: str
    karpenter: KarpenterSettings | None = None


def _cpu_options(cpu: CpuPlan, cfg: StackConfig, secret_id: str | None) -> RenderOptions:
    # vllmImage overrides the vLLM image only; the llama.cpp server image is the pinned one.
    return cpu_options(cpu, namespace=cfg.namespace, hf_token_secret_id=secret_id,
                       karpenter=cfg.target == "karpenter")


def prepare_cpu(cpu: CpuPlan, cfg: StackConfig, target: Target | None = None) -> PreparedCpu:
    """Every check of a CPU deployment before any resource: the GGUF file is known, the pod fits the
    node, the manifests are deployable, the cloud-init renders."""
    target = target or Target.of(cfg)
    options = _cpu_options(cpu, cfg, None)
    workload_yaml = render_cpu_kubernetes(cpu, options)  # RenderError: unknown GGUF file, node too small
    workload_objects(workload_yaml)
    render_cpu_cloud_init(cpu, options)
    karpenter = None
    if cfg.target == "karpenter":
        _plain_karpenter_target(target)
        cluster = cfg.cluster_name or ""
        karpenter = KarpenterSettings(
            name=llamacpp_object_name(cpu), cluster_name=cluster,
            discovery=cfg.karpenter_discovery or cluster,
            node_role=node_role_name(cfg.node_role_arn, cluster), subnet_ids=tuple(target.subnet_ids or ()),
        )
    return PreparedCpu(cpu=cpu, cfg=cfg, target=target, workload_yaml=workload_yaml, karpenter=karpenter)


def declare_cpu(prepared: PreparedCpu, hf_token: pulumi.Input[str] | None,
                parent: pulumi.Resource | None = None) -> dict[str, Any]:
    """Declare a CPU deployment's resources (node group, Karpenter pool or ASG; the workload when asked);
    returns the stack outputs."""
    cpu, cfg, target = prepared.cpu, prepared.cfg, prepared.target
    name = llamacpp_object_name(cpu)
    in_region = pulumi.ResourceOptions(transformations=[in_plan_region(cpu.instance.region, target.tags)],
                                       parent=parent)
    secret = HfTokenSecret(f"{name}-hf-token", hf_token, opts=in_region) if hf_token is not None else None
    secret_arn: pulumi.Output[str | None] = secret.arn if secret else pulumi.Output.from_input(None)
    options = secret_arn.apply(lambda arn: _cpu_options(cpu, cfg, arn))
    outputs: dict[str, Any] = {
        "plan": cpu.model_dump(mode="json"),
        "engine": "llama.cpp",
        "instance_type": cpu.instance.instance_type,
        "price_source": "snapshot",
        "prices_as_of": cpu.instance.price_as_of,
        "usd_per_hour": cpu.usd_per_hour,
        "llama_server_args": llamacpp_server_args(cpu),
    }
    if secret:
        outputs["hf_token_secret_arn"] = secret.arn
    if cfg.target == "ec2":
        user_data = options.apply(lambda o: render_cpu_cloud_init(cpu, o))
        asg = CpuAutoScalingGroup(name, cpu, subnet_ids=list(target.subnet_ids) if isinstance(
            target.subnet_ids, tuple) else target.subnet_ids, user_data=user_data,
            hf_token_read_policy=secret.read_policy() if secret else None,
            associate_public_ip=cfg.associate_public_ip, ami_id=cfg.ami_id, opts=in_region)
        outputs["asg_name"] = asg.asg_name
        outputs["ami_id"] = asg.ami_id
        outputs["kubectl_apply_hint"] = "target ec2: no Kubernetes; each instance runs llama-server.service"
        return outputs
    karpenter = prepared.karpenter
    node_yaml = render_cpu_karpenter_yaml(cpu, karpenter) + "---\n" if karpenter else ""
    outputs["kubernetes_yaml"] = node_yaml + prepared.workload_yaml
    outputs["hf_token_secret_yaml"] = options.apply(lambda o: render_cpu_bundle(cpu, o).file(
        "hf-token-secret.yaml").content)
    outputs["kubectl_apply_hint"] = options.apply(lambda o: "\n".join([
        "pulumi stack output kubernetes_yaml > kubernetes.yaml", cpu_apply_hint(cpu, o)]))
    nodes: list[pulumi.Resource] = []
    if cfg.target == "eks":
        group = CpuNodeGroup(name, cpu, cluster_name=target.cluster_name or "", subnet_ids=target.subnet_ids,
                             pool=name, node_role_arn=target.node_role_arn, opts=in_region)
        outputs["node_group_names"] = group.node_group_names
        nodes.append(group)
    outputs.update(deploy_cpu_on_cluster(name, cpu, cfg, prepared.workload_yaml, hf_token, nodes, karpenter,
                                         cluster_name=target.cluster_name or "", parent=parent))
    return outputs
