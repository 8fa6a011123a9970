"""Stack configuration: the typed Pulumi config keys (Pulumi.yaml), validated before any resource.

Key names are Pulumi's camelCase; the model's fields are snake_case with the camelCase key as alias, so
a validation error names the key the user set. The Hugging Face token is NOT here: it stays a Pulumi
secret Output (read with `Config.get_secret`) and never becomes a plain string in a model.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from infra.volumes import EksAmiType
from planner.models import Workload
from sizing.vocabulary import CapacityPreference, Dtype, KvCacheDtype, PricingMode, Quantization, WorkloadType
from templates.common import check_image, check_served_model

PROJECT = "llm-advisor"
HF_TOKEN_KEY = "hfToken"


class StackConfig(BaseModel):
    """Every config key of Pulumi.yaml except the secret hfToken, with the same defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    model: str = Field(min_length=1)
    # target first: the regions / clusterName checks below read it (pydantic validates in field order).
    target: Literal["eks", "ec2"] = "eks"
    served_model: str | None = Field(default=None, alias="servedModel")
    served_model_quantization: Quantization | None = Field(default=None, alias="servedModelQuantization")
    vllm_image: str | None = Field(default=None, alias="vllmImage")
    dtype: Dtype = "bf16"
    quantization: Quantization | None = None
    kv_cache_dtype: KvCacheDtype = Field(default="auto", alias="kvCacheDtype")
    max_model_len: int = Field(default=8192, ge=16, alias="maxModelLen")
    concurrency: int = Field(default=16, ge=1)
    workload_type: WorkloadType = Field(default="realtime", alias="workloadType")
    capacity: CapacityPreference = "auto"
    regions: tuple[str, ...] = Field(default=("us-east-1",), min_length=1, validate_default=True)
    cluster_name: str | None = Field(default=None, alias="clusterName", validate_default=True)
    subnet_ids: tuple[str, ...] = Field(default=(), alias="subnetIds", validate_default=True)
    node_role_arn: str | None = Field(default=None, alias="nodeRoleArn")
    ami_type: EksAmiType = Field(default="AL2023_x86_64_NVIDIA", alias="amiType")
    namespace: str = "default"
    max_usd_per_hour: float | None = Field(default=None, gt=0, alias="maxUsdPerHour")
    target_output_tokens_per_s: float | None = Field(default=None, gt=0, alias="targetOutputTokensPerS")
    max_time_per_output_token_ms: float | None = Field(default=None, gt=0, alias="maxTimePerOutputTokenMs")
    allowed_families: tuple[str, ...] = Field(default=(), alias="allowedFamilies")
    excluded_families: tuple[str, ...] = Field(default=(), alias="excludedFamilies")
    strict_dtype: bool = Field(default=False, alias="strictDtype")
    headroom: float = Field(default=0.3, ge=0, le=4)
    pricing: PricingMode = "auto"
    vllm_version: str | None = Field(default=None, alias="vllmVersion")
    associate_public_ip: bool = Field(default=False, alias="associatePublicIp")
    # Churn control (planner.make_plan previous_instance_type / churn_threshold). A program cannot read
    # its own stack's previous outputs before it declares resources: a StackReference's outputs are
    # Outputs (known only asynchronously, unknown in preview), self-references are not a documented use,
    # and the plan must be known synchronously to shape the node groups. So the deployed type is config:
    # `pulumi config set currentInstanceType $(pulumi stack output instance_type)`.
    current_instance_type: str | None = Field(default=None, alias="currentInstanceType")
    churn_threshold: float = Field(default=0.05, ge=0, lt=1, alias="churnThreshold")

    @field_validator("quantization", "cluster_name", "node_role_arn", "max_usd_per_hour", "vllm_version",
                     "served_model", "vllm_image", "served_model_quantization",
                     "current_instance_type", "target_output_tokens_per_s", "max_time_per_output_token_ms",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # Pulumi.yaml declares "" as the default of optional keys (a declared key without default is
        # required by the Pulumi CLI).
        return None if value == "" else value

    # These strings reach root shell scripts, systemd units and manifests: only their documented form.
    @field_validator("served_model")
    @classmethod
    def _served_model_form(cls, value: str | None) -> str | None:
        return None if value is None else check_served_model(value)

    @field_validator("vllm_image")
    @classmethod
    def _image_form(cls, value: str | None) -> str | None:
        return None if value is None else check_image(value)

    # Field validators, not a model validator: an error then names the key and shows only its value, not
    # the whole config (pydantic reports a model validator's input as the entire dict).
    @field_validator("subnet_ids")
    @classmethod
    def _subnets_required(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(
                "required (the private subnets GPU nodes launch in); "
                "`pulumi config set --path 'subnetIds[0]' subnet-...`"
            )
        return value

    @field_validator("cluster_name")
    @classmethod
    def _cluster_for_eks(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("target") == "eks" and not value:
            raise ValueError(
                "required when target is eks; `pulumi config set clusterName NAME`, or use target ec2"
            )
        return value

    @field_validator("regions")
    @classmethod
    def _one_region_for_eks(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if info.data.get("target") == "eks" and len(value) != 1:
            raise ValueError(
                f"target eks deploys into the cluster's one region, got {len(value)}; keep only the "
                f"cluster's region (`pulumi config set --path 'regions[0]' {value[0] if value else 'REGION'}`"
                " and remove the others) or use target ec2"
            )
        return value

    def to_workload(self) -> Workload:
        return Workload(
            model=self.model, dtype=self.dtype, quantization=self.quantization,
            kv_cache_dtype=self.kv_cache_dtype, max_model_len=self.max_model_len,
            concurrency=self.concurrency, workload_type=self.workload_type, capacity=self.capacity,
            regions=self.regions, max_usd_per_hour=self.max_usd_per_hour, headroom=self.headroom,
            vllm_version=self.vllm_version, target_output_tokens_per_s=self.target_output_tokens_per_s,
            max_time_per_output_token_ms=self.max_time_per_output_token_ms,
            allowed_families=self.allowed_families, excluded_families=self.excluded_families,
            strict_dtype=self.strict_dtype, served_model=self.served_model,
            served_model_quantization=self.served_model_quantization,
            # EC2 user data runs independent single-instance servers (no Ray across instances): the
            # planner must find a layout whose replica fits one instance.
            max_instances_per_replica=1 if self.target == "ec2" else None,
        )


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


def stack_config_from(get: Any) -> StackConfig:
    """Build the StackConfig from a `get(key) -> str | None` (pulumi.Config.get, or a dict's get)."""
    raw = {key: _parse_value(key, value) for key in config_keys() if (value := get(key)) is not None}
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
