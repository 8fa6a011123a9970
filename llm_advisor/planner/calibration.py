"""Fit the step-time model's free parameters on published serving runs, and score it leave-one-source-out.

The runs are bench/data/serving_calibration.csv (one source URL per row; bench/throughput.py prints the
table). Each row is one fixed-concurrency run with known input/output lengths; a blank metric was not
published. The loss is the mean squared log ratio predicted / measured over every published metric
(output tokens/s, TPOT, TTFT), so a 2x miss costs the same in either direction. The fit is a coarse grid
then a fine grid around its best point: deterministic, a few hundred model evaluations.

Only vLLM rows are fitted (FIT_ENGINES): the planner renders vLLM, and NIM / TensorRT-LLM / SGLang rows come
from other kernels and schedulers; they stay in the CSV and are reported with the vLLM-fitted parameters.

Arrival: `closed` rows are closed loops at a fixed concurrency (`vllm bench serve --max-concurrency C`), the
steady state replica_timing models. `burst` rows sent all C requests at once (benchmark_serving with
`--request-rate inf`, no --max-concurrency, --num-prompts C): every prompt is prefilled at the start, so the
mean TPOT is (nearly all) pure decode steps of the whole batch; it is predicted as PP x t_step(d = C / PP,
p = 0). The output tokens/s of a burst is the same total work (C prompts and C x output tokens) as the
steady state's cycle, so replica_timing's rate is kept; a burst's TTFT is its prefill queue and is not used.
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from llm_advisor.planner.one_layout import layout_estimate
from llm_advisor.planner.throughput import (
    ReplicaShape,
    RequestShape,
    StepParams,
    replica_timing,
    step_seconds,
)

METRICS = ("output_tokens_per_s", "time_per_output_token_ms", "time_to_first_token_ms")
# The inner grid: bandwidth efficiency, per-step overhead (s), per-layer overhead (s).
COARSE = (
    tuple(round(0.5 + 0.05 * i, 2) for i in range(10)),  # 0.50 .. 0.95
    tuple(round(0.0005 * i, 4) for i in range(7)),  # 0 .. 3 ms
    tuple(round(10e-6 * i, 6) for i in range(5)),  # 0 .. 40 us
)
FINE_STEPS = (0.01, 0.0001, 2e-6)
FINE_HALF_WIDTH = 2  # the fine grid: 5 points per parameter around the coarse best
# The outer grid (issue 12: "the compute efficiency is an untested guess", "max(memory, compute) assumes
# perfect overlap"): compute efficiency, the share of dense peak the GEMMs reach (0.3 .. 0.9), and overlap
# loss, the share of the shorter phase not hidden under the longer (0 = perfect overlap, 1 = none).
COMPUTE_EFFICIENCIES = (0.3, 0.5, 0.7, 0.9)
OVERLAP_LOSSES = (0.0, 0.5, 1.0)
# FP8 weights read in the time of 1.0 (at their bytes), 1.25 or 1.6 bytes each: issue 12 reported "FP8
# predicted 1.7x faster where measurements show about 1.25x" against a model without fixed step costs;
# 1.6 = 2 / 1.25 charged that speedup on top of the fitted overheads. Only FP8 runs inform it: when a fit
# has none the factors tie and the first (the bytes themselves) is kept.
FP8_WEIGHT_TIME_FACTORS = (1.0, 1.25, 1.6)
# Upper bounds: HBM delivers at most ~95% of its datasheet bandwidth to a streaming kernel (an assumption
# in line with the 77% measured end to end on an A100, johnmusgrave.com); overheads stay within the grid.
MAX = (0.95, 0.003, 40e-6)
FIT_ENGINES = frozenset({"vllm"})
ARRIVALS = ("closed", "burst")


@dataclass(frozen=True, slots=True)
class Run:
    """One published measurement and the replica it ran on."""

    row: dict[str, str]
    shape: ReplicaShape
    request: RequestShape
    concurrency: int

    @property
    def source(self) -> str:
        return self.row["source_id"]

    @property
    def arrival(self) -> str:
        return (self.row.get("arrival") or "closed").strip()

    @property
    def fitted(self) -> bool:
        """Whether the fit uses this run (vLLM rows only)."""
        return self.row["engine"].strip() in FIT_ENGINES

    def measured(self, metric: str) -> float | None:
        text = self.row[metric].strip()
        return float(text) if text else None


def load_runs(path: Path) -> list[Run]:
    """The calibration rows with their replica shapes (sized once; the fit only changes StepParams)."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    runs = []
    probe = StepParams(0.8, 0.0, 0.0)  # any valid parameters: only the shape is kept
    for row in rows:
        request = RequestShape(int(row["input_tokens"]), int(row["output_tokens"]))
        if (row.get("arrival") or "closed").strip() not in ARRIVALS:
            arrival = row.get("arrival")
            raise ValueError(f"arrival: {arrival!r} in row {row['source_id']}; use one of {ARRIVALS}")
        concurrency = int(row["concurrency"])
        quant = row["quantization"].strip() or None
        _, shape = layout_estimate(
            row["model"],
            row["gpu"],
            concurrency,
            request.input_tokens,
            request.output_tokens,
            tensor_parallel_size=int(row["tensor_parallel_size"]),
            pipeline_parallel_size=int(row["pipeline_parallel_size"]),
            quantization=None if quant == "none" else quant,
            kv_cache_dtype=row["kv_cache_dtype"] or "auto",
            params=probe,
        )
        runs.append(Run(row, shape, request, concurrency))
    return runs


def predict(run: Run, params: StepParams) -> dict[str, float]:
    t = replica_timing(run.shape, run.concurrency, run.request, params)
    tpot = t.time_per_output_token_s
    if run.arrival == "burst":  # all prompts prefilled up front: decode steps of the whole batch
        pp = run.shape.pipeline_parallel_size
        decode = max(1.0, t.batch / pp)
        step, _ = step_seconds(run.shape, decode, 0.0, run.request.decode_context, 0.0, params)
        tpot = pp * step
    return {
        "output_tokens_per_s": t.output_tokens_per_s,
        "time_per_output_token_ms": tpot * 1e3,
        "time_to_first_token_ms": t.time_to_first_token_s * 1e3,
    }


def loss(runs: Iterable[Run], params: StepParams) -> float:
    terms = []
    for run in runs:
        pred = predict(run, params)
        for metric in METRICS:
            measured = run.measured(metric)
            if measured:
                terms.append(math.log(pred[metric] / measured) ** 2)
    return statistics.fmean(terms) if terms else 0.0


def _best(runs: Sequence[Run], grid: tuple[Sequence[float], ...], outer: tuple[float, ...]) -> StepParams:
    candidates = (StepParams(e, s, lay, *outer) for e in grid[0] for s in grid[1] for lay in grid[2])
    return min(candidates, key=lambda p: (round(loss(runs, p), 12), p.bandwidth_efficiency))


def _fit_inner(runs: Sequence[Run], outer: tuple[float, ...]) -> StepParams:
    """Bandwidth efficiency and overheads at a given compute efficiency, overlap loss and FP8 factor: a
    coarse grid, then a fine grid around its best point."""
    coarse = _best(runs, COARSE, outer)
    centre = (coarse.bandwidth_efficiency, coarse.step_overhead_s, coarse.layer_overhead_s)
    k_range = range(-FINE_HALF_WIDTH, FINE_HALF_WIDTH + 1)
    fine = tuple(
        tuple(sorted({round(min(hi, max(lo, c + k * step)), 7) for k in k_range}))
        for c, step, lo, hi in zip(centre, FINE_STEPS, (0.3, 0.0, 0.0), MAX, strict=True)
    )
    return _best(runs, fine, outer)


def fit(runs: Sequence[Run]) -> StepParams:
    """The parameters that minimise the loss on the vLLM runs among `runs` (all of them when none is vLLM):
    for each (compute efficiency, overlap loss, FP8 factor) of the outer grid the inner fit, then the best
    of those (ties: the outer grid's order, i.e. the lower compute efficiency, overlap loss, FP8 factor)."""
    runs = [r for r in runs if r.fitted] or list(runs)
    outer = [
        (ce, ol, f8) for ce in COMPUTE_EFFICIENCIES for ol in OVERLAP_LOSSES for f8 in FP8_WEIGHT_TIME_FACTORS
    ]
    inner = [_fit_inner(runs, o) for o in outer]
    return min(inner, key=lambda p: round(loss(runs, p), 12))


def leave_one_source_out(
    runs: Sequence[Run], fitter: Callable[[Sequence[Run]], StepParams] = fit
) -> list[tuple[Run, dict[str, float]]]:
    """Each run predicted with parameters fitted on the other sources' (vLLM) runs only."""
    out = []
    for source in sorted({r.source for r in runs}):
        held = [r for r in runs if r.source == source]
        rest = [r for r in runs if r.source != source]
        params = fitter(rest) if rest else fitter(held)
        out += [(r, predict(r, params)) for r in held]
    return out
