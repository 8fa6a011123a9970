"""vLLM's parallelism rules: which tensor/pipeline parallel sizes a model accepts (accounting §6)."""

from __future__ import annotations

from functools import lru_cache

from sizing.arch import ModelArch
from sizing.errors import SizingError

MARLIN_OUT_TILE, MARLIN_IN_TILE = 64, 128  # GPTQ-Marlin partition tiles (utils/marlin_utils.py)


def valid_tensor_parallel_sizes(arch: ModelArch, limit: int = 64) -> tuple[int, ...]:
    """TP sizes up to `limit` that pass the head-divisibility rules (quantization ignored)."""
    return tuple(tp for tp in range(1, limit + 1) if not _head_problem(arch, tp))


@lru_cache(maxsize=512)
def _kv_head_counts(arch: ModelArch) -> tuple[int, ...]:
    return tuple(sorted({layer.attention.num_kv_heads for layer in arch.layers if layer.attention}))


def _head_problem(arch: ModelArch, tp: int) -> str | None:
    if arch.num_attention_heads % tp:
        # ModelConfig.verify_with_parallel_config
        return f"{arch.num_attention_heads} attention heads are not divisible by tensor_parallel_size {tp}"
    if arch.is_mla:
        return None  # one latent, replicated on every rank
    for kv in _kv_head_counts(arch):
        # models/llama.py: kv_heads % tp == 0 when kv_heads >= tp, else tp % kv_heads == 0 (replication)
        if (kv >= tp and kv % tp) or (kv < tp and tp % kv):
            return f"{kv} KV heads can be neither split nor replicated over tensor_parallel_size {tp}"
    return None


def _partition_problem(arch: ModelArch, tp: int, quantization: str) -> str | None:
    """Quantized kernels need each TP partition to divide by their tile or group (accounting §6)."""
    inters = [size for size in (arch.intermediate_size, arch.moe_intermediate_size) if size]
    if quantization in ("awq", "gptq"):
        for size in inters:
            part = size // tp
            if part % arch.quant_group_size:
                return (
                    f"{quantization} needs the MLP partition ({size}/{tp} = {part}) divisible by its "
                    f"group size {arch.quant_group_size}"
                )
            if part % MARLIN_IN_TILE or part % MARLIN_OUT_TILE:
                return f"GPTQ/AWQ-Marlin needs the MLP partition {part} divisible by {MARLIN_IN_TILE}"
    if quantization == "fp8" and arch.quant_block_size:
        for size in inters:
            if (size // tp) % arch.quant_block_size:
                return (
                    f"block-FP8 needs the MLP partition ({size}/{tp} = {size // tp}) divisible by "
                    f"weight_block_size {arch.quant_block_size} (quantization/fp8.py)"
                )
    return None


def check_layout(
    arch: ModelArch, tensor_parallel_size: int, pipeline_parallel_size: int, quantization: str | None = None
) -> None:
    """Raises SizingError naming the rule vLLM would reject the layout with, and layouts that work."""
    tp, pp = tensor_parallel_size, pipeline_parallel_size
    if tp < 1 or pp < 1:
        raise SizingError(
            f"tensor_parallel_size and pipeline_parallel_size must be >= 1 (got TP={tp}, PP={pp})"
        )
    problem = _head_problem(arch, tp) or _partition_problem(arch, tp, quantization or arch.quantization)
    if problem:
        options = [
            t
            for t in valid_tensor_parallel_sizes(arch, 16)
            if not _partition_problem(arch, t, quantization or arch.quantization)
        ]
        raise SizingError(
            f"{arch.hf_id}: {problem}; tensor_parallel_size that work: "
            f"{', '.join(map(str, options)) or 'none'}"
        )
    if pp > 1 and not arch.supports_pp:
        raise SizingError(
            f"{arch.hf_id} ({arch.model_type}) does not implement SupportsPP in vLLM; "
            "use pipeline_parallel_size 1 and a larger tensor_parallel_size"
        )
    if pp > arch.num_hidden_layers:
        raise SizingError(
            f"pipeline_parallel_size {pp} exceeds the {arch.num_hidden_layers} layers of "
            f"{arch.hf_id}; use at most {arch.num_hidden_layers}"
        )
