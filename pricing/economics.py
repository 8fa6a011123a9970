"""Spot versus on-demand economics (pure): interruption rates, effective spot cost, on-demand base + burst.

Interruption model. AWS gives a Spot Instance a two-minute interruption notice before it stops or
terminates it (EC2 User Guide, "Spot Instance interruption notices"). Two minutes is enough to stop
taking requests and checkpoint, not to boot a GPU node and load model weights, so every interruption
costs `recovery_minutes` of paid time without output (replacement launch + weight load + re-done
in-flight work):

* batch: those minutes are lost work, so a spot hour buys only (1 - lost share) of an hour's output;
  effective price = spot / (1 - interruptions_per_hour x recovery_hours).
* realtime: the gap (recovery minus the 2-minute head start the notice gives the replacement) is
  covered by on-demand capacity so the service keeps its throughput; effective price =
  spot + interruptions_per_hour x gap_hours x on-demand price.

Interruptions per hour come from the Spot Advisor band (percent of instances interrupted per month,
midpoint of the band) over the hours an instance runs in that month: 730 by default (AWS's monthly-hours
convention: 24 x 365 / 12), i.e. an always-on serving fleet. The Spot Advisor rate counts instances
interrupted, whatever their lifetime, so for instances that live shorter than a month the per-hour rate
is higher: 730 h gives a LOWER BOUND on the interruption cost; pass `instance_hours_per_month` (the
mean hours one instance runs before it is replaced or stopped, capped at 730) to model shorter lives.

Risk words follow the Spot Advisor bands (<5 %, 5-10 %, 10-15 %, 15-20 %, >20 %; the lower edge belongs
to the upper band, so exactly 5.0 % is "5-10 %"): low = <5 %, medium = 5-15 %, high = 15 % and more.
"""

from __future__ import annotations

import math
from typing import Literal

from pricing.errors import PricingError
from pricing.models import InstancePrice, SpotComparison
from sizing.vocabulary import WorkloadType

HOURS_PER_MONTH = 730.0
HOURS_PER_DAY = 24.0
SPOT_NOTICE_MINUTES = 2.0  # EC2 User Guide, "Spot Instance interruption notices"
# Paid minutes without output per interruption (replacement launch + weight load + re-done work), by default.
RECOVERY_MINUTES = 15.0
# Midpoints of the Spot Advisor bands <5 %, 5-10 %, 10-15 %, 15-20 %, >20 % (percent per month). The
# last band is open-ended: 25 % is the midpoint of 20-30 %, an assumption, not an AWS figure.
BAND_MIDPOINT_PCT = (2.5, 7.5, 12.5, 17.5, 25.0)
# A type the Spot Advisor does not list is planned as the riskiest band.
UNKNOWN_BAND_PCT = BAND_MIDPOINT_PCT[-1]
# Realtime on-demand share: half the replicas at band 0, +12.5 points per band, all at band 4/unknown.
REALTIME_BASE_SHARE = (0.5, 0.625, 0.75, 0.875, 1.0)


def _check_band(band: int | None) -> None:
    if band is not None and not 0 <= band < len(BAND_MIDPOINT_PCT):
        raise PricingError(f"interruption band {band} is not a Spot Advisor band; use 0..4 "
                           "(<5%, 5-10%, 10-15%, 15-20%, >20%) or None when unknown")


def _check_workload(workload_type: str) -> None:
    if workload_type not in ("realtime", "batch"):
        raise PricingError(f"workload_type {workload_type!r} is not one of realtime, batch")


def interruption_rate_per_month(band: int | None) -> float:
    """Percent of spot instances interrupted per month (7.5 means 7.5 %): the midpoint of the Spot
    Advisor band; None (type not in the advisor table) is planned as the worst band (25 %)."""
    _check_band(band)
    return UNKNOWN_BAND_PCT if band is None else BAND_MIDPOINT_PCT[band]


def _effective(
    spot: float, on_demand: float | None, rate_pct: float, workload_type: str, instances: int,
    recovery_minutes: float, instance_hours_per_month: float = HOURS_PER_MONTH,
) -> float:
    """Expected USD per useful instance-hour on spot, given a monthly interruption rate in percent."""
    if spot <= 0 or instances < 1 or recovery_minutes < 0 or not 0 <= rate_pct <= 100:
        raise PricingError(f"need spot > 0, instances >= 1, recovery_minutes >= 0 and a 0..100 % rate; "
                           f"got spot={spot}, instances={instances}, recovery_minutes={recovery_minutes}, "
                           f"rate={rate_pct}")
    if not 0 < instance_hours_per_month <= HOURS_PER_MONTH:
        raise PricingError(f"instance_hours_per_month must be in (0, {HOURS_PER_MONTH:g}]; got "
                           f"{instance_hours_per_month} (use {HOURS_PER_MONTH:g} for an always-on instance)")
    # A replica spanning `instances` nodes stalls when any one of them is interrupted.
    per_hour = rate_pct / 100 / instance_hours_per_month * instances
    if workload_type == "batch":
        lost_share = per_hour * recovery_minutes / 60
        if lost_share >= 1:
            raise PricingError(f"spot loses all work at {rate_pct} %/month with {recovery_minutes} min "
                               "recovery; use on-demand")
        return spot / (1 - lost_share)
    gap_hours = max(recovery_minutes - SPOT_NOTICE_MINUTES, 0.0) / 60
    return spot + per_hour * gap_hours * (on_demand if on_demand is not None else spot)


def effective_spot_usd_per_hour(
    spot_usd_per_hour: float,
    on_demand_usd_per_hour: float | None,
    interruption_band: int | None,
    workload_type: WorkloadType,
    *,
    instances: int = 1,
    recovery_minutes: float = RECOVERY_MINUTES,
    instance_hours_per_month: float = HOURS_PER_MONTH,
) -> float:
    """Expected spot cost per useful instance-hour including interruptions (see the module docstring).

    `instances`: nodes that must all be up for one replica (multi-node TP/PP); one interruption
    stalls them all, so the replica's interruption rate is `instances` times the per-node rate.
    `instance_hours_per_month`: hours one instance runs per month; the 730 default (always on) is
    the lower bound of the interruption cost.
    """
    _check_band(interruption_band)
    _check_workload(workload_type)
    rate = interruption_rate_per_month(interruption_band)
    return _effective(spot_usd_per_hour, on_demand_usd_per_hour, rate, workload_type, instances,
                      recovery_minutes, instance_hours_per_month)


def mixed_capacity_split(
    instance_count: int, workload_type: WorkloadType, interruption_band: int | None,
) -> tuple[int, int]:
    """(on-demand base, spot) instances for `instance_count` instances.

    Batch: all spot (interruptions only cost time, priced by effective_spot_usd_per_hour).
    Realtime: an on-demand base of ceil(count x share), never fewer than one, where share is 50 % at
    band 0 and rises 12.5 points per band to 100 % at >20 %/month or unknown risk; the spot part is
    burst capacity, so an interruption lowers throughput but never takes the service down.
    (EKS managed node groups are all-spot or all-on-demand: this split means two node groups.)
    """
    if instance_count < 1:
        raise PricingError(f"instance_count must be at least 1, got {instance_count}")
    _check_workload(workload_type)
    _check_band(interruption_band)
    if workload_type == "batch":
        return 0, instance_count
    share = REALTIME_BASE_SHARE[-1 if interruption_band is None else interruption_band]
    base = min(instance_count, max(1, math.ceil(instance_count * share)))
    return base, instance_count - base


# Lower edges (percent per month) of Spot Advisor bands 1..4; a rate on an edge belongs to the upper band.
BAND_LOWER_EDGES_PCT = (5.0, 10.0, 15.0, 20.0)
RISK_OF_BAND: tuple[Literal["low", "medium", "high"], ...] = ("low", "medium", "medium", "high", "high")


def band_of_rate(rate_pct: float) -> int:
    """The Spot Advisor band (0..4) a monthly interruption rate falls in: 4.99 -> 0 (<5 %), 5.0 -> 1."""
    return sum(rate_pct >= edge for edge in BAND_LOWER_EDGES_PCT)


def _risk(rate_pct: float) -> Literal["low", "medium", "high"]:
    return RISK_OF_BAND[band_of_rate(rate_pct)]


def _recommended_share(workload_type: str, risk: str, savings: float, rate_pct: float) -> float:
    """On-demand share of what _recommend recommends (0 = all spot, 1 = all on demand)."""
    if savings <= 0 or (workload_type == "realtime" and risk == "high"):
        return 1.0
    return 0.0 if workload_type == "batch" else REALTIME_BASE_SHARE[band_of_rate(rate_pct)]


def _recommend(workload_type: str, risk: str, savings: float, share: float) -> str:
    if savings <= 0:
        return "on-demand: spot saves nothing once interruptions are priced in"
    if workload_type == "batch":
        return f"spot: saves ${savings:,.2f}/day after re-done work" + (
            "; checkpoint often, interruptions are frequent" if risk == "high" else "")
    if risk == "high":
        return "on-demand: interruptions too frequent for real-time serving"
    return (f"on-demand base + spot burst: {share:.1%} of capacity on demand (see recommended_daily), "
            "enough on-demand replicas to meet the latency target")


def compare_spot_ondemand(
    gpu_name: str,
    on_demand_hourly: float,
    spot_discount_pct: float = 0.70,
    spot_interruption_rate_pct: float = 5.0,
    workload_type: str = "batch",
) -> SpotComparison:
    """Daily cost of one instance on demand versus spot (the original notes' signature).

    on_demand_daily / spot_daily / daily_savings_usd compare all on demand with all spot (the notes'
    keys); recommended_* price what `recommendation` says, e.g. for realtime the on-demand base share of
    mixed_capacity_split's rule (50 % at <5 %/month ... 100 % at >20 %) plus spot for the rest.

    `spot_discount_pct` is a fraction as in the notes (0.70 = spot costs 30 % of on-demand);
    `spot_interruption_rate_pct` is percent of instances interrupted per month. Prefer
    compare_offer_prices, which uses the real live discount and the Spot Advisor band.
    """
    _check_workload(workload_type)
    if on_demand_hourly <= 0 or not 0 <= spot_discount_pct < 1:
        raise PricingError(f"need on_demand_hourly > 0 and 0 <= spot_discount_pct < 1 (a fraction: 0.70 "
                           f"= 70 % off); got {on_demand_hourly}, {spot_discount_pct}")
    spot = on_demand_hourly * (1 - spot_discount_pct)
    effective = _effective(spot, on_demand_hourly, spot_interruption_rate_pct, workload_type, 1,
                           RECOVERY_MINUTES)
    on_demand_daily = on_demand_hourly * HOURS_PER_DAY
    spot_daily = effective * HOURS_PER_DAY
    savings = on_demand_daily - spot_daily
    risk = _risk(spot_interruption_rate_pct)
    share = _recommended_share(workload_type, risk, savings, spot_interruption_rate_pct)
    recommended_daily = share * on_demand_daily + (1 - share) * spot_daily
    return SpotComparison(
        gpu_name=gpu_name, workload_type=workload_type, on_demand_daily=round(on_demand_daily, 2),
        spot_daily=round(spot_daily, 2), daily_savings_usd=round(savings, 2), interruption_risk=risk,
        recommendation=_recommend(workload_type, risk, savings, share),
        recommended_on_demand_share=share, recommended_daily=round(recommended_daily, 2),
        recommended_daily_savings_usd=round(on_demand_daily - recommended_daily, 2),
    )


def spot_discount(price: InstancePrice) -> float | None:
    """Real spot discount of an offer, as a fraction of on-demand (0.65 = 65 % off); None if unknown."""
    if price.on_demand_usd_per_hour is None or price.spot_usd_per_hour is None:
        return None
    return 1 - price.spot_usd_per_hour / price.on_demand_usd_per_hour


def compare_offer_prices(gpu_name: str, price: InstancePrice, workload_type: WorkloadType) -> SpotComparison:
    """compare_spot_ondemand with the offer's real discount and Spot Advisor band instead of assumptions."""
    discount = spot_discount(price)
    if discount is None or price.on_demand_usd_per_hour is None:
        raise PricingError(f"{price.instance_type} in {price.region} lacks an on-demand or spot price; "
                           "compare needs both (pick a type with both, e.g. from `advisor prices`)")
    return compare_spot_ondemand(gpu_name, price.on_demand_usd_per_hour, max(discount, 0.0),
                                 interruption_rate_per_month(price.interruption_band), workload_type)
