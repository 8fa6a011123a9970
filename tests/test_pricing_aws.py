"""Live AWS fetchers, offline: Stubber asserts the exact requests, moto serves EC2, throttling is retried.

Fake credentials and a disabled instance-metadata lookup keep botocore off the network; every client
here is stubbed, mocked (moto) or answered by a before-send hook.
"""

from __future__ import annotations

import itertools
import json
import threading
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
from tests.conftest import (
    AWS_FIXTURES,
    NOW,
    FakeClock,
    FakePricing,
    SlowEc2,
    describe_item,
    load_payload,
    price_list_item,
)

pytestmark = pytest.mark.usefixtures("fake_aws")


def pricing_stub(region: str = "us-east-1") -> tuple[Any, Stubber]:
    client = boto3.client("pricing", region_name=region, config=AWS_CONFIG)
    return client, Stubber(client)


def test_on_demand_request_sends_the_exact_filters_and_follows_next_token() -> None:
    client, stub = pricing_stub()
    recorded = load_payload("pricing_get_products_p5.request.json")
    expected = dict(recorded, Filters=[*recorded["Filters"],
                                       {"Type": "TERM_MATCH", "Field": "marketoption", "Value": "OnDemand"}])
    page_one = {"FormatVersion": "aws_v1", "PriceList": [], "NextToken": "page-2"}
    stub.add_response("get_products", page_one, expected)
    stub.add_response("get_products", load_payload("pricing_get_products_p5.json"),
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
    two = {"FormatVersion": "aws_v1", "PriceList": [price_list_item("g5.xlarge", "us-east-1", 1.006),
                                                    price_list_item("g5.xlarge", "us-east-1", 1.2)]}
    stub.add_response("get_products", two)
    with stub, pytest.raises(PricingError, match="ambiguous"):
        fetch_on_demand_price(client, "g5.xlarge", "us-east-1")


def test_spot_history_is_paginated_from_start_time_now() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1", config=AWS_CONFIG)
    stub = Stubber(ec2)
    history = load_payload("describe_spot_price_history_g5_p5_us-east-1.json")["SpotPriceHistory"]
    # StartTime = EndTime = now: AWS then returns each AZ's price in effect at that time.
    request = {"InstanceTypes": ["g5.xlarge", "p5.48xlarge"],
               "ProductDescriptions": ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"], "StartTime": NOW,
               "EndTime": NOW}
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
    request = dict(load_payload("get_spot_placement_scores_p5.request.json"),
                   InstanceTypes=["p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge"])
    stub.add_response("get_spot_placement_scores", load_payload("get_spot_placement_scores_p5.json"), request)
    with stub:
        with pytest.raises(PricingError, match="at most 10 regions per request"):
            fetch_spot_placement_scores(ec2, ["p5.48xlarge"], [f"r-{n}" for n in range(11)])
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
                           _Body((AWS_FIXTURES / "pricing_get_products_p5.json").read_bytes()))

    client.meta.events.register("before-send.pricing.GetProducts", answer)
    assert fetch_on_demand_price(client, "p5.48xlarge", "us-east-1") == 55.04
    assert len(sent) == 3 and len(sleeps) == 2  # two throttled attempts, each followed by a backoff


def test_clients_use_adaptive_retries_bounded_timeouts_and_endpoint_overrides(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert AWS_CONFIG.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert AWS_CONFIG.connect_timeout == 3 and AWS_CONFIG.read_timeout == 10
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
def test_region_offers_join_offerings_prices_and_spot_with_exactly_the_documented_iam_actions() -> None:
    from pricing.aws import IAM_ACTIONS

    pricing = FakePricing({("p5.48xlarge", "us-east-1"): 55.04, ("g5.xlarge", "us-east-1"): 1.006})
    ec2 = boto3.client("ec2", region_name="us-east-1")
    called: set[str] = set()
    ec2.meta.events.register("before-call.ec2", lambda model, **_: called.add(f"ec2:{model.name}"))
    offers = fetch_region_offers("us-east-1", ec2, pricing, NOW)
    by_type = {o.instance.instance_type: o for o in offers}
    p5 = by_type["p5.48xlarge"].price
    assert (p5.on_demand_usd_per_hour, p5.price_source, p5.prices_as_of) == (55.04, "live", NOW)
    # moto's spot history: one price per AZ, keyed here by AZ ID through DescribeAvailabilityZones
    assert p5.spot_usd_per_hour is not None and all(az.startswith("use1-az") for az in
                                                    p5.spot_usd_per_hour_by_az)
    assert {r["Filters"][1]["Value"] for r in pricing.requests} == {"us-east-1"}
    assert len(pricing.requests) == len({r["Filters"][0]["Value"] for r in pricing.requests})
    assert called | {"pricing:GetProducts"} == set(IAM_ACTIONS)  # FakePricing stands in for GetProducts


def test_public_placement_scores_use_the_injected_client_and_explain_failures() -> None:
    from botocore.exceptions import NoCredentialsError

    from pricing import spot_placement_scores

    ec2 = boto3.client("ec2", region_name="us-east-1", config=AWS_CONFIG)
    stub = Stubber(ec2)
    stub.add_response("get_spot_placement_scores", load_payload("get_spot_placement_scores_p5.json"))
    with stub:
        scores = spot_placement_scores(["p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge"], ["us-east-1"],
                                       clients=lambda service, region: ec2)
    assert [s.score for s in scores] == [7, 5, 4, 3, 1]

    def no_credentials(service: str, region: str) -> Any:
        raise NoCredentialsError()

    with pytest.raises(PricingError, match="ec2:GetSpotPlacementScores"):
        spot_placement_scores(["a.x", "b.x", "c.x"], ["us-east-1"], clients=no_credentials)


def test_types_are_asked_for_by_wildcard_and_offerings_by_exact_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from pricing import aws

    monkeypatch.setattr(aws, "OFFERING_NAMES_PER_CALL", 2)  # three types -> two offering calls
    ec2 = boto3.client("ec2", region_name="us-east-1", config=AWS_CONFIG)
    stub = Stubber(ec2)
    types = [describe_item("g6.xlarge", "L4", 1, 22888), describe_item("g6e.xlarge", "L40S", 1, 45776),
             describe_item("p5.48xlarge", "H100", 8, 81920)]
    stub.add_response("describe_instance_types", {"InstanceTypes": types},
                      {"Filters": [{"Name": "instance-type", "Values": ["p*", "g*", "inf*", "trn*"]}]})
    for chunk in (["g6.xlarge", "g6e.xlarge"], ["p5.48xlarge"]):
        offerings = [{"InstanceType": t, "LocationType": "availability-zone-id", "Location": "use1-az4"}
                     for t in chunk]
        stub.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": offerings},
                          {"LocationType": "availability-zone-id",
                           "Filters": [{"Name": "instance-type", "Values": chunk}]})
    with stub:
        names = [t.instance_type for t in aws.fetch_instance_types(ec2)]
        offered = aws.fetch_offerings(ec2, names)
    stub.assert_no_pending_responses()
    assert offered == dict.fromkeys(["g6.xlarge", "g6e.xlarge", "p5.48xlarge"], frozenset({"use1-az4"}))


def test_a_call_that_keeps_timing_out_stops_after_three_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ReadTimeoutError

    sleeps: list[float] = []
    monkeypatch.setattr("time.sleep", sleeps.append)  # backoff recorded, never waited
    client = client_factory()("pricing", "us-east-1")
    sent: list[str] = []

    def time_out(request: Any, **_: Any) -> None:
        sent.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)

    client.meta.events.register("before-send.pricing.GetProducts", time_out)
    with pytest.raises(ReadTimeoutError):
        fetch_on_demand_price(client, "p5.48xlarge", "us-east-1")
    assert len(sent) == 3 and len(sleeps) == 2  # total_max_attempts=3: two retries, two backoffs
    assert all(s <= 4 for s in sleeps)  # standard backoff rand(0,1) x 2**attempt


def test_region_deadline_stops_a_slow_region_between_requests() -> None:
    from pricing.aws import Deadline, DeadlineExceeded

    clock = FakeClock()
    ec2 = SlowEc2(clock, seconds=25.0)
    pricing = FakePricing({})
    with pytest.raises(DeadlineExceeded, match=r"us-east-1: live fetch passed its 60 s deadline before "
                                               r"DescribeInstanceTypes"):
        fetch_region_offers("us-east-1", ec2, pricing, NOW, deadline=Deadline(60, clock, "us-east-1"))
    assert ec2.pages == 3 and pricing.requests == []  # 3 x 25 s > 60 s: no fourth page, no GetProducts


def test_run_bounded_abandons_a_stuck_task_on_a_daemon_thread() -> None:
    from pricing.aws import DeadlineExceeded, run_bounded

    never = threading.Event()
    threads: list[threading.Thread] = []

    def stuck() -> str:
        threads.append(threading.current_thread())
        never.wait()  # a socket read that never returns
        return "late"

    def broken() -> str:
        raise ValueError("bad payload")

    results = run_bounded({"a": lambda: "ok", "b": stuck, "c": broken}, workers=3, timeout_s=0.05)
    assert results["a"] == "ok" and isinstance(results["c"], ValueError)
    assert isinstance(results["b"], DeadlineExceeded) and "did not finish within 0.05 s" in str(results["b"])
    assert threads and threads[0].daemon  # cannot keep the interpreter (or pulumi preview) alive
    never.set()
