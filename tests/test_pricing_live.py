"""Live loads that partly fail: a throttled GetProducts type costs only its on-demand price,
--pricing live names the failed and the succeeded regions, every region starts at once, and the
connection pool fits the concurrent Pricing calls.

From the pricing third review, findings #5 #7 #10."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from pricing import PricingError, load_priced_catalog
from pricing.aws import AWS_CONFIG, ON_DEMAND_WORKERS, PRICING_CONCURRENCY
from pricing.cache import cache_path, read_cache
from tests.conftest import NOW, PRICES, Factory, FakePricing, sources

pytestmark = pytest.mark.usefixtures("fake_aws")


# 5. One failed GetProducts type costs that type's on-demand price, not the region.
class FlakyPricing(FakePricing):
    """FakePricing, except that some types are throttled past their retries."""

    def __init__(self, failing_types: set[str] | None = None):
        super().__init__(PRICES)
        self.failing_types = failing_types

    def get_products(self, **request: Any) -> dict[str, Any]:
        fields = {f["Field"]: f["Value"] for f in request["Filters"]}
        if self.failing_types is None or fields["instanceType"] in self.failing_types:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                              "GetProducts")
        return super().get_products(**request)


# 10. Every region runs at once: none waits for a worker while the shared outer wait runs out.
class BarrierEc2:
    """An EC2 client that only answers once every region's first call is in flight, then fails fast."""

    def __init__(self, barrier: threading.Barrier, region: str):
        self.barrier, self.url = barrier, f"https://ec2.{region}.amazonaws.com"

    def get_paginator(self, _: str) -> Any:
        self.barrier.wait()  # breaks (BrokenBarrierError) only if some region never started
        raise EndpointConnectionError(endpoint_url=self.url)


def test_a_throttled_type_is_unpriced_with_a_warning_and_the_region_stays_live(tmp_path: Path) -> None:
    factory = Factory(ec2="recorded")
    factory.pricing = FlakyPricing({"p5.48xlarge"})
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=factory, now=NOW)
    assert sources(catalog) == {("us-east-1", "live")}
    by_type = {o.instance.instance_type: o.price for o in catalog.offers}
    assert by_type["p5.48xlarge"].on_demand_usd_per_hour is None
    assert by_type["p5.48xlarge"].spot_usd_per_hour is not None
    assert by_type["g5.xlarge"].on_demand_usd_per_hour == 1.006
    (warning,) = catalog.warnings
    assert warning.startswith("us-east-1: no live on-demand price for p5.48xlarge (p5.48xlarge: "
                              "ClientError: An error occurred (ThrottlingException)")
    assert not cache_path(tmp_path, "us-east-1", False).exists()  # a partial fetch is not cached


def test_every_type_failing_fails_the_region_to_the_snapshot(tmp_path: Path) -> None:
    factory = Factory(ec2="recorded")
    factory.pricing = FlakyPricing(None)
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=factory, now=NOW)
    assert sources(catalog) == {("us-east-1", "snapshot")}
    assert "ThrottlingException" in catalog.warnings[0]


def test_the_connection_pool_fits_the_concurrent_pricing_calls() -> None:
    # botocore's default max_pool_connections is 10; one Pricing client serves every region thread.
    assert AWS_CONFIG.max_pool_connections >= PRICING_CONCURRENCY >= ON_DEMAND_WORKERS


# 7. --pricing live is loud about a failed region and says which ones succeeded.
def test_live_failure_names_the_failed_and_the_succeeded_regions(tmp_path: Path) -> None:
    factory = Factory(failing_regions=("us-west-2",), ec2="recorded")
    with pytest.raises(PricingError, match=r"--pricing live failed for us-west-2 \(us-west-2: "
                                           r"EndpointConnectionError.*\); us-east-1 succeeded"):
        load_priced_catalog(["us-east-1", "us-west-2"], "live", cache_dir=tmp_path, clients=factory, now=NOW)
    # ... and the region that succeeded was cached, so auto serves it without a live call.
    assert read_cache(tmp_path, "us-east-1", False)[0] is not None


def test_more_regions_than_eight_all_start_together(tmp_path: Path) -> None:
    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
               "eu-central-1", "eu-north-1", "ap-south-1"]
    barrier = threading.Barrier(len(regions), timeout=10)

    def factory(service: str, region: str) -> Any:
        return FakePricing(PRICES) if service == "pricing" else BarrierEc2(barrier, region)

    catalog = load_priced_catalog(regions, "auto", cache_dir=tmp_path, clients=factory, now=NOW)
    assert len(catalog.warnings) == len(regions)
    assert all("EndpointConnectionError" in w for w in catalog.warnings)
