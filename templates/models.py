"""Boundary models of the renderer: what to render a Plan with, and the files it produced."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from sizing.vocabulary import Frozen
from templates.common import EksAmiType, check_hf_token_secret_id, check_image

# RFC 1123 DNS label: Kubernetes object names, label values and Service names must match it.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class RenderOptions(Frozen):
    """Names the rendered files share with the infrastructure (node labels, secret ids)."""

    name: str = Field(description="Kubernetes object name and node-pool label value")
    namespace: str = "default"
    hf_token_secret_id: str | None = Field(
        default=None,
        description="AWS Secrets Manager id (name or ARN) of the Hugging Face token; None = no token",
    )
    hf_token_k8s_secret: str = Field(default="hf-token", description="Kubernetes Secret holding HF_TOKEN")
    node_vcpus: int = Field(ge=1, description="vCPUs of the smallest instance type the plan's nodes may be")
    node_memory_gib: float = Field(gt=0, description="RAM (GiB) of that instance type")
    image: str | None = Field(
        default=None,
        description="container image overriding the pinned vllm/vllm-openai one (e.g. an EFA-enabled build)",
    )
    efa_image: bool = Field(
        default=False,
        description="the image carries libfabric + aws-ofi-nccl (an EFA build): multi-node pods request "
        "the node's EFA devices; false = no EFA device requested, NCCL between nodes over TCP sockets",
    )
    ami_type: EksAmiType = Field(
        default="AL2023_x86_64_NVIDIA",
        description="EKS node AMI: AL2023 NVIDIA nodes need the NVIDIA device plugin installed; "
        "Bottlerocket NVIDIA AMIs include it",
    )

    karpenter: bool = Field(
        default=False,
        description="nodes launched by Karpenter: the pods carry karpenter.sh/do-not-disrupt while they load",
    )

    @model_validator(mode="after")
    def _efa_image_is_named(self) -> RenderOptions:
        if self.efa_image and not self.image:
            raise ValueError(
                "efaImage / --efa-image: the stock vllm/vllm-openai image has no libfabric/aws-ofi-nccl; "
                "name the EFA build with vllmImage / --image, or leave efaImage false"
            )
        return self

    @field_validator("hf_token_secret_id")
    @classmethod
    def _secret_id(cls, value: str | None) -> str | None:
        return None if value is None else check_hf_token_secret_id(value)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return None if value is None else check_image(value)

    @field_validator("name", "namespace", "hf_token_k8s_secret")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(
                f"{value!r} is not an RFC 1123 DNS label (lower-case alphanumerics and '-', at most 63); "
                f"try {slugify(value)!r}"
            )
        return value


class RenderedFile(Frozen):
    """One generated file: its name relative to the output directory and its text."""

    name: str
    content: str


class RenderedBundle(Frozen):
    """Everything rendered for one Plan, plus how to apply it."""

    files: tuple[RenderedFile, ...]
    image: str = Field(description="the pinned vllm/vllm-openai image")
    kubectl_apply_hint: str

    def file(self, name: str) -> RenderedFile:
        for rendered in self.files:
            if rendered.name == name:
                return rendered
        raise KeyError(f"no rendered file {name!r}; have {[f.name for f in self.files]}")


def slugify(text: str, max_len: int = 40) -> str:
    """A DNS label from free text: `Qwen/Qwen3-8B` -> `qwen3-8b` (the part after the last '/')."""
    base = text.rsplit("/", 1)[-1].lower()
    slug = re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:max_len].strip("-")
    return slug or "vllm"
