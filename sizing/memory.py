"""Per-GPU memory as vLLM accounts it at startup: weights, activation peak, non-torch, CUDA graphs, KV blocks.

The budget per GPU is `total x gpu_memory_utilization - weights - activation_peak - non_torch`
(- cudagraph from 0.20), then split into KV blocks (shared/vllm_memory_accounting.md §2-§4 and §7).
Everything layout-dependent is cached per layout, so an estimate is a handful of float operations.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from typing import NamedTuple

from sizing.arch import LayerSpec, ModelArch
from sizing.checkpoints import listed_checkpoint
from sizing.errors import SizingError
from sizing.gpus import GpuProfile
from sizing.layout import check_layout
from sizing.models import MemoryEstimate, SizingInput
from sizing.precision import (
    GIB,
    check_quantization,
    embedding_bytes,
    layer_weight_bytes,
    mla_decode_weight_bytes,
)
from sizing.vllm_versions import (
    FLASHINFER_SAMPLER_CC,
    FLASHINFER_SAMPLER_COPIES,
    SORT_SAMPLER_COPIES_V0_V1_011,
    TRITON_SAMPLER_COPIES,
    TRITON_SAMPLER_MIN_ROWS,
    VllmAccounting,
    check_block_size,
    check_scheduler_limits,
    is_calibrated,
    parse_full_version,
    uses_v2_model_runner,
    vllm_defaults,
)

# Fitted on shared/data/vllm_reference_logs.csv; the fit is documented in docs/sizing.md.
NON_TORCH_GIB = 0.13  # llm-d H100 logs, V1 ~0.11, TP1: 0.13-0.14 (cuBLAS workspace, attention buffers)
NON_TORCH_V0_GIB = 0.05  # V0 0.7 logs: 0.03 (RTX 4060) and 0.05 (A10-class)
NCCL_V1_GIB = 0.1  # 0.10.1 A100 TP2/TP4 logs: non_torch ~0.2 vs ~0.1 at TP1, NCCL inside the budget
NCCL_V0_GIB = 1.79  # PR #10511: Llama-3-8B non_torch 1.79 GiB at TP1 -> 3.58 at TP2
# 0.34 extensible KV cache (v1/worker/extensible_kv_cache.py::measure_kv_cache_bytes, 0.34.0 wheel): the cache
# gets min(util x total - non-KV memory in use, free at start - non-KV memory in use - margin) less the
# transient peak, margin = max(KV_CACHE_MARGIN_FLOOR_BYTES = 1 GiB, KV_CACHE_MARGIN_FRACTION = 0.75 x peak).
KV_MARGIN_FLOOR_GIB, KV_MARGIN_FRACTION = 1.0, 0.75
# What the CUDA context (and NCCL, with more than one GPU) holds before vLLM's start-up snapshot: the
# total - free of "Free memory on device (free/total GiB) on startup" lines (bench/data/free_on_start.csv,
# fitted there by bench/accuracy.py; docs/sizing.md, "Memory before start-up").
CUDA_CONTEXT_GIB, NCCL_CONTEXT_GIB = 0.7, 0.45
# Graph memory per rank: a base plus a cost per layer the graphs replay (MoE layers count twice). Fitted on
# llm-d's ~0.11 H100 logs: 0.1 GiB (Qwen3-0.6B, 28 layers) .. 1.03 GiB (gpt-oss-120b); a refit on every logged
# graph figure does not do better leaving one source out (docs/sizing.md, "CUDA graphs").
CUDAGRAPH_BASE_GIB, CUDAGRAPH_PER_LAYER_GIB = 0.1, 0.006
V0_AUTO_CHUNKED_CONTEXT, V0_MIN_MNBT = 32768, 2048  # arg_utils.py `max_model_len > 32768`; max(mml, 2048)
PRE_MLA_HEAD_SIZE = 256  # deepseek_v2.py before v0.7.1: Attention(num_local_heads, 256, ...), q/k/v padded
MODEL_DTYPE_BYTES = 2  # bf16/fp16 model dtype: mamba state with mamba_ssm_cache_dtype "auto"
FP32_BYTES = 4  # mamba temporal state when the config's mamba_ssm_dtype is float32
PP_INTERMEDIATE_KEYS = 2  # IntermediateTensors keys passed between PP stages: hidden_states, residual
# v1/kv_cache_interface.py MLAAttentionSpec: cache_dtype_str "fp8_ds_mla" pages 656 bytes per token
# (512 fp8 latent + 4 fp32 scales + 64 bf16 rope) for sparse (DSA) MLA with an fp8 KV cache (§3).
FP8_DS_MLA_BYTES = 656
HYBRID_KERNEL_ALIGNMENT = 16  # FlashAttentionBackend.get_supported_kernel_block_sizes(): [MultipleOf(16)]
# Qwen3-Next / Gated DeltaNet hybrids run on the V1 hybrid manager from vLLM 0.10.2 (the release that
# added Qwen3NextForCausalLM, Sep 2025).
MAMBA_HYBRID_MIN_VERSION = (0, 10, 2)


class Resolved(NamedTuple):
    """SizingInput with every None replaced by the model's or vLLM's default."""

    arch: ModelArch
    gpu: GpuProfile
    acc: VllmAccounting
    quantization: str
    kv_dtype_bytes: int
    max_model_len: int
    max_num_batched_tokens: int
    max_num_seqs: int
    gpu_memory_utilization: float
    block_size: int
    chunked_prefill: bool
    enforce_eager: bool = False
    v2_runner: bool = False  # Model Runner V2 (sizing.vllm_versions.uses_v2_model_runner)


class StageFacts(NamedTuple):
    """One pipeline stage (every TP rank of it is alike): the fixed costs and the KV block geometry."""

    weights_bytes: float
    activation_bytes: float
    non_torch_bytes: float
    cudagraph_bytes: float
    kv_bytes_per_token: int
    bytes_per_block: int
    blocks_per_request: int
    num_groups: int
    block_tokens: int
    calibrated_fixed_bytes: float = 0.0  # logged non-KV memory of a calibration row (0: modelled)
    graph_in_budget: bool = False  # the release charges cudagraph_bytes against the budget
    runner_state_bytes: float = 0.0  # V2 sampler state the 0.27+ profiler charges (last stage)


def pp_stage_bounds(num_layers: int, pp: int) -> tuple[tuple[int, int], ...]:
    """distributed/utils.py::get_pp_indices: remainder layers go to the stages before the last."""
    parts = [num_layers // pp] * pp
    for i in range(2, num_layers % pp + 2):
        parts[-i] += 1
    bounds, start = [], 0
    for size in parts:
        bounds.append((start, start + size))
        start += size
    return tuple(bounds)


@lru_cache(maxsize=256)
def _layer_classes(arch: ModelArch) -> tuple[tuple[LayerSpec, ...], tuple[int, ...]]:
    """Distinct layer shapes of a model and, per layer, which one it is (sums stay cheap for 126 layers)."""
    distinct: dict[LayerSpec, int] = {}
    index = tuple(distinct.setdefault(layer, len(distinct)) for layer in arch.layers)
    return tuple(distinct), index


def _layer_kv_bytes(arch: ModelArch, layer: LayerSpec, tp: int, kv_bytes: int, acc: VllmAccounting) -> int:
    """KV bytes one token costs in one layer on one TP rank (kv_cache_interface.py page sizes).

    For a mamba / linear-attention layer: the bytes of one request's recurrent state (MambaSpec page),
    in the model dtype (mamba_ssm_cache_dtype "auto"; --kv-cache-dtype does not apply to it), except the
    part the config keeps in float32 (Qwen3.5's mamba_ssm_dtype, which vLLM's
    Qwen3_5ForConditionalGenerationConfig copies into mamba_ssm_cache_dtype).
    """
    att = layer.attention
    if att is None or att.kv_shared:
        return 0
    if att.kind == "mamba":
        return att.state_elements // tp * MODEL_DTYPE_BYTES + att.state_fp32_elements // tp * FP32_BYTES
    if att.kind == "mla":
        if acc.mla_cache:
            if att.indexer_bytes and kv_bytes == 1:  # sparse MLA fp8: "fp8_ds_mla", 656 B per token
                return FP8_DS_MLA_BYTES + att.indexer_bytes
            return att.head_dim * kv_bytes + att.indexer_bytes  # kv_lora_rank + rope dim, replicated
        # before 0.7.1: full per-head K and V of the MLA heads, each padded to 256 (PRE_MLA_HEAD_SIZE)
        return 2 * max(1, arch.num_attention_heads // tp) * PRE_MLA_HEAD_SIZE * kv_bytes
    return max(1, att.num_kv_heads // tp) * (att.head_dim + att.v_head_dim) * kv_bytes


class KvGeometry(NamedTuple):
    token_bytes: int  # attention KV bytes per token (mamba state excluded)
    bytes_per_block: int
    blocks_per_request: int
    groups: int
    block_tokens: int  # the block size vLLM runs with (raised for attention + mamba hybrids)


def _kv_geometry(
    arch: ModelArch, counts: list[tuple[LayerSpec, int]], r: Resolved, tp: int, pp: int = 1
) -> KvGeometry:
    """KV bytes per token and block, blocks one max_model_len request needs, KV cache groups, block size."""
    per_kind: dict[str, list[tuple[int, int]]] = {}
    windows: dict[str, int] = {}
    for layer, count in counts:
        size = _layer_kv_bytes(arch, layer, tp, r.kv_dtype_bytes, r.acc)
        if size:
            kind = layer.attention.kind if r.acc.hybrid_kv_manager else "full"
            kind = "full" if kind == "mla" else kind
            per_kind.setdefault(kind, []).append((size, count))
            windows.setdefault(kind, layer.attention.window_tokens or 0)
    if not per_kind:
        return KvGeometry(0, 0, 0, 0, r.block_size)
    token_bytes = sum(
        size * count for kind, sizes in per_kind.items() if kind != "mamba" for size, count in sizes
    )
    if len(per_kind) == 1 and "mamba" not in per_kind:  # uniform: num_blocks = available // sum of pages
        (kind,) = per_kind
        return KvGeometry(
            token_bytes,
            token_bytes * r.block_size,
            _blocks_per_request(kind, windows[kind], r, pp),
            1,
            r.block_size,
        )
    block = r.block_size
    attn_token = max(
        (size for kind, sizes in per_kind.items() if kind != "mamba" for size, _ in sizes), default=0
    )
    if "mamba" in per_kind and attn_token:
        # platforms/interface.py (0.11-0.33; models/config.py HybridAttentionMambaModelConfig before):
        # attn_block_size = align * cdiv(mamba_page, align * attn_page_1_token), align = max(16, block_size)
        # (FlashAttention's MultipleOf(16)); the mamba page is then padded up to the attention page.
        mamba_page = max(size for size, _ in per_kind["mamba"])
        align = max(HYBRID_KERNEL_ALIGNMENT, r.block_size)
        block = max(block, align * -(-mamba_page // (align * attn_token)))
        page = block * attn_token
    elif "mamba" in per_kind:  # attention-free stage: one padded state page per layer
        page = max(size for size, _ in per_kind["mamba"])
    else:
        page = attn_token * block
    # Hybrid manager: groups of `group_size` layers share one block pool (kv_cache_utils.py).
    r_block = r._replace(block_size=block)
    layers_per_kind = {kind: sum(count for _, count in sizes) for kind, sizes in per_kind.items()}
    group_size = min(layers_per_kind.values())
    blocks, groups = 0, 0
    for kind, n_layers in layers_per_kind.items():
        n = -(-n_layers // group_size)
        groups += n
        blocks += n * (1 if kind == "mamba" else _blocks_per_request(kind, windows[kind], r_block, pp))
    return KvGeometry(token_bytes, group_size * page, blocks, groups, block)


def _blocks_per_request(kind: str, window: int, r: Resolved, pp: int = 1) -> int:
    """Blocks one max_model_len request holds in a group of this kind (max_memory_usage_bytes, §4)."""
    bs, mml, mnbt = r.block_size, r.max_model_len, r.max_num_batched_tokens
    if kind == "sliding":
        return -(-min(window - 1 + in_flight_tokens(r, pp), mml) // bs) + 1
    if kind == "chunked":
        return -(-min(window + mnbt, mml) // bs)
    return -(-mml // bs)


def in_flight_tokens(r: Resolved, pp: int) -> int:
    """Tokens past the window a sliding-window request may hold: mnbt, or max_in_flight_tokens in 0.33.

    0.33 SlidingWindowSpec reserves `vllm_config.max_in_flight_tokens` (§4), which vllm/config/vllm.py
    defines as `max_concurrent_batches * max_num_batched_tokens`; max_concurrent_batches is 2 with async
    scheduling at PP1 (both model runners) and pp + 1 with the V2 runner at PP>1 (the V1 runner keeps
    pp; we take the V2 default, one batch more conservative). `vllm serve` turns async scheduling on
    unless told otherwise (VllmConfig.__post_init__: async_scheduling None -> True except pooling models,
    non-EAGLE/draft speculative decoding, or an executor without support), so the default doubles it.
    """
    if not r.acc.in_flight_batches:
        return r.max_num_batched_tokens
    return (2 if pp == 1 else pp + 1) * r.max_num_batched_tokens


def _activation_bytes(
    arch: ModelArch, r: Resolved, tp: int, last_stage: bool, first_stage: bool = True
) -> float:
    """Peak of the profile run: max(forward pass at max_num_batched_tokens, dummy sampler pass).

    Forward: bf16 tensors alive at once per token - residual/normed/attention/MLP outputs (4 x hidden),
    qkv, and the MLP intermediates (gate_up + activation = 3 x intermediate, or for fused MoE
    top_k x (3 x moe_intermediate + hidden)). Sampler: `sampler_copies` fp32 vocab-sized tensors per
    sequence (logits, sort values/indices, probabilities), fitted per release - docs/sizing.md. The
    sequences are the resolved max_num_seqs capped by the token budget: V1 gpu_model_runner.py::_dummy_run
    splits max_num_batched_tokens over `num_reqs = min(num_tokens, max_num_reqs)` requests and
    profile_run then runs _dummy_sampler_run on one logits row per request; so a smaller --max-num-seqs
    shrinks this term (review #11: Llama-3.3-70B FP8 on H100 fits at 16 sequences, not at 1024). V0 with
    chunked prefill shows no sampler peak: 0.06 GiB at mnbt 512 (vLLM#10517, Llama-3.1-8B, 35K context)
    and 0.22 GiB at 2048 (OCI row) are the forward pass alone, where 256 sequences would add 1.2 GiB.
    """
    h = arch.hidden_size
    forward = r.max_num_batched_tokens * _forward_bytes_per_token(arch, tp)
    sampler = 0.0
    if last_stage and (r.acc.v1_engine or not r.chunked_prefill):
        rows = min(r.max_num_seqs, r.max_num_batched_tokens)
        sampler = sampler_copies(r, rows) * rows * arch.vocab_size * 4
    # Non-first PP stages: gpu_model_runner.py::_dummy_run allocates self.intermediate_tensors once,
    # make_empty_intermediate_tensors(batch_size=max_num_tokens, dtype=model dtype) - one
    # (max_num_tokens, hidden) tensor per key, "hidden_states" and "residual" (models/llama.py,
    # models/utils.py::make_empty_intermediate_tensors_factory; 0.19.0 wheel). It is allocated inside the
    # profile and kept, so the torch peak carries it on top of the forward pass.
    pp_buffers = 0.0 if first_stage else PP_INTERMEDIATE_KEYS * r.max_num_batched_tokens * h * 2
    return max(forward, sampler) + pp_buffers


@lru_cache(maxsize=1024)
def _forward_bytes_per_token(arch: ModelArch, tp: int) -> float:
    """bf16 bytes alive at once per token in a forward pass on one TP rank (see _activation_bytes)."""
    h = arch.hidden_size
    classes, _ = _layer_classes(arch)
    dense = max(layer.dense_mlp_params + layer.shared_expert_params for layer in classes) / h / tp
    moe = arch.num_experts_per_tok * (3 * arch.moe_intermediate_size / tp + h) if arch.is_moe else 0
    kv = max(1, arch.num_key_value_heads // tp)
    qkv = (arch.num_attention_heads // tp + 2 * kv) * arch.head_dim
    return 2 * (4 * h + qkv + max(dense, moe))


def sampler_copies(r: Resolved, rows: int) -> float:
    """fp32 vocab-sized copies per sequence of the dummy sampler run for this release and GPU."""
    copies = r.acc.sampler_copies
    if copies == FLASHINFER_SAMPLER_COPIES:
        low, high = FLASHINFER_SAMPLER_CC
        if not low <= float(r.gpu.compute_capability) <= high:
            copies = TRITON_SAMPLER_COPIES
    if copies in (TRITON_SAMPLER_COPIES, FLASHINFER_SAMPLER_COPIES) and rows < TRITON_SAMPLER_MIN_ROWS:
        copies = SORT_SAMPLER_COPIES_V0_V1_011  # fewer than 8 rows: the PyTorch sort path
    return copies


def _cudagraph_bytes(arch: ModelArch, r: Resolved, stage_layers: int) -> float:
    """Graph memory of one rank: what 0.20+ estimates into the budget and earlier releases add on top;
    none with --enforce-eager (cudagraph_mode NONE: profile_cudagraph_memory is not called)."""
    if r.enforce_eager:
        return 0.0
    graph_layers = stage_layers * (2 if arch.is_moe else 1)
    return (CUDAGRAPH_BASE_GIB + CUDAGRAPH_PER_LAYER_GIB * graph_layers) * GIB


def graph_in_budget(r: Resolved) -> bool:
    """0.20+ subtracts a graph estimate from the budget, except on Model Runner V2 before 0.29, whose
    profile_cudagraph_memory() returns 0 (VllmAccounting.v2_runner_graph_estimate)."""
    return r.acc.cudagraph_in_budget and (r.acc.v2_runner_graph_estimate or not r.v2_runner)


def _runner_state_bytes(arch: ModelArch, r: Resolved) -> float:
    """Model Runner V2's sampler keeps penalty state on the GPU from start-up (v1/worker/gpu/sample/
    penalties.py, 0.22.0-0.34.0 wheels): output_bin_counts (max_num_seqs x vocab int32) and prompt_bin_mask
    (max_num_seqs x vocab/32 int32). Allocated before the profile run, so the weights + peak + non-torch
    profiler of 0.26 and before misses it; the free-memory profiler of 0.27+ (consumed_profile) charges it."""
    if not (r.v2_runner and r.acc.consumed_profile):
        return 0.0
    return r.max_num_seqs * (arch.vocab_size + -(-arch.vocab_size // 32)) * 4


def _non_torch_bytes(r: Resolved, world: int) -> float:
    if r.acc.torch_only_peak:  # 0.2.0-0.2.4 charged the torch allocator peak only
        return 0.0
    base = NON_TORCH_GIB if r.acc.v1_engine else NON_TORCH_V0_GIB
    nccl = (NCCL_V1_GIB if r.acc.v1_engine else NCCL_V0_GIB) if (world > 1 and r.acc.nccl_in_budget) else 0.0
    return (base + nccl) * GIB


@lru_cache(maxsize=65536)
def _stages(r: Resolved, tp: int, pp: int) -> tuple[StageFacts, ...]:
    arch = r.arch
    classes, index = _layer_classes(arch)
    cc = r.gpu.compute_capability
    per_class = [layer_weight_bytes(arch, -1, layer, tp, r.quantization, cc) for layer in classes]
    skipped = {
        i: layer_weight_bytes(arch, i, arch.layers[i], tp, r.quantization, cc)
        for i in arch.quant_skip_layers
        if i < len(arch.layers)
    }
    # MLA decode matrices kept beside the loaded weights (precision.mla_decode_weight_bytes)
    mla_extra = (
        [
            mla_decode_weight_bytes(arch, i, tp, r.quantization, r.acc.mla_weights)
            if layer.attention is not None and layer.attention.kind == "mla"
            else 0.0
            for i, layer in enumerate(arch.layers)
        ]
        if arch.is_mla and r.acc.mla_weights
        else None
    )
    stages = []
    bounds = pp_stage_bounds(arch.num_hidden_layers, pp)
    for s, (start, end) in enumerate(bounds):
        first, last = s == 0, s == len(bounds) - 1
        counts = Counter(index[start:end])
        weights = sum(per_class[c] * n for c, n in counts.items())
        weights += sum(skipped[i] - per_class[index[i]] for i in skipped if start <= i < end)
        if mla_extra:
            weights += sum(mla_extra[start:end])
        if first:
            weights += embedding_bytes(arch, tp) + arch.vision_params / tp * 2
        if last:
            weights += arch.hidden_size * 2 + (
                0 if arch.tie_word_embeddings and pp == 1 else embedding_bytes(arch, tp)
            )
        geo = _kv_geometry(arch, [(classes[c], n) for c, n in counts.items()], r, tp, pp)
        stages.append(
            StageFacts(
                weights_bytes=weights,
                activation_bytes=_activation_bytes(arch, r, tp, last, first),
                non_torch_bytes=_non_torch_bytes(r, tp * pp),
                cudagraph_bytes=_cudagraph_bytes(arch, r, end - start),
                graph_in_budget=graph_in_budget(r),
                runner_state_bytes=_runner_state_bytes(arch, r) if last else 0.0,
                kv_bytes_per_token=geo.token_bytes,
                bytes_per_block=geo.bytes_per_block,
                blocks_per_request=geo.blocks_per_request,
                num_groups=geo.groups,
                block_tokens=geo.block_tokens,
            )
        )
    return tuple(stages)


@lru_cache(maxsize=4096)
def _resolve(inp: SizingInput) -> Resolved:
    arch, gpu = inp.arch, inp.gpu
    defaults = vllm_defaults(gpu, inp.vllm_version, arch.is_mla)
    acc = defaults.accounting
    quant = inp.quantization or arch.quantization
    check_quantization(arch, quant)
    if quant == "bnb4" and not acc.bitsandbytes:
        raise SizingError(
            f"vLLM {acc.version} has no bitsandbytes quantization (removed in 0.28: QuantizationMethods no "
            "longer lists it); use --quantization awq, gptq or fp8, or --vllm-version 0.27"
        )
    _check_gpu_support(gpu, quant)
    if quant == arch.quantization:
        _check_method_support(arch, gpu)
    check_layout(arch, inp.tensor_parallel_size, inp.pipeline_parallel_size, quant)
    if "mamba" in arch.attention_layer_kinds and parse_full_version(acc.version) < MAMBA_HYBRID_MIN_VERSION:
        raise SizingError(
            f"{arch.hf_id} ({arch.model_type}) mixes attention with linear-attention (mamba-style) layers, "
            f"which vLLM serves from 0.10.2; vLLM {acc.version} cannot load it: "
            "use --vllm-version 0.10.2 or later"
        )
    mml = inp.max_model_len or arch.max_position_embeddings
    if mml > arch.max_position_embeddings:
        raise SizingError(
            f"max_model_len {mml} exceeds {arch.hf_id}'s max_position_embeddings "
            f"{arch.max_position_embeddings}; use at most that"
        )
    chunked = acc.v1_engine or _v0_chunked(arch, acc, mml, inp.max_num_batched_tokens)
    mnbt = inp.max_num_batched_tokens or defaults.max_num_batched_tokens
    if mnbt is None:  # V0: one chunk, or one prefill of the whole context (§5)
        mnbt = acc.v0_chunked_mnbt if chunked else max(mml, V0_MIN_MNBT)
    seqs = inp.max_num_seqs or defaults.max_num_seqs
    check_scheduler_limits(seqs, mnbt)
    block_size = inp.block_size or defaults.block_size
    check_block_size(block_size)
    return Resolved(
        arch=arch,
        gpu=gpu,
        acc=acc,
        quantization=quant,
        kv_dtype_bytes=1 if inp.kv_cache_dtype == "fp8" else 2,
        max_model_len=mml,
        max_num_batched_tokens=mnbt,
        max_num_seqs=seqs,
        gpu_memory_utilization=inp.gpu_memory_utilization or defaults.gpu_memory_utilization,
        block_size=block_size,
        chunked_prefill=chunked,
        enforce_eager=inp.enforce_eager,
        v2_runner=uses_v2_model_runner(
            parse_full_version(acc.version)[:2],
            arch.model_type,
            arch.is_moe,
            "mamba" in arch.attention_layer_kinds,
            quant != "none",
        ),
    )


def _v0_chunked(arch: ModelArch, acc: VllmAccounting, mml: int, mnbt: int | None) -> bool:
    """Whether a V0 engine runs chunked prefill (engine/arg_utils.py, PR #6666 and successors).

    An explicit max_num_batched_tokens below max_model_len is only accepted with chunked prefill on.
    Auto-enabled past 32K context from 0.5.4, except for sliding-window models, multimodal models (PR
    #8425, 0.6.1) and MLA (0.7.1+: "Chunked prefill not supported for Multimodal or MLA in V0").
    """
    if mnbt is not None:
        return mnbt < mml
    if not acc.v0_auto_chunked_prefill or mml <= V0_AUTO_CHUNKED_CONTEXT:
        return False
    if arch.sliding_window is not None or (arch.vision_params and acc.multimodal_no_auto_chunk):
        return False
    return not (arch.is_mla and acc.mla_cache)


# FP8 checkpoints run weight-only through FP8 Marlin from compute capability 7.5 (vLLM docs, features/
# quantization/fp8: "FP8 models will run on compute capability >= 7.5 (Turing) as weight-only W8A16");
# MXFP4 kernels (Marlin / Triton) target Ampere and newer.
MIN_COMPUTE_CAPABILITY = {"fp8": 7.5, "mxfp4": 8.0}


def _check_gpu_support(gpu: GpuProfile, quantization: str) -> None:
    needed = MIN_COMPUTE_CAPABILITY.get(quantization)
    if needed and float(gpu.compute_capability) < needed:
        raise SizingError(
            f"{quantization} weights need compute capability >= {needed}; {gpu.name} is "
            f"{gpu.compute_capability}: use awq, gptq or none"
        )


# Checkpoint formats with a higher floor than their weight format: ModelOptFp8Config.get_min_capability()
# returns 89 (vllm/model_executor/layers/quantization/modelopt.py): no Marlin fallback on Ampere.
MIN_CAPABILITY_BY_METHOD = {"modelopt": 8.9}


def _check_method_support(arch: ModelArch, gpu: GpuProfile) -> None:
    needed = MIN_CAPABILITY_BY_METHOD.get(arch.quant_method or "")
    if needed and float(gpu.compute_capability) < needed:
        other = listed_checkpoint(arch.base_model, arch.quantization)
        fix = f"serve {other} instead" if other and other != arch.hf_id else "use an L4/L40S/H100-class GPU"
        raise SizingError(
            f"{arch.hf_id} is a {arch.quant_method} checkpoint, which vLLM runs only from compute capability "
            f"{needed}; {gpu.name} is {gpu.compute_capability}: {fix}"
        )


def stage_facts(inp: SizingInput) -> tuple[Resolved, tuple[StageFacts, ...]]:
    r = _resolve(inp)
    stages = _stages(r, inp.tensor_parallel_size, inp.pipeline_parallel_size)
    row = calibration_row(inp, r)
    if row is not None:  # the log is of the worst rank: every stage pays what it logged
        stages = tuple(
            s._replace(weights_bytes=row.weights_gib * GIB, calibrated_fixed_bytes=row.non_kv_gib * GIB)
            for s in stages
        )
    return r, stages


def calibration_row(inp: SizingInput, r: Resolved):
    """The calibration row of exactly these resolved settings, or None (sizing/calibration.py)."""
    if inp.calibration is None:
        return None
    return inp.calibration.find(
        r.arch.hf_id,
        r.gpu.name,
        inp.tensor_parallel_size,
        inp.pipeline_parallel_size,
        r.acc.version,
        r.quantization,
        inp.kv_cache_dtype,
        r.max_num_batched_tokens,
        r.max_num_seqs,
        r.enforce_eager,
    )


def fixed_bytes(stage: StageFacts, acc: VllmAccounting) -> float:
    """Everything the budget pays before the KV cache (a calibration row's logged non-KV memory if any)."""
    if stage.calibrated_fixed_bytes:
        return stage.calibrated_fixed_bytes
    graph = stage.cudagraph_bytes if stage.graph_in_budget else 0.0
    return (
        stage.weights_bytes
        + stage.activation_bytes
        + stage.non_torch_bytes
        + stage.runner_state_bytes
        + graph
    )


def context_bytes(world: int) -> float:
    """CUDA context + NCCL memory taken before vLLM's start-up snapshot, per GPU."""
    return (CUDA_CONTEXT_GIB + (NCCL_CONTEXT_GIB if world > 1 else 0.0)) * GIB


def budget_bytes(r: Resolved, stage: StageFacts, util: float, world: int) -> float:
    """What the KV cache and the fixed costs may take together on one GPU: util x total, and from 0.34 also
    at most the memory free at start-up less the extensible cache's margin (measure_kv_cache_bytes)."""
    total = r.gpu.total_memory_gib * GIB
    if not r.acc.extensible_kv_cache:
        return util * total
    margin = max(KV_MARGIN_FLOOR_GIB * GIB, KV_MARGIN_FRACTION * stage.activation_bytes)
    return min(util * total, total - context_bytes(world) - margin)


def estimate_memory(inp: SizingInput, gpu_memory_utilization: float | None = None) -> MemoryEstimate:
    """Per-GPU figures as vLLM would log them for the worst rank (the one with the fewest KV blocks)."""
    r, stages = stage_facts(inp)
    util = gpu_memory_utilization or r.gpu_memory_utilization
    world = inp.tensor_parallel_size * inp.pipeline_parallel_size
    best = None
    for stage in stages:
        budget = budget_bytes(r, stage, util, world)
        available = budget - fixed_bytes(stage, r.acc)
        blocks = int(available // stage.bytes_per_block) if available > 0 and stage.bytes_per_block else 0
        if best is None or blocks < best[0]:
            best = (blocks, available, stage, budget)
    blocks, available, stage, budget = best
    return _estimate(inp, r, stage, blocks, available, util, budget)


def _estimate(
    inp: SizingInput,
    r: Resolved,
    stage: StageFacts,
    blocks: int,
    available: float,
    util: float,
    budget: float,
) -> MemoryEstimate:
    if not stage.bytes_per_block:  # attention-free stage: nothing limits concurrency by KV
        concurrency = float("inf")
    elif r.acc.v1_engine:
        concurrency = blocks / stage.blocks_per_request
    else:  # V0 executor_base.py: num_gpu_blocks * block_size / max_model_len
        concurrency = blocks * r.block_size / r.max_model_len
    if r.acc.tokens_from_concurrency and math.isfinite(concurrency):
        tokens = int(concurrency * r.max_model_len)
    else:
        tokens = blocks // max(1, stage.num_groups) * stage.block_tokens
    notes = _notes(r)
    row = calibration_row(inp, r) if inp.calibration is not None else None
    if row is not None:
        notes = (
            f"calibrated: weights {row.weights_gib:.2f} GiB and non-KV memory {row.non_kv_gib:.2f} GiB as "
            f"logged ({inp.calibration.path}: {row.source or row.describe()}) replace the prediction",
            *(n for n in notes if "source reading only" not in n),
        )
    return MemoryEstimate(
        model=r.arch.hf_id,
        gpu=r.gpu.name,
        vllm_version=r.acc.version,
        tensor_parallel_size=inp.tensor_parallel_size,
        pipeline_parallel_size=inp.pipeline_parallel_size,
        total_gpu_memory_gib=r.gpu.total_memory_gib,
        gpu_memory_utilization=util,
        weights_gib=stage.weights_bytes / GIB,
        activation_peak_gib=stage.activation_bytes / GIB,
        non_torch_gib=stage.non_torch_bytes / GIB,
        cudagraph_gib=stage.cudagraph_bytes / GIB,
        budget_gib=budget / GIB,
        kv_cache_gib=available / GIB,
        kv_bytes_per_token=stage.kv_bytes_per_token,
        block_size=stage.block_tokens,
        num_gpu_blocks=blocks,
        kv_cache_tokens=tokens,
        max_model_len=r.max_model_len,
        max_num_batched_tokens=r.max_num_batched_tokens,
        max_num_seqs=r.max_num_seqs,
        max_concurrency=concurrency if math.isfinite(concurrency) else 1e9,
        fits=concurrency >= 1,
        kv_cache_dtype=inp.kv_cache_dtype,
        quantization=r.quantization,
        notes=notes,
        calibration=None if row is None else f"{inp.calibration.path}: {row.describe()}",
    )


@lru_cache(maxsize=1024)
def _notes(r: Resolved) -> tuple[str, ...]:
    notes = []
    if not is_calibrated(r.acc.version):
        notes.append(
            f"vLLM {r.acc.version}: accounting from source reading only, no startup logs of this release "
            "checked it (docs/sizing.md, Calibration)"
        )
    if not graph_in_budget(r) and not r.enforce_eager:
        notes.append("CUDA graphs (cudagraph_gib) come on top of the budget in this release")
    if r.v2_runner:
        notes.append(
            f"vLLM {r.acc.version} serves {r.arch.model_type} on Model Runner V2"
            + ("; its sampler state (max_num_seqs x vocab) is charged" if r.acc.consumed_profile else "")
        )
    if r.acc.extensible_kv_cache:
        notes.append(
            f"vLLM {r.acc.version} sizes the KV cache from the memory free after warmup (extensible KV "
            "cache): the budget is also capped at the memory free at start-up less a margin of max(1 GiB, "
            "0.75 x the activation peak), and the CUDA context and NCCL come out of it"
        )
    elif not r.acc.nccl_in_budget:
        notes.append("NCCL buffers and the CUDA context sit outside the budget from vLLM 0.11")
    if float(r.gpu.compute_capability) < 8.0:
        notes.append(f"{r.gpu.name} has no bf16: vLLM runs the model in fp16 (same bytes)")
    if r.arch.is_mla and r.acc.mla_cache:
        notes.append("MLA latent KV is replicated on every TP rank")
    elif r.arch.is_mla:
        notes.append("before vLLM 0.7.1 MLA models cache per-head K and V padded to 256 (no latent cache)")
    if r.acc.torch_only_peak:
        notes.append("before vLLM 0.2.5 only the torch allocator peak is charged: no non-torch memory")
    if r.acc.other_processes_counted:
        notes.append("this release charges memory used by other processes on the GPU against the budget")
    if not r.acc.v1_engine and r.chunked_prefill:
        notes.append(f"V0 engine, chunked prefill: the profile run takes {r.max_num_batched_tokens} tokens")
    elif not r.acc.v1_engine:
        notes.append(f"V0 engine: the profile run prefills {r.max_num_batched_tokens} tokens at once")
    return tuple(notes)
