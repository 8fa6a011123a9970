"""EC2 Capacity Blocks for ML in the plan (pure): which block to ask for, and what it does to the plan.

The offerings are fetched at the edge (the CLI's `plan`: pricing.capacity_blocks.load_capacity_blocks, live
or cached, never a snapshot figure) for the request `block_request` derives from the plan, and passed to
`apply_capacity_blocks`, like the priced catalog is passed to make_plan. Rules:

* What is asked for: the plan's own layout (instance type, instance count, region) for the window the work
  needs: Workload.capacity_block_hours, else, with capacity capacity-block and a batch volume, the shortest
  duration AWS sells that holds the job's work hours (a block is never interrupted: no re-done work).
* `--capacity capacity-block` searches layouts at on-demand cost (same instances, uninterruptible;
  planner/costing.py); the cheapest offering (then the earliest) replaces that cost: USD/h = upfront fee /
  window hours, the fee being paid whole whether the hours are used or not (EC2 User Guide, "Capacity
  Blocks for ML": the price is paid up front for the reserved window). It is chosen as asked even when
  on-demand over the same hours would cost less: the trade-off then says so with both figures (issue 10,
  item 2: a preference is honoured and its cost stated), since the reason to buy a block is assured
  capacity for GPU types on-demand often cannot supply.
* Otherwise (capacity_block_hours with another capacity) the block is a trade-off line: the plan over the
  same hours against the block's fee, with the window and the on-demand and spot figures.
* The comparison is pricing.capacity_blocks.compare: on-demand (after the workload's discount) and spot
  (the region's lowest) x instances x window hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from llm_advisor.planner.costing import discounted
from llm_advisor.planner.errors import PlanningError
from llm_advisor.planner.models import CapacityBlockOption, Plan, Tradeoff, Workload
from llm_advisor.planner.options import opt
from llm_advisor.planner.throughput import usd_per_million_output_tokens
from pricing.capacity_blocks import VALID_DURATIONS_H, compare, describe_window
from pricing.models import CapacityBlockOffering, PricedCatalog


@dataclass(frozen=True, slots=True)
class BlockRequest:
    """What to ask DescribeCapacityBlockOfferings for: the plan's layout over the window the work needs."""

    region: str
    instance_type: str
    instance_count: int
    hours: int
    start_after: datetime | None = None
    end_before: datetime | None = None


def window_hours(workload: Workload, plan: Plan) -> int | None:
    """The block duration to ask for, or None when no Capacity Block is wanted."""
    if workload.capacity_block_hours is not None:
        return workload.capacity_block_hours
    if workload.capacity != "capacity-block":
        return None
    if plan.batch is None:  # the Workload validator requires hours or a batch volume with capacity-block
        raise PlanningError(f"{opt('capacity', 'capacity-block')} needs {opt('capacity_block_hours')}")
    need = plan.batch.work_hours
    fits = [h for h in VALID_DURATIONS_H if h >= need]
    if not fits:
        raise PlanningError(
            f"{opt('capacity', 'capacity-block')}: the job needs {need:,.1f} h of work, longer than the "
            f"longest Capacity Block AWS sells ({VALID_DURATIONS_H[-1]} h, EC2 API reference, "
            f"CapacityDurationHours); set {opt('deadline_hours')} to run fleet copies side by side")
    return fits[0]


def block_request(workload: Workload, plan: Plan) -> BlockRequest | None:
    """The request for the plan's layout, or None when the workload wants no Capacity Block."""
    hours = window_hours(workload, plan)
    if hours is None:
        return None
    at = plan.placement
    return BlockRequest(at.region, at.instance_type, at.instance_count, hours,
                        workload.capacity_block_start_after, workload.capacity_block_end_before)


def apply_capacity_blocks(
    plan: Plan,
    workload: Workload,
    catalog: PricedCatalog,
    request: BlockRequest,
    offerings: Sequence[CapacityBlockOffering],
    warnings: Sequence[str] = (),
) -> Plan:
    """`plan` with the cheapest matching offering: chosen (capacity capacity-block) or as a trade-off.

    Offerings of another type, count, region or duration than `request` are ignored. With none left the
    plan is returned with `warnings` and, when a block was asked for, a PlanningError names the request."""
    matching = [o for o in offerings if (o.region, o.instance_type, o.instance_count) == (
        request.region, request.instance_type, request.instance_count) and o.duration_hours >= request.hours]
    asked = workload.capacity == "capacity-block"
    if not matching:
        if asked:
            raise PlanningError(
                f"{opt('capacity', 'capacity-block')}: no Capacity Block offering for "
                f"{request.instance_count} x {request.instance_type} for {request.hours} h "
                f"in {request.region}; try another window, "
                f"region or {opt('capacity', 'on-demand')}")
        return plan.model_copy(update={"warnings": (*plan.warnings, *warnings)})
    best = min(matching, key=lambda o: (o.upfront_fee_usd, o.start, o.offering_id))
    offer = next((o for o in catalog.offers if (o.instance.instance_type, o.price.region) == (
        request.instance_type, request.region)), None)
    price = discounted(offer.price, workload.on_demand_discount) if offer is not None else None
    cmp = compare(best, price)
    hours = best.duration_hours
    plan_usd = round(plan.cost.usd_per_hour * hours, 2)
    option = CapacityBlockOption(
        chosen=asked, offering=best, usd_per_hour=round(best.usd_per_hour, 4),
        on_demand_usd=cmp.on_demand_usd, spot_usd=cmp.spot_usd, plan_usd=plan_usd,
        cheapest_assured=cmp.cheapest_assured)
    same_hours = (f"same instances and hours: on-demand {_usd(cmp.on_demand_usd)}, spot {_usd(cmp.spot_usd)} "
                  "(interruptible)")
    where = (f"{best.instance_count} x {best.instance_type}, {describe_window(best)}, "
             f"${best.upfront_fee_usd:,.2f} up front (${best.usd_per_hour:,.2f}/h), "
             f"offering {best.offering_id}")
    extra = list(warnings)
    if asked:
        chosen, tradeoff = _chosen(plan, best, cmp.on_demand_usd, where, extra)
    else:
        chosen = plan
        tradeoff = Tradeoff(
            kind="capacity",
            rule=f"a Capacity Block for {hours:g} h ({opt('capacity_block_hours', int(hours))})",
            unit="USD total", plan_cost=plan_usd, other_cost=round(best.upfront_fee_usd, 2),
            other=f"{where}; {same_hours}; the plan's {plan.placement.capacity_type} over the same hours is "
                  f"{_usd(plan_usd)} (take the block with {opt('capacity', 'capacity-block')})")
    runs = " (the plan runs in it, as asked)" if asked else ""
    why = (f" Capacity Block{runs}: {where}; {same_hours}; cheapest without interruptions over the window: "
           f"{cmp.cheapest_assured}.")
    return chosen.model_copy(update={
        "capacity_block": option,
        "tradeoffs": (*chosen.tradeoffs, tradeoff),
        "warnings": (*chosen.warnings, *extra),
        "explanation": chosen.explanation + why,
    })


def _chosen(plan: Plan, best: CapacityBlockOffering, on_demand_usd: float | None, where: str,
            warnings: list[str]) -> tuple[Plan, Tradeoff]:
    """The plan running in the block: its cost is the fee over the window; a batch job pays the fee whole."""
    hours, fee = best.duration_hours, best.upfront_fee_usd
    usd_h = round(fee / hours, 4)
    tokens_s = plan.throughput.total_output_tokens_per_s
    cost = plan.cost.model_copy(update={
        "usd_per_hour": usd_h, "billed_usd_per_hour": usd_h,
        "usd_per_million_output_tokens": usd_per_million_output_tokens(usd_h, tokens_s),
        "price_source": best.price_source})
    at = plan.placement.model_copy(update={
        "capacity_type": "on-demand", "on_demand_instances": plan.placement.instance_count,
        "spot_instance_types": ()})
    batch = plan.batch
    other_cost = on_demand_usd
    other = "on-demand, same instances over the same hours (spot is interruptible: see capacity_block)"
    if batch is not None:
        if batch.work_hours > hours:
            raise PlanningError(
                f"{opt('capacity_block_hours', int(hours))}: the job needs {batch.work_hours:,.1f} h of "
                f"work, more than the block's {hours:g} h; ask for a longer block")
        other_cost = batch.total_usd  # the plan was searched at on-demand cost: finishing it on demand
        other = f"on-demand to finish the job in {batch.hours:,.2f} h (the block's fee is paid whole)"
        tokens = batch.input_tokens + batch.output_tokens
        batch = batch.model_copy(update={
            "hours": batch.work_hours, "total_usd": round(fee, 2),
            "usd_per_million_tokens": round(fee / tokens * 1e6, 4),
            "usd_per_million_output_tokens": round(fee / batch.output_tokens * 1e6, 4)})
    if other_cost is not None and other_cost < fee:
        warnings.append(f"{opt('capacity', 'capacity-block')} costs ${fee:,.2f} where on-demand costs "
                        f"${other_cost:,.2f} for the same work ({other}); the block assures the capacity")
    tradeoff = Tradeoff(kind="capacity", rule=f"{opt('capacity', 'capacity-block')} as asked: {where}",
                        unit="USD total", plan_cost=round(fee, 2),
                        other_cost=None if other_cost is None else round(other_cost, 2),
                        other=other)
    return plan.model_copy(update={"cost": cost, "placement": at, "batch": batch}), tradeoff


def _usd(x: float | None) -> str:
    return "-" if x is None else f"${x:,.2f}"
