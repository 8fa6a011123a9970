"""The step-time model for one named layout, outside any search: `llm-advisor throughput` and
bench/throughput.py (pure; the same ReplicaShape and estimate_throughput the planner ranks with).

Memory comes from sizing/ at vLLM's default gpu_memory_utilization (0.9) unless given, so the batch is
capped by the KV pool vLLM would actually have (`bound: kv-capacity`).
"""

from __future__ import annotations

from dataclasses import dataclass

from llm_advisor.planner.errors import PlanningError
from llm_advisor.planner.models import ThroughputEstimate, Workload
from llm_advisor.planner.search import Layout, replica_shape
from llm_advisor.planner.sizer import precision_for
from llm_advisor.planner.throughput import FITTED, ReplicaShape, RequestShape, StepParams, estimate_throughput
from pricing.models import GpuSpec
from pricing.snapshot import gpu_specs
from sizing import SizingError, estimate_memory, gpu_profile, gpu_table, load_model
from sizing.models import SizingInput

VLLM_DEFAULT_GPU_MEMORY_UTILIZATION = 0.9  # `vllm serve --gpu-memory-utilization` default


@dataclass(frozen=True, slots=True)
class _Node:
    """The instance facts replica_shape reads, for a GPU named without an instance type."""

    gpu: GpuSpec
    interconnect: str
    nvlink_gb_s: float
    network_gbps: float = 0.0


def find_gpu(name: str) -> tuple[GpuSpec, str]:
    """(spec, canonical name) of a GPU by canonical name, alias or AWS name (H100, A100-40GB, l40s ...)."""
    key = name.strip().lower()
    rows = [row for row in gpu_table() if row.aws_name]
    specs = gpu_specs()
    for row, spec in zip(rows, specs, strict=True):
        names = {row.name.lower(), *(a.lower() for a in (row.aliases or ()))}
        if key in names:
            return spec, row.name
    by_aws = [(row, spec) for row, spec in zip(rows, specs, strict=True) if row.aws_name.lower() == key]
    if len(by_aws) == 1:
        return by_aws[0][1], by_aws[0][0].name
    known = ", ".join(row.name for row in rows if row.compute_capability)
    raise PlanningError(f"gpu: {name!r} is not a known GPU (or names several sizes); use one of {known}")


def layout_estimate(
    model: str,
    gpu: str,
    concurrency: int,
    input_tokens: int,
    output_tokens: int,
    tensor_parallel_size: int = 1,
    pipeline_parallel_size: int = 1,
    quantization: str | None = None,
    kv_cache_dtype: str = "auto",
    max_model_len: int | None = None,
    max_num_batched_tokens: int | None = None,
    gpu_memory_utilization: float = VLLM_DEFAULT_GPU_MEMORY_UTILIZATION,
    params: StepParams = FITTED,
) -> tuple[ThroughputEstimate, ReplicaShape]:
    """TPOT, TTFT, output tokens/s and the admitted batch of one replica of `model` on `gpu` x TP x PP."""
    spec, canonical = find_gpu(gpu)
    arch = load_model(model)
    mml = max_model_len or input_tokens + output_tokens
    workload = Workload(
        model=model,
        quantization=quantization,
        kv_cache_dtype=kv_cache_dtype,
        max_model_len=mml,
        concurrency=concurrency,
        mean_input_tokens=input_tokens,
        mean_output_tokens=output_tokens,
    )
    prec = precision_for(workload, arch.quantization, spec)
    if isinstance(prec, str):
        raise PlanningError(f"quantization: {prec}")
    try:
        est = estimate_memory(
            SizingInput(
                arch=arch,
                gpu=gpu_profile(canonical),
                tensor_parallel_size=tensor_parallel_size,
                pipeline_parallel_size=pipeline_parallel_size,
                dtype=prec.dtype,
                quantization=prec.quantization,
                kv_cache_dtype=kv_cache_dtype,
                max_model_len=mml,
                max_num_batched_tokens=max_num_batched_tokens,
                gpu_memory_utilization=gpu_memory_utilization,
            )
        )
    except SizingError as exc:
        raise PlanningError(str(exc)) from exc
    if est.kv_cache_tokens < input_tokens + output_tokens:
        raise PlanningError(
            f"tp: the KV pool of {est.kv_cache_tokens:,} tokens (TP={tensor_parallel_size} "
            f"PP={pipeline_parallel_size} on {canonical}) holds no {input_tokens + output_tokens:,}-token "
            "request; raise --tp/--pp or shorten the request"
        )
    gpus = tensor_parallel_size * pipeline_parallel_size
    nvlink = spec.nvlink_gb_s > 0 and gpus > 1
    node = _Node(spec, "nvlink" if nvlink else "pcie", spec.nvlink_gb_s if nvlink else 0.0)
    layout = Layout(tensor_parallel_size, pipeline_parallel_size)
    shape = replica_shape(node, layout, est, prec, arch, cap_batch=True)
    request = RequestShape(input_tokens, output_tokens)
    return estimate_throughput(shape, concurrency, request, 1, prec.notes, params), shape
