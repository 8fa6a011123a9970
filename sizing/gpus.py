"""GPU profiles: the memory CUDA reports per card (what vLLM budgets against), compute capability, names.

`total_memory_gib` is torch.cuda.mem_get_info()[1] / 2**30 - the device total vLLM multiplies by
gpu_memory_utilization - which is below both the marketing size and AWS's MemoryInfo.SizeInMiB.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from sizing.errors import SizingError

LOGGED = "vLLM startup logs quoted in shared/vllm_memory_accounting.md §1"
SMI = (
    "estimate: nvidia-smi total minus the ~0.42 GiB the driver keeps, as measured on A10 "
    "(23028 MiB in nvidia-smi, 22.07 GiB in a vLLM log, shared/data/vllm_reference_logs.csv)"
)
A10_LOG = (
    "vLLM log of a 24 GB A10-class card (OCI row of shared/data/vllm_reference_logs.csv: 22.07 GiB); "
    "A10G is the same GA102 board with 24 GB GDDR6"
)
HBM = "estimate: AWS MemoryInfo x 79.19/80, the ratio H100-80GB shows in vLLM logs"


class GpuProfile(BaseModel):
    """One GPU model as vLLM sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="canonical name, e.g. H100, A100-80GB")
    aws_name: str | None = Field(description="GpuInfo name in EC2 DescribeInstanceTypes, if sold on AWS")
    aws_memory_gib: float | None = Field(description="AWS MemoryInfo.SizeInMiB / 1024")
    total_memory_gib: float = Field(description="what CUDA reports as device total")
    compute_capability: str
    is_a100: bool = False
    source: str


_TABLE: tuple[GpuProfile, ...] = (
    GpuProfile(
        name="H100",
        aws_name="H100",
        aws_memory_gib=80,
        total_memory_gib=79.19,
        compute_capability="9.0",
        source=LOGGED + " (H100-80GB: 79.18-79.19)",
    ),
    GpuProfile(
        name="H200",
        aws_name="H200",
        aws_memory_gib=141,
        total_memory_gib=139.58,
        compute_capability="9.0",
        source=HBM,
    ),
    GpuProfile(
        name="A100-80GB",
        aws_name="A100",
        aws_memory_gib=80,
        total_memory_gib=79.15,
        compute_capability="8.0",
        is_a100=True,
        source=LOGGED + " (80GB-class cards: 79.15-79.25)",
    ),
    GpuProfile(
        name="A100-40GB",
        aws_name="A100",
        aws_memory_gib=40,
        total_memory_gib=39.38,
        compute_capability="8.0",
        is_a100=True,
        source=LOGGED,
    ),
    GpuProfile(
        name="B200",
        aws_name="B200",
        aws_memory_gib=179.06,
        total_memory_gib=178.64,
        compute_capability="10.0",
        source=SMI.replace("nvidia-smi total", "AWS 183359 MiB"),
    ),
    GpuProfile(
        name="B300",
        aws_name="B300",
        aws_memory_gib=268.59,
        total_memory_gib=268.17,
        compute_capability="10.3",
        source=SMI.replace("nvidia-smi total", "AWS 275040 MiB"),
    ),
    GpuProfile(
        name="L40S",
        aws_name="L40S",
        aws_memory_gib=44.7,
        total_memory_gib=44.57,
        compute_capability="8.9",
        source=SMI + "; nvidia-smi 46068 MiB per shared/data/gpu_specs.csv",
    ),
    GpuProfile(
        name="A10G",
        aws_name="A10G",
        aws_memory_gib=22.35,
        total_memory_gib=22.07,
        compute_capability="8.6",
        source=A10_LOG,
    ),
    GpuProfile(
        name="L4",
        aws_name="L4",
        aws_memory_gib=22.35,
        total_memory_gib=22.07,
        compute_capability="8.9",
        source=SMI + "; L4 nvidia-smi 23034 MiB",
    ),
    GpuProfile(
        name="T4",
        aws_name="T4",
        aws_memory_gib=16,
        total_memory_gib=14.56,
        compute_capability="7.5",
        source=LOGGED,
    ),
    GpuProfile(
        name="V100-16GB",
        aws_name="V100",
        aws_memory_gib=16,
        total_memory_gib=15.77,
        compute_capability="7.0",
        source=SMI + "; V100-16GB nvidia-smi 16160 MiB",
    ),
    GpuProfile(
        name="V100-32GB",
        aws_name="V100",
        aws_memory_gib=32,
        total_memory_gib=31.32,
        compute_capability="7.0",
        source=SMI + "; V100-32GB nvidia-smi 32510 MiB",
    ),
    GpuProfile(
        name="RTX PRO 6000",
        aws_name="RTX PRO Server 6000",
        aws_memory_gib=96,
        total_memory_gib=95.17,
        compute_capability="12.0",
        source=SMI + "; nvidia-smi 97887 MiB per shared/data/gpu_specs.csv",
    ),
    GpuProfile(
        name="RTX 4090",
        aws_name=None,
        aws_memory_gib=None,
        total_memory_gib=23.58,
        compute_capability="8.9",
        source=SMI + "; RTX 4090 nvidia-smi 24564 MiB (vLLM#7553); 24 GB cards log 23.58 (vLLM#14447)",
    ),
    GpuProfile(
        name="RTX 3090",
        aws_name=None,
        aws_memory_gib=None,
        total_memory_gib=23.58,
        compute_capability="8.6",
        source=LOGGED,
    ),
    GpuProfile(
        name="RTX 4060",
        aws_name=None,
        aws_memory_gib=None,
        total_memory_gib=8.0,
        compute_capability="8.9",
        source=LOGGED,
    ),
)

_ALIASES = {
    "a100-80g": "A100-80GB",
    "a100-40g": "A100-40GB",
    "a100-80": "A100-80GB",
    "a100-40": "A100-40GB",
    "v100-32": "V100-32GB",
    "v100-16": "V100-16GB",
    "rtx-pro-6000": "RTX PRO 6000",
    "rtx-pro-server-6000": "RTX PRO 6000",
    "rtx-6000-pro": "RTX PRO 6000",
    "l40": "L40S",
    "h100-80gb": "H100",
    "h200-141gb": "H200",
    "4090": "RTX 4090",
    "3090": "RTX 3090",
}


def _key(name: str) -> str:
    key = re.sub(r"[\s_]+", "-", name.strip().lower())
    key = re.sub(r"^nvidia-", "", key)
    return key.removesuffix("-sxm").removesuffix("-sxm5").removesuffix("-pcie")


@lru_cache(maxsize=1)
def _by_key() -> dict[str, GpuProfile]:
    index = {_key(gpu.name): gpu for gpu in _TABLE}
    index.update({k: index[_key(v)] for k, v in _ALIASES.items()})
    return index


def _nearest(key: str) -> str:
    """The known GPUs whose names (or aliases, AWS names) are closest to `key` (difflib), then all."""
    index = dict(_by_key())
    index.update({_key(g.aws_name): g for g in _TABLE if g.aws_name})
    close = difflib.get_close_matches(key, list(index), n=8, cutoff=0.65)
    nearest = list(dict.fromkeys(index[k].name for k in close))[:3]
    known = ", ".join(known_gpus())
    return f"nearest known GPUs: {', '.join(nearest)} (all known: {known})" if nearest else f"known: {known}"


def known_gpus() -> tuple[str, ...]:
    return tuple(gpu.name for gpu in _TABLE)


@lru_cache(maxsize=256)
def gpu_profile(name: str, memory_gib: float | None = None) -> GpuProfile:
    """Profile by canonical or AWS GpuInfo name; memory_gib (AWS MemoryInfo) picks A100 40/80, V100 16/32."""
    key = _key(name)
    by_aws = [gpu for gpu in _TABLE if gpu.aws_name and _key(gpu.aws_name) == key]
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
