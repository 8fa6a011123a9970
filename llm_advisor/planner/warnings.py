"""Every warning of a plan reaches its reader once: the CLI prints them (plan, render, preview), and the
Pulumi program logs them with `log_plan_warnings(plan, pulumi.log.warn, already=catalog.warnings)`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from llm_advisor.planner.models import Plan


def unsaid_warnings(plan: Plan, already: Iterable[str] = ()) -> list[str]:
    """The plan's warnings (the catalog's included) not among `already`, each once, in order."""
    said = set(already)
    return [w for w in dict.fromkeys(plan.warnings) if w not in said]


def log_plan_warnings(plan: Plan, warn: Callable[[str], object], already: Iterable[str] = ()) -> list[str]:
    """Hand each unsaid warning of the plan to `warn` (pulumi.log.warn in the program); returns them."""
    warnings = unsaid_warnings(plan, already)
    for warning in warnings:
        warn(warning)
    return warnings
