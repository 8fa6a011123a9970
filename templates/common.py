"""Names the rendered files and the infrastructure share: ports, node labels and the render error type.

Kept apart from templates/render.py so infra/ can use them without importing the renderer (and jinja2).
"""

from __future__ import annotations

import math

from planner.models import Plan

# vLLM's OpenAI server listens on 8000 unless --port says otherwise (cli_args.py default).
VLLM_PORT = 8000
# Ray's default GCS port for `ray start --head` (Ray docs, "ray start").
RAY_PORT = 6379
# Node labels the EKS node groups carry and the pods select on.
POOL_LABEL = "llm-advisor/pool"
CAPACITY_LABEL = "llm-advisor/capacity"


class RenderError(ValueError):
    """A Plan that the requested output cannot express (names the constraint and what would work)."""


def replicas_per_instance(plan: Plan) -> int:
    """vLLM servers per instance: replicas packed evenly on the instances (one replica, one server)."""
    return max(1, math.ceil(plan.replicas / plan.instance_count))


def require_served_model(plan: Plan) -> str:
    """The Hugging Face repo vLLM loads; refuses a plan that has none (e.g. --quantization awq on a bf16
    checkpoint, or a config.json path), naming what to pass."""
    if plan.served_model:
        return plan.served_model
    raise RenderError(
        f"served_model: no Hugging Face checkpoint is known that vLLM can load for {plan.model!r} with "
        f"quantization {plan.quantization!r}; pass --served-model ORG/REPO (Pulumi config: servedModel) "
        "naming a checkpoint in that format, e.g. an AWQ/GPTQ repo of the same architecture"
    )


def efa_interfaces(plan: Plan) -> int:
    """EFA interfaces per node of a multi-node plan (0 when it needs none), from the Plan (the instance
    catalog's DescribeInstanceTypes EfaInfo.MaximumEfaInterfaces, carried by the planner)."""
    if not plan.needs_efa:
        return 0
    if plan.efa_interfaces_per_instance < 1:
        raise RenderError(
            f"efa_interfaces_per_instance: {plan.instance_type} replicas span nodes (needs_efa) but the plan "
            "carries no EFA interface count; plan an EFA type (e.g. p5.48xlarge: 32) or set the count"
        )
    return plan.efa_interfaces_per_instance
