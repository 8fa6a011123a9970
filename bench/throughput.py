"""The step-time model against published serving runs: `python bench/throughput.py [--fit]`.

Prints predicted vs measured for every row of bench/data/serving_calibration.csv, each predicted with the
parameters fitted on the OTHER sources only (leave-one-source-out), then median and p90 |error| of output
tokens/s, TPOT and TTFT split by GPU, TP, batch band and engine. `--fit` prints the parameters fitted on
every row: what llm_advisor/planner/throughput.py FITTED holds.
"""

from __future__ import annotations

import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llm_advisor.planner.calibration import METRICS, fit, leave_one_source_out, load_runs  # noqa: E402

CSV = Path(__file__).resolve().parent / "data" / "serving_calibration.csv"
SHORT = {"output_tokens_per_s": "tok/s", "time_per_output_token_ms": "TPOT", "time_to_first_token_ms": "TTFT"}


def band(concurrency: int) -> str:
    return "C=1" if concurrency == 1 else ("C=2-8" if concurrency <= 8 else "C>8")


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main(argv: list[str]) -> int:
    runs = load_runs(CSV)
    if "--fit" in argv:
        p = fit(runs)
        print(
            f"FITTED = StepParams(bandwidth_efficiency={p.bandwidth_efficiency}, "
            f"step_overhead_s={p.step_overhead_s}, layer_overhead_s={p.layer_overhead_s}, "
            f"compute_efficiency={p.compute_efficiency}, overlap_loss={p.overlap_loss}, "
            f"fp8_weight_time_factor={p.fp8_weight_time_factor})"
        )
        return 0
    rows = leave_one_source_out(runs)
    print(f"{'source':<22}{'gpu':<10}{'TP':>3}{'C':>5}  " + "  ".join(f"{SHORT[m]:>17}" for m in METRICS))
    errors: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run, pred in rows:
        cells = []
        for m in METRICS:
            measured = run.measured(m)
            if measured is None:
                cells.append(f"{pred[m]:>8.1f} / {'-':>6}")
                continue
            err = abs(pred[m] / measured - 1)
            cells.append(f"{pred[m]:>8.1f} / {measured:>6.1f}")
            keys = [("all", "all"), ("gpu", run.row["gpu"]), ("tp", "TP" + run.row["tensor_parallel_size"]),
                    ("batch", band(run.concurrency)), ("engine", run.row["engine"])]
            for key in keys:
                errors[key][m].append(err)
        head = f"{run.source:<22}{run.row['gpu']:<10}{run.row['tensor_parallel_size']:>3}{run.concurrency:>5}"
        print(head + "  " + "  ".join(cells))
    print("\n|error| leave-one-source-out (predicted / measured - 1): median, p90 (n)")
    print(f"{'split':<22}" + "".join(f"{SHORT[m]:>24}" for m in METRICS))
    for key in sorted(errors, key=lambda k: (k[0] != "all", k)):
        cells = []
        for m in METRICS:
            v = errors[key][m]
            cells.append(f"{statistics.median(v):>10.0%} {p90(v):>6.0%} ({len(v):>2})" if v else f"{'-':>24}")
        print(f"{key[0] + ' ' + key[1]:<22}" + "".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
