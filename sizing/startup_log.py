"""Reads a vLLM startup log (releases 0.2-0.34): the settings it echoes and the memory figures it logs.

Pure text parsing, no I/O: `parse_startup_log(text)` returns a StartupLog or raises SizingError for a log of
another engine, a log with nothing vLLM-shaped in it, or one that ends before vLLM sized its KV cache.
The line shapes, by release (vLLM source, the logger calls named):

* engine banner: "Initializing an LLM engine (v0.6.3) with config: model='...', ..." (V0
  engine/llm_engine.py), "Initializing a V1 LLM engine (v0.11.0) with config: ..." (v1/engine/core.py);
  "vLLM API server version 0.11.0" (entrypoints/openai/api_server.py); the config echo carries
  tensor_parallel_size, pipeline_parallel_size, max_seq_len, dtype, quantization, kv_cache_dtype.
* "non-default args: {...}" (0.10+, entrypoints/utils.py) or "args: Namespace(...)" (older api_server).
* weights: "Loading model weights took 14.9888 GB" (V0 worker/model_runner.py; bytes / 2^30 despite "GB")
  and "Model loading took 14.9888 GiB and 5.2 seconds" (V1 gpu_model_runner.py::load_model).
* profiling (V0 0.6.5-0.10 worker.py and V1 0.8-0.10 at INFO): "total_gpu_memory (79.19GiB) x
  gpu_memory_utilization (0.90) = 71.27GiB", "model weights take ...GiB; non_torch_memory takes ...GiB;
  PyTorch activation peak memory takes ...GiB; the rest of the memory reserved for KV Cache is ...GiB".
* "Available KV cache memory: 53.29 GiB" (V1 gpu_worker.py::determine_available_memory),
  "GPU KV cache size: 436,352 tokens" and "Maximum concurrency for 8,192 tokens per request: 53.27x"
  (v1/core/kv_cache_utils.py), "# GPU blocks: 27272, # CPU blocks: 2048" (V0 executor/gpu_executor.py,
  "# cuda blocks" in some releases), "Graph capturing finished in 12 secs, took 0.52 GiB".
* 0.20+ CUDA graph estimate (v1/worker/gpu_model_runner.py::profile_cudagraph_memory and gpu_worker.py):
  "Estimated CUDA graph memory: 0.36 GiB total" and "The current --gpu-memory-utilization=0.9200 is
  equivalent to --gpu-memory-utilization=0.9129 without CUDA graph memory profiling" (estimate = the
  difference x total); "Free memory on device (77.78/79.33 GiB) on startup" gives the CUDA total;
  "Actual usage is 15.03 GiB for consumed memory (weights + non-torch), 1.59 GiB for peak activation, and
  0.09 GiB for CUDAGraph memory" (0.27+; "... for weight, ... for peak activation, ... for non-torch
  memory, and ... for CUDAGraph memory" in 0.11-0.26) gives the peak and the graph memory actually taken.
* 0.34 extensible KV cache (v1/worker/extensible_kv_cache.py::measure_kv_cache_blocks): "Memory after
  warmup: 2.10 GiB free, ... committed to the KV cache, ...; 2771 KV cache blocks (4.33 GiB) fit within the
  requested 22.07 GiB" - the final KV size; its "Available KV cache memory" line is only the profile-time
  reservation, so the warmup figures replace it.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from pydantic import Field

from sizing.errors import SizingError
from sizing.vocabulary import Frozen

# Words other engines print at startup and vLLM does not: the engine named in the error.
OTHER_ENGINES = (
    ("SGLang", re.compile(r"\bsglang\b|sglang\.srt|\[TP\d+\] Load weight", re.IGNORECASE)),
    ("Text Generation Inference", re.compile(r"text_generation_launcher|text_generation_router", re.I)),
    ("llama.cpp", re.compile(r"llama_model_loader|llm_load_tensors|llama_new_context_with_model")),
    ("TensorRT-LLM", re.compile(r"\[TRT-LLM\]|tensorrt_llm", re.IGNORECASE)),
    ("Ollama", re.compile(r"\bollama\b", re.IGNORECASE)),
)
NUM = r"(-?[\d,]*\.?\d+)"


class StartupLog(Frozen):
    """What one vLLM startup log says. Figures are per GPU (the rank that printed them); None = not logged."""

    vllm_version: str | None = None
    model: str | None = None
    tensor_parallel_size: int = 1
    pipeline_parallel_size: int = 1
    max_model_len: int | None = None
    quantization: str | None = None
    kv_cache_dtype: str = "auto"
    gpu_memory_utilization: float | None = None
    max_num_batched_tokens: int | None = None
    max_num_seqs: int | None = None
    block_size: int | None = None
    total_gpu_memory_gib: float | None = None
    weights_gib: float | None = None
    activation_peak_gib: float | None = None
    non_torch_gib: float | None = None
    kv_cache_gib: float | None = None
    kv_cache_tokens: int | None = None
    gpu_blocks: int | None = None
    max_concurrency: float | None = None
    cudagraph_gib: float | None = Field(None, description="graph memory taken at capture (after the budget)")
    cudagraph_estimate_gib: float | None = Field(None, description="0.20+: the graph estimate in the budget")
    enforce_eager: bool = False
    lines: dict[str, int] = Field(default_factory=dict, description="figure -> 1-based line it came from")


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _settings(text: str) -> dict[str, Any]:
    """key=value pairs of the config echo, the `non-default args: {...}` dict and `Namespace(...)`."""
    found: dict[str, Any] = {}
    for match in re.finditer(r"(\w+)=('[^']*'|\"[^\"]*\"|[\w.\-]+)", text):
        found.setdefault(match.group(1), match.group(2).strip("'\""))
    for match in re.finditer(r"non-default args: (\{.*\})", text):
        try:
            found.update({k: v for k, v in ast.literal_eval(match.group(1)).items() if v is not None})
        except (ValueError, SyntaxError):
            pass
    return found


def _int(value: Any) -> int | None:
    try:
        return int(str(value).replace(",", ""))
    except (TypeError, ValueError):
        return None


PATTERNS: dict[str, re.Pattern[str]] = {
    "weights_gib": re.compile(rf"(?:Model loading took|Loading model weights took) {NUM} ?Gi?B"),
    "total_gpu_memory_gib": re.compile(rf"total_gpu_memory \({NUM} ?GiB\)"),
    "profile_util": re.compile(rf"gpu_memory_utilization \({NUM}\)"),
    "non_torch_gib": re.compile(rf"non_torch_memory takes {NUM} ?GiB"),
    "activation_peak_gib": re.compile(rf"PyTorch activation peak memory takes {NUM} ?GiB"),
    "kv_rest": re.compile(rf"reserved for KV Cache is {NUM} ?GiB"),
    "kv_cache_gib": re.compile(rf"Available KV cache memory: {NUM} ?GiB"),
    "kv_cache_tokens": re.compile(rf"GPU KV cache size: {NUM} tokens"),
    "max_concurrency": re.compile(rf"Maximum concurrency for {NUM} tokens per request: {NUM}x"),
    "gpu_blocks": re.compile(rf"# (?:GPU|cuda) blocks: {NUM}"),
    "cudagraph_gib": re.compile(rf"Graph capturing finished in {NUM} secs?, took {NUM} ?GiB"),
    "cudagraph_estimate_gib": re.compile(rf"Estimated CUDA graph memory: {NUM} ?GiB total"),
    "equivalent_util": re.compile(
        rf"current --gpu-memory-utilization={NUM} is\s+equivalent to --gpu-memory-utilization={NUM}"
    ),
    "free_on_start": re.compile(rf"Free memory on device \({NUM}/{NUM} ?GiB\)"),
    "usage_peak": re.compile(rf"GiB for (?:weight|consumed memory[^,]*), {NUM} ?GiB for peak activation"),
    "usage_graphs": re.compile(rf"and {NUM} ?GiB for CUDAGraph memory"),
    "usage_non_torch": re.compile(rf"{NUM} ?GiB for non-torch memory"),
    "warmup_kv": re.compile(rf"Memory after warmup:.*?; {NUM} KV cache blocks \({NUM} ?GiB\) fit within"),
    "version": re.compile(r"(?:LLM engine \(v|vLLM API server version |vLLM version )v?(\d+\.\d+(?:\.\d+)?)"),
    "chunked_mnbt": re.compile(r"max_num_batched_tokens=(\d+)"),
}
VLLM_MARKERS = re.compile(r"vllm|LLM engine|Model loading took|Loading model weights took|KV cache", re.I)


def _last_match(name: str, lines: list[str]) -> tuple[re.Match[str], int] | None:
    """The last line a pattern matches (later ranks repeat a figure; the last is what the engine ran with)."""
    hit = None
    for number, line in enumerate(lines, 1):
        if match := PATTERNS[name].search(line):
            hit = (match, number)
    return hit


def _find(name: str, lines: list[str], group: int = 1) -> tuple[float, int] | None:
    """The last match of a figure and its 1-based line."""
    hit = _last_match(name, lines)
    return None if hit is None else (_num(hit[0].group(group)), hit[1])


def _find_pair(name: str, lines: list[str]) -> tuple[tuple[float, float], int] | None:
    """The last line where a two-number pattern matches: ((first, second), line number)."""
    hit = _last_match(name, lines)
    return None if hit is None else ((_num(hit[0].group(1)), _num(hit[0].group(2))), hit[1])


def parse_startup_log(text: str, source: str = "log") -> StartupLog:
    """The settings and figures of a vLLM startup log; SizingError naming why when it is not one."""
    if not text.strip():
        raise SizingError(f"{source} is empty; pass the output of `vllm serve` up to 'Application startup'")
    vllm_like = VLLM_MARKERS.search(text)
    for engine, pattern in OTHER_ENGINES:
        if pattern.search(text) and not re.search(r"Model loading took|KV cache size", text):
            raise SizingError(
                f"{source} looks like a {engine} log, not vLLM; check-log reads vLLM startup logs (0.2-0.34)"
            )
    if not vllm_like:
        raise SizingError(
            f"{source} has nothing a vLLM startup log prints (no engine banner, 'Model loading took', "
            "'KV cache' lines); pass the output of `vllm serve` from its start"
        )
    lines = text.splitlines()
    figures: dict[str, Any] = {}
    where: dict[str, int] = {}
    for name in (
        "weights_gib",
        "total_gpu_memory_gib",
        "non_torch_gib",
        "activation_peak_gib",
        "kv_cache_gib",
        "kv_cache_tokens",
        "gpu_blocks",
    ):
        hit = _find(name, lines)
        if hit:
            figures[name], where[name] = hit
    if warmup := _find_pair("warmup_kv", lines):  # 0.34: the measured size replaces the reservation
        (blocks, gib), number = warmup
        figures["gpu_blocks"], figures["kv_cache_gib"] = int(blocks), gib
        where["gpu_blocks"] = where["kv_cache_gib"] = number
    if "kv_cache_gib" not in figures and (hit := _find("kv_rest", lines)):
        figures["kv_cache_gib"], where["kv_cache_gib"] = hit
    if hit := _find("max_concurrency", lines, 2):
        figures["max_concurrency"], where["max_concurrency"] = hit
    if hit := _find("cudagraph_gib", lines, 2):
        figures["cudagraph_gib"], where["cudagraph_gib"] = hit
    elif hit := _find("usage_graphs", lines):
        figures["cudagraph_gib"], where["cudagraph_gib"] = hit
    if "activation_peak_gib" not in figures and (hit := _find("usage_peak", lines)):
        figures["activation_peak_gib"], where["activation_peak_gib"] = hit
    if "non_torch_gib" not in figures and (hit := _find("usage_non_torch", lines)):
        figures["non_torch_gib"], where["non_torch_gib"] = hit
    if "total_gpu_memory_gib" not in figures and (hit := _find("free_on_start", lines, 2)):
        figures["total_gpu_memory_gib"], where["total_gpu_memory_gib"] = hit
    if hit := _find("cudagraph_estimate_gib", lines):
        figures["cudagraph_estimate_gib"], where["cudagraph_estimate_gib"] = hit
    if not any(k in figures for k in ("kv_cache_gib", "kv_cache_tokens", "gpu_blocks")):
        last = "model loading" if "weights_gib" in figures else "engine start"
        raise SizingError(
            f"{source} is truncated: it ends before vLLM sized the KV cache (last step logged: {last}); "
            "pass the log up to 'GPU KV cache size' / '# GPU blocks'"
        )
    settings = _settings(text)
    version = None
    for line in lines:
        if match := PATTERNS["version"].search(line):
            version = match.group(1)
    util = settings.get("gpu_memory_utilization")
    if (hit := _find("profile_util", lines)) is not None:
        util = hit[0]
    equivalent = _find_pair("equivalent_util", lines)
    if equivalent is not None:
        (current, without), number = equivalent
        util = current
        total = figures.get("total_gpu_memory_gib")
        if "cudagraph_estimate_gib" not in figures and total:
            figures["cudagraph_estimate_gib"] = round((current - without) * total, 4)
            where["cudagraph_estimate_gib"] = number
    mnbt = settings.get("max_num_batched_tokens")
    quant = settings.get("quantization")
    block = _int(settings.get("block_size"))
    return StartupLog(
        vllm_version=version,
        model=settings.get("model"),
        tensor_parallel_size=_int(settings.get("tensor_parallel_size")) or 1,
        pipeline_parallel_size=_int(settings.get("pipeline_parallel_size")) or 1,
        max_model_len=_int(settings.get("max_seq_len") or settings.get("max_model_len")),
        quantization=None if quant in (None, "None") else str(quant),
        kv_cache_dtype=str(settings.get("kv_cache_dtype") or "auto"),
        gpu_memory_utilization=float(util) if util is not None else None,
        max_num_batched_tokens=_int(mnbt),
        max_num_seqs=_int(settings.get("max_num_seqs")),
        block_size=block if block and block > 1 else None,
        enforce_eager=str(settings.get("enforce_eager")) == "True",
        **{k: (int(v) if k in ("kv_cache_tokens", "gpu_blocks") else v) for k, v in figures.items()},
        lines=where,
    )


class LineCheck(Frozen):
    """One figure: what the log says, what sizing predicts for the same settings, and the error."""

    figure: str
    logged: float | None
    predicted: float | None
    line: int | None = None

    @property
    def error_pct(self) -> float | None:
        if self.logged is None or self.predicted is None or self.logged == 0:
            return None
        return 100 * (self.predicted - self.logged) / abs(self.logged)


def compare(log: StartupLog, est: Any) -> tuple[LineCheck, ...]:
    """Logged vs predicted (a sizing MemoryEstimate for the log's settings), figure by figure."""
    blocks_pred = est.num_gpu_blocks
    rows = [
        ("weights_gib", log.weights_gib, est.weights_gib),
        ("activation_peak_gib", log.activation_peak_gib, est.activation_peak_gib),
        ("non_torch_gib", log.non_torch_gib, est.non_torch_gib),
        ("cudagraph_gib", log.cudagraph_gib, est.cudagraph_gib),
        ("cudagraph_estimate_gib", log.cudagraph_estimate_gib, est.cudagraph_gib),
        ("kv_cache_gib", log.kv_cache_gib, est.kv_cache_gib),
        ("kv_cache_tokens", log.kv_cache_tokens, est.kv_cache_tokens),
        ("gpu_blocks", log.gpu_blocks, blocks_pred),
        ("max_concurrency", log.max_concurrency, est.max_concurrency),
    ]
    return tuple(
        LineCheck(figure=name, logged=logged, predicted=pred, line=log.lines.get(name))
        for name, logged, pred in rows
        if logged is not None
    )


def logged_budget_gib(log: StartupLog, est: Any) -> float:
    """The budget the log's KV pool came out of: util x the logged total, and for 0.34's extensible cache
    (when the estimate of the same settings is capped) at most that total less the cap's gap."""
    total = log.total_gpu_memory_gib or est.total_gpu_memory_gib
    util = log.gpu_memory_utilization or est.gpu_memory_utilization
    budget = util * total
    if est.budget_gib is not None and est.budget_gib < est.gpu_memory_utilization * est.total_gpu_memory_gib:
        budget = min(budget, total - (est.total_gpu_memory_gib - est.budget_gib))
    return budget


def utilization_for_kv(log: StartupLog, est: Any, target_tokens: int) -> float | None:
    """gpu_memory_utilization that gives `target_tokens` of KV on this GPU, from the log's own non-KV memory
    (the logged budget - logged KV, logged_budget_gib) and its bytes per KV token (logged GiB / logged
    tokens where both are logged, else the predicted bytes per token); None when the log lacks the KV GiB.
    """
    if log.kv_cache_gib is None:
        return None
    total = log.total_gpu_memory_gib or est.total_gpu_memory_gib
    non_kv = logged_budget_gib(log, est) - log.kv_cache_gib
    if log.kv_cache_tokens and log.kv_cache_gib > 0:
        per_token = log.kv_cache_gib / log.kv_cache_tokens
    else:
        per_token = est.kv_bytes_per_token / 2**30
    return (non_kv + target_tokens * per_token) / total
