"""An arrival rate as the load (issue 12): Little's law at a fixed point over plans, the latency reported,
and a rate no layout serves as exit 2 naming the largest rate served."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from llm_advisor.cli.main import main
from llm_advisor.infra.config import pulumi_config_schema, stack_config_from
from llm_advisor.planner import PlanningError, Workload, arrival, make_plan
from llm_advisor.planner.models import ThroughputEstimate
from llm_advisor.planner.throughput import TPOT_UNCERTAINTY, TTFT_UNCERTAINTY
from tests.conftest import L40S, LLAMA8

CHAT = dict(model=LLAMA8, max_model_len=4096, mean_input_tokens=1000, mean_output_tokens=200)


def _thr(ttft_ms: float, tpot_ms: float, output_tokens: int) -> ThroughputEstimate:
    return ThroughputEstimate(
        batch_size=1, decode_output_tokens_per_s=1.0, time_per_output_token_ms=tpot_ms,
        time_to_first_token_ms=ttft_ms, prefill_tokens_per_s=1.0, total_output_tokens_per_s=1.0,
        bound="memory", input_tokens=100, output_tokens=output_tokens,
    )


def test_littles_law_by_hand():
    # A request in the system: TTFT 200 ms + 100 tokens x 50 ms = 5,200 ms predicted. Planned with the
    # model's uncertainty (TTFT +47%, TPOT +11%): 200 x 1.47 + 5,000 x 1.11 = 294 + 5,550 = 5,844 ms.
    # Little's law L = lambda W at 2 requests/s: 2 x 5.844 s = 11.688 in flight -> 12 requests.
    thr = _thr(200, 50, 100)
    assert arrival.request_latency_ms(thr) == pytest.approx(5200)
    assert (TTFT_UNCERTAINTY, TPOT_UNCERTAINTY) == (0.47, 0.11)  # the figures the comment works with
    assert arrival.planned_latency_ms(thr) == pytest.approx(5844)
    assert arrival.implied_concurrency(2.0, 5844) == 12
    # an exact product is not rounded up past itself (1/s x 3 s = 3), and a trickle still holds one request
    assert arrival.implied_concurrency(1.0, 3000) == 3
    assert arrival.implied_concurrency(0.001, 100) == 1


def _fake_search(latency_ms_of):
    """A search whose cheapest plan at concurrency C has planned latency latency_ms_of(C) (uncertainty
    patched to 0), recording the concurrencies it was asked for."""
    asked = []

    def search(workload, catalog, arch):
        c = workload.concurrency
        asked.append(c)
        assert workload.arrival_rate_per_s is None  # the planner sizes for the concurrency only
        thr = _thr(0.0, latency_ms_of(c) / 100, 100)  # 100 tokens x TPOT = the latency
        return SimpleNamespace(ranked=[SimpleNamespace(sized=SimpleNamespace(throughput=thr))], rejections={})

    return search, asked


@pytest.fixture
def exact(monkeypatch):
    monkeypatch.setattr(arrival, "TTFT_UNCERTAINTY", 0.0)
    monkeypatch.setattr(arrival, "TPOT_UNCERTAINTY", 0.0)


def test_the_fixed_point_by_hand(monkeypatch, exact):
    # Latency W(C) = 1 s + 10 ms per request in flight, rate 50/s:
    # C' = ceil(50 x (1 + 0.01 C)) = ceil(50 + C/2)
    # 1 -> 51 -> 76 -> 88 -> 94 -> 97 -> 99 -> 100 -> 100: the fixed point of C = 50 + C/2 is C = 100.
    search, asked = _fake_search(lambda c: 1000 + 10 * c)
    monkeypatch.setattr(arrival, "search", search)
    point = arrival.fixed_point(Workload(model=LLAMA8, arrival_rate_per_s=50), L40S, None, 50)
    assert asked == [1, 51, 76, 88, 94, 97, 99, 100]
    assert (point.concurrency, point.converged, point.rounds) == (100, True, 8)


def test_a_faster_plan_at_more_requests_brings_the_concurrency_back_down(monkeypatch, exact):
    # W = 20 s at C < 30 (a small, slow plan), 5 s from 30 on (a larger, faster one); rate 2/s:
    # 1 -> 40 (2 x 20 s) -> 10 (2 x 5 s; 40 was consistent) -> 40 again: a cycle. The smallest consistent
    # C visited is 40 (10 is not: its plan implies 40), so 40 is planned.
    search, asked = _fake_search(lambda c: 20_000 if c < 30 else 5_000)
    monkeypatch.setattr(arrival, "search", search)
    point = arrival.fixed_point(Workload(model=LLAMA8, arrival_rate_per_s=2), L40S, None, 2)
    assert asked == [1, 40, 10] and (point.concurrency, point.converged) == (40, True)


def test_a_diverging_fixed_point_is_not_served(monkeypatch, exact):
    # W = 1 s + 30 ms per request at 50/s: C' = 50 + 1.5 C grows without bound (the slope 1.5 > 1).
    search, asked = _fake_search(lambda c: 1000 + 30 * c)
    monkeypatch.setattr(arrival, "search", search)
    point = arrival.fixed_point(Workload(model=LLAMA8, arrival_rate_per_s=50), L40S, None, 50)
    assert not point.served and point.rounds == arrival.MAX_ROUNDS and len(asked) == arrival.MAX_ROUNDS
    assert asked[:3] == [1, 52, 128]  # ceil(50 + 1.5), ceil(50 + 78)


def test_the_plan_holds_the_concurrency_its_latency_implies_and_reports_it():
    plan = make_plan(Workload(**CHAT, arrival_rate_per_s=2), L40S)
    load = plan.load
    assert load is not None and load.arrival_rate_per_s == 2
    thr = plan.throughput
    predicted = thr.time_to_first_token_ms + 200 * thr.time_per_output_token_ms
    assert load.latency_ms == pytest.approx(predicted, abs=0.1)
    planned = thr.time_to_first_token_ms * 1.47 + 200 * thr.time_per_output_token_ms * 1.11
    assert load.planned_latency_ms == pytest.approx(planned, abs=0.1)
    assert math.ceil(2 * planned / 1000) <= load.concurrency  # consistent: the load fits what is held
    # the same plan as the concurrency workload it implies
    same = make_plan(Workload(**CHAT, concurrency=load.concurrency), L40S)
    assert (same.placement, same.throughput) == (plan.placement, plan.throughput)
    assert "Little's law" in plan.explanation
    assert f"= {load.concurrency} requests in flight" in plan.explanation
    # a higher rate needs more requests in flight
    assert make_plan(Workload(**CHAT, arrival_rate_per_s=20), L40S).load.concurrency > load.concurrency


def test_a_rate_no_layout_serves_names_the_largest_rate_served_with_its_cost():
    with pytest.raises(PlanningError) as err:
        make_plan(Workload(**CHAT, arrival_rate_per_s=10_000), L40S)
    text = str(err.value)
    assert text.startswith("--arrival-rate-per-s 10000: no layout serves 10000 requests/s")
    assert "binding constraint is the instance count" in text
    line = next(x for x in text.splitlines() if x.startswith("Largest rate served: --arrival-rate-per-s "))
    best = float(line.split()[4])
    assert 0 < best < 10_000 and "$" in line and "/h" in line
    served = make_plan(Workload(**CHAT, arrival_rate_per_s=best), L40S)  # the rate stated is served ...
    assert f"${served.cost.usd_per_hour:,.2f}/h" in line  # ... at the cost stated
    with pytest.raises(PlanningError):  # and a rate 1/32 above it (bisection to 1/64 of a halving) is not
        make_plan(Workload(**CHAT, arrival_rate_per_s=best * (1 + 1 / 32)), L40S)


def test_a_model_that_fits_nowhere_keeps_the_ordinary_message():
    with pytest.raises(PlanningError) as err:
        make_plan(Workload(**CHAT, arrival_rate_per_s=1, allowed_families=("nope",)), L40S)
    assert "binding constraint: no NVIDIA GPU offer" in str(err.value)


def test_rate_and_concurrency_are_exclusive_at_both_edges():
    with pytest.raises(ValidationError, match="--arrival-rate-per-s 2 and --concurrency 4 are both set"):
        Workload(**CHAT, arrival_rate_per_s=2, concurrency=4)
    with pytest.raises(ValidationError, match="engine llama.cpp plans llama.cpp for a concurrency"):
        Workload(**CHAT, arrival_rate_per_s=2, engine="llama.cpp")
    assert Workload(**CHAT, arrival_rate_per_s=2).arrival_rate_per_s == 2
    base = {"model": LLAMA8, "target": "ec2", "subnetIds": '["subnet-1"]'}
    # Pulumi.yaml declares concurrency with default "": a stack that leaves it unset may set a rate
    assert pulumi_config_schema()["concurrency"]["default"] == ""
    unset = stack_config_from({**base, "concurrency": "", "arrivalRatePerS": "2"}.get).to_workload()
    assert (unset.arrival_rate_per_s, unset.concurrency) == (2, 16)
    assert stack_config_from({**base, "concurrency": ""}.get).to_workload().concurrency == 16
    with pytest.raises(ValidationError, match="arrivalRatePerS and concurrency are both set"):
        stack_config_from({**base, "concurrency": "8", "arrivalRatePerS": "2"}.get)


CLI = ["plan", "--model", LLAMA8, "--max-model-len", "4096", "--mean-input-tokens", "1000",
       "--mean-output-tokens", "200", "--pricing", "snapshot", "--region", "us-east-1"]


def test_cli_flag_reports_the_rate_the_concurrency_and_the_latency(capsys):
    assert main([*CLI, "--arrival-rate-per-s", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    load = data["load"]
    assert load["arrival_rate_per_s"] == 3
    assert load["concurrency"] >= math.ceil(3 * load["planned_latency_ms"] / 1000)
    assert {"latency_ms", "time_to_first_token_ms", "time_per_output_token_ms", "rounds"} <= set(load)
    assert main([*CLI, "--arrival-rate-per-s", "3"]) == 0
    out = capsys.readouterr().out
    assert f"load: 3 requests/s = {load['concurrency']} requests in flight (Little's law" in out
    assert f"latency at that load: {load['latency_ms'] / 1000:,.2f} s per request predicted" in out


def test_cli_bad_rates_exit_2_with_one_clear_error(capsys):
    assert main([*CLI, "--arrival-rate-per-s", "1000000"]) == 2
    err = capsys.readouterr().err
    assert "error: --arrival-rate-per-s 1e+06: no layout serves" in err and "Largest rate served:" in err
    assert main([*CLI, "--arrival-rate-per-s", "3", "--concurrency", "4"]) == 2
    assert "are both set: exactly one is the load" in capsys.readouterr().err
    assert main([*CLI, "--arrival-rate-per-s", "0"]) == 2
    assert "--arrival-rate-per-s" in capsys.readouterr().err
