"""Realtime TPOT and TTFT bounds with the model's uncertainty (issue 12, "Realtime bounds")."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

from llm_advisor.planner import PlanningError, Workload, make_plan
from llm_advisor.planner.search import REALTIME_DEFAULT_MAX_TIME_TO_FIRST_TOKEN_MS, ttft_bound
from llm_advisor.planner.throughput import CALIBRATION_SHA256, TPOT_UNCERTAINTY, TTFT_UNCERTAINTY
from tests.conftest import L40S, LLAMA8

CSV = Path(__file__).resolve().parent.parent / "bench" / "data" / "serving_calibration.csv"
CHAT = dict(model=LLAMA8, concurrency=4, max_model_len=4096, mean_input_tokens=1000, mean_output_tokens=200)


def test_the_margins_come_from_the_committed_calibration_set():
    # TPOT_UNCERTAINTY / TTFT_UNCERTAINTY are bench/throughput.py's vLLM medians on this exact CSV: a changed
    # CSV must be re-run through the bench and the margins (and this hash) updated with it.
    assert hashlib.sha256(CSV.read_bytes()).hexdigest() == CALIBRATION_SHA256
    assert 0 < TPOT_UNCERTAINTY < 1 and 0 < TTFT_UNCERTAINTY < 1


def test_ttft_default_needs_a_stated_prompt_length_and_a_realtime_workload():
    assert ttft_bound(Workload(**CHAT)) == (REALTIME_DEFAULT_MAX_TIME_TO_FIRST_TOKEN_MS, "realtime default")
    assert ttft_bound(Workload(model=LLAMA8)) == (None, None)  # default prompt: the capacity worst case
    assert ttft_bound(Workload(**CHAT, workload_type="batch")) == (None, None)
    assert ttft_bound(Workload(**CHAT, max_time_to_first_token_ms=300)) == (300, "workload")


def test_both_bounds_and_the_margins_are_in_the_plan_and_its_explanation():
    plan = make_plan(Workload(**CHAT), L40S)
    lat, thr = plan.latency, plan.throughput
    assert (lat.max_time_to_first_token_ms, lat.tpot_uncertainty, lat.ttft_uncertainty) == (
        2000, TPOT_UNCERTAINTY, TTFT_UNCERTAINTY
    )
    assert thr.time_per_output_token_ms * (1 + TPOT_UNCERTAINTY) <= 100
    assert f"planned as {thr.time_per_output_token_ms * (1 + TPOT_UNCERTAINTY):.1f} ms" in plan.explanation
    assert f"+{TTFT_UNCERTAINTY:.0%}, the median held-out TTFT error" in plan.explanation


def test_a_plan_whose_prediction_meets_the_bound_but_not_with_the_margin_is_refused():
    one = {**CHAT, "concurrency": 1}  # one request: more replicas cannot lower the TPOT
    free = make_plan(Workload(**one, workload_type="batch"), L40S)
    tpot = free.throughput.time_per_output_token_ms
    between = round(tpot * (1 + TPOT_UNCERTAINTY / 2), 3)  # the prediction passes, the margin does not
    with pytest.raises(PlanningError) as err:
        make_plan(Workload(**one, max_time_per_output_token_ms=between), L40S)
    assert "model uncertainty" in str(err.value)
    ok = math.ceil(tpot * (1 + TPOT_UNCERTAINTY)) + 1
    assert make_plan(Workload(**one, max_time_per_output_token_ms=ok), L40S).placement.instance_count >= 1


def test_a_ttft_bound_below_the_prefill_time_names_it_and_the_nearest_options():
    # 1000 prompt tokens of an 8B model are 16 TFLOP: ~90 ms at half an L40S's 362 dense TFLOPS, so 40 ms
    # cannot be met: exit 2 naming the binding constraint, the bound the cheapest layout needs and a
    # shorter prompt that is served (a step that reads the 16 GB of weights once: ~20 ms + overhead).
    with pytest.raises(PlanningError) as err:
        make_plan(Workload(**CHAT, max_time_to_first_token_ms=40), L40S)
    text = str(err.value)
    assert "binding constraint: the time-to-first-token bound" in text
    assert "--max-time-to-first-token-ms " in text and "(now 40 ms, the workload" in text
    assert "--mean-input-tokens " in text
