"""Churn: a previous (deployed) instance type is kept only where it is deployed, and an unknown
one is named with the nearest types.

From the planner review finding #27."""

from __future__ import annotations

import pytest

from llm_advisor.planner import PlanningError, Workload, make_plan
from tests.conftest import (
    G6E_X,
    LLAMA8,
    catalog,
    offer,
)

# --- #27: churn keeps the deployed type only where it is deployed ----------------------------------------


def test_unknown_previous_instance_type_names_the_nearest_types():
    with pytest.raises(PlanningError) as err:
        make_plan(
            Workload(model=LLAMA8, concurrency=4, max_model_len=2048),
            catalog(offer("g6e.xlarge", G6E_X), offer("g6e.2xlarge", 2.24)),
            previous_instance_type="g6e.xlarg",
        )
    assert "'g6e.xlarg' is not in the priced catalog" in str(err.value) and "g6e.xlarge" in str(err.value)


def test_churn_never_keeps_the_type_by_moving_it_to_another_region():
    # Deployed: g6e.xlarge in us-east-1, where it is gone from the catalog; it still exists in us-west-2
    # ($1.86) within 3% of the best plan (g6e.2xlarge in us-east-1, $1.81). Keeping it would move region.
    cat = catalog(
        offer("g6e.2xlarge", 1.81),
        offer("g6e.xlarge", G6E_X, region="us-west-2"),
    )
    w = Workload(model=LLAMA8, concurrency=4, max_model_len=2048, regions=("us-east-1", "us-west-2"))
    plan = make_plan(w, cat, previous_instance_type="g6e.xlarge")
    assert (plan.placement.instance_type, plan.placement.region) == ("g6e.2xlarge", "us-east-1")
    assert "eplaces g6e.xlarge in us-east-1, which no longer serves the workload there" in plan.explanation
    # deployed in us-west-2 (said so): kept there, and the explanation names the region
    kept = make_plan(w, cat, previous_instance_type="g6e.xlarge", previous_region="us-west-2")
    assert (kept.placement.instance_type, kept.placement.region) == ("g6e.xlarge", "us-west-2")
    assert "ept the current g6e.xlarge in us-west-2" in kept.explanation
