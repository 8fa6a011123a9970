"""Boundary models of the planner: the workload to serve and the Plan that serves it.

The same Workload is filled by the CLI (`python -m advisor plan`) and by the Pulumi config; the Plan is
what templates/ renders and infra/ provisions. JSON output uses exactly these field names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from sizing.vocabulary import (
    CapacityPreference,
    CapacityType,
    Dtype,
    Frozen,
    KvCacheDtype,
    PriceSource,
    Quantization,
    WorkloadType,
)


class Workload(Frozen):
    """What must be served. `max_model_len` is input + output tokens of one request."""

    model: str = Field(description="catalog id/alias or path to a Hugging Face config.json")
    dtype: Dtype = "bf16"
    quantization: Quantization | None = Field(
        default=None, description="None = as the checkpoint ships"
    )
    kv_cache_dtype: KvCacheDtype = "auto"
    max_model_len: int = Field(ge=16)
    concurrency: int = Field(ge=1, description="requests in flight at max_model_len")
    target_output_tokens_per_s: float | None = Field(default=None, gt=0)
    max_time_per_output_token_ms: float | None = Field(
        default=None,
        gt=0,
        description="latency bound; None = the realtime default (planner.search.REALTIME_DEFAULT_"
        "MAX_TIME_PER_OUTPUT_TOKEN_MS), no bound for batch",
    )
    workload_type: WorkloadType = "realtime"
    capacity: CapacityPreference = "auto"
    regions: tuple[str, ...] = ("us-east-1",)
    allowed_families: tuple[str, ...] = ()
    excluded_families: tuple[str, ...] = ()
    max_usd_per_hour: float | None = Field(default=None, gt=0)
    headroom: float = Field(default=0.3, ge=0, le=4)
    vllm_version: str | None = None
    served_model: str | None = Field(
        default=None,
        description="Hugging Face repo vLLM loads, when it is not `model` itself: a pre-quantized "
        "checkpoint (AWQ/GPTQ/INT8 of the same architecture), or the repo of a local config.json",
    )
    max_instances_per_replica: int | None = Field(
        default=None,
        ge=1,
        description="cap on the instances one replica may span (1 for the EC2 target, which runs no Ray "
        "cluster across instances); None = the planner's own limit",
    )
    served_model_quantization: Quantization | None = Field(
        default=None,
        description="the weights format of `served_model` when the catalog does not know that repo "
        "(none = a 16-bit checkpoint that vLLM quantizes at load time)",
    )
    strict_dtype: bool = Field(
        default=False,
        description="refuse GPUs that cannot run `dtype` (bf16 below compute capability 8.0: T4, V100) "
        "instead of planning them with fp16",
    )


class MemoryBreakdown(Frozen):
    """Per-GPU memory of the chosen layout, in GiB (worst rank), as vLLM would log it."""

    total_gpu_memory_gib: float
    gpu_memory_utilization: float
    weights_gib: float
    activation_peak_gib: float
    non_torch_gib: float
    cudagraph_gib: float
    kv_cache_gib: float
    kv_bytes_per_token: int


class ThroughputEstimate(Frozen):
    """Roofline estimate for one replica at the planned batch (see planner/throughput.py)."""

    batch_size: int
    decode_output_tokens_per_s: float = Field(description="per replica, at batch_size")
    time_per_output_token_ms: float
    prefill_tokens_per_s: float
    total_output_tokens_per_s: float = Field(description="all replicas")
    bound: Literal["memory", "compute"]
    notes: tuple[str, ...] = ()


class Alternative(Frozen):
    """A runner-up and why it lost to the plan."""

    instance_type: str
    region: str
    instance_count: int
    tensor_parallel_size: int
    pipeline_parallel_size: int
    replicas: int
    capacity_type: CapacityType
    usd_per_hour: float
    usd_per_million_output_tokens: float | None
    why_not: str
    instances_per_replica: int = Field(default=1, description="> 1: PP across instances over EFA")
    dtype: Dtype | None = Field(default=None, description="what the layout would run")
    time_per_output_token_ms: float | None = None
    total_output_tokens_per_s: float | None = Field(default=None, description="all replicas")


class Plan(Frozen):
    """The recommendation: what to run, where, how, at what cost, and why."""

    model: str = Field(description="Hugging Face id of the architecture planned (catalog id or config path)")
    served_model: str | None = Field(
        default=None,
        description="Hugging Face repo vLLM loads, in the planned weights format; None when none is known "
        "(e.g. --quantization awq on a bf16 checkpoint without --served-model): render then refuses",
    )
    checkpoint_quantization: Quantization = Field(
        default="none",
        description="the served checkpoint's own weights format; differs from `quantization` only when vLLM "
        "quantizes at load time (fp8, bnb4), the one case the vLLM config names `quantization`",
    )
    dtype: Dtype
    quantization: Quantization
    instance_type: str
    instance_count: int = Field(description="all instances: replicas x instances_per_replica")
    instances_per_replica: int
    gpus_per_replica: int
    tensor_parallel_size: int
    pipeline_parallel_size: int
    replicas: int
    capacity_type: CapacityType
    on_demand_instances: int = Field(description="the on-demand base (all of them unless spot/mixed)")
    spot_instances: int
    spot_instance_types: tuple[str, ...] = Field(
        default=(), description="same-shape types for spot diversification, the chosen one first"
    )
    needs_efa: bool = Field(description="a replica spans instances: EFA + cluster placement group")
    efa_interfaces_per_instance: int = Field(
        default=0,
        ge=0,
        description="EFA interfaces the instance type supports (catalog); 0 when not needs_efa",
    )
    availability_zone_ids: tuple[str, ...] = Field(
        default=(), description="AZ IDs of the region that offer the type (from the spot/offerings data)"
    )
    region: str
    usd_per_hour: float
    usd_per_million_output_tokens: float | None
    gpu_memory_utilization: float
    max_model_len: int
    max_num_seqs: int
    max_num_batched_tokens: int
    kv_cache_dtype: KvCacheDtype
    kv_cache_tokens: int = Field(description="per replica")
    block_size: int
    memory: MemoryBreakdown
    throughput: ThroughputEstimate
    price_source: PriceSource
    prices_as_of: datetime
    vllm_version: str
    alternatives: tuple[Alternative, ...]
    explanation: str
    billed_usd_per_hour: float | None = Field(
        default=None,
        description="what AWS bills (spot at its price); usd_per_hour adds spot interruption cost",
    )
    warnings: tuple[str, ...] = Field(
        default=(),
        description="from the priced catalog (e.g. snapshot age) and the planner (e.g. bf16 planned as fp16)",
    )
    max_time_per_output_token_ms: float | None = Field(
        default=None, description="the latency bound the plan meets (None: no bound, batch)"
    )
    latency_bound_source: Literal["workload", "realtime default"] | None = Field(
        default=None, description="where max_time_per_output_token_ms came from"
    )
