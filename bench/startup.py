"""End-to-end `plan` on the bundled snapshot, as a user runs it: cold processes, median of N runs, beside
`python -c pass` (the interpreter's own start) on the same machine.

    python bench/startup.py [--runs 10]

Run by hand; never inside the tests (no wall-clock assertions there).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAN = ["-m", "advisor", "plan", "--model", "llama-3.1-8b", "--concurrency", "20", "--max-model-len", "4096",
        "--pricing", "snapshot"]
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "python -m advisor --help": ["-m", "advisor", "--help"],
    "python -m advisor plan (snapshot)": PLAN,
    "python -m advisor plan --json (snapshot)": [*PLAN, "--json"],
}


def _time(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    print(f"{'command':<44} {'median s':>9} {'min s':>7} {'max s':>7}   ({runs} cold processes each)")
    for label, args in COMMANDS.items():
        _time(args)  # one discarded run: the page cache, not the program, is what a first run measures
        times = [_time(args) for _ in range(runs)]
        print(f"{label:<44} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}")
    print("target: plan end to end on the snapshot <= 0.3 s median on the 2-core development machine")


if __name__ == "__main__":
    main()
