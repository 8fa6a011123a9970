"""`llm-advisor throughput`: the planner's step-time model on its own, for one model, GPU and layout."""

from __future__ import annotations

import argparse
import json

JSON_KEYS = (
    "output_tokens_per_s",
    "time_per_output_token_ms",
    "time_to_first_token_ms",
    "batch",
    "bound",
    "prefill_tokens_per_s",
    "input_tokens",
    "output_tokens",
    "concurrency",
)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    p = subparsers.add_parser(
        "throughput",
        help=help_text,
        description="Predict output tokens/s, TPOT and TTFT of one vLLM replica at a fixed concurrency "
        "(the model the planner ranks layouts with; docs/planner.md, 'Throughput and latency').",
    )
    p.add_argument("--model", required=True, help="Hugging Face id, catalog alias or config.json path")
    p.add_argument("--gpu", help="GPU: H100, H200, A100-40GB, A100-80GB, L40S, A10G, L4 ... (engine vllm)")
    p.add_argument("--tp", type=_positive, default=1, help="tensor_parallel_size (default 1)")
    p.add_argument("--pp", type=_positive, default=1, help="pipeline_parallel_size (default 1)")
    p.add_argument("--concurrency", type=_positive, required=True, help="requests in flight")
    p.add_argument("--input-len", type=_positive, required=True, help="mean prompt tokens per request")
    p.add_argument("--output-len", type=_positive, required=True, help="mean generated tokens per request")
    p.add_argument("--quantization", help="weights format (fp8, awq, gptq ...); default: the checkpoint's")
    p.add_argument("--kv-cache-dtype", default="auto", choices=("auto", "fp8"), help="default: auto")
    p.add_argument("--max-model-len", type=_positive, help="default: input + output length")
    p.add_argument("--max-num-batched-tokens", type=_positive, help="default: vLLM's for this GPU")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    from llm_advisor.cli.cpu_cmd import add_llamacpp_flags

    add_llamacpp_flags(p, sizing_only=False)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.engine == "llama.cpp":  # issue 13: one llama-server on a CPU instance
        from llm_advisor.cli.cpu_cmd import throughput_llamacpp

        return throughput_llamacpp(args)
    if not args.gpu:
        raise ValueError("--gpu: throughput --engine vllm needs the GPU (H100, L4 ...); for a CPU instance "
                         "use --engine llama.cpp --instance-type c8g.8xlarge")
    from llm_advisor.planner.one_layout import layout_estimate

    if args.max_model_len is not None and args.input_len + args.output_len > args.max_model_len:
        raise ValueError(
            f"--input-len + --output-len ({args.input_len} + {args.output_len}) exceed --max-model-len "
            f"{args.max_model_len}: shorten them or set --max-model-len {args.input_len + args.output_len}"
        )
    est, shape = layout_estimate(
        args.model,
        args.gpu,
        args.concurrency,
        args.input_len,
        args.output_len,
        tensor_parallel_size=args.tp,
        pipeline_parallel_size=args.pp,
        quantization=args.quantization,
        kv_cache_dtype=args.kv_cache_dtype,
        max_model_len=args.max_model_len,
        max_num_batched_tokens=args.max_num_batched_tokens,
    )
    out = {
        "output_tokens_per_s": est.decode_output_tokens_per_s,
        "time_per_output_token_ms": est.time_per_output_token_ms,
        "time_to_first_token_ms": est.time_to_first_token_ms,
        "batch": est.batch_size,
        "bound": est.bound,
        "prefill_tokens_per_s": est.prefill_tokens_per_s,
        "input_tokens": args.input_len,
        "output_tokens": args.output_len,
        "concurrency": args.concurrency,
        "kv_cache_tokens": shape.kv_cache_tokens,
        "notes": list(est.notes),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{args.model} on {args.tp * args.pp} x {args.gpu} (TP={args.tp} PP={args.pp}), {args.concurrency} "
        f"requests of {args.input_len} in / {args.output_len} out:\n"
        f"  output tokens/s        {est.decode_output_tokens_per_s:,.1f}\n"
        f"  time per output token  {est.time_per_output_token_ms:.1f} ms\n"
        f"  time to first token    {est.time_to_first_token_ms:,.1f} ms\n"
        f"  batch                  {est.batch_size} (KV pool {shape.kv_cache_tokens:,} tokens)\n"
        f"  bound                  {est.bound}"
    )
    for note in est.notes:
        print(f"  note: {note}")
    return 0
