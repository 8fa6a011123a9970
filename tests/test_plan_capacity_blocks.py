"""`plan` with Capacity Blocks (issue 10 item 7): offerings fetched at the CLI edge through botocore's Stubber
(the documented DescribeCapacityBlockOfferings shape, exact requests), chosen with --capacity capacity-block
or shown as a trade-off, window and fee in the report and --json.

Hand-priced: 1 x p5.48xlarge in us-east-2 at $55.04/h on-demand, $20.00/h spot (synthetic round figures,
no real block price claimed); the 70B model plans on one instance (TP=8), realtime on-demand. A 48 h block
with a fee of $2,000.00 is $41.67/h; the same instance and hours cost 55.04 x 48 = $2,641.92 on-demand and
20 x 48 = $960.00 on spot.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pricing.aws import AWS_CONFIG
from tests.conftest import NOW

pytestmark = pytest.mark.usefixtures("fake_aws")
REGION = "us-east-2"
START = NOW + timedelta(days=2)
BASE = ["plan", "--model", "llama3.1-70b", "--region", REGION]


def item(offering_id: str, fee: str, hours: int = 48, count: int = 1, start=START) -> dict:
    return {"CapacityBlockOfferingId": offering_id, "InstanceType": "p5.48xlarge",
            "AvailabilityZone": "us-east-2a", "InstanceCount": count, "StartDate": start,
            "EndDate": start + timedelta(hours=hours), "CapacityBlockDurationHours": hours,
            "CapacityBlockDurationMinutes": 0, "UpfrontFee": fee, "CurrencyCode": "USD", "Tenancy": "default"}


def request(hours: int = 48, count: int = 1, **extra: Any) -> dict:
    return {"InstanceType": "p5.48xlarge", "InstanceCount": count, "CapacityDurationHours": hours, **extra}


def ec2_stub() -> tuple[Any, Stubber]:
    client = boto3.client("ec2", region_name=REGION, config=AWS_CONFIG)
    return client, Stubber(client)


def run(monkeypatch, tmp_path, ec2: Any, *argv: str) -> int:
    import pricing
    import pricing.capacity_blocks as blocks
    from llm_advisor.cli.main import main
    from tests.conftest import catalog, offer

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(blocks, "_ec2", lambda clients, region, mode: ec2)
    priced = catalog(offer("p5.48xlarge", 55.04, 20.0, region=REGION))
    monkeypatch.setattr(pricing, "load_priced_catalog", lambda regions, pricing=None: priced)
    return main([*BASE, *argv])


def test_hours_alone_show_the_block_as_a_trade_off_with_window_and_fee(monkeypatch, tmp_path, capsys) -> None:
    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-2", "2500.00"), item("cb-1", "2000.00")]},
                      request())
    with stub:
        assert run(monkeypatch, tmp_path, ec2, "--capacity-block-hours", "48", "--json") == 0
    stub.assert_no_pending_responses()
    plan = json.loads(capsys.readouterr().out)
    assert plan["placement"]["capacity_type"] == "on-demand" and plan["cost"]["usd_per_hour"] == 55.04
    block = plan["capacity_block"]
    assert block["chosen"] is False and block["offering"]["offering_id"] == "cb-1"  # the cheaper fee
    assert block["offering"]["availability_zone"] == "us-east-2a"
    assert block["offering"]["start"].startswith("2026-11-28T12:00")
    assert block["offering"]["end"].startswith("2026-11-30T12:00")
    assert block["offering"]["upfront_fee_usd"] == 2000.0 and block["usd_per_hour"] == pytest.approx(41.6667)
    assert block["on_demand_usd"] == pytest.approx(2641.92) and block["spot_usd"] == pytest.approx(960.0)
    assert block["plan_usd"] == pytest.approx(2641.92) and block["cheapest_assured"] == "capacity-block"
    (trade,) = [t for t in plan["tradeoffs"] if "Capacity Block" in t["rule"]]
    assert trade["unit"] == "USD total" and trade["plan_cost"] == pytest.approx(2641.92)
    assert trade["other_cost"] == 2000.0 and trade["other_is_cheaper"] is True


def test_capacity_block_asked_runs_in_it_at_the_fee_over_the_window(monkeypatch, tmp_path, capsys) -> None:
    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-1", "2000.00")]}, request())
    with stub:
        assert run(monkeypatch, tmp_path, ec2, "--capacity", "capacity-block",
                   "--capacity-block-hours", "48") == 0
    out = capsys.readouterr().out
    assert "1 x p5.48xlarge in us-east-2, on-demand, in Capacity Block offering cb-1" in out
    assert "cost $41.67/h expected, $41.67/h billed" in out  # 2000 / 48
    assert ("runs in a Capacity Block: 1 x p5.48xlarge, 2026-11-28 12:00 .. 2026-11-30 12:00 UTC (48 h) in "
            "us-east-2a, offering cb-1") in out
    assert "fee $2,000.00 up front ($41.67/h)" in out and "on-demand $2,641.92, spot $960.00" in out
    assert "plan $2,000.00 total vs $2,641.92 total" in out and "nothing was purchased" in out


def test_a_dearer_block_asked_for_is_kept_and_says_what_on_demand_costs(monkeypatch, tmp_path, capsys,
                                                                        ) -> None:
    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-9", "3000.00")]}, request())
    with stub:
        assert run(monkeypatch, tmp_path, ec2, "--capacity", "capacity-block", "--capacity-block-hours", "48",
                   "--json") == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["cost"]["usd_per_hour"] == pytest.approx(62.5)  # 3000 / 48
    assert plan["capacity_block"]["cheapest_assured"] == "on-demand"
    assert any("costs $3,000.00 where on-demand costs $2,641.92" in w for w in plan["warnings"])


def test_the_start_window_is_sent_to_aws(monkeypatch, tmp_path, capsys) -> None:
    ec2, stub = ec2_stub()
    after, before = NOW + timedelta(days=1), NOW + timedelta(days=5)
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-1", "2000.00")]},
                      request(StartDateRange=after, EndDateRange=before))
    with stub:
        assert run(monkeypatch, tmp_path, ec2, "--capacity-block-hours", "48", "--capacity-block-start-after",
                   "2026-11-27T12:00", "--capacity-block-end-before", "2026-12-01T12:00+00:00") == 0
    stub.assert_no_pending_responses()


def test_batch_work_asks_for_the_shortest_block_that_holds_it_and_pays_the_fee_whole(
        monkeypatch, tmp_path, capsys) -> None:
    # 120 M output tokens at the batch plan's rate take 24..48 h of work: a 48 h block is asked for.
    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-1", "2000.00")]}, request(48))
    with stub:
        assert run(monkeypatch, tmp_path, ec2, "--workload", "batch", "--batch-output-tokens", "120000000",
                   "--capacity", "capacity-block", "--max-time-per-output-token-ms", "100", "--json") == 0
    stub.assert_no_pending_responses()
    plan = json.loads(capsys.readouterr().out)
    batch = plan["batch"]
    assert 24 < batch["work_hours"] <= 48 and batch["hours"] == batch["work_hours"]
    assert batch["total_usd"] == 2000.0
    assert batch["usd_per_million_output_tokens"] == pytest.approx(2000 / 120, abs=1e-4)


def test_snapshot_pricing_says_once_that_blocks_have_no_figure(monkeypatch, tmp_path, capsys) -> None:
    assert run(monkeypatch, tmp_path, None, "--capacity-block-hours", "48", "--pricing", "snapshot") == 0
    captured = capsys.readouterr()
    assert captured.err.count("not offered with --pricing snapshot") == 1
    assert "Capacity Block" not in captured.out.split("Why:")[0]


def test_capacity_block_with_snapshot_pricing_exits_2(monkeypatch, tmp_path, capsys) -> None:
    assert run(monkeypatch, tmp_path, None, "--capacity", "capacity-block", "--capacity-block-hours", "48",
               "--pricing", "snapshot") == 2
    assert capsys.readouterr().err.count("not offered with --pricing snapshot") == 1


def test_capacity_block_with_no_offering_exits_2_naming_the_nearest(monkeypatch, tmp_path, capsys) -> None:
    ec2, stub = ec2_stub()
    stub.add_response("describe_capacity_block_offerings", {"CapacityBlockOfferings": []}, request(48))
    stub.add_response("describe_capacity_block_offerings",
                      {"CapacityBlockOfferings": [item("cb-24", "1200.00", hours=24)]}, request(24))
    with stub:
        assert run(monkeypatch, tmp_path, ec2, "--capacity", "capacity-block", "--capacity-block-hours",
                   "48") == 2
    err = capsys.readouterr().err
    assert "no Capacity Block offering for 1 x p5.48xlarge for 48 h in us-east-2; nearest" in err
    assert "for 24 h" in err and "50.00 USD/h" in err  # 1200 / 24


@pytest.mark.parametrize(("argv", "message"), [
    (["--capacity", "capacity-block"], "capacity-block needs the window"),
    (["--capacity-block-hours", "50"], "nearest: 48 h or 72 h"),
    (["--capacity-block-start-after", "2026-12-01"], "needs --capacity-block-hours"),
])
def test_bad_block_options_exit_2_naming_the_option(monkeypatch, tmp_path, capsys, argv, message) -> None:
    assert run(monkeypatch, tmp_path, None, *argv) == 2
    assert message in capsys.readouterr().err


def test_the_planner_step_is_pure_and_ignores_other_layouts() -> None:
    from llm_advisor.planner import make_plan
    from llm_advisor.planner.capacity_block import BlockRequest, apply_capacity_blocks
    from llm_advisor.planner.models import Workload
    from pricing.models import CapacityBlockOffering
    from tests.conftest import catalog, offer

    cat = catalog(offer("p5.48xlarge", 55.04, 20.0, region=REGION))
    workload = Workload(model="llama3.1-70b", regions=(REGION,), capacity_block_hours=48)
    plan = make_plan(workload, cat)
    other = CapacityBlockOffering(
        offering_id="cb-x", instance_type="p5.48xlarge", region=REGION, availability_zone="us-east-2a",
        instance_count=2, start=START, end=START + timedelta(hours=48), duration_hours=48,
        upfront_fee_usd=100.0, price_source="live", fetched_at=NOW)
    same = apply_capacity_blocks(plan, workload, cat, BlockRequest(REGION, "p5.48xlarge", 1, 48), [other])
    assert same.capacity_block is None and same.cost == plan.cost
