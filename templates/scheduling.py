"""What a GPU node offers the scheduler (allocatable), what the vLLM pods ask for (a stated rule), and the
offline scheduling check that holds the node groups and every pod the deployment needs together.

Allocatable = capacity - kube-reserved - eviction threshold - EFA huge pages, as the EKS AMIs configure
the kubelet (sources next to each constant). The vLLM pod requests what vLLM needs (vllm_need), at most
its share of what is left once the DaemonSets have their room; the check then proves, per node group and
per instance type a node may be, that every pod tolerates the node's taints, matches its labels and that
the DaemonSets plus the vLLM pods packed on one node fit its allocatable.
"""

from __future__ import annotations

import math
from typing import Any

from llm_advisor.planner.models import Plan
from templates.common import RenderError, checkpoint_gib
from templates.daemonsets import EFA_RESOURCE, NVIDIA_GPU_RESOURCE, PodSchedulingSpec

# --- Node allocatable ------------------------------------------------------------------------------------
# Max pods of an AL2023 (nodeadm) or Bottlerocket node: the ENI-based count
# ENIs x (IPv4 addresses per ENI - 1) + 2, from awslabs/amazon-eks-ami
# nodeadm/internal/kubelet/eni-max-pods.txt @ 26412050 (the GPU types we plan). Not capped at 110: the
# memory-based limit is behind a feature gate that is off by default (maxpods.go ApplyLimit).
ENI_MAX_PODS = {
    "g4dn.xlarge": 29, "g4dn.2xlarge": 29, "g4dn.4xlarge": 29, "g4dn.8xlarge": 58, "g4dn.12xlarge": 234,
    "g4dn.16xlarge": 58, "g4dn.metal": 737,
    "g5.xlarge": 58, "g5.2xlarge": 58, "g5.4xlarge": 234, "g5.8xlarge": 234, "g5.12xlarge": 737,
    "g5.16xlarge": 234, "g5.24xlarge": 737, "g5.48xlarge": 345,
    "g6.xlarge": 58, "g6.2xlarge": 58, "g6.4xlarge": 234, "g6.8xlarge": 234, "g6.12xlarge": 234,
    "g6.16xlarge": 737, "g6.24xlarge": 737, "g6.48xlarge": 737,
    "g6e.xlarge": 58, "g6e.2xlarge": 58, "g6e.4xlarge": 234, "g6e.8xlarge": 234, "g6e.12xlarge": 292,
    "g6e.16xlarge": 737, "g6e.24xlarge": 492, "g6e.48xlarge": 492,
    "gr6.4xlarge": 234, "gr6.8xlarge": 234,
    "p3.2xlarge": 58, "p3.8xlarge": 234, "p3.16xlarge": 234, "p3dn.24xlarge": 737,
    "p4d.24xlarge": 737, "p4de.24xlarge": 737, "p5.4xlarge": 118, "p5.48xlarge": 100, "p5e.48xlarge": 100,
    "p5en.48xlarge": 198, "p6-b200.48xlarge": 198,
}
# The CPU families of the llama.cpp path (pricing/data/aws_cpu_families.csv), same file and commit: every
# one of them lists xlarge/2xlarge 58, 4xlarge-12xlarge 234, 16xlarge and larger 737.
_CPU_FAMILY_MAX_PODS = {"xlarge": 58, "2xlarge": 58, "4xlarge": 234, "8xlarge": 234, "12xlarge": 234,
                        "16xlarge": 737, "24xlarge": 737, "48xlarge": 737}
ENI_MAX_PODS.update({
    f"{family}.{size}": pods
    for family in ("c7i", "m7i", "r7i", "c7g", "m7g", "r7g", "c8g", "m8g", "r8g")
    for size, pods in _CPU_FAMILY_MAX_PODS.items()
    if not (family in ("c7g", "m7g", "r7g") and size in ("24xlarge", "48xlarge"))
})
# A type the file does not list (nodeadm then asks EC2): the largest count above, so the reserve is an
# upper bound and the requests a lower one.
UNKNOWN_MAX_PODS = max(ENI_MAX_PODS.values())
# nodeadm kube-reserved (nodeadm/internal/kubelet/config.go withDefaultReservedResources; Bottlerocket
# uses the same formulas): memory 255 MiB + 11 MiB per max pod; CPU 6% of the first core, 1% of the
# second, 0.5% of cores 3-4, 0.25% of the rest.
KUBE_RESERVED_BASE_MIB, KUBE_RESERVED_PER_POD_MIB = 255, 11
_KUBE_RESERVED_CPU_TIERS = ((1, 0.06), (1, 0.01), (2, 0.005))  # (cores, fraction); then 0.25% each
_KUBE_RESERVED_CPU_REST = 0.0025
EVICTION_HARD_MIB = 100  # kubelet evictionHard memory.available<100Mi (EKS AMI kubelet config)
# Capacity the kubelet reports is MemTotal, below the nominal RAM (DescribeInstanceTypes MemoryInfo): the
# kernel's page descriptors (64 B struct page per 4 KiB page = 1.5625%) plus an allowance of 512 MiB for
# the kernel image, crash kernel and firmware reservations.
STRUCT_PAGE_FRACTION = 64 / 4096
KERNEL_RESERVED_MIB = 512
# EFA nodes: the EFA installer preallocates 2 MiB huge pages for libfabric, which the kubelet reports as
# hugepages-2Mi and takes off memory allocatable; the EKS EFA guide's pods request hugepages-2Mi: 5120Mi
# (AWS EKS user guide, "Run machine learning training on Amazon EKS with Elastic Fabric Adapter").
EFA_HUGEPAGES_MIB = 5120
# Room kept for DaemonSets we do not deploy ourselves (VPC CNI aws-node, kube-proxy, EKS Pod Identity
# agent, one log/metrics agent): the vLLM pods never request it, so adding such a DaemonSet later does
# not leave anything Pending. The device plugins' own requests are counted on top (daemonset_pods).
OTHER_DAEMONSETS_MILLICORES = 500
OTHER_DAEMONSETS_MIB = 1024


def max_pods(instance_type: str) -> int:
    return ENI_MAX_PODS.get(instance_type, UNKNOWN_MAX_PODS)


def kube_reserved_millicores(vcpus: int) -> int:
    """nodeadm kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of cores 3-4, 0.25% above."""
    left, reserved = vcpus, 0.0
    for cores, fraction in _KUBE_RESERVED_CPU_TIERS:
        take = min(left, cores)
        reserved, left = reserved + take * fraction, left - take
    return math.ceil((reserved + left * _KUBE_RESERVED_CPU_REST) * 1000)


def allocatable(
    instance_type: str, vcpus: int, memory_gib: float, gpus: int, efa_devices: int
) -> dict[str, int]:
    """{cpu millicores, memory MiB, GPUs, EFA devices} a node of this type offers the scheduler."""
    memory_mib = memory_gib * 1024
    mem_total = memory_mib - memory_mib * STRUCT_PAGE_FRACTION - KERNEL_RESERVED_MIB
    reserved_mib = KUBE_RESERVED_BASE_MIB + KUBE_RESERVED_PER_POD_MIB * max_pods(instance_type)
    reserved_mib += EVICTION_HARD_MIB + (EFA_HUGEPAGES_MIB if efa_devices else 0)
    return {
        "cpu": vcpus * 1000 - kube_reserved_millicores(vcpus),
        "memory": math.floor(mem_total - reserved_mib),
        NVIDIA_GPU_RESOURCE: gpus,
        EFA_RESOURCE: efa_devices,
    }


def node_types(plan: Plan) -> tuple[str, ...]:
    """Every instance type a node of the plan may be (the planned one, then the spot alternatives)."""
    return tuple(dict.fromkeys((plan.placement.instance_type, *plan.placement.spot_instance_types)))


def node_gpus(plan: Plan) -> int:
    """GPUs of a node the plan uses: the GPUs of the pods it packs there (the whole node on every planned
    layout: the planner fills instances; a catalog lookup is not templates/' job, docs/architecture.md)."""
    return plan.vllm.gpus_per_replica * pods_per_node(plan) // plan.placement.instances_per_replica


def pods_per_node(plan: Plan) -> int:
    """vLLM pods on one node: replicas packed per instance, or one pod per node of a multi-node replica."""
    at = plan.placement
    return max(1, math.ceil(at.replicas / at.instance_count)) if at.instances_per_replica == 1 else 1


def node_allocatable(plan: Plan, instance_type: str, efa_devices: int,
                     vcpus: int | None = None, memory_gib: float | None = None) -> dict[str, int]:
    """allocatable() of one of the plan's node types, with the plan's node shape (placement.node_vcpus /
    node_memory_gib: the fewest among its types, from the priced catalog) unless given."""
    at = plan.placement
    return allocatable(instance_type, vcpus or at.node_vcpus, memory_gib or at.node_memory_gib,
                       node_gpus(plan), efa_devices)


def worst_allocatable(plan: Plan, efa_devices: int, vcpus: int, memory_gib: float) -> dict[str, int]:
    """The least of each resource over the types a node may be, with the node shape the pods are sized
    for (the plan's node_vcpus / node_memory_gib): the pods must fit every type."""
    each = [node_allocatable(plan, t, efa_devices, vcpus, memory_gib) for t in node_types(plan)]
    return {key: min(a[key] for a in each) for key in each[0]}


# --- What a vLLM pod asks for ----------------------------------------------------------------------------
# vLLM V1 runs one API server process, one engine-core process and one worker process per GPU (vLLM docs,
# design/arch_overview.md, "V1 process architecture": N+2 processes for N GPUs), each busy on the CPU
# while serving: one physical core each, i.e. 2 vCPUs (an EC2 vCPU is one hyperthread; the GPU families
# run 2 threads per core, DescribeInstanceTypes ThreadsPerCore).
VCPUS_PER_PROCESS = 2
# Host memory: per process, the Python/PyTorch/CUDA runtime (an allowance: CUDA context and the torch
# libraries map a few GiB each), plus the pod's share of the checkpoint, which passes through the page
# cache (charged to the pod's memory cgroup) while the weights load.
HOST_GIB_PER_PROCESS = 2


def vllm_need(plan: Plan) -> tuple[int, int]:
    """(millicores, MiB) the rule says one vLLM pod needs: (GPUs + 2) processes x 2 vCPUs; the same
    processes x 2 GiB plus the pod's part of the checkpoint."""
    gpus = plan.vllm.gpus_per_replica // plan.placement.instances_per_replica
    processes = gpus + 2
    weights_gib = checkpoint_gib(plan) / plan.placement.instances_per_replica
    memory_gib = processes * HOST_GIB_PER_PROCESS + weights_gib
    return processes * VCPUS_PER_PROCESS * 1000, math.ceil(memory_gib * 1024)


def daemonset_room(daemonsets: list[PodSchedulingSpec]) -> tuple[int, int]:
    """(millicores, MiB) kept for DaemonSets: the device plugins' requests plus the others' allowance."""
    cpu = OTHER_DAEMONSETS_MILLICORES + sum(parse_cpu(d.requests.get("cpu", "0")) for d in daemonsets)
    mem = OTHER_DAEMONSETS_MIB + sum(parse_memory(d.requests.get("memory", "0")) for d in daemonsets)
    return cpu, mem


def vllm_requests(
    plan: Plan, efa_devices: int, daemonsets: list[PodSchedulingSpec], vcpus: int, memory_gib: float
) -> tuple[int, int]:
    """(millicores, MiB) each vLLM pod requests: vllm_need, at most its share of the node's allocatable
    left after the DaemonSets' room (whole 100 millicores / MiB, rounded down). `vcpus`/`memory_gib`: the
    node shape the pods are sized for (the fewest among the plan's types)."""
    alloc = worst_allocatable(plan, efa_devices, vcpus, memory_gib)
    room_cpu, room_mem = daemonset_room(daemonsets)
    pods = pods_per_node(plan)
    share_cpu = (alloc["cpu"] - room_cpu) // pods // 100 * 100
    share_mem = (alloc["memory"] - room_mem) // pods
    need_cpu, need_mem = vllm_need(plan)
    if share_cpu < 1000 or share_mem < 1024:
        raise RenderError(
            f"instance_type {plan.placement.instance_type}: leaves {share_cpu} millicores / {share_mem} "
            f"MiB for each of {pods} vLLM pod(s) after kube-reserved and the DaemonSets; use a larger "
            "instance type"
        )
    return min(need_cpu, share_cpu), min(need_mem, share_mem)


# --- Quantities and the check ----------------------------------------------------------------------------
def parse_cpu(value: str | int) -> int:
    text = str(value)
    return int(text[:-1]) if text.endswith("m") else int(float(text) * 1000)


_BINARY = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}


def parse_memory(value: str | int) -> int:
    """A memory quantity in MiB (binary suffixes; a bare number is bytes)."""
    text = str(value)
    for suffix, factor in _BINARY.items():
        if text.endswith(suffix):
            return math.ceil(float(text[: -len(suffix)]) * factor)
    return math.ceil(int(text) / 2**20)


def tolerates(tolerations: list[dict[str, str]], taint: dict[str, str]) -> bool:
    """Kubernetes toleration matching (an empty key with Exists tolerates everything)."""
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("operator", "Equal") == "Exists":
            if not t.get("key") or t["key"] == taint["key"]:
                return True
        elif t.get("key") == taint["key"] and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def _expression_holds(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = expr["key"], expr["operator"], expr.get("values", [])
    if op == "In":
        return labels.get(key) in values
    if op == "NotIn":
        return labels.get(key) not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    raise ValueError(f"node affinity operator {op!r} is not modelled (In, NotIn, Exists, DoesNotExist)")


def selects(pod: PodSchedulingSpec, labels: dict[str, str]) -> bool:
    """nodeSelector and required node affinity (terms ORed, expressions ANDed) against a node's labels."""
    if any(labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    required = pod.affinity.get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if not required:
        return True
    return any(all(_expression_holds(e, labels) for e in term.get("matchExpressions", []))
               for term in required["nodeSelectorTerms"])


def _requested(pod: PodSchedulingSpec) -> dict[str, int]:
    r = pod.requests
    return {"cpu": parse_cpu(r.get("cpu", "0")), "memory": parse_memory(r.get("memory", "0")),
            NVIDIA_GPU_RESOURCE: int(r.get(NVIDIA_GPU_RESOURCE, 0)),
            EFA_RESOURCE: int(r.get(EFA_RESOURCE, 0))}


def check_scheduling(node_groups: list[dict[str, Any]], pods: list[PodSchedulingSpec]) -> list[str]:
    """Problems (empty = every pod schedules). Each node group: name, instance_types, labels (common),
    taints (Kubernetes spelling), allocatable {instance type: {resource: amount}}. A DaemonSet must run on
    every node group; every other pod must select at least one, tolerate its taints, and with the
    DaemonSets fit the allocatable of every instance type the group may launch."""
    problems: list[str] = []
    daemonsets = [p for p in pods if p.kind == "DaemonSet"]
    for group in node_groups:
        for itype in group["instance_types"]:
            labels = {**group["labels"], "node.kubernetes.io/instance-type": itype}
            where = f"node group {group['name']} ({itype})"
            for ds in daemonsets:
                if not selects(ds, labels):
                    problems.append(f"{ds.name}: its node selector/affinity does not match {where} labels")
                for taint in group["taints"]:
                    if not tolerates(ds.tolerations, taint):
                        problems.append(f"{ds.name}: does not tolerate taint {_taint(taint)} of {where}")
    for pod in (p for p in pods if p.kind != "DaemonSet"):
        homes = [g for g in node_groups if selects(pod, g["labels"])]
        if not homes:
            problems.append(f"{pod.name}: no node group matches its node selector {pod.node_selector}")
        for group in homes:
            for taint in group["taints"]:
                if not tolerates(pod.tolerations, taint):
                    problems.append(f"{pod.name}: does not tolerate taint {_taint(taint)} of node group "
                                    f"{group['name']}")
            for itype in group["instance_types"]:
                alloc = group["allocatable"][itype]
                labels = {**group["labels"], "node.kubernetes.io/instance-type": itype}
                on_node = [d for d in daemonsets if selects(d, labels)]
                for resource in alloc:
                    used = sum(_requested(d)[resource] for d in on_node)
                    used += _requested(pod)[resource] * pod.per_node
                    if used > alloc[resource]:
                        problems.append(
                            f"{pod.name}: {pod.per_node} pod(s) + DaemonSets request {used} {resource} on "
                            f"node group {group['name']} ({itype}), allocatable {alloc[resource]}"
                        )
    return problems


def _taint(taint: dict[str, str]) -> str:
    return f"{taint['key']}={taint.get('value', '')}:{taint['effect']}"
