"""Times `python -m advisor preview` on Pulumi.example.yaml: a cold process per run, and the in-process
mocked run of the stack program (llm_advisor.program.run_main_program), several runs each;
target < 2 s cold (issue 9).

Run: `python bench/preview.py [--runs 5] [--config Pulumi.example.yaml]`.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 2.0


def time_cold(config: Path, runs: int) -> list[float]:
    """Wall time of a fresh interpreter running the CLI (imports, pricing snapshot, plan, mocks)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "advisor", "preview", "--config", str(config)],
            cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return times


def time_in_process(config: Path, runs: int) -> tuple[list[float], int]:
    """Wall time of run_main_program alone (imports already paid), and the resource count."""
    sys.path.insert(0, str(ROOT))
    from llm_advisor.infra.preview import load_stack_file
    from llm_advisor.program import run_main_program

    values, secret_keys = load_stack_file(config)
    logging.disable(logging.WARNING)  # the snapshot-age warning, once per run, is not what is timed
    times, resources = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        run = run_main_program(values, secret_keys)
        times.append(time.perf_counter() - started)
        resources = len(run.resources)
    return times, resources


def _row(label: str, times: list[float]) -> str:
    verdict = "ok" if max(times) < TARGET_S else "SLOW"
    return (f"{label:<34} {len(times):>4} {min(times):>7.2f} {statistics.median(times):>7.2f} "
            f"{max(times):>7.2f}  {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--config", type=Path, default=ROOT / "Pulumi.example.yaml")
    args = parser.parse_args()
    cold = time_cold(args.config, args.runs)
    warm, resources = time_in_process(args.config, args.runs)
    print(f"advisor preview on {args.config.name} ({resources} resources), target < {TARGET_S:.0f} s")
    print(f"{'mode':<34} {'runs':>4} {'min s':>7} {'median':>7} {'max s':>7}")
    print(_row("cold process (python -m advisor)", cold))
    print(_row("in-process mocked run", warm))
    return 0 if max(cold) < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
