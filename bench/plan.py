"""Planner speed: a full plan over the bundled snapshot (all GPU types, 3 regions), and how time grows
with regions and with candidate layouts. Run by hand: `python bench/plan.py` (target: < 100 ms a plan,
warm)."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llm_advisor.planner import PlanningError, Workload, make_plan  # noqa: E402
from llm_advisor.planner.search import search  # noqa: E402
from pricing import load_priced_catalog, snapshot_regions  # noqa: E402
from sizing import load_model  # noqa: E402

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
WORKLOADS = {
    "Llama-3.1-8B 20 x 2048 realtime": dict(
        model="meta-llama/Meta-Llama-3.1-8B", concurrency=20, max_model_len=2048
    ),
    "Llama-3.1-70B awq 16 x 4096": dict(
        model="meta-llama/Meta-Llama-3.1-70B", quantization="awq", concurrency=16, max_model_len=4096
    ),
    "Llama-3.1-405B 8 x 8192 realtime": dict(
        model="meta-llama/Meta-Llama-3.1-405B", concurrency=8, max_model_len=8192
    ),
    "Qwen3-30B-A3B 32 x 32768 realtime": dict(
        model="Qwen/Qwen3-30B-A3B", concurrency=32, max_model_len=32768
    ),
    "DeepSeek-V3 32 x 8192 batch": dict(
        model="deepseek-ai/DeepSeek-V3", concurrency=32, max_model_len=8192, workload_type="batch"
    ),
    "Llama-3.1-8B 5 req/s 1000+200 (rate)": dict(
        model="meta-llama/Meta-Llama-3.1-8B", arrival_rate_per_s=5, max_model_len=4096,
        mean_input_tokens=1000, mean_output_tokens=200,
    ),
    "infeasible 405B on g5 (+ re-plans)": dict(
        model="meta-llama/Meta-Llama-3.1-405B", concurrency=8, max_model_len=8192, allowed_families=("g5",)
    ),
}
FAMILY_STEPS = (
    ("g6",),
    ("g6", "g6e"),
    ("g5", "g6", "g6e", "g7e"),
    ("g4dn", "g5", "g6", "g6e", "g7e", "p4d"),
    (),
)  # () = every family


def timed(fn, repeat: int = 7) -> tuple[float, float]:
    """(first call, median of the following calls) in milliseconds."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1e3)
    return runs[0], statistics.median(runs[1:])


def plan_or_error(workload: Workload, catalog) -> str:
    try:
        p = make_plan(workload, catalog)
        tp, pp = p.vllm.tensor_parallel_size, p.vllm.pipeline_parallel_size
        return f"{p.placement.instance_count} x {p.placement.instance_type} TP={tp} PP={pp}"
    except PlanningError:
        return "PlanningError"


def main() -> None:
    t0 = time.perf_counter()
    catalog = load_priced_catalog(REGIONS, pricing="snapshot")
    print(
        f"snapshot catalog, {len(REGIONS)} regions: {len(catalog.offers)} offers loaded in "
        f"{(time.perf_counter() - t0) * 1e3:.0f} ms (pricing's cost, not the planner's)\n"
    )

    print(f"{'full plan, 3 regions, all GPU types':<40} {'first ms':>9} {'median ms':>10}  result")
    for name, kw in WORKLOADS.items():
        w = Workload(regions=REGIONS, **kw)
        first, median = timed(lambda w=w: plan_or_error(w, catalog))
        print(f"{name:<40} {first:>9.1f} {median:>10.1f}  {plan_or_error(w, catalog)}")

    base = WORKLOADS["Llama-3.1-70B awq 16 x 4096"]
    arch = load_model(base["model"])
    print(
        f"\ngrowth with regions (Llama-3.1-70B awq, all GPU types)\n{'regions':>7} {'offers':>7} "
        f"{'candidates':>10} {'sizing calls':>12} {'median ms':>10}"
    )
    all_regions = REGIONS + tuple(r for r in snapshot_regions() if r not in REGIONS)
    for n in (1, 3, 6, 12, len(all_regions)):
        regions = tuple(all_regions[:n])
        cat = load_priced_catalog(regions, pricing="snapshot")
        w = Workload(regions=regions, **base)
        _, median = timed(lambda w=w, cat=cat: make_plan(w, cat))
        res = search(w, cat, arch)
        print(
            f"{n:>7} {len(cat.offers):>7} {len(res.ranked) + sum(c for c, _ in res.rejections.values()):>10} "
            f"{res.sizing_calls:>12} {median:>10.1f}"
        )

    print(
        f"\ngrowth with candidate layouts (Llama-3.1-70B awq, 3 regions)\n{'families':<34} {'layouts':>7} "
        f"{'candidates':>10} {'sizing calls':>12} {'median ms':>10}"
    )
    for fams in FAMILY_STEPS:
        w = Workload(regions=REGIONS, allowed_families=fams, **base)
        _, median = timed(lambda w=w: plan_or_error(w, catalog))
        res = search(w, catalog, arch)
        label = ",".join(fams) or "all"
        print(
            f"{label:<34} {res.layouts_evaluated:>7} "
            f"{len(res.ranked) + sum(c for c, _ in res.rejections.values()):>10} {res.sizing_calls:>12} "
            f"{median:>10.1f}"
        )


if __name__ == "__main__":
    main()
