"""Sizing: model architectures, memory per GPU as vLLM accounts it, KV capacity, tuned utilization.

Pure functions only: no I/O beyond reading a config.json the caller names (and the bundled data files
in sizing/data, read lazily once), no clocks, no environment.
"""

from sizing.arch import AttentionSpec, LayerSpec, ModelArch
from sizing.calibration import Calibration, CalibrationRow, append_calibration, load_calibration
from sizing.catalog import catalog_entries, list_models, load_model
from sizing.checkpoints import (
    QuantizedCheckpoint,
    gated_repo,
    load_time_quantization,
    quantized_checkpoint,
    quantized_checkpoints,
)
from sizing.compat import VRAMCalculator
from sizing.errors import SizingError
from sizing.gpus import GpuHardware, GpuProfile, gpu_profile, gpu_table, known_gpus
from sizing.layout import check_layout, valid_tensor_parallel_sizes
from sizing.memory import MIN_COMPUTE_CAPABILITY, estimate_memory
from sizing.models import MemoryEstimate, SizingInput, UtilizationAdvice
from sizing.precision import quantized_bytes_per_param
from sizing.resolve import sizing_input
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

# models.py cannot import arch.py / gpus.py (they import it): resolve SizingInput's field types here.
SizingInput.model_rebuild(
    _types_namespace={"ModelArch": ModelArch, "GpuProfile": GpuProfile, "Calibration": Calibration}
)

__all__ = [
    "ALLOWED_BLOCK_SIZES",
    "CALIBRATED_VLLM_VERSIONS",
    "LATEST_VLLM_VERSION",
    "QUANTIZED",
    "SUPPORTED_VLLM_VERSIONS",
    "QuantizedCheckpoint",
    "AttentionSpec",
    "Calibration",
    "CalibrationRow",
    "append_calibration",
    "load_calibration",
    "GpuHardware",
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
    "gated_repo",
    "gpu_profile",
    "gpu_table",
    "is_calibrated",
    "known_gpus",
    "list_models",
    "load_model",
    "load_time_quantization",
    "quantized_bytes_per_param",
    "quantized_checkpoint",
    "quantized_checkpoints",
    "recommend_utilization",
    "sizing_input",
    "valid_tensor_parallel_sizes",
    "vllm_defaults",
]


def __getattr__(name: str):
    if name == "QUANTIZED":  # the listed checkpoints, read from sizing/data/models.json on first use
        return quantized_checkpoints()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
