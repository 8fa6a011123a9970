"""Sizing calls of one planning run, cached per (GPU, TP, PP) across regions and instance sizes (pure).

Precision rules applied per GPU before sizing (issue 4, "never assumed fast"):
- FP8 weights need FP8 tensor cores (compute capability >= 8.9: Ada, Hopper, Blackwell) to run W8A8.
  Below, vLLM runs them weight-only (W8A16) through the FP8 Marlin kernel: "FP8 computation is supported
  on NVIDIA GPUs with compute capability >= 8.9 ... FP8 models will run on compute capability >= 7.5
  (Turing) as weight-only W8A16, utilizing FP8 Marlin" (docs.vllm.ai/en/v0.32.0/features/quantization/
  llm_compressor/fp8/). The memory saving stays, compute runs at BF16/FP16 rates. Below 7.5 (V100): refused.
  MoE checkpoints included: vLLM once refused FP8 MoE on Ampere (vllm#7322, 2024), but 2026 logs show the
  FP8 Marlin weight-only path on an A800 for an MoE model (vllm#40851, "Weight-only FP8 compression will
  be used leveraging the Marlin kernel").
- FP8 KV cache below 8.9 is refused (no FP8 attention kernels are assumed there).
- MXFP4 (gpt-oss) below cc 8.0 is refused (an assumption: its kernels target Ampere and newer).
- BF16 needs cc >= 8.0. vLLM refuses an explicit bfloat16 on Turing/Volta (T4 on g4dn, V100 on p3/p3dn):
  its GPU worker raises "Bfloat16 is only supported on GPUs with compute capability of at least 8.0 ...
  You can use float16 instead by explicitly setting the `dtype` flag in CLI, for example: --dtype=half"
  (vllm/v1/worker/gpu_worker.py, `_check_if_gpu_supports_dtype`, vllm-project/vllm@0012cf69). So such a
  candidate is planned with fp16 (the same 2 bytes per weight, the same sizing): Plan.dtype = "fp16" and
  the rendered config says `dtype: float16`, with a warning (fp16's range is narrower than bf16's; a
  bf16-trained checkpoint can overflow). With Workload.strict_dtype the GPU is refused instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llm_advisor.planner.models import Workload
from llm_advisor.planner.options import opt
from pricing.models import GpuSpec
from sizing import (
    MIN_COMPUTE_CAPABILITY,
    GpuProfile,
    SizingError,
    VllmDefaults,
    check_layout,
    estimate_memory,
    gpu_profile,
    quantized_bytes_per_param,
    recommend_utilization,
    vllm_defaults,
)
from sizing.calibration import Calibration, CalibrationRow, load_calibration
from sizing.models import MemoryEstimate, SizingInput, UtilizationAdvice
from sizing.vllm_versions import CUDAGRAPH_STEP_ABOVE_256, cudagraph_capture_sizes

UTILIZATION_CEILING = 0.95
FP8_FAST_CC = 8.9
BF16_MIN_CC = 8.0
# A decode batch between two CUDA graph capture sizes (sizing.vllm_versions.cudagraph_capture_sizes) is
# padded to the next one, so a max_num_seqs between them buys nothing: it is rounded up to one.


def tuned_max_num_seqs(concurrency_per_replica: int, headroom: float) -> int:
    """max_num_seqs for a replica that carries `concurrency_per_replica` requests: that x (1 + headroom),
    rounded up to a CUDA graph capture size. vLLM's default (256, or 1024 on >= 70 GiB GPUs) would admit
    far more sequences than planned, so the latency the roofline promised at the planned batch would not
    hold, and the dummy sampler run vLLM profiles at min(max_num_seqs, max_num_batched_tokens) x vocab
    would take KV memory for nothing (docs/sizing.md, "Activation peak")."""
    need = max(1, math.ceil(concurrency_per_replica * (1 + headroom) - 1e-9))
    size = next((s for s in cudagraph_capture_sizes(need, 2 * need) if s >= need), None)
    # past the largest capture size (512) decode batches run eagerly: keep vLLM's step of 16 there
    return size or math.ceil(need / CUDAGRAPH_STEP_ABOVE_256) * CUDAGRAPH_STEP_ABOVE_256


@dataclass(frozen=True, slots=True)
class Precision:
    """How one GPU runs the workload: the formats vLLM would use and the compute rate that applies."""

    dtype: str
    quantization: str
    dense_tflops: float
    notes: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # also in Plan.warnings: the plan runs what the workload did not ask
    fp16_fallback: bool = False  # bf16 asked, fp16 planned (GPU below compute capability 8.0)


def weight_format(workload: Workload, native: str | None) -> str:
    """The weight format served: the workload's choice, else the checkpoint's own."""
    return workload.quantization or native or "none"


def precision_for(workload: Workload, native: str | None, gpu: GpuSpec) -> Precision | str:
    """The formats a GPU runs, or the reason it is refused."""
    cc = gpu.compute_capability or 0.0
    quant = weight_format(workload, native)
    notes: list[str] = []
    dtype, warnings = workload.dtype, ()
    if dtype == "bf16" and cc < BF16_MIN_CC:
        if workload.strict_dtype:
            return (
                f'bf16 refused on {gpu.gpu_name} (compute capability {cc} < 8.0; vLLM: "Bfloat16 is only '
                f'supported on GPUs with compute capability of at least 8.0") and strict_dtype forbids fp16'
            )
        dtype = "fp16"
        warnings = (
            f"{gpu.gpu_name} has no BF16 (compute capability {cc} < 8.0; vLLM refuses --dtype bfloat16 "
            "there): planned as fp16 (--dtype float16, same memory); fp16's narrower range can overflow "
            f"on a bf16-trained checkpoint: check its outputs, or set {opt('strict_dtype', True)} to "
            "refuse such GPUs",
        )
    if workload.kv_cache_dtype == "fp8" and cc < FP8_FAST_CC:
        return f"fp8 KV cache refused on {gpu.gpu_name} (compute capability {cc} < 8.9)"
    needed = MIN_COMPUTE_CAPABILITY.get(quant)  # sizing's floors: FP8 Marlin 7.5, MXFP4 8.0
    if needed is not None and cc < needed:
        why = ", no FP8 Marlin" if quant == "fp8" else ""
        return f"{quant} weights refused on {gpu.gpu_name} (compute capability {cc} < {needed}{why})"
    tflops = gpu.dense_bf16_tflops or gpu.dense_fp16_tflops
    if quant == "fp8" and cc >= FP8_FAST_CC and gpu.dense_fp8_tflops:
        tflops = gpu.dense_fp8_tflops
    elif quant == "fp8":
        notes.append(f"fp8 weights are weight-only (Marlin) on {gpu.gpu_name}: BF16 compute rate")
    return Precision(dtype, quant, tflops, tuple(notes), warnings, dtype != workload.dtype)


class ReplicaSizer:
    """Wraps sizing/ for one workload; every result is cached, so regions and sizes share the work."""

    def __init__(self, workload: Workload, arch) -> None:
        self.workload = workload
        self.arch = arch
        self._estimates: dict[tuple, MemoryEstimate | str] = {}
        self._advice: dict[tuple, UtilizationAdvice] = {}
        self._profiles: dict[tuple, GpuProfile | str] = {}
        self.sizing_calls = 0
        self.calibration: Calibration | None = None
        if workload.calibration_file:
            try:
                self.calibration = load_calibration(workload.calibration_file)
            except SizingError as exc:
                raise SizingError(f"calibration_file: {exc}") from exc

    def calibrated_settings(self, gpu: GpuSpec, memory_gib: float, tp: int, pp: int) -> CalibrationRow | None:
        """A calibration row of this model, GPU and layout in the workload's release: the plan then runs
        with that row's max_num_seqs / max_num_batched_tokens, so the logged figures apply exactly."""
        if self.calibration is None:
            return None
        name = self.profile(gpu, memory_gib).name
        return self.calibration.for_layout(self.arch.hf_id, name, tp, pp, self.workload.vllm_version)

    def profile_error(self, gpu: GpuSpec, memory_gib: float) -> str | None:
        """None when sizing knows the GPU, else why not."""
        key = (gpu.gpu_name, memory_gib)
        if key not in self._profiles:
            try:
                self._profiles[key] = gpu_profile(gpu.gpu_name, memory_gib)
            except SizingError as exc:
                self._profiles[key] = str(exc)
        value = self._profiles[key]
        return value if isinstance(value, str) else None

    def profile(self, gpu: GpuSpec, memory_gib: float) -> GpuProfile:
        """sizing's profile of this GPU, resolved once per run (call after profile_error is None)."""
        return self._profiles[(gpu.gpu_name, memory_gib)]

    def defaults(self, gpu: GpuSpec, memory_gib: float) -> VllmDefaults:
        """`vllm serve` defaults on this GPU for the workload's release (call after profile_error is None)."""
        return vllm_defaults(self.profile(gpu, memory_gib), self.workload.vllm_version, self.arch.is_mla)

    def ceiling_max_num_seqs(self, gpu: GpuSpec, memory_gib: float) -> int:
        """max_num_seqs of the estimate at the ceiling: what one replica carrying the whole workload would be
        given, capped at vLLM's default (more replicas only need less; above the default, advise() checks)."""
        tuned = tuned_max_num_seqs(self.workload.concurrency, self.workload.headroom)
        return min(tuned, self.defaults(gpu, memory_gib).max_num_seqs)

    def weights_lower_bound_gib(self, quant: str) -> float:
        """Every weight at its format's bytes per parameter (sizing's one table, scales included): a lower
        bound, since embeddings, norms and what a format leaves in 16 bit only add to it."""
        return self.arch.total_params * quantized_bytes_per_param(quant, self.arch.quant_group_size) / 2**30

    def cannot_fit(self, quant: str, memory_gib: float, gpus: int) -> bool:
        """Cheap prune: weights alone exceed the layout's memory at the utilization ceiling."""
        return self.weights_lower_bound_gib(quant) / gpus > memory_gib * UTILIZATION_CEILING

    def _input(
        self, gpu: GpuSpec, memory_gib: float, tp: int, pp: int, prec: Precision, **extra
    ) -> SizingInput:
        return SizingInput(
            arch=self.arch,
            gpu=self.profile(gpu, memory_gib),
            tensor_parallel_size=tp,
            pipeline_parallel_size=pp,
            dtype=prec.dtype,
            quantization=prec.quantization,
            kv_cache_dtype=self.workload.kv_cache_dtype,
            max_model_len=self.workload.max_model_len,
            vllm_version=self.workload.vllm_version,
            calibration=self.calibration,
            **extra,
        )

    def at_ceiling(
        self,
        gpu: GpuSpec,
        memory_gib: float,
        tp: int,
        pp: int,
        prec: Precision,
        max_num_seqs: int | None = None,
    ) -> MemoryEstimate | str:
        """The estimate at the utilization ceiling (the most KV a replica can have), or why it is invalid.

        `max_num_seqs` None: ceiling_max_num_seqs (one replica carrying the whole workload)."""
        seqs = max_num_seqs or self.ceiling_max_num_seqs(gpu, memory_gib)
        row = self.calibrated_settings(gpu, memory_gib, tp, pp)
        mnbt = None
        if row is not None and row.quantization == prec.quantization:
            seqs, mnbt = row.max_num_seqs, row.max_num_batched_tokens
        key = (gpu.gpu_name, memory_gib, tp, pp, prec.dtype, prec.quantization, seqs)
        if key not in self._estimates:
            try:
                check_layout(self.arch, tp, pp, quantization=prec.quantization)
                inp = self._input(
                    gpu,
                    memory_gib,
                    tp,
                    pp,
                    prec,
                    gpu_memory_utilization=UTILIZATION_CEILING,
                    max_num_seqs=seqs,
                    max_num_batched_tokens=mnbt,
                )
                self.sizing_calls += 1
                self._estimates[key] = estimate_memory(inp)
            except SizingError as exc:
                self._estimates[key] = f"TP={tp} PP={pp}: {exc}"
        return self._estimates[key]

    def advise(
        self,
        gpu: GpuSpec,
        memory_gib: float,
        tp: int,
        pp: int,
        prec: Precision,
        concurrency: int,
        default_max_num_batched_tokens: int,
    ) -> UtilizationAdvice:
        """The tuned utilization for `concurrency` requests on one replica, with max_num_seqs tuned to them.

        max_num_batched_tokens stays vLLM's default unless max_num_seqs exceeds it: vLLM refuses that
        (SchedulerConfig._verify_args: "max_num_batched_tokens (...) must be greater than or equal to
        max_num_seqs (...)", vllm/config.py), so it is raised to max_num_seqs and the activation peak
        is sized with it (a replica that then does not fit is split by the caller).
        """
        key = (gpu.gpu_name, memory_gib, tp, pp, prec.dtype, prec.quantization, concurrency)
        if key not in self._advice:
            seqs = tuned_max_num_seqs(concurrency, self.workload.headroom)
            mnbt = seqs if seqs > default_max_num_batched_tokens else None
            row = self.calibrated_settings(gpu, memory_gib, tp, pp)
            if row is not None and row.quantization == prec.quantization:
                seqs, mnbt = row.max_num_seqs, row.max_num_batched_tokens
            inp = self._input(gpu, memory_gib, tp, pp, prec, max_num_seqs=seqs, max_num_batched_tokens=mnbt)
            self.sizing_calls += 1
            self._advice[key] = recommend_utilization(
                inp, concurrency, headroom=self.workload.headroom, ceiling=UTILIZATION_CEILING
            )
        return self._advice[key]


def replicas_for_memory(concurrency: int, headroom: float, max_concurrency_per_replica: float) -> int:
    """Fewest replicas whose KV pools hold concurrency x (1 + headroom) requests of max_model_len."""
    if max_concurrency_per_replica <= 0:
        return 0
    return max(1, math.ceil(concurrency * (1 + headroom) / max_concurrency_per_replica - 1e-9))
