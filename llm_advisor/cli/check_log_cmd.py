"""`llm-advisor check-log FILE`: a real vLLM startup log, sized with the same settings, line by line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    p = subparsers.add_parser(
        "check-log",
        help=help_text,
        description="Parse a vLLM startup log (0.2-0.34), size the settings it echoes and print predicted vs "
        "logged per figure, and the gpu_memory_utilization that gives a KV target on that GPU.",
    )
    p.add_argument("file", help="the log: output of `vllm serve` / LLM(...) up to the KV cache lines")
    p.add_argument("--gpu", help="GPU the log ran on (logs rarely name it); default: from the logged total")
    p.add_argument("--gpu-memory-gib", type=float, help="AWS per-GPU memory; picks A100 40/80, V100 16/32")
    p.add_argument(
        "--model", help="catalog id or config.json path when the log's model is not in the catalog"
    )
    p.add_argument("--vllm-version", help="release when the log does not print it")
    p.add_argument(
        "--target-kv-tokens",
        type=int,
        help="KV tokens wanted; default: one request of the log's max_model_len",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--write-calibration",
        metavar="FILE",
        help="append the log's weights, non-KV memory and KV tokens as a calibration row (CSV; created "
        "if missing, a row of the same settings replaced) for plan/render --calibration-file",
    )
    p.set_defaults(handler=run)


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read log {path}: {exc.strerror}") from exc
    if b"\x00" in data[:65536]:
        raise ValueError(f"{path} is a binary file, not a text log")
    return data.decode("utf-8", errors="replace")


def run(args: argparse.Namespace) -> int:
    from sizing import SizingError, SizingInput, estimate_memory, gpu_profile, known_gpus, load_model
    from sizing.startup_log import compare, parse_startup_log, utilization_for_kv

    log = parse_startup_log(_read(Path(args.file)), source=args.file)
    model = args.model or log.model
    if not model:
        raise SizingError(f"{args.file} does not echo the model; pass --model")
    version = args.vllm_version or log.vllm_version
    if not version:
        raise SizingError(f"{args.file} does not print the vLLM release; pass --vllm-version X.Y[.Z]")
    if args.gpu:
        gpu = gpu_profile(args.gpu, args.gpu_memory_gib)
    elif log.total_gpu_memory_gib:
        total = log.total_gpu_memory_gib
        gpu = gpu_profile(min(known_gpus(), key=lambda n: abs(gpu_profile(n).total_memory_gib - total)))
    else:
        raise SizingError(f"{args.file} does not say which GPU it ran on; pass --gpu (H100, A10G, L4 ...)")
    quant = log.quantization if log.quantization in ("fp8", "awq", "gptq", "int8", "mxfp4") else None
    inp = SizingInput(
        arch=load_model(model),
        gpu=gpu,
        tensor_parallel_size=log.tensor_parallel_size,
        pipeline_parallel_size=log.pipeline_parallel_size,
        quantization=quant,
        kv_cache_dtype="fp8" if "fp8" in log.kv_cache_dtype else "auto",
        max_model_len=log.max_model_len,
        max_num_batched_tokens=log.max_num_batched_tokens,
        max_num_seqs=log.max_num_seqs,
        gpu_memory_utilization=log.gpu_memory_utilization,
        block_size=log.block_size,
        enforce_eager=log.enforce_eager,
        vllm_version=version,
    )
    est = estimate_memory(inp)
    checks = compare(log, est)
    written = None
    if args.write_calibration:
        from sizing.calibration import append_calibration, row_from_log

        row = row_from_log(log, est, source=Path(args.file).name)
        append_calibration(args.write_calibration, row)
        written = f"calibration row written to {args.write_calibration}: {row.describe()}"
    target = args.target_kv_tokens or est.max_model_len
    util = utilization_for_kv(log, est, target)
    if args.json:
        print(
            json.dumps(
                {
                    "model": est.model,
                    "gpu": est.gpu,
                    "vllm_version": est.vllm_version,
                    "tensor_parallel_size": est.tensor_parallel_size,
                    "pipeline_parallel_size": est.pipeline_parallel_size,
                    "max_model_len": est.max_model_len,
                    "gpu_memory_utilization": est.gpu_memory_utilization,
                    "figures": [
                        {
                            "figure": c.figure,
                            "logged": c.logged,
                            "predicted": c.predicted,
                            "error_pct": c.error_pct,
                            "line": c.line,
                        }
                        for c in checks
                    ],
                    "target_kv_tokens": target,
                    "gpu_memory_utilization_for_target": util,
                    "notes": list(est.notes),
                    "calibration_written": written,
                },
                indent=2,
            )
        )
        return 0
    print(
        f"{est.model} on {est.gpu}, vLLM {est.vllm_version}, TP{est.tensor_parallel_size} "
        f"PP{est.pipeline_parallel_size}, max_model_len {est.max_model_len}, "
        f"gpu_memory_utilization {est.gpu_memory_utilization:.2f}"
    )
    print(f"{'figure':22s} {'line':>6s} {'logged':>12s} {'predicted':>12s} {'error':>8s}")
    for c in checks:
        err = f"{c.error_pct:+7.1f}%" if c.error_pct is not None else "     n/a"
        fmt = ",.0f" if c.figure in ("kv_cache_tokens", "gpu_blocks") else ".2f"
        print(
            f"{c.figure:22s} {c.line or '-':>6} {format(c.logged, fmt):>12s} "
            f"{format(c.predicted or 0, fmt):>12s} {err}"
        )
    if util is None:
        print("gpu_memory_utilization for the target: the log has no KV GiB figure to work from")
    else:
        ok = "" if util <= 1 else " (more than the GPU holds)"
        print(f"gpu_memory_utilization for {target:,} KV tokens on this GPU: {util:.3f}{ok}")
    for note in est.notes:
        print(f"note: {note}")
    if written:
        print(written)
    return 0
