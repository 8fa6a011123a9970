"""Formats a mocked run as the resource tree `pulumi preview` would show, with each resource's key
properties (secrets masked) and the stack outputs."""

from __future__ import annotations

import json
from typing import Any

from llm_advisor.infra.preview import SECRET_PLACEHOLDER, MockRun, RecordedResource, is_secret_value

# Input properties worth showing per resource type (Pulumi wire names, camelCase).
KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region",),
    "aws:eks/nodeGroup:NodeGroup": (
        "capacityType", "instanceTypes", "amiType", "scalingConfig", "labels", "taints", "subnetIds",
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": (
        "imageId", "blockDeviceMappings", "metadataOptions", "networkInterfaces", "placement",
    ),
    "aws:autoscaling/group:Group": (
        "desiredCapacity", "minSize", "maxSize", "capacityRebalance", "mixedInstancesPolicy",
    ),
    "aws:ec2/placementGroup:PlacementGroup": ("strategy",),
    "aws:secretsmanager/secret:Secret": ("namePrefix",),
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretString",),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("policyArn",),
    "aws:ec2/securityGroup:SecurityGroup": ("description",),
    "kubernetes:helm.sh/v3:Release": ("chart", "version", "namespace"),
    "kubernetes:core/v1:Secret": ("stringData",),
}
_HIDDEN_OUTPUTS = {"plan", "vllm_config", "kubernetes_yaml", "hf_token_secret_yaml"}


def mask(value: Any) -> Any:
    """Replace every secret (and everything under it) with SECRET_PLACEHOLDER ([secret])."""
    if is_secret_value(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles
    return value


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _properties(resource: RecordedResource) -> list[str]:
    keys = KEY_PROPERTIES.get(resource.type, ())
    shown = [k for k in keys if k in resource.inputs]
    return [f"{k}: {_compact(mask(resource.inputs[k]))}" for k in shown]


def _plan_summary(plan: dict[str, Any] | None) -> list[str]:
    if not plan:
        return []
    if plan.get("engine") == "llama.cpp":  # a CpuPlan (llm_advisor/planner/cpu.py)
        inst = plan["instance"]
        return [
            f"Plan: {plan['replicas']} x llama-server of {plan['model']} (GGUF {plan['gguf_type']}) on "
            f"{inst['instance_type']} ({inst['region']}, {inst['arch']}, on-demand), --parallel "
            f"{plan['parallel']} --ctx-size {plan['ctx_size']} --threads {plan['threads']}, "
            f"${plan['usd_per_hour']:,.2f}/h",
            "",
        ]
    at, served, vllm = plan["placement"], plan["served"], plan["vllm"]
    return [
        f"Plan: {at['replicas']} replica(s) of {served.get('served_model') or served['model']} on "
        f"{at['instance_count']} x "
        f"{at['instance_type']} ({at['region']}, {at['capacity_type']}: {at['on_demand_instances']} "
        f"on-demand + {at['spot_instances']} spot), TP={vllm['tensor_parallel_size']} "
        f"PP={vllm['pipeline_parallel_size']}, ${plan['cost']['usd_per_hour']:,.2f}/h",
        "",
    ]


def _walk(run: MockRun, parent: str, depth: int, lines: list[str]) -> None:
    for resource in run.resources:
        if resource.parent != parent:
            continue
        pad = "    " * depth
        lines.append(f"{pad}+ {resource.type}  {resource.name}")
        lines.extend(f"{pad}      {prop}" for prop in _properties(resource))
        _walk(run, resource.urn, depth + 1, lines)


def format_run(run: MockRun, show_config: bool = False) -> str:
    stack_urns = {r.parent for r in run.resources} - {r.urn for r in run.resources}
    lines = [*_plan_summary(run.outputs.get("plan")), "Resources (mocked `pulumi preview`):"]
    for root in sorted(stack_urns):
        _walk(run, root, 1, lines)
    lines.append("\nOutputs:")
    for key in sorted(run.outputs):
        if key in _HIDDEN_OUTPUTS and not (show_config and key == "vllm_config"):
            continue
        value = SECRET_PLACEHOLDER if key in run.secret_outputs else run.outputs[key]
        text = value if isinstance(value, str) else json.dumps(value)
        lines.append(f"    {key}: " + text.replace("\n", "\n        "))
    if show_config:
        lines.append("\nvllm_config:\n" + run.outputs.get("vllm_config", ""))
    for subnet, az_id in sorted(run.assumed_subnet_az_ids.items()):
        lines.append(f"\nnote: {subnet}: AZ assumed to be {az_id} (one the plan's instance type is offered "
                     "in; the mocked engine cannot call DescribeSubnets: `pulumi preview` looks it up)")
    lines.extend(f"\nwarning: {warning}" for warning in dict.fromkeys(run.warnings))
    return "\n".join(lines)
