"""CPU instance candidates for the llama.cpp path: hardware per family and dated prices per (type, region).

Two bundled tables (sources per row; dates in pricing/data/README.md):

* pricing/data/aws_cpu_families.csv: processor, vCPUs per socket, memory channels x DDR speed (-> peak
  memory bandwidth per socket), all-core clock and int8 multiply-accumulates per cycle per core.
* pricing/data/aws_cpu_prices.csv: on-demand USD/hour per instance type and region (Karpenter's generated
  AWS price table, us-east-1, 2026-01-19). No spot column yet: CPU plans are priced on-demand.

A virtual instance smaller than the host gets the bandwidth share of its vCPUs (vcpus / vcpus_per_socket
of one socket's channels, whole sockets beyond): the conservative reading, since the other tenants of the
socket use its memory channels too. The throughput model's efficiency is calibrated on that share.
"""

from __future__ import annotations

import csv
from functools import cache

from pydantic import Field

from pricing.errors import PricingError
from pricing.snapshot import DATA_DIR
from sizing.vocabulary import Frozen

FAMILIES_FILE = "aws_cpu_families.csv"
PRICES_FILE = "aws_cpu_prices.csv"


class CpuInstance(Frozen):
    """One CPU instance type in one region, with its price and the hardware the throughput model needs."""

    instance_type: str
    family: str
    region: str
    processor: str
    arch: str = Field(description="x86_64 or arm64 (the container image must match)")
    vcpus: int
    memory_gib: float
    physical_cores: int
    memory_bandwidth_gb_s: float = Field(description="the instance's share of its sockets' peak bandwidth")
    int8_tops: float = Field(description="peak int8 ops/s (2 x MACs) of its physical cores, 1e12")
    matrix_isa: str
    on_demand_usd_per_hour: float
    spot_usd_per_hour: float | None
    price_as_of: str
    source: str


@cache
def _rows(name: str) -> tuple[dict[str, str], ...]:
    with (DATA_DIR / name).open(newline="", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


@cache
def _families() -> dict[str, dict[str, str]]:
    return {row["family"]: row for row in _rows(FAMILIES_FILE)}


def cpu_families() -> tuple[str, ...]:
    """The CPU families the llama.cpp path knows the hardware of (the rows of aws_cpu_families.csv)."""
    return tuple(_families())


def cpu_type_names() -> tuple[str, ...]:
    """The CPU instance types the snapshot prices (in any region): the ones a live load asks AWS for."""
    return tuple(dict.fromkeys(row["instance_type"] for row in _rows(PRICES_FILE)))


def make_cpu_instance(instance_type: str, region: str, vcpus: int, memory_gib: float, on_demand: float,
                      spot: float | None, price_as_of: str, price_source: str) -> CpuInstance:
    """A CpuInstance from live figures (the family's hardware from aws_cpu_families.csv)."""
    return _instance({"instance_type": instance_type, "family": instance_type.split(".")[0], "region": region,
                      "vcpus": str(vcpus), "memory_gib": str(memory_gib),
                      "on_demand_usd_per_hour": repr(on_demand),
                      "spot_usd_per_hour": "" if spot is None else repr(spot), "price_as_of": price_as_of,
                      "price_source": price_source})


def _instance(row: dict[str, str]) -> CpuInstance:
    fam = _families().get(row["family"])
    if fam is None:
        raise PricingError(f"{PRICES_FILE}: family {row['family']!r} has no row in {FAMILIES_FILE}")
    vcpus = int(row["vcpus"])
    per_socket = int(fam["vcpus_per_socket"])
    cores = vcpus // int(fam["threads_per_core"])
    share = vcpus / per_socket  # sockets' worth of vCPUs (2.0 for a two-socket 48xlarge)
    ghz = float(fam["all_core_ghz"])
    return CpuInstance(
        instance_type=row["instance_type"],
        family=row["family"],
        region=row["region"],
        processor=fam["processor"],
        arch=fam["arch"],
        vcpus=vcpus,
        memory_gib=float(row["memory_gib"]),
        physical_cores=cores,
        memory_bandwidth_gb_s=float(fam["memory_bandwidth_gb_s_per_socket"]) * share,
        int8_tops=cores * ghz * 1e9 * int(fam["int8_macs_per_cycle_per_core"]) * 2 / 1e12,
        matrix_isa=fam["matrix_isa"],
        on_demand_usd_per_hour=float(row["on_demand_usd_per_hour"]),
        spot_usd_per_hour=float(row["spot_usd_per_hour"]) if row["spot_usd_per_hour"].strip() else None,
        price_as_of=row["price_as_of"],
        source=f"{row['price_source']}; hardware: {fam['source']}",
    )


@cache
def cpu_catalog() -> tuple[CpuInstance, ...]:
    """Every priced CPU instance of the snapshot."""
    return tuple(_instance(row) for row in _rows(PRICES_FILE))


def cpu_regions() -> tuple[str, ...]:
    return tuple(sorted({i.region for i in cpu_catalog()}))


def cpu_instances(regions: tuple[str, ...] | list[str]) -> tuple[CpuInstance, ...]:
    """The CPU candidates in `regions` (empty when the snapshot prices none there)."""
    wanted = set(regions)
    return tuple(i for i in cpu_catalog() if i.region in wanted)


def cpu_instance(instance_type: str, region: str | None = None) -> CpuInstance:
    for inst in cpu_catalog():
        if inst.instance_type == instance_type and (region is None or inst.region == region):
            return inst
    known = sorted({i.instance_type for i in cpu_catalog()})
    raise PricingError(
        f"CPU instance type {instance_type!r}{' in ' + region if region else ''} is not in the snapshot: "
        f"use one of {', '.join(known[:12])} ..."
    )
