"""The bundled, dated snapshot: instance topology, prices and Spot Advisor bands from pricing/data, GPU specs
from sizing's GPU table (sizing/data/gpus.json).

CSV files are parsed once per process (lru_cache); everything returned is a frozen model or a tuple.
Dates and sources: pricing/data/README.md.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from pathlib import Path

from pricing.errors import PricingError
from pricing.models import GpuSpec, InstancePrice, InstanceType
from pricing.quirks import family_of, quirk_for
from sizing.gpus import GPU_TABLE_PATH, GpuHardware, gpu_table

DATA_DIR = Path(__file__).resolve().parent / "data"
# On-demand column: AWS public list prices; identical to Karpenter's AWS price table
# "generated at 2026-07-20T13:44:30Z" (shared/data/README.md). Spot column: time unknown.
SNAPSHOT_ON_DEMAND_AS_OF = datetime(2026, 7, 20, 13, 44, 30, tzinfo=UTC)
# Spot Advisor feed copy in alexei-led/spotinfo @ 5eedf20a (2025-06-28).
SPOT_ADVISOR_AS_OF = date(2025, 6, 28)
INTERRUPTION_LABELS = ("<5%", "5-10%", "10-15%", "15-20%", ">20%")
NEURON_ARCHITECTURE_PREFIX = "AWS Neuron"
TOPOLOGY_SOURCE = "aws_gpu_instances.csv"


@cache
def _rows(name: str) -> tuple[dict[str, str], ...]:
    with (DATA_DIR / name).open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def _float(text: str, default: float = 0.0) -> float:
    return float(text) if text.strip() else default


def _optional_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:  # blank, "n/a"
        return None


def _spec_from_row(row: GpuHardware) -> GpuSpec:
    # Trainium2: no AWS MiB figure; the Neuron docs' 96 GiB HBM per chip (the row's own source).
    memory_gib = row.aws_memory_gib if row.aws_memory_gib is not None else row.memory_gb_marketing
    return GpuSpec(
        gpu_name=row.aws_name,
        memory_gib=memory_gib,
        memory_bandwidth_gb_s=row.memory_bandwidth_gb_s,
        dense_bf16_tflops=row.dense_bf16_tflops,
        dense_fp16_tflops=row.dense_fp16_tflops,
        dense_fp8_tflops=row.dense_fp8_tflops,
        fp8_support=row.fp8_support,
        compute_capability=float(row.compute_capability) if row.compute_capability else None,
        nvlink_gb_s=row.nvlink_gb_s or 0.0,
        architecture=row.architecture or "",
        source=f"{GPU_TABLE_PATH.name}: {row.source}",
    )


@lru_cache(maxsize=1)
def gpu_specs() -> tuple[GpuSpec, ...]:
    """Every accelerator sold on AWS in sizing's GPU table (NVIDIA GPUs and AWS Neuron devices)."""
    return tuple(_spec_from_row(row) for row in gpu_table() if row.aws_name)


def is_neuron(gpu_name: str) -> bool:
    """True for AWS Inferentia/Trainium devices (not GPUs: vLLM's CUDA path does not apply)."""
    return any(s.gpu_name == gpu_name and s.architecture.startswith(NEURON_ARCHITECTURE_PREFIX)
               for s in gpu_specs())


def find_gpu_spec(gpu_name: str, full_gpu_memory_gib: float) -> GpuSpec | None:
    """The spec row for this GPU name; V100 and A100 have two memory sizes, so pick the nearest memory."""
    candidates = [s for s in gpu_specs() if s.gpu_name == gpu_name]
    if not candidates:
        return None
    return min(candidates, key=lambda s: abs(s.memory_gib - full_gpu_memory_gib))


@lru_cache(maxsize=1)
def topology_table() -> dict[str, dict[str, str]]:
    """aws_gpu_instances.csv keyed by instance type (interconnect, NVLink, EFA, network, NVMe)."""
    return {row["instance_type"]: row for row in _rows("aws_gpu_instances.csv")}


def interconnect_of(instance_type: str, gpu_count: int, neuron: bool) -> tuple[str, float, str]:
    """(interconnect, nvlink_gb_s, source) from the topology table; a conservative guess when absent."""
    row = topology_table().get(instance_type)
    if row is not None:
        return row["interconnect"], _float(row["nvlink_gb_s"]), f"{TOPOLOGY_SOURCE}: {row['source']}"
    if neuron:
        return ("neuronlink" if gpu_count > 1 else "pcie"), 0.0, "interconnect assumed (type not in table)"
    # Unknown NVIDIA type: assume PCIe so the planner never counts on NVLink it may not have.
    return "pcie", 0.0, "interconnect assumed PCIe (type not in topology table)"


def make_instance_type(
    *, instance_type: str, gpu_name: str, gpu_count: int, gpu_fraction: float, gpu_memory_gib: float,
    vcpus: int, memory_gib: float, efa_max_interfaces: int, network_gbps: float, local_nvme_gb: float,
    source: str, neuron: bool | None = None,
) -> InstanceType:
    """Merge one type's facts with the topology table and GPU spec table (shared by live and snapshot).

    `neuron`: whether the device is an AWS Neuron device; live parsing knows it from the field the data
    came from (NeuronInfo vs GpuInfo); None (the snapshot rows) looks the name up in the spec table.
    """
    neuron = is_neuron(gpu_name) if neuron is None else neuron
    interconnect, nvlink_gb_s, topo_source = interconnect_of(instance_type, gpu_count, neuron)
    spec = None if neuron else find_gpu_spec(gpu_name, gpu_memory_gib / gpu_fraction)
    return InstanceType(
        instance_type=instance_type, family=family_of(instance_type), gpu_name=gpu_name,
        gpu_count=gpu_count, gpu_fraction=gpu_fraction, gpu_memory_gib=round(gpu_memory_gib, 2),
        vcpus=vcpus, memory_gib=memory_gib, interconnect=interconnect, nvlink_gb_s=nvlink_gb_s,
        efa_supported=efa_max_interfaces > 0, efa_max_interfaces=efa_max_interfaces,
        network_gbps=network_gbps, local_nvme_gb=local_nvme_gb,
        accelerator_kind="aws_neuron" if neuron else "nvidia_gpu", gpu=spec,
        source=f"{source}; {topo_source}",
    )


def _instance_from_row(row: dict[str, str]) -> InstanceType:
    count = float(row["gpu_count"])  # g6f rows hold the slice fraction (0.125/0.25/0.5)
    fraction = count if count < 1 else 1.0
    memory_gib = float(row["gpu_memory_gib_per_gpu"])
    quirk = quirk_for(row["instance_type"])
    if quirk is not None and quirk.memory_mib is not None:
        memory_gib = quirk.memory_mib / 1024
    return make_instance_type(
        instance_type=row["instance_type"], gpu_name=row["gpu_name"], gpu_count=max(1, round(count)),
        gpu_fraction=fraction, gpu_memory_gib=memory_gib, vcpus=int(_float(row["vcpus"])),
        memory_gib=_float(row["memory_gib"]), efa_max_interfaces=int(_float(row["efa_max_interfaces"])),
        network_gbps=_float(row["network_gbps"]), local_nvme_gb=_float(row["local_nvme_gb"]),
        source="snapshot (DescribeInstanceTypes facts via Karpenter's reference, 2026-07-11)",
    )


@lru_cache(maxsize=1)
def instance_catalog() -> tuple[InstanceType, ...]:
    """Every GPU and Neuron instance type of the snapshot, sorted by name."""
    rows = sorted(topology_table().values(), key=lambda r: r["instance_type"])
    return tuple(_instance_from_row(row) for row in rows)


@lru_cache(maxsize=1)
def _instances_by_name() -> dict[str, InstanceType]:
    return {i.instance_type: i for i in instance_catalog()}


def snapshot_instance(instance_type: str) -> InstanceType | None:
    """The snapshot's facts for one type, or None."""
    return _instances_by_name().get(instance_type)


@lru_cache(maxsize=1)
def spot_advisor_bands() -> dict[tuple[str, str], int]:
    """(region, instance_type) -> Spot Advisor interruption band 0..4 (Linux), about 2025-06-28."""
    return {(r["region"], r["instance_type"]): int(r["interruption_band"])
            for r in _rows("aws_spot_advisor.csv") if r["os"] == "Linux"}


def interruption_band(region: str, instance_type: str) -> tuple[int | None, str | None]:
    """(band, label) from the bundled Spot Advisor table; (None, None) when it has no row."""
    band = spot_advisor_bands().get((region, instance_type))
    return (band, INTERRUPTION_LABELS[band]) if band is not None else (None, None)


@lru_cache(maxsize=1)
def _price_rows_by_region() -> dict[str, tuple[dict[str, str], ...]]:
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _rows("aws_gpu_prices.csv"):
        grouped[row["region"]].append(row)
    return {region: tuple(rows) for region, rows in grouped.items()}


def snapshot_regions() -> tuple[str, ...]:
    """Regions the bundled price snapshot covers, sorted."""
    return tuple(sorted(_price_rows_by_region()))


def is_local_zone(az_id: str) -> bool:
    """Local/Wavelength Zone IDs have an extra segment (usw2-lax1-az1) beside plain AZ IDs (use1-az4)."""
    parts = az_id.split("-")
    return len(parts) != 2 or not parts[1].startswith("az")


def make_price(
    *, instance_type: str, region: str, on_demand: float | None, spot_by_az: dict[str, float],
    price_source: str, prices_as_of: datetime,
) -> InstancePrice:
    """An InstancePrice with spot min/median over AZ IDs and the Spot Advisor band attached."""
    band, label = interruption_band(region, instance_type)
    spots = sorted(spot_by_az.values())
    return InstancePrice(
        instance_type=instance_type, region=region, on_demand_usd_per_hour=on_demand,
        spot_usd_per_hour=spots[0] if spots else None,
        spot_median_usd_per_hour=statistics.median(spots) if spots else None,
        spot_usd_per_hour_by_az=dict(sorted(spot_by_az.items())), interruption_band=band,
        interruption_frequency=label, price_source=price_source, prices_as_of=prices_as_of,
    )


@cache
def snapshot_prices(region: str, include_local_zones: bool = False) -> tuple[InstancePrice, ...]:
    """Snapshot prices of every type in one region that has an on-demand or a spot price."""
    rows = _price_rows_by_region().get(region)
    if rows is None:
        raise PricingError(f"region {region!r} is not in the bundled snapshot; it has: "
                           f"{', '.join(snapshot_regions())}")
    on_demand: dict[str, float | None] = {}
    spot: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        az = row["availability_zone"]
        if is_local_zone(az) and not include_local_zones:
            continue  # a type sold only in a Local Zone is not an offer of the region proper
        on_demand[row["instance_type"]] = _optional_float(row["on_demand_usd_per_hour"])
        if row["spot_usd_per_hour"].strip():
            spot[row["instance_type"]][az] = float(row["spot_usd_per_hour"])
    prices = (
        make_price(instance_type=t, region=region, on_demand=od, spot_by_az=spot.get(t, {}),
                   price_source="snapshot", prices_as_of=SNAPSHOT_ON_DEMAND_AS_OF)
        for t, od in sorted(on_demand.items())
    )
    return tuple(p for p in prices if p.on_demand_usd_per_hour is not None or p.spot_usd_per_hour)
