"""EC2 Capacity Blocks for ML: live offerings (DescribeCapacityBlockOfferings), cached, compared with
on-demand and spot over the same window.

A Capacity Block reserves `count` instances of one GPU type in one AZ for a fixed window, paid up front
(EC2 User Guide, "Capacity Blocks for ML"). Its price exists only live: AWS publishes no list price for
a block (the fee is quoted per offering), so there is no snapshot figure and none is invented; with
--pricing snapshot capacity blocks are simply not offered. Purchasing (PurchaseCapacityBlock) is a
separate paid action this project never takes: deploy targets a reservation the user bought
(DeployOptions.capacity_reservation_id).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import Any

from pydantic import AwareDatetime, Field, ValidationError

from pricing.cache import default_cache_dir, write_atomic
from pricing.errors import AwsUnavailableError, PricingError
from pricing.models import (
    CapacityBlockComparison,
    CapacityBlockOffering,
    CapacityBlockResult,
    InstancePrice,
)
from sizing.vocabulary import Frozen, PricingMode

# Durations DescribeCapacityBlockOfferings accepts: "1-day increments up 14 days, and in 7-day increments
# up to 182 days" (EC2 API reference, CapacityDurationHours), i.e. 24..336 h by 24, then 504..4368 h by 168.
DAY_H, WEEK_H = 24, 168
MAX_DAILY_H, MAX_DURATION_H = 14 * DAY_H, 182 * DAY_H
VALID_DURATIONS_H = tuple(range(DAY_H, MAX_DAILY_H + 1, DAY_H)) + tuple(
    range(MAX_DAILY_H + WEEK_H, MAX_DURATION_H + 1, WEEK_H))
# "Each Capacity Block can have up to 64 instances" (EC2 API reference, InstanceCount).
MAX_BLOCK_INSTANCES = 64
# Instance types AWS documents Capacity Blocks for (EC2 User Guide, "Capacity Blocks for ML", supported
# instance types; the list grows, so it is a hint in error messages, never a filter: the live answer
# decides).
DOCUMENTED_TYPES = ("p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge",
                    "p6-b200.48xlarge", "trn1.32xlarge", "trn2.48xlarge")
# An offering is a slot other buyers can take at any moment, so a cached answer ages faster than a
# list price (the catalog's 6 h): reused for an hour, enough for repeated plan runs of one session;
# PurchaseCapacityBlock checks the offering again anyway.
MAX_CACHE_AGE_S = 3600.0
CACHE_FORMAT = 1
IAM_ACTION = "ec2:DescribeCapacityBlockOfferings"
SNAPSHOT_NOTE = ("Capacity Blocks are not offered with --pricing snapshot: AWS quotes their fee per offering "
                 "live only (DescribeCapacityBlockOfferings), so the snapshot has no figure for them; use "
                 "--pricing auto or live (needs AWS credentials allowed to call "
                 f"{IAM_ACTION})")


class CapacityBlockQuery(Frozen):
    """What to ask DescribeCapacityBlockOfferings for: type, count, duration and an optional window."""

    instance_type: str = Field(min_length=1)
    instance_count: int = Field(default=1, ge=1, le=MAX_BLOCK_INSTANCES)
    duration_hours: int
    start_after: AwareDatetime | None = Field(default=None, description="StartDateRange")
    end_before: AwareDatetime | None = Field(default=None, description="EndDateRange")


def check_duration(hours: int) -> None:
    if hours not in VALID_DURATIONS_H:
        near = sorted(VALID_DURATIONS_H, key=lambda h: (abs(h - hours), h))[:2]
        raise PricingError(
            f"capacity block duration {hours} h is not one AWS sells: 24..{MAX_DAILY_H} h in steps of "
            f"{DAY_H} h, then up to {MAX_DURATION_H} h in steps of {WEEK_H} h (EC2 API reference, "
            f"CapacityDurationHours); nearest: {' or '.join(f'{h} h' for h in sorted(near))}")


def make_query(instance_type: str, instance_count: int, duration_hours: int,
               start_after: datetime | None = None, end_before: datetime | None = None) -> CapacityBlockQuery:
    """A checked query: a duration AWS sells, 1..64 instances, a window that ends after it starts."""
    check_duration(duration_hours)
    if not 1 <= instance_count <= MAX_BLOCK_INSTANCES:
        raise PricingError(f"capacity block instance count {instance_count}: a block holds 1.."
                           f"{MAX_BLOCK_INSTANCES} instances (EC2 API reference, InstanceCount)")
    start_after, end_before = (_aware(d) for d in (start_after, end_before))
    if start_after and end_before and (end_before - start_after).total_seconds() < duration_hours * 3600:
        raise PricingError(f"capacity block window {start_after:%Y-%m-%d %H:%M} .. "
                           f"{end_before:%Y-%m-%d %H:%M} UTC is shorter than the {duration_hours} h "
                           "asked for; widen the window or shorten the duration")
    try:
        return CapacityBlockQuery(instance_type=instance_type, instance_count=instance_count,
                                  duration_hours=duration_hours, start_after=start_after,
                                  end_before=end_before)
    except ValidationError as exc:
        raise PricingError(f"capacity block query: {exc.errors()[0]['msg']}") from exc


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # a naive time is taken as UTC, like every AWS timestamp


def request_params(query: CapacityBlockQuery) -> dict[str, Any]:
    """The DescribeCapacityBlockOfferings parameters of a query (dates only when given)."""
    params: dict[str, Any] = {"InstanceType": query.instance_type, "InstanceCount": query.instance_count,
                              "CapacityDurationHours": query.duration_hours}
    if query.start_after is not None:
        params["StartDateRange"] = query.start_after
    if query.end_before is not None:
        params["EndDateRange"] = query.end_before
    return params


def fetch_capacity_block_offerings(ec2: Any, query: CapacityBlockQuery, region: str, now: datetime,
                                   deadline: Any = None, skipped: list[str] | None = None,
                                   ) -> tuple[CapacityBlockOffering, ...]:
    """DescribeCapacityBlockOfferings (paginated through botocore's paginator) -> parsed offerings.

    A payload of the wrong shape raises MalformedAwsResponse (like every other live fetch)."""
    from pricing.aws import ENDPOINT_HINT, PAYLOAD_ERRORS, MalformedAwsResponse, _items
    from pricing.parse import parse_capacity_block_offerings

    pages = ec2.get_paginator("describe_capacity_block_offerings").paginate(**request_params(query))
    try:
        items = list(_items(pages, "CapacityBlockOfferings", deadline, "DescribeCapacityBlockOfferings"))
        return parse_capacity_block_offerings(items, region, now, skipped)
    except PAYLOAD_ERRORS as exc:
        raise MalformedAwsResponse(f"{region}: DescribeCapacityBlockOfferings answered in an unexpected "
                                   f"shape ({type(exc).__name__}: {exc}); {ENDPOINT_HINT}") from exc


def neighbour_queries(query: CapacityBlockQuery) -> tuple[CapacityBlockQuery, ...]:
    """Where to look when nothing matched: the neighbouring durations AWS sells at the same count, then
    one instance at the asked duration (smaller blocks are the likeliest to be free)."""
    index = VALID_DURATIONS_H.index(query.duration_hours)
    durations = [VALID_DURATIONS_H[i] for i in (index - 1, index + 1) if 0 <= i < len(VALID_DURATIONS_H)]
    found = [query.model_copy(update={"duration_hours": h}) for h in durations]
    if query.instance_count > 1:
        found.append(query.model_copy(update={"instance_count": 1}))
    return tuple(found)


class CachedCapacityBlocks(Frozen):
    """One cache file: the offerings of one query in one region, and when they were fetched."""

    format: int = CACHE_FORMAT
    region: str
    query: CapacityBlockQuery
    fetched_at: AwareDatetime
    offerings: tuple[CapacityBlockOffering, ...]


def cache_path(cache_dir: Path, region: str, query: CapacityBlockQuery) -> Path:
    window = "".join(f"-{d:%Y%m%dT%H%M}" if d else "-any" for d in (query.start_after, query.end_before))
    name = f"{query.instance_type}-{query.instance_count}x{query.duration_hours}h{window}"
    return cache_dir / "capacity-blocks" / region / f"{name}.json"


def read_cached(cache_dir: Path, region: str, query: CapacityBlockQuery,
                ) -> tuple[CachedCapacityBlocks | None, str | None]:
    """(entry, problem): like pricing.cache.read_cache, an unusable file is named and treated as absent."""
    path = cache_path(cache_dir, region, query)
    try:
        entry = CachedCapacityBlocks.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:  # ValidationError is a ValueError
        return None, (f"ignored unusable capacity block cache {path} ({type(exc).__name__}); "
                      "it will be replaced")
    if entry.format != CACHE_FORMAT or entry.region != region or entry.query != query:
        return None, f"ignored capacity block cache {path}: another format or query; it will be replaced"
    return entry, None


def _still_open(offerings: Sequence[CapacityBlockOffering], now: datetime,
                ) -> tuple[CapacityBlockOffering, ...]:
    """A cached offering whose start has passed can no longer be bought as quoted."""
    return tuple(o.model_copy(update={"price_source": "cache"}) for o in offerings if o.start >= now)


def load_capacity_blocks(
    query: CapacityBlockQuery, region: str, pricing: PricingMode = "auto", *,
    cache_dir: Path | None = None, max_cache_age_s: float = MAX_CACHE_AGE_S, clients: Any = None,
    now: datetime | None = None, find_nearest: bool = True, clock: Any = None,
) -> CapacityBlockResult:
    """Offerings for `query` in `region`.

    snapshot: none, with SNAPSHOT_NOTE once. auto: a fresh cache, else live (cached on success), else a
    stale cache (offerings not yet started), else none with a warning. live: live or AwsUnavailableError.
    When nothing matched and `find_nearest`, the neighbouring sizes (neighbour_queries) are asked for.
    """
    now = _aware(now) or datetime.now(UTC)
    if pricing == "snapshot":
        return CapacityBlockResult(offerings=(), warnings=(SNAPSHOT_NOTE,))
    if pricing not in ("auto", "live"):
        raise PricingError(f"pricing mode {pricing!r} is not one of auto, live, snapshot")
    cache_dir = cache_dir or default_cache_dir()
    warnings: list[str] = []
    entry, problem = read_cached(cache_dir, region, query)
    if problem:
        warnings.append(problem)
    age_s = (now - entry.fetched_at).total_seconds() if entry is not None else math.inf
    if entry is not None and 0 <= age_s <= max_cache_age_s:
        return CapacityBlockResult(offerings=_still_open(entry.offerings, now), warnings=tuple(warnings))
    try:
        ec2 = _ec2(clients, region, pricing)
        offerings = _fetch(ec2, query, region, now, pricing, warnings, clock)
    except (PricingError, *_aws_errors()) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if pricing == "live":
            raise AwsUnavailableError(f"--pricing live: Capacity Block offerings for {query.instance_type} "
                                      f"in {region} unavailable ({reason}); they need AWS credentials "
                                      f"allowed to call {IAM_ACTION}") from exc
        if entry is not None:
            warnings.append(f"{region}: live Capacity Block offerings unavailable ({reason}); using cached "
                            f"ones fetched {entry.fetched_at:%Y-%m-%d %H:%M} UTC (slots may have sold since)")
            return CapacityBlockResult(offerings=_still_open(entry.offerings, now), warnings=tuple(warnings))
        warnings.append(f"{region}: no Capacity Block offerings: live look-up unavailable ({reason}) and "
                        "nothing cached; Capacity Blocks have no snapshot price")
        return CapacityBlockResult(offerings=(), warnings=tuple(warnings))
    _store(cache_dir, CachedCapacityBlocks(region=region, query=query, fetched_at=now, offerings=offerings),
           warnings)
    nearest: tuple[CapacityBlockOffering, ...] = ()
    if not offerings and find_nearest:
        for other in neighbour_queries(query):
            try:
                nearest = _fetch(ec2, other, region, now, pricing, warnings, clock)
            except (PricingError, *_aws_errors()):
                break
            if nearest:
                break
    return CapacityBlockResult(offerings=offerings, warnings=tuple(warnings), nearest=nearest)


def _aws_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, OSError)


def _ec2(clients: Any, region: str, pricing: str) -> Any:
    from pricing.aws import AUTO_AWS_CONFIG, AWS_CONFIG, resolve_clients

    return resolve_clients(clients, AUTO_AWS_CONFIG if pricing == "auto" else AWS_CONFIG)("ec2", region)


def _fetch(ec2: Any, query: CapacityBlockQuery, region: str, now: datetime, pricing: str,
           warnings: list[str], clock: Any) -> tuple[CapacityBlockOffering, ...]:
    from pricing.aws import AUTO_BUDGET_S, REGION_DEADLINE_S, Deadline

    seconds = AUTO_BUDGET_S if pricing == "auto" else REGION_DEADLINE_S
    deadline = Deadline(seconds, clock if clock is not None else monotonic, region)
    return fetch_capacity_block_offerings(ec2, query, region, now, deadline, warnings)


def _store(cache_dir: Path, entry: CachedCapacityBlocks, warnings: list[str]) -> None:
    path = cache_path(cache_dir, entry.region, entry.query)
    try:
        write_atomic(path, entry.model_dump_json())
    except OSError as exc:
        warnings.append(f"{entry.region}: Capacity Block offerings not cached ({type(exc).__name__}: {exc}); "
                        f"check that {cache_dir} is a writable directory, or set XDG_CACHE_HOME")


def compare(offering: CapacityBlockOffering, price: InstancePrice | None) -> CapacityBlockComparison:
    """The block's fee against on-demand and spot for the same instances over the same hours.

    on-demand = USD/h x instances x hours; spot likewise at the region's lowest spot price (interruptible,
    so never an assured alternative). Hand-checked in tests/test_pricing_capacity_blocks.py.
    """
    if price is not None and (price.instance_type, price.region) != (offering.instance_type, offering.region):
        raise PricingError(f"cannot compare a {offering.instance_type} Capacity Block in {offering.region} "
                           f"with the price of {price.instance_type} in {price.region}")
    hours, count = offering.duration_hours, offering.instance_count
    on_demand = (price.on_demand_usd_per_hour * count * hours
                 if price is not None and price.on_demand_usd_per_hour is not None else None)
    spot = (price.spot_usd_per_hour * count * hours
            if price is not None and price.spot_usd_per_hour is not None else None)
    figures = {"capacity-block": offering.upfront_fee_usd, "on-demand": on_demand, "spot": spot}
    known = {k: v for k, v in figures.items() if v is not None}
    cheapest = min(known, key=lambda k: (known[k], k != "capacity-block"))
    fee = offering.upfront_fee_usd
    assured = "on-demand" if on_demand is not None and on_demand < fee else "capacity-block"
    return CapacityBlockComparison(offering=offering, block_usd=fee, on_demand_usd=on_demand, spot_usd=spot,
                                   cheapest=cheapest, cheapest_assured=assured)


def describe_window(offering: CapacityBlockOffering) -> str:
    """'2026-08-03 11:30 .. 2026-08-05 11:30 UTC (48 h) in us-east-2a'."""
    return (f"{offering.start:%Y-%m-%d %H:%M} .. {offering.end:%Y-%m-%d %H:%M} UTC "
            f"({offering.duration_hours:g} h) in {offering.availability_zone}")


def no_offering_error(query: CapacityBlockQuery, region: str, result: CapacityBlockResult) -> PricingError:
    """Exit 2: nothing matched; name the nearest offering found, else the documented types."""
    asked = f"{query.instance_count} x {query.instance_type} for {query.duration_hours} h in {region}"
    if result.nearest:
        best = result.nearest[0]
        return PricingError(
            f"no Capacity Block offering for {asked}; nearest: {best.instance_count} x {best.instance_type} "
            f"for {best.duration_hours:g} h, {describe_window(best)}, {best.upfront_fee_usd:,.2f} USD up "
            f"front ({best.usd_per_hour:.2f} USD/h)")
    return PricingError(
        f"no Capacity Block offering for {asked}, nor for the neighbouring durations or 1 instance; AWS "
        f"documents Capacity Blocks for {', '.join(DOCUMENTED_TYPES)} in some regions only (EC2 User Guide, "
        "'Capacity Blocks for ML'); try another region, a later window, or capacity on-demand/spot")
