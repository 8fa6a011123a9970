"""The original notes' `select_gpu(vram_needed_gb, throughput_priority)` over the real catalog, and GPU_TIERS.

A GPU tier is one GPU model with the cheapest instance that rents it on demand (a one-GPU workload pays
for the whole instance: an H200 only comes as 8 on a p5en.48xlarge). `select_gpu` picks, among tiers
whose one GPU holds `vram_needed_gb` (decimal GB, as the notes used: a "24 GB" A10G reports 22.35 GiB =
24.0 GB), by priority: "cost" = cheapest instance-hour, "throughput" = most memory bandwidth (decode is
bandwidth-bound), "balanced" = most bandwidth per instance dollar. For real sizing use
make_plan: this answers the notes' one-GPU question only.

`GPU_TIERS` (module attribute) is the view of the bundled snapshot in us-east-1, read through pricing the
first time it is used; `gpu_tiers(catalog)` builds the same view from any catalog without I/O.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from llm_advisor.planner.errors import PlanningError
from pricing.models import PricedCatalog
from sizing.vocabulary import Frozen

GB_PER_GIB = 2**30 / 1e9
Priority = Literal["cost", "balanced", "throughput"]


class GpuTier(Frozen):
    """One GPU model and the cheapest way to rent one of it, per GPU-hour."""

    gpu_name: str
    memory_gib: float
    memory_gb: float
    memory_bandwidth_gb_s: float
    dense_bf16_tflops: float | None
    instance_type: str
    gpus_per_instance: int
    region: str
    on_demand_usd_per_hour: float = Field(description="the whole instance: what a one-GPU workload pays")
    on_demand_usd_per_gpu_hour: float


def gpu_tiers(catalog: PricedCatalog) -> tuple[GpuTier, ...]:
    """Cheapest on-demand instance per (GPU, memory) with whole GPUs, smallest memory first."""
    best: dict[tuple[str, float], GpuTier] = {}
    for o in catalog.offers:
        i, p = o.instance, o.price
        if (
            i.accelerator_kind != "nvidia_gpu"
            or i.gpu is None
            or i.gpu_fraction < 1
            or not p.on_demand_usd_per_hour
        ):
            continue
        tier = GpuTier(
            gpu_name=i.gpu_name,
            memory_gib=i.gpu_memory_gib,
            memory_gb=round(i.gpu_memory_gib * GB_PER_GIB, 2),
            memory_bandwidth_gb_s=i.gpu.memory_bandwidth_gb_s,
            dense_bf16_tflops=i.gpu.dense_bf16_tflops,
            instance_type=i.instance_type,
            gpus_per_instance=i.gpu_count,
            region=p.region,
            on_demand_usd_per_hour=p.on_demand_usd_per_hour,
            on_demand_usd_per_gpu_hour=round(p.on_demand_usd_per_hour / i.gpu_count, 4),
        )
        key = (i.gpu_name, i.gpu_memory_gib)
        old = best.get(key)
        if old is None or (tier.on_demand_usd_per_hour, tier.instance_type) < (
            old.on_demand_usd_per_hour,
            old.instance_type,
        ):
            best[key] = tier
    return tuple(sorted(best.values(), key=lambda t: (t.memory_gib, t.on_demand_usd_per_hour, t.gpu_name)))


def _score(tier: GpuTier, priority: str) -> tuple:
    if priority == "cost":
        return (tier.on_demand_usd_per_hour, -tier.memory_bandwidth_gb_s, tier.gpu_name)
    if priority == "throughput":
        return (-tier.memory_bandwidth_gb_s, tier.on_demand_usd_per_hour, tier.gpu_name)
    return (-tier.memory_bandwidth_gb_s / tier.on_demand_usd_per_hour, tier.gpu_name)


def select_gpu(
    vram_needed_gb: float, throughput_priority: Priority = "balanced", *, catalog: PricedCatalog | None = None
) -> GpuTier:
    """The GPU tier for a one-GPU workload needing `vram_needed_gb` decimal GB (the notes' API)."""
    if throughput_priority not in ("cost", "balanced", "throughput"):
        raise PlanningError(
            f"throughput_priority must be cost, balanced or throughput, got {throughput_priority!r}"
        )
    if vram_needed_gb <= 0:
        raise PlanningError(f"vram_needed_gb must be positive, got {vram_needed_gb}")
    tiers = gpu_tiers(catalog) if catalog is not None else _snapshot_tiers()
    fitting = [t for t in tiers if t.memory_gb >= vram_needed_gb]
    if not fitting:
        largest = max(tiers, key=lambda t: t.memory_gb)
        raise PlanningError(
            f"no single GPU holds {vram_needed_gb:g} GB; the largest is {largest.gpu_name} "
            f"{largest.memory_gb:g} GB ({largest.instance_type}): split the model with TP/PP "
            f"(make_plan) or quantize it to fp8/int4"
        )
    return min(fitting, key=lambda t: _score(t, throughput_priority))


_TIERS: tuple[GpuTier, ...] | None = None


def _snapshot_tiers() -> tuple[GpuTier, ...]:
    global _TIERS
    if _TIERS is None:
        from pricing import load_priced_catalog  # reads the bundled snapshot: pricing owns that I/O

        _TIERS = gpu_tiers(load_priced_catalog(("us-east-1",), pricing="snapshot"))
    return _TIERS


def __getattr__(name: str) -> tuple[GpuTier, ...]:
    if name == "GPU_TIERS":
        return _snapshot_tiers()
    raise AttributeError(name)
