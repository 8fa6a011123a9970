"""What each vLLM release does differently when it sizes memory, and its `vllm serve` defaults.

Source for every switch: shared/vllm_memory_accounting.md (read from the vLLM wheels 0.6.4-0.33.0);
the section is named next to each field. Switches from 0.19 on were also read from the 0.19.0-0.34.0 wheels
(PyPI), named with the file next to each.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import Field

from sizing.errors import SizingError
from sizing.gpus import GpuProfile
from sizing.vocabulary import Frozen

LATEST_VLLM_VERSION = "0.34"
OLDEST_VLLM_VERSION = "0.2"
SUPPORTED_VLLM_VERSIONS = (OLDEST_VLLM_VERSION, LATEST_VLLM_VERSION)  # oldest and newest modelled
# Minor releases with at least one usable KV-cache row (GiB or tokens) in shared/data/vllm_reference_logs.csv
# (bench/accuracy.py prints them): their accounting is checked against real startup logs. Every other
# release in SUPPORTED_VLLM_VERSIONS comes from reading its source only (docs/sizing.md, "Calibration").
CALIBRATED_VLLM_VERSIONS = (
    "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.9", "0.10", "0.11", "0.19", "0.20", "0.21", "0.26"
)
# vllm/config/cache.py: `BlockSize = Literal[1, 8, 16, 32, 64, 128]` (CacheConfig.block_size).
ALLOWED_BLOCK_SIZES = (1, 8, 16, 32, 64, 128)
Version = tuple[int, int]
FullVersion = tuple[int, int, int]


class VllmAccounting(Frozen):
    """Release-dependent memory accounting switches."""

    version: str
    v1_engine: bool = Field(description="V1 is the default engine from 0.8; V0 removed after 0.10")
    chunked_prefill: bool = Field(description="V1 always; V0 only auto-enabled past 32K context (§5)")
    nccl_in_budget: bool = Field(description="NCCL/CUDA context inside non_torch before 0.11 (§2)")
    cudagraph_in_budget: bool = Field(description="graph memory estimated inside the budget from 0.20 (§2)")
    other_processes_counted: bool = Field(description="before ~0.6.5 (PR #10511) (§1)")
    hybrid_kv_manager: bool = Field(description="sliding-window layers keep only the window (V1 0.10+) (§4)")
    mla_cache: bool = Field(description="MLA latent cache (0.7.1+); before that K/V per head, padded to 256")
    torch_only_peak: bool = Field(
        description="before 0.2.5 the profile charged only torch.cuda.max_memory_allocated() (no non-torch)"
    )
    v0_auto_chunked_prefill: bool = Field(description="V0 turns chunked prefill on past 32K context (0.5.4+)")
    multimodal_no_auto_chunk: bool = Field(description="V0 leaves multimodal models unchunked (0.6.1+)")
    v0_chunked_mnbt: int = Field(description="V0 chunk size: 512, 2048 from 0.6.5")
    tokens_from_concurrency: bool = Field(
        description="'GPU KV cache size' = concurrency x max_model_len (0.21+)"
    )
    sampler_copies: float = Field(
        description="fp32 vocab-sized copies per sequence of the dummy sampler run: fitted before 0.17, "
        "counted from the sampler source from 0.17 (docs/sizing.md, 'Activation peak')"
    )
    flashinfer_sampler: bool = Field(
        description="FlashInfer top-k/top-p sampler on by default (0.21+, compute capability 7.5-12.1)"
    )
    consumed_profile: bool = Field(
        description="non-KV = free-memory drop since the snapshot + transient torch peak (0.27+, §2)"
    )
    top_tier_160gib: bool = Field(description="0.33 adds a >=160 GiB default tier (§5)")
    v2_runner_graph_estimate: bool = Field(
        description="Model Runner V2 estimates CUDA graph memory into the budget (0.29+; returns 0 before)"
    )
    mla_weights: str = Field(
        description="what MLA layers keep beside their weights: 'absorbed' (0.7.1-0.7.x), 'dequantized_kv_b' "
        "(0.8+), '' before 0.7.1 (precision.mla_decode_weight_bytes)"
    )
    bitsandbytes: bool = Field(
        description="--quantization bitsandbytes exists (QuantizationMethods to the 0.27 wheel, not 0.28)"
    )
    extensible_kv_cache: bool = Field(
        description="0.34+: the KV cache is sized from the memory measured after warmup and graph capture "
        "(v1/worker/extensible_kv_cache.py), gpu_memory_utilization defaults to 1.0, block size to 64"
    )
    in_flight_batches: bool = Field(
        description="sliding windows reserve max_in_flight_tokens (async: 2 x mnbt at PP1) in 0.33 (§4)"
    )


class VllmDefaults(Frozen):
    """`vllm serve` defaults a GPU gets from one release."""

    vllm_version: str
    max_num_batched_tokens: int | None = Field(
        description="None: V0, set per context (chunk of 512/2048 past 32K from 0.5.4, else max(mml, 2048))"
    )
    max_num_seqs: int
    gpu_memory_utilization: float
    block_size: int
    accounting: VllmAccounting


def parse_version(version: str | None) -> Version:
    """X.Y of a release string (the patch level is dropped)."""
    return parse_full_version(version)[:2]


def parse_full_version(version: str | None) -> FullVersion:
    """(X, Y, Z) of 'X.Y' or 'X.Y.Z[suffix]'; a bare X.Y means its first release X.Y.0."""
    text = (version or LATEST_VLLM_VERSION).strip().lstrip("v")
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?(?:[.+\-]?\w*)*", text)
    if not match:
        raise SizingError(
            f"vLLM version {version!r} is not X.Y or X.Y.Z (e.g. 0.11 or {LATEST_VLLM_VERSION})"
        )
    parsed = (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
    if parsed[:2] < parse_version_plain(OLDEST_VLLM_VERSION) or parsed[:2] > parse_version_plain(
        LATEST_VLLM_VERSION
    ):
        raise SizingError(
            f"vLLM version {version!r} is outside the supported releases {OLDEST_VLLM_VERSION} .. "
            f"{LATEST_VLLM_VERSION}; use one in that range (default {LATEST_VLLM_VERSION})"
        )
    return parsed


def check_vllm_version(version: str | None) -> str:
    """The release label ('X.Y' or 'X.Y.Z') sizing uses; SizingError naming the supported range otherwise."""
    return accounting(version).version


def is_calibrated(vllm_version: str | None) -> bool:
    """Whether this release's accounting was checked on startup logs (else: source reading only)."""
    major, minor = parse_version(vllm_version)
    return f"{major}.{minor}" in CALIBRATED_VLLM_VERSIONS


def check_block_size(block_size: int) -> None:
    """vLLM accepts only the sizes of its BlockSize literal (config/cache.py)."""
    if block_size not in ALLOWED_BLOCK_SIZES:
        nearest = min(ALLOWED_BLOCK_SIZES, key=lambda size: (abs(size - block_size), size))
        raise SizingError(
            f"block_size {block_size} is not one vLLM accepts ({', '.join(map(str, ALLOWED_BLOCK_SIZES))}; "
            f"vllm/config/cache.py BlockSize); nearest: {nearest}, CUDA default 16"
        )


def check_scheduler_limits(max_num_seqs: int, max_num_batched_tokens: int) -> None:
    """SchedulerConfig._verify_args: every scheduled sequence needs at least one token of the step budget."""
    if max_num_batched_tokens < max_num_seqs:
        raise SizingError(
            f"max_num_batched_tokens ({max_num_batched_tokens}) must be greater than or equal to "
            f"max_num_seqs ({max_num_seqs}) (vLLM SchedulerConfig._verify_args); "
            f"raise --max-num-batched-tokens to at least {max_num_seqs} "
            f"or lower --max-num-seqs to at most {max_num_batched_tokens}"
        )


def parse_version_plain(text: str) -> Version:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


@lru_cache(maxsize=64)
def accounting(version: str | None) -> VllmAccounting:
    full = parse_full_version(version)
    v = full[:2]
    v1 = v >= (0, 8)
    return VllmAccounting(
        version=_label(version, full),
        v1_engine=v1,
        chunked_prefill=v1,
        nccl_in_budget=v < (0, 11),
        cudagraph_in_budget=v >= (0, 20),
        other_processes_counted=v < (0, 7),
        hybrid_kv_manager=v >= (0, 10),
        # MLA cache: vLLM v0.7.1 (Jan 2025). Before it deepseek_v2.py expanded the latent to per-head K
        # and V and padded q/k/v to head size 256 ("TODO, support head_size 192"): PR #10927's "Before"
        # log (DeepSeek-V2-Lite, H100) holds 35.42 GiB in 5373 blocks = 16 heads x 2 x 256 x 2 B per layer.
        mla_cache=full >= (0, 7, 1),
        # 0.2.0-0.2.4 worker.py: peak = torch.cuda.max_memory_allocated(); PR #2031 (0.2.5) switched to
        # total - free from torch.cuda.mem_get_info(), charging NCCL and the CUDA context too.
        torch_only_peak=full < (0, 2, 5),
        # PR #6666 (merged 2024-07-23, first in 0.5.4): chunked prefill by default when max_model_len > 32K
        # (engine/arg_utils.py: `use_long_context = max_model_len > 32768`). Its default chunk was 512
        # until PR #10544 (merged 2024-11-21, first in 0.6.5) raised it to 2048.
        v0_auto_chunked_prefill=full >= (0, 5, 4),
        multimodal_no_auto_chunk=full >= (0, 6, 1),  # PR #8425 (Sep 2024)
        v0_chunked_mnbt=2048 if full >= (0, 6, 5) else 512,
        # v1/core/kv_cache_utils.py: the 0.20.0 wheel logs num_blocks // groups x block_size, the 0.21.0 wheel
        # `num_tokens = int(max_concurrency * max_model_len)`.
        tokens_from_concurrency=v >= (0, 21),
        sampler_copies=_sampler_copies(v),
        # envs.py VLLM_USE_FLASHINFER_SAMPLER: default None (opt-in) in the 0.20.0 wheel, True in 0.21.0
        # (v1/sample/ops/topk_topp_sampler.py then takes forward_cuda -> flashinfer_sample).
        flashinfer_sampler=v >= (0, 21),
        # utils/mem_utils.py::memory_profiling: 0.26.0 still sums weights + torch peak increase + non-torch
        # increase; the 0.27.0 wheel sets non_kv_cache_memory = total_consumed (init free - free after the
        # profile, from mem_get_info) + transient_peak_headroom (torch peak - torch allocated).
        consumed_profile=v >= (0, 27),
        top_tier_160gib=v >= (0, 33),
        # §4: the 0.33 wheel's SlidingWindowSpec uses max_in_flight_tokens where 0.26 used mnbt.
        in_flight_batches=v >= (0, 33),
        # config/cache.py 0.34.0: enable_extensible_kv_cache None -> on for CUDA (config/vllm.py resolves it
        # unless kv_cache_memory_bytes, a legacy-IPC KV connector or a custom memory pool is set);
        # resolved_gpu_memory_utilization 1.0 with it; DEFAULT_BLOCK_SIZE 64 (16 up to 0.33).
        extensible_kv_cache=v >= (0, 34),
        # v1/worker/gpu/model_runner.py::profile_cudagraph_memory returns 0 in the 0.21.0-0.28.0 wheels;
        # 0.29.0 measures it (_profile_cudagraph_memory).
        v2_runner_graph_estimate=v >= (0, 29),
        # attention/backends/mla/utils.py (0.7.1-0.7.3: matrix absorption), v1/attention/backends/mla/
        # common.py and later layers/attention/mla_attention.py (0.8.0-0.34.0: W_UK_T / W_UV from kv_b_proj).
        mla_weights="dequantized_kv_b" if v >= (0, 8) else "absorbed" if full >= (0, 7, 1) else "",
        # model_executor/layers/quantization/__init__.py QuantizationMethods lists "bitsandbytes" in the
        # 0.19.0-0.27.0 wheels and not from 0.28.0 (0.28.0-0.34.0 checked).
        bitsandbytes=v < (0, 28),
    )


# Dummy sampler run (v1/worker/gpu_model_runner.py::_dummy_sampler_run: one logits row per request, top_k
# = vocab - 1 and top_p = 0.9, so top-k/top-p always runs), in bytes per vocab entry and sequence:
# * before 0.17 (0.11.0-0.16.0 wheels): v1/sample/ops/topk_topp_sampler.py::apply_top_k_top_p sorts the
#   fp32 logits (values + int64 indices + sort scratch), then softmax, cumsum, masks and a scatter back;
#   not counted term by term - fitted: 9.8 fp32 copies on the llm-d ~0.11 logs and the V0 logs, 3.0 on
#   the 0.8-0.10 logs (docs/sizing.md).
# * 0.17-0.20 (topk_topp_triton.py first ships in the 0.17.0 wheel; apply_top_k_top_p takes it for
#   `logits.shape[0] >= 8`): the Triton kernel masks the fp32 logits in place, so the peak is at
#   random_sample's `probs.div(q)`: bf16 logits from compute_logits (2) + their fp32 copy in
#   Sampler.forward (4) + softmax probs (4) + exponential noise q (4) + probs / q (4) = 18 B = 4.5 copies.
# * 0.21+ (FlashInfer sampler by default, compute capability 7.5-12.1): flashinfer_sample calls
#   top_k_top_p_sampling_from_logits on the fp32 logits: bf16 (2) + fp32 (4) + top-k masked logits (4)
#   + probabilities (4) = 14 B = 3.5 copies. Elsewhere (V100) the 0.17 Triton count applies.
SORT_SAMPLER_COPIES_V0_V1_011 = 9.8
SORT_SAMPLER_COPIES_V1_08 = 3.0
TRITON_SAMPLER_COPIES = 4.5
FLASHINFER_SAMPLER_COPIES = 3.5
TRITON_SAMPLER_MIN_ROWS = 8  # topk_topp_sampler.py: `HAS_TRITON and logits.shape[0] >= 8`, else the sort
FLASHINFER_SAMPLER_CC = (7.5, 12.1)  # FlashInferBackend.supports_compute_capability (0.21.0 wheel)


def _sampler_copies(v: Version) -> float:
    if (0, 8) <= v < (0, 11):
        return SORT_SAMPLER_COPIES_V1_08
    if v < (0, 17):
        return SORT_SAMPLER_COPIES_V0_V1_011
    if v < (0, 21):
        return TRITON_SAMPLER_COPIES
    return FLASHINFER_SAMPLER_COPIES


# CUDA graph capture sizes (vllm/config/vllm.py::VllmConfig._set_cudagraph_sizes, 0.19.0-0.34.0 wheels):
# 1, 2, 4, multiples of 8 below 256, multiples of 16 from 256 up to max_graph_size = min(2 x max_num_seqs
# x decode query length, 512) and never above max_num_batched_tokens, which is itself captured when it fits
# off-stride. (0.34 raises the 512 to 1024 on data-center Blackwell; the planner's max_num_seqs stays below.)
CUDAGRAPH_SMALL_SIZES = (1, 2, 4)
CUDAGRAPH_STEP_BELOW_256, CUDAGRAPH_STEP_ABOVE_256 = 8, 16
CUDAGRAPH_MAX_SIZE = 512


def cudagraph_capture_sizes(max_num_seqs: int, max_num_batched_tokens: int) -> tuple[int, ...]:
    """Batch sizes vLLM captures PIECEWISE graphs for; FULL decode graphs take those <= max_num_seqs
    (v1/cudagraph_dispatcher.py: `x <= uniform_decode_query_len * max_num_seqs`)."""
    top = min(max_num_seqs * 2, CUDAGRAPH_MAX_SIZE, max_num_batched_tokens)
    sizes = {s for s in CUDAGRAPH_SMALL_SIZES if s <= top}
    sizes.update(range(CUDAGRAPH_STEP_BELOW_256, min(top + 1, 256), CUDAGRAPH_STEP_BELOW_256))
    sizes.update(range(256, top + 1, CUDAGRAPH_STEP_ABOVE_256))
    if max_num_batched_tokens <= top:
        sizes.add(max_num_batched_tokens)
    return tuple(sorted(sizes))


# Model Runner V2 (vllm/v1/worker/gpu/) by default, per release (config/vllm.py::use_v2_model_runner and
# _is_default_v2_model_runner_model; VLLM_USE_V2_MODEL_RUNNER unset). Architectures by HF model_type:
# * 0.21: never (env default "0").
# * 0.22-0.23: DEFAULT_V2_MODEL_RUNNER_ARCHITECTURES = {Qwen3ForCausalLM}, dense and unquantized only.
# * 0.24: {Qwen3, DeepseekV2, Qwen2Moe, GraniteMoe, Llama, Mistral}ForCausalLM.
# * 0.25-0.28: every generative model that is neither hybrid (attention + mamba) nor MoE, plus the listed MoE
#   architectures (DeepseekV2, Qwen2Moe, GraniteMoe; 0.28 adds DeepseekV4), which from 0.27 may be hybrid.
# * 0.29+: every model (the V1 runner remains for features V2 lacks, which sizing does not model).
V2_RUNNER_TYPES_022 = frozenset({"qwen3"})
V2_RUNNER_TYPES_024 = frozenset({"qwen3", "deepseek_v2", "qwen2_moe", "granitemoe", "llama", "mistral"})
V2_RUNNER_MOE_TYPES_025 = frozenset({"deepseek_v2", "qwen2_moe", "granitemoe"})
V2_RUNNER_MOE_TYPES_028 = V2_RUNNER_MOE_TYPES_025 | {"deepseek_v4"}


def uses_v2_model_runner(
    version: Version, model_type: str, is_moe: bool, is_hybrid: bool, quantized: bool
) -> bool:
    """Whether `vllm serve` of this release runs the model on Model Runner V2 (see the table above)."""
    if version < (0, 22):
        return False
    if version < (0, 24):
        return model_type in V2_RUNNER_TYPES_022 and not is_moe and not quantized
    if version < (0, 25):
        return model_type in V2_RUNNER_TYPES_024
    if version < (0, 29):
        listed = V2_RUNNER_MOE_TYPES_028 if version >= (0, 28) else V2_RUNNER_MOE_TYPES_025
        if model_type in listed:
            return version >= (0, 27) or not is_hybrid
        return not is_hybrid and not is_moe
    return True


def _label(version: str | None, full: FullVersion) -> str:
    """'X.Y', or 'X.Y.Z' when the caller named a patch release."""
    named_patch = version is not None and version.strip().lstrip("v").count(".") >= 2
    return f"{full[0]}.{full[1]}.{full[2]}" if named_patch else f"{full[0]}.{full[1]}"


@lru_cache(maxsize=256)
def vllm_defaults(gpu: GpuProfile, vllm_version: str | None = None, is_mla: bool = False) -> VllmDefaults:
    """Defaults of `vllm serve` on this GPU (engine/arg_utils.py::_set_default_args, §5)."""
    acc = accounting(vllm_version)
    big = gpu.total_memory_gib >= 70 and not gpu.is_a100
    if acc.v1_engine:
        if acc.top_tier_160gib and gpu.total_memory_gib >= 160:
            mnbt, seqs = 16384, 1024
        else:
            mnbt, seqs = (8192, 1024) if big else (2048, 256)
    else:
        mnbt, seqs = None, 256
    util = 1.0 if acc.extensible_kv_cache else 0.92 if parse_version(vllm_version) >= (0, 20) else 0.9
    return VllmDefaults(
        vllm_version=acc.version,
        max_num_batched_tokens=mnbt,
        max_num_seqs=seqs,
        gpu_memory_utilization=util,
        block_size=default_block_size(gpu, is_mla, acc),
        accounting=acc,
    )


def default_block_size(gpu: GpuProfile, is_mla: bool, acc: VllmAccounting) -> int:
    """16 on CUDA (64 from 0.34: CacheConfig.DEFAULT_BLOCK_SIZE, which FlashAttention's MultipleOf(16)
    accepts); MLA backends raise it: FlashMLA 64 on Hopper, CUTLASS-MLA 128 on Blackwell (§5)."""
    plain = 64 if acc.extensible_kv_cache else 16
    if not (is_mla and acc.mla_cache and acc.v1_engine):
        return plain
    major = int(gpu.compute_capability.split(".")[0])
    if major == 9:
        return 64
    if major == 10:
        return 128
    return plain
