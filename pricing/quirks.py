"""The one table of corrections to what EC2 DescribeInstanceTypes reports about accelerators.

Each row fixes a family whose GpuInfo/NeuronInfo is wrong or ambiguous for sizing; every row says why and
how far that is verified: "verified" rows cite a public record of the live API answer (an AWS SDK issue,
or a catalog generated from DescribeInstanceTypes); "defensive" rows pin a value the API is believed to
report correctly today, so a change on AWS's side cannot silently shift sizing. No row here was checked
against a live call from this project (no AWS account in CI). Applied to live API data and to the bundled
snapshot alike, so both paths agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

L4_FULL_MEMORY_MIB = 22888  # AWS GpuInfo MemoryInfo.SizeInMiB of a whole L4 (g6.xlarge)
# How close a reported memory size must be to a known size of that GPU to count as "that GPU".
MEMORY_MATCH_TOLERANCE = 0.10


@dataclass(frozen=True)
class AcceleratorQuirk:
    """A correction for one instance family: set fields override the API's values."""

    family: str
    gpu_name: str | None = None
    memory_mib: int | None = None
    fractional: bool = False  # the "GPU" is a slice of one physical GPU
    reason: str = ""
    evidence: Literal["verified", "defensive"] = "verified"
    source: str = ""


QUIRKS: tuple[AcceleratorQuirk, ...] = (
    # p5en.48xlarge: GpuInfo Name is "NVIDIA" (the manufacturer), not the model: SkyPilot's catalog,
    # generated from DescribeInstanceTypes, listed the accelerator as "NVIDIA", 8 x 141 GB
    # (skypilot-org/skypilot#4652, 2025-02). AWS sells p5en as 8 x H200
    # (aws.amazon.com/ec2/instance-types/p5/); 144384 MiB (141 GiB) is the H200's size as the API
    # reports it for p5e/p5en.
    AcceleratorQuirk("p5en", gpu_name="H200", memory_mib=144384,
                     reason="API GPU name 'NVIDIA' on p5en is an H200 (141 GiB)",
                     source="skypilot-org/skypilot#4652"),
    # p4de.24xlarge: GpuInfo says "A100" with 81920 MiB (SkyPilot catalog's GpuInfo column, which SkyPilot
    # renames "A100-80GB": shared/data/README.md), the same name as p4d's 40 GB part. The memory is right
    # today; pinning it keeps the spec lookup on the 80 GB SXM4 row (2039 GB/s, not 1555) regardless.
    AcceleratorQuirk("p4de", gpu_name="A100", memory_mib=81920,
                     reason="p4de is A100 80 GB, not the 40 GB A100 of p4d", evidence="defensive",
                     source="SkyPilot AWS catalog GpuInfo (shared/data/README.md)"),
    # p3dn.24xlarge: GpuInfo says "V100" like p3's 16 GB cards, with 32768 MiB (SkyPilot catalog's
    # GpuInfo; SkyPilot renames it "V100-32GB"). Pinned for the same reason as p4de.
    AcceleratorQuirk("p3dn", gpu_name="V100", memory_mib=32768,
                     reason="p3dn is V100 32 GB, not 16 GB", evidence="defensive",
                     source="SkyPilot AWS catalog GpuInfo (shared/data/README.md)"),
    # g6f: fractional L4 slices. The API reports Count 0 with the slice's memory, e.g. g6f.large
    # {'Name': 'L4', 'Count': 0, 'MemoryInfo': {'SizeInMiB': 2861}} (aws/aws-cli#9659; AWS: Count 0 is
    # intended), plus GpuPartitionSize ("the size of each GPU as a fraction of a full GPU", botocore ec2
    # model) and LogicalGpuCount 1 (aws/karpenter-provider-aws#9322). One slice counts as 1 GPU with
    # gpu_fraction < 1 so the planner never treats it as a whole L4 (no TP over slices).
    AcceleratorQuirk("g6f", gpu_name="L4", fractional=True, reason="g6f sizes are fractional L4 slices",
                     source="aws/aws-cli#9659; aws/karpenter-provider-aws#9322"),
    # gr6f: the same fractional L4 on the memory-heavy gr6 platform; gr6f.4xlarge reports GpuPartitionSize
    # 0.5 (Boavizta/boaviztapi#568, checked against describe-instance-types).
    AcceleratorQuirk("gr6f", gpu_name="L4", fractional=True, reason="gr6f sizes are fractional L4 slices",
                     source="Boavizta/boaviztapi#568"),
    # trn2: NeuronInfo reports 524288 MiB per Trainium2 device (SkyPilot catalog, shared/data/README.md
    # "known source inconsistency"), but the AWS Neuron docs give 96 GiB HBM per chip
    # (awsdocs-neuron .../neuron-hardware/trainium2); trust the docs.
    AcceleratorQuirk("trn2", gpu_name="Trainium2", memory_mib=98304,
                     reason="Trainium2 has 96 GiB HBM per device (Neuron docs), not 512 GiB",
                     source="SkyPilot AWS catalog NeuronInfo; AWS Neuron docs"),
)

_BY_FAMILY = {q.family: q for q in QUIRKS}


def quirk_for(instance_type: str) -> AcceleratorQuirk | None:
    """The correction row for this instance type's family, if any."""
    return _BY_FAMILY.get(family_of(instance_type))


def family_of(instance_type: str) -> str:
    """`p5.48xlarge` -> `p5`, `p6-b200.48xlarge` -> `p6-b200`."""
    return instance_type.split(".", 1)[0]


def slice_fraction(memory_mib: float, partition_size: float | None) -> float:
    """Share of one physical L4 in a g6f/gr6f slice: the API's GpuPartitionSize, else memory ratio."""
    if partition_size and 0 < partition_size <= 1:
        return float(partition_size)
    ratio = memory_mib / L4_FULL_MEMORY_MIB
    # Slices come in 1/8, 1/4, 1/2 (AWS g6f docs); snap the memory ratio to the nearest of them.
    return min((0.125, 0.25, 0.5, 1.0), key=lambda f: abs(f - ratio))


def _near_any(memory_mib: float, known_mib: Iterable[float]) -> bool:
    return any(abs(memory_mib - k) <= MEMORY_MATCH_TOLERANCE * k for k in known_mib)


def per_gpu_memory_mib(memory_mib: int, count: int, known_mib: Iterable[float]) -> int:
    """The per-GPU size when a multi-GPU type reports the instance total as MemoryInfo.SizeInMiB.

    Seen live: g6e.12xlarge answered {'Name': 'L40S', 'Count': 4, 'MemoryInfo': {'SizeInMiB': 183105}}
    (4 x 45776; aws/aws-cli#8970, 2024-10), and multi-L4 g6 sizes the same way (dstackai/gpuhunt#92).
    The 2026-07 snapshot shows per-GPU values again, so this is a guard, applied only when the reported
    size matches no known size of that GPU but size / count does.
    """
    known = tuple(known_mib)
    if count > 1 and known and not _near_any(memory_mib, known) and _near_any(memory_mib / count, known):
        return round(memory_mib / count)
    return memory_mib
