"""Times sizing every catalog model x every GPU x TP 1/2/4/8 (the planner's inner loop). Run by hand."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sizing import SizingError, SizingInput, estimate_memory, gpu_profile, known_gpus, list_models  # noqa: E402

TP_SIZES = (1, 2, 4, 8)


def main() -> int:
    start = time.perf_counter()
    models = list_models()  # catalog parse is part of the cold run
    inputs = [
        SizingInput(arch=m, gpu=g, tensor_parallel_size=tp)
        for m in models
        for g in map(gpu_profile, known_gpus())
        for tp in TP_SIZES
    ]
    ok = rejected = 0
    for inp in inputs:
        try:
            estimate_memory(inp)
            ok += 1
        except SizingError:
            rejected += 1  # e.g. heads not divisible by TP: rejecting is an evaluation too
    elapsed = time.perf_counter() - start
    print(
        f"{len(inputs)} evaluations ({len(models)} models x {len(known_gpus())} GPUs x TP {TP_SIZES}): "
        f"{ok} sized, {rejected} rejected by layout rules"
    )
    print(
        f"total {elapsed:.3f} s (cold, catalog parsing included), "
        f"{1e6 * elapsed / len(inputs):.1f} us per evaluation"
    )
    start = time.perf_counter()
    for inp in inputs:
        try:
            estimate_memory(inp)
        except SizingError:
            pass
    warm = time.perf_counter() - start
    print(f"warm repeat {warm:.3f} s, {1e6 * warm / len(inputs):.1f} us per evaluation")
    return 0 if elapsed < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
