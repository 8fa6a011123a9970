"""Stack configuration: the typed Pulumi config keys (Pulumi.yaml), validated before any resource.

Key names are Pulumi's camelCase; the model's fields are snake_case with the camelCase key as alias, so
a validation error names the key the user set. The Hugging Face token is NOT here: it stays a Pulumi
secret Output (read with `Config.get_secret`) and never becomes a plain string in a model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from llm_advisor.infra.ecr import credential_parts
from llm_advisor.infra.volumes import EksAmiType
from llm_advisor.planner.models import PlanOptions, Workload
from llm_advisor.planner.options import Option, literal_choices, register, stack_key, unwrap_optional
from sizing.errors import SizingError
from sizing.images import NodeAmi, driver_error
from sizing.vocabulary import Frozen
from templates.common import check_image, check_served_model

PROJECT = "llm-advisor"
EC2_AMI: NodeAmi = "EC2_DLAMI_AL2023"  # the AMI target ec2 launches (infra/ec2.py DLAMI_SSM_PARAMETER)
# Targets that deploy onto an existing EKS cluster (node groups or Karpenter), with Kubernetes manifests.
KUBERNETES_TARGETS = ("eks", "karpenter")
HF_TOKEN_KEY = "hfToken"


class DeployOptions(Frozen):
    """Where and how the Pulumi program deploys (target first: later checks read it). Declared once: the
    stack keys and `render`'s flags (`--namespace`, `--image`) are derived from these fields."""

    target: Annotated[Literal["eks", "karpenter", "ec2"], Option(flag=None)] = Field(
        default="eks",
        description="eks (managed node groups + the workload), karpenter (Karpenter NodePools + an "
        "EC2NodeClass on an existing cluster running Karpenter v1, + the workload) or ec2 (launch template "
        "+ Auto Scaling group)",
    )
    vllm_image: Annotated[str | None, Option(flag="--image")] = Field(
        default=None,
        description="container image instead of the pinned vllm/vllm-openai one, e.g. an EFA-enabled build "
        "(libfabric + aws-ofi-nccl) so multi-node NCCL uses EFA instead of TCP sockets; unset = "
        "vllm/vllm-openai:v<vLLM release>. Form: an image reference "
        "[REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST]",
    )
    efa_image: Annotated[bool, Option(flag="--efa-image")] = Field(
        default=False,
        description="vllmImage is an EFA build (libfabric + aws-ofi-nccl): multi-node pods request the "
        "node's EFA devices and the EFA device plugin is needed; false = no EFA device requested, NCCL "
        "between nodes over TCP sockets (the stock image has no EFA libraries)",
    )
    ecr_pull_through_cache: Annotated[str | None, Option(flag=None)] = Field(
        default=None,
        min_length=2,
        max_length=30,
        pattern=r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$",
        description="targets eks and karpenter: pull the (Docker Hub) vLLM image through an ECR pull-through "
        "cache rule with this repository prefix, e.g. docker-hub (Docker Hub's anonymous pull limit is per "
        "IP, shared by every node behind one NAT); needs dockerHubCredentialArn; unset = pull from Docker "
        "Hub",
    )
    docker_hub_credential_arn: Annotated[str | None, Option(flag=None)] = Field(
        default=None,
        description="with ecrPullThroughCache: ARN of the Secrets Manager secret (name prefix "
        "ecr-pullthroughcache/, in the plan's account and region) holding the Docker Hub username and "
        "access token the cache rule pulls with",
    )
    cluster_name: Annotated[str | None, Option(flag=None)] = Field(
        default=None,
        description="existing EKS cluster to add the GPU nodes to (required for targets eks and karpenter)",
    )
    subnet_ids: Annotated[tuple[str, ...], Option(flag=None)] = Field(
        default=(),
        description="private subnets for the GPU nodes (`pulumi config set --path 'subnetIds[0]' "
        "subnet-...`), required for targets eks and ec2; target karpenter selects these when set, else the "
        "subnets tagged karpenter.sh/discovery. Multi-node (EFA) plans use the first one whose AZ offers the "
        "instance type (one AZ for EFA and the cluster placement group)",
    )
    node_role_arn: Annotated[str | None, Option(flag=None)] = Field(
        default=None,
        description="IAM role ARN for the EKS nodes; unset = create one with the three EKS node policies "
        "(target karpenter: the role Karpenter's nodes use, unset = KarpenterNodeRole-<clusterName> as "
        "Karpenter's getting-started guide creates it)",
    )
    karpenter_discovery: Annotated[str | None, Option(flag=None)] = Field(
        default=None,
        description="target karpenter: the karpenter.sh/discovery tag value that selects the nodes' subnets "
        "(unless subnetIds is set) and security groups; unset = clusterName",
    )
    deploy_workload: Annotated[bool, Option(flag=None)] = Field(
        default=True,
        description="targets eks and karpenter: Pulumi deploys the workload (namespace, NVIDIA device "
        "plugin, EFA device plugin when needed, HF token Secret, vLLM Deployment/LeaderWorkerSet, Service) "
        "and exports its endpoint; false = only the nodes, with the manifests as stack outputs to apply "
        "yourself",
    )
    ami_type: Annotated[EksAmiType, Option(flag=None)] = Field(
        default="AL2023_x86_64_NVIDIA",
        description="EKS AMI type: AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA",
    )
    kubernetes_version: Annotated[str | None, Option(flag=None)] = Field(
        default=None,
        pattern=r"^1\.\d{2}$",
        description="the EKS cluster's Kubernetes version (1.XX): picks the NVIDIA driver amiType ships for "
        "it (sizing/data/vllm_images.json) to check the image's CUDA build against; unset = the driver of "
        "current AMI releases",
    )
    ami_id: Annotated[str | None, Option(flag=None)] = Field(
        default=None,
        pattern=r"^ami-[0-9a-f]{8,17}$",
        description="target ec2: the AMI to launch; unset = the Deep Learning Base OSS Nvidia Driver GPU AMI "
        "(AL2023) the SSM parameter names at the first `pulumi up`, then kept (no drift); set it (e.g. to a "
        "newer release's ami-id) to upgrade: the instance refresh rolls the instances",
    )
    capacity_reservation_id: Annotated[str | None, Option(flag=None)] = Field(
        default=None,
        pattern=r"^cr-[0-9a-f]{17}$",
        description="target ec2: the ID (cr-...) of a Capacity Block for ML you purchased (`python -m "
        "advisor capacity-blocks` lists offerings; purchase is a separate paid action this program never "
        "takes): the launch template targets it with market type capacity-block, all instances on-demand in "
        "it; the subnets must be in the block's AZ and the plan's instance type and count the block's; "
        "unset = no reservation",
    )
    ami_release_version: Annotated[str | None, Option(flag=None)] = Field(
        default=None,
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+-[0-9a-z]+$",
        description="target eks: the EKS AMI release the node groups run (e.g. 1.33.0-20250704 for AL2023); "
        "unset = the recommended AL2023 NVIDIA release the SSM parameter names at the first `pulumi up` "
        "(for kubernetesVersion, else the cluster's version), then kept (no drift; Bottlerocket: the release "
        "EKS picks at create); set it (e.g. to a newer release) to upgrade: the node groups roll one node at "
        "a time",
    )
    namespace: str = Field(default="default", description="Kubernetes namespace of the rendered manifests")
    associate_public_ip: Annotated[bool, Option(flag=None)] = Field(
        default=False,
        description="give EC2 instances a public IP (target ec2); default no, use private subnets with NAT",
    )


register(DeployOptions)


def node_ami(target: str | None, ami_type: str) -> NodeAmi:
    """The AMI the GPU nodes boot: the DLAMI on target ec2, else amiType (karpenter: AL2023 only)."""
    return EC2_AMI if target == "ec2" else ami_type  # type: ignore[return-value]
# Every stack key, in validation order (DeployOptions.target first); the edges' groups, for Pulumi.yaml.
STACK_OPTION_MODELS: tuple[type[Frozen], ...] = (DeployOptions, Workload, PlanOptions)


class _StackChecks(BaseModel):
    """Checks across keys, and the form of strings that reach root shell scripts, systemd units and manifests.
    Field validators, not a model validator: an error then names the key and shows only its value."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, raw: Any) -> Any:
        # Pulumi.yaml declares "" as the default of optional keys (a declared key without default is
        # required by the Pulumi CLI).
        if not isinstance(raw, dict):
            return raw
        optional = {k for name, f in cls.model_fields.items() if f.default is None for k in (name, f.alias)}
        dropped = {LOAD_FIELD}  # "" leaves it unset: its default, unless a rate is set (key = field name)
        return {
            k: None if v == "" and k in optional else v
            for k, v in raw.items()
            if not (v == "" and k in dropped)
        }

    @model_validator(mode="after")
    def _one_load(self) -> Any:
        if getattr(self, "arrival_rate_per_s", None) is not None and LOAD_FIELD in self.model_fields_set:
            raise ValueError(
                "arrivalRatePerS and concurrency are both set: exactly one is the load; `pulumi config rm "
                "concurrency` (the plan derives it from the rate with Little's law) or `pulumi config rm "
                "arrivalRatePerS`"
            )
        return self

    @field_validator("served_model", check_fields=False)
    @classmethod
    def _served_model_form(cls, value: str | None) -> str | None:
        return None if value is None else check_served_model(value)

    @field_validator("vllm_image", check_fields=False)
    @classmethod
    def _image_form(cls, value: str | None) -> str | None:
        return None if value is None else check_image(value)

    @field_validator("efa_image", check_fields=False)
    @classmethod
    def _efa_image_named(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not info.data.get("vllm_image"):
            raise ValueError(
                "true needs vllmImage naming the EFA build (the stock vllm/vllm-openai image has no "
                "libfabric/aws-ofi-nccl); set vllmImage or leave efaImage false"
            )
        return value

    @field_validator("ecr_pull_through_cache", check_fields=False)
    @classmethod
    def _cache_for_kubernetes(cls, value: str | None, info: ValidationInfo) -> str | None:
        target = info.data.get("target")
        if value and target not in KUBERNETES_TARGETS:
            raise ValueError(
                "the pull-through cache serves the EKS nodes (targets eks and karpenter), not target "
                f"{target} "
                "(its instances pull with Docker, not through the node role); `pulumi config rm "
                "ecrPullThroughCache`"
            )
        return value

    @field_validator("docker_hub_credential_arn", check_fields=False)
    @classmethod
    def _credential_for_cache(cls, value: str | None, info: ValidationInfo) -> str | None:
        cache = info.data.get("ecr_pull_through_cache")
        if cache and not value:
            raise ValueError(
                "required with ecrPullThroughCache: ECR pulls from Docker Hub only with credentials in a "
                "Secrets Manager secret named ecr-pullthroughcache/...; `pulumi config set "
                "dockerHubCredentialArn "
                "arn:aws:secretsmanager:REGION:ACCOUNT:secret:ecr-pullthroughcache/...`"
            )
        if value and not cache:
            raise ValueError("used only with ecrPullThroughCache; set that (e.g. docker-hub) or remove "
                             "this key")
        if value:
            credential_parts(value)  # the form ECR requires; its region is checked against the plan's
        return value

    @field_validator("cluster_name", check_fields=False)
    @classmethod
    def _cluster_for_eks(cls, value: str | None, info: ValidationInfo) -> str | None:
        target = info.data.get("target")
        if target in KUBERNETES_TARGETS and not value:
            raise ValueError(
                f"required when target is {target}; `pulumi config set clusterName NAME`, or use target ec2"
            )
        return value

    @field_validator("subnet_ids", check_fields=False)
    @classmethod
    def _subnets_for_node_groups(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        target = info.data.get("target")
        if target in ("eks", "ec2") and not value:
            raise ValueError(
                f"required when target is {target}: at least one private subnet for the GPU nodes; "
                "`pulumi config set --path 'subnetIds[0]' subnet-...` (target karpenter can select subnets "
                "by their karpenter.sh/discovery tag instead)"
            )
        return value

    @field_validator("capacity_reservation_id", check_fields=False)
    @classmethod
    def _reservation_for_ec2(cls, value: str | None, info: ValidationInfo) -> str | None:
        target = info.data.get("target")
        if value is not None and target != "ec2":
            raise ValueError(
                f"a Capacity Block reservation is targeted by the EC2 launch template (target ec2), not by "
                f"target {target}; `pulumi config set target ec2` or `pulumi config rm capacityReservationId`"
            )
        return value

    @field_validator("capacity", check_fields=False)
    @classmethod
    def _on_demand_in_a_reservation(cls, value: str, info: ValidationInfo) -> str:
        if value == "capacity-block" and not info.data.get("capacity_reservation_id"):
            raise ValueError(
                "capacity-block: the program deploys into a Capacity Block you bought, it never buys one; "
                "`python -m advisor plan --capacity capacity-block --capacity-block-hours 48` finds and "
                "prices one, then `pulumi config set capacityReservationId cr-...` (target ec2)"
            )
        if info.data.get("capacity_reservation_id") and value not in ("auto", "on-demand", "capacity-block"):
            raise ValueError(
                f"{value} with capacityReservationId: instances launch into the Capacity Block, none on "
                "spot; `pulumi config set capacity on-demand` (or auto) or "
                "`pulumi config rm capacityReservationId`"
            )
        return value

    @field_validator("ami_type", check_fields=False)
    @classmethod
    def _al2023_for_karpenter(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("target") == "karpenter" and value != "AL2023_x86_64_NVIDIA":
            raise ValueError(
                f"target karpenter launches the EKS AL2023 NVIDIA AMI (EC2NodeClass alias al2023@...), not "
                f"{value}; `pulumi config rm amiType` (default AL2023_x86_64_NVIDIA) or use target eks"
            )
        return value

    @field_validator("ami_release_version", check_fields=False)
    @classmethod
    def _release_for_node_groups(cls, value: str | None, info: ValidationInfo) -> str | None:
        target = info.data.get("target")
        if value and target != "eks":
            fix = "amiId" if target == "ec2" else "the EC2NodeClass alias (al2023@...)"
            raise ValueError(f"pins the AMI release of EKS managed node groups (target eks), not target "
                             f"{target}, which pins with {fix}; `pulumi config rm amiReleaseVersion`")
        return value

    @field_validator("vllm_version", check_fields=False)
    @classmethod
    def _driver_runs_image(cls, value: str | None, info: ValidationInfo) -> str | None:
        """The node AMI's NVIDIA driver must be new enough for the pinned image's CUDA (a custom vllmImage
        is not checked: its CUDA build is unknown)."""
        if info.data.get("vllm_image") or "ami_type" not in info.data:
            return value
        ami = node_ami(info.data.get("target"), info.data["ami_type"])
        kube = info.data.get("kubernetes_version") if ami != EC2_AMI else None
        try:
            err = driver_error(value, ami, kube)
        except SizingError:
            return value  # an unsupported release is reported by the planner, naming the range
        if err is not None:
            key = "amiType/kubernetesVersion" if kube else "amiType"
            raise ValueError(f"{key}: {err}")
        return value

    @field_validator("regions", check_fields=False)
    @classmethod
    def _one_region_for_eks(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        target = info.data.get("target")
        if target in KUBERNETES_TARGETS and len(value) != 1:
            raise ValueError(
                f"target {target} deploys into the cluster's one region, got {len(value)}; keep only the "
                f"cluster's region (`pulumi config set --path 'regions[0]' {value[0] if value else 'REGION'}`"
                " and remove the others) or use target ec2"
            )
        return value

    def to_workload(self) -> Workload:
        ours = type(self).model_fields
        fields = {name: getattr(self, name) for name in Workload.model_fields if name in ours}
        if LOAD_FIELD not in self.model_fields_set:  # its default must not read as set beside a rate
            fields.pop(LOAD_FIELD)
        # EC2 user data runs independent single-instance servers (no Ray across instances): the planner
        # must find a layout whose replica fits one instance.
        # The planner drops GPUs the pinned image (or the node AMI's driver) cannot run.
        if self.capacity_reservation_id:  # a purchased block: every instance runs in it, none on spot
            fields["capacity"] = "on-demand"
        return Workload(
            **fields,
            max_instances_per_replica=1 if self.target == "ec2" else None,
            node_ami=node_ami(self.target, self.ami_type),
            custom_image=self.vllm_image is not None,
        )

    def plan_options(self) -> PlanOptions:
        return PlanOptions(**{name: getattr(self, name) for name in PlanOptions.model_fields})


def _stack_fields() -> dict[str, Any]:
    """Each model field that has a stack key, with that key as its alias; validated by default too."""
    fields: dict[str, Any] = {}
    for model in STACK_OPTION_MODELS:
        for name, info in model.model_fields.items():
            if (key := stack_key(name, info)) is not None:
                merged = FieldInfo.merge_field_infos(
                    info, alias=key, validation_alias=key, serialization_alias=key, validate_default=True
                )
                fields[name] = (info.annotation, merged)
    return fields


# The stack config: the keys of Pulumi.yaml (except the secret hfToken), derived from Workload, PlanOptions
# and DeployOptions: their types, defaults, bounds and descriptions, with camelCase keys as aliases.
StackConfig = create_model("StackConfig", __base__=_StackChecks, __doc__=__doc__, **_stack_fields())


def config_keys() -> tuple[str, ...]:
    """The camelCase keys StackConfig reads (hfToken is read separately, as a secret)."""
    return tuple(field.alias or name for name, field in StackConfig.model_fields.items())


def _parse_value(key: str, value: str) -> Any:
    """Pulumi hands config values over as strings; arrays arrive as JSON (YAML lists in the stack file)."""
    field_name = next(n for n, f in StackConfig.model_fields.items() if (f.alias or n) == key)
    annotation = str(StackConfig.model_fields[field_name].annotation)
    if annotation.startswith("tuple"):
        text = value.strip()
        if text.startswith("["):
            return tuple(json.loads(text))
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return value


# Workload.concurrency is the load unless arrival_rate_per_s is (setting both is refused): Pulumi.yaml
# declares it with default "" so that a stack which leaves it unset reads as unset (a declared default is
# what the program reads for an unset key) and StackConfig applies the field's default only when no rate
# is set.
LOAD_FIELD = "concurrency"


# The stack key that follows the provider's region when the stack leaves it empty: Pulumi.yaml declares it
# with default [] (a declared default is what the program reads for an unset key, so "unset" must be a
# value of its own), and `pulumi new` prompts for aws:region, not for a list.
REGIONS_KEY = "regions"


def stack_config_from(get: Any, aws_region: str | None = None) -> StackConfig:
    """Build the StackConfig from a `get(key) -> str | None` (pulumi.Config.get, or a dict's get).
    `regions` unset or empty: [aws_region] (the stack's aws:region) when given, else the field's default."""
    raw = {key: _parse_value(key, value) for key in config_keys() if (value := get(key)) is not None}
    if not raw.get(REGIONS_KEY):
        raw.pop(REGIONS_KEY, None)
        if aws_region:
            raw[REGIONS_KEY] = [aws_region]
    return StackConfig.model_validate(raw)


PLAINTEXT_HF_TOKEN_WARNING = (
    f"{HF_TOKEN_KEY} is stored in plain text in the stack file (not encrypted); run "
    f"`pulumi config rm {HF_TOKEN_KEY} && pulumi config set --secret {HF_TOKEN_KEY} hf_...` so it is "
    "encrypted in the stack file and state"
)


def check_known_keys(keys: list[str]) -> None:
    """Fail on a key Pulumi.yaml does not declare (a typo would otherwise be silently ignored)."""
    known = set(config_keys()) | {HF_TOKEN_KEY}
    for key in keys:
        if key not in known:
            raise ValueError(f"{key}: not a config key of {PROJECT}; known keys: {', '.join(sorted(known))}")


# --- Pulumi.yaml's typed config, derived from the same fields -------------------------------------------
# Pulumi's config types are string, integer, boolean and array (Pulumi docs, "Project file reference",
# config `type`); decimals are strings. A declared key without a default is required by the Pulumi CLI,
# so optional keys default to "" (read back as unset by _StackChecks._empty_is_unset).


def _pulumi_type(annotation: Any) -> str:
    base = unwrap_optional(annotation)
    if base is bool:
        return "boolean"
    if base is int:
        return "integer"
    if get_origin(base) is tuple:
        return "array"
    return "string"


def _pulumi_default(kind: str, default: Any) -> Any:
    if default is None:
        return ""
    if kind == "array":
        return list(default)
    return str(default) if isinstance(default, float) else default


def pulumi_config_schema() -> dict[str, dict[str, Any]]:
    """The `config:` block of Pulumi.yaml: one typed key per stack option, in the edges' order (workload,
    planning, deployment)."""
    schema: dict[str, dict[str, Any]] = {}
    for name, info in (item for model in (Workload, PlanOptions, DeployOptions)
                       for item in model.model_fields.items()):
        if (key := stack_key(name, info)) is None:
            continue
        kind = _pulumi_type(info.annotation)
        entry: dict[str, Any] = {"type": kind}
        if kind == "array":
            entry["items"] = {"type": "string"}
        if not info.is_required():
            entry["default"] = _pulumi_default(kind, info.default)
        text = info.description or ""
        text += "" if text.endswith(".") else "."
        choices = literal_choices(info.annotation)
        if choices and not all(c in text for c in choices):
            text += f" One of: {', '.join(choices)}."
        entry["description"] = text
        if name == LOAD_FIELD:  # a declared default would read as set, and refuse arrivalRatePerS beside it
            entry["default"] = ""
            entry["description"] += f" Empty: {info.default}, or derived from arrivalRatePerS when set."
        if key == REGIONS_KEY:
            entry["default"] = []
            entry["description"] += (f" Empty: the stack's aws:region, else {', '.join(info.default)}.")
        if entry.get("default") == "" and entry["type"] != "string":
            # Pulumi refuses a project whose declared default is not of the key's type ("The default value
            # specified for configuration key ... is not of the expected type", pulumi/pulumi
            # sdk/go/common/workspace/project.go Validate): an optional integer is a string key, "" = unset,
            # validated as an integer by StackConfig like the decimals.
            entry["type"] = "string"
        schema[key] = entry
    schema[HF_TOKEN_KEY] = HF_TOKEN_SCHEMA
    return schema


# The keys `pulumi new <repo>` prompts for (Pulumi docs, "Creating templates": Pulumi.yaml `template.config`),
# with the prompt's default where the field declares none; descriptions come from the fields.
TEMPLATE_PROMPTS: dict[str, str | None] = {
    "model": "meta-llama/Llama-3.1-8B-Instruct", "clusterName": "inference", "capacity": None,
}
AWS_REGION_PROMPT = {"description": "AWS region the provider deploys in.", "default": "us-east-1"}


def pulumi_template() -> dict[str, Any]:
    """The `template:` block of Pulumi.yaml."""
    schema = pulumi_config_schema()
    prompts: dict[str, Any] = {"aws:region": AWS_REGION_PROMPT}
    for key, default in TEMPLATE_PROMPTS.items():
        prompts[key] = {"description": schema[key]["description"],
                        "default": default if default is not None else schema[key]["default"]}
    # The declared secret has no default (see HF_TOKEN_SCHEMA), so `pulumi new` asks for it, encrypted.
    prompts[HF_TOKEN_KEY] = {"description": HF_TOKEN_SCHEMA["description"], "secret": True}
    return {
        "displayName": "llm-advisor (vLLM on AWS GPUs)",
        "description": "Plans, prices and provisions vLLM serving for a model on EKS GPU node groups or an "
                       "EC2 Auto Scaling group.",
        "config": prompts,
    }


def _replace_block(lines: list[str], name: str, body: Any) -> list[str]:
    """Lines with the top-level YAML block `name:` replaced; the block ends at the next unindented line."""
    start = lines.index(f"{name}:\n")
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "\n")), len(lines))
    block = yaml.safe_dump({name: body}, sort_keys=False, width=105)
    return lines[:start] + [block] + lines[end:]


# hfToken is declared `secret: true` (Pulumi docs, "Project file reference", config `secret`: the CLI then
# refuses a plain-text value). It has no default: a secret key with `default: ""` fails validation since
# Pulumi 3.202 ("must be encrypted as it's secret", pulumi/pulumi#21865), so every stack sets it, empty
# for public models (`pulumi config set --secret hfToken ""`); the program treats "" as no token.
HF_TOKEN_SCHEMA: dict[str, Any] = {
    "type": "string",
    "secret": True,
    "description": "Hugging Face token for gated models, always encrypted: `pulumi config set --secret "
    "hfToken hf_...`; public models set it empty (`pulumi config set --secret hfToken \"\"`).",
}


def write_pulumi_yaml(path: Path) -> None:
    """Replace the `template:` and `config:` blocks of Pulumi.yaml with the derived ones, keeping the lines
    around them."""
    lines = path.read_text().splitlines(keepends=True)
    lines = _replace_block(lines, "template", pulumi_template())
    lines = _replace_block("".join(lines).splitlines(keepends=True), "config", pulumi_config_schema())
    path.write_text("".join(lines))


if __name__ == "__main__":  # python -m llm_advisor.infra.config: regenerate Pulumi.yaml's config block
    write_pulumi_yaml(Path(__file__).resolve().parents[2] / "Pulumi.yaml")
