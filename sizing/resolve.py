"""Names to objects at the edges: a SizingInput from a model name and a GPU name (CLI, benchmarks, tests).

Sizing itself takes a ModelArch and a GpuProfile; callers that start from names resolve them once here,
with load_model's and gpu_profile's "did you mean" errors.
"""

from __future__ import annotations

from typing import Any

from sizing.catalog import load_model
from sizing.gpus import gpu_profile
from sizing.models import SizingInput


def sizing_input(model: str, gpu: str, gpu_memory_gib: float | None = None, **fields: Any) -> SizingInput:
    """SizingInput for a catalog id/alias or config.json path on a GPU named as AWS or the card says."""
    return SizingInput(arch=load_model(model), gpu=gpu_profile(gpu, gpu_memory_gib), **fields)
