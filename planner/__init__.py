"""Planner: joins sizing and pricing into the cheapest layout that serves a workload, explained (pure).

Names are imported on first use (PEP 562): the CLI derives its flags from planner.models without paying
for pricing and boto3, which planner.plan pulls in.
"""

from importlib import import_module

_HOME = {
    "PlanningError": "planner.errors",
    "GpuTier": "planner.gpu_select",
    "GPU_TIERS": "planner.gpu_select",
    "gpu_tiers": "planner.gpu_select",
    "select_gpu": "planner.gpu_select",
    "Alternative": "planner.models",
    "Cost": "planner.models",
    "LatencyBound": "planner.models",
    "MemoryBreakdown": "planner.models",
    "Placement": "planner.models",
    "Plan": "planner.models",
    "PlanOptions": "planner.models",
    "ServedModel": "planner.models",
    "ThroughputEstimate": "planner.models",
    "VllmSettings": "planner.models",
    "Workload": "planner.models",
    "make_plan": "planner.plan",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
