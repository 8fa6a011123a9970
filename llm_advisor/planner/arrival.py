"""An arrival rate as the load: the concurrency it implies by Little's law, at a fixed point over plans.

Little's law (J. D. C. Little, "A Proof for the Queuing Formula: L = lambda W", Operations Research 9(3),
1961): in any stable system the mean number of items in it equals the arrival rate times the mean time an
item spends in it. Here the items are requests, the arrival rate is Workload.arrival_rate_per_s and the
time in the system is a request's latency, TTFT (queueing and prefill) + mean_output_tokens x TPOT, so the
requests in flight are C = rate x (TTFT + mean_output_tokens x TPOT). The planner sizes for a concurrency,
and the latency depends on the plan sized for it, so C is found at a fixed point over plans:

    C_0 = 1;  plan P_k for C_k;  C_{k+1} = ceil(rate x latency of P_k at C_k)

A plan P_k with C_{k+1} <= C_k is consistent: it holds C_k requests in flight with that latency, and the
load only puts C_{k+1} <= C_k in flight (fewer requests in flight never slow a replica down). The rounds
stop at an exact fixed point, a repeated C or MAX_ROUNDS, and the plan is the one at the smallest
consistent C visited (fixed_point).
The latency used is the planned one: the predicted TTFT and TPOT each plus the model's median held-out
error (TTFT_UNCERTAINTY, TPOT_UNCERTAINTY, planner/throughput.py), as the latency bounds are checked.
A rate no layout serves either leaves no feasible plan at the C it implies, or keeps C growing for
MAX_ROUNDS rounds (each plan's latency implies more requests in flight than it was sized for: the
fixed point diverges); the error then names the largest rate served, found by halving the rate and
bisecting, with the cheapest layout that serves it and its cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llm_advisor.planner.errors import NoFeasibleLayout
from llm_advisor.planner.explain import KIND_TEXT, binding_kind, describe
from llm_advisor.planner.models import ArrivalLoad, ThroughputEstimate, Workload
from llm_advisor.planner.options import opt
from llm_advisor.planner.search import SearchResult, search
from llm_advisor.planner.throughput import TPOT_UNCERTAINTY, TTFT_UNCERTAINTY
from pricing.models import PricedCatalog

# Rounds of the fixed point before it is called divergent. Where a latency bound holds (realtime) the
# planned latency is at most TTFT bound + mean_output_tokens x TPOT bound, so C is bounded and the rounds
# settle in a few (3-6 on the bundled catalog); 16 leaves room for slow growth without letting a
# divergent rate search for long.
MAX_ROUNDS = 16
RATE_HALVINGS = 10  # the largest rate served: halve down to 1/1024 of the asked rate ...
RATE_BISECTIONS = 6  # ... then bisect between the last refused and the first served: within 1/64 of it


def request_latency_ms(thr: ThroughputEstimate) -> float:
    """Predicted mean time a request spends in the system: TTFT + mean output tokens x TPOT."""
    return (thr.time_to_first_token_ms or 0.0) + (thr.output_tokens or 0) * thr.time_per_output_token_ms


def planned_latency_ms(thr: ThroughputEstimate) -> float:
    """The latency Little's law is applied to: TTFT and TPOT each with the model's uncertainty added."""
    ttft = (thr.time_to_first_token_ms or 0.0) * (1 + TTFT_UNCERTAINTY)
    return ttft + (thr.output_tokens or 0) * thr.time_per_output_token_ms * (1 + TPOT_UNCERTAINTY)


def implied_concurrency(rate_per_s: float, latency_ms: float) -> int:
    """Little's law, L = lambda W, rounded up to whole requests (at least one)."""
    return max(1, math.ceil(rate_per_s * latency_ms / 1000.0 - 1e-9))


def at_concurrency(workload: Workload, concurrency: int) -> Workload:
    """The workload with `concurrency` as its load (the rate dropped: the planner sizes for concurrency)."""
    return workload.model_copy(update={"concurrency": concurrency, "arrival_rate_per_s": None})


@dataclass(frozen=True, slots=True)
class FixedPoint:
    """Where the rounds stopped: `result` is the search at `concurrency` (its ranked list empty when no
    layout serves it); `converged` when the cheapest plan there implies no more requests in flight."""

    rate_per_s: float
    concurrency: int
    result: SearchResult
    rounds: int
    converged: bool
    path: tuple[int, ...]  # C_0, C_1, ... as the rounds visited them

    @property
    def served(self) -> bool:
        return self.converged and bool(self.result.ranked)


def fixed_point(workload: Workload, catalog: PricedCatalog, arch, rate_per_s: float) -> FixedPoint:
    """Plan at C_k, apply Little's law to the cheapest plan's planned latency, repeat (module docstring).

    A plan at C_k is consistent when the C_{k+1} it implies is at most C_k. The rounds go on past a
    consistent C_k whose plan implies fewer requests (a larger plan chosen for more requests may be faster
    and need fewer), and stop at an exact fixed point (C_{k+1} = C_k), on a C visited before, or after
    MAX_ROUNDS; the smallest consistent C visited is the answer, none is a divergence."""
    concurrency, path = 1, [1]
    consistent: tuple[int, SearchResult, int] | None = None  # (C, its search, the round it was found)
    result = None
    for rounds in range(1, MAX_ROUNDS + 1):
        result = search(at_concurrency(workload, concurrency), catalog, arch)
        if not result.ranked:
            if consistent is not None:
                break
            return FixedPoint(rate_per_s, concurrency, result, rounds, False, tuple(path))
        needed = implied_concurrency(rate_per_s, planned_latency_ms(result.ranked[0].sized.throughput))
        if needed <= concurrency and (consistent is None or concurrency < consistent[0]):
            consistent = (concurrency, result, rounds)
        if needed == concurrency or needed in path:
            break
        concurrency = needed
        path.append(needed)
    if consistent is None:
        assert result is not None
        return FixedPoint(rate_per_s, concurrency, result, MAX_ROUNDS, False, tuple(path))
    c, found, rounds = consistent
    return FixedPoint(rate_per_s, c, found, rounds, True, tuple(path))


def arrival_load(point: FixedPoint, thr: ThroughputEstimate) -> ArrivalLoad:
    """What the plan reports: the rate, the concurrency it implies and the latency at it (`thr`: the
    chosen candidate's estimate at that concurrency)."""
    return ArrivalLoad(
        arrival_rate_per_s=point.rate_per_s,
        concurrency=point.concurrency,
        time_to_first_token_ms=thr.time_to_first_token_ms or 0.0,
        time_per_output_token_ms=thr.time_per_output_token_ms,
        output_tokens=thr.output_tokens or 0,
        latency_ms=round(request_latency_ms(thr), 1),
        planned_latency_ms=round(planned_latency_ms(thr), 1),
        rounds=point.rounds,
    )


def load_text(load: ArrivalLoad) -> str:
    """One sentence for the explanation."""
    return (
        f" Load: {load.arrival_rate_per_s:g} requests/s x {load.planned_latency_ms / 1000:,.2f} s planned "
        f"latency per request (TTFT {load.time_to_first_token_ms:,.0f} ms + {load.output_tokens} tokens x "
        f"{load.time_per_output_token_ms:.1f} ms predicted, each + the model's uncertainty) = "
        f"{load.concurrency} requests in flight (Little's law, a fixed point after {load.rounds} plan(s))."
    )


def unserved_warning(load: ArrivalLoad, thr: ThroughputEstimate) -> str | None:
    """The kept layout (churn control) may be slower than the one the fixed point converged on."""
    needed = implied_concurrency(load.arrival_rate_per_s, planned_latency_ms(thr))
    if needed <= load.concurrency:
        return None
    return (
        f"the kept instance type's latency ({planned_latency_ms(thr) / 1000:,.2f} s planned) implies "
        f"{needed} requests in flight at {load.arrival_rate_per_s:g} requests/s, more than the "
        f"{load.concurrency} it was sized for: lower the churn threshold to move to the plan that holds "
        "the rate"
    )


def rate_for(workload: Workload, catalog: PricedCatalog, arch) -> FixedPoint:
    """The fixed point of `workload`'s arrival rate, or NoFeasibleLayout naming the rate and the largest rate
    served with its cheapest layout. A workload that no layout serves even at one request in flight comes
    back unconverged at concurrency 1: the ordinary infeasibility message (make_plan) says why."""
    rate = workload.arrival_rate_per_s
    assert rate is not None
    point = fixed_point(workload, catalog, arch, rate)
    if point.served or (not point.result.ranked and point.concurrency == 1):
        return point
    raise NoFeasibleLayout(_unserved_message(workload, catalog, arch, point))


def _round_down(x: float, digits: int = 3) -> float:
    """x to `digits` significant digits, never up (the rate stated must be one that was planned)."""
    if x <= 0:
        return x
    scale = 10 ** (digits - 1 - math.floor(math.log10(x)))
    return math.floor(x * scale + 1e-9) / scale


def largest_rate(workload: Workload, catalog: PricedCatalog, arch, refused: float) -> FixedPoint | None:
    """The largest rate below `refused` that is served: halvings, then bisection (RATE_* above)."""
    hi, lo_point = refused, None
    for _ in range(RATE_HALVINGS):
        point = fixed_point(workload, catalog, arch, hi / 2)
        if point.served:
            lo_point = point
            break
        hi /= 2
    if lo_point is None:
        return None
    for _ in range(RATE_BISECTIONS):
        mid = (lo_point.rate_per_s + hi) / 2
        point = fixed_point(workload, catalog, arch, mid)
        if point.served:
            lo_point = point
        else:
            hi = mid
    stated = _round_down(lo_point.rate_per_s)
    if stated != lo_point.rate_per_s:
        point = fixed_point(workload, catalog, arch, stated)
        if point.served:
            return point
    return lo_point


def _unserved_message(workload: Workload, catalog: PricedCatalog, arch, point: FixedPoint) -> str:
    rate, c = point.rate_per_s, point.concurrency
    where = ", ".join(workload.regions)
    shape = f"{workload.input_tokens:,} + {workload.output_tokens:,} tokens"
    head = f"{opt('arrival_rate_per_s', f'{rate:g}')}: no layout serves {rate:g} requests/s of {arch.hf_id} "
    head += f"({shape} per request) in {where}"
    path = " -> ".join(str(x) for x in point.path)
    if point.result.ranked:  # still growing after MAX_ROUNDS
        thr = point.result.ranked[0].sized.throughput
        body = (
            f"the fixed point diverges: the requests in flight Little's law implies kept growing over "
            f"{MAX_ROUNDS} plans ({path}; the last plan's {planned_latency_ms(thr) / 1000:,.2f} s planned "
            f"latency implies {implied_concurrency(rate, planned_latency_ms(thr))})"
        )
    else:
        kind = binding_kind(point.result)
        if kind is None:
            why = "no offer"
        else:
            count, example = point.result.rejections[kind]
            why = f"{KIND_TEXT[kind]} ({count} candidate(s); closest: {example.detail})"
        body = (
            f"at the {c} requests in flight it implies (Little's law, rounds {path}) the binding "
            f"constraint is {why}"
        )
    lines = [f"{head}; {body}."]
    best = largest_rate(workload, catalog, arch, rate)
    if best is None:
        lines.append(f"  no rate down to {rate / 2 ** RATE_HALVINGS:g} requests/s is served either")
    else:
        cand = best.result.ranked[0]
        thr = cand.sized.throughput
        lines.append(
            f"Largest rate served: {opt('arrival_rate_per_s', f'{best.rate_per_s:g}')} ({best.concurrency} "
            f"requests in flight, {request_latency_ms(thr) / 1000:,.2f} s predicted latency): "
            f"{describe(cand)}"
        )
    return "\n".join(lines)
