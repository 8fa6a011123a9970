"""Every price is checked at every boundary it crosses (live API answer, cache file, bundled snapshot)
before anything can plan on it: positive, finite and within plausibility bounds per GPU-hour.

A bad figure is dropped with a warning naming the region, the type, the figure and the bounds (an
offer left with no sound price, or with impossible instance facts, is dropped whole); it is never
planned on, priced or cached.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from typing import Any

from pricing.models import Offer

# Plausibility bounds per GPU-hour (USD per whole GPU or Neuron device per hour; a g6f slice counts as
# its fraction of a GPU). Derived from the bundled snapshot (pricing/data/aws_gpu_prices.csv, on-demand
# as of 2026-07-20, every region, Local Zones included): its cheapest figure is 0.0631 USD/GPU-h
# (g4dn.xlarge spot, us-west-2) and its dearest 17.802 USD/GPU-h (p6-b300.48xlarge on-demand,
# us-west-2). The bounds keep a margin of about 6x below and 5.6x above for price moves and GPUs newer
# than the snapshot; tests/test_pricing_validate.py recomputes the extremes and fails if they leave it.
MIN_USD_PER_GPU_HOUR = 0.01
MAX_USD_PER_GPU_HOUR = 100.0
# Instance facts a price is divided by, and the planner sizes with: a GPU's memory is at most the
# largest in the GPU table (B300, 268.59 GiB as AWS reports it, sizing/data/gpus.json) with a margin; an
# instance has at most 16 accelerators today (p4/p5/p6: 8 GPUs; trn1/trn2.48xlarge: 16 devices), 64 with
# a margin.
MAX_GPU_MEMORY_GIB = 1024.0
MAX_GPUS_PER_INSTANCE = 64


def _finite_positive(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def instance_problem(offer: Offer) -> str | None:
    """Why an offer's instance facts cannot be priced or sized on, or None."""
    i = offer.instance
    if not (isinstance(i.gpu_count, int) and 1 <= i.gpu_count <= MAX_GPUS_PER_INSTANCE):
        return f"gpu_count {i.gpu_count!r} is not a whole number of GPUs in 1..{MAX_GPUS_PER_INSTANCE}"
    if not (_finite_positive(i.gpu_fraction) and i.gpu_fraction <= 1):
        return f"gpu_fraction {i.gpu_fraction!r} is not in (0, 1]"
    if not (_finite_positive(i.gpu_memory_gib) and i.gpu_memory_gib <= MAX_GPU_MEMORY_GIB):
        return f"gpu_memory_gib {i.gpu_memory_gib!r} is not in (0, {MAX_GPU_MEMORY_GIB:g}]"
    return None


def _per_unit_price_problem(usd: object, units: float, unit: str, low: float, high: float) -> str | None:
    """Why one USD/h figure is not plausible for an instance of `units` GPUs or vCPUs, or None."""
    if not _finite_positive(usd):
        return f"{usd!r} USD/h is not a positive finite number"
    per_unit = float(usd) / units  # type: ignore[arg-type]
    if not low <= per_unit <= high:
        return f"{usd:g} USD/h = {per_unit:.3g} USD per {unit}-hour, outside {low:g}..{high:g}"
    return None


def price_problem(usd: object, gpus: float) -> str | None:
    """Why one USD/h figure of an instance with `gpus` GPUs is not plausible, or None."""
    return _per_unit_price_problem(usd, gpus, "GPU", MIN_USD_PER_GPU_HOUR, MAX_USD_PER_GPU_HOUR)


def check_offer(offer: Offer) -> tuple[Offer | None, list[str]]:
    """(the offer with only its sound figures, or None when nothing sound is left; one problem per bad
    figure). A bad spot price of one AZ drops that AZ (min and median are recomputed from the rest); a
    bad on-demand price drops the on-demand price; bad instance facts drop the offer."""
    name = offer.instance.instance_type
    problem = instance_problem(offer)
    if problem is not None:
        return None, [f"{name}: {problem}"]
    p = offer.price
    gpus = offer.instance.gpu_count * offer.instance.gpu_fraction
    problems: list[str] = []
    on_demand = p.on_demand_usd_per_hour
    if on_demand is not None and (why := price_problem(on_demand, gpus)):
        problems.append(f"{name} on-demand {why}")
        on_demand = None
    by_az = {}
    for az, usd in p.spot_usd_per_hour_by_az.items():
        if why := price_problem(usd, gpus):
            problems.append(f"{name} spot in {az} {why}")
        else:
            by_az[az] = usd
    if p.spot_usd_per_hour_by_az:
        spots = sorted(by_az.values())
        spot = spots[0] if spots else None
        median = statistics.median(spots) if spots else None
    else:  # a price without per-AZ detail (a hand-written cache): check the figures themselves
        spot, median = p.spot_usd_per_hour, p.spot_median_usd_per_hour
        for label, usd in (("spot", spot), ("spot median", median)):
            if usd is not None and (why := price_problem(usd, gpus)):
                problems.append(f"{name} {label} {why}")
                spot = median = None
    if not problems:
        return offer, []
    if on_demand is None and spot is None:
        return None, problems
    price = p.model_copy(update={"on_demand_usd_per_hour": on_demand, "spot_usd_per_hour": spot,
                                 "spot_median_usd_per_hour": median, "spot_usd_per_hour_by_az": by_az})
    return offer.model_copy(update={"price": price}), problems


MAX_LISTED = 3  # problems spelled out per warning; the rest are counted


def checked_offers(offers: Iterable[Offer], where: str) -> tuple[tuple[Offer, ...], list[str]]:
    """(the sound offers and figures, one warning per region that lost any); `where` names the boundary
    (live, cached <dir>, bundled snapshot)."""
    kept: list[Offer] = []
    problems: dict[str, list[str]] = {}
    dropped: dict[str, list[str]] = {}
    for offer in offers:
        sound, found = check_offer(offer)
        region = offer.price.region
        if found:
            problems.setdefault(region, []).extend(found)
        if sound is None:
            dropped.setdefault(region, []).append(offer.instance.instance_type)
        else:
            kept.append(sound)
    warnings = []
    for region, found in problems.items():
        listed = "; ".join(found[:MAX_LISTED]) + (f"; and {len(found) - MAX_LISTED} more"
                                                   if len(found) > MAX_LISTED else "")
        gone = dropped.get(region, [])
        lost = f"; {len(gone)} instance type(s) left with no sound price are dropped" if gone else ""
        warnings.append(f"{region}: ignored {len(found)} implausible {where} price figure(s) ({listed})"
                        f"{lost}; they are not planned on (bounds: pricing/validate.py)")
    return tuple(kept), warnings


# CPU instances (the llama.cpp path) are checked per vCPU-hour. The bundled CPU snapshot
# (pricing/data/aws_cpu_prices.csv) spans 0.03625 USD/vCPU-h on-demand (c7g.12xlarge, us-east-1) to
# 0.06615 (r7i.xlarge, us-east-1); the bounds leave room below for spot (AWS advertises "up to 90%" off
# on-demand: 0.0036) and above for the dearest regions and larger memory ratios.
# tests/test_pricing_cpu_live.py recomputes the snapshot's extremes and fails if they leave the bounds.
MIN_USD_PER_VCPU_HOUR = 0.002
MAX_USD_PER_VCPU_HOUR = 0.5
MAX_CPU_VCPUS = 1024  # u7in-32tb.224xlarge has 896 vCPUs, the most of any EC2 type today
MAX_CPU_MEMORY_GIB = 32768.0


def cpu_price_problem(usd: object, vcpus: int) -> str | None:
    """Why one USD/h figure of a CPU instance with `vcpus` vCPUs is not plausible, or None."""
    return _per_unit_price_problem(usd, vcpus, "vCPU", MIN_USD_PER_VCPU_HOUR, MAX_USD_PER_VCPU_HOUR)


def check_cpu_instance(inst: Any) -> tuple[Any | None, list[str]]:
    """(the CPU instance with only its sound figures, or None; the problems). A bad on-demand price or
    impossible vCPU/memory figures drop the instance (the CPU planner prices on-demand); a bad spot price
    drops the spot price only."""
    name = f"{inst.instance_type}"
    if not (isinstance(inst.vcpus, int) and 1 <= inst.vcpus <= MAX_CPU_VCPUS):
        return None, [f"{name}: vcpus {inst.vcpus!r} is not in 1..{MAX_CPU_VCPUS}"]
    if not (_finite_positive(inst.memory_gib) and inst.memory_gib <= MAX_CPU_MEMORY_GIB):
        return None, [f"{name}: memory_gib {inst.memory_gib!r} is not in (0, {MAX_CPU_MEMORY_GIB:g}]"]
    if why := cpu_price_problem(inst.on_demand_usd_per_hour, inst.vcpus):
        return None, [f"{name} on-demand {why}"]
    if inst.spot_usd_per_hour is not None and (why := cpu_price_problem(inst.spot_usd_per_hour, inst.vcpus)):
        return inst.model_copy(update={"spot_usd_per_hour": None}), [f"{name} spot {why}"]
    return inst, []


def checked_cpu_instances(instances: Iterable[Any], where: str) -> tuple[tuple[Any, ...], list[str]]:
    """checked_offers for CPU instances: the sound ones, and one warning per region that lost a figure."""
    kept: list[Any] = []
    problems: dict[str, list[str]] = {}
    for inst in instances:
        sound, found = check_cpu_instance(inst)
        if found:
            problems.setdefault(inst.region, []).extend(found)
        if sound is not None:
            kept.append(sound)
    warnings = []
    for region, found in problems.items():
        listed = "; ".join(found[:MAX_LISTED]) + (f"; and {len(found) - MAX_LISTED} more"
                                                   if len(found) > MAX_LISTED else "")
        warnings.append(f"{region}: ignored {len(found)} implausible {where} CPU price figure(s) ({listed}); "
                        "they are not planned on (bounds: pricing/validate.py)")
    return tuple(kept), warnings
