"""Live -> cache -> snapshot prices for the CPU instances of the llama.cpp path, like the GPU catalog's.

Per region: DescribeInstanceTypes (vCPUs and memory of the known CPU families), DescribeInstanceTypeOfferings
(which of them the region sells), Pricing GetProducts by instance type (the same on-demand filters as the
GPU types, pricing/aws.py on_demand_filters) and DescribeSpotPriceHistory (the cheapest AZ's price now).
Only the types the bundled snapshot lists are asked for (pricing/data/aws_cpu_prices.csv): the families
whose hardware aws_cpu_families.csv describes. Every figure passes pricing/validate.py's CPU checks at
each boundary (live answer, cache file, snapshot). The cache lives beside the GPU cache, one file per
region (`cpu-<region>.json`), with the same freshness rule (6 h).

Modes: `snapshot` (no AWS call), `live` (every region live, else AwsUnavailableError), `auto` (fresh
cache -> live within aws.AUTO_BUDGET_S -> the stale cache or the snapshot, with a warning).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import Any

from pydantic import AwareDatetime, ValidationError

from pricing.cache import default_cache_dir, write_atomic
from pricing.cpu import CpuInstance, cpu_families, cpu_instances, cpu_type_names, make_cpu_instance
from pricing.errors import AwsUnavailableError, PricingError
from pricing.validate import checked_cpu_instances
from sizing.vocabulary import Frozen, PricingMode

CPU_CACHE_FORMAT = 1
LIVE_SOURCE = "live: AWS Pricing GetProducts (on-demand), DescribeSpotPriceHistory (cheapest AZ, now)"
MIB_PER_GIB = 1024


class CachedCpuRegion(Frozen):
    format: int = CPU_CACHE_FORMAT
    region: str
    fetched_at: AwareDatetime
    instances: tuple[CpuInstance, ...]


class CpuCatalog(Frozen):
    instances: tuple[CpuInstance, ...]
    regions: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def cpu_cache_path(cache_dir: Path, region: str) -> Path:
    return cache_dir / f"cpu-{region}.json"


def read_cpu_cache(cache_dir: Path, region: str) -> tuple[CachedCpuRegion | None, str | None]:
    """(entry, problem), like cache.read_cache: an unreadable or corrupt file is reported and ignored."""
    path = cpu_cache_path(cache_dir, region)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"ignored unreadable CPU price cache {path}: {exc}"
    try:
        entry = CachedCpuRegion.model_validate_json(raw)
    except (ValidationError, ValueError):
        return None, f"ignored corrupt CPU price cache {path}; it will be replaced"
    if entry.format != CPU_CACHE_FORMAT or entry.region != region:
        return None, f"ignored CPU price cache {path}: wrong format or region; it will be replaced"
    return entry, None


def cpu_type_patterns() -> list[str]:
    """DescribeInstanceTypes instance-type filter values: one wildcard per known family ("c7i.*"); the
    filter takes wildcards ("c5*", EC2 API reference, DescribeInstanceTypes Filters)."""
    return [f"{family}.*" for family in cpu_families()]


def fetch_cpu_types(ec2: Any, deadline: Any = None) -> dict[str, tuple[int, float]]:
    """DescribeInstanceTypes of the known CPU families -> {type: (vCPUs, memory GiB)}, the snapshot's
    types only (no .metal, .large or flex sizes)."""
    from pricing.aws import _items

    wanted = set(cpu_type_names())
    pages = ec2.get_paginator("describe_instance_types").paginate(
        Filters=[{"Name": "instance-type", "Values": cpu_type_patterns()}])
    out = {}
    for item in _items(pages, "InstanceTypes", deadline, "DescribeInstanceTypes"):
        name = item["InstanceType"]
        if name in wanted:
            memory_gib = int(item["MemoryInfo"]["SizeInMiB"]) / MIB_PER_GIB
            out[name] = (int(item["VCpuInfo"]["DefaultVCpus"]), memory_gib)
    return out


def fetch_cpu_region(region: str, ec2: Any, pricing: Any, now: datetime, deadline: Any = None,
                     warnings: list[str] | None = None) -> tuple[CpuInstance, ...]:
    """Every known CPU type the region sells, with live on-demand and spot prices (a type AWS gives no
    on-demand price for is left out: the CPU planner prices on-demand)."""
    from pricing.aws import (
        ENDPOINT_HINT,
        PAYLOAD_ERRORS,
        MalformedAwsResponse,
        fetch_az_ids,
        fetch_offerings,
        fetch_on_demand_prices,
        fetch_spot_prices,
    )

    try:
        types = fetch_cpu_types(ec2, deadline)
        if not types:
            raise MalformedAwsResponse(f"{region}: DescribeInstanceTypes listed none of the CPU families "
                                       f"{', '.join(cpu_families())}; {ENDPOINT_HINT}")
        offered = fetch_offerings(ec2, list(types), False, deadline)
        names = sorted(t for t in types if t in offered)
        on_demand = fetch_on_demand_prices(pricing, names, region, deadline, warnings)
        spot = fetch_spot_prices(ec2, names, now, fetch_az_ids(ec2, deadline), False, deadline)
    except PAYLOAD_ERRORS as exc:
        raise MalformedAwsResponse(f"{region}: AWS answered in an unexpected shape ({type(exc).__name__}: "
                                   f"{exc}); {ENDPOINT_HINT}") from exc
    out = []
    for name in names:
        usd = on_demand.get(name)
        if usd is None:
            continue
        by_az = {az: p for az, p in spot.get(name, {}).items() if az in offered[name]}
        vcpus, memory_gib = types[name]
        out.append(make_cpu_instance(name, region, vcpus, memory_gib, usd, min(by_az.values(), default=None),
                                     f"{now:%Y-%m-%d}", LIVE_SOURCE))
    return tuple(out)


def _snapshot(region: str, warnings: list[str]) -> tuple[CpuInstance, ...]:
    kept, dropped = checked_cpu_instances(cpu_instances([region]), "bundled snapshot")
    warnings.extend(dropped)
    return kept


def load_cpu_catalog(
    regions: Sequence[str], pricing: PricingMode = "auto", *, cache_dir: Path | None = None,
    max_cache_age_s: float = 6 * 3600, clients: Any = None, now: datetime | None = None,
    clock: Any = None,
) -> CpuCatalog:
    """The CPU candidates of `regions` by the pricing mode (see the module doc), with warnings."""
    if pricing not in ("auto", "live", "snapshot"):
        raise PricingError(f"pricing mode {pricing!r} is not one of auto, live, snapshot")
    regions = tuple(dict.fromkeys(regions))
    now = now or datetime.now(UTC)
    warnings: list[str] = []
    if pricing == "snapshot":
        found = {r: _snapshot(r, warnings) for r in regions}
        return CpuCatalog(instances=tuple(i for r in regions for i in found[r]), regions=regions,
                          warnings=tuple(warnings))
    cache_dir = cache_dir or default_cache_dir()
    out: dict[str, tuple[CpuInstance, ...]] = {}
    stale: dict[str, CachedCpuRegion] = {}
    if pricing == "auto":
        for region in regions:
            entry, problem = read_cpu_cache(cache_dir, region)
            if problem:
                warnings.append(problem)
            if entry is None:
                continue
            kept, dropped = checked_cpu_instances(entry.instances, f"cached ({cache_dir})")
            warnings.extend(dropped)
            if 0 <= (now - entry.fetched_at).total_seconds() <= max_cache_age_s:
                out[region] = kept
            else:
                stale[region] = entry.model_copy(update={"instances": kept})
    missing = [r for r in regions if r not in out]
    live = _live(missing, pricing, clients, now, clock, warnings, cache_dir) if missing else {}
    failed = {r: v for r, v in live.items() if isinstance(v, Exception)}
    if pricing == "live" and failed:
        detail = "; ".join(f"{r}: {type(e).__name__}: {e}" for r, e in failed.items())
        raise AwsUnavailableError(f"--pricing live failed for CPU prices in {', '.join(failed)} ({detail}); "
                                  "use --pricing auto to fall back to cached or snapshot prices, or "
                                  "--pricing snapshot")
    for region in missing:
        result = live[region]
        if not isinstance(result, Exception):
            out[region] = result
        elif region in stale:
            warnings.append(f"{region}: live CPU prices unavailable ({type(result).__name__}: {result}); "
                            f"using cached CPU prices fetched {stale[region].fetched_at:%Y-%m-%d %H:%M} UTC")
            out[region] = stale[region].instances
        else:
            out[region] = _snapshot(region, warnings)
            where = ("the bundled CPU snapshot (" + ", ".join(sorted({i.price_as_of for i in out[region]}))
                     + ")") if out[region] else "nothing: the bundled CPU snapshot does not price this region"
            warnings.append(f"{region}: live CPU prices unavailable ({type(result).__name__}: {result}); "
                            f"using {where}")
    return CpuCatalog(instances=tuple(i for r in regions for i in out[r]), regions=regions,
                      warnings=tuple(warnings))


def _live(regions: Sequence[str], pricing: PricingMode, clients: Any, now: datetime, clock: Any,
          warnings: list[str], cache_dir: Path) -> dict[str, tuple[CpuInstance, ...] | Exception]:
    """Each region's live instances (validated, cached when complete) or the error that stopped it."""
    from botocore.exceptions import BotoCoreError, ClientError

    from pricing.aws import (
        AUTO_AWS_CONFIG,
        AUTO_BUDGET_S,
        AWS_CONFIG,
        REGION_DEADLINE_S,
        Deadline,
        NoCredentialsFound,
        pricing_api_region,
        resolve_clients,
        run_bounded,
    )

    clock = clock or monotonic
    auto = pricing == "auto"
    try:
        factory = resolve_clients(clients, AUTO_AWS_CONFIG if auto else AWS_CONFIG)
        pricing_client = factory("pricing", pricing_api_region(regions))
        ec2 = {r: factory("ec2", r) for r in regions}
    except (NoCredentialsFound, BotoCoreError, ClientError, OSError, ValueError) as exc:
        return dict.fromkeys(regions, exc)
    seconds = AUTO_BUDGET_S if auto else REGION_DEADLINE_S
    deadlines = {r: Deadline(seconds, clock, r) for r in regions}
    partial: dict[str, list[str]] = {r: [] for r in regions}
    tasks = {r: (lambda r=r: fetch_cpu_region(r, ec2[r], pricing_client, now, deadlines[r], partial[r]))
             for r in regions}
    results: dict[str, Any] = run_bounded(tasks, len(regions), seconds + 1.0, "CPU region fetch")
    for region, result in results.items():
        if isinstance(result, Exception):
            if not isinstance(result, (BotoCoreError, ClientError, PricingError, OSError)):
                raise result  # a bug, not an AWS failure
            continue
        kept, dropped = checked_cpu_instances(result, "live")
        if result and not kept:
            results[region] = PricingError(f"every live CPU price failed the plausibility checks "
                                           f"({dropped[0]})")
            continue
        results[region] = kept
        warnings.extend(dropped + partial[region])
        if partial[region]:
            continue  # incomplete: not cached, the next run retries
        entry = CachedCpuRegion(region=region, fetched_at=now, instances=kept)
        try:
            write_atomic(cpu_cache_path(cache_dir, region), entry.model_dump_json())
        except OSError as exc:
            warnings.append(f"{region}: live CPU prices not cached ({type(exc).__name__}: {exc}); check that "
                            f"{cache_dir} is a writable directory, or set XDG_CACHE_HOME")
    return results
