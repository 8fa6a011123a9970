"""Sizing: model architectures, memory per GPU as vLLM accounts it, KV capacity, tuned utilization.

Pure functions only: no I/O beyond reading a config.json the caller names (and the bundled catalog),
no clocks, no environment.
"""

from sizing.arch import AttentionSpec, LayerSpec, ModelArch
from sizing.catalog import catalog_entries, list_models, load_model
from sizing.checkpoints import QUANTIZED, QuantizedCheckpoint, load_time_quantization, quantized_checkpoint
from sizing.compat import VRAMCalculator
from sizing.errors import SizingError
from sizing.gpus import GpuProfile, gpu_profile, known_gpus
from sizing.layout import check_layout, valid_tensor_parallel_sizes
from sizing.memory import MIN_COMPUTE_CAPABILITY, estimate_memory
from sizing.models import MemoryEstimate, SizingInput, UtilizationAdvice
from sizing.utilization import recommend_utilization
from sizing.vllm_versions import (
    ALLOWED_BLOCK_SIZES,
    CALIBRATED_VLLM_VERSIONS,
    LATEST_VLLM_VERSION,
    SUPPORTED_VLLM_VERSIONS,
    VllmAccounting,
    VllmDefaults,
    check_block_size,
    check_scheduler_limits,
    check_vllm_version,
    is_calibrated,
    vllm_defaults,
)

__all__ = [
    "ALLOWED_BLOCK_SIZES",
    "CALIBRATED_VLLM_VERSIONS",
    "LATEST_VLLM_VERSION",
    "QUANTIZED",
    "SUPPORTED_VLLM_VERSIONS",
    "QuantizedCheckpoint",
    "AttentionSpec",
    "GpuProfile",
    "LayerSpec",
    "MemoryEstimate",
    "ModelArch",
    "SizingError",
    "SizingInput",
    "UtilizationAdvice",
    "VRAMCalculator",
    "VllmAccounting",
    "VllmDefaults",
    "catalog_entries",
    "check_block_size",
    "check_layout",
    "check_scheduler_limits",
    "check_vllm_version",
    "estimate_memory",
    "MIN_COMPUTE_CAPABILITY",
    "gpu_profile",
    "is_calibrated",
    "known_gpus",
    "list_models",
    "load_model",
    "load_time_quantization",
    "quantized_checkpoint",
    "recommend_utilization",
    "valid_tensor_parallel_sizes",
    "vllm_defaults",
]
