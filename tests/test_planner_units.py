"""Planner building blocks with hand-derived numbers: capacity costing (step time: test_throughput_model)."""

from __future__ import annotations

import pytest

from llm_advisor.planner.costing import MIXED_MIN_SAVING, choose_capacity
from llm_advisor.planner.throughput import usd_per_million_output_tokens
from tests.conftest import price


def test_usd_per_million_output_tokens():
    # $10/h over 1000 tokens/s x 3600 s = 3.6 M tokens/h -> $2.7778 per million.
    assert usd_per_million_output_tokens(10.0, 1000.0) == pytest.approx(2.7778, abs=1e-4)
    assert usd_per_million_output_tokens(10.0, 0.0) is None


# Hand figures (pricing/economics.py's model): band 0 = 2.5 %/month -> 0.025 / 730 interruptions per hour.
RATE = 0.025 / 730


def test_batch_auto_buys_spot_with_interruption_overhead():
    c = choose_capacity(price(), 4, 1, "batch", "auto")
    # batch: spot / (1 - rate x 15 min) per instance, x 4.
    assert c.capacity_type == "spot" and c.spot_instances == 4 and c.on_demand_instances == 0
    assert c.usd_per_hour == pytest.approx(4 * 3.0 / (1 - RATE * 0.25), abs=1e-4)
    assert c.billed_usd_per_hour == pytest.approx(12.0)


def test_realtime_auto_uses_on_demand_base_plus_spot_burst_when_it_saves_enough():
    c = choose_capacity(price(), 4, 1, "realtime", "auto")
    # band 0: base = ceil(4 x 0.5) = 2 on-demand, 2 spot at 3 + rate x (13/60 h) x 10.
    assert (c.capacity_type, c.on_demand_instances, c.spot_instances) == ("mixed", 2, 2)
    assert c.usd_per_hour == pytest.approx(2 * 10 + 2 * (3 + RATE * 13 / 60 * 10), abs=1e-4)
    assert c.usd_per_hour <= 40 * (1 - MIXED_MIN_SAVING)


def test_realtime_auto_single_instance_and_risky_band_stay_on_demand():
    assert choose_capacity(price(), 1, 1, "realtime", "auto").capacity_type == "on-demand"
    risky = choose_capacity(price(band=4), 4, 1, "realtime", "auto")
    assert (risky.capacity_type, risky.usd_per_hour) == ("on-demand", 40.0)


def test_explicit_capacity_and_missing_prices():
    assert choose_capacity(price(), 2, 1, "batch", "on-demand").usd_per_hour == 20.0
    assert choose_capacity(price(), 2, 1, "realtime", "spot").capacity_type == "spot"
    assert choose_capacity(price(spot=None), 2, 1, "batch", "auto").capacity_type == "on-demand"
    assert choose_capacity(price(spot=None), 2, 1, "batch", "spot") is None
    assert choose_capacity(price(od=None), 2, 1, "realtime", "auto") is None
    # p5e-style: no on-demand, batch may still run on spot
    assert choose_capacity(price(od=None), 2, 1, "batch", "auto").capacity_type == "spot"


def test_multi_node_replicas_are_split_whole():
    # 2 replicas of 2 instances each, realtime mixed at band 0: 1 replica on-demand (2 instances), 1 spot.
    c = choose_capacity(price(), 4, 2, "realtime", "mixed")
    assert (c.on_demand_instances, c.spot_instances) == (2, 2)


# --- one hand-derived test per roofline term (issue 4 review: KV read, TP all-reduce, PP bubble) ---------


