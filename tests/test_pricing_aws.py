"""Live AWS fetchers, offline: Stubber asserts the exact requests, moto serves EC2, throttling is retried.

Fake credentials and a disabled instance-metadata lookup keep botocore off the network; every client
here is stubbed, mocked (moto) or answered by a before-send hook.
"""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.retries.bucket
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
from moto import mock_aws

from pricing import PricingError
from pricing.aws import (
    AWS_CONFIG,
    client_factory,
    fetch_instance_types,
    fetch_on_demand_price,
    fetch_region_offers,
    fetch_spot_placement_scores,
    fetch_spot_prices,
    on_demand_filters,
    pricing_api_region,
)

FIXTURES = Path(__file__).parent / "fixtures" / "aws"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, no profile/config files, no IMDS, cache under tmp_path."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2",
                "AWS_ENDPOINT_URL_PRICING"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aws_env(monkeypatch, tmp_path)


def price_item(instance_type: str, region: str, usd: float) -> str:
    """The recorded p5 PriceList entry re-targeted at another type/region (same AWS shape)."""
    product = json.loads(load("pricing_get_products_p5.json")["PriceList"][0])
    product["product"]["attributes"].update(instanceType=instance_type, regionCode=region)
    for term in product["terms"]["OnDemand"].values():
        for dim in term["priceDimensions"].values():
            dim["pricePerUnit"]["USD"] = f"{usd:.10f}"
    return json.dumps(product)


class FakePricing:
    """A Pricing client answering GetProducts from a table; records every request (thread-safe)."""

    def __init__(self, prices: dict[tuple[str, str], float]):
        self.prices = prices
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def get_products(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            self.requests.append(request)
        fields = {f["Field"]: f["Value"] for f in request["Filters"]}
        usd = self.prices.get((fields["instanceType"], fields["regionCode"]))
        return {"FormatVersion": "aws_v1", "PriceList": [] if usd is None else
                [price_item(fields["instanceType"], fields["regionCode"], usd)]}


def pricing_stub(region: str = "us-east-1") -> tuple[Any, Stubber]:
    client = boto3.client("pricing", region_name=region, config=AWS_CONFIG)
    return client, Stubber(client)


def test_on_demand_request_sends_the_exact_filters_and_follows_next_token() -> None:
    client, stub = pricing_stub()
    recorded = load("pricing_get_products_p5.request.json")
    expected = dict(recorded, Filters=[*recorded["Filters"],
                                       {"Type": "TERM_MATCH", "Field": "marketoption", "Value": "OnDemand"}])
    page_one = {"FormatVersion": "aws_v1", "PriceList": [], "NextToken": "page-2"}
    stub.add_response("get_products", page_one, expected)
    stub.add_response("get_products", load("pricing_get_products_p5.json"),
                      dict(expected, NextToken="page-2"))
    with stub:
        assert fetch_on_demand_price(client, "p5.48xlarge", "us-east-1") == 55.04
    stub.assert_no_pending_responses()


def test_on_demand_filters_are_the_documented_eight() -> None:
    fields = [(f["Field"], f["Value"]) for f in on_demand_filters("g5.xlarge", "eu-west-1")]
    assert fields == [("instanceType", "g5.xlarge"), ("regionCode", "eu-west-1"),
                      ("operatingSystem", "Linux"), ("tenancy", "Shared"), ("preInstalledSw", "NA"),
                      ("capacitystatus", "Used"), ("licenseModel", "No License required"),
                      ("marketoption", "OnDemand")]


def test_ambiguous_live_price_is_an_error() -> None:
    client, stub = pricing_stub()
    two = {"FormatVersion": "aws_v1", "PriceList": [price_item("g5.xlarge", "us-east-1", 1.006),
                                                    price_item("g5.xlarge", "us-east-1", 1.2)]}
    stub.add_response("get_products", two)
    with stub, pytest.raises(PricingError, match="ambiguous"):
        fetch_on_demand_price(client, "g5.xlarge", "us-east-1")


def test_spot_history_is_paginated_from_start_time_now() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", config=AWS_CONFIG)
    stub = Stubber(ec2)
    history = load("describe_spot_price_history_g5_p5_us-east-1.json")["SpotPriceHistory"]
    request = {"InstanceTypes": ["g5.xlarge", "p5.48xlarge"], "ProductDescriptions": ["Linux/UNIX"],
               "StartTime": NOW}
    stub.add_response("describe_spot_price_history", {"SpotPriceHistory": history[:5], "NextToken": "t2"},
                      request)
    stub.add_response("describe_spot_price_history", {"SpotPriceHistory": history[5:], "NextToken": ""},
                      dict(request, NextToken="t2"))
    with stub:
        spot = fetch_spot_prices(ec2, ["g5.xlarge", "p5.48xlarge"], NOW, az_ids={})
    assert len(spot["g5.xlarge"]) == 5 and min(spot["p5.48xlarge"].values()) == 17.6289


def test_placement_scores_need_three_types_and_send_the_recorded_request() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", config=AWS_CONFIG)
    stub = Stubber(ec2)
    request = dict(load("get_spot_placement_scores_p5.request.json"),
                   InstanceTypes=["p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge"])
    stub.add_response("get_spot_placement_scores", load("get_spot_placement_scores_p5.json"), request)
    with stub:
        with pytest.raises(PricingError, match="at least 3 instance types"):
            fetch_spot_placement_scores(ec2, ["p5.48xlarge"], ["us-east-1"])
        scores = fetch_spot_placement_scores(ec2, ["p5en.48xlarge", "p5.48xlarge", "p5e.48xlarge"],
                                             ["us-east-1", "us-east-2", "us-west-2"])
    assert scores[0].score == 7 and scores[0].availability_zone_id == "use1-az6"


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def stream(self, **_: Any):
        yield self.data


def test_throttling_is_retried_then_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    # No wall-clock waiting: backoff sleeps are recorded, and the adaptive token bucket's clock jumps
    # a minute per reading so it always has capacity.
    sleeps: list[float] = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    ticks = itertools.count(0.0, 60.0)
    monkeypatch.setattr(botocore.retries.bucket.Clock, "current_time", lambda self: next(ticks))
    client = client_factory()("pricing", "us-east-1")
    sent: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        sent.append(request.url)
        headers = {"content-type": "application/x-amz-json-1.1"}
        if len(sent) <= 2:
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
            return AWSResponse(request.url, 400, headers, _Body(body))
        return AWSResponse(request.url, 200, headers,
                           _Body((FIXTURES / "pricing_get_products_p5.json").read_bytes()))

    client.meta.events.register("before-send.pricing.GetProducts", answer)
    assert fetch_on_demand_price(client, "p5.48xlarge", "us-east-1") == 55.04
    assert len(sent) == 3 and len(sleeps) == 2  # two throttled attempts, each followed by a backoff


def test_clients_use_adaptive_retries_bounded_timeouts_and_endpoint_overrides(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert AWS_CONFIG.retries["mode"] == "adaptive"  # botocore stores max_attempts=5 as total 6
    assert AWS_CONFIG.connect_timeout == 5 and AWS_CONFIG.read_timeout == 15
    monkeypatch.setenv("AWS_ENDPOINT_URL_PRICING", "http://localhost:4566")
    assert client_factory()("pricing", "us-east-1").meta.endpoint_url == "http://localhost:4566"


@pytest.mark.parametrize(("regions", "endpoint"), [(["eu-west-1"], "eu-central-1"),
                                                   (["ap-northeast-1"], "ap-south-1"),
                                                   (["us-west-2", "eu-west-1"], "us-east-1")])
def test_pricing_endpoint_is_one_of_the_three(regions: list[str], endpoint: str) -> None:
    assert pricing_api_region(regions) == endpoint


@mock_aws
def test_moto_catalog_has_the_gpu_types_with_quirks_applied() -> None:
    types = {t.instance_type: t for t in fetch_instance_types(boto3.client("ec2", region_name="us-east-1"))}
    assert {"p5.48xlarge", "p5en.48xlarge", "g6e.xlarge", "inf2.xlarge"} <= set(types)
    assert not any(t.startswith(("g4ad", "g5g", "m7i")) for t in types)  # AMD, Graviton, CPU-only
    assert types["p5en.48xlarge"].gpu_name == "H200" and types["p4de.24xlarge"].gpu_memory_gib == 80
    assert types["g6f.large"].gpu_fraction == 0.125 and types["inf2.xlarge"].accelerator_kind == "aws_neuron"


@mock_aws
def test_region_offers_join_offerings_prices_and_spot() -> None:
    pricing = FakePricing({("p5.48xlarge", "us-east-1"): 55.04, ("g5.xlarge", "us-east-1"): 1.006})
    offers = fetch_region_offers("us-east-1", boto3.client("ec2", region_name="us-east-1"), pricing, NOW)
    by_type = {o.instance.instance_type: o for o in offers}
    p5 = by_type["p5.48xlarge"].price
    assert (p5.on_demand_usd_per_hour, p5.price_source, p5.prices_as_of) == (55.04, "live", NOW)
    # moto's spot history: one price per AZ, keyed here by AZ ID through DescribeAvailabilityZones
    assert p5.spot_usd_per_hour is not None and all(az.startswith("use1-az") for az in
                                                    p5.spot_usd_per_hour_by_az)
    assert {r["Filters"][1]["Value"] for r in pricing.requests} == {"us-east-1"}
    assert len(pricing.requests) == len({r["Filters"][0]["Value"] for r in pricing.requests})


def test_public_placement_scores_use_the_injected_client_and_explain_failures() -> None:
    from botocore.exceptions import NoCredentialsError

    from pricing import spot_placement_scores

    ec2 = boto3.client("ec2", region_name="us-east-1", config=AWS_CONFIG)
    stub = Stubber(ec2)
    stub.add_response("get_spot_placement_scores", load("get_spot_placement_scores_p5.json"))
    with stub:
        scores = spot_placement_scores(["p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge"], ["us-east-1"],
                                       clients=lambda service, region: ec2)
    assert [s.score for s in scores] == [7, 5, 4, 3, 1]

    def no_credentials(service: str, region: str) -> Any:
        raise NoCredentialsError()

    with pytest.raises(PricingError, match="ec2:GetSpotPlacementScores"):
        spot_placement_scores(["a.x", "b.x", "c.x"], ["us-east-1"], clients=no_credentials)
