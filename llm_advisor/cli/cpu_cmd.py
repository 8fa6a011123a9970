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


def plan_cpu_from_args(args: argparse.Namespace, workload):  # -> CpuPlan
    """The cheapest CPU plan on the CPU catalog of --pricing (live -> cache -> snapshot, as GPU offers);
    its warnings go to stderr before the plan."""
    from llm_advisor.cli.options_cli import values_from_args
    from llm_advisor.planner.cpu import plan_cpu
    from llm_advisor.planner.models import PlanOptions
    from pricing.cpu_live import load_cpu_catalog

    mode = PlanOptions.model_validate(values_from_args(args, PlanOptions)).pricing
    catalog = load_cpu_catalog(workload.regions, mode)
    print_warnings(list(catalog.warnings))
    return plan_cpu(workload, instances=catalog.instances)


def _gpu(args: argparse.Namespace):
    from llm_advisor.planner.errors import NoFeasibleLayout

    try:
        return plan_from_args(args), None
    except NoFeasibleLayout as exc:
        return None, str(exc)


def compare_engines(args: argparse.Namespace, cpu, cpu_why: str | None):  # -> (choice, GPU plan, why not)
    """The cheapest GPU plan for the same flags, and the planner's choice between it and `cpu`
    (planner.cpu.choose_engine): what `plan --engine auto` reports and `render --engine auto` renders."""
    from llm_advisor.planner.cpu import choose_engine

    gpu, gpu_why = _gpu(args)
    choice = choose_engine(cpu, cpu_why,
                           gpu.cost.usd_per_hour if gpu else None,
                           gpu.throughput.time_per_output_token_ms if gpu else None, gpu_why)
    return choice, gpu, gpu_why


def handle_engine(args: argparse.Namespace) -> int:
    from llm_advisor.planner.errors import NoFeasibleLayout

    workload = workload_from_args(args)
    try:
        cpu, cpu_why = plan_cpu_from_args(args, workload), None
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
    choice, gpu, gpu_why = compare_engines(args, cpu, cpu_why)
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


# ---- `size --engine llama.cpp` and `throughput --engine llama.cpp` --------------------------------------
def add_llamacpp_flags(p: argparse.ArgumentParser, sizing_only: bool) -> None:
    """The llama.cpp flags `size` and `throughput` share (the plan's own spellings)."""
    from sizing.gguf import CACHE_TYPES, GGUF_TYPES

    p.add_argument("--engine", choices=("vllm", "llama.cpp"), default="vllm",
                   help="vllm (GPU, default) or llama.cpp (GGUF on a CPU instance)")
    p.add_argument("--gguf-type", choices=GGUF_TYPES, default="Q4_K_M",
                   help="llama.cpp: GGUF file type (default Q4_K_M)")
    p.add_argument("--gguf-cache-type", choices=CACHE_TYPES, default="f16",
                   help="llama.cpp: KV cache type, --cache-type-k/-v (default f16)")
    p.add_argument("--instance-type", help="llama.cpp: the CPU instance (e.g. c8g.8xlarge)"
                   + ("; size: also says whether it fits" if sizing_only else ""))


def _gguf_file_line(model: str, gguf_type: str) -> str:
    from sizing.errors import SizingError
    from sizing.gguf_files import gguf_file

    try:
        f = gguf_file(model, gguf_type)
        return f"  GGUF file: {f.repo} / {f.file}"
    except SizingError as exc:
        return f"  GGUF file: none known ({exc})"


def size_llamacpp(args: argparse.Namespace) -> int:
    """Memory of llama-server for the model at --gguf-type (sizing/gguf.py), and the fit on
    --instance-type when given. Exit 1 when it does not fit."""
    from pricing.cpu import cpu_instance
    from sizing import load_model
    from sizing.gguf import estimate_gguf_memory, usable_ram_gib

    arch = load_model(args.model)
    parallel = args.concurrency or 1
    ctx = (args.max_model_len or arch.max_position_embeddings) * parallel
    mem = estimate_gguf_memory(arch, args.gguf_type, ctx_size=ctx, parallel=parallel,
                               cache_type=args.gguf_cache_type)
    fits = None
    inst = cpu_instance(args.instance_type) if args.instance_type else None
    if inst is not None:
        fits = mem.total_gib <= usable_ram_gib(inst.memory_gib)
    if args.json:
        doc = mem.model_dump(mode="json")
        if inst is not None:
            doc.update(instance_type=inst.instance_type, usable_ram_gib=usable_ram_gib(inst.memory_gib),
                       fits=fits)
        print(json.dumps(doc, indent=2))
    else:
        lines = [
            f"llama.cpp memory for {arch.hf_id} (GGUF {mem.gguf_type}, KV {mem.cache_type}, --ctx-size "
            f"{mem.ctx_size}, --parallel {mem.parallel})",
            f"  weights {mem.weights_gib:.2f} GiB ({mem.bits_per_weight:.2f} bits/weight), KV cache "
            f"{mem.kv_cache_gib:.2f} GiB ({mem.kv_bytes_per_token:,} bytes/token), compute buffers "
            f"{mem.compute_buffer_gib:.2f} GiB: total {mem.total_gib:.2f} GiB",
            _gguf_file_line(arch.hf_id, mem.gguf_type),
        ]
        if inst is not None:
            usable = usable_ram_gib(inst.memory_gib)
            lines.append(f"  {inst.instance_type}: {usable:.1f} GiB usable of {inst.memory_gib:g} GiB: "
                         + ("fits" if fits else f"does not fit (short by {mem.total_gib - usable:.1f} GiB); "
                            "use a smaller --gguf-type, a shorter --max-model-len or a larger instance"))
        print("\n".join(lines))
    return 0 if fits in (None, True) else 1


def throughput_llamacpp(args: argparse.Namespace) -> int:
    """One llama-server on --instance-type with --concurrency slots: step time, TTFT and tokens/s from
    the calibrated CPU model (llm_advisor/planner/cpu.py cpu_timing)."""
    from llm_advisor.planner.cpu import cpu_timing
    from pricing.cpu import cpu_instance
    from sizing import load_model
    from sizing.gguf import check_gguf_arch, estimate_gguf_memory, usable_ram_gib

    if not args.instance_type:
        raise ValueError("--instance-type: throughput --engine llama.cpp needs the CPU instance, e.g. "
                         "--instance-type c8g.8xlarge")
    inst = cpu_instance(args.instance_type)
    arch = load_model(args.model)
    check_gguf_arch(arch)
    ctx_len = args.max_model_len or args.input_len + args.output_len
    mem = estimate_gguf_memory(arch, args.gguf_type, ctx_size=ctx_len * args.concurrency,
                               parallel=args.concurrency, cache_type=args.gguf_cache_type)
    usable = usable_ram_gib(inst.memory_gib)
    if mem.total_gib > usable:
        raise ValueError(
            f"--instance-type {inst.instance_type}: {mem.total_gib:.1f} GiB needed, {usable:.1f} GiB usable; "
            "use a smaller --gguf-type, fewer --concurrency slots or a larger instance"
        )
    t = cpu_timing(inst, mem, arch, args.concurrency, args.input_len, args.output_len)
    if args.json:
        print(json.dumps({"instance_type": inst.instance_type, "gguf_type": mem.gguf_type,
                          "parallel": args.concurrency, "threads": inst.physical_cores,
                          **t.model_dump(mode="json"), "memory_gib": mem.total_gib}, indent=2))
        return 0
    print("\n".join([
        f"llama.cpp throughput of {arch.hf_id} (GGUF {mem.gguf_type}) on {inst.instance_type} "
        f"({inst.processor}, {inst.physical_cores} threads, {inst.memory_bandwidth_gb_s:.0f} GB/s)",
        f"  --parallel {args.concurrency}: {t.time_per_output_token_ms:.1f} ms per output token "
        f"({t.bound}-bound), TTFT ~{t.time_to_first_token_ms:,.0f} ms for {args.input_len} prompt tokens",
        f"  ~{t.output_tokens_per_s:,.1f} output tokens/s for the instance; memory {mem.total_gib:.2f} GiB "
        f"of {usable:.1f} GiB usable",
    ]))
    return 0
