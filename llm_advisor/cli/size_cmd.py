"""`python -m advisor size`: per-GPU vLLM memory for one model, GPU and layout, and a tuned utilization."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from llm_advisor.cli.options_cli import add_options

JSON_KEYS = (
    "weights_gib",
    "activation_peak_gib",
    "non_torch_gib",
    "cudagraph_gib",
    "kv_cache_gib",
    "kv_bytes_per_token",
    "kv_cache_tokens",
    "max_concurrency",
    "total_gpu_memory_gib",
    "gpu_memory_utilization",
    "budget_gib",
    "fits",
)
BAR_WIDTH = 60


def register(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    p = subparsers.add_parser(
        "size",
        help=help_text,
        description="Predict what vLLM allocates per GPU for a model on a GPU and layout.",
    )
    from llm_advisor.planner.models import Workload

    # The options it shares with `plan` come from the Workload's fields; max_model_len and concurrency have
    # size's own meaning when unset.
    add_options(
        p, Workload, fill_defaults=True,
        only=("model", "dtype", "quantization", "kv_cache_dtype", "max_model_len", "concurrency", "headroom",
              "vllm_version"),
        without_default={"max_model_len": "default: the model's max_position_embeddings",
                         "concurrency": "unset: no utilization tuning; set: the smallest utilization that "
                         "holds it"},
    )
    p.add_argument("--gpu", help="GPU as AWS names it (H100, A10G, L4, A100 ...) or RTX 4090 (engine vllm)")
    p.add_argument("--gpu-memory-gib", type=float,
                   help="AWS per-GPU memory; picks A100 40/80, V100 16/32 or a g6f L4 slice; another size "
                        "needs --custom-gpu")
    p.add_argument("--custom-gpu", action="store_true",
                   help="--gpu-memory-gib is a GPU variant AWS does not sell (a MIG slice, another card): "
                        "the named GPU's figures are scaled to that memory")
    p.add_argument("--tp", type=int, default=1, help="tensor_parallel_size (default 1)")
    p.add_argument("--pp", type=int, default=1, help="pipeline_parallel_size (default 1)")
    p.add_argument("--max-num-batched-tokens", type=int, help="default: vLLM's for this GPU and release")
    p.add_argument("--max-num-seqs", type=int, help="default: vLLM's for this GPU and release")
    p.add_argument("--gpu-memory-utilization", type=float,
                   help="default: 0.9 (0.92 from vLLM 0.20, 1.0 from 0.34)")
    p.add_argument(
        "--block-size",
        type=int,
        help="1, 8, 16, 32, 64 or 128; default: 16, 64 from vLLM 0.34 (64/128 for MLA on Hopper/Blackwell)",
    )
    p.add_argument("--enforce-eager", action="store_true",
                   help="vLLM runs without CUDA graphs: no graph memory is charged")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    from llm_advisor.cli.cpu_cmd import add_llamacpp_flags

    add_llamacpp_flags(p, sizing_only=True)
    p.set_defaults(handler=run)


def _check_positive(args: argparse.Namespace) -> None:
    from sizing import SizingError

    for flag in (
        "tp",
        "pp",
        "max_model_len",
        "max_num_batched_tokens",
        "max_num_seqs",
        "block_size",
        "concurrency",
    ):
        value = getattr(args, flag)
        if value is not None and value < 1:
            name = "--" + flag.replace("_", "-")
            raise SizingError(
                f"{name} must be a positive integer (got {value}); e.g. {name} "
                f"{8192 if 'len' in flag or 'tokens' in flag else 1}"
            )
    util = args.gpu_memory_utilization
    if util is not None and not 0 < util <= 1:
        raise SizingError(f"--gpu-memory-utilization must be in (0, 1] (got {util}); vLLM's default is 0.9")


def run(args: argparse.Namespace) -> int:
    if args.engine == "llama.cpp":  # issue 13: GGUF on a CPU instance
        from llm_advisor.cli.cpu_cmd import size_llamacpp

        return size_llamacpp(args)
    if not args.gpu:
        raise ValueError("--gpu: size --engine vllm needs the GPU (H100, A10G, L4 ...); for a CPU instance "
                         "use --engine llama.cpp --gguf-type Q4_K_M")
    from sizing import (
        SizingError,
        SizingInput,
        estimate_memory,
        gpu_profile,
        load_model,
        recommend_utilization,
    )

    _check_positive(args)
    memory = args.gpu_memory_gib
    if memory is not None and not (math.isfinite(memory) and memory > 0):
        raise SizingError(f"--gpu-memory-gib must be a positive number of GiB (got {memory}); e.g. 80 for an "
                          "A100 80GB")
    gpu = gpu_profile(args.gpu, memory)
    if args.gpu_memory_gib is not None and not args.custom_gpu:
        _check_real_variant(args.gpu, args.gpu_memory_gib, gpu)
    inp = SizingInput(
        arch=load_model(args.model),  # names resolved once, here at the edge
        gpu=gpu,
        tensor_parallel_size=args.tp,
        pipeline_parallel_size=args.pp,
        dtype=args.dtype,
        quantization=args.quantization,
        kv_cache_dtype=args.kv_cache_dtype,
        max_model_len=args.max_model_len,
        max_num_batched_tokens=args.max_num_batched_tokens,
        max_num_seqs=args.max_num_seqs,
        gpu_memory_utilization=args.gpu_memory_utilization,
        block_size=args.block_size,
        enforce_eager=args.enforce_eager,
        vllm_version=args.vllm_version,
    )
    estimate = estimate_memory(inp)
    advice = None
    if args.concurrency is not None:
        advice = recommend_utilization(inp, args.concurrency, headroom=args.headroom)
    serving = _serving(inp.arch, estimate.quantization)
    if args.json:
        print(json.dumps(_as_json(estimate, advice) | serving, indent=2))
    else:
        print(_as_text(estimate, advice, _formats(inp, estimate)))
        print(_serving_line(serving))
    return _exit_status(estimate, advice)


def _exit_status(est: Any, advice: Any) -> int:
    """0 when the layout fits (and holds --concurrency when given); else one error line and exit 2, the
    status of a workload that fits nowhere (README "Exit codes"), after the full report: a script reads
    `fits` from --json or the status, a person reads the shortfall."""
    import sys

    if est.fits and (advice is None or advice.fits):
        return 0
    sys.stdout.flush()
    if not est.fits:
        print(f"error: {est.model} does not fit on {est.gpu} at TP={est.tensor_parallel_size} "
              f"PP={est.pipeline_parallel_size}: short by {_shortfall_gib(est):.2f} GiB per GPU for one "
              f"{est.max_model_len}-token request; try a larger --tp/--pp, a larger GPU, quantization or a "
              "smaller --max-model-len", file=sys.stderr)
    else:
        print(f"error: {advice.concurrency} x {est.max_model_len}-token requests do not fit at utilization "
              f"{advice.ceiling:.2f}: short by {advice.shortfall_gib:.2f} GiB per GPU; try a larger --tp, "
              "--kv-cache-dtype fp8, quantization or a lower --concurrency", file=sys.stderr)
    return 2


def _shortfall_gib(est: Any) -> float:
    """GiB per GPU missing for one max_model_len request's KV (the KV pool may be negative: weights and
    the rest already exceed the budget)."""
    need = est.kv_bytes_per_token * est.max_model_len / 2**30
    return max(0.0, need - est.kv_cache_gib)


# A memory size matches a variant within 2 %: the tolerance sizing.gpus applies before scaling a profile.
VARIANT_TOLERANCE = 0.02


def real_variants(gpu: Any) -> list[float]:
    """Per-GPU memory sizes (GiB, as AWS MemoryInfo reports them) this GPU is sold in: the GPU table's rows
    of its AWS name (A100 40/80, V100 16/32) and the snapshot's instance types (g6f/gr6f L4 slices)."""
    from pricing.snapshot import instance_catalog
    from sizing.gpus import gpu_table

    if not gpu.aws_name:
        return [round(gpu.total_memory_gib, 2)]
    sizes = {row.aws_memory_gib for row in gpu_table() if row.aws_name == gpu.aws_name and row.aws_memory_gib}
    sizes |= {i.gpu_memory_gib for i in instance_catalog() if i.gpu_name == gpu.aws_name}
    return sorted(round(x, 2) for x in sizes)


def _check_real_variant(name: str, memory_gib: float, gpu: Any) -> None:
    from sizing import SizingError

    sizes = real_variants(gpu)
    if any(abs(memory_gib - s) <= VARIANT_TOLERANCE * s for s in sizes):
        return
    raise SizingError(f"--gpu-memory-gib {memory_gib:g}: no {name} variant has that memory (sold as "
                      f"{', '.join(f'{s:g}' for s in sizes)} GiB); pass one of those, or add --custom-gpu to "
                      "size a variant AWS does not sell")


def _serving(arch: Any, quantization: str) -> dict[str, Any]:
    """The repo `vllm serve` loads for these weights and the --quantization it needs (sizing/checkpoints)."""
    from sizing import SizingError, load_time_quantization, quantized_checkpoint

    out: dict[str, Any] = {"served_model": arch.hf_id, "vllm_quantization": None, "serving_note": None}
    if arch.is_local_config:
        out.update(
            served_model=None,
            serving_note="a config.json path: vLLM needs the Hugging Face repo it came from",
        )
    try:
        out["vllm_quantization"] = load_time_quantization(arch, quantization)
    except SizingError as exc:
        other = quantized_checkpoint(arch, quantization)
        out.update(served_model=other, serving_note=None if other else str(exc))
    return out


def _serving_line(serving: dict[str, Any]) -> str:
    if serving["served_model"] is None:
        return f"serve: no repo known ({serving['serving_note']})"
    flag = f" --quantization {serving['vllm_quantization']}" if serving["vllm_quantization"] else ""
    when = " (quantized at load time)" if flag else ""
    return f"serve: vllm serve {serving['served_model']}{flag}{when}"


QUANT_LABELS = {
    "fp8": "fp8",
    "int8": "int8",
    "awq": "awq int4",
    "gptq": "gptq int4",
    "bnb4": "bitsandbytes nf4",
    "mxfp4": "mxfp4",
}


def _formats(inp: Any, est: Any) -> tuple[str, str]:
    """(weights, KV cache) formats as vLLM will run them, e.g. ("bf16 weights", "bf16 KV cache")."""
    gpu = inp.gpu
    dtype = inp.dtype if float(gpu.compute_capability) >= 8.0 else "fp16"  # no bf16 before Ampere
    kv = "fp8 KV cache" if est.kv_cache_dtype == "fp8" else f"{dtype} KV cache"
    if est.quantization == "none":
        return f"{dtype} weights", kv
    label = QUANT_LABELS.get(est.quantization, est.quantization)
    if inp.quantization is None and inp.arch.quantization == est.quantization:
        return f"{label} (checkpoint)", kv
    return f"{label} weights", kv


def _as_json(est: Any, advice: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "model": est.model,
        "gpu": est.gpu,
        "vllm_version": est.vllm_version,
        "tensor_parallel_size": est.tensor_parallel_size,
        "pipeline_parallel_size": est.pipeline_parallel_size,
    }
    for key in JSON_KEYS:
        value = getattr(est, key)
        out[key] = round(value, 4) if isinstance(value, float) else value
    # A budget already exceeded by the weights leaves no KV pool, not a negative one: kv_cache_gib is
    # never below 0; memory_shortfall_gib says how much is missing for one max_model_len request.
    out["kv_cache_gib"] = max(0.0, out["kv_cache_gib"])
    out["memory_shortfall_gib"] = 0.0 if est.fits else round(_shortfall_gib(est), 3)
    out.update(
        quantization=est.quantization,
        kv_cache_dtype=est.kv_cache_dtype,
        max_model_len=est.max_model_len,
        max_num_batched_tokens=est.max_num_batched_tokens,
        max_num_seqs=est.max_num_seqs,
        block_size=est.block_size,
        num_gpu_blocks=est.num_gpu_blocks,
        notes=list(est.notes),
    )
    if advice is not None:
        out.update(
            recommended_gpu_memory_utilization=advice.recommended_gpu_memory_utilization,
            concurrency=advice.concurrency,
            headroom=advice.headroom,
            required_kv_tokens=advice.required_kv_tokens,
            fits_at_ceiling=advice.fits,
            shortfall_gib=round(advice.shortfall_gib, 3),
        )
    return out


def _bar(est: Any) -> str:
    """One character per 1/60 of the GPU: W weights, A activation, N non-torch, G graphs, K KV, . unused."""
    total = est.total_gpu_memory_gib
    graphs_inside = not any("CUDA graphs" in note for note in est.notes)
    parts = [("W", est.weights_gib), ("A", est.activation_peak_gib), ("N", est.non_torch_gib)]
    if graphs_inside:
        parts.append(("G", est.cudagraph_gib))
    parts.append(("K", max(0.0, est.kv_cache_gib)))
    if not graphs_inside:
        parts.append(("G", est.cudagraph_gib))
    bar = "".join(ch * round(BAR_WIDTH * gib / total) for ch, gib in parts)[:BAR_WIDTH]
    return "[" + bar.ljust(BAR_WIDTH, ".") + "]"


def _as_text(est: Any, advice: Any, formats: tuple[str, str]) -> str:
    budget = est.gpu_memory_utilization * est.total_gpu_memory_gib
    capped = est.budget_gib is not None and est.budget_gib < budget - 1e-9
    cap = (
        f", capped at {est.budget_gib:.2f} GiB (free at start-up less the extensible KV cache's margin)"
        if capped
        else ""
    )
    lines = [
        f"{est.model} on {est.gpu}, TP={est.tensor_parallel_size} PP={est.pipeline_parallel_size}, "
        f"vLLM {est.vllm_version}, {formats[0]}, {formats[1]}",
        f"per GPU: {est.total_gpu_memory_gib:.2f} GiB (CUDA total) x {est.gpu_memory_utilization:.2f} "
        f"= {budget:.2f} GiB budget{cap}",
        f"  {'weights':<22}{est.weights_gib:9.2f} GiB",
        f"  {'activation peak':<22}{est.activation_peak_gib:9.2f} GiB  (max_num_batched_tokens "
        f"{est.max_num_batched_tokens}, max_num_seqs {est.max_num_seqs})",
        f"  {'non-torch':<22}{est.non_torch_gib:9.2f} GiB",
        f"  {'CUDA graphs':<22}{est.cudagraph_gib:9.2f} GiB",
        f"  {'KV cache':<22}{max(0.0, est.kv_cache_gib):9.2f} GiB  ({est.kv_bytes_per_token:,} B/token, "
        f"block {est.block_size}, {est.num_gpu_blocks:,} blocks"
        + (f"; short by {_shortfall_gib(est):.2f} GiB" if not est.fits else "") + ")",
        f"  {'KV tokens':<22}{est.kv_cache_tokens:>9,}",
        f"  {'max concurrency':<22}{est.max_concurrency:9.2f} x {est.max_model_len}-token requests"
        f"  -> {'fits' if est.fits else 'DOES NOT FIT: vLLM refuses to start'}",
        "  " + _bar(est) + "  W weights A activation N non-torch G graphs K KV",
    ]
    if advice is not None:
        if advice.fits:
            lines.append(
                f"recommended --gpu-memory-utilization {advice.recommended_gpu_memory_utilization:.2f} "
                f"for {advice.concurrency} x {est.max_model_len} tokens + {advice.headroom:.0%} headroom"
            )
        else:
            lines.append(
                f"{advice.concurrency} x {est.max_model_len} tokens + {advice.headroom:.0%} headroom "
                f"does not fit at utilization {advice.ceiling:.2f}: short by {advice.shortfall_gib:.2f} "
                "GiB per GPU (try a larger TP, --kv-cache-dtype fp8 or quantization)"
            )
    lines.extend(f"note: {note}" for note in est.notes)
    return "\n".join(lines)
