"""llama.cpp on CPU: predicted vs published tokens/s, leave one source out (bench/data/llamacpp_bench.csv),
and the notes' figures (7B Q4: 15-40 tokens/s on a server CPU; 13B Q4: 8-20) against the model.

    python bench/cpu.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llm_advisor.planner.cpu import cpu_timing, fit, leave_one_source_out, read_bench  # noqa: E402
from pricing.cpu import cpu_instance  # noqa: E402
from sizing import load_model  # noqa: E402
from sizing.gguf import estimate_gguf_memory  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "llamacpp_bench.csv"
NOTES = (("llama2-7b", "Q4_K_M", (15, 40)), ("llama2-13b", "Q4_K_M", (8, 20)))
INSTANCES = ("c7i.4xlarge", "c7i.8xlarge", "c7i.24xlarge", "c8g.4xlarge", "c8g.8xlarge", "c8g.24xlarge")


def main() -> None:
    rows = read_bench(DATA)
    decode, prefill = fit(rows)
    print(f"fit on all {len(rows)} sources: decode efficiency {decode}, prefill efficiency {prefill}\n")
    print(f"{'source':<20} {'model':<24} {'type':<7} {'tg pub':>7} {'tg pred':>8} {'err':>6}"
          f" {'pp pub':>7} {'pp pred':>8} {'err':>6}")
    loso = leave_one_source_out(rows)
    for e in loso:
        pp = (f" {e['pp_published']:>7.1f} {e['pp_predicted']:>8.1f} {e['pp_error']:>+6.0%}"
              if "pp_error" in e else "")
        print(f"{e['source_id']:<20} {e['model']:<24} {e['gguf_type']:<7} {e['tg_published']:>7.2f} "
              f"{e['tg_predicted']:>8.2f} {e['tg_error']:>+6.0%}{pp}")
    tg_err = [abs(e["tg_error"]) for e in loso]
    pp_err = [abs(e["pp_error"]) for e in loso if "pp_error" in e]
    print(f"\nleave-one-source-out |error|: decode median {statistics.median(tg_err):.0%}, "
          f"max {max(tg_err):.0%}"
          f"; prefill median {statistics.median(pp_err):.0%} ({len(pp_err)} sources)\n")
    print("The notes' figures, one stream (parallel 1, 512-token context):")
    for model, gguf, (lo, hi) in NOTES:
        arch = load_model(model)
        mem = estimate_gguf_memory(arch, gguf, ctx_size=512)
        for name in INSTANCES:
            inst = cpu_instance(name)
            t = cpu_timing(inst, mem, arch, 1, 256, 256)
            tps = 1000 / t.time_per_output_token_ms
            verdict = "inside" if lo <= tps <= hi else ("below" if tps < lo else "above")
            print(f"  {model:<11} {gguf} {name:<13} {inst.memory_bandwidth_gb_s:>6.0f} GB/s "
                  f"{tps:>6.1f} tokens/s  ({verdict} the notes' {lo}-{hi})")


if __name__ == "__main__":
    main()
