"""Disk sizing for GPU nodes: OS + the vLLM image + the model checkpoint, on the device the AMI uses.

Pure functions of the Plan (no Pulumi), so the numbers are testable on their own.
"""

from __future__ import annotations

import math

from llm_advisor.planner.models import Plan
from templates.common import EksAmiType, checkpoint_gib, gp3_performance

__all__ = ["EksAmiType", "checkpoint_gib", "ec2_root_volume_gib", "eks_volume", "gp3_performance"]

# Allowance for the vllm/vllm-openai CUDA image: about 10 GB compressed on Docker Hub for v0.10/v0.11,
# roughly twice that once unpacked by containerd/Docker; rounded up to leave room for one upgrade pull.
VLLM_IMAGE_ALLOWANCE_GIB = 30
# EKS managed node groups default to a 20 GiB root volume (EKS CreateNodegroup `diskSize` default):
# the OS, kubelet and logs of an AL2023 node fit in it.
EKS_OS_ALLOWANCE_GIB = 20
# The Deep Learning Base OSS Nvidia Driver GPU AMI (AL2023) root snapshot is 75 GiB: the volume may not
# be smaller than its snapshot (DLAMI release notes; EC2 RunInstances rejects a smaller volume).
DLAMI_ROOT_SNAPSHOT_GIB = 75
# Safetensors metadata, tokenizer files and the HF cache's .incomplete copy during download.
_DOWNLOAD_SLACK = 1.1
_ROUND_TO_GIB = 10

# Root device names: AL2023 EKS and DLAMI AMIs boot from /dev/xvda; Bottlerocket keeps its OS on
# /dev/xvda and container images + ephemeral storage on the data volume /dev/xvdb (Bottlerocket docs).
ROOT_DEVICE = "/dev/xvda"
BOTTLEROCKET_DATA_DEVICE = "/dev/xvdb"


def _round_up(gib: float) -> int:
    return int(math.ceil(gib / _ROUND_TO_GIB) * _ROUND_TO_GIB)


def _data_gib(plan: Plan) -> float:
    """The vLLM image and the checkpoint being downloaded into the HF cache."""
    return VLLM_IMAGE_ALLOWANCE_GIB + checkpoint_gib(plan) * _DOWNLOAD_SLACK


def eks_volume(plan: Plan, ami_type: EksAmiType) -> tuple[str, int]:
    """(device name, size GiB) of the volume that holds images and the HF cache on an EKS node."""
    data_gib = _data_gib(plan)
    if ami_type == "BOTTLEROCKET_x86_64_NVIDIA":
        return BOTTLEROCKET_DATA_DEVICE, _round_up(data_gib)
    return ROOT_DEVICE, _round_up(EKS_OS_ALLOWANCE_GIB + data_gib)


def ec2_root_volume_gib(plan: Plan) -> int:
    """Root volume of a DLAMI instance: the AMI's snapshot plus the image and the checkpoint."""
    return _round_up(DLAMI_ROOT_SNAPSHOT_GIB + _data_gib(plan))
