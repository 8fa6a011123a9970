"""Live AWS calls (boto3) for one region: GPU catalog, offerings, on-demand and spot prices, placement scores.

Every call takes an injected client, paginates, and hands raw payloads to the pure parsers of
pricing/parse.py. Clients use botocore's adaptive retry mode (client-side rate limiting on throttling)
and bounded timeouts so `pulumi preview` never hangs on a slow endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config

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

# botocore "adaptive" = standard retries (throttling errors included) + a client-side token bucket that
# slows down after throttling (boto3 docs, "Retries" guide); max_attempts 5 = up to 5 retries.
# Timeouts in seconds, per attempt.
AWS_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 5}, connect_timeout=5, read_timeout=15)
# The Pricing API is served only from these regions; the region priced is a filter (AWS Price List docs).
PRICING_API_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
# All EC2 accelerated-computing families with NVIDIA GPUs or Neuron devices start with these
# (p3..p6, g4dn..g7e, gr6, inf2, trn1/2); the GpuInfo/NeuronInfo check in parse.py is the real filter.
ACCELERATOR_TYPE_PATTERNS = ("p*", "g*", "inf*", "trn*")
SPOT_PRODUCT_DESCRIPTIONS = ("Linux/UNIX",)
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
ON_DEMAND_WORKERS = 8
# AWS recommends at least three instance types: with one or two the score is always low
# (EC2 API reference, GetSpotPlacementScores, InstanceType.N).
MIN_PLACEMENT_SCORE_TYPES = 3

ClientFactory = Callable[[str, str], Any]


def client_factory(clients: Any = None) -> ClientFactory:
    """(service, region) -> client: an injected callable as is, else clients of a boto3 Session.

    The default session follows the standard credential chain, AWS_PROFILE, AWS_REGION and endpoint
    overrides such as AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL_PRICING (botocore reads them itself).
    """
    if clients is not None and not hasattr(clients, "client") and callable(clients):
        return clients
    session = clients if clients is not None else boto3.session.Session()
    return lambda service, region: session.client(service, region_name=region, config=AWS_CONFIG)


def session_has_credentials(clients: Any = None) -> bool:
    """False when a boto3 session finds no credentials (checked before any client or network call)."""
    if clients is not None and not hasattr(clients, "get_credentials"):
        return True  # an injected factory: let its first call tell
    session = clients if clients is not None else boto3.session.Session()
    return session.get_credentials() is not None


def pricing_api_region(regions: Sequence[str]) -> str:
    """The Pricing API endpoint nearest to the first priced region."""
    first = regions[0] if regions else ""
    if first.startswith(("eu-", "me-", "af-", "il-")):
        return "eu-central-1"
    if first.startswith("ap-"):
        return "ap-south-1"
    return "us-east-1"


def _items(pages: Iterable[dict[str, Any]], key: str) -> Iterator[dict[str, Any]]:
    for page in pages:
        yield from page.get(key, [])


def _type_filter() -> list[dict[str, Any]]:
    return [{"Name": "instance-type", "Values": list(ACCELERATOR_TYPE_PATTERNS)}]


def fetch_instance_types(ec2: Any) -> tuple[InstanceType, ...]:
    """DescribeInstanceTypes (paginated) -> accelerator instance types with quirks applied."""
    pages = ec2.get_paginator("describe_instance_types").paginate(Filters=_type_filter())
    return parse_instance_types(_items(pages, "InstanceTypes"))


def fetch_az_ids(ec2: Any) -> dict[str, str]:
    """AZ name -> AZ ID for this account (names are shuffled per account; IDs are not)."""
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    return {z["ZoneName"]: z["ZoneId"] for z in zones if z.get("ZoneId")}


def fetch_offerings(ec2: Any, include_local_zones: bool = False) -> dict[str, frozenset[str]]:
    """DescribeInstanceTypeOfferings by AZ ID (paginated) -> type -> AZ IDs that sell it."""
    # No instance-type filter: wildcard support there is undocumented, and all offerings of a region
    # fit in a few 1000-row pages.
    pages = ec2.get_paginator("describe_instance_type_offerings").paginate(
        LocationType="availability-zone-id", PaginationConfig={"PageSize": 1000})
    return parse_offerings(_items(pages, "InstanceTypeOfferings"), include_local_zones)


def on_demand_filters(instance_type: str, region: str) -> list[dict[str, str]]:
    """The exact GetProducts filters for one type's on-demand Linux price in one region."""
    pairs = (("instanceType", instance_type), ("regionCode", region), *ON_DEMAND_ATTRIBUTE_FILTERS)
    return [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in pairs]


def fetch_on_demand_price(pricing: Any, instance_type: str, region: str) -> float | None:
    """Pricing GetProducts, following NextToken, -> on-demand USD/h (None when AWS sells none)."""
    request: dict[str, Any] = {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1",
                               "Filters": on_demand_filters(instance_type, region),
                               "MaxResults": PRICING_PAGE_SIZE}
    price_list: list[str] = []
    while True:
        page = pricing.get_products(**request)
        price_list.extend(page.get("PriceList", []))
        if not page.get("NextToken"):
            return parse_on_demand_price(price_list, instance_type, region)
        request["NextToken"] = page["NextToken"]


def fetch_spot_prices(
    ec2: Any, instance_types: Sequence[str], now: datetime, az_ids: dict[str, str],
    include_local_zones: bool = False,
) -> dict[str, dict[str, float]]:
    """DescribeSpotPriceHistory at StartTime=now (paginated) -> type -> {AZ ID: USD/h}."""
    if not instance_types:
        return {}
    pages = ec2.get_paginator("describe_spot_price_history").paginate(
        InstanceTypes=list(instance_types), ProductDescriptions=list(SPOT_PRODUCT_DESCRIPTIONS),
        StartTime=now)
    return parse_spot_prices(_items(pages, "SpotPriceHistory"), include_local_zones, az_ids)


def fetch_spot_placement_scores(
    ec2: Any, instance_types: Sequence[str], regions: Sequence[str], target_capacity: int = 1,
    single_availability_zone: bool = True,
) -> tuple[SpotPlacementScore, ...]:
    """GetSpotPlacementScores (paginated) for a set of at least three instance types."""
    distinct = sorted(set(instance_types))
    if len(distinct) < MIN_PLACEMENT_SCORE_TYPES:
        raise PricingError(f"spot placement scores need at least {MIN_PLACEMENT_SCORE_TYPES} instance "
                           f"types (AWS scores one or two types as always low); got {distinct}: add "
                           "similar types, e.g. p5.48xlarge, p5e.48xlarge, p5en.48xlarge")
    pages = ec2.get_paginator("get_spot_placement_scores").paginate(
        InstanceTypes=distinct, TargetCapacity=target_capacity, TargetCapacityUnitType="units",
        SingleAvailabilityZone=single_availability_zone, RegionNames=list(regions))
    return parse_placement_scores(_items(pages, "SpotPlacementScores"))


def fetch_region_offers(
    region: str, ec2: Any, pricing: Any, now: datetime, include_local_zones: bool = False,
) -> tuple[Offer, ...]:
    """Every accelerator offer of one region with live on-demand and spot prices."""
    offered = fetch_offerings(ec2, include_local_zones)
    types = [t for t in fetch_instance_types(ec2) if t.instance_type in offered]
    names = [t.instance_type for t in types]
    with ThreadPoolExecutor(max_workers=ON_DEMAND_WORKERS) as pool:
        on_demand = dict(zip(names, pool.map(lambda n: fetch_on_demand_price(pricing, n, region), names),
                             strict=True))
    spot = fetch_spot_prices(ec2, names, now, fetch_az_ids(ec2), include_local_zones)
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
