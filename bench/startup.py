"""End-to-end `plan` on the bundled snapshot, as a user runs it: cold processes, median of N runs, beside
`python -c pass` (the interpreter's own start) on the same machine.

Two conditions: Python's default, where the project's modules are read from their bytecode cache
(__pycache__, written by the first run, as in any checkout or pip install), and a fresh copy of the tree
with PYTHONDONTWRITEBYTECODE=1 (as some sandboxes and CI images set it), where every run compiles them.

    python bench/startup.py [--runs 10]

Run by hand; never inside the tests (no wall-clock assertions there).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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


def _time(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _rows(runs: int, cwd: Path, env: dict[str, str], note: str) -> None:
    for label, args in COMMANDS.items():
        _time(args, cwd, env)  # discarded: writes the bytecode cache (when allowed) and warms the page cache
        times = [_time(args, cwd, env) for _ in range(runs)]
        print(f"{label + note:<62} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    print(f"{'command':<62} {'median s':>9} {'min s':>7} {'max s':>7}   ({runs} cold processes each)")
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _rows(runs, ROOT, cached, "")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "tree"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", ".venv"))
        _rows(runs, copy, {**cached, "PYTHONDONTWRITEBYTECODE": "1"}, " [no bytecode cache]")
    print("target: plan end to end on the snapshot <= 0.3 s median on the 2-core development machine")


if __name__ == "__main__":
    main()
