"""Live AWS calls (boto3) for one region: GPU catalog, offerings, on-demand and spot prices, placement scores.

Every call takes an injected client, paginates, and hands raw payloads to the pure parsers of
pricing/parse.py. Nothing here can hang `pulumi preview`: each HTTP attempt has connect/read timeouts,
each call a bounded number of attempts, each region a deadline checked before every request, and the
worker threads are daemons, so a call still stuck on the network when the deadline passes is abandoned
rather than waited for (see `run_bounded`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from pricing.errors import PricingError
from pricing.models import InstanceType, Offer, SpotPlacementScore
from pricing.parse import (
    parse_instance_types,
    parse_offerings,
    parse_on_demand_price,
    parse_placement_scores,
    parse_spot_prices,
)
from pricing.snapshot import make_price

# Retries: botocore's "adaptive" mode = the standard mode's retries (ThrottlingException and the other
# throttling codes, transient 5xx, connection errors) plus a client-side token bucket that slows the
# request rate after throttling (boto3 "Retries" guide). `total_max_attempts` counts the first request
# too (botocore config.py: "a value of 1 indicates that no requests will be retried"), so one call makes
# at most 3 attempts. Standard-mode backoff before attempt n is rand(0,1) x 2**n s (botocore
# retries/standard.py), so the worst case of one call is 3 x (3 + 10) s + 1 + 2 s = 42 s; the region
# deadline below cuts a region short before that adds up over many calls.
# Concurrent GetProducts calls across all regions of one load (one Pricing client is shared by every
# region thread; PRICING_SEMAPHORE enforces the bound). A botocore client keeps at most
# max_pool_connections (default 10) HTTP connections (botocore config.py); more concurrent calls than
# that wait for a connection and log "Connection pool is full", so the pool is sized to the bound.
ON_DEMAND_WORKERS = 8
PRICING_CONCURRENCY = 16
AWS_CONFIG = Config(retries={"mode": "adaptive", "total_max_attempts": 3}, connect_timeout=3, read_timeout=10,
                    max_pool_connections=PRICING_CONCURRENCY)
PRICING_SEMAPHORE = threading.BoundedSemaphore(PRICING_CONCURRENCY)
REGION_DEADLINE_S = 60.0
# --pricing auto has a fallback, so a dead or wrong endpoint must not hold the command up: each region's
# whole live attempt (credential lookup included) gets AUTO_BUDGET_S, after which cached or snapshot
# prices are used. Its clients fail fast too: a 2 s connect and 5 s read timeout and 2 attempts in all
# (botocore Config connect_timeout / read_timeout / retries.total_max_attempts, boto3 "Retries" guide),
# so one request cannot outlast the budget by much, and the budget cuts the rest (run_bounded abandons
# a call still in flight). A healthy region prices in about 2-4 s (bench/pricing.py), well inside it.
AUTO_BUDGET_S = 10.0
AUTO_AWS_CONFIG = Config(retries={"mode": "adaptive", "total_max_attempts": 2}, connect_timeout=2,
                         read_timeout=5, max_pool_connections=PRICING_CONCURRENCY)
# The Pricing API ("AWS Price List Service", endpoint prefix api.pricing) has endpoints only in
# us-east-1, eu-central-1 and ap-south-1 in the aws partition (botocore data/endpoints.json, 1.43); the
# region priced is the regionCode filter. Its GetProducts errors include ThrottlingException ("You've
# made too many requests exceeding service quotas", botocore pricing service model), which botocore's
# standard/adaptive retry treats as throttling: retried with backoff, rate-limited afterwards.
PRICING_API_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
# DescribeInstanceTypes' instance-type filter takes wildcards: "The instance type (for example
# c5.2xlarge or c5*)" (EC2 API reference / botocore ec2 service model, Filters). Every EC2 family with
# NVIDIA GPUs or Neuron devices starts with one of these (p3..p6, g4dn..g7e, gr6, inf2, trn1/2); the
# GpuInfo/NeuronInfo check in parse.py is the real filter (it drops g4ad's AMD GPU, g5g's Graviton).
ACCELERATOR_TYPE_PATTERNS = ("p*", "g*", "inf*", "trn*")
# DescribeInstanceTypeOfferings documents no wildcard for its instance-type filter (only "The instance
# type"), and moto 5 matches it exactly, so offerings are asked for by the exact names found above, a
# chunk at a time (no per-filter value limit is documented for it; 50 stays well clear of any).
OFFERING_NAMES_PER_CALL = 50
# Both Linux product descriptions: "Linux/UNIX (Amazon VPC)" is what an account that still had
# EC2-Classic got for VPC prices, while plain "Linux/UNIX" meant EC2-Classic there
# (grosskur/ec2price#3, jtriley/StarCluster#343, LeanerCloud/AutoSpotting#213); a VPC-only account
# (every account since EC2-Classic's retirement) gets its VPC prices as plain "Linux/UNIX"
# (pusher/k8s-spot-price-monitor#5). parse_spot_prices prefers the "(Amazon VPC)" entry of an AZ.
SPOT_PRODUCT_DESCRIPTIONS = ("Linux/UNIX", "Linux/UNIX (Amazon VPC)")
# GetProducts filters for the on-demand Linux, shared-tenancy, no-license price of one type (issue #3;
# other capacitystatus values are separate capacity-reservation SKUs).
ON_DEMAND_ATTRIBUTE_FILTERS = (
    ("operatingSystem", "Linux"),
    ("tenancy", "Shared"),
    ("preInstalledSw", "NA"),
    ("capacitystatus", "Used"),
    ("licenseModel", "No License required"),
    ("marketoption", "OnDemand"),
)
PRICING_PAGE_SIZE = 100
# AWS recommends at least three instance types: with one or two the score is always low (EC2 API
# reference, GetSpotPlacementScores, InstanceType.N) -- a recommendation, not a limit, so fewer are sent
# with a note. The model's limits: InstanceTypes 0..1000, RegionNames 0..10 (botocore ec2 service-2.json).
MIN_PLACEMENT_SCORE_TYPES = 3
MAX_PLACEMENT_SCORE_TYPES = 1000
MAX_PLACEMENT_SCORE_REGIONS = 10
# What botocore's chain looked at before giving up (docs/pricing.md lists it in full).
NO_CREDENTIALS = "no AWS credentials found"
# IAM actions a live load needs (each EC2/Pricing API operation is authorized by the action of the same
# name: Service Authorization Reference, "Actions ... for Amazon EC2" / "for AWS Price List"); placement
# scores are asked for only on request (EC2 User Guide, "Required permissions for Spot placement score").
IAM_ACTIONS = ("ec2:DescribeInstanceTypes", "ec2:DescribeInstanceTypeOfferings",
               "ec2:DescribeAvailabilityZones", "ec2:DescribeSpotPriceHistory", "pricing:GetProducts")
IAM_ACTIONS_PLACEMENT_SCORES = ("ec2:GetSpotPlacementScores",)

ClientFactory = Callable[[str, str], Any]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class NoCredentialsFound(PricingError):
    """The credential chain found nothing; raised before any client exists, so no request was sent."""


class DeadlineExceeded(PricingError):
    """A region's live fetch ran past its deadline."""


class MalformedAwsResponse(PricingError):
    """AWS (or whatever answered in its place: a proxy, a wrong AWS_ENDPOINT_URL) sent a payload of the
    wrong shape: an HTML page parsed as an empty answer, a missing key, a number that is not one."""


# Errors a parser raises on a payload of the wrong shape (never on a good one): turned into
# MalformedAwsResponse at the region boundary, so they fall back like any AWS fault.
PAYLOAD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)
ENDPOINT_HINT = ("check AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_PRICING and any HTTP "
                 "proxy (HTTPS_PROXY)")


class Deadline:
    """A point in time on an injectable monotonic clock; `check` raises once it has passed."""

    def __init__(self, seconds: float, clock: Callable[[], float], label: str):
        self.seconds, self.clock, self.label = seconds, clock, label
        self.ends_at = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self.ends_at - self.clock())

    def check(self, step: str) -> None:
        if self.clock() > self.ends_at:
            raise DeadlineExceeded(f"{self.label}: live fetch passed its {self.seconds:g} s deadline before "
                                   f"{step}; cached or snapshot prices will do, or retry later")


def _check(deadline: Deadline | None, step: str) -> None:
    if deadline is not None:
        deadline.check(step)


def run_bounded(tasks: Mapping[K, Callable[[], V]], workers: int, timeout_s: float,
                what: str = "task") -> dict[K, V | Exception]:
    """Run tasks on up to `workers` daemon threads; wait at most `timeout_s` seconds for all of them.

    Each key maps to its result, the exception it raised, or a DeadlineExceeded when it had not finished
    in time. Daemon threads never keep the process alive, so an abandoned call cannot delay exit.
    """
    pending = list(tasks.items())
    results: dict[K, V | Exception] = {}
    lock, finished, stop = threading.Lock(), threading.Event(), threading.Event()

    def worker() -> None:
        while not stop.is_set():
            with lock:
                if not pending:
                    return
                key, task = pending.pop(0)
            try:
                value: V | Exception = task()
            except Exception as exc:  # reported per key, never lost in a thread
                value = exc
            with lock:
                results[key] = value
                if len(results) == len(tasks):
                    finished.set()

    if tasks:
        for _ in range(min(workers, len(tasks))):
            threading.Thread(target=worker, daemon=True, name=f"pricing-{what}").start()
        finished.wait(timeout_s)
        stop.set()
    with lock:
        return {key: results.get(key, DeadlineExceeded(f"{key}: {what} did not finish within "
                                                        f"{timeout_s:g} s")) for key in tasks}


def _injected(clients: Any) -> bool:
    """A callable (service, region) -> client rather than a boto3 Session."""
    return clients is not None and not hasattr(clients, "client") and callable(clients)


def client_factory(clients: Any = None, config: Config = AWS_CONFIG) -> ClientFactory:
    """(service, region) -> client: an injected callable as is, else clients of a boto3 Session
    (default: a new one on the standard chain, honouring AWS_PROFILE, AWS_REGION and endpoint overrides
    such as AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_PRICING, which botocore reads itself)."""
    if _injected(clients):
        return clients
    session = clients if clients is not None else boto3.session.Session()
    return lambda service, region: session.client(service, region_name=region, config=config)


def resolve_clients(clients: Any = None, config: Config = AWS_CONFIG) -> ClientFactory:
    """client_factory, after resolving a Session's credentials exactly once (NoCredentialsFound if none).

    botocore caches credentials it found, but re-runs the whole chain on every client while it has none
    (botocore session.get_credentials), and the last link of that chain is the EC2 instance metadata
    endpoint: up to two requests of AWS_METADATA_SERVICE_TIMEOUT (default 1 s) each, none when
    AWS_EC2_METADATA_DISABLED=true. So a machine with no credentials pays that once, not once per client.
    An injected callable is used as is: its clients say for themselves whether they can sign.
    """
    if _injected(clients):
        return clients
    session = clients if clients is not None else boto3.session.Session()
    if session.get_credentials() is None:
        raise NoCredentialsFound(NO_CREDENTIALS)
    return client_factory(session, config)


def pricing_api_region(regions: Sequence[str]) -> str:
    """The Pricing API endpoint nearest to the first priced region."""
    us, eu, ap = PRICING_API_REGIONS
    first = regions[0] if regions else ""
    if first.startswith(("eu-", "me-", "af-", "il-")):
        return eu
    if first.startswith("ap-"):
        return ap
    return us


def _items(pages: Iterable[dict[str, Any]], key: str, deadline: Deadline | None, step: str,
           ) -> Iterator[dict[str, Any]]:
    """Items of every page; the deadline is checked before each page is requested."""
    iterator = iter(pages)
    while True:
        _check(deadline, step)
        page = next(iterator, None)
        if page is None:
            return
        yield from page.get(key, [])


def _type_filter() -> list[dict[str, Any]]:
    return [{"Name": "instance-type", "Values": list(ACCELERATOR_TYPE_PATTERNS)}]


def fetch_instance_types(ec2: Any, deadline: Deadline | None = None) -> tuple[InstanceType, ...]:
    """DescribeInstanceTypes (paginated, accelerator families only) -> types with quirks applied."""
    pages = ec2.get_paginator("describe_instance_types").paginate(Filters=_type_filter())
    return parse_instance_types(_items(pages, "InstanceTypes", deadline, "DescribeInstanceTypes"))


def fetch_az_ids(ec2: Any, deadline: Deadline | None = None) -> dict[str, str]:
    """AZ name -> AZ ID for this account (names are shuffled per account; IDs are not)."""
    _check(deadline, "DescribeAvailabilityZones")
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    return {z["ZoneName"]: z["ZoneId"] for z in zones if z.get("ZoneId")}


def fetch_offerings(ec2: Any, instance_types: Sequence[str], include_local_zones: bool = False,
                    deadline: Deadline | None = None) -> dict[str, frozenset[str]]:
    """DescribeInstanceTypeOfferings by AZ ID for these types (paginated) -> type -> AZ IDs selling it."""
    names = sorted(set(instance_types))
    items: list[dict[str, Any]] = []
    for start in range(0, len(names), OFFERING_NAMES_PER_CALL):
        chunk = names[start:start + OFFERING_NAMES_PER_CALL]
        pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="availability-zone-id", Filters=[{"Name": "instance-type", "Values": chunk}])
        items.extend(_items(pages, "InstanceTypeOfferings", deadline, "DescribeInstanceTypeOfferings"))
    return parse_offerings(items, include_local_zones)


def on_demand_filters(instance_type: str, region: str) -> list[dict[str, str]]:
    """The exact GetProducts filters for one type's on-demand Linux price in one region."""
    pairs = (("instanceType", instance_type), ("regionCode", region), *ON_DEMAND_ATTRIBUTE_FILTERS)
    return [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in pairs]


def _get_products(pricing: Any, request: dict[str, Any], deadline: Deadline | None) -> dict[str, Any]:
    """One GetProducts call in one of PRICING_CONCURRENCY slots (waiting no longer than the deadline)."""
    wait_s = deadline.remaining() if deadline is not None else REGION_DEADLINE_S
    if not PRICING_SEMAPHORE.acquire(timeout=wait_s):
        raise DeadlineExceeded(f"{deadline.label if deadline else 'GetProducts'}: no Pricing API slot free "
                               f"within {wait_s:g} s; cached or snapshot prices will do, or retry later")
    try:
        return pricing.get_products(**request)
    finally:
        PRICING_SEMAPHORE.release()


def fetch_on_demand_price(pricing: Any, instance_type: str, region: str,
                          deadline: Deadline | None = None) -> float | None:
    """Pricing GetProducts, following NextToken, -> on-demand USD/h (None when AWS sells none)."""
    request: dict[str, Any] = {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1",
                               "Filters": on_demand_filters(instance_type, region),
                               "MaxResults": PRICING_PAGE_SIZE}
    price_list: list[str] = []
    while True:
        _check(deadline, f"GetProducts {instance_type}")
        page = _get_products(pricing, request, deadline)
        price_list.extend(page.get("PriceList", []))
        if not page.get("NextToken"):
            return parse_on_demand_price(price_list, instance_type, region)
        request["NextToken"] = page["NextToken"]


def fetch_on_demand_prices(pricing: Any, instance_types: Sequence[str], region: str,
                           deadline: Deadline | None = None, warnings: list[str] | None = None,
                           ) -> dict[str, float | None]:
    """On-demand USD/h of every type, ON_DEMAND_WORKERS GetProducts calls at a time.

    One GetProducts call per type: the Pricing model lists an ANY_OF filter type but documents no syntax
    for several values in its single `Value` string, so it is not relied on. A type whose call failed
    (throttled past its retries, a timeout, an ambiguous price) gets None and a warning in `warnings`
    instead of costing the region its other prices; only when every call failed does the region fail.
    """
    timeout_s = deadline.remaining() if deadline is not None else REGION_DEADLINE_S
    tasks = {t: (lambda t=t: fetch_on_demand_price(pricing, t, region, deadline)) for t in instance_types}
    results = run_bounded(tasks, ON_DEMAND_WORKERS, timeout_s, what=f"{region} GetProducts")
    failed = {t: v for t, v in results.items() if isinstance(v, Exception)}
    for error in failed.values():
        if not isinstance(error, (BotoCoreError, ClientError, PricingError)):
            raise error  # a bug, not an AWS failure
    if failed and len(failed) == len(results):
        raise next(iter(failed.values()))
    if failed and warnings is not None:
        detail = "; ".join(f"{t}: {type(e).__name__}: {e}" for t, e in sorted(failed.items()))
        warnings.append(f"{region}: no live on-demand price for {', '.join(sorted(failed))} ({detail}); "
                        "those types show spot prices only; rerun later for the rest")
    return {t: (None if isinstance(v, Exception) else v) for t, v in results.items()}


def fetch_spot_prices(
    ec2: Any, instance_types: Sequence[str], now: datetime, az_ids: dict[str, str],
    include_local_zones: bool = False, deadline: Deadline | None = None,
) -> dict[str, dict[str, float]]:
    """DescribeSpotPriceHistory at StartTime = EndTime = now (paginated) -> type -> {AZ ID: USD/h}.

    With a start and end time AWS "also returns the last price change before the start time, which is
    the effective price as of the start time" (EC2 API reference, DescribeSpotPriceHistory): so each AZ
    comes back with the price in effect now, however long ago it last changed.
    """
    if not instance_types:
        return {}
    pages = ec2.get_paginator("describe_spot_price_history").paginate(
        InstanceTypes=list(instance_types), ProductDescriptions=list(SPOT_PRODUCT_DESCRIPTIONS),
        StartTime=now, EndTime=now)
    items = _items(pages, "SpotPriceHistory", deadline, "DescribeSpotPriceHistory")
    return parse_spot_prices(items, include_local_zones, az_ids)


def check_placement_request(instance_types: Sequence[str], regions: Sequence[str]) -> tuple[str, ...]:
    """The distinct types, after the limits of the GetSpotPlacementScores model: 1..1000 types (three or
    more recommended, not required), at most 10 RegionNames (botocore ec2 model: min 0, max 10)."""
    distinct = tuple(sorted(set(instance_types)))
    if not distinct:
        raise PricingError("spot placement scores need at least one instance type; none matched the filters "
                           "(drop --gpu/--instance-type or pick a region that offers them)")
    if len(distinct) > MAX_PLACEMENT_SCORE_TYPES:
        raise PricingError(f"spot placement scores take at most {MAX_PLACEMENT_SCORE_TYPES} instance types; "
                           f"got {len(distinct)}: narrow them with --gpu or --instance-type")
    if len(set(regions)) > MAX_PLACEMENT_SCORE_REGIONS:
        raise PricingError(f"spot placement scores take at most {MAX_PLACEMENT_SCORE_REGIONS} regions per "
                           f"request; got {len(set(regions))}: ask for the first "
                           f"{MAX_PLACEMENT_SCORE_REGIONS} ({', '.join(list(dict.fromkeys(regions))[:10])}) "
                           "and the rest separately")
    return distinct


def fetch_spot_placement_scores(
    ec2: Any, instance_types: Sequence[str], regions: Sequence[str], target_capacity: int = 1,
    single_availability_zone: bool = True,
) -> tuple[SpotPlacementScore, ...]:
    """GetSpotPlacementScores (paginated): one score per AZ for a fleet of `target_capacity` instances
    drawn from ANY of the types (the score is the set's, not a type's)."""
    distinct = check_placement_request(instance_types, regions)
    pages = ec2.get_paginator("get_spot_placement_scores").paginate(
        InstanceTypes=list(distinct), TargetCapacity=target_capacity, TargetCapacityUnitType="units",
        SingleAvailabilityZone=single_availability_zone, RegionNames=list(regions))
    return parse_placement_scores(_items(pages, "SpotPlacementScores", None, "GetSpotPlacementScores"))


def fetch_region_offers(
    region: str, ec2: Any, pricing: Any, now: datetime, include_local_zones: bool = False,
    deadline: Deadline | None = None, *, warnings: list[str] | None = None,
) -> tuple[Offer, ...]:
    """Every accelerator offer of one region with live on-demand and spot prices (`warnings` collects
    the types left without an on-demand price).

    A payload of the wrong shape raises MalformedAwsResponse, and an answer listing no accelerator type
    at all (every region sells some: what answered is not EC2) raises PricingError, so neither is taken
    for a region with nothing to sell, nor cached.
    """
    try:
        return _fetch_region_offers(region, ec2, pricing, now, include_local_zones, deadline, warnings)
    except PricingError:
        raise
    except PAYLOAD_ERRORS as exc:
        raise MalformedAwsResponse(f"{region}: AWS answered in an unexpected shape ({type(exc).__name__}: "
                                   f"{exc}); {ENDPOINT_HINT}") from exc


def _fetch_region_offers(
    region: str, ec2: Any, pricing: Any, now: datetime, include_local_zones: bool,
    deadline: Deadline | None, warnings: list[str] | None,
) -> tuple[Offer, ...]:
    types = fetch_instance_types(ec2, deadline)
    if not types:
        raise MalformedAwsResponse(f"{region}: DescribeInstanceTypes listed no GPU or Neuron instance type, "
                                   f"which no AWS region does; {ENDPOINT_HINT}")
    offered = fetch_offerings(ec2, [t.instance_type for t in types], include_local_zones, deadline)
    types = tuple(t for t in types if t.instance_type in offered)
    names = [t.instance_type for t in types]
    on_demand = fetch_on_demand_prices(pricing, names, region, deadline, warnings)
    spot = fetch_spot_prices(ec2, names, now, fetch_az_ids(ec2, deadline), include_local_zones, deadline)
    offers = []
    for instance in types:
        by_az = {az: p for az, p in spot.get(instance.instance_type, {}).items()
                 if az in offered[instance.instance_type]}
        price = make_price(instance_type=instance.instance_type, region=region,
                           on_demand=on_demand[instance.instance_type], spot_by_az=by_az,
                           price_source="live", prices_as_of=now)
        if price.on_demand_usd_per_hour is not None or price.spot_usd_per_hour is not None:
            offers.append(Offer(instance=instance, price=price))
    return tuple(offers)
