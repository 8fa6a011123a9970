"""Planner: joins sizing and pricing into the cheapest layout that serves a workload, explained (pure).

Names are imported on first use (PEP 562): the CLI derives its flags from planner.models without paying
for pricing and boto3, which planner.plan pulls in.
"""

from importlib import import_module

_HOME = {
    "PlanningError": "llm_advisor.planner.errors",
    "GpuTier": "llm_advisor.planner.gpu_select",
    "GPU_TIERS": "llm_advisor.planner.gpu_select",
    "gpu_tiers": "llm_advisor.planner.gpu_select",
    "select_gpu": "llm_advisor.planner.gpu_select",
    "Alternative": "llm_advisor.planner.models",
    "Cost": "llm_advisor.planner.models",
    "LatencyBound": "llm_advisor.planner.models",
    "MemoryBreakdown": "llm_advisor.planner.models",
    "Placement": "llm_advisor.planner.models",
    "Plan": "llm_advisor.planner.models",
    "PlanOptions": "llm_advisor.planner.models",
    "ServedModel": "llm_advisor.planner.models",
    "ThroughputEstimate": "llm_advisor.planner.models",
    "VllmSettings": "llm_advisor.planner.models",
    "Workload": "llm_advisor.planner.models",
    "make_plan": "llm_advisor.planner.plan",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module 'llm_advisor.planner' has no attribute {name!r}")
