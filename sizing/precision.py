"""Bytes per weight for each checkpoint format vLLM loads, and which modules each format leaves in 16 bit."""

from __future__ import annotations

from sizing.arch import LayerSpec, ModelArch
from sizing.errors import SizingError

DTYPE_BYTES = 2  # bf16 / fp16
GIB = 2**30


def quantized_bytes_per_param(quantization: str, group_size: int = 128) -> float:
    """Storage per quantized weight, scales included.

    fp8 / int8 (W8A8 or weight-only): 1 byte; per-channel or 128x128-block fp32 scales add < 0.1 %.
    AWQ / GPTQ int4: 4 bits + one fp16 scale and one packed 4-bit zero point per group.
    bnb4 (NF4/FP4, bitsandbytes default blocksize 64, no double quantization): 4 bits + fp32 absmax per 64.
    MXFP4 (OCP microscaling): 4-bit E2M1 values + one 8-bit E8M0 scale per 32.
    """
    table = {
        "none": float(DTYPE_BYTES),
        "fp8": 1.0,
        "int8": 1.0,
        "awq": 0.5 + 2.5 / group_size,
        "gptq": 0.5 + 2.5 / group_size,
        "bnb4": 0.5 + 4 / 64,
        "mxfp4": 0.5 + 1 / 32,
    }
    try:
        return table[quantization]
    except KeyError:
        raise SizingError(
            f"quantization {quantization!r} is not modelled; use one of {', '.join(table)}"
        ) from None


def check_quantization(arch: ModelArch, quantization: str) -> None:
    if quantization == "mxfp4" and not arch.is_moe:
        raise SizingError(
            f"mxfp4 in vLLM quantizes MoE experts only (gpt-oss); {arch.hf_id} is dense: use fp8, awq or gptq"
        )


def mxfp4_expert_padding(arch: ModelArch, tp: int) -> float:
    """vLLM's MXFP4 MoE kernels pad the per-rank expert intermediate size up to a multiple of 256.

    Inferred from the logs, not from source: gpt-oss-120b 64.38 GiB and gpt-oss-20b 13.47 GiB at TP1
    (shared/data/vllm_reference_logs.csv) are matched within 0.3 % with it and missed by 5 % without.
    """
    part = max(1, arch.moe_intermediate_size // tp)
    return (-(-part // 256) * 256) / part


def layer_weight_bytes(arch: ModelArch, index: int, layer: LayerSpec, tp: int, quantization: str) -> float:
    """Bytes of one decoder layer on one TP rank."""
    qbytes = quantized_bytes_per_param(quantization, arch.quant_group_size)
    quantize = quantization != "none" and index not in arch.quant_skip_layers
    scope = "experts_only" if quantization == "mxfp4" else arch.quant_scope
    attn_q = quantize and scope == "all_linear"
    mlp_q = quantize and scope in ("all_linear", "mlp_only")
    kv_heads = layer.attention.num_kv_heads if layer.attention else 1
    kv_fraction = max(1, kv_heads // tp) / kv_heads  # replicated once TP exceeds the KV heads
    attn = layer.attn_sharded_params / tp + layer.kv_proj_params * kv_fraction + layer.attn_replicated_params
    mlp = (layer.dense_mlp_params + layer.shared_expert_params) / tp
    experts = layer.routed_expert_params / tp
    if quantization == "mxfp4":
        experts *= mxfp4_expert_padding(arch, tp)
    return (
        attn * (qbytes if attn_q else DTYPE_BYTES)
        + mlp * (qbytes if mlp_q else DTYPE_BYTES)
        + experts * (qbytes if quantize else DTYPE_BYTES)
        + (layer.router_params + layer.norm_params) * DTYPE_BYTES
    )


def embedding_bytes(arch: ModelArch, tp: int) -> float:
    """VocabParallelEmbedding / ParallelLMHead: vocab padded to a multiple of 64, split over TP, 16 bit."""
    padded = -(-arch.vocab_size // 64) * 64
    return padded / tp * arch.hidden_size * DTYPE_BYTES
