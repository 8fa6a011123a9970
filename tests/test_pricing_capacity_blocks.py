"""Capacity Blocks for ML: DescribeCapacityBlockOfferings through botocore's Stubber (exact requests, the
documented response shape), parsing, cache, pricing modes and the comparison with on-demand and spot.

The response shape follows the EC2 API reference / botocore ec2 service model (CapacityBlockOffering:
CapacityBlockOfferingId, InstanceType, AvailabilityZone, InstanceCount, StartDate, EndDate,
CapacityBlockDurationHours, CapacityBlockDurationMinutes, UpfrontFee (a string), CurrencyCode, Tenancy);
Stubber checks every response against that model. The fees are synthetic round figures chosen so the
expected costs can be computed by hand; no real Capacity Block price is claimed here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pricing.aws import AWS_CONFIG, MalformedAwsResponse
from pricing.capacity_blocks import (
    SNAPSHOT_NOTE,
    cache_path,
    check_duration,
    compare,
    describe_window,
    fetch_capacity_block_offerings,
    load_capacity_blocks,
    make_query,
    neighbour_queries,
    no_offering_error,
)
from pricing.errors import AwsUnavailableError, PricingError
from pricing.parse import parse_capacity_block_offerings
from tests.conftest import NOW, price

pytestmark = pytest.mark.usefixtures("fake_aws")
REGION = "us-east-2"
START = NOW + timedelta(days=2)


def item(offering_id: str, fee: str, count: int = 2, hours: int = 48, minutes: int = 0,
         **extra: Any) -> dict:
    return {"CapacityBlockOfferingId": offering_id, "InstanceType": "p5.48xlarge",
            "AvailabilityZone": "us-east-2a", "InstanceCount": count, "StartDate": START,
            "EndDate": START + timedelta(hours=hours, minutes=minutes), "CapacityBlockDurationHours": hours,
            "CapacityBlockDurationMinutes": minutes, "UpfrontFee": fee, "CurrencyCode": "USD",
            "Tenancy": "default", **extra}


def ec2_stub() -> tuple[Any, Stubber]:
    client = boto3.client("ec2", region_name=REGION, config=AWS_CONFIG)
    return client, Stubber(client)


QUERY = make_query("p5.48xlarge", 2, 48)
REQUEST = {"InstanceType": "p5.48xlarge", "InstanceCount": 2, "CapacityDurationHours": 48}


def test_parse_orders_by_instance_hour_and_skips_other_currencies_and_ultraservers() -> None:
    skipped: list[str] = []
    offerings = parse_capacity_block_offerings(
        [item("cb-dear", "4000.00"), item("cb-cheap", "3000.00"), item("cb-eur", "1.00", CurrencyCode="EUR"),
         item("cb-ultra", "1.00", UltraserverType="u-p6e-gb200x36")],
        REGION, NOW, skipped)
    assert [o.offering_id for o in offerings] == ["cb-cheap", "cb-dear"]
    cheap = offerings[0]
    # 3000 USD / 48 h = 62.5 USD/h for the block; / 2 instances = 31.25 USD per instance-hour.
    assert cheap.usd_per_hour == pytest.approx(62.5)
    assert cheap.usd_per_instance_hour == pytest.approx(31.25)
    assert cheap.start == START and cheap.price_source == "live"
    assert len(skipped) == 2 and "currency EUR" in skipped[0] and "UltraServer" in skipped[1]


def test_duration_minutes_add_to_hours() -> None:
    (offering,) = parse_capacity_block_offerings([item("cb-1", "790.00", hours=6, minutes=35)], REGION, NOW)
    assert offering.duration_hours == pytest.approx(6 + 35 / 60)
    assert offering.usd_per_hour == pytest.approx(790 / (6 + 35 / 60))


def test_fetch_sends_the_exact_request_and_follows_next_token() -> None:
    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-1", "4000.00")], "NextToken": "page-2"}, REQUEST)
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-2", "3000.00")]},
                      dict(REQUEST, NextToken="page-2"))
    with stub:
        offerings = fetch_capacity_block_offerings(ec2, QUERY, REGION, NOW)
    stub.assert_no_pending_responses()
    assert [o.offering_id for o in offerings] == ["cb-2", "cb-1"]


def test_fetch_sends_the_window_when_given() -> None:
    ec2, stub = ec2_stub()
    query = make_query("p5.48xlarge", 2, 48, START, START + timedelta(days=7))
    stub.add_response("describe_capacity_block_offerings", {"CapacityBlockOfferings": []},
                      dict(REQUEST, StartDateRange=START, EndDateRange=START + timedelta(days=7)))
    with stub:
        assert fetch_capacity_block_offerings(ec2, query, REGION, NOW) == ()
    stub.assert_no_pending_responses()


def test_a_payload_of_the_wrong_shape_is_a_malformed_response() -> None:
    class Pages:
        def paginate(self, **_: Any) -> list[dict]:
            return [{"CapacityBlockOfferings": [{"CapacityBlockOfferingId": "cb-1"}]}]

    class Ec2:
        def get_paginator(self, _: str) -> Pages:
            return Pages()

    with pytest.raises(MalformedAwsResponse, match="DescribeCapacityBlockOfferings"):
        fetch_capacity_block_offerings(Ec2(), QUERY, REGION, NOW)


def p5_price(od: float | None, spot: float | None) -> Any:
    return price(od=od, spot=spot).model_copy(update={"instance_type": "p5.48xlarge", "region": REGION})


def test_compare_with_on_demand_and_spot_over_the_same_window() -> None:
    (offering,) = parse_capacity_block_offerings([item("cb-1", "3000.00")], REGION, NOW)
    with pytest.raises(PricingError, match="cannot compare"):
        compare(offering, price(od=55.04, spot=20.0))
    result = compare(offering, p5_price(od=55.04, spot=20.0))
    # on-demand: 55.04 USD/h x 2 instances x 48 h = 5283.84; spot: 20 x 2 x 48 = 1920.
    assert result.on_demand_usd == pytest.approx(5283.84)
    assert result.spot_usd == pytest.approx(1920.0)
    assert result.block_usd == 3000.0
    assert result.cheapest == "spot" and result.cheapest_assured == "capacity-block"
    dear = compare(offering, p5_price(od=20.0, spot=None))  # 20 x 2 x 48 = 1920 < 3000
    assert dear.cheapest == "on-demand" and dear.cheapest_assured == "on-demand" and dear.spot_usd is None
    alone = compare(offering, None)
    assert alone.cheapest == "capacity-block" and alone.on_demand_usd is None


def test_describe_window_names_dates_hours_and_zone() -> None:
    (offering,) = parse_capacity_block_offerings([item("cb-1", "3000.00")], REGION, NOW)
    assert describe_window(offering) == "2026-11-28 12:00 .. 2026-11-30 12:00 UTC (48 h) in us-east-2a"


@pytest.mark.parametrize("hours", [0, 25, 337, 400, 4369])
def test_durations_aws_does_not_sell_are_refused_with_the_nearest(hours: int) -> None:
    with pytest.raises(PricingError, match="nearest"):
        check_duration(hours)


@pytest.mark.parametrize("hours", [24, 336, 504, 4368])
def test_documented_durations_are_accepted(hours: int) -> None:
    check_duration(hours)


def test_bad_count_and_short_window_are_refused() -> None:
    with pytest.raises(PricingError, match="1..64 instances"):
        make_query("p5.48xlarge", 65, 24)
    with pytest.raises(PricingError, match="shorter than the 48 h"):
        make_query("p5.48xlarge", 1, 48, START, START + timedelta(hours=24))


def test_snapshot_offers_no_capacity_block_and_says_so_once(tmp_path) -> None:
    def no_client(*_: Any) -> Any:
        raise AssertionError("snapshot must not call AWS")

    result = load_capacity_blocks(QUERY, REGION, "snapshot", cache_dir=tmp_path, clients=no_client, now=NOW)
    assert result.offerings == () and result.warnings == (SNAPSHOT_NOTE,)


def test_auto_fetches_live_caches_then_reuses_the_cache(tmp_path) -> None:
    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-1", "3000.00")]}, REQUEST)
    with stub:
        first = load_capacity_blocks(QUERY, REGION, "auto", cache_dir=tmp_path,
                                     clients=lambda service, region: ec2, now=NOW)
    assert [o.offering_id for o in first.offerings] == ["cb-1"] and first.warnings == ()
    assert cache_path(tmp_path, REGION, QUERY).exists()

    def no_client(*_: Any) -> Any:
        raise AssertionError("a fresh cache must not call AWS")

    again = load_capacity_blocks(QUERY, REGION, "auto", cache_dir=tmp_path, clients=no_client,
                                 now=NOW + timedelta(minutes=30))
    assert [(o.offering_id, o.price_source) for o in again.offerings] == [("cb-1", "cache")]


def _failing_ec2() -> Any:
    ec2, stub = ec2_stub()
    stub.add_client_error("describe_capacity_block_offerings", "UnauthorizedOperation", "not allowed")
    stub.activate()
    return ec2


def test_live_failure_is_aws_unavailable_and_auto_falls_back_to_a_stale_cache(tmp_path) -> None:
    with pytest.raises(AwsUnavailableError, match="ec2:DescribeCapacityBlockOfferings"):
        load_capacity_blocks(QUERY, REGION, "live", cache_dir=tmp_path,
                             clients=lambda s, r: _failing_ec2(), now=NOW)
    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-1", "3000.00")]}, REQUEST)
    with stub:
        load_capacity_blocks(QUERY, REGION, "auto", cache_dir=tmp_path, clients=lambda s, r: ec2, now=NOW)
    later = NOW + timedelta(hours=3)  # stale (1 h), the offering has not started yet (2 days)
    stale = load_capacity_blocks(QUERY, REGION, "auto", cache_dir=tmp_path,
                                 clients=lambda s, r: _failing_ec2(), now=later)
    assert [o.offering_id for o in stale.offerings] == ["cb-1"]
    assert "using cached ones" in stale.warnings[0]
    started = load_capacity_blocks(QUERY, REGION, "auto", cache_dir=tmp_path,
                                   clients=lambda s, r: _failing_ec2(), now=START + timedelta(hours=1))
    assert started.offerings == ()  # a slot whose start has passed cannot be bought as quoted


def test_auto_failure_without_cache_offers_nothing_with_a_warning(tmp_path) -> None:
    result = load_capacity_blocks(QUERY, REGION, "auto", cache_dir=tmp_path,
                                  clients=lambda s, r: _failing_ec2(), now=NOW)
    assert result.offerings == () and "no Capacity Block offerings" in result.warnings[0]


def test_nothing_matched_asks_the_neighbouring_sizes_and_names_the_nearest(tmp_path) -> None:
    neighbours = [(q.instance_count, q.duration_hours) for q in neighbour_queries(QUERY)]
    assert neighbours == [(2, 24), (2, 72), (1, 48)]
    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings", {"CapacityBlockOfferings": []}, REQUEST)
    stub.add_response("describe_capacity_block_offerings", {"CapacityBlockOfferings": []},
                      dict(REQUEST, CapacityDurationHours=24))
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-72", "4320.00", hours=72)]},
                      dict(REQUEST, CapacityDurationHours=72))
    with stub:
        result = load_capacity_blocks(QUERY, REGION, "live", cache_dir=tmp_path, clients=lambda s, r: ec2,
                                      now=NOW)
    stub.assert_no_pending_responses()
    assert result.offerings == () and [o.offering_id for o in result.nearest] == ["cb-72"]
    message = str(no_offering_error(QUERY, REGION, result))
    # 4320 USD / 72 h = 60.00 USD/h.
    assert "nearest: 2 x p5.48xlarge for 72 h" in message
    assert "4,320.00 USD up front (60.00 USD/h)" in message


# The `capacity-blocks` command: the stubbed EC2 client stands in for boto3's, the catalog for live prices.
def _cli(monkeypatch, tmp_path, ec2: Any, *argv: str) -> int:
    import pricing
    import pricing.capacity_blocks as blocks
    from llm_advisor.cli.main import main
    from tests.conftest import catalog, offer

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(blocks, "_ec2", lambda clients, region, mode: ec2)
    monkeypatch.setattr(pricing, "load_priced_catalog",
                        lambda regions, mode: catalog(offer("p5.48xlarge", 55.04, 20.0, region=REGION)))
    return main(["capacity-blocks", "--instance-type", "p5.48xlarge", "--count", "2", "--hours", "48",
                 "--region", REGION, *argv])


def test_cli_shows_window_fee_and_the_same_hours_on_demand_and_spot(monkeypatch, tmp_path, capsys) -> None:
    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-1", "3000.00")]}, REQUEST)
    with stub:
        assert _cli(monkeypatch, tmp_path, ec2) == 0
    out = capsys.readouterr().out
    assert "2026-11-28 12:00 .. 2026-11-30 12:00 UTC (48 h) in us-east-2a" in out
    assert "block $3,000.00 up front = $62.50/h" in out
    assert "on-demand $5,283.84, spot $1,920.00" in out and "Nothing was purchased" in out


def test_cli_json_carries_the_comparison(monkeypatch, tmp_path, capsys) -> None:
    import json

    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-1", "3000.00")]}, REQUEST)
    with stub:
        assert _cli(monkeypatch, tmp_path, ec2, "--json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["usd_per_hour"] == 62.5 and row["on_demand_usd"] == pytest.approx(5283.84)
    assert row["cheapest"] == "spot" and row["cheapest_assured"] == "capacity-block"


def test_cli_exits_2_naming_the_nearest_offering(monkeypatch, tmp_path, capsys) -> None:
    ec2, stub = ec2_stub()
    for hours, answer in ((48, []), (24, [item("cb-24", "1440.00", hours=24)])):
        stub.add_response("describe_capacity_block_offerings", {"CapacityBlockOfferings": answer},
                          dict(REQUEST, CapacityDurationHours=hours))
    with stub:
        assert _cli(monkeypatch, tmp_path, ec2) == 2
    err = capsys.readouterr().err
    assert "no Capacity Block offering for 2 x p5.48xlarge for 48 h in us-east-2; nearest" in err
    assert "for 24 h" in err and "60.00 USD/h" in err


def test_cli_snapshot_is_refused_once(monkeypatch, tmp_path, capsys) -> None:
    assert _cli(monkeypatch, tmp_path, None, "--pricing", "snapshot") == 2
    err = capsys.readouterr().err
    assert err.count("not offered with --pricing snapshot") == 1
