"""Compares sizing predictions with the real vLLM startup figures in bench/data/vllm_startup_logs.csv.

Run from anywhere: `python bench/accuracy.py [path/to/vllm_reference_logs.csv]`. Prints one line per
row (weights, KV GiB and KV tokens: logged, predicted, error), the rows it could not use and why, and
the medians of the absolute errors. Targets (issue 2): weights within 2 %, KV GiB within 5 % (median).
"""

from __future__ import annotations

import csv
import re
import statistics
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sizing import (  # noqa: E402
    CALIBRATED_VLLM_VERSIONS,
    SizingError,
    SizingInput,
    estimate_memory,
    gpu_profile,
    known_gpus,
    load_model,
)

# In the repository, one source per row: shared/data/vllm_reference_logs.csv plus rows collected for issue 15.
DEFAULT_CSV = ROOT / "bench" / "data" / "vllm_startup_logs.csv"
# Release bands the report splits by (docs/sizing.md): V0 accounting, early V1, NCCL outside the budget,
# and the releases people run now (CUDA-graph estimate in the budget from 0.20, 0.92 default).
BANDS = (
    ((0, 2), (0, 7), "0.2-0.7 (V0)"),
    ((0, 8), (0, 10), "0.8-0.10"),
    ((0, 11), (0, 18), "0.11-0.18"),
    ((0, 19), (0, 19), "0.19"),
    ((0, 20), (0, 26), "0.20-0.26"),
    ((0, 27), (0, 33), "0.27-0.33"),
    ((0, 34), (0, 34), "0.34"),
)
# The spans issue 15's goal is stated over (KV within 3 % median and 10 % p90 across 0.6-0.33).
SPANS = (((0, 6), (0, 33), "0.6-0.33 (goal)"), ((0, 19), (0, 33), "0.19-0.33"))

# CSV model text -> catalog id (and quantization) where the text is not itself a catalog id.
MODEL_MAP = {
    "meta-llama/Llama-2-7b (Llama2-7B)": ("meta-llama/Llama-2-7b-hf", None),
    "meta-llama/Llama-2-70b (Llama2-70B)": ("meta-llama/Llama-2-70b-hf", None),
    "Qwen2.5-7B (4-bit quantized checkpoint; weights 5.2 GiB)": ("qwen2.5-7b-awq", None),
    "TheBloke/CodeLlama-13B-Instruct-fp16": ("codellama-13b", None),
    "deepseek-ai/DeepSeek-V2-Lite-Chat": ("deepseek-v2-lite", None),
    "Qwen2.5-32B-FP8": ("qwen2.5-32b-base", "fp8"),
    "Qwen3-30B-FP8 (A3B MoE presumably)": ("qwen3-30b-a3b", "fp8"),
    "Llama-3.1-8B-class 16-bit (name not printed; 14.9888 GiB weights and 131072 B/token match "
    "Llama-3.1-8B)": (
        "llama3.1-8b",
        None,
    ),
    "cyankiwi/gemma-4-31B-it-AWQ-4bit": ("google/gemma-4-31B-it", "awq"),
    # AutoRound INT4 (named in the row): 4-bit weights with a scale per 128-group, which vLLM serves through
    # the GPTQ/Marlin kernels; the catalog sizes it as gptq.
    "~/.cache/huggingface/qwen3.6-27b-autoround-int4 (Qwen3.6-27B AutoRound INT4, local path)": (
        "Qwen/Qwen3.6-27B",
        "gptq",
    ),
    "Qwen3.6-27B AutoRound INT4 (club-3090 qwen3.6-27b-autoround)": ("Qwen/Qwen3.6-27B", "gptq"),
    "Qwen3.6-27B-AutoRound (INT4, per issue title; exact repo id not in excerpt)": (
        "Qwen/Qwen3.6-27B",
        "gptq",
    ),
    "shawnw3i/Qwen3.6-27B-AWQ-MTP": ("Qwen/Qwen3.6-27B", "awq"),
    # Rows whose notes leave the checkpoint open (a 16-bit 27B does not fit 2 x 24 GB, so it is some quant):
    # kept out on purpose by naming no catalog model (their first word alone would load the 16-bit repo).
    "Qwen3.6-27B (club-3090 compose vllm/qwen-27b-dual-lmcache; exact checkpoint not in excerpt)": (
        "unstated Qwen3.6-27B checkpoint",
        None,
    ),
    "Qwen3.6-27B (compose vllm-qwen36-27b-dual-nvlink-dflash-noviz; exact checkpoint not in excerpt)": (
        "unstated Qwen3.6-27B checkpoint",
        None,
    ),
}
# CSV GPU text -> profile name (same memory class; stated in the row's notes).
GPU_MAP = {
    "RTX 4060 8GB": "RTX 4060",
    "L40": "L40S",
    "RTX 6000 Ada 48GB (same AD102 chip as L40S)": "L40S",
    "A100": "A100-80GB",
}
# Layouts the CSV leaves blank but its notes pin down.
LAYOUT_HINTS = {
    "vllm-project/vllm#20665": (2, 2),  # "KV 12.13 GiB on ranks 0,1 and 11.33 on ranks 2,3"
    # 2 x RTX 4090 and 'kvcache num per gpu': ~30 GiB of FP8 weights cannot sit on one 23.6 GiB card, and
    # one per-GPU count for both cards means TP2 (PP stages would hold different layer counts).
    "LMCache/LMCache#1241": (2, 1),
}
# Releases the CSV labels loosely but its notes pin down: vLLM#2031 rows log blocks *after* that PR,
# which is the 0.2.5 accounting (total - free); their "Before fix: N blocks" is 0.2.4's (see _before_fix).
VERSION_HINTS = {"vllm-project/vllm#2031": "0.2.5"}


class Row(NamedTuple):
    label: str
    weights: tuple[float | None, float | None]
    kv_gib: tuple[float | None, float | None]
    kv_tokens: tuple[float | None, float | None]
    modelled: bool = True
    features: tuple[str, ...] = ()
    source: str = ""
    graphs: tuple[float | None, float | None] = (None, None)


def _features(est, arch) -> tuple[str, ...]:
    """The row's features the report splits by."""
    kinds = set(arch.attention_layer_kinds)
    found = []
    if est.tensor_parallel_size > 1:
        found.append("TP>1")
    if est.pipeline_parallel_size > 1:
        found.append("PP>1")
    if kinds & {"sliding", "chunked", "mamba"}:
        found.append("sliding/hybrid")
    if arch.is_moe:
        found.append("MoE")
    if est.quantization != "none":
        found.append("quantized")
    return tuple(found) or ("dense TP1 16-bit",)


# Rows served through an LMCache KV connector: it turns the hybrid KV manager off and reserves memory of
# its own, which sizing/ does not model (docs/sizing.md, "Not modelled"). Shown, left out of the medians.
CONNECTOR = re.compile(r"LMCache|kv-transfer", re.IGNORECASE)
# Rows with speculative decoding (MTP, EAGLE, DFlash, draft models): the drafter's weights, KV and the
# rejection sampler are not modelled either (docs/sizing.md, "Not modelled"). Shown, left out of the medians.
SPECULATIVE = re.compile(
    r"\bMTP\b|num_speculative_tokens|dflash|eagle|speculative decod|spec[- ]decod", re.IGNORECASE
)


def _num(text: str) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def _version(text: str) -> str | None:
    """X.Y.Z when the row names a patch release ('~0.5.1', '0.10.1'), else X.Y ('~0.7.x' -> 0.7)."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None
    return ".".join(g for g in match.groups() if g is not None)


def _flag(notes: str, *names: str) -> int | None:
    for name in names:
        match = re.search(rf"{name}[ =]+(\d+)", notes)
        if match:
            return int(match.group(1))
    return None


def _quant(text: str) -> str | None:
    for q in ("mxfp4", "fp8", "awq", "gptq", "int8"):
        if q in (text or "").lower():
            return q
    return None


def _inputs(rec: dict[str, str]) -> tuple[SizingInput, float | None]:
    """SizingInput for a row, plus the logged CUDA total when the row gives one."""
    model, quant = MODEL_MAP.get(rec["model"], (rec["model"].split(" ")[0], None))
    arch = load_model(model)  # raises for models outside the catalog
    gpu = gpu_profile(GPU_MAP.get(rec["gpu"], rec["gpu"]) or _gpu_by_total(_num(rec["gpu_total_gib"])))
    tp, pp = LAYOUT_HINTS.get(rec["source"].split(" ")[0], (None, None))
    if not (tp or rec["tp"] or rec["pp"]):
        raise SizingError("tensor/pipeline layout not stated")
    notes = rec["notes"]
    inp = SizingInput(
        arch=arch,
        gpu=gpu,
        tensor_parallel_size=tp or int(_num(rec["tp"]) or _num(rec["num_gpus"]) or 1),
        pipeline_parallel_size=pp or int(_num(rec["pp"]) or 1),
        quantization=quant or _quant(rec["quantization"]),
        kv_cache_dtype="fp8" if "fp8" in rec["kv_cache_dtype"] else "auto",
        max_model_len=int(_num(rec["max_model_len"])) if rec["max_model_len"] else None,
        max_num_batched_tokens=_int_cell(rec, "max_num_batched_tokens")
        or _flag(notes, "max_num_batched_tokens", "--max-num-batched-tokens", "mnbt"),
        max_num_seqs=_int_cell(rec, "max_num_seqs") or _flag(notes, "max_num_seqs", "--max-num-seqs"),
        enforce_eager=(rec.get("enforce_eager") or "").strip().lower() in ("true", "1", "yes")
        or "--enforce-eager" in notes
        or "enforce_eager=True" in notes,
        gpu_memory_utilization=_num(rec["gpu_memory_utilization"]),
        block_size=int(_num(rec["block_size"]) or 0) or _flag(notes, "--block-size") or None,
        vllm_version=VERSION_HINTS.get(rec["source"].split(" ")[0]) or _version(rec["vllm_version"]),
    )
    return inp, _num(rec["gpu_total_gib"])


def _int_cell(rec: dict[str, str], name: str) -> int | None:
    value = _num(rec.get(name) or "")
    return int(value) if value else None


def _gpu_by_total(total: float | None) -> str:
    """A row that names no GPU but logs its CUDA total: the profile of that memory class."""
    if total is None:
        raise SizingError("GPU not stated")
    return min(known_gpus(), key=lambda name: abs(gpu_profile(name).total_memory_gib - total))


def _row(rec: dict[str, str]) -> Row:
    inp, logged_total = _inputs(rec)
    est = estimate_memory(inp)
    kv = est.kv_cache_gib
    if logged_total:  # the row names the exact CUDA total: budget against it, not the table's
        kv += est.gpu_memory_utilization * (logged_total - est.total_gpu_memory_gib)
    tokens_logged = _num(rec["kv_cache_tokens"])
    tokens_pred: float | None = est.kv_cache_tokens
    if tokens_logged is None and _num(rec["gpu_blocks"]) is not None:  # compare blocks as tokens
        tokens_logged = _num(rec["gpu_blocks"]) * est.block_size
        tokens_pred = est.num_gpu_blocks * est.block_size
    if logged_total:
        tokens_pred = None if tokens_logged is None else _rescale_tokens(est, kv)
    label = (
        f"{est.model.split('/')[-1][:30]:30s} {est.gpu:10s} TP{est.tensor_parallel_size} PP"
        f"{est.pipeline_parallel_size} v{est.vllm_version:6s}"
    )
    connector = bool(CONNECTOR.search(rec["source"] + " " + rec["notes"]))
    speculative = bool(SPECULATIVE.search(rec["notes"]))
    return Row(
        label + (" *" if connector else " +" if speculative else "  "),
        (_num(rec["weights_gib"]), est.weights_gib),
        (_num(rec["kv_cache_gib"]), kv),
        (tokens_logged, tokens_pred),
        not (connector or speculative),
        _features(est, inp.arch),
        rec["source"].split(" ")[0],
        (_num(rec.get("cudagraph_gib") or ""), est.cudagraph_gib),
    )



def _before_fix(rec: dict[str, str]) -> Row | None:
    """A second comparison for rows whose notes log the block count before the fixing PR (0.2.4)."""
    match = re.search(r"[Bb]efore fix:? (\d+) blocks", rec["notes"])
    if not match:
        return None
    inp, _ = _inputs(rec)
    est = estimate_memory(inp.model_copy(update={"vllm_version": "0.2.4"}))
    logged = int(match.group(1)) * est.block_size
    label = (
        f"{est.model.split('/')[-1][:30]:30s} {est.gpu:10s} TP{est.tensor_parallel_size} PP"
        f"{est.pipeline_parallel_size} v{est.vllm_version:6s}"
    )
    return Row(
        label + "  ",
        (None, None),
        (None, None),
        (logged, est.num_gpu_blocks * est.block_size),
        True,
        _features(est, inp.arch),
        rec["source"].split(" ")[0],
    )


def _rescale_tokens(est, kv_gib: float) -> float:
    if est.kv_cache_gib <= 0 or kv_gib <= 0:
        return 0.0
    return est.kv_cache_tokens * kv_gib / est.kv_cache_gib


def _err(pair: tuple[float | None, float | None]) -> float | None:
    logged, pred = pair
    if logged is None or pred is None or logged == 0:
        return None
    return 100 * (pred - logged) / abs(logged)


def _cell(pair: tuple[float | None, float | None], fmt: str) -> str:
    logged, pred = pair
    if logged is None:
        return f"{'-':>26s}"
    err = _err(pair)
    if err is None:
        return f"{format(logged, fmt):>9s} {format(pred or 0, fmt):>9s} {'n/a':>7s}"
    return f"{format(logged, fmt):>9s} {format(pred, fmt):>9s} {err:+6.1f}%"


def _is_v1(label: str) -> bool:
    return _version_of(label) >= (0, 8)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_CSV
    if not path.is_file():
        print(
            f"error: reference CSV not found at {path} (expected bench/data/vllm_startup_logs.csv in the "
            "repository, or pass its path)",
            file=sys.stderr,
        )
        return 2
    rows, skipped = [], []
    with path.open(newline="") as handle:
        for rec in csv.DictReader(handle):
            try:
                rows.append(_row(rec))
                before = _before_fix(rec)
                if before is not None:
                    rows.append(before)
            except (SizingError, ValueError) as exc:
                skipped.append(f"{rec['model'][:45]:45s} {rec['gpu'][:22]:22s} {str(exc)[:70]}")
    print(
        f"{'row':61s} {'weights GiB logged/pred/err':>26s}  {'KV GiB logged/pred/err':>26s}  "
        f"{'KV tokens logged/pred/err':>26s}"
    )
    for row in rows:
        print(
            f"{row.label:61s} {_cell(row.weights, '.2f')}  {_cell(row.kv_gib, '.2f')}  "
            f"{_cell(row.kv_tokens, '.0f')}"
        )
    print(f"\nrows used: {len(rows)}; skipped: {len(skipped)}")
    for line in skipped:
        print(f"  skipped: {line}")
    print("  * served through an LMCache KV connector (not modelled): shown, left out of the medians")
    print("  + speculative decoding (MTP, EAGLE, DFlash; not modelled): shown, left out of the medians")
    modelled = [r for r in rows if r.modelled]
    v1_rows = [r for r in modelled if _is_v1(r.label)]
    for subset, chosen in (("all modelled rows", modelled), ("V1 rows (vLLM >= 0.8)", v1_rows)):
        print(f"{subset}:")
        for name, field in (("weights", "weights"), ("KV GiB", "kv_gib"), ("KV tokens", "kv_tokens")):
            errs = [abs(e) for e in (_err(getattr(r, field)) for r in chosen) if e is not None]
            if errs:
                print(
                    f"  median |error| {name:10s}: {statistics.median(errs):5.2f} %  over {len(errs)} rows "
                    f"(mean {statistics.fmean(errs):.2f} %)"
                )
    _report_split(modelled)
    _report_graphs(modelled)
    _report_context(path.parent / "free_on_start.csv")
    return _report_calibrated(modelled)


def _version_of(label: str) -> tuple[int, int]:
    """The X.Y release of a row label (" vX.Y[.Z]")."""
    return tuple(map(int, re.search(r" v(\d+)\.(\d+)", label).groups()))


def _band(label: str) -> str:
    version = _version_of(label)
    return next(name for low, high, name in BANDS if low <= version <= high)


def _p90(sorted_errs: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    return sorted_errs[min(len(sorted_errs) - 1, int(0.9 * len(sorted_errs)))]


def _report_split(modelled: list[Row]) -> None:
    """Median / p90 |error| of KV GiB and tokens (one error per row, GiB preferred) by band and feature."""

    def stats(rows: list[Row]) -> str:
        errs = sorted(
            abs(e)
            for e in (_err(r.kv_gib) if _err(r.kv_gib) is not None else _err(r.kv_tokens) for r in rows)
            if e is not None
        )
        weights = [abs(e) for e in (_err(r.weights) for r in rows) if e is not None]
        if not errs and not weights:
            return "no KV or weights rows"
        kv = (
            f"KV median {statistics.median(errs):6.2f} % p90 {_p90(errs):7.2f} %"
            f" ({len(errs)} rows)"
            if errs
            else "KV -"
        )
        w = (
            f"weights median {statistics.median(weights):5.2f} % ({len(weights)} rows)"
            if weights
            else "weights -"
        )
        return f"{kv}; {w}; sources {len({r.source for r in rows})}"

    print("by release band (KV: GiB where logged, else tokens/blocks):")
    for _, _, name in BANDS:
        chosen = [r for r in modelled if _band(r.label) == name]
        print(f"  {name:18s} {stats(chosen)}")
    for low, high, name in SPANS:
        chosen = [r for r in modelled if low <= _version_of(r.label) <= high]
        print(f"  {name:18s} {stats(chosen)}")
    print("by feature (a row counts under each of its features):")
    for feature in ("dense TP1 16-bit", "TP>1", "PP>1", "sliding/hybrid", "MoE", "quantized"):
        chosen = [r for r in modelled if feature in r.features]
        print(f"  {feature:18s} {stats(chosen)}")


def _fit_graphs(points: list[tuple[str, float, float]]) -> tuple[float, float]:
    """(base GiB, GiB per graph layer) minimising the summed |error| over (source, layers, logged) points."""
    best = None
    for base in (i * 0.02 for i in range(31)):
        for per_layer in (i * 0.0005 for i in range(41)):
            cost = sum(abs(base + per_layer * layers - logged) for _, layers, logged in points)
            if best is None or cost < best[0]:
                best = (cost, base, per_layer)
    return best[1], best[2]


def _report_graphs(rows: list[Row]) -> None:
    """Logged CUDA graph memory (the 0.20+ estimate, or the capture figure before) against the model, and a
    leave-one-source-out refit of its two constants (sizing.memory CUDAGRAPH_BASE_GIB / _PER_LAYER_GIB)."""
    from sizing.memory import CUDAGRAPH_BASE_GIB, CUDAGRAPH_PER_LAYER_GIB

    points = []
    for r in rows:
        logged, pred = r.graphs
        if logged is None or not pred:
            continue
        layers = (pred - CUDAGRAPH_BASE_GIB) / CUDAGRAPH_PER_LAYER_GIB  # graph layers of the worst stage
        points.append((r.source, layers, logged, pred, r.label.split()[0]))
    if not points:
        print("CUDA graphs: no row logs graph memory")
        return
    print(f"CUDA graph memory (GiB), {len(points)} rows from {len({p[0] for p in points})} sources:")
    for _, _, logged, pred, model in points:
        print(f"  {model[:30]:30s} logged {logged:5.2f} predicted {pred:5.2f} ({pred - logged:+.2f})")
    current = [abs(pred - logged) for _, _, logged, pred, _ in points]
    held_out = []
    for source in {p[0] for p in points}:
        base, per_layer = _fit_graphs([p[:3] for p in points if p[0] != source])
        held_out += [abs(base + per_layer * p[1] - p[2]) for p in points if p[0] == source]
    base, per_layer = _fit_graphs([p[:3] for p in points])
    print(
        f"  shipped constants ({CUDAGRAPH_BASE_GIB} + {CUDAGRAPH_PER_LAYER_GIB}/layer): median |error| "
        f"{statistics.median(current):.2f} GiB; refit on every row ({base:.2f} + {per_layer:.4f}/layer), "
        f"leave-one-source-out: median |error| {statistics.median(held_out):.2f} GiB"
    )


def _report_context(path: Path) -> None:
    """total - free of 'Free memory on device (free/total GiB) on startup' lines (free_on_start.csv)
    against sizing.memory's CUDA context + NCCL constants, which 0.34's extensible KV cache pays: TP1 and
    TP>1 medians, each held-out source against the median of the others. Rows with another process on
    the GPU, WSL or no stated TP are left out."""
    from sizing.memory import CUDA_CONTEXT_GIB, NCCL_CONTEXT_GIB

    if not path.is_file():
        print(f"context memory: {path.name} not found")
        return
    rows = []
    with path.open(newline="") as handle:
        for rec in csv.DictReader(handle):
            tp = _num(rec["tp"])
            if rec["other_processes"] == "yes" or not tp or "WSL" in rec["notes"] + rec["gpu"]:
                continue
            used = _num(rec["total_gib"]) - _num(rec["free_gib"])
            rows.append((rec["source"].split(" ")[0], int(tp), used))
    print(f"memory in use before vLLM's start-up snapshot (GiB), {len(rows)} rows:")
    for label, chosen, shipped in (
        ("TP1", [r for r in rows if r[1] == 1], CUDA_CONTEXT_GIB),
        ("TP>1", [r for r in rows if r[1] > 1], CUDA_CONTEXT_GIB + NCCL_CONTEXT_GIB),
    ):
        if not chosen:
            print(f"  {label:5s} no rows")
            continue
        used = [r[2] for r in chosen]
        held_out = []
        for source in {r[0] for r in chosen}:
            others = [r[2] for r in chosen if r[0] != source]
            if others:
                held_out += [abs(r[2] - statistics.median(others)) for r in chosen if r[0] == source]
        loso = f"{statistics.median(held_out):.2f}" if held_out else "-"
        print(
            f"  {label:5s} {len(chosen)} rows, {len({r[0] for r in chosen})} sources: median "
            f"{statistics.median(used):.2f} (range {min(used):.2f}-{max(used):.2f}); shipped {shipped:.2f}, "
            f"median |error| {statistics.median(abs(u - shipped) for u in used):.2f}; leave-one-source-out "
            f"median |error| {loso}"
        )


def _report_calibrated(modelled: list[Row]) -> int:
    """Releases with a KV row here must be exactly sizing.CALIBRATED_VLLM_VERSIONS (docs/sizing.md)."""
    found = set()
    for row in modelled:
        if row.kv_gib[0] is not None or row.kv_tokens[0] is not None:
            found.add(".".join(map(str, _version_of(row.label))))
    ordered = sorted(found, key=lambda v: tuple(map(int, v.split("."))))
    print(f"releases calibrated on KV rows: {', '.join(ordered)}")
    if found != set(CALIBRATED_VLLM_VERSIONS):
        print(
            f"error: sizing.CALIBRATED_VLLM_VERSIONS is {', '.join(CALIBRATED_VLLM_VERSIONS)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
