"""Target karpenter: a Plan's GPU capacity as Karpenter v1 NodePools + an EC2NodeClass (no node groups).

Many EKS teams provision nodes with Karpenter (and EKS Auto Mode uses the same NodePool model): instead of
fixed node groups, a NodePool lets Karpenter launch the plan's instance types when the vLLM pods are
pending. Built as plain objects (`karpenter_manifests`, rendered into the kubernetes_yaml output and
validated against Karpenter's vendored CRD schemas in tests/schemas/) and declared from the same objects as
pulumi_kubernetes CustomResources (`KarpenterNodePools`). Field names and rules: aws/karpenter-provider-aws
pkg/apis/crds/karpenter.sh_nodepools.yaml and karpenter.k8s.aws_ec2nodeclasses.yaml @ 1d927085 (v1.14.1).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import yaml

from llm_advisor.infra.eks import subnet_availability_zone_ids
from llm_advisor.infra.volumes import eks_volume
from llm_advisor.planner.models import Plan
from pricing.snapshot import snapshot_instance
from sizing.vocabulary import Frozen
from templates.common import (
    CAPACITY_LABEL,
    GPU_PRESENT_LABEL,
    GPU_TAINT_EFFECT,
    GPU_TAINT_KEY,
    GPU_TAINT_VALUE,
    POOL_LABEL,
    RenderError,
)

NODEPOOL_API = "karpenter.sh/v1"
NODECLASS_API = "karpenter.k8s.aws/v1"
DISCOVERY_TAG = "karpenter.sh/discovery"
# The EKS-optimized AL2023 AMI, pinned: Karpenter resolves `al2023@<release>` to the release's AMI for each
# instance type, the NVIDIA variant for NVIDIA GPU types (karpenter-provider-aws pkg/providers/amifamily/
# al2023.go: variants standard, nvidia, neuron; SSM .../amazon-linux-2023/x86_64/nvidia/
# amazon-eks-node-al2023-x86_64-nvidia-<k8s>-<release>/image_id). v20260520 is the release the Karpenter
# v1.14 e2e AMI suite pins (test/suites/ami/suite_test.go @ 1d927085). A pinned alias never drifts by
# itself ("latest" drifts on every AMI release: EC2NodeClass CRD, amiSelectorTerms.alias); bump it to
# upgrade (docs/deploy.md, day 2).
AL2023_ALIAS = "al2023@v20260520"
# Karpenter's getting-started guide creates the node role as KarpenterNodeRole-${CLUSTER_NAME}
# (website/content/en/v1.14/getting-started/getting-started-with-karpenter/cloudformation.yaml).
DEFAULT_NODE_ROLE = "KarpenterNodeRole-{cluster}"
# One node of headroom per pool above the planned count: Karpenter's drift and consolidation launch a
# replacement before the node they replace is drained ("Pre-spin any replacement nodes ... and wait for
# them to become ready", website/content/en/v1.14/concepts/disruption.md), and a NodePool's limits count
# every node it owns, so a limit at exactly the planned count would block every replacement.
LIMIT_HEADROOM_NODES = 1
# Weights (NodePool spec.weight, 0-100, higher is tried first): the on-demand base pool before the spot
# burst pool. The pods' capacity nodeSelector already sends each Deployment to its own pool; the weights
# say the same to any other pod that tolerates the taint.
ON_DEMAND_WEIGHT, SPOT_WEIGHT = 100, 50
# An empty GPU node is removed after 10 minutes: long enough to keep the node, and the checkpoint cached on
# its disk, through a Recreate rollout or a pod restart (the old pod's 30 s default grace period plus
# rescheduling), short enough that an abandoned GPU node costs at most 10 minutes.
CONSOLIDATE_AFTER = "10m"
# Voluntary disruptions (drift, emptiness) one node at a time per pool: each replaced node reloads a model.
DISRUPTION_BUDGET_NODES = "1"
# IMDSv2 with hop limit 1, Karpenter's own default (EC2NodeClass CRD metadataOptions): pods one network hop
# away cannot read the node role's credentials; nothing in the vLLM pods needs IMDS.
IMDS_HOP_LIMIT = 1


class KarpenterSettings(Frozen):
    """What the NodePools and the EC2NodeClass need besides the Plan (from the stack config)."""

    name: str
    cluster_name: str
    discovery: str
    node_role: str
    subnet_ids: tuple[str, ...] = ()
    placement_group: str | None = None
    zone_id: str | None = None


def karpenter_settings(plan: Plan, cfg: Any, name: str, subnets: list[str]) -> KarpenterSettings:
    """From the StackConfig (`cfg`) and the subnets the stack resolved (the EFA one for a multi-node plan).
    A replica spanning nodes needs one AZ (EFA, cluster placement group): the EFA subnet's AZ, else the
    first AZ that offers the type (placement.availability_zone_ids), else Karpenter's choice."""
    cluster = cfg.cluster_name or ""
    zone = None
    if plan.placement.needs_efa:
        if subnets:
            zone = subnet_availability_zone_ids(subnets[:1], plan.placement.region)[subnets[0]]
        elif plan.placement.availability_zone_ids:
            zone = plan.placement.availability_zone_ids[0]
    return KarpenterSettings(
        name=name, cluster_name=cluster, discovery=cfg.karpenter_discovery or cluster,
        node_role=node_role_name(cfg.node_role_arn, cluster), subnet_ids=tuple(subnets),
        placement_group=f"{name}-{cluster}"[:255] if plan.placement.needs_efa else None, zone_id=zone,
    )


def node_role_name(node_role_arn: str | None, cluster_name: str) -> str:
    """EC2NodeClass `role` takes a role name: the last path segment of nodeRoleArn, or Karpenter's default."""
    if node_role_arn:
        return node_role_arn.rsplit("/", 1)[-1]
    return DEFAULT_NODE_ROLE.format(cluster=cluster_name)


def pools_for(plan: Plan) -> list[tuple[str, str, int, tuple[str, ...]]]:
    """(capacity label value, nodes, instance types) per NodePool: an on-demand base and a spot burst,
    as the plan splits its instances (the spot pool gets the plan's spot diversification set)."""
    at = plan.placement
    pools = []
    if at.on_demand_instances:
        pools.append(("on-demand", at.on_demand_instances, (at.instance_type,)))
    if at.spot_instances:
        pools.append(("spot", at.spot_instances, tuple(at.spot_instance_types or (at.instance_type,))))
    return pools


def pool_limits(nodes: int, instance_types: tuple[str, ...]) -> dict[str, str]:
    """NodePool `limits`: the planned nodes plus LIMIT_HEADROOM_NODES, each counted at the largest of the
    pool's types (Karpenter counts a node's whole capacity), in GPUs and vCPUs. Instance facts from the
    snapshot catalog (DescribeInstanceTypes facts via Karpenter's instance-types reference)."""
    facts = []
    for instance_type in instance_types:
        fact = snapshot_instance(instance_type)
        if fact is None:
            raise RenderError(
                f"instance_type: {instance_type} is not in the instance catalog, so the Karpenter NodePool's "
                "GPU/CPU limits cannot be computed; use target eks, or plan with types of the catalog"
            )
        facts.append(fact)
    count = nodes + LIMIT_HEADROOM_NODES
    return {
        "cpu": str(count * max(f.vcpus for f in facts)),
        "nvidia.com/gpu": str(count * max(f.gpu_count for f in facts)),
    }


def ec2_node_class(plan: Plan, settings: KarpenterSettings) -> dict[str, Any]:
    """The EC2NodeClass: AMI alias, node role, subnet/security-group selectors, the disk sized for the
    checkpoint (infra/volumes.py, AL2023 root volume) and, for a replica spanning nodes, a cluster
    placement group. EFA interfaces need no setting: Karpenter attaches one per EFA device the pending pods
    request (karpenter-provider-aws pkg/providers/launchtemplate/launchtemplate.go generateNetworkInterfaces,
    options.EFACount)."""
    device, size_gib = eks_volume(plan, "AL2023_x86_64_NVIDIA")
    def discovery() -> list[dict[str, Any]]:
        return [{"tags": {DISCOVERY_TAG: settings.discovery}}]

    spec: dict[str, Any] = {
        "role": settings.node_role,
        "amiSelectorTerms": [{"alias": AL2023_ALIAS}],
        "subnetSelectorTerms": [{"id": s} for s in settings.subnet_ids] or discovery(),
        "securityGroupSelectorTerms": discovery(),
        "blockDeviceMappings": [{
            "deviceName": device,
            "ebs": {"volumeSize": f"{size_gib}Gi", "volumeType": "gp3", "encrypted": True,
                    "deleteOnTermination": True},
        }],
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required",
                            "httpPutResponseHopLimit": IMDS_HOP_LIMIT},
        "tags": {POOL_LABEL: settings.name},
    }
    if settings.placement_group:
        spec["placementGroupSelector"] = {"name": settings.placement_group}
    return {"apiVersion": NODECLASS_API, "kind": "EC2NodeClass", "metadata": {"name": settings.name},
            "spec": spec}


def node_pools(plan: Plan, settings: KarpenterSettings) -> list[dict[str, Any]]:
    """One NodePool per capacity type of the plan (see pools_for), limited to its instance types."""
    multi = len(pools_for(plan)) > 1
    objects = []
    for capacity, nodes, types in pools_for(plan):
        requirements = [
            {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(types)},
            {"key": "karpenter.sh/capacity-type", "operator": "In", "values": [capacity]},
        ]
        if settings.zone_id:
            zone = {"key": "topology.k8s.aws/zone-id", "operator": "In", "values": [settings.zone_id]}
            requirements.append(zone)
        spec: dict[str, Any] = {
            "template": {
                "metadata": {"labels": {POOL_LABEL: settings.name, CAPACITY_LABEL: capacity,
                                        GPU_PRESENT_LABEL: "true"}},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass",
                                     "name": settings.name},
                    "requirements": requirements,
                    "taints": [{"key": GPU_TAINT_KEY, "value": GPU_TAINT_VALUE, "effect": GPU_TAINT_EFFECT}],
                    # No forced expiry: expiration ignores karpenter.sh/do-not-disrupt and would evict a
                    # serving model (disruption.md, "Expiration"); nodes are replaced on purpose (AMI bump).
                    "expireAfter": "Never",
                },
            },
            "disruption": {
                # Only empty nodes are consolidated: a node serving (or loading) a model is never packed away.
                "consolidationPolicy": "WhenEmpty",
                "consolidateAfter": CONSOLIDATE_AFTER,
                "budgets": [{"nodes": DISRUPTION_BUDGET_NODES}],
            },
            "limits": pool_limits(nodes, types),
        }
        if multi:
            spec["weight"] = ON_DEMAND_WEIGHT if capacity == "on-demand" else SPOT_WEIGHT
        suffix = "-od" if capacity == "on-demand" else "-spot"
        objects.append({"apiVersion": NODEPOOL_API, "kind": "NodePool",
                        "metadata": {"name": settings.name + (suffix if multi else "")}, "spec": spec})
    return objects


def karpenter_manifests(plan: Plan, settings: KarpenterSettings) -> list[dict[str, Any]]:
    """The EC2NodeClass, then the NodePools that reference it."""
    return [ec2_node_class(plan, settings), *node_pools(plan, settings)]


def render_karpenter_yaml(plan: Plan, settings: KarpenterSettings) -> str:
    objects = karpenter_manifests(plan, settings)
    header = ("# Karpenter v1 EC2NodeClass + NodePool(s) for the plan's GPU nodes (llm-advisor target\n"
              "# karpenter); needs Karpenter v1 running on the cluster.\n")
    return header + "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects)


class KarpenterNodePools(pulumi.ComponentResource):
    """The EC2NodeClass and NodePools as CustomResources (and, for EFA plans, the cluster placement group)."""

    def __init__(
        self,
        name: str,
        plan: Plan,
        settings: KarpenterSettings,
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("llm-advisor:karpenter:KarpenterNodePools", name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, provider=provider)
        self.placement_group = None
        if plan.placement.needs_efa:
            # EFA traffic of a replica's nodes in one spread-free network segment (EC2 user guide,
            # "Placement groups": cluster strategy), selected by name in the EC2NodeClass.
            self.placement_group = aws.ec2.PlacementGroup(
                f"{name}-pg", name=settings.placement_group, strategy="cluster", region=plan.placement.region,
                opts=pulumi.ResourceOptions(parent=self),
            )
        node_class, *pools = karpenter_manifests(plan, settings)
        after_pg = [self.placement_group] if self.placement_group else []
        self.node_class = _custom(node_class, pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=after_pg)))
        after_class = pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=[self.node_class])
        )
        self.node_pools = [_custom(pool, after_class) for pool in pools]
        self.register_outputs({})


def _custom(obj: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    # The same resource as pulumi_kubernetes.apiextensions.CustomResource: type token
    # kubernetes:<apiVersion>:<kind>, the object's fields as inputs.
    return pulumi.CustomResource(
        f"kubernetes:{obj['apiVersion']}:{obj['kind']}", f"{obj['kind'].lower()}-{obj['metadata']['name']}",
        dict(obj), opts,
    )
