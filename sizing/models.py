"""Boundary models of the sizing layer: what goes into a memory estimate and what comes out.

Field names follow vLLM's own vocabulary (tensor_parallel_size, gpu_memory_utilization, max_model_len,
max_num_batched_tokens, max_num_seqs, block_size, kv_cache_dtype) and carry their unit in the name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from sizing.vocabulary import Dtype, Frozen, KvCacheDtype, Quantization

if TYPE_CHECKING:  # sizing/__init__.py rebuilds SizingInput with both types (arch.py, gpus.py load data)
    from sizing.arch import ModelArch
    from sizing.calibration import Calibration
    from sizing.gpus import GpuProfile


class SizingInput(Frozen):
    """One vLLM instance (one replica) of a model on one GPU type in one TP x PP layout.

    The model and the GPU come as objects: callers resolve names once (load_model, gpu_profile, or
    sizing_input for both), so sizing never looks a name up again.

    `quantization=None` means "as the checkpoint ships" (e.g. gpt-oss is MXFP4, Qwen3-32B-FP8 is fp8).
    `max_num_batched_tokens` / `max_num_seqs` / `gpu_memory_utilization` / `block_size` = None means
    "vLLM's default for this GPU and release" (resolved by the sizing engine, see vllm_defaults in
    sizing/vllm_versions.py).
    """

    arch: ModelArch = Field(description="the checkpoint's architecture (load_model)")
    gpu: GpuProfile = Field(description="the GPU as vLLM sees it (gpu_profile: AWS name + memory, or a card)")
    tensor_parallel_size: int = Field(default=1, ge=1)
    pipeline_parallel_size: int = Field(default=1, ge=1)
    dtype: Dtype = "bf16"
    quantization: Quantization | None = None
    kv_cache_dtype: KvCacheDtype = "auto"
    max_model_len: int | None = Field(default=None, ge=1)
    max_num_batched_tokens: int | None = Field(default=None, ge=1)
    max_num_seqs: int | None = Field(default=None, ge=1)
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    block_size: int | None = Field(default=None, ge=1)
    enforce_eager: bool = Field(
        default=False, description="--enforce-eager: no CUDA graphs, so no graph memory is charged"
    )
    vllm_version: str | None = Field(default=None, description="X.Y; None = latest release modelled")
    calibration: Calibration | None = Field(
        default=None,
        description="observed startup figures (sizing/calibration.py): a row of exactly these settings "
        "replaces the modelled weights and non-KV memory",
    )


class MemoryEstimate(Frozen):
    """Per-GPU memory accounting as vLLM logs it at startup (figures for the worst rank)."""

    model: str
    gpu: str
    vllm_version: str
    tensor_parallel_size: int
    pipeline_parallel_size: int
    total_gpu_memory_gib: float
    gpu_memory_utilization: float
    weights_gib: float
    activation_peak_gib: float
    non_torch_gib: float
    cudagraph_gib: float = Field(description="inside the budget from vLLM 0.20; reported either way")
    budget_gib: float | None = Field(
        default=None,
        description="what weights, fixed costs and KV may take: util x total, from 0.34 capped at the memory "
        "free at start-up less the extensible KV cache's margin",
    )
    kv_cache_gib: float = Field(description="can be negative: vLLM then refuses to start")
    kv_bytes_per_token: int = Field(description="per GPU, summed over the layers on the worst stage")
    block_size: int
    num_gpu_blocks: int
    kv_cache_tokens: int
    max_model_len: int
    max_num_batched_tokens: int
    max_num_seqs: int
    max_concurrency: float = Field(description="requests of max_model_len tokens that fit at once")
    fits: bool = Field(description="at least one max_model_len request fits")
    kv_cache_dtype: KvCacheDtype
    quantization: Quantization
    notes: tuple[str, ...] = ()
    calibration: str | None = Field(
        default=None, description="the calibration row whose logged figures replaced the prediction"
    )


class UtilizationAdvice(Frozen):
    """The smallest gpu_memory_utilization that holds concurrency x max_model_len plus headroom."""

    concurrency: int
    headroom: float
    ceiling: float
    required_kv_tokens: int = Field(description="concurrency x max_model_len x (1 + headroom)")
    recommended_gpu_memory_utilization: float | None = Field(description="None when it does not fit")
    fits: bool
    shortfall_gib: float = Field(description="KV memory per GPU missing at the ceiling; 0 when it fits")
    estimate: MemoryEstimate = Field(description="the estimate at the recommended (or ceiling) value")
