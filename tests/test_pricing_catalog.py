"""load_priced_catalog's choice of source: live, fresh/stale/corrupt cache, snapshot, a failing region."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pricing import PricingError, load_priced_catalog
from pricing.cache import CachedRegion, cache_path, default_cache_dir, read_cache, write_cache
from pricing.recorded import recorded_clients
from tests.conftest import AWS_FIXTURES, NOW, PRICES, Factory, FakeClock, FakePricing, SlowEc2, sources

pytestmark = pytest.mark.usefixtures("fake_aws")


def no_aws(service: str, region: str) -> Any:
    raise AssertionError(f"no AWS client expected, got {service} in {region}")


@mock_aws
def test_live_prices_are_tagged_and_cached_then_served_from_cache(tmp_path: Path) -> None:
    live = load_priced_catalog(["us-east-1"], "live", cache_dir=tmp_path, clients=Factory(), now=NOW)
    # moto answers every spot price with 0.00001 USD/h: implausible, so dropped (with one warning); the
    # on-demand prices of the fake Pricing client are kept.
    assert sources(live) == {("us-east-1", "live")}
    assert len(live.warnings) == 1 and "implausible live price" in live.warnings[0]
    assert "1e-05 USD/h" in live.warnings[0]
    assert all(o.price.spot_usd_per_hour is None for o in live.offers)
    p5 = next(o for o in live.offers if o.instance.instance_type == "p5.48xlarge")
    assert (p5.price.on_demand_usd_per_hour, p5.price.prices_as_of) == (55.04, NOW)
    assert cache_path(tmp_path, "us-east-1", False).exists()
    later = NOW + timedelta(hours=1)
    cached = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=no_aws, now=later)
    assert sources(cached) == {("us-east-1", "cache")}
    assert {o.price.prices_as_of for o in cached.offers} == {NOW}  # when it was fetched, not read
    assert [o.instance for o in cached.offers] == [o.instance for o in live.offers]


def test_stale_cache_is_refreshed_from_live(tmp_path: Path) -> None:
    write_cache(tmp_path, CachedRegion(region="us-east-1", include_local_zones=False, fetched_at=NOW,
                                       offers=load_priced_catalog(["us-east-1"], "snapshot").offers))
    later = NOW + timedelta(hours=7)  # past the default 6 h
    factory = Factory(ec2="recorded")
    fresh = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=factory, now=later)
    assert sources(fresh) == {("us-east-1", "live")} and factory.pricing.requests
    entry, problem = read_cache(tmp_path, "us-east-1", False)
    assert problem is None and entry is not None and entry.fetched_at == later


def test_corrupt_cache_is_ignored_and_replaced(tmp_path: Path) -> None:
    path = cache_path(tmp_path, "us-east-1", False)
    path.write_text('{"format": 1, "region": "us-east-1", "offers": [tru')
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=Factory(ec2="recorded"),
                                  now=NOW)
    assert sources(catalog) == {("us-east-1", "live")}
    assert any("corrupt price cache" in w for w in catalog.warnings)
    assert json.loads(path.read_text())["fetched_at"].startswith("2026-11-26T12:00")
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left no temp file


def test_one_failing_region_does_not_lose_the_other(tmp_path: Path) -> None:
    factory = Factory(failing_regions=("us-west-2",), ec2="recorded")
    catalog = load_priced_catalog(["us-east-1", "us-west-2"], "auto", cache_dir=tmp_path, clients=factory,
                                  now=NOW)
    assert sources(catalog) == {("us-east-1", "live"), ("us-west-2", "snapshot")}
    (warning,) = catalog.warnings
    assert warning.startswith("us-west-2: using the bundled price snapshot (EndpointConnectionError")
    assert "2026-07-20 (129 days old)" in warning
    with pytest.raises(PricingError, match=r"--pricing live failed for us-west-2 .*EndpointConnectionError"):
        load_priced_catalog(["us-west-2"], "live", cache_dir=tmp_path,
                            clients=Factory(failing_regions=("us-west-2",)), now=NOW)


def test_stale_cache_beats_the_snapshot_when_live_fails(tmp_path: Path) -> None:
    offers = load_priced_catalog(["us-west-2"], "snapshot").offers
    write_cache(tmp_path, CachedRegion(region="us-west-2", include_local_zones=False, fetched_at=NOW,
                                       offers=offers))
    later = NOW + timedelta(days=2)
    catalog = load_priced_catalog(["us-west-2"], "auto", cache_dir=tmp_path,
                                  clients=Factory(failing_regions=("us-west-2",)), now=later)
    assert sources(catalog) == {("us-west-2", "cache")}
    assert "using cached prices fetched 2026-11-26 12:00 UTC (2 days old)" in catalog.warnings[0]


def test_no_credentials_falls_back_to_snapshot_before_any_client(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, now=NOW)
    assert sources(catalog) == {("us-east-1", "snapshot")}
    assert catalog.warnings == (
        "us-east-1: using the bundled price snapshot (no AWS credentials found); on-demand list prices "
        "as of 2026-07-20 (129 days old), spot prices indicative only (snapshot time unknown)",)
    assert not list(tmp_path.iterdir())  # nothing cached from a fallback


def test_no_credentials_in_an_injected_client_fails_before_the_network(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # botocore raises NoCredentialsError while signing, before it opens a connection.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    sent: list[str] = []

    def factory(service: str, region: str) -> Any:
        client = boto3.session.Session().client(service, region_name=region)
        client.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
        return client

    catalog = load_priced_catalog(["eu-west-1"], "auto", cache_dir=tmp_path, clients=factory, now=NOW)
    assert sources(catalog) == {("eu-west-1", "snapshot")}
    assert "NoCredentialsError" in catalog.warnings[0] and sent == []
    with pytest.raises(PricingError, match="NoCredentialsError"):
        load_priced_catalog(["eu-west-1"], "live", cache_dir=tmp_path, clients=factory, now=NOW)


def test_auto_region_outside_the_snapshot_without_live_prices_warns(tmp_path: Path) -> None:
    # ap-southeast-5 is a real region botocore knows, but the snapshot has no row for it.
    catalog = load_priced_catalog(["ap-southeast-5", "us-east-1"], "auto", cache_dir=tmp_path,
                                  clients=Factory(failing_regions=("ap-southeast-5", "us-east-1")), now=NOW)
    assert sources(catalog) == {("us-east-1", "snapshot")}
    assert any(w.startswith("ap-southeast-5: no prices") for w in catalog.warnings)


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "llm-serving-advisor" / "pricing"


def test_cache_round_trip_is_exact(tmp_path: Path) -> None:
    snapshot = load_priced_catalog(["eu-west-1"], "snapshot", now=NOW)
    entry = CachedRegion(region="eu-west-1", include_local_zones=False, fetched_at=NOW,
                         offers=snapshot.offers)
    write_cache(tmp_path, entry)
    assert read_cache(tmp_path, "eu-west-1", False) == (entry, None)
    assert read_cache(tmp_path, "eu-west-1", True) == (None, None)  # Local Zone variant is its own file


class ImdsRecorder:
    """Stands in for the HTTP session botocore's instance-metadata fetcher uses: records, never connects.

    A laptop off EC2 has no 169.254.169.254; each request there costs up to AWS_METADATA_SERVICE_TIMEOUT
    (1 s by default) before botocore gives up, so the count of requests is the time a user waits.
    """

    def __init__(self) -> None:
        self.urls: list[str] = []

    def send(self, request: Any) -> Any:
        from botocore.exceptions import ConnectTimeoutError

        self.urls.append(request.url)
        raise ConnectTimeoutError(endpoint_url=request.url)


@pytest.fixture
def laptop(monkeypatch: pytest.MonkeyPatch) -> ImdsRecorder:
    """No credentials anywhere, instance metadata not disabled: what a laptop without AWS looks like."""
    import botocore.httpsession

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    recorder = ImdsRecorder()
    monkeypatch.setattr(botocore.httpsession.URLLib3Session, "send", lambda _, req: recorder.send(req))
    made: list[str] = []
    real_client = boto3.session.Session.client

    def client(self: Any, service: str, *args: Any, **kwargs: Any) -> Any:
        made.append(service)
        return real_client(self, service, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", client)
    recorder.clients_made = made  # type: ignore[attr-defined]
    return recorder


def test_a_laptop_asks_instance_metadata_once_per_load_and_builds_no_client(
        laptop: ImdsRecorder, tmp_path: Path) -> None:
    regions = ["us-east-1", "eu-west-1", "us-west-2"]
    catalog = load_priced_catalog(regions, "auto", cache_dir=tmp_path, now=NOW)
    assert {source for _, source in sources(catalog)} == {"snapshot"}
    assert "(no AWS credentials found)" in catalog.warnings[0]
    # One resolution: IMDSv2 token PUT, then the IMDSv1 role GET, both refused; not once per region/client.
    assert laptop.urls == ["http://169.254.169.254/latest/api/token",
                           "http://169.254.169.254/latest/meta-data/iam/security-credentials/"]
    assert laptop.clients_made == []  # type: ignore[attr-defined]
    with pytest.raises(PricingError, match=r"--pricing live needs AWS credentials: no AWS credentials found"):
        load_priced_catalog(["us-east-1", "eu-west-1"], "live", cache_dir=tmp_path, now=NOW)
    assert len(laptop.urls) == 4 and laptop.clients_made == []  # type: ignore[attr-defined]


def test_metadata_disabled_means_no_metadata_request_at_all(
        laptop: ImdsRecorder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, now=NOW)
    assert sources(catalog) == {("us-east-1", "snapshot")} and laptop.urls == []


class TimingOut:
    """An EC2 client whose endpoint accepts the connection and never answers within the read timeout."""

    def __init__(self, region: str):
        self.url = f"https://ec2.{region}.amazonaws.com"

    def get_paginator(self, _: str) -> Any:
        from botocore.exceptions import ReadTimeoutError

        raise ReadTimeoutError(endpoint_url=self.url)


def test_timeouts_fall_back_to_the_snapshot_per_region(tmp_path: Path) -> None:
    def factory(service: str, region: str) -> Any:
        return FakePricing(PRICES) if service == "pricing" else TimingOut(region)

    catalog = load_priced_catalog(["us-east-1", "eu-west-1"], "auto", cache_dir=tmp_path, clients=factory,
                                  now=NOW)
    assert sources(catalog) == {("us-east-1", "snapshot"), ("eu-west-1", "snapshot")}
    assert all("ReadTimeoutError: Read timeout on endpoint URL" in w for w in catalog.warnings)


def test_a_region_past_its_deadline_falls_back_while_a_fast_one_is_live(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pricing.catalog

    clock = FakeClock()
    monkeypatch.setattr(pricing.catalog, "monotonic", clock)
    fast = Factory(ec2="recorded")

    def factory(service: str, region: str) -> Any:
        return SlowEc2(clock, 100.0) if (service, region) == ("ec2", "us-west-2") else fast(service, region)

    catalog = load_priced_catalog(["us-east-1", "us-west-2"], "auto", cache_dir=tmp_path, clients=factory,
                                  now=NOW)
    assert sources(catalog) == {("us-east-1", "live"), ("us-west-2", "snapshot")}
    # auto: the region's deadline is what is left of AUTO_BUDGET_S (10 s) after the in-flight grace (1 s)
    assert any(w.startswith("us-west-2: using the bundled price snapshot (DeadlineExceeded: us-west-2: live "
                            "fetch passed its 9 s deadline") for w in catalog.warnings)


def test_a_live_load_of_the_snapshots_own_payloads_reproduces_the_snapshot(tmp_path: Path) -> None:
    # Live parsing (GpuInfo, quirks, spec and topology merge, GetProducts, spot per AZ ID) and the
    # snapshot loader must agree fact for fact; only the source fields differ.
    regions = ["us-east-1", "us-west-2"]
    live = load_priced_catalog(regions, "live", cache_dir=tmp_path,
                               clients=recorded_clients(regions, NOW, AWS_FIXTURES), now=NOW)
    snapshot = load_priced_catalog(regions, "snapshot", now=NOW)

    def facts(catalog: Any) -> dict[tuple[str, str], tuple[dict, dict]]:
        return {(o.price.region, o.instance.instance_type): (
            o.instance.model_dump(exclude={"source"}),
            o.price.model_dump(exclude={"price_source", "prices_as_of"})) for o in catalog.offers}

    assert facts(live) == facts(snapshot) and len(live.offers) > 50
    assert {o.price.price_source for o in live.offers} == {"live"}
