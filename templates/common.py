"""Names the rendered files and the infrastructure share: ports, node labels and the render error type.

Kept apart from templates/render.py so infra/ can use them without importing the renderer (and jinja2).
"""

from __future__ import annotations

import math
import re
from typing import Literal

from llm_advisor.planner.models import Plan
from sizing.precision import DTYPE_BYTES, quantized_bytes_per_param
from sizing.vocabulary import is_load_time

# vLLM's OpenAI server listens on 8000 unless --port says otherwise (cli_args.py default).
VLLM_PORT = 8000
# Ray's default GCS port for `ray start --head` (Ray docs, "ray start").
RAY_PORT = 6379
# Node labels the EKS node groups carry and the pods select on.
POOL_LABEL = "llm-advisor/pool"
CAPACITY_LABEL = "llm-advisor/capacity"
# The scheduling contract of a GPU node, one declaration for node groups, Karpenter NodePools, the pods
# and the DaemonSets they rely on. Taint value "present": the NVIDIA device plugin chart's NFD worker
# tolerates nvidia.com/gpu=present:NoSchedule (k8s-device-plugin deployments/helm values.yaml), and the
# label nvidia.com/gpu.present=true is one the chart's default node affinity accepts without NFD.
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT_EFFECT = "NoSchedule"  # Kubernetes spelling; EKS CreateNodegroup spells it NO_SCHEDULE
GPU_PRESENT_LABEL = "nvidia.com/gpu.present"
# The EKS NVIDIA AMI families the node groups may use (EKS CreateNodegroup amiType).
EksAmiType = Literal["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA"]


class RenderError(ValueError):
    """A Plan that the requested output cannot express (names the constraint and what would work)."""


class InvalidInputError(RenderError):
    """A user-supplied string (secret id, model repo, image) that may not go into a shell script, a
    systemd unit or a manifest: names the flag / config key and the form expected."""


# Secrets Manager secret names use ASCII letters, digits and /_+=.@- (CreateSecret `Name`); an ARN adds
# ':' (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abc123).
_SECRET_ID = re.compile(r"^[A-Za-z0-9/_+=.@:-]{1,2048}$")
# A Hugging Face repo id: `org/name`, each part of letters, digits, '.', '_', '-' (huggingface_hub
# validate_repo_id: [\w\-.], at most 96 characters).
_HF_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
# Image reference grammar of distribution/reference (reference.go): [domain[:port]/]path[:tag][@digest],
# path components lower-case alphanumerics joined by '.', '_', '__' or '-'s; tag [\w][\w.-]{0,127}.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_DOMAIN = rf"(?:{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?/)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"^{_DOMAIN}{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)


def check_hf_token_secret_id(value: str) -> str:
    if not _SECRET_ID.match(value):
        raise InvalidInputError(
            f"--hf-token-secret-id / Secrets Manager id {value!r}: expected a secret name of letters, digits "
            "and /_+=.@- or its ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), e.g. hf-token"
        )
    return value


def check_served_model(value: str) -> str:
    if len(value) > 96 or not _HF_REPO_ID.match(value) or ".." in value or "--" in value:
        raise InvalidInputError(
            f"--served-model / servedModel {value!r}: expected a Hugging Face repo id ORG/NAME of letters, "
            "digits, '.', '_' and '-' (at most 96 characters), e.g. meta-llama/Llama-3.1-8B-Instruct"
        )
    return value


def check_image(value: str) -> str:
    if len(value) > 255 or not _IMAGE.match(value):
        raise InvalidInputError(
            f"--image / vllmImage {value!r}: expected a container image reference "
            "[REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. vllm/vllm-openai:v0.11.0"
        )
    return value


_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")
# `vllm serve --config FILE` arrived in vLLM 0.6.0 (vllm-project/vllm PR #7737; issue #8273: "unrecognized
# arguments: --config" on 0.5.x, "I think this is v0.6.0"). Every launch rendered here uses it.
MIN_RENDER_VLLM_VERSION = (0, 6)


def vllm_release(plan: Plan) -> tuple[int, int, int]:
    """(major, minor, patch) of plan.vllm.vllm_version (`0.11` -> (0, 11, 0))."""
    match = _VERSION.match(plan.vllm.vllm_version)
    if not match:
        raise RenderError(
            f"vllm_version {plan.vllm.vllm_version!r} is not X.Y or X.Y.Z; the image tag needs e.g. '0.11.0'"
        )
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def check_renderable_vllm_version(plan: Plan) -> None:
    """Refuse releases without `vllm serve --config` (plan/size still model them)."""
    if vllm_release(plan)[:2] < MIN_RENDER_VLLM_VERSION:
        raise RenderError(
            f"vllm_version {plan.vllm.vllm_version}: the rendered launch runs `vllm serve --config`, which "
            "vLLM only has since 0.6.0 (PR #7737); pass --vllm-version 0.6 or later (config vllmVersion)"
        )


def checkpoint_gib(plan: Plan) -> float:
    """The whole checkpoint one node downloads, in the served checkpoint's own format: every rank's
    weights (the worst rank's x ranks is an upper bound), scaled back to 16 bits only when vLLM
    quantizes at load time (plan.served.quantization differs from plan.served.checkpoint_quantization)."""
    ranks = plan.vllm.tensor_parallel_size * plan.vllm.pipeline_parallel_size
    # vLLM reads the 16-bit checkpoint and quantizes it while loading: on disk each weight takes 16-bit
    # bytes per its in-memory bytes (fp8 2x, bitsandbytes 4-bit ~3.6x); the 16-bit parts it keeps
    # (embeddings, norms) make this an upper bound. A pre-quantized checkpoint is on disk as in memory.
    load_time = is_load_time(plan.served.checkpoint_quantization, plan.served.quantization)
    factor = DTYPE_BYTES / quantized_bytes_per_param(plan.served.quantization) if load_time else 1.0
    return plan.memory.weights_gib * ranks * factor


# gp3 bounds (Amazon EBS user guide, "General Purpose SSD volumes"): baseline 3,000 IOPS and 125 MiB/s,
# provisionable to 16,000 IOPS and 1,000 MiB/s, at most 0.25 MiB/s of throughput per provisioned IOPS.
GP3_BASELINE_MIB_S, GP3_MAX_MIB_S = 125, 1000
GP3_BASELINE_IOPS, GP3_MAX_IOPS = 3000, 16000
GP3_MIB_S_PER_IOPS = 0.25
# Time budget for reading the checkpoint off the volume once (a policy choice: 10 minutes, well inside the
# ASG's 1800 s health-check grace; at baseline 125 MiB/s a 140 GiB checkpoint would need ~19 minutes).
CHECKPOINT_READ_BUDGET_S = 600


def gp3_performance(plan: Plan) -> tuple[int, int]:
    """(throughput MiB/s, IOPS) so one node's checkpoint share reads within CHECKPOINT_READ_BUDGET_S,
    clamped to gp3's range, with the IOPS the throughput needs at 0.25 MiB/s per IOPS."""
    need = math.ceil(checkpoint_gib(plan) * 1024 / CHECKPOINT_READ_BUDGET_S)
    throughput = min(max(need, GP3_BASELINE_MIB_S), GP3_MAX_MIB_S)
    iops = min(max(math.ceil(throughput / GP3_MIB_S_PER_IOPS), GP3_BASELINE_IOPS), GP3_MAX_IOPS)
    return throughput, iops


def replicas_per_instance(plan: Plan) -> int:
    """vLLM servers per instance: replicas packed evenly on the instances (one replica, one server)."""
    return max(1, math.ceil(plan.placement.replicas / plan.placement.instance_count))


def require_served_model(plan: Plan) -> str:
    """The Hugging Face repo vLLM loads; refuses a plan that has none (e.g. --quantization awq on a bf16
    checkpoint, or a config.json path), naming what to pass."""
    if plan.served.served_model:
        return check_served_model(plan.served.served_model)
    raise RenderError(
        "served_model: no Hugging Face checkpoint is known that vLLM can load for "
        f"{plan.served.model!r} with quantization {plan.served.quantization!r}; pass --served-model "
        "ORG/REPO (Pulumi config: servedModel) naming a checkpoint in that format, e.g. an AWQ/GPTQ repo "
        "of the same architecture"
    )


def efa_interfaces(plan: Plan) -> int:
    """EFA interfaces per node of a multi-node plan (0 when it needs none), from the Plan (the instance
    catalog's DescribeInstanceTypes EfaInfo.MaximumEfaInterfaces, carried by the planner). The Placement
    validator holds it at >= 1 exactly when a replica spans nodes."""
    return plan.placement.efa_interfaces_per_instance
