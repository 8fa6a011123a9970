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


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def mxfp4_expert_padding(arch: ModelArch, tp: int, compute_capability: str = "9.0") -> float:
    """Growth of the MXFP4 expert tensors from the padding vLLM's MoE backend applies per TP rank.

    vLLM pads after the TP split (`intermediate_size_per_partition`) and picks the padding by backend
    (model_executor/layers/quantization/mxfp4.py, get_mxfp4_backend + Mxfp4MoEMethod.create_weights):
    - compute capability < 9 (A100, A10G, L4, L40S...): Marlin, "n % 256 == 0 and k % 128 == 0", i.e.
      the per-rank intermediate size rounded up to 128 AND hidden_size rounded up to 256;
    - 10.0 (B200) with FlashInfer: SM100 TRT-LLM/BF16, both rounded up to 256;
    - otherwise (H100/H200 Triton backend): per-rank intermediate rounded up to 256, hidden unpadded.
      The source rounds to 64 there; 256 is inferred from the logs (gpt-oss-120b 64.38 GiB, gpt-oss-20b
      13.47 GiB at TP1, shared/data/vllm_reference_logs.csv: within 0.3 % with it, 5 % low without).
    """
    part = max(1, arch.moe_intermediate_size // tp)
    hidden = arch.hidden_size
    if float(compute_capability) < 9.0:
        part_pad, hidden_pad = _round_up(part, 128), _round_up(hidden, 256)
    elif compute_capability == "10.0":
        part_pad, hidden_pad = _round_up(part, 256), _round_up(hidden, 256)
    else:
        part_pad, hidden_pad = _round_up(part, 256), hidden
    return (part_pad / part) * (hidden_pad / hidden)


def layer_weight_bytes(
    arch: ModelArch, index: int, layer: LayerSpec, tp: int, quantization: str, compute_capability: str = "9.0"
) -> float:
    """Bytes of one decoder layer on one TP rank (compute capability picks the MXFP4 MoE backend)."""
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
        experts *= mxfp4_expert_padding(arch, tp, compute_capability)
    return (
        attn * (qbytes if attn_q else DTYPE_BYTES)
        + mlp * (qbytes if mlp_q else DTYPE_BYTES)
        + experts * (qbytes if quantize else DTYPE_BYTES)
        + (layer.router_params + layer.norm_params) * DTYPE_BYTES
    )


def mla_decode_weight_bytes(arch: ModelArch, index: int, tp: int, quantization: str, kept: str) -> float:
    """Bytes one MLA layer adds on one TP rank after loading: the decode-path matrices vLLM derives from
    kv_b_proj (and in 0.7 from q and o too) and keeps beside the loaded weights (N heads per rank,
    L = kv_lora_rank); `kept` is the release's VllmAccounting.mla_weights.

    * 0.7.1-0.7.3 (attention/backends/mla/utils.py::process_weights_after_loading, matrix absorption on by
      default): W_Q_UK (q_lora_rank or hidden, N x L) and W_UV_O (N x L, hidden), requantized to fp8 for an
      fp8 checkpoint, else in the model dtype, plus W_QR (q_lora_rank, N x rope) in the model dtype.
    * 0.8+ (v1/attention/backends/mla/common.py, later layers/attention/mla_attention.py, to the 0.34 wheel):
      W_UK_T / W_UV are views of kv_b_proj - a dequantized model-dtype copy of it (N x (nope + v) x L) when
      the layer is quantized, nothing for a 16-bit one.
    """
    n = max(1, arch.num_attention_heads // tp)
    lora = arch.kv_lora_rank
    quantized = (
        quantization not in ("none", "mxfp4")
        and index not in arch.quant_skip_layers
        and arch.quant_scope == "all_linear"
    )
    if kept == "absorbed":
        q_in = arch.q_lora_rank or arch.hidden_size
        absorbed = 1 if quantized and quantization == "fp8" else DTYPE_BYTES
        return (
            q_in * n * lora * absorbed
            + n * lora * arch.hidden_size * absorbed
            + q_in * n * arch.qk_rope_head_dim * DTYPE_BYTES
        )
    if kept == "dequantized_kv_b" and quantized:
        return n * (arch.qk_nope_head_dim + arch.v_head_dim) * lora * DTYPE_BYTES
    return 0.0


def embedding_bytes(arch: ModelArch, tp: int) -> float:
    """VocabParallelEmbedding / ParallelLMHead: vocab padded to a multiple of 64, split over TP, 16 bit."""
    padded = -(-arch.vocab_size // 64) * 64
    return padded / tp * arch.hidden_size * DTYPE_BYTES
