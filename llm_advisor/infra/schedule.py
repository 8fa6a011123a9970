"""The offline scheduling check of a mocked run: the node groups the program declared (instance types,
labels, taints, allocatable) against every pod the deployment needs (the device plugin DaemonSets and the
vLLM pods of the rendered manifests), held together by templates.scheduling.check_scheduling.

`advisor preview --json` prints scheduling_report(run); tests assert its `problems` is empty.
"""

from __future__ import annotations

from typing import Any

import yaml

from llm_advisor.infra.preview import MockRun
from llm_advisor.planner.models import Plan
from templates.daemonsets import EFA_RESOURCE, PodSchedulingSpec, daemonset_pods
from templates.scheduling import check_scheduling, node_allocatable, pods_per_node

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
# EKS CreateNodegroup spells taint effects NO_SCHEDULE ...; Kubernetes NoSchedule ...
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
# EKS labels every managed node with its capacity type (EKS user guide, "Managed node groups": the
# eks.amazonaws.com/capacityType label, ON_DEMAND or SPOT).
EKS_CAPACITY_LABEL = "eks.amazonaws.com/capacityType"


def _efa_devices(run: MockRun) -> int:
    """EFA interfaces of the GPU nodes' launch template (0 without EFA)."""
    for template in run.of_type(LAUNCH_TEMPLATE):
        return sum(1 for i in template.inputs.get("networkInterfaces") or []
                   if i.get("interfaceType") in ("efa", "efa-only"))
    return 0


def node_groups(run: MockRun, plan: Plan) -> list[dict[str, Any]]:
    """Each declared node group as the scheduler sees its nodes."""
    efa = _efa_devices(run)
    groups = []
    for group in run.of_type(NODE_GROUP):
        inputs = group.inputs
        labels = {**(inputs.get("labels") or {}), EKS_CAPACITY_LABEL: inputs.get("capacityType", "ON_DEMAND")}
        groups.append({
            "name": group.name,
            "ami_type": inputs.get("amiType"),
            "instance_types": list(inputs.get("instanceTypes") or []),
            "labels": labels,
            "taints": [{"key": t["key"], "value": t.get("value", ""), "effect": _EFFECTS[t["effect"]]}
                       for t in inputs.get("taints") or []],
            "allocatable": {t: node_allocatable(plan, t, efa) for t in inputs.get("instanceTypes") or []},
        })
    return groups


def _pod_templates(manifests: list[dict[str, Any]]) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(name, kind, replicas, pod template) of every workload in the rendered manifests."""
    out = []
    for doc in manifests:
        if doc.get("kind") == "Deployment":
            spec = doc["spec"]
            out.append((doc["metadata"]["name"], "Deployment", spec["replicas"], spec["template"]))
        elif doc.get("kind") == "LeaderWorkerSet":
            lws = doc["spec"]["leaderWorkerTemplate"]
            for role in ("leader", "worker"):
                count = doc["spec"]["replicas"] * (1 if role == "leader" else lws["size"] - 1)
                out.append((f"{doc['metadata']['name']}-{role}", f"LeaderWorkerSet {role}", count,
                            lws[f"{role}Template"]))
    return out


def vllm_pods(kubernetes_yaml: str, plan: Plan) -> list[PodSchedulingSpec]:
    manifests = [d for d in yaml.safe_load_all(kubernetes_yaml) if d]
    pods = []
    for name, kind, replicas, template in _pod_templates(manifests):
        spec = template["spec"]
        requests: dict[str, Any] = {}
        for container in spec["containers"]:
            requests.update(container.get("resources", {}).get("requests", {}))
        pods.append(PodSchedulingSpec(
            name=name, kind=kind, tolerations=spec.get("tolerations", []),
            node_selector=spec.get("nodeSelector", {}), affinity=spec.get("affinity", {}),
            requests=requests, per_node=pods_per_node(plan), replicas=replicas,
        ))
    return pods


def scheduling_report(run: MockRun) -> dict[str, Any]:
    """{node_groups, pods, problems} of an EKS run; an EC2 run has no Kubernetes scheduling to check."""
    plan_json = run.outputs.get("plan")
    if not plan_json or "kubernetes_yaml" not in run.outputs:
        return {"node_groups": [], "pods": [], "problems": [],
                "note": "target ec2: no Kubernetes scheduler; each instance runs vLLM under systemd"}
    plan = Plan.model_validate(plan_json)
    groups = node_groups(run, plan)
    workload = vllm_pods(run.outputs["kubernetes_yaml"], plan)
    efa = any(int(p.requests.get(EFA_RESOURCE, 0)) for p in workload)
    nvidia = any(g["ami_type"] == "AL2023_x86_64_NVIDIA" for g in groups)
    pods = [*daemonset_pods(efa, nvidia=nvidia), *workload]
    return {
        "node_groups": groups,
        "pods": [p.model_dump(mode="json") for p in pods],
        "problems": check_scheduling(groups, pods),
    }
