"""Hourly cost of a layout under each capacity type, and the capacity the workload should buy (pure).

Rules (issue 4):
- batch work: spot at its expected cost (interruption overhead from pricing.economics) when `auto` and
  cheaper than on-demand; `spot`/`on-demand` when asked.
- realtime serving: on-demand; with `auto` or `mixed`, an on-demand base + spot burst
  (pricing.economics.mixed_capacity_split) when it saves at least MIXED_MIN_SAVING: below that, running two
  node groups (EKS managed node groups are all-spot or all-on-demand) is not worth the operational cost.
- Spot is priced at the median across the region's AZs (spot_price_usd_per_hour), not the cheapest AZ.
- `mixed` asked explicitly with >= 2 units gets at least one spot unit even where the interruption-band
  split would keep all on-demand (CapacityCost.forced_spot; the explanation states its cost): the user asked
  for two node groups. One unit cannot be split: all on-demand, with a plan warning saying why.
- `capacity-block` is searched as on-demand (uninterruptible, same instances); the block's fee over its
  window replaces the cost afterwards, for the planned layout only (planner/capacity_block.py).
- Capacity is split in whole units: an instance, or all the instances of a replica that spans several
  (a spot interruption of one node takes the whole pipeline down).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pricing.economics import effective_spot_usd_per_hour, mixed_capacity_split
from pricing.models import InstancePrice
from sizing.vocabulary import CapacityType, WorkloadType

MIXED_MIN_SAVING = 0.10


def spot_price_usd_per_hour(price: InstancePrice) -> float | None:
    """The spot price a plan is costed at: the median across the region's AZs, not the cheapest AZ.

    The deployment does not choose its AZ by spot price (its subnets and the ASG's allocation strategy
    do), and one AZ can be far below the rest (p4d.24xlarge, us-east-1: use1-az1 $2.47/h, the other AZs
    $7.88-8.19/h), so the minimum (InstancePrice.spot_usd_per_hour) would promise a cost the fleet does
    not get. The median (spot_median_usd_per_hour, from pricing) is what a random AZ most likely pays.
    """
    if price.spot_median_usd_per_hour is not None:
        return price.spot_median_usd_per_hour
    return price.spot_usd_per_hour


@dataclass(frozen=True, slots=True)
class CapacityCost:
    """The capacity chosen for one layout and what it costs per hour."""

    capacity_type: CapacityType
    usd_per_hour: float  # expected: spot includes its interruption overhead
    billed_usd_per_hour: float  # what AWS bills at list/spot price
    on_demand_instances: int
    spot_instances: int
    forced_spot: bool = False  # `mixed` asked: one unit moved to spot that the band split kept on-demand


def _spot_unit_usd(
    price: InstancePrice, workload_type: WorkloadType, instances_per_unit: int
) -> float | None:
    spot = spot_price_usd_per_hour(price)
    if spot is None:
        return None
    return effective_spot_usd_per_hour(
        spot,
        price.on_demand_usd_per_hour,
        price.interruption_band,
        workload_type,
        instances=instances_per_unit,
    )


def _cost(od_n: int, spot_n: int, price: InstancePrice, spot_eff: float | None) -> CapacityCost | None:
    od, spot = price.on_demand_usd_per_hour, spot_price_usd_per_hour(price)
    if (od_n and od is None) or (spot_n and (spot_eff is None or spot is None)):
        return None
    kind: CapacityType = "mixed" if od_n and spot_n else ("spot" if spot_n else "on-demand")
    expected = od_n * (od or 0.0) + spot_n * (spot_eff or 0.0)
    billed = od_n * (od or 0.0) + spot_n * (spot or 0.0)
    return CapacityCost(kind, round(expected, 4), round(billed, 4), od_n, spot_n)


def _mixed(
    units: int,
    per_unit: int,
    price: InstancePrice,
    workload_type: WorkloadType,
    spot_eff: float | None,
    at_least_one_spot: bool = False,
) -> CapacityCost | None:
    od_units, spot_units = mixed_capacity_split(units, workload_type, price.interruption_band)
    forced = at_least_one_spot and spot_units == 0 and units >= 2
    if forced:
        od_units, spot_units = units - 1, 1
    cost = _cost(od_units * per_unit, spot_units * per_unit, price, spot_eff)
    return replace(cost, forced_spot=True) if cost is not None and forced else cost


def choose_capacity(
    price: InstancePrice,
    instance_count: int,
    instances_per_unit: int,
    workload_type: WorkloadType,
    preference: str,
) -> CapacityCost | None:
    """The cheapest acceptable capacity for `instance_count` instances, or None when it cannot be bought."""
    units = instance_count // instances_per_unit
    spot_eff = _spot_unit_usd(price, workload_type, instances_per_unit)
    on_demand = _cost(instance_count, 0, price, spot_eff)
    spot = _cost(0, instance_count, price, spot_eff)
    if preference in ("on-demand", "capacity-block"):
        # A Capacity Block runs the same instances, never interrupted: the layout is searched at on-demand
        # cost, and the block's fee replaces it afterwards (planner/capacity_block.py) once the offerings
        # for the planned layout are known (fetched at the CLI edge).
        return on_demand
    if preference == "spot":
        return spot
    if preference == "mixed":
        return _mixed(units, instances_per_unit, price, workload_type, spot_eff, at_least_one_spot=True)
    if workload_type == "batch":
        options = [c for c in (on_demand, spot) if c is not None]
        return min(options, key=lambda c: (c.usd_per_hour, c.capacity_type)) if options else None
    mixed = _mixed(units, instances_per_unit, price, workload_type, spot_eff)
    if on_demand is None:
        return mixed if mixed is not None and mixed.spot_instances else None
    if mixed is not None and mixed.usd_per_hour <= on_demand.usd_per_hour * (1 - MIXED_MIN_SAVING):
        return mixed
    return on_demand


def discounted(price: InstancePrice, discount: float) -> InstancePrice:
    """`price` with the workload's on-demand discount applied (Savings Plans, an enterprise agreement).

    Only the on-demand rate moves: AWS Savings Plans discount On-Demand usage, and Spot is billed at the
    Spot price (AWS Savings Plans User Guide, "What are Savings Plans?"); the realtime spot cost's
    on-demand cover (pricing.economics) is then discounted too, as it is on-demand usage."""
    od = price.on_demand_usd_per_hour
    if not discount or od is None:
        return price
    return price.model_copy(update={"on_demand_usd_per_hour": round(od * (1 - discount), 6)})


def capacity_options(
    price: InstancePrice, instance_count: int, instances_per_unit: int, workload_type: WorkloadType
) -> dict[str, CapacityCost]:
    """What the same layout costs all on-demand, all spot, and split by the interruption band (mixed):
    what `auto` chose among, for the explanation of why it did not take a cheaper one."""
    units = instance_count // instances_per_unit
    spot_eff = _spot_unit_usd(price, workload_type, instances_per_unit)
    out = {
        "on-demand": _cost(instance_count, 0, price, spot_eff),
        "spot": _cost(0, instance_count, price, spot_eff),
        "mixed": _mixed(units, instances_per_unit, price, workload_type, spot_eff),
    }
    return {k: v for k, v in out.items() if v is not None}
