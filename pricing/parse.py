"""Pure parsers from raw AWS API payloads (as boto3 returns them) to pricing models and plain values.

No I/O and no clients here: tests feed the recorded payloads of tests/fixtures/aws/.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pricing.errors import PricingError
from pricing.models import CapacityBlockOffering, InstanceType, SpotPlacementScore
from pricing.quirks import per_gpu_memory_mib, quirk_for, slice_fraction
from pricing.snapshot import gpu_specs, is_local_zone, make_instance_type

Payload = Mapping[str, Any]
MIB_PER_GIB = 1024


def _network_gbps(network: Payload) -> float:
    """Baseline bandwidth summed over network cards (p5: 32 x 100 = 3200), like the snapshot's column."""
    cards = network.get("NetworkCards") or []
    total = sum(float(c.get("BaselineBandwidthInGbps") or 0) for c in cards)
    if total:
        return total
    words = str(network.get("NetworkPerformance", "")).split()  # "Up to 10 Gigabit", "100 Gigabit"
    numbers = [w for w in words if w.replace(".", "", 1).isdigit()]
    return float(numbers[0]) if numbers else 0.0


def _accelerator(item: Payload) -> tuple[str, str, int, float | None, int, bool] | None:
    """(manufacturer, name, count, partition_size, memory_mib, neuron) from GpuInfo or NeuronInfo, else
    None; `neuron` says which field the device came from, so a Neuron device the spec table does not
    list (inf1's "Inferentia") is still a Neuron device, never an NVIDIA GPU."""
    gpus = (item.get("GpuInfo") or {}).get("Gpus") or []
    if gpus:
        g = gpus[0]
        return (g.get("Manufacturer", ""), g.get("Name", ""), int(g.get("Count") or 0),
                g.get("GpuPartitionSize"), int(g["MemoryInfo"]["SizeInMiB"]), False)
    devices = (item.get("NeuronInfo") or {}).get("NeuronDevices") or []
    if devices:
        d = devices[0]
        return ("AWS", d.get("Name", ""), int(d.get("Count") or 0), None, int(d["MemoryInfo"]["SizeInMiB"]),
                True)
    return None


def _usable(item: Payload, manufacturer: str) -> bool:
    """NVIDIA GPUs and AWS Neuron devices on x86_64: AMD (g4ad) and Graviton (g5g) types are skipped
    because the rendered launch configs target AL2023_x86_64_NVIDIA / Neuron x86 AMIs."""
    arches = (item.get("ProcessorInfo") or {}).get("SupportedArchitectures") or ["x86_64"]
    return manufacturer in ("NVIDIA", "AWS") and "x86_64" in arches


def parse_instance_type(item: Payload) -> InstanceType | None:
    """One DescribeInstanceTypes entry -> InstanceType (quirks applied), or None if not an accelerator."""
    accel = _accelerator(item)
    if accel is None or not _usable(item, accel[0]):
        return None
    _, name, count, partition, memory_mib, neuron = accel
    instance_type = item["InstanceType"]
    quirk = quirk_for(instance_type)
    # Any partitioned GPU (GpuPartitionSize < 1, Count 0) is one fractional GPU, listed or not below.
    fraction = float(partition) if partition and 0 < partition < 1 else 1.0
    if quirk is not None:
        name = quirk.gpu_name or name
        memory_mib = quirk.memory_mib or memory_mib
        if quirk.fractional:
            fraction, count = slice_fraction(memory_mib, partition), 1
    if fraction == 1.0:
        known = (s.memory_gib * MIB_PER_GIB for s in gpu_specs() if s.gpu_name == name)
        memory_mib = per_gpu_memory_mib(memory_mib, count, known)
    network = item.get("NetworkInfo") or {}
    return make_instance_type(
        instance_type=instance_type, gpu_name=name, gpu_count=max(count, 1), gpu_fraction=fraction,
        gpu_memory_gib=memory_mib / MIB_PER_GIB, vcpus=int(item["VCpuInfo"]["DefaultVCpus"]),
        memory_gib=item["MemoryInfo"]["SizeInMiB"] / MIB_PER_GIB,
        efa_max_interfaces=int((network.get("EfaInfo") or {}).get("MaximumEfaInterfaces") or 0),
        network_gbps=_network_gbps(network),
        local_nvme_gb=float((item.get("InstanceStorageInfo") or {}).get("TotalSizeInGB") or 0),
        source="live: EC2 DescribeInstanceTypes", neuron=neuron,
    )


def parse_instance_types(items: Iterable[Payload]) -> tuple[InstanceType, ...]:
    """All accelerator types of a DescribeInstanceTypes listing, sorted by name."""
    parsed = (parse_instance_type(item) for item in items)
    return tuple(sorted((p for p in parsed if p is not None), key=lambda i: i.instance_type))


def parse_offerings(items: Iterable[Payload], include_local_zones: bool = False) -> dict[str, frozenset[str]]:
    """DescribeInstanceTypeOfferings (LocationType availability-zone-id) -> type -> AZ IDs offering it."""
    zones: dict[str, set[str]] = {}
    for item in items:
        location = item["Location"]
        if include_local_zones or not is_local_zone(location):
            zones.setdefault(item["InstanceType"], set()).add(location)
    return {t: frozenset(z) for t, z in zones.items()}


def _on_demand_usd(product: Payload) -> set[float]:
    prices: set[float] = set()
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            usd = float(dimension["pricePerUnit"]["USD"])
            if usd > 0:  # AWS lists $0.00 dimensions for some unavailable SKUs; never a real price
                prices.add(usd)
    return prices


def parse_on_demand_price(price_list: Iterable[str], instance_type: str, region: str) -> float | None:
    """GetProducts PriceList (JSON strings) -> the one on-demand USD/h; None if AWS lists none.

    More than one distinct price means the filters did not pin a single SKU: refuse loudly rather than
    guess (e.g. a capacity-reservation SKU slipping in).
    """
    prices: set[float] = set()
    for raw in price_list:
        product = json.loads(raw) if isinstance(raw, str) else raw
        attributes = product.get("product", {}).get("attributes", {})
        if attributes.get("instanceType", instance_type) != instance_type:
            continue
        prices |= _on_demand_usd(product)
    if len(prices) > 1:
        raise PricingError(f"ambiguous on-demand price for {instance_type} in {region}: "
                           f"{sorted(prices)} USD/h from GetProducts; expected exactly one "
                           "(check the Linux/Shared/NA/Used/No License required filters)")
    return prices.pop() if prices else None


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


VPC_SUFFIX = "(Amazon VPC)"


def parse_spot_prices(
    items: Iterable[Payload], include_local_zones: bool = False, az_ids: Mapping[str, str] | None = None,
) -> dict[str, dict[str, float]]:
    """DescribeSpotPriceHistory -> type -> {AZ ID: latest USD/h}.

    AZ names differ per account, so the key is AvailabilityZoneId; `az_ids` maps names to IDs when an
    entry lacks it. Local Zones are left out unless asked. Where an AZ has both "Linux/UNIX" and
    "Linux/UNIX (Amazon VPC)" entries (an account that had EC2-Classic, where the plain one was the
    Classic price), the VPC entry wins; otherwise the latest entry of the AZ.
    """
    latest: dict[tuple[str, str], tuple[bool, datetime, float]] = {}
    for item in items:
        az_id = item.get("AvailabilityZoneId") or (az_ids or {}).get(item.get("AvailabilityZone", ""))
        if not az_id or (is_local_zone(az_id) and not include_local_zones):
            continue
        key = (item["InstanceType"], az_id)
        rank = (str(item.get("ProductDescription", "")).endswith(VPC_SUFFIX), _timestamp(item["Timestamp"]))
        if key not in latest or rank > latest[key][:2]:
            latest[key] = (*rank, float(item["SpotPrice"]))
    result: dict[str, dict[str, float]] = {}
    for (instance_type, az_id), (_, _, price) in sorted(latest.items()):
        result.setdefault(instance_type, {})[az_id] = price
    return result


def parse_placement_scores(items: Iterable[Payload]) -> tuple[SpotPlacementScore, ...]:
    """GetSpotPlacementScores -> scores, best first (1..10; AZ ID only with SingleAvailabilityZone)."""
    scores = (SpotPlacementScore(region=i["Region"], availability_zone_id=i.get("AvailabilityZoneId"),
                                 score=int(i["Score"])) for i in items)
    return tuple(sorted(scores, key=lambda s: (-s.score, s.region, s.availability_zone_id or "")))



def _utc(value: Any) -> datetime:
    stamp = _timestamp(value)
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def parse_capacity_block_offerings(
    items: Iterable[Payload], region: str, fetched_at: datetime, skipped: list[str] | None = None,
) -> tuple[CapacityBlockOffering, ...]:
    """DescribeCapacityBlockOfferings -> offerings, cheapest per instance-hour first, then earliest.

    UpfrontFee is a decimal string for the whole block (EC2 API reference, CapacityBlockOffering:
    "The total price to be paid up front") in CurrencyCode; only USD is comparable with the USD prices
    of the rest of the catalog, so another currency is skipped and named in `skipped`. UltraServer
    offerings (UltraserverType set) reserve a group of instances, not the instances asked for: skipped.
    A missing key or a non-number raises (the caller turns that into MalformedAwsResponse).
    """
    offerings = []
    for item in items:
        offering_id = item["CapacityBlockOfferingId"]
        currency = item.get("CurrencyCode") or "USD"
        if currency != "USD" or item.get("UltraserverType"):
            if skipped is not None:
                what = (f"currency {currency}" if currency != "USD"
                        else f"UltraServer {item['UltraserverType']}")
                skipped.append(f"{region}: Capacity Block offering {offering_id} left out ({what})")
            continue
        # The duration is CapacityBlockDurationHours "in addition to" CapacityBlockDurationMinutes
        # (EC2 API reference): a block starting at 04:55 and ending at 11:30 is 6 h + 35 min.
        minutes = int(item.get("CapacityBlockDurationMinutes") or 0)
        hours = int(item["CapacityBlockDurationHours"]) + minutes / 60
        offerings.append(CapacityBlockOffering(
            offering_id=offering_id, instance_type=item["InstanceType"], region=region,
            availability_zone=item["AvailabilityZone"], instance_count=int(item["InstanceCount"]),
            start=_utc(item["StartDate"]), end=_utc(item["EndDate"]), duration_hours=hours,
            upfront_fee_usd=float(item["UpfrontFee"]), price_source="live", fetched_at=fetched_at,
        ))
    return tuple(sorted(offerings, key=lambda o: (o.usd_per_instance_hour, o.start, o.offering_id)))
