"""The one table of corrections to what EC2 DescribeInstanceTypes reports about accelerators.

Each row fixes a family whose GpuInfo/NeuronInfo is wrong or ambiguous for sizing; every row says why.
Applied to live API data and to the bundled snapshot alike, so both paths agree.
"""

from __future__ import annotations

from dataclasses import dataclass

L4_FULL_MEMORY_MIB = 22888  # AWS GpuInfo MemoryInfo.SizeInMiB of a whole L4 (g6.xlarge)


@dataclass(frozen=True)
class AcceleratorQuirk:
    """A correction for one instance family: set fields override the API's values."""

    family: str
    gpu_name: str | None = None
    memory_mib: int | None = None
    fractional: bool = False  # the "GPU" is a slice of one physical GPU
    reason: str = ""


QUIRKS: tuple[AcceleratorQuirk, ...] = (
    # p5en.48xlarge: DescribeInstanceTypes has returned GpuInfo Name "NVIDIA" (the manufacturer) instead
    # of the model; AWS sells p5en as 8 x H200 141 GB (aws.amazon.com/ec2/instance-types/p5/), and the
    # reported 144384 MiB per GPU is the H200's.
    AcceleratorQuirk("p5en", gpu_name="H200", memory_mib=144384,
                     reason="API GPU name 'NVIDIA' on p5en is an H200 (141 GiB)"),
    # p4de.24xlarge: GpuInfo says "A100", the same name as p4d's 40 GB part; p4de carries the A100 80 GB
    # SXM4 (2039 GB/s, not 1555). Pin 81920 MiB so the spec lookup picks the 80 GB row.
    AcceleratorQuirk("p4de", gpu_name="A100", memory_mib=81920,
                     reason="p4de is A100 80 GB, not the 40 GB A100 of p4d"),
    # p3dn.24xlarge: GpuInfo says "V100" like p3's 16 GB cards, but p3dn has V100 32 GB
    # (SkyPilot names it V100-32GB); pin 32768 MiB so specs and sizing use 32 GiB.
    AcceleratorQuirk("p3dn", gpu_name="V100", memory_mib=32768,
                     reason="p3dn is V100 32 GB, not 16 GB"),
    # g6f: fractional L4 slices (1/8, 1/4, 1/2 of one L4). The API reports Count 0 with
    # GpuPartitionSize 0.125..0.5 and the slice's memory (2861/5722/11444 MiB); we count one slice as
    # 1 GPU with gpu_fraction < 1 so the planner never treats it as a whole L4 (no TP over slices).
    AcceleratorQuirk("g6f", gpu_name="L4", fractional=True, reason="g6f sizes are fractional L4 slices"),
    # gr6f: same fractional L4 slices as g6f on the memory-heavy gr6 platform.
    AcceleratorQuirk("gr6f", gpu_name="L4", fractional=True, reason="gr6f sizes are fractional L4 slices"),
    # trn2: NeuronInfo reports 524288 MiB per Trainium2 device, but the AWS Neuron docs give 96 GiB HBM
    # per chip (awsdocs-neuron .../neuron-hardware/trainium2); trust the docs.
    AcceleratorQuirk("trn2", gpu_name="Trainium2", memory_mib=98304,
                     reason="Trainium2 has 96 GiB HBM per device (Neuron docs), not 512 GiB"),
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
