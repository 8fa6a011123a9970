"""Planner: joins sizing and pricing into the cheapest layout that serves a workload, explained (pure)."""

from planner.errors import PlanningError
from planner.gpu_select import GpuTier, gpu_tiers, select_gpu
from planner.models import Alternative, MemoryBreakdown, Plan, ThroughputEstimate, Workload
from planner.plan import make_plan

__all__ = [
    "GPU_TIERS",
    "Alternative",
    "GpuTier",
    "MemoryBreakdown",
    "Plan",
    "PlanningError",
    "ThroughputEstimate",
    "Workload",
    "gpu_tiers",
    "make_plan",
    "select_gpu",
]


def __getattr__(name: str):
    """GPU_TIERS is built from the bundled snapshot on first use (see planner/gpu_select.py)."""
    if name == "GPU_TIERS":
        from planner import gpu_select

        return gpu_select.GPU_TIERS
    raise AttributeError(name)
