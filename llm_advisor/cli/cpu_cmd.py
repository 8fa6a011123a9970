"""`plan --engine llama.cpp|auto`: the cheapest CPU plan (llama.cpp + GGUF), and the comparison with the
cheapest GPU plan (issue 13). `plan --engine vllm` (the default) stays in plan_cmd.py.
"""

from __future__ import annotations

import argparse
import json
import sys

from llm_advisor.cli.plan_cmd import plan_from_args, print_warnings, report, workload_from_args


def cpu_report(cpu) -> str:
    i, m, t = cpu.instance, cpu.memory, cpu.timing
    bound = ("none (batch)" if cpu.max_time_per_output_token_ms is None
             else f"{cpu.max_time_per_output_token_ms:g} ms per output token")
    return "\n".join([
        f"CPU plan for {cpu.model} (llama.cpp, GGUF {cpu.gguf_type}, KV {cpu.cache_type})",
        f"  {cpu.replicas} x {i.instance_type} in {i.region}, on-demand ({i.processor}, {i.vcpus} vCPUs, "
        f"{i.memory_gib:g} GiB, {i.memory_bandwidth_gb_s:.0f} GB/s share of memory bandwidth)",
        f"  llama-server --threads {cpu.threads} --threads-batch {cpu.threads} --parallel {cpu.parallel} "
        f"--ctx-size {cpu.ctx_size} --cache-type-k {cpu.cache_type} --cache-type-v {cpu.cache_type}",
        f"  memory {m.total_gib:.2f} GiB of {cpu.usable_ram_gib:.1f} GiB usable: "
        f"weights {m.weights_gib:.2f} ({m.bits_per_weight:.2f} bits/weight), KV {m.kv_cache_gib:.2f}, "
        f"compute {m.compute_buffer_gib:.2f}",
        f"  throughput ~{cpu.total_output_tokens_per_s:,.1f} output tokens/s total, "
        f"{t.time_per_output_token_ms:.1f} ms/token ({t.bound}-bound), "
        f"TTFT ~{t.time_to_first_token_ms:,.0f} ms",
        f"  cost ${cpu.usd_per_hour:,.2f}/h on-demand"
        + (f", ${cpu.usd_per_million_output_tokens:,.3f} per million output tokens"
           if cpu.usd_per_million_output_tokens else ""),
        f"  latency bound: {bound}",
        f"  prices: bundled snapshot as of {i.price_as_of} (no spot prices for CPU instances yet)",
    ])


def _gpu(args: argparse.Namespace):
    from llm_advisor.planner.errors import NoFeasibleLayout

    try:
        return plan_from_args(args), None
    except NoFeasibleLayout as exc:
        return None, str(exc)


def handle_engine(args: argparse.Namespace) -> int:
    from llm_advisor.planner.cpu import choose_engine, plan_cpu
    from llm_advisor.planner.errors import NoFeasibleLayout

    workload = workload_from_args(args)
    try:
        cpu, cpu_why = plan_cpu(workload), None
    except NoFeasibleLayout as exc:
        if workload.engine == "llama.cpp":  # the nearest option includes the GPU plan and its cost
            gpu, _ = _gpu(args)
            if gpu is not None:
                exc.args = (f"{exc}; GPU (--engine vllm): {gpu.placement.instance_count} x "
                            f"{gpu.placement.instance_type} at ${gpu.cost.usd_per_hour:.2f}/h",)
            raise
        cpu, cpu_why = None, str(exc)
    if workload.engine == "llama.cpp":
        if args.json:
            print(json.dumps(cpu.model_dump(mode="json"), indent=2))
        else:
            print(cpu_report(cpu))
        return 0
    gpu, gpu_why = _gpu(args)
    choice = choose_engine(cpu, cpu_why,
                           gpu.cost.usd_per_hour if gpu else None,
                           gpu.throughput.time_per_output_token_ms if gpu else None, gpu_why)
    if args.json:
        doc = choice.model_dump(mode="json")
        doc["gpu"] = gpu.model_dump(mode="json") if gpu else None
        print(json.dumps(doc, indent=2))
        return 0
    if gpu is not None:
        print_warnings(gpu.warnings)
    lines = [f"Engine: {choice.chosen} -- {choice.reason}", ""]
    lines += [cpu_report(cpu) if cpu else f"CPU (llama.cpp): none -- {cpu_why}", ""]
    lines += [report(gpu) if gpu else f"GPU (vLLM): none -- {gpu_why}"]
    print("\n".join(lines))
    sys.stdout.flush()
    return 0
