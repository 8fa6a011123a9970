"""Spot versus on-demand economics: expected values derived by hand from the module's documented model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pricing import InstancePrice, PricingError
from pricing.economics import (
    band_of_rate,
    compare_offer_prices,
    compare_spot_ondemand,
    effective_spot_usd_per_hour,
    interruption_rate_per_month,
    mixed_capacity_split,
    spot_discount,
)


@pytest.mark.parametrize(("band", "pct"), [(0, 2.5), (1, 7.5), (2, 12.5), (3, 17.5), (4, 25.0), (None, 25.0)])
def test_interruption_rate_is_the_band_midpoint(band: int | None, pct: float) -> None:
    assert interruption_rate_per_month(band) == pct


def test_unknown_band_number_is_refused() -> None:
    with pytest.raises(PricingError, match="use 0..4"):
        interruption_rate_per_month(5)


def test_batch_effective_price_adds_re_done_work() -> None:
    # band 4: 25 %/month / 730 h = 3.4247e-4 interruptions per hour; 15 min lost each ->
    # lost share 8.5616e-5; 10 / (1 - 8.5616e-5) = 10.000856
    assert effective_spot_usd_per_hour(10.0, 30.0, 4, "batch") == pytest.approx(10.000856, abs=1e-6)


def test_realtime_effective_price_covers_the_gap_with_on_demand() -> None:
    # band 2: 12.5 %/month / 730 = 1.7123e-4 per hour; gap 15 - 2 (notice) = 13 min;
    # 10 + 1.7123e-4 x 13/60 x 30 = 10.001113
    assert effective_spot_usd_per_hour(10.0, 30.0, 2, "realtime") == pytest.approx(10.001113, abs=1e-6)


def test_multi_node_replicas_multiply_the_interruption_rate() -> None:
    one = effective_spot_usd_per_hour(10.0, 30.0, 4, "batch", recovery_minutes=60)
    two = effective_spot_usd_per_hour(10.0, 30.0, 4, "batch", instances=2, recovery_minutes=60)
    # lost share 3.4247e-4 per node-hour x 1 h: one node 10.003426, two nodes 10.006855
    assert (one, two) == (pytest.approx(10.003426, abs=1e-6), pytest.approx(10.006855, abs=1e-6))


def test_effective_price_refuses_nonsense() -> None:
    with pytest.raises(PricingError, match="spot > 0"):
        effective_spot_usd_per_hour(0.0, 1.0, 0, "batch")
    with pytest.raises(PricingError, match="realtime, batch"):
        effective_spot_usd_per_hour(1.0, 1.0, 0, "stream")  # type: ignore[arg-type]


@pytest.mark.parametrize(("count", "workload", "band", "split"), [
    (4, "batch", 4, (0, 4)),        # batch: all spot
    (1, "realtime", 0, (1, 0)),     # a single realtime instance stays on demand
    (4, "realtime", 0, (2, 2)),     # 50 % at band 0
    (8, "realtime", 1, (5, 3)),     # ceil(8 x 0.625) = 5
    (4, "realtime", 3, (4, 0)),     # ceil(4 x 0.875) = 4
    (10, "realtime", None, (10, 0)),  # unknown risk: all on demand
])
def test_mixed_capacity_split(count: int, workload: str, band: int | None, split: tuple[int, int]) -> None:
    assert mixed_capacity_split(count, workload, band) == split  # type: ignore[arg-type]


def test_notes_compare_spot_ondemand_keeps_its_signature_and_keys() -> None:
    result = compare_spot_ondemand("H100", 55.04)
    # on demand 55.04 x 24 = 1320.96; spot 30 % of it = 16.512/h; 5 %/month, 15 min lost:
    # 16.512 x 24 / (1 - 0.05/730/4) = 396.288 x 1.0000171 = 396.2948; savings 1320.96 - 396.2948
    assert result["on_demand_daily"] == 1320.96
    assert result["spot_daily"] == 396.29
    assert result["daily_savings_usd"] == 924.67
    assert result["interruption_risk"] == "medium"
    assert result["recommendation"].startswith("spot")
    assert set(result.keys()) >= {"on_demand_daily", "spot_daily", "daily_savings_usd", "interruption_risk",
                                  "recommendation"}


def test_realtime_with_frequent_interruptions_stays_on_demand() -> None:
    result = compare_spot_ondemand("L4", 0.805, spot_interruption_rate_pct=25.0, workload_type="realtime")
    assert result.interruption_risk == "high" and result.recommendation.startswith("on-demand")
    low = compare_spot_ondemand("L4", 0.805, spot_interruption_rate_pct=2.5, workload_type="realtime")
    assert low.recommendation.startswith("on-demand base + spot burst")


def test_discount_is_a_fraction_as_in_the_notes() -> None:
    with pytest.raises(PricingError, match="a fraction"):
        compare_spot_ondemand("H100", 55.04, spot_discount_pct=70)


def test_real_discount_from_prices() -> None:
    price = InstancePrice(instance_type="p5.48xlarge", region="us-east-1", on_demand_usd_per_hour=55.04,
                          spot_usd_per_hour=17.6289, spot_median_usd_per_hour=23.45,
                          spot_usd_per_hour_by_az={"use1-az6": 17.6289}, interruption_band=0,
                          interruption_frequency="<5%", price_source="live",
                          prices_as_of=datetime(2026, 11, 26, tzinfo=UTC))
    assert spot_discount(price) == pytest.approx(1 - 17.6289 / 55.04)
    result = compare_offer_prices("H100", price, "batch")
    # 17.6289 x 24 / (1 - 0.025/730/4) = 423.0936 x 1.0000086 = 423.0972
    assert result.spot_daily == pytest.approx(423.10, abs=0.01)
    assert result.interruption_risk == "low"


# Pricing third review #9. Economics: the recommended mix is priced; band edges follow the Spot Advisor's.
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
