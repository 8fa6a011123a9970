"""Builds a Plan's resources (provider, token secret, EKS node groups or EC2 ASG) and its stack outputs.

`__main__.py` calls `deploy` after planning; tests call it with hand-built Plans under Pulumi mocks.
"""

from __future__ import annotations

from typing import Any

import pulumi

from llm_advisor.infra.config import StackConfig
from llm_advisor.infra.ec2 import GpuAutoScalingGroup, check_ec2_plan
from llm_advisor.infra.eks import GpuNodeGroups, efa_subnet, subnet_availability_zone_ids
from llm_advisor.infra.secrets import HfTokenSecret
from llm_advisor.planner.models import Plan
from templates.models import RenderOptions
from templates.render import (
    default_options,
    efa_interfaces,
    kubectl_apply_hint,
    object_name,
    render_cloud_init,
    render_hf_token_secret,
    render_kubernetes,
    render_vllm_config,
    require_served_model,
)

GLOBAL_SERVICES = ("aws:iam/",)  # IAM is global: its resources take no region


def in_plan_region(region: str) -> pulumi.ResourceTransformation:
    """A transformation for a component's children: every regional aws resource gets `region`."""

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if not args.type_.startswith("aws:") or args.type_.startswith(GLOBAL_SERVICES):
            return None
        return pulumi.ResourceTransformationResult({**args.props, "region": region}, args.opts)

    return transform


def _options(plan: Plan, cfg: StackConfig, secret_id: str | None) -> RenderOptions:
    return default_options(
        plan, namespace=cfg.namespace, hf_token_secret_id=secret_id,
        image=cfg.vllm_image, efa_image=cfg.efa_image, ami_type=cfg.ami_type,
    )


def _apply_hint(plan: Plan, options: RenderOptions) -> str:
    """Fetch the rendered files from the stack outputs, then apply them (token Secret first)."""
    fetch = [
        "pulumi stack output kubernetes_yaml > kubernetes.yaml",
        "pulumi stack output hf_token_secret_yaml > hf-token-secret.yaml",
    ]
    return "\n".join([*fetch, kubectl_apply_hint(plan, options)])


def _check_before_resources(plan: Plan, cfg: StackConfig) -> list[str]:
    """Every check that can fail, before any resource: a bad input never leaves a partial stack.
    Returns the subnets the GPU nodes launch in."""
    require_served_model(plan)
    efa_interfaces(plan)
    # the vLLM config (quantization the checkpoint allows), then the pods' requests and image
    render_kubernetes(plan, _options(plan, cfg, None), render_vllm_config(plan))
    if cfg.target == "ec2":
        check_ec2_plan(plan)
        return list(cfg.subnet_ids)
    if plan.placement.needs_efa:
        az_ids = subnet_availability_zone_ids(list(cfg.subnet_ids), plan.placement.region)
        return [efa_subnet(plan, az_ids)]
    return list(cfg.subnet_ids)


def deploy(plan: Plan, cfg: StackConfig, hf_token: pulumi.Input[str] | None) -> dict[str, Any]:
    """Declare every resource of the stack; returns the stack outputs (name -> value or Output).

    The pods' requests are sized from the plan's node shape (placement.node_vcpus/node_memory_gib)."""
    subnets = _check_before_resources(plan, cfg)
    name = object_name(plan)
    vllm_config = render_vllm_config(plan)
    # Everything lands in the plan's region, whatever the ambient aws:region says, through the DEFAULT
    # provider: it is configured from the stack's aws:* settings (profile, assumeRoles, defaultTags,
    # allowedAccountIds ...), which an explicit aws.Provider would silently drop. pulumi-aws v7 takes the
    # region per resource ("Migrating to v7": resources and invokes have a `region` argument).
    in_region = pulumi.ResourceOptions(transformations=[in_plan_region(plan.placement.region)])
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
        "kubectl_apply_hint": options.apply(lambda o: _apply_hint(plan, o)) if cfg.target == "eks"
        else "target ec2: no Kubernetes; each instance runs vLLM under systemd (vllm@N.service)",
    }
    if secret:
        outputs["hf_token_secret_arn"] = secret.arn
    if cfg.target == "eks":
        # The manifests as outputs too: `pulumi stack output kubernetes_yaml > kubernetes.yaml`.
        outputs["kubernetes_yaml"] = options.apply(lambda o: render_kubernetes(plan, o, vllm_config))
        # Only the ${HF_TOKEN} placeholder: filled from Secrets Manager (or typed) at apply time.
        outputs["hf_token_secret_yaml"] = options.apply(lambda o: render_hf_token_secret(plan, o))
        groups = GpuNodeGroups(
            name, plan, cluster_name=cfg.cluster_name or "", subnet_ids=subnets, pool=name,
            node_role_arn=cfg.node_role_arn, ami_type=cfg.ami_type, opts=in_region,
        )
        outputs["node_group_names"] = groups.node_group_names
    else:
        user_data = secret_arn.apply(
            lambda arn: render_cloud_init(plan, _options(plan, cfg, arn), vllm_config)
        )
        asg = GpuAutoScalingGroup(
            name, plan, subnet_ids=subnets, user_data=user_data,
            hf_token_read_policy=secret.read_policy() if secret else None,
            associate_public_ip=cfg.associate_public_ip, opts=in_region,
        )
        outputs["asg_name"] = asg.asg_name
    return outputs
