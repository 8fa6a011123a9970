"""WorkloadDeployment: the vLLM workload on the cluster, deployed by Pulumi (targets eks and karpenter).

A Kubernetes provider for the cluster, the namespace, the NVIDIA device plugin (and the EFA one when a
replica spans nodes) as pinned Helm releases that tolerate our GPU taint, the HF token Secret from the
Pulumi secret, and the objects of the rendered kubernetes.yaml (ConfigMap, Deployment or LeaderWorkerSet,
Service): templates/render.py stays the one source of the manifests; this module only parses them into
resources. Every object depends on the nodes (node groups or Karpenter pools) so `pulumi destroy` removes
the workload before the nodes, and the vLLM pods depend on the device plugins they need.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from llm_advisor.infra.karpenter import KarpenterNodePools, KarpenterSettings, karpenter_manifests, node_pools
from llm_advisor.planner.models import Plan
from templates.common import (
    VLLM_PORT,
    EksAmiType,
    RenderError,
)
from templates.daemonsets import (
    EFA_DEVICE_PLUGIN_CHART,
    NVIDIA_DEVICE_PLUGIN_CHART,
    HelmChart,
    efa_device_plugin_values,
    nvidia_device_plugin_values,
)
from templates.render import startup_budget_s

# Karpenter deletes a NodeClaim whose node has not registered within 15 minutes (Karpenter docs v1.14,
# concepts/nodeclaims.md: "If this fails to succeed within 15 minutes, Karpenter will remove the
# NodeClaim"): the longest a Karpenter node may take to appear before the pods can start.
KARPENTER_REGISTRATION_S = 900
# Namespaces that exist on every cluster: never created (nor deleted on destroy) by the stack.
BUILTIN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
# Kinds the renderer emits; anything else is refused before any resource.
_KINDS = {("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment"),
          ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"), ("policy/v1", "PodDisruptionBudget")}
_AWAITED_KINDS = {"Deployment", "Service"}


class KubeObject(pulumi.CustomResource):
    """A Kubernetes object declared by its pulumi-kubernetes type token (kubernetes:core/v1:ConfigMap,
    kubernetes:apps/v1:Deployment, kubernetes:karpenter.sh/v1:NodePool ...), the object's fields as its
    inputs: the same resource the typed classes declare, without importing pulumi_kubernetes.core.v1
    (0.4 s of import alone, against the 2 s budget of `advisor preview`). Give it a Kubernetes provider."""

    def __init__(self, resource_name: str, obj: dict[str, Any], opts: pulumi.ResourceOptions):
        api_version = obj["apiVersion"]
        group_version = api_version if "/" in api_version else f"core/{api_version}"
        super().__init__(f"kubernetes:{group_version}:{obj['kind']}", resource_name, dict(obj), opts)


def _chart(chart: HelmChart, values: dict[str, Any]) -> dict[str, Any]:
    return {"chart": chart.name, "repo": chart.repo, "version": chart.version, "namespace": chart.namespace,
            "values": values}


def nvidia_device_plugin_chart() -> dict[str, Any]:
    """The NVIDIA device plugin release: pin and values from templates.daemonsets (the one declaration the
    scheduling check holds against the nodes)."""
    return _chart(NVIDIA_DEVICE_PLUGIN_CHART, nvidia_device_plugin_values())


def efa_device_plugin_chart() -> dict[str, Any]:
    """The EFA device plugin release (advertises vpc.amazonaws.com/efa), from templates.daemonsets."""
    return _chart(EFA_DEVICE_PLUGIN_CHART, efa_device_plugin_values())


def kubeconfig(
    cluster_name: str, region: str, endpoint: str, ca_data: str, profile: str | None = None
) -> str:
    """A kubeconfig whose user runs `aws eks get-token`, as the EKS user guide writes one by hand
    ("Connect kubectl to an EKS cluster by creating a kubeconfig file": exec apiVersion
    client.authentication.k8s.io/v1beta1, command aws, args --region REGION eks get-token --cluster-name
    NAME --output json). No token is stored: it is minted per call from the deployer's AWS credentials
    (AWS_PROFILE passed on when the stack sets aws:profile)."""
    exec_ = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": ["--region", region, "eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
    }
    if profile:
        exec_["env"] = [{"name": "AWS_PROFILE", "value": profile}]
    return json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
        ],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [{"name": cluster_name, "user": {"exec": exec_}}],
    })


def workload_objects(kubernetes_yaml: str) -> list[dict[str, Any]]:
    """The rendered manifests' objects, refusing a kind this module cannot declare (before any resource)."""
    objects = [d for d in yaml.safe_load_all(kubernetes_yaml) if d]
    for obj in objects:
        key = (obj.get("apiVersion"), obj.get("kind"))
        if key not in _KINDS:
            raise RenderError(f"kubernetes_yaml: cannot deploy {key[1]} ({key[0]}); the workload deploys "
                              f"{', '.join(sorted(k for _, k in _KINDS))}")
    return objects


def readiness_budget_s(plan: Plan, karpenter: bool) -> int:
    """How long `pulumi up` waits for the vLLM pods (customTimeouts of the awaited Deployment/Service):
    the pod's startup probe budget (templates/render.py startup_budget_s: checkpoint download + load at the
    gp3 baseline, image pull, CUDA graphs, the Ray group wait on a leader), plus Karpenter's node
    registration bound when the node is launched only once the pod is pending."""
    role = "leader" if plan.placement.instances_per_replica > 1 else "server"
    return startup_budget_s(plan, role) + (KARPENTER_REGISTRATION_S if karpenter else 0)


def endpoint_url(name: str, namespace: str) -> str:
    return f"http://{name}.{namespace}.svc:{VLLM_PORT}/v1"


def endpoint_access(plan: Plan, name: str, namespace: str, budget_s: int) -> str:
    """How to reach the in-cluster endpoint and how to watch the pods come up."""
    if plan.placement.instances_per_replica > 1:
        watch = f"kubectl -n {namespace} get leaderworkerset,pods -l app.kubernetes.io/name={name} -w"
    else:
        watch = f"kubectl -n {namespace} get deployment,pods -l app.kubernetes.io/name={name} -w"
    return "\n".join([
        f"In-cluster (ClusterIP): {endpoint_url(name, namespace)}",
        f"From your machine: kubectl -n {namespace} port-forward svc/{name} {VLLM_PORT}:{VLLM_PORT} "
        f"&& curl http://localhost:{VLLM_PORT}/v1/models",
        f"Watch the pods load the checkpoint (up to {math.ceil(budget_s / 60)} min): {watch}",
    ])


class WorkloadDeployment(pulumi.ComponentResource):
    """The workload's Kubernetes resources on an existing EKS cluster (see the module docstring)."""

    endpoint: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        plan: Plan,
        provider: k8s.Provider,
        kubernetes_yaml: str,
        namespace: str,
        hf_token: pulumi.Input[str] | None,
        hf_token_k8s_secret: str,
        nodes: list[pulumi.Resource],
        ami_type: EksAmiType = "AL2023_x86_64_NVIDIA",
        karpenter: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ):
        objects = workload_objects(kubernetes_yaml)  # fails before any resource
        super().__init__("llm-advisor:k8s:WorkloadDeployment", name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=provider)
        after_nodes = pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=nodes))
        plugins: list[pulumi.Resource] = []
        # Bottlerocket NVIDIA AMIs ship the device plugin; the AL2023 NVIDIA AMIs need it installed (EKS
        # user guide, "Install Kubernetes device plugin for GPUs").
        if ami_type == "AL2023_x86_64_NVIDIA":
            nvidia = nvidia_device_plugin_chart()
            plugins.append(_release(f"{name}-nvidia-device-plugin", nvidia, after_nodes))
        if plan.placement.needs_efa:
            plugins.append(_release(f"{name}-efa-device-plugin", efa_device_plugin_chart(), after_nodes))
        before: list[pulumi.Resource] = [*nodes, *plugins]
        if namespace not in BUILTIN_NAMESPACES:
            namespace_obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            before.append(KubeObject(f"{name}-ns", namespace_obj, opts=after_nodes))
        if hf_token is not None:
            # stringData is a Pulumi secret: encrypted in state, masked in output; server-side apply keeps
            # no last-applied annotation, so the value is only in the Secret itself.
            secret = {
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": hf_token_k8s_secret, "namespace": namespace,
                             "labels": {"app.kubernetes.io/managed-by": "llm-advisor"}},
                "stringData": {"HF_TOKEN": pulumi.Output.secret(hf_token)},
            }
            before.append(KubeObject(
                f"{name}-hf-token", secret,
                opts=pulumi.ResourceOptions.merge(on_cluster, pulumi.ResourceOptions(depends_on=before)),
            ))
        budget = readiness_budget_s(plan, karpenter)
        awaited = pulumi.CustomTimeouts(create=f"{budget}s", update=f"{budget}s")
        declared: list[pulumi.Resource] = []
        for obj in objects:
            # ConfigMap first, then the pods, then the Service (which waits for a ready endpoint).
            depends = [*before, *declared]
            timeouts = awaited if obj["kind"] in _AWAITED_KINDS else None
            obj_opts = pulumi.ResourceOptions.merge(
                on_cluster, pulumi.ResourceOptions(depends_on=depends, custom_timeouts=timeouts)
            )
            resource_name = f"{name}-{obj['kind'].lower()}-{obj['metadata']['name']}"
            declared.append(KubeObject(resource_name, obj, obj_opts))
        self.endpoint = pulumi.Output.from_input(endpoint_url(name, namespace))
        self.endpoint_access = endpoint_access(plan, name, namespace, budget)
        self.readiness_budget_s = budget
        self.register_outputs({"endpoint": self.endpoint})


def cluster_provider(name: str, cluster_name: pulumi.Input[str], region: str,
                     aws_provider: pulumi.ProviderResource | None = None,
                     parent: pulumi.Resource | None = None) -> k8s.Provider:
    """A Kubernetes provider for the cluster, its kubeconfig built from DescribeCluster (aws.eks.get_cluster
    in the plan's region). Server-side apply (pulumi-kubernetes v4 default, set explicitly) keeps no
    kubectl.kubernetes.io/last-applied-configuration annotation, which would copy a Secret's value."""
    cluster = aws.eks.get_cluster_output(
        name=cluster_name, region=region, opts=pulumi.InvokeOutputOptions(provider=aws_provider)
    )
    profile = pulumi.Config("aws").get("profile")
    config = pulumi.Output.all(cluster_name, cluster.endpoint, cluster.certificate_authorities[0].data).apply(
        lambda parts: kubeconfig(parts[0], region, parts[1], parts[2], profile)
    )
    return k8s.Provider(f"{name}-k8s", kubeconfig=config, enable_server_side_apply=True,
                        opts=pulumi.ResourceOptions(parent=parent))


def _release(name: str, chart: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        name,
        chart=chart["chart"],
        version=chart["version"],
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart["repo"]),
        namespace=chart["namespace"],
        create_namespace=chart["namespace"] not in BUILTIN_NAMESPACES,
        values=chart["values"],
        opts=opts,
    )


def deploy_on_cluster(
    name: str,
    plan: Plan,
    cfg: Any,
    kubernetes_yaml: str,
    hf_token: pulumi.Input[str] | None,
    nodes: list[pulumi.Resource],
    aws_provider: pulumi.ProviderResource | None,
    karpenter: KarpenterSettings | None = None,
    hf_token_k8s_secret: str = "hf-token",
    cluster_name: pulumi.Input[str] | None = None,
    parent: pulumi.Resource | None = None,
) -> dict[str, Any]:
    """Targets eks and karpenter, after the node groups (if any): the Karpenter pools, then the workload
    (when deployWorkload). Returns the stack outputs it adds. `cfg` is the StackConfig; `cluster_name`
    (default cfg's) may be an Output of the caller's cluster; `parent` is the LlmServing component."""
    workload_objects(kubernetes_yaml)  # refuse an undeployable manifest before any resource
    if karpenter is not None:
        karpenter_manifests(plan, karpenter)  # limits need catalog facts: fail before any resource
    outputs: dict[str, Any] = {}
    if karpenter is None and not cfg.deploy_workload:
        return outputs
    cluster = cluster_name if cluster_name is not None else cfg.cluster_name
    provider = cluster_provider(name, cluster, plan.placement.region, aws_provider, parent)
    if karpenter is not None:
        pools = KarpenterNodePools(
            name, plan, karpenter, provider,
            opts=pulumi.ResourceOptions(providers=[aws_provider] if aws_provider else None, parent=parent),
        )
        nodes = [*nodes, pools]
        outputs["node_pool_names"] = [p["metadata"]["name"] for p in node_pools(plan, karpenter)]
    if cfg.deploy_workload:
        workload = WorkloadDeployment(
            name, plan, provider=provider, kubernetes_yaml=kubernetes_yaml, namespace=cfg.namespace,
            hf_token=hf_token, hf_token_k8s_secret=hf_token_k8s_secret, nodes=nodes, ami_type=cfg.ami_type
            if karpenter is None else "AL2023_x86_64_NVIDIA", karpenter=karpenter is not None,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        outputs["endpoint"] = workload.endpoint
        outputs["endpoint_access"] = workload.endpoint_access
        outputs["readiness_budget_s"] = workload.readiness_budget_s
    return outputs
