"""Observed startup figures that override the prediction for exactly the settings they were logged with.

A calibration file is a CSV, one row per (model, GPU, TP, PP, vLLM release X.Y, weights format, KV cache
dtype, max_num_batched_tokens, max_num_seqs) - everything the non-KV memory depends on. A row holds what
that vLLM logged at startup: the weights ("Model loading took"), the non-KV memory
(`gpu_memory_utilization x total - Available KV cache memory`, so the CUDA-graph estimate of 0.20+ is in
it) and the KV tokens. `llm-advisor check-log LOG --write-calibration FILE` appends such a row.

When a SizingInput carries a Calibration with a row for its exact settings, estimate_memory and
recommend_utilization use the logged weights and non-KV memory instead of the modelled ones; the KV block
geometry stays the model's (it is exact from the config). The estimate then names the row in
`MemoryEstimate.calibration` and in a note. Another row of the same model and GPU at other settings does
not apply: the non-KV memory moves with max_num_seqs (sampler) and max_num_batched_tokens (forward pass).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import Field, ValidationError

from sizing.errors import SizingError
from sizing.startup_log import logged_budget_gib
from sizing.vllm_versions import check_vllm_version, parse_version
from sizing.vocabulary import Frozen, KvCacheDtype, Quantization

COLUMNS = (
    "model",
    "gpu",
    "tensor_parallel_size",
    "pipeline_parallel_size",
    "vllm_version",
    "quantization",
    "kv_cache_dtype",
    "max_num_batched_tokens",
    "max_num_seqs",
    "gpu_memory_utilization",
    "total_gpu_memory_gib",
    "weights_gib",
    "non_kv_gib",
    "kv_cache_tokens",
    "source",
    "enforce_eager",
)
REQUIRED = COLUMNS[:10] + ("weights_gib", "non_kv_gib")  # enforce_eager may be absent (older files: false)


class CalibrationRow(Frozen):
    """What one vLLM startup logged, per GPU (the worst rank), and the settings it ran with."""

    model: str = Field(min_length=1, description="Hugging Face repo id as the catalog spells it")
    gpu: str = Field(min_length=1, description="GPU profile name (H100, A10G, L4, A100-80GB ...)")
    tensor_parallel_size: int = Field(ge=1)
    pipeline_parallel_size: int = Field(ge=1)
    vllm_version: str = Field(description="X.Y release")
    quantization: Quantization
    kv_cache_dtype: KvCacheDtype
    max_num_batched_tokens: int = Field(ge=1)
    max_num_seqs: int = Field(ge=1)
    gpu_memory_utilization: float = Field(gt=0, le=1)
    total_gpu_memory_gib: float | None = Field(default=None, gt=0)
    weights_gib: float = Field(gt=0)
    non_kv_gib: float = Field(
        gt=0, description="budget (util x total; 0.34+: capped like the extensible cache) - logged KV memory"
    )
    kv_cache_tokens: int | None = Field(default=None, ge=0)
    enforce_eager: bool = Field(default=False, description="the log ran without CUDA graphs")
    source: str = ""

    def key(self) -> tuple:
        return _key(
            self.model,
            self.gpu,
            self.tensor_parallel_size,
            self.pipeline_parallel_size,
            self.vllm_version,
            self.quantization,
            self.kv_cache_dtype,
            self.max_num_batched_tokens,
            self.max_num_seqs,
            self.enforce_eager,
        )

    def describe(self) -> str:
        return (
            f"{self.model} on {self.gpu} TP{self.tensor_parallel_size} PP{self.pipeline_parallel_size} "
            f"vLLM {self.vllm_version} {self.quantization} kv {self.kv_cache_dtype} "
            f"mnbt {self.max_num_batched_tokens} seqs {self.max_num_seqs}"
            + (" eager" if self.enforce_eager else "")
        )


def _key(model, gpu, tp, pp, version, quant, kv_dtype, mnbt, seqs, eager=False) -> tuple:
    major, minor = parse_version(version)
    return (model.lower(), gpu.lower(), tp, pp, (major, minor), quant, kv_dtype, mnbt, seqs, bool(eager))


class Calibration(Frozen):
    """The rows of one calibration file."""

    path: str
    rows: tuple[CalibrationRow, ...] = ()

    def find(
        self, model, gpu, tp, pp, version, quant, kv_dtype, mnbt, seqs, eager=False
    ) -> CalibrationRow | None:
        key = _key(model, gpu, tp, pp, version, quant, kv_dtype, mnbt, seqs, eager)
        return next((row for row in self.rows if row.key() == key), None)

    def for_layout(
        self, model: str, gpu: str, tp: int, pp: int, version: str | None
    ) -> CalibrationRow | None:
        """The first row of this model, GPU and layout in this release, whatever its other settings."""
        want = (model.lower(), gpu.lower(), tp, pp, parse_version(version))
        return next((row for row in self.rows if row.key()[:5] == want), None)


def load_calibration(path: str | Path) -> Calibration:
    """Read a calibration CSV; SizingError naming the file, the line and the column for bad input."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SizingError(
            f"calibration file {path}: cannot read it ({exc}); write one with "
            "`llm-advisor check-log LOG --write-calibration FILE`"
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise SizingError(
            f"calibration file {path}: missing column(s) {', '.join(missing)}; the header must be "
            f"{','.join(COLUMNS)}"
        )
    rows, seen = [], {}
    for line, rec in enumerate(reader, start=2):
        values = {k: (rec.get(k) or "").strip() for k in COLUMNS}
        values = {k: v for k, v in values.items() if v != ""}
        try:
            if "vllm_version" in values:
                check_vllm_version(values["vllm_version"])
            row = CalibrationRow(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "row"
            raise SizingError(f"calibration file {path} line {line}: {field}: {err['msg']}") from exc
        except SizingError as exc:
            raise SizingError(f"calibration file {path} line {line}: {exc}") from exc
        if row.key() in seen:
            raise SizingError(
                f"calibration file {path} line {line}: same settings as line {seen[row.key()]} "
                f"({row.describe()}); keep one of them"
            )
        seen[row.key()] = line
        rows.append(row)
    return Calibration(path=str(path), rows=tuple(rows))


def append_calibration(path: str | Path, row: CalibrationRow) -> None:
    """Add a row to a calibration CSV (created with its header); a row of the same settings is replaced."""
    path = Path(path)
    existing = load_calibration(path).rows if path.is_file() and path.stat().st_size else ()
    kept = [r for r in existing if r.key() != row.key()] + [row]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in kept:
        writer.writerow({k: "" if getattr(r, k) is None else getattr(r, k) for k in COLUMNS})
    path.write_text(out.getvalue(), encoding="utf-8")


def row_from_log(log, est, source: str) -> CalibrationRow:
    """A calibration row from a parsed startup log (sizing/startup_log.py) and the estimate of its settings.

    The settings are the resolved ones (what vLLM ran with, its defaults included); the non-KV memory is
    `util x total - Available KV cache memory` (0.34+: the capped budget, sizing.memory.budget_bytes), with
    the logged total when the log prints one."""
    missing = [
        name
        for name, value in (
            ("Model loading took", log.weights_gib),
            ("Available KV cache memory", log.kv_cache_gib),
        )
        if value is None
    ]
    if missing:
        raise SizingError(
            f"{source}: no {' / '.join(repr(m) for m in missing)} line, so no calibration row can be written "
            "(a V1 log of vLLM 0.8+ up to the KV cache lines has both)"
        )
    total = log.total_gpu_memory_gib or est.total_gpu_memory_gib
    budget = logged_budget_gib(log, est)
    major, minor = parse_version(est.vllm_version)
    return CalibrationRow(
        model=est.model,
        gpu=est.gpu,
        tensor_parallel_size=est.tensor_parallel_size,
        pipeline_parallel_size=est.pipeline_parallel_size,
        vllm_version=f"{major}.{minor}",
        quantization=est.quantization,
        kv_cache_dtype=est.kv_cache_dtype,
        max_num_batched_tokens=est.max_num_batched_tokens,
        max_num_seqs=est.max_num_seqs,
        gpu_memory_utilization=est.gpu_memory_utilization,
        total_gpu_memory_gib=total,
        weights_gib=log.weights_gib,
        non_kv_gib=round(budget - log.kv_cache_gib, 4),
        kv_cache_tokens=log.kv_cache_tokens,
        enforce_eager=log.enforce_eager,
        source=source,
    )
