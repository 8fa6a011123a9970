"""GPU hardware: the one table (sizing/data/gpus.json) of every accelerator sizing and pricing know, and the
profiles vLLM budgets against (the memory CUDA reports per card, compute capability, names).

`total_memory_gib` is torch.cuda.mem_get_info()[1] / 2**30 - the device total vLLM multiplies by
gpu_memory_utilization - which is below both the marketing size and AWS's MemoryInfo.SizeInMiB.
Each row of the table carries `source` (spec figures) and `cuda_memory_source` (the CUDA total).
pricing/ reads the spec figures through gpu_table() (dependency direction pricing -> sizing).
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache, lru_cache
from pathlib import Path

from pydantic import Field, model_validator

from sizing.errors import SizingError
from sizing.tables import validated_rows
from sizing.vocabulary import Frozen

GPU_TABLE_PATH = Path(__file__).resolve().parent / "data" / "gpus.json"


class GpuHardware(Frozen):
    """One row of sizing/data/gpus.json: one accelerator in one memory size."""

    name: str = Field(description="canonical name, e.g. H100, A100-80GB, Inferentia2")
    aliases: tuple[str, ...] = Field((), description="other names of this exact card")
    loose_aliases: tuple[str, ...] = Field(
        (), description="shorthand a price listing may match but sizing refuses (a10 -> A10G: not one card)"
    )
    aws_name: str | None = Field(description="GpuInfo/NeuronInfo name in DescribeInstanceTypes, if on AWS")
    aws_memory_mib: int | None = Field(description="AWS MemoryInfo.SizeInMiB per device")
    memory_gb_marketing: float | None = None
    cuda_total_memory_gib: float | None = Field(description="device total as CUDA reports it; None: no CUDA")
    memory_bandwidth_gb_s: float | None = None
    dense_bf16_tflops: float | None = Field(None, description="None on Turing/Volta (no BF16 tensor cores)")
    dense_fp16_tflops: float | None = None
    dense_fp8_tflops: float | None = Field(None, description="None below compute capability 8.9")
    int8_tops: float | None = None
    fp8_support: bool = False
    nvlink_gb_s: float | None = Field(None, description="total NVLink bandwidth per GPU (both directions)")
    pcie_gen: int | None = None
    architecture: str | None = None
    aws_instance_families: tuple[str, ...] = ()
    compute_capability: str | None = Field(description="X.Y; None for AWS Neuron devices")
    cuda_memory_source: str | None = Field(None, description="where cuda_total_memory_gib comes from")
    source: str = Field(description="where the spec figures come from")
    notes: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> GpuHardware:
        cuda = self.cuda_total_memory_gib is not None
        if cuda and not (self.compute_capability and self.cuda_memory_source):
            raise ValueError("a CUDA device needs compute_capability and cuda_memory_source")
        if self.aws_name and (self.memory_bandwidth_gb_s is None or self.dense_fp16_tflops is None):
            raise ValueError("a device sold on AWS needs memory_bandwidth_gb_s and dense_fp16_tflops")
        return self

    @property
    def aws_memory_gib(self) -> float | None:
        return None if self.aws_memory_mib is None else round(self.aws_memory_mib / 1024, 2)


class GpuProfile(Frozen):
    """One GPU model as vLLM sees it."""

    name: str = Field(description="canonical name, e.g. H100, A100-80GB")
    aws_name: str | None = Field(description="GpuInfo name in EC2 DescribeInstanceTypes, if sold on AWS")
    aws_memory_gib: float | None = Field(description="AWS MemoryInfo.SizeInMiB / 1024")
    total_memory_gib: float = Field(description="what CUDA reports as device total")
    compute_capability: str
    is_a100: bool = False
    source: str


@cache
def gpu_table() -> tuple[GpuHardware, ...]:
    """Every row of sizing/data/gpus.json, validated; a malformed row fails naming it."""
    raw = json.loads(GPU_TABLE_PATH.read_text(encoding="utf-8"))
    return validated_rows(GPU_TABLE_PATH, raw, "gpus", GpuHardware, ("name",))


@cache
def _profiles() -> tuple[GpuProfile, ...]:
    return tuple(
        GpuProfile(
            name=row.name,
            aws_name=row.aws_name,
            aws_memory_gib=row.aws_memory_gib,
            total_memory_gib=row.cuda_total_memory_gib,
            compute_capability=row.compute_capability,
            is_a100=row.name.startswith("A100"),  # vLLM's default tiers test "A100" in the device name
            source=row.cuda_memory_source,
        )
        for row in gpu_table()
        if row.cuda_total_memory_gib is not None
    )


def _key(name: str) -> str:
    key = re.sub(r"[\s_]+", "-", name.strip().lower())
    key = re.sub(r"^nvidia-", "", key)
    return key.removesuffix("-sxm").removesuffix("-sxm5").removesuffix("-pcie")


@lru_cache(maxsize=1)
def _by_key() -> dict[str, GpuProfile]:
    by_name = {p.name: p for p in _profiles()}
    index = {_key(p.name): p for p in _profiles()}
    for row in gpu_table():
        if row.name in by_name:
            index.update({_key(alias): by_name[row.name] for alias in row.aliases})
    return index


def _nearest(key: str) -> str:
    """The known GPUs whose names (or aliases, AWS names) are closest to `key` (difflib), then all."""
    index = dict(_by_key())
    index.update({_key(g.aws_name): g for g in _profiles() if g.aws_name})
    close = difflib.get_close_matches(key, list(index), n=8, cutoff=0.65)
    nearest = list(dict.fromkeys(index[k].name for k in close))[:3]
    known = ", ".join(known_gpus())
    return f"nearest known GPUs: {', '.join(nearest)} (all known: {known})" if nearest else f"known: {known}"


def known_gpus() -> tuple[str, ...]:
    return tuple(gpu.name for gpu in _profiles())


@lru_cache(maxsize=256)
def gpu_profile(name: str, memory_gib: float | None = None) -> GpuProfile:
    """Profile by canonical or AWS GpuInfo name; memory_gib (AWS MemoryInfo) picks A100 40/80, V100 16/32."""
    key = _key(name)
    by_aws = [gpu for gpu in _profiles() if gpu.aws_name and _key(gpu.aws_name) == key]
    if len(by_aws) > 1 or (by_aws and memory_gib is not None):
        if memory_gib is None:
            sizes = ", ".join(f"{g.aws_memory_gib:g}" for g in by_aws)
            raise SizingError(
                f"GPU {name!r} comes in several sizes ({sizes} GiB): pass its memory "
                f"(--gpu-memory-gib) or a full name ({', '.join(g.name for g in by_aws)})"
            )
        nearest = min(by_aws, key=lambda g: abs((g.aws_memory_gib or 0) - memory_gib))
        return _with_memory(nearest, memory_gib)
    gpu = by_aws[0] if by_aws else _by_key().get(key)
    if gpu is None:
        raise SizingError(f"unknown GPU {name!r}; {_nearest(key)}")
    return _with_memory(gpu, memory_gib)


def _with_memory(gpu: GpuProfile, memory_gib: float | None) -> GpuProfile:
    """A memory figure far from the table's (a MIG slice, a fractional g6f L4) scales the CUDA total."""
    reference = gpu.aws_memory_gib or gpu.total_memory_gib
    if memory_gib is None or abs(memory_gib - reference) <= 0.02 * reference:
        return gpu
    if memory_gib <= 0:
        raise SizingError(f"GPU memory must be positive, got {memory_gib} GiB")
    total = round(memory_gib * gpu.total_memory_gib / reference, 2)
    return gpu.model_copy(
        update=dict(
            aws_memory_gib=memory_gib,
            total_memory_gib=total,
            source=gpu.source + f"; scaled to {memory_gib:g} GiB",
        )
    )
