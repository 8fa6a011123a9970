"""Spot and on-demand capacity of a plan: spot priced at the median AZ, spot diversification
without riskier interruption bands, --capacity mixed asked explicitly.

From the planner review findings #6 #30 and the second review's #12."""

from __future__ import annotations

import pytest

from llm_advisor.planner import Workload, make_plan
from llm_advisor.planner.costing import choose_capacity
from pricing.models import InstancePrice, Offer
from tests.conftest import (
    AS_OF,
    FACTS,
    G6_X,
    G6E_X,
    LLAMA8,
    catalog,
    offer,
    price,
)

# --- #6: spot at the median across AZs ------------------------------------------------------------------


def _spread_offer() -> Offer:
    by_az = {"use1-az4": 0.80, "use1-az1": 0.20, "use1-az2": 0.70}
    price = InstancePrice(
        instance_type="g6.xlarge",
        region="us-east-1",
        on_demand_usd_per_hour=G6_X,
        spot_usd_per_hour=0.20,
        spot_median_usd_per_hour=0.70,
        spot_usd_per_hour_by_az=by_az,
        interruption_band=0,
        interruption_frequency=None,
        price_source="snapshot",
        prices_as_of=AS_OF,
    )
    return Offer(instance=FACTS["g6.xlarge"], price=price)


def test_spot_is_priced_at_the_median_az_and_the_plan_lists_the_az_ids():
    w = Workload(model=LLAMA8, concurrency=4, max_model_len=2048, workload_type="batch", capacity="spot")
    plan = make_plan(w, catalog(_spread_offer()))
    assert plan.cost.billed_usd_per_hour == pytest.approx(0.70)  # the median, not use1-az1's $0.20
    assert "median across 3 AZs" in plan.explanation
    assert plan.placement.availability_zone_ids == ("use1-az1", "use1-az2", "use1-az4")


# --- #30: spot diversification never adds a riskier interruption band -------------------------------------


def test_spot_types_leave_out_worse_interruption_bands():
    # g6e.xlarge (band 1, 5-10%) chosen on spot; g6e.2xlarge same price band 1 (listed), g6e.4xlarge
    # same price band 4 (>20%: left out, the expected spot cost assumed band 1).
    cat = catalog(
        offer("g6e.xlarge", G6E_X, spot=0.90, band=1),
        offer("g6e.2xlarge", 2.24, spot=0.92, band=1),
        offer("g6e.4xlarge", 3.0, spot=0.91, band=4),
    )
    w = Workload(model=LLAMA8, concurrency=4, max_model_len=2048, workload_type="batch", capacity="spot")
    plan = make_plan(w, cat)
    assert plan.placement.instance_type == "g6e.xlarge"
    assert plan.placement.spot_instance_types == ("g6e.xlarge", "g6e.2xlarge")


# --- #12: --capacity mixed asked explicitly ---------------------------------------------------------------


def test_explicit_mixed_gets_one_spot_unit_where_the_band_split_keeps_all_on_demand():
    # band 4 (>20%/month): the realtime base share is 100%, so the split is 4 on-demand + 0 spot; mixed
    # asked explicitly puts one unit on spot: 3 x $10 + 1 x the effective spot price.
    c = choose_capacity(price(band=4), 4, 1, "realtime", "mixed")
    assert (c.capacity_type, c.on_demand_instances, c.spot_instances, c.forced_spot) == ("mixed", 3, 1, True)
    # auto keeps the saving rule: all on-demand at that band
    assert choose_capacity(price(band=4), 4, 1, "realtime", "auto").spot_instances == 0
    # multi-node units stay whole: 2 replicas of 2 nodes -> 2 on-demand + 2 spot
    c = choose_capacity(price(band=4), 4, 2, "realtime", "mixed")
    assert (c.on_demand_instances, c.spot_instances) == (2, 2)


def test_explicit_mixed_plan_states_the_cost_of_its_spot_unit():
    # 8B, 56 x 2048 on g6.xlarge needs 4 instances (test_realtime_mixed_base_plus_spot_burst...); at band
    # 4 the split keeps all 4 on-demand ($3.22/h); mixed asked: 3 on-demand + 1 spot.
    cat = catalog(offer("g6.xlarge", G6_X, spot=0.20, band=4))
    plan = make_plan(Workload(model=LLAMA8, concurrency=56, max_model_len=2048, capacity="mixed"), cat)
    assert (
        plan.placement.capacity_type,
        plan.placement.on_demand_instances,
        plan.placement.spot_instances,
    ) == ("mixed", 3, 1)
    assert "--capacity mixed as asked" in plan.explanation
    assert f"${4 * G6_X:,.2f}/h all on-demand" in plan.explanation


def test_explicit_mixed_on_one_instance_warns_why_it_is_all_on_demand():
    cat = catalog(offer("g6e.xlarge", G6E_X, spot=0.9, band=0))
    plan = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048, capacity="mixed"), cat)
    assert (plan.placement.capacity_type, plan.placement.instance_count) == ("on-demand", 1)
    assert any("--capacity mixed asked, but the plan has a single instance" in w for w in plan.warnings)
