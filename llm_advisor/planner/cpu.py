"""The llama.cpp CPU path: throughput of llama-server on a CPU instance, the cheapest CPU plan, and the
engine comparison (`--engine auto`).

Throughput model (one llama-server per instance, `--parallel` slots decoded together in one batch):

* decode step (all slots): the bytes read per step over the instance's memory bandwidth times an
  efficiency: weights read per token (the GGUF minus the token embedding, sizing/gguf.py) plus each slot's
  KV cache at its mean context. It is also bounded by compute: 2 x parameters x slots int8 ops over the
  cores' peak times the prefill efficiency; the slower of the two wins.
* prefill (TTFT): prompt tokens x 2 x parameters over the cores' peak int8 rate (AVX-512 VNNI on Sapphire
  Rapids, SDOT on Graviton; AMX and i8mm are not counted) times a prefill efficiency.

Both efficiencies are medians over public llama.cpp results (bench/data/llamacpp_bench.csv, one row per
source); `fit` recomputes them and bench/cpu.py reports the leave-one-source-out error. A test holds the
constants below equal to the fit.

Threads: llama.cpp runs best at one thread per physical core (hyper-threads add no memory bandwidth):
`--threads` and `--threads-batch` = physical cores. Slots: `--parallel` = the requests one replica holds,
`--ctx-size` = max_model_len x slots (llama.cpp splits ctx-size evenly across slots).
"""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import Field

from llm_advisor.planner.errors import NoFeasibleLayout
from llm_advisor.planner.search import latency_bound
from pricing.cpu import CpuInstance, cpu_instances, cpu_regions
from sizing import load_model
from sizing.arch import ModelArch
from sizing.errors import SizingError
from sizing.gguf import GGUF_TYPES, GgufMemory, check_gguf_arch, estimate_gguf_memory, usable_ram_gib
from sizing.vocabulary import Frozen

# Medians of bench/data/llamacpp_bench.csv (fit(): tests/test_planner_cpu.py keeps them equal).
DECODE_EFFICIENCY = 0.68
PREFILL_EFFICIENCY = 0.2
DEFAULT_GGUF_TYPE = "Q4_K_M"  # the common quality/size balance of published GGUF repos
# Smaller files first: the nearest option when a type does not fit or is too slow.
SMALLER = {"F16": "Q8_0", "Q8_0": "Q6_K", "Q6_K": "Q5_K_M", "Q5_K_M": "Q4_K_M", "Q4_K_M": "IQ4_XS",
           "Q4_0": "IQ4_XS", "IQ4_XS": None}
MAX_CPU_REPLICAS = 8
GB = 1e9
GIB = 1024**3


class CpuTiming(Frozen):
    time_per_output_token_ms: float
    time_to_first_token_ms: float
    bound: str = Field(description="memory or compute: what limits a decode step")
    output_tokens_per_s: float = Field(description="one replica, prefill included")


class CpuPlan(Frozen):
    """The cheapest llama.cpp deployment on CPU instances that meets the workload."""

    engine: str = "llama.cpp"
    model: str
    gguf_type: str
    cache_type: str
    instance: CpuInstance
    replicas: int
    parallel: int = Field(description="--parallel slots per replica")
    ctx_size: int = Field(description="--ctx-size: max_model_len x parallel")
    threads: int = Field(description="--threads and --threads-batch: physical cores")
    memory: GgufMemory
    usable_ram_gib: float
    timing: CpuTiming
    total_output_tokens_per_s: float
    usd_per_hour: float
    usd_per_million_output_tokens: float | None
    max_time_per_output_token_ms: float | None


class EngineChoice(Frozen):
    """`--engine auto`: both cheapest plans (or why there is none) and the one chosen, with the reason."""

    chosen: str = Field(description="vllm or llama.cpp")
    reason: str
    cpu: CpuPlan | None
    cpu_unavailable: str | None
    gpu_usd_per_hour: float | None
    gpu_time_per_output_token_ms: float | None
    gpu_unavailable: str | None


def cpu_timing(inst: CpuInstance, mem: GgufMemory, arch: ModelArch, parallel: int, input_tokens: int,
               output_tokens: int, decode_eff: float = DECODE_EFFICIENCY,
               prefill_eff: float = PREFILL_EFFICIENCY) -> CpuTiming:
    """Step time of `parallel` slots decoding together, TTFT of one prompt, and one replica's rate."""
    params = arch.active_params
    context = input_tokens + output_tokens / 2
    step_bytes = mem.weights_read_per_token_gib * GIB + parallel * context * mem.kv_bytes_per_token
    t_mem = step_bytes / (decode_eff * inst.memory_bandwidth_gb_s * GB)
    t_compute = 2 * params * parallel / (prefill_eff * inst.int8_tops * 1e12)
    step = max(t_mem, t_compute)
    ttft = input_tokens * 2 * params / (prefill_eff * inst.int8_tops * 1e12)
    per_request = ttft + output_tokens * step
    return CpuTiming(
        time_per_output_token_ms=step * 1e3,
        time_to_first_token_ms=ttft * 1e3,
        bound="memory" if t_mem >= t_compute else "compute",
        output_tokens_per_s=parallel * output_tokens / per_request,
    )


def _candidate(workload, arch, inst: CpuInstance, gguf_type: str, replicas: int, bound_ms):
    parallel = math.ceil(workload.concurrency / replicas)
    ctx = workload.max_model_len * parallel
    mem = estimate_gguf_memory(arch, gguf_type, ctx_size=ctx, parallel=parallel,
                               cache_type=workload.gguf_cache_type)
    usable = usable_ram_gib(inst.memory_gib)
    if mem.total_gib > usable:
        return None, f"{mem.total_gib:.1f} GiB > {usable:.1f} GiB usable on {inst.instance_type}"
    t = cpu_timing(inst, mem, arch, parallel, workload.input_tokens, workload.output_tokens)
    if bound_ms is not None and t.time_per_output_token_ms > bound_ms:
        return None, f"{t.time_per_output_token_ms:.0f} ms per token on {inst.instance_type} x{replicas}"
    total = t.output_tokens_per_s * replicas
    if workload.target_output_tokens_per_s is not None and total < workload.target_output_tokens_per_s:
        return None, f"{total:.1f} output tokens/s < target on {inst.instance_type} x{replicas}"
    usd = inst.on_demand_usd_per_hour * replicas
    if workload.max_usd_per_hour is not None and usd > workload.max_usd_per_hour:
        return None, f"${usd:.2f}/h over the budget on {inst.instance_type} x{replicas}"
    return CpuPlan(
        model=arch.hf_id,
        gguf_type=gguf_type,
        cache_type=workload.gguf_cache_type,
        instance=inst,
        replicas=replicas,
        parallel=parallel,
        ctx_size=ctx,
        threads=inst.physical_cores,
        memory=mem,
        usable_ram_gib=usable,
        timing=t,
        total_output_tokens_per_s=total,
        usd_per_hour=usd,
        usd_per_million_output_tokens=usd / (total * 3600) * 1e6 if total > 0 else None,
        max_time_per_output_token_ms=bound_ms,
    ), None


def _search(workload, arch, gguf_type: str, instances: Iterable[CpuInstance]):
    bound_ms, _ = latency_bound(workload)
    best: CpuPlan | None = None
    fastest: tuple[float, str] | None = None  # (ms per token, instance) of plans that fit but are too slow
    fits_any = False
    for inst in instances:
        for replicas in range(1, min(MAX_CPU_REPLICAS, workload.concurrency) + 1):
            plan, why = _candidate(workload, arch, inst, gguf_type, replicas, bound_ms)
            if plan is not None:
                fits_any = True
                key = (plan.usd_per_hour, plan.timing.time_per_output_token_ms)
                if best is None or key < (best.usd_per_hour, best.timing.time_per_output_token_ms):
                    best = plan
                break  # more replicas of the same type only cost more
            if why and "ms per token" in why:
                fits_any = True
                ms = float(why.split(" ms")[0])
                if fastest is None or ms < fastest[0]:
                    fastest = (ms, why.split(" on ")[1])
    return best, fits_any, fastest


def plan_cpu(workload, arch: ModelArch | None = None,
             instances: Sequence[CpuInstance] | None = None) -> CpuPlan:
    """The cheapest CPU plan, or NoFeasibleLayout naming the binding constraint and the nearest option.

    `instances`: the priced candidates (pricing.cpu_live.load_cpu_catalog for --pricing live/auto);
    default: the bundled snapshot's in the workload's regions."""
    arch = arch or load_model(workload.model)
    try:
        check_gguf_arch(arch)
    except SizingError as exc:
        raise NoFeasibleLayout(str(exc)) from None
    from_snapshot = instances is None
    instances = tuple(cpu_instances(workload.regions) if instances is None else instances)
    if not instances:
        raise NoFeasibleLayout(
            f"no CPU instance prices for regions {', '.join(workload.regions)}"
            f"{' in the snapshot' if from_snapshot else ''}: the "
            f"llama.cpp path is priced in {', '.join(cpu_regions())}"
        )
    gguf_type = workload.gguf_type or DEFAULT_GGUF_TYPE
    best, fits_any, fastest = _search(workload, arch, gguf_type, instances)
    if best is not None:
        return best
    bound_ms, _ = latency_bound(workload)
    smaller = SMALLER.get(gguf_type)
    nearest = ""
    if smaller:
        alt, _, _ = _search(workload, arch, smaller, instances)
        if alt is not None:
            nearest = (f"; nearest: gguf_type {smaller} on {alt.replicas} x {alt.instance.instance_type} "
                       f"at ${alt.usd_per_hour:.2f}/h")
    if not fits_any:
        biggest = max(instances, key=lambda i: i.memory_gib)
        one = estimate_gguf_memory(arch, gguf_type, ctx_size=workload.max_model_len,
                                   cache_type=workload.gguf_cache_type)
        raise NoFeasibleLayout(
            f"{arch.hf_id} {gguf_type} at max_model_len {workload.max_model_len} needs "
            f"{one.total_gib:.1f} GiB for one slot; no CPU instance holds it without swap (largest usable: "
            f"{usable_ram_gib(biggest.memory_gib):.0f} GiB on {biggest.instance_type}){nearest}"
        )
    if fastest is not None and bound_ms is not None:
        raise NoFeasibleLayout(
            f"no CPU instance meets max_time_per_output_token_ms {bound_ms:g}: the fastest is "
            f"{fastest[0]:.0f} ms per token ({fastest[1]}){nearest}; raise the bound or plan --engine vllm"
        )
    raise NoFeasibleLayout(
        f"no CPU plan for {arch.hf_id} {gguf_type} meets the target tokens/s or budget{nearest}"
    )


def choose_engine(cpu: CpuPlan | None, cpu_unavailable: str | None, gpu_usd_per_hour: float | None,
                  gpu_tpot_ms: float | None, gpu_unavailable: str | None) -> EngineChoice:
    """Pick by the planner's rule: both plans already meet the latency bound and targets; the cheaper
    per hour wins (a tie goes to the faster per token)."""
    common = dict(cpu=cpu, cpu_unavailable=cpu_unavailable, gpu_usd_per_hour=gpu_usd_per_hour,
                  gpu_time_per_output_token_ms=gpu_tpot_ms, gpu_unavailable=gpu_unavailable)
    if cpu is None and gpu_usd_per_hour is None:
        raise NoFeasibleLayout(f"neither engine serves the workload: CPU: {cpu_unavailable}; "
                               f"GPU: {gpu_unavailable}")
    if cpu is None:
        return EngineChoice(chosen="vllm", reason=f"GPU (vLLM): no CPU plan ({cpu_unavailable})", **common)
    if gpu_usd_per_hour is None:
        return EngineChoice(
            chosen="llama.cpp",
            reason=f"CPU (llama.cpp): no GPU plan ({gpu_unavailable}); CPU costs ${cpu.usd_per_hour:.2f}/h",
            **common,
        )
    cpu_key = (cpu.usd_per_hour, cpu.timing.time_per_output_token_ms)
    gpu_key = (gpu_usd_per_hour, gpu_tpot_ms or 0.0)
    both = (f"CPU {cpu.replicas} x {cpu.instance.instance_type} ${cpu.usd_per_hour:.2f}/h at "
            f"{cpu.timing.time_per_output_token_ms:.0f} ms/token vs GPU ${gpu_usd_per_hour:.2f}/h at "
            f"{gpu_tpot_ms or 0:.0f} ms/token, both within the latency bound")
    if cpu_key < gpu_key:
        return EngineChoice(chosen="llama.cpp", reason=f"CPU (llama.cpp) is cheaper: {both}", **common)
    return EngineChoice(chosen="vllm", reason=f"GPU (vLLM) is cheaper: {both}", **common)


# ---- calibration on public llama.cpp results --------------------------------------------------------


def read_bench(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def row_efficiencies(row: dict[str, str]) -> tuple[float, float | None]:
    """(decode, prefill) efficiency a published row implies: achieved bytes/s over bandwidth, achieved
    int8 ops/s over the cores' peak."""
    arch = load_model(row["model"])
    mem = estimate_gguf_memory(arch, row["gguf_type"], ctx_size=512)
    decode = float(row["tg_tokens_per_s"]) * mem.weights_read_per_token_gib * GIB / (
        float(row["memory_bandwidth_gb_s"]) * GB)
    prefill = None
    if row["pp512_tokens_per_s"].strip():
        peak = int(row["physical_cores"]) * float(row["all_core_ghz"]) * 1e9 * int(
            row["int8_macs_per_cycle_per_core"]) * 2
        prefill = float(row["pp512_tokens_per_s"]) * 2 * arch.active_params / peak
    return decode, prefill


def fit(rows: list[dict[str, str]]) -> tuple[float, float]:
    """(decode, prefill) efficiency: medians over the rows, rounded to two figures."""
    effs = [row_efficiencies(r) for r in rows]
    decode = statistics.median(d for d, _ in effs)
    prefill = statistics.median(p for _, p in effs if p is not None)
    return round(decode, 2), round(prefill, 2)


def leave_one_source_out(rows: list[dict[str, str]]) -> list[dict[str, float | str]]:
    """For each source: tokens/s predicted with efficiencies fitted on the other sources, vs published."""
    out = []
    for source in dict.fromkeys(r["source_id"] for r in rows):
        rest = [r for r in rows if r["source_id"] != source]
        decode_eff = statistics.median(row_efficiencies(r)[0] for r in rest)
        prefills = [p for r in rest if (p := row_efficiencies(r)[1]) is not None]
        for row in (r for r in rows if r["source_id"] == source):
            arch = load_model(row["model"])
            mem = estimate_gguf_memory(arch, row["gguf_type"], ctx_size=512)
            read = mem.weights_read_per_token_gib * GIB
            tg = decode_eff * float(row["memory_bandwidth_gb_s"]) * GB / read
            entry: dict[str, float | str] = {
                "source_id": source, "hardware": row["hardware"], "model": row["model"],
                "gguf_type": row["gguf_type"], "tg_published": float(row["tg_tokens_per_s"]),
                "tg_predicted": tg, "tg_error": tg / float(row["tg_tokens_per_s"]) - 1,
            }
            if row["pp512_tokens_per_s"].strip() and prefills:
                peak = int(row["physical_cores"]) * float(row["all_core_ghz"]) * 1e9 * int(
                    row["int8_macs_per_cycle_per_core"]) * 2
                pp = statistics.median(prefills) * peak / (2 * arch.active_params)
                entry.update(pp_published=float(row["pp512_tokens_per_s"]), pp_predicted=pp,
                             pp_error=pp / float(row["pp512_tokens_per_s"]) - 1)
            out.append(entry)
    return out


__all__ = ["GGUF_TYPES", "CpuPlan", "CpuTiming", "EngineChoice", "choose_engine", "cpu_timing", "fit",
           "leave_one_source_out", "plan_cpu"]
