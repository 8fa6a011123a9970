"""Third-review regressions: cache robustness, stale cache vs snapshot, per-type on-demand failures,
Neuron detection, loud live failures, concurrent regions, and the recommended spot/on-demand mix."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from pricing import PricingError, load_priced_catalog
from pricing.aws import AWS_CONFIG, ON_DEMAND_WORKERS, PRICING_CONCURRENCY
from pricing.cache import CachedRegion, cache_path, read_cache, write_cache
from pricing.economics import band_of_rate, compare_spot_ondemand, effective_spot_usd_per_hour
from pricing.parse import parse_instance_type
from tests.test_pricing_aws import FakePricing, fake_aws_env
from tests.test_pricing_catalog import NOW, PRICES, Factory, sources


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aws_env(monkeypatch, tmp_path)


def cache_entry(fetched_at: datetime, region: str = "us-east-1") -> CachedRegion:
    offers = load_priced_catalog([region], "snapshot").offers
    return CachedRegion(region=region, include_local_zones=False, fetched_at=fetched_at, offers=offers)


# 1. A cache that cannot be written costs a warning, never the live prices.
@pytest.mark.parametrize("mode", ["auto", "live"])
def test_unwritable_cache_keeps_the_live_prices(tmp_path: Path, mode: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    catalog = load_priced_catalog(["us-east-1"], mode, cache_dir=blocker / "cache",
                                  clients=Factory(ec2="recorded"), now=NOW)
    assert sources(catalog) == {("us-east-1", "live")}
    # auto also reports that it could not read the cache there (same NotADirectoryError)
    assert catalog.warnings[-1].startswith("us-east-1: live prices not cached (NotADirectoryError")


# 2. A cache file that is not UTF-8 is corrupt, not a crash.
def test_non_utf8_cache_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    path = cache_path(tmp_path, "us-east-1", False)
    path.write_bytes(b"\xff\xfe\x00garbage")
    entry, problem = read_cache(tmp_path, "us-east-1", False)
    assert entry is None and problem is not None and "corrupt price cache" in problem
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=Factory(ec2="recorded"),
                                  now=NOW)
    assert sources(catalog) == {("us-east-1", "live")}
    assert read_cache(tmp_path, "us-east-1", False)[0] is not None  # replaced by the live fetch


# 3. A naive fetched_at is corrupt; a future one is stale, not fresh forever.
def test_naive_fetched_at_is_a_corrupt_cache(tmp_path: Path) -> None:
    text = cache_entry(NOW).model_dump_json().replace('"2026-11-26T12:00:00Z"', '"2026-11-26T11:00:00"')
    assert '"2026-11-26T11:00:00"' in text
    cache_path(tmp_path, "us-east-1", False).write_text(text)
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=Factory(ec2="recorded"),
                                  now=NOW)
    assert sources(catalog) == {("us-east-1", "live")}
    assert any("corrupt price cache" in w for w in catalog.warnings)


def test_a_cache_from_the_future_is_refetched(tmp_path: Path) -> None:
    write_cache(tmp_path, cache_entry(NOW + timedelta(days=30)))
    factory = Factory(ec2="recorded")
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=factory, now=NOW)
    assert sources(catalog) == {("us-east-1", "live")} and factory.pricing.requests


# 4. A stale cache older than the bundled snapshot loses to it.
def test_a_cache_older_than_the_snapshot_loses_to_it(tmp_path: Path) -> None:
    write_cache(tmp_path, cache_entry(datetime(2026, 2, 1, tzinfo=UTC), "us-west-2"))
    catalog = load_priced_catalog(["us-west-2"], "auto", cache_dir=tmp_path,
                                  clients=Factory(failing_regions=("us-west-2",)), now=NOW)
    assert sources(catalog) == {("us-west-2", "snapshot")}
    assert "ignored the stale price cache fetched 2026-02-01 because the bundled snapshot is newer" in \
        catalog.warnings[0]


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


# 6. A Neuron device the spec table does not list is still Neuron (it came from NeuronInfo).
def test_inf1_from_neuron_info_is_neuron_though_not_in_the_spec_table() -> None:
    item = {"InstanceType": "inf1.xlarge", "VCpuInfo": {"DefaultVCpus": 4}, "MemoryInfo": {"SizeInMiB": 8192},
            "NeuronInfo": {"NeuronDevices": [{"Name": "Inferentia", "Count": 1,
                                              "MemoryInfo": {"SizeInMiB": 8192}}]},
            "NetworkInfo": {"NetworkPerformance": "Up to 25 Gigabit"}}
    parsed = parse_instance_type(item)
    assert parsed is not None
    assert (parsed.gpu_name, parsed.accelerator_kind, parsed.gpu) == ("Inferentia", "aws_neuron", None)


# 7. --pricing live is loud about a failed region and says which ones succeeded.
def test_live_failure_names_the_failed_and_the_succeeded_regions(tmp_path: Path) -> None:
    factory = Factory(failing_regions=("us-west-2",), ec2="recorded")
    with pytest.raises(PricingError, match=r"--pricing live failed for us-west-2 \(us-west-2: "
                                           r"EndpointConnectionError.*\); us-east-1 succeeded"):
        load_priced_catalog(["us-east-1", "us-west-2"], "live", cache_dir=tmp_path, clients=factory, now=NOW)
    # ... and the region that succeeded was cached, so auto serves it without a live call.
    assert read_cache(tmp_path, "us-east-1", False)[0] is not None


# 10. Every region runs at once: none waits for a worker while the shared outer wait runs out.
class BarrierEc2:
    """An EC2 client that only answers once every region's first call is in flight, then fails fast."""

    def __init__(self, barrier: threading.Barrier, region: str):
        self.barrier, self.url = barrier, f"https://ec2.{region}.amazonaws.com"

    def get_paginator(self, _: str) -> Any:
        self.barrier.wait()  # breaks (BrokenBarrierError) only if some region never started
        raise EndpointConnectionError(endpoint_url=self.url)


def test_more_regions_than_eight_all_start_together(tmp_path: Path) -> None:
    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
               "eu-central-1", "eu-north-1", "ap-south-1"]
    barrier = threading.Barrier(len(regions), timeout=10)

    def factory(service: str, region: str) -> Any:
        return FakePricing(PRICES) if service == "pricing" else BarrierEc2(barrier, region)

    catalog = load_priced_catalog(regions, "auto", cache_dir=tmp_path, clients=factory, now=NOW)
    assert len(catalog.warnings) == len(regions)
    assert all("EndpointConnectionError" in w for w in catalog.warnings)


# 9. Economics: the recommended mix is priced; band edges follow the Spot Advisor's.
def test_realtime_comparison_prices_the_recommended_on_demand_base_plus_spot() -> None:
    result = compare_spot_ondemand("H100", 100.0, 0.70, 5.0, "realtime")
    assert result["interruption_risk"] == "medium"  # 5.0 % is the Spot Advisor's 5-10 % band
    assert result["recommendation"].startswith("on-demand base + spot burst: 62.5% of capacity on demand")
    # band 1 -> 62.5 % on demand: 0.625 x 2400 + 0.375 x spot_daily (all-spot figure, interruptions in)
    expected = 0.625 * 2400.0 + 0.375 * result["spot_daily"]
    assert result["recommended_on_demand_share"] == 0.625
    assert result["recommended_daily"] == pytest.approx(expected, abs=0.01)
    assert result["recommended_daily_savings_usd"] == pytest.approx(2400.0 - expected, abs=0.01)
    assert {"on_demand_daily", "spot_daily", "daily_savings_usd", "interruption_risk",
            "recommendation"} <= set(result.keys())


def test_batch_and_on_demand_recommendations_price_what_they_say() -> None:
    batch = compare_spot_ondemand("H100", 100.0, 0.70, 2.5, "batch")
    assert (batch["recommended_on_demand_share"], batch["recommended_daily"]) == (0.0, batch["spot_daily"])
    risky = compare_spot_ondemand("H100", 100.0, 0.70, 25.0, "realtime")
    assert risky["recommendation"].startswith("on-demand: interruptions too frequent")
    assert (risky["recommended_daily"], risky["recommended_daily_savings_usd"]) == (2400.0, 0.0)


@pytest.mark.parametrize(("rate", "band"), [(0.0, 0), (4.99, 0), (5.0, 1), (9.99, 1), (10.0, 2), (15.0, 3),
                                            (20.0, 4), (60.0, 4)])
def test_rates_fall_in_the_spot_advisor_bands(rate: float, band: int) -> None:
    assert band_of_rate(rate) == band


def test_shorter_instance_lives_raise_the_interruption_cost() -> None:
    # band 4: 25 % of instances interrupted per month; an instance living 73 h (not 730) sees
    # 0.25 / 73 interruptions per hour; 15 min lost each -> 10 / (1 - 0.25 / 73 x 0.25) = 10.008569
    always_on = effective_spot_usd_per_hour(10.0, 30.0, 4, "batch")
    short = effective_spot_usd_per_hour(10.0, 30.0, 4, "batch", instance_hours_per_month=73.0)
    assert short == pytest.approx(10.008569, abs=1e-6) and short > always_on
    with pytest.raises(PricingError, match=r"instance_hours_per_month must be in \(0, 730\]"):
        effective_spot_usd_per_hour(10.0, 30.0, 4, "batch", instance_hours_per_month=1000.0)
