"""The planner's error: no layout serves the workload; the message names why and what would."""

from __future__ import annotations


class PlanningError(ValueError):
    """Raised with the binding constraint and the nearest options, each with its cost."""


class NoFeasibleLayout(PlanningError):
    """The workload is valid but no priced layout serves it (the binding constraint is in the message)."""
