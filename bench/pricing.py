"""Times loading the whole priced catalog for 3 regions: bundled snapshot, on-disk cache, and a live load.

Run: `python bench/pricing.py`. Target: under 100 ms warm for snapshot and cache (the CSVs are parsed
once per process; cache files are read and validated on every call). No AWS call is made anywhere:
the cache is seeded from the snapshot, and the "live" row injects in-memory EC2 and Pricing clients that
answer with payloads built beforehand in the API's shapes (one GetProducts PriceList JSON string per
type, DescribeInstanceTypes / offerings / spot history per AZ from the snapshot), so it measures what a
live load costs on our side: parsing, quirks, spec merge, threads, and writing the cache. Network time
is not in it; real AWS adds roughly one round trip per call (about 60 GetProducts calls per region,
8 at a time, plus 5 EC2 calls).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pricing import load_priced_catalog  # noqa: E402
from pricing.cache import CachedRegion, write_cache  # noqa: E402
from pricing.models import Offer  # noqa: E402

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
RUNS = 50
LIVE_RUNS = 10
TARGET_MS = 100.0
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "aws"
PRICE_TEMPLATE = FIXTURES / "pricing_get_products_p5.json"


def no_aws(service: str, region: str) -> object:
    raise AssertionError(f"the benchmark must not reach AWS ({service}, {region})")


def describe_payload(offer: Offer) -> dict[str, Any]:
    """The DescribeInstanceTypes entry AWS would return for this type (the fields parse.py reads)."""
    i = offer.instance
    memory = {"SizeInMiB": round(i.gpu_memory_gib * 1024)}
    device = {"Name": i.gpu_name, "Count": i.gpu_count, "MemoryInfo": memory}
    accelerator = ({"NeuronInfo": {"NeuronDevices": [device]}} if i.accelerator_kind == "aws_neuron" else
                   {"GpuInfo": {"Gpus": [dict(device, Manufacturer="NVIDIA")]}})
    return {"InstanceType": i.instance_type, "VCpuInfo": {"DefaultVCpus": i.vcpus},
            "MemoryInfo": {"SizeInMiB": round(i.memory_gib * 1024)},
            "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
            "NetworkInfo": {"EfaInfo": {"MaximumEfaInterfaces": i.efa_max_interfaces},
                            "NetworkCards": [{"BaselineBandwidthInGbps": i.network_gbps}]},
            "InstanceStorageInfo": {"TotalSizeInGB": i.local_nvme_gb}, **accelerator}


class RecordedEc2:
    """EC2 client answering from payloads built once, in the shapes boto3 returns."""

    def __init__(self, region: str, offers: tuple[Offer, ...], now: datetime):
        one_az = {"xx1-az1": 0.0}  # an AZ ID to offer a type the snapshot has no spot row for
        self.pages = {
            "describe_instance_types": {"InstanceTypes": [describe_payload(o) for o in offers]},
            "describe_instance_type_offerings": {"InstanceTypeOfferings": [
                {"InstanceType": o.instance.instance_type, "LocationType": "availability-zone-id",
                 "Location": az} for o in offers for az in (o.price.spot_usd_per_hour_by_az or one_az)]},
            "describe_spot_price_history": {"SpotPriceHistory": [
                {"AvailabilityZoneId": az, "AvailabilityZone": az, "InstanceType": o.instance.instance_type,
                 "ProductDescription": "Linux/UNIX", "SpotPrice": f"{usd:.6f}", "Timestamp": now}
                for o in offers for az, usd in o.price.spot_usd_per_hour_by_az.items()]},
        }

    def get_paginator(self, operation: str) -> Any:
        page = self.pages[operation]

        class Paginator:
            def paginate(self, **_: Any) -> list[dict[str, Any]]:
                return [page]

        return Paginator()

    def describe_availability_zones(self) -> dict[str, Any]:
        return {"AvailabilityZones": []}  # entries carry AvailabilityZoneId already


class RecordedPricing:
    """Pricing client answering GetProducts with one PriceList JSON string per (type, region)."""

    def __init__(self, catalogs: dict[str, tuple[Offer, ...]]):
        template = json.loads(json.loads(PRICE_TEMPLATE.read_text())["PriceList"][0])
        self.answers: dict[tuple[str, str], dict[str, Any]] = {}
        for region, offers in catalogs.items():
            for offer in offers:
                usd = offer.price.on_demand_usd_per_hour
                product = json.loads(json.dumps(template))
                product["product"]["attributes"].update(instanceType=offer.instance.instance_type,
                                                        regionCode=region)
                for term in product["terms"]["OnDemand"].values():
                    for dim in term["priceDimensions"].values():
                        dim["pricePerUnit"]["USD"] = f"{usd or 0:.10f}"
                self.answers[(offer.instance.instance_type, region)] = {
                    "FormatVersion": "aws_v1", "PriceList": [json.dumps(product)] if usd else []}

    def get_products(self, **request: Any) -> dict[str, Any]:
        fields = {f["Field"]: f["Value"] for f in request["Filters"]}
        return self.answers[(fields["instanceType"], fields["regionCode"])]


def recorded_clients(now: datetime) -> Callable[[str, str], Any]:
    catalogs = {r: load_priced_catalog([r], "snapshot", now=now).offers for r in REGIONS}
    pricing = RecordedPricing(catalogs)
    ec2 = {r: RecordedEc2(r, offers, now) for r, offers in catalogs.items()}
    return lambda service, region: pricing if service == "pricing" else ec2[region]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def report(name: str, fn: Callable[[], Any], runs: int = RUNS, target: float | None = TARGET_MS) -> bool:
    cold_ms, catalog = timed(fn)
    warm = sorted(timed(fn)[0] for _ in range(runs))
    median = statistics.median(warm)
    verdict = "" if target is None else f"  ({'ok' if median < target else 'SLOW'})"
    print(f"{name:<9} {len(catalog.offers):>4} offers  cold {cold_ms:7.1f} ms  warm median {median:6.2f} ms"
          f"  p95 {warm[max(0, int(runs * 0.95) - 1)]:6.2f} ms{verdict}")
    return target is None or median < target


def main() -> int:
    now = datetime.now(UTC)
    ok = report("snapshot", lambda: load_priced_catalog(REGIONS, "snapshot", now=now))
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp)
        for region in REGIONS:  # seed a fresh cache with the same offers a live fetch would write
            offers = load_priced_catalog([region], "snapshot", now=now).offers
            write_cache(cache_dir, CachedRegion(region=region, include_local_zones=False, fetched_at=now,
                                                offers=offers))
        ok &= report("cache", lambda: load_priced_catalog(REGIONS, "auto", cache_dir=cache_dir,
                                                          clients=no_aws, now=now))
        clients = recorded_clients(now)
        live_dir = Path(tmp) / "live"
        report("live", lambda: load_priced_catalog(REGIONS, "live", cache_dir=live_dir, clients=clients,
                                                   now=now), runs=LIVE_RUNS, target=None)
    print(f"regions {', '.join(REGIONS)}; {RUNS} warm runs each ({LIVE_RUNS} for live); target < "
          f"{TARGET_MS:.0f} ms warm for snapshot and cache; live = stubbed clients, parse + merge + cache "
          "write, no network")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
