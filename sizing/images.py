"""Which GPUs and node AMIs can run the pinned vllm/vllm-openai image of a vLLM release.

One table, sizing/data/vllm_images.json (each row with its source):
- images: per range of X.Y releases, the image tag, its CUDA version and the compute capabilities its
  TORCH_CUDA_ARCH_LIST builds for (a GPU below the lowest has no kernels: "no kernel image is available";
  above the highest, the PyTorch of that build has none either);
- cuda_drivers: the lowest NVIDIA driver branch a CUDA major runs on (minor version compatibility);
- amis: per node AMI (EKS AMI type by Kubernetes version, and the EC2 target's DLAMI), the NVIDIA driver
  branch it ships and the lowest compute capability that driver still supports.
The planner drops GPUs the image (or the AMI's driver) cannot run; the stack config refuses an AMI whose
driver is too old for the image, naming the key and the release or AMI that would work.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from sizing.errors import SizingError
from sizing.tables import validated_rows
from sizing.vllm_versions import parse_full_version, parse_version
from sizing.vocabulary import Frozen

IMAGE_TABLE_PATH = Path(__file__).resolve().parent / "data" / "vllm_images.json"
NodeAmi = Literal["AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA", "EC2_DLAMI_AL2023"]
CC = tuple[int, int]


def _cc(value: str | float) -> CC:
    """'8.9' (or 8.9, as pricing's GPU rows carry it) -> (8, 9)."""
    major, minor = f"{float(value):.1f}".split(".")
    return int(major), int(minor)


class VllmImage(Frozen):
    releases: tuple[str, str] = Field(description="first and last X.Y release of this build recipe")
    tag: str = Field(description="image reference; {version} is the X.Y.Z release")
    cuda: str
    torch_cuda_arch_list: str
    min_compute_capability: str
    max_compute_capability: str
    cuda12_tag: str | None = Field(None, description="the CUDA 12 variant of the same release, if published")
    source: str

    @property
    def cuda_major(self) -> int:
        return int(self.cuda.split(".")[0])

    def covers(self, version: str) -> bool:
        return parse_version(self.releases[0]) <= parse_version(version) <= parse_version(self.releases[1])

    def runs_on(self, compute_capability: str) -> bool:
        cc = _cc(compute_capability)
        return _cc(self.min_compute_capability) <= cc <= _cc(self.max_compute_capability)


class CudaDriver(Frozen):
    cuda_major: int
    min_driver: int
    source: str


class AmiDriver(Frozen):
    ami: NodeAmi
    kubernetes: tuple[str | None, str | None] = Field(description="Kubernetes versions covered (None: open)")
    driver_branch: int
    min_compute_capability: str
    current: bool = Field(description="what a node group launched today gets when no version is given")
    source: str

    def covers(self, kubernetes_version: str) -> bool:
        low, high = self.kubernetes
        v = _kube(kubernetes_version)
        return (low is None or _kube(low) <= v) and (high is None or v <= _kube(high))


def _kube(text: str) -> tuple[int, int]:
    major, minor = text.strip().lstrip("v").split(".")[:2]
    return int(major), int(minor)


@cache
def _raw() -> dict:
    return json.loads(IMAGE_TABLE_PATH.read_text(encoding="utf-8"))


@cache
def image_table() -> tuple[VllmImage, ...]:
    return validated_rows(IMAGE_TABLE_PATH, _raw(), "images", VllmImage, ("releases",))


@cache
def driver_table() -> tuple[CudaDriver, ...]:
    return validated_rows(IMAGE_TABLE_PATH, _raw(), "cuda_drivers", CudaDriver, ("cuda_major",))


@cache
def ami_table() -> tuple[AmiDriver, ...]:
    return validated_rows(IMAGE_TABLE_PATH, _raw(), "amis", AmiDriver, ("ami",))


def image_for(vllm_version: str | None) -> VllmImage:
    """The build recipe of the release's pinned image (SizingError outside the table)."""
    major, minor, _ = parse_full_version(vllm_version)
    label = f"{major}.{minor}"
    row = next((r for r in image_table() if r.covers(label)), None)
    if row is None:
        raise SizingError(f"{IMAGE_TABLE_PATH.name}: no image row covers vLLM {label}")
    return row


def image_tag(vllm_version: str | None, cuda12: bool = False) -> str:
    """The pinned image of a release (X.Y means X.Y.0); `cuda12` picks the -cu129 variant where one exists."""
    major, minor, patch = parse_full_version(vllm_version)
    row = image_for(vllm_version)
    form = row.cuda12_tag if cuda12 and row.cuda12_tag else row.tag
    return form.format(version=f"{major}.{minor}.{patch}")


def min_driver(cuda_major: int) -> CudaDriver:
    row = next((d for d in driver_table() if d.cuda_major == cuda_major), None)
    if row is None:
        raise SizingError(f"{IMAGE_TABLE_PATH.name}: no driver row for CUDA {cuda_major}")
    return row


def ami_driver(ami: NodeAmi, kubernetes_version: str | None = None) -> AmiDriver:
    """The driver the AMI ships: for `kubernetes_version` when given, else the lowest of its current rows."""
    rows = [r for r in ami_table() if r.ami == ami]
    if kubernetes_version is not None:
        rows = [r for r in rows if r.covers(kubernetes_version)]
    else:
        rows = [r for r in rows if r.current]
    if not rows:
        where = f"Kubernetes {kubernetes_version}" if kubernetes_version else "current releases"
        raise SizingError(f"{IMAGE_TABLE_PATH.name}: no driver row for {ami} ({where})")
    return min(rows, key=lambda r: r.driver_branch)


def _newest_release(ok) -> str | None:
    rows = [r for r in image_table() if ok(r)]
    return max((r.releases[1] for r in rows), key=parse_version, default=None)


def gpu_error(vllm_version: str | None, gpu_name: str, compute_capability: str | float | None,
              ami: NodeAmi | None = None, image_known: bool = True) -> str | None:
    """Why the release's pinned image (or the node AMI's driver) cannot run this GPU; None when it can.
    `image_known=False` (a custom image): only the AMI's driver is checked."""
    if compute_capability is None:
        return f"{gpu_name} is not a CUDA device"
    image = image_for(vllm_version)
    if image_known and not image.runs_on(compute_capability):
        if _cc(compute_capability) > _cc(image.max_compute_capability):
            first = min((r.releases[0] for r in image_table() if r.runs_on(compute_capability)),
                        key=parse_version, default=None)
            hint = f"; images from vLLM {first} do" if first else ""
        else:
            newest = _newest_release(lambda r: r.runs_on(compute_capability))
            hint = f"; the newest release whose image does: vLLM {newest}" if newest else ""
        return (
            f"{gpu_name} (compute capability {compute_capability}) cannot run {image_tag(vllm_version)}: "
            f"its build (CUDA {image.cuda}, TORCH_CUDA_ARCH_LIST '{image.torch_cuda_arch_list}') covers "
            f"{image.min_compute_capability}-{image.max_compute_capability}{hint}"
        )
    if ami is not None:
        node = ami_driver(ami)
        if _cc(compute_capability) < _cc(node.min_compute_capability):
            return (
                f"{gpu_name} (compute capability {compute_capability}) is not supported by the NVIDIA "
                f"{node.driver_branch} driver of the {ami} AMI (it supports {node.min_compute_capability}+)"
            )
    return None


def driver_error(vllm_version: str | None, ami: NodeAmi, kubernetes_version: str | None = None) -> str | None:
    """Why the AMI's NVIDIA driver cannot run the release's pinned image; None when it can."""
    image = image_for(vllm_version)
    need = min_driver(image.cuda_major)
    node = ami_driver(ami, kubernetes_version)
    if node.driver_branch >= need.min_driver:
        return None
    where = f" on Kubernetes {kubernetes_version}" if kubernetes_version else ""
    newest = _newest_release(lambda r: min_driver(r.cuda_major).min_driver <= node.driver_branch)
    options = [f"vllmVersion {newest} (newest release whose image runs on it)"] if newest else []
    if image.cuda12_tag:
        variant = image_tag(vllm_version, cuda12=True)
        options.append(f"vllmImage {variant} (CUDA 12 build of the same release)")
    options.append("a node AMI with a newer driver (a newer cluster version or amiType AL2023_x86_64_NVIDIA)")
    return (
        f"{image_tag(vllm_version)} is a CUDA {image.cuda} build needing NVIDIA driver >= {need.min_driver}, "
        f"but {ami}{where} ships the {node.driver_branch} driver; use " + ", or ".join(options)
    )
