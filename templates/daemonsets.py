"""The DaemonSets a GPU node needs before a vLLM pod can land on it: the NVIDIA device plugin (advertises
nvidia.com/gpu) and, when the pods use EFA, the AWS EFA device plugin (advertises vpc.amazonaws.com/efa).

One place for their Helm charts (name, repository, pinned version), the Helm values that make them run on
our GPU nodes (the scheduling contract of templates.common: taint nvidia.com/gpu=present:NoSchedule,
label nvidia.com/gpu.present=true), and the pod scheduling specs the offline scheduling check
(templates.scheduling) holds against the node groups. The Pulumi workload deployment imports the charts
and values from here; nothing else spells them.

Public: HelmChart, NVIDIA_DEVICE_PLUGIN_CHART, EFA_DEVICE_PLUGIN_CHART, gpu_tolerations(),
gpu_node_affinity(), nvidia_device_plugin_values(), efa_device_plugin_values(), device_plugin_releases(),
daemonset_pods(), PodSchedulingSpec.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from pydantic import Field

from sizing.vocabulary import Frozen
from templates.common import GPU_PRESENT_LABEL, GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE

INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"  # well-known label the kubelet sets
NVIDIA_GPU_RESOURCE = "nvidia.com/gpu"
# The extended resource the aws-efa-k8s-device-plugin advertises (AWS EKS user guide, "Manage EFA devices
# on Amazon EKS").
EFA_RESOURCE = "vpc.amazonaws.com/efa"


class HelmChart(Frozen):
    """A pinned Helm chart: `helm upgrade -i RELEASE NAME --repo REPO --version VERSION -n NAMESPACE`."""

    release: str
    name: str
    repo: str
    version: str
    namespace: str


# NVIDIA/k8s-device-plugin deployments/helm/nvidia-device-plugin, Chart.yaml @ v0.20.0 (commit 1b826acc,
# 2026-08-19); the repository is the one the EKS user guide installs from ("Install Kubernetes device
# plugin for GPUs"). Its values.yaml default affinity accepts a node that NFD labelled
# feature.node.kubernetes.io/pci-10de.present or that carries nvidia.com/gpu.present=true; its default
# tolerations include nvidia.com/gpu Exists. We set both explicitly (Helm values replace lists).
NVIDIA_DEVICE_PLUGIN_CHART = HelmChart(
    release="nvdp", name="nvidia-device-plugin", repo="https://nvidia.github.io/k8s-device-plugin",
    version="0.20.0", namespace="nvidia",
)
# aws/eks-charts stable/aws-efa-k8s-device-plugin, Chart.yaml version v0.5.30 (commit 52396092,
# 2026-08-03; EKS user guide, "Manage EFA devices on Amazon EKS"). Its daemonset.yaml tolerates only
# CriticalAddonsOnly plus `.Values.tolerations` (default []), so without our toleration it never runs on a
# tainted GPU node; its node affinity requires node.kubernetes.io/instance-type In
# supportedInstanceLabels.values (the EFA-capable types) and eks.amazonaws.com/compute-type NotIn [auto].
EFA_DEVICE_PLUGIN_CHART = HelmChart(
    release="aws-efa-k8s-device-plugin", name="aws-efa-k8s-device-plugin",
    repo="https://aws.github.io/eks-charts", version="v0.5.30", namespace="kube-system",
)
# The EFA chart's default requests (values.yaml `resources.requests`: cpu 10m, memory 20Mi); the NVIDIA
# chart sets none (values.yaml `resources: {}`).
EFA_PLUGIN_REQUESTS = {"cpu": "10m", "memory": "20Mi"}
# The GPU instance types among the chart's supportedInstanceLabels.values (aws/eks-charts
# stable/aws-efa-k8s-device-plugin/values.yaml @ 050f81ee): the plugin's node affinity admits only these.
EFA_CHART_GPU_TYPES = (
    "g4dn.8xlarge", "g4dn.12xlarge", "g4dn.16xlarge", "g4dn.metal",
    "g5.8xlarge", "g5.12xlarge", "g5.16xlarge", "g5.24xlarge", "g5.48xlarge",
    "g6.8xlarge", "g6.12xlarge", "g6.16xlarge", "g6.24xlarge", "g6.48xlarge",
    "g6e.8xlarge", "g6e.12xlarge", "g6e.16xlarge", "g6e.24xlarge", "g6e.48xlarge", "gr6.8xlarge",
    "p3dn.24xlarge", "p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge",
)


class PodSchedulingSpec(Frozen):
    """What the scheduler reads of one pod template: where it may go and what it asks for."""

    name: str
    kind: str = Field(description="DaemonSet, Deployment, LeaderWorkerSet leader/worker")
    tolerations: list[dict[str, str]]
    node_selector: dict[str, str] = {}
    affinity: dict[str, Any] = {}
    requests: dict[str, str | int] = {}
    per_node: int = Field(default=1, description="pods of this template on one node (DaemonSets: 1)")
    replicas: int | None = Field(default=None, description="pods in all; None for a DaemonSet")


def gpu_tolerations() -> list[dict[str, str]]:
    """Tolerations for our GPU taint, exactly (key, value, effect)."""
    return [{"key": GPU_TAINT_KEY, "operator": "Equal", "value": GPU_TAINT_VALUE, "effect": GPU_TAINT_EFFECT}]


def gpu_node_affinity() -> dict[str, Any]:
    """Required node affinity on the label our GPU node groups carry (nvidia.com/gpu.present=true)."""
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": GPU_PRESENT_LABEL, "operator": "In", "values": ["true"]}]}
                ]
            }
        }
    }


def nvidia_device_plugin_values() -> dict[str, Any]:
    """Helm values of the NVIDIA device plugin: tolerate our taint, land only on our labelled GPU nodes
    (set explicitly rather than relying on the chart defaults, which may change between versions)."""
    return {"tolerations": gpu_tolerations(), "affinity": gpu_node_affinity()}


def efa_device_plugin_values() -> dict[str, Any]:
    """Helm values of the EFA device plugin: tolerate our GPU taint (the chart's default is none)."""
    return {"tolerations": gpu_tolerations()}


def device_plugin_releases(efa: bool, nvidia: bool = True) -> list[tuple[HelmChart, dict[str, Any]]]:
    """(chart, values) of every device plugin the GPU pods rely on: NVIDIA unless the AMI ships it
    (`nvidia` False: Bottlerocket NVIDIA variants run the plugin on the host, EKS user guide "Install
    Kubernetes device plugin for GPUs"), EFA when the pods request EFA devices (`efa`)."""
    releases = [(NVIDIA_DEVICE_PLUGIN_CHART, nvidia_device_plugin_values())] if nvidia else []
    if efa:
        releases.append((EFA_DEVICE_PLUGIN_CHART, efa_device_plugin_values()))
    return releases


def helm_install_command(chart: HelmChart, values: dict[str, Any]) -> str:
    """The same release with the helm CLI (for the kubectl hint of a stack that does not deploy it)."""
    sets = " ".join(f"--set-json {shlex.quote(f'{key}={json.dumps(value)}')}" for key, value in values.items()
                    )
    return (f"helm upgrade -i {chart.release} {chart.name} --repo {chart.repo} --version {chart.version} "
            f"--namespace {chart.namespace} --create-namespace {sets}")


def daemonset_pods(efa: bool, nvidia: bool = True) -> list[PodSchedulingSpec]:
    """The DaemonSet pods a GPU node runs for our pods, as the chart templates render them with our values.

    NVIDIA: tolerations and affinity are exactly nvidia_device_plugin_values() (the chart template uses
    `.Values.tolerations` / `.Values.affinity`), plus the CriticalAddonsOnly toleration it always adds.
    EFA: the chart's own affinity (instance type among its EFA-capable list, EFA_CHART_GPU_TYPES for the
    GPU types), its CriticalAddonsOnly toleration plus efa_device_plugin_values()."""
    critical = {"key": "CriticalAddonsOnly", "operator": "Exists"}
    pods = [
        PodSchedulingSpec(
            name=f"{NVIDIA_DEVICE_PLUGIN_CHART.release}-{NVIDIA_DEVICE_PLUGIN_CHART.name}", kind="DaemonSet",
            tolerations=[critical, *nvidia_device_plugin_values()["tolerations"]],
            affinity=nvidia_device_plugin_values()["affinity"],
        )
    ] if nvidia else []
    if efa:
        terms = [{"matchExpressions": [
            {"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": list(EFA_CHART_GPU_TYPES)},
            {"key": "eks.amazonaws.com/compute-type", "operator": "NotIn", "values": ["auto"]},
        ]}]
        pods.append(
            PodSchedulingSpec(
                name=EFA_DEVICE_PLUGIN_CHART.release, kind="DaemonSet",
                tolerations=[critical, *efa_device_plugin_values()["tolerations"]],
                affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": terms}}},
                requests=dict(EFA_PLUGIN_REQUESTS),
            )
        )
    return pods
