"""`python -m advisor plan`: the cheapest layout for a workload, as a readable report or the Plan as JSON.

`add_workload_arguments`, `workload_from_args` and `plan_from_args` are reused by `advisor render`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from llm_advisor.cli.options_cli import add_options, values_from_args

# planner.plan pulls in pricing and boto3: imported inside the functions, so `--help` and `size` stay fast.
if TYPE_CHECKING:
    from llm_advisor.planner.models import Plan, Workload

BAR_WIDTH = 50
REGION_HELP = ("default: $AWS_REGION, else $AWS_DEFAULT_REGION, else the AWS profile's region, else "
               "us-east-1")


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """The workload and planning flags of `plan` (and `render`), derived from the planner models' fields."""
    from llm_advisor.planner.models import PlanOptions, Workload

    add_options(parser, Workload, without_default={"regions": REGION_HELP})
    add_options(parser, PlanOptions)


def workload_from_args(args: argparse.Namespace) -> Workload:
    from llm_advisor.cli.region import resolve_regions
    from llm_advisor.planner.models import Workload

    values = values_from_args(args, Workload)
    values["regions"] = resolve_regions(values.get("regions"))  # flags, AWS_REGION, ... (cli/region.py)
    if getattr(args, "hf_token_secret_id", None) is not None:  # render: the token the pods will read
        values["has_hf_token"] = True
    if values.get("served_model") is not None:
        from templates.common import check_served_model

        check_served_model(values["served_model"])  # at plan time, as render checks it (ORG/NAME form)
    return Workload.model_validate(values)


def plan_from_args(args: argparse.Namespace) -> Plan:
    """Load the catalog for the workload's regions (--pricing) and plan."""
    from llm_advisor.planner import make_plan
    from llm_advisor.planner.errors import NoFeasibleLayout
    from llm_advisor.planner.models import PlanOptions
    from pricing import load_priced_catalog

    workload = workload_from_args(args)
    options = PlanOptions.model_validate(values_from_args(args, PlanOptions))
    catalog = load_priced_catalog(workload.regions, pricing=options.pricing)
    try:
        plan = make_plan(
            workload,
            catalog,
            previous_instance_type=options.previous_instance_type,
            churn_threshold=options.churn_threshold,
        )
    except NoFeasibleLayout as exc:
        # The plan's warnings would have carried the catalog's (a fallback to the snapshot, a dropped
        # price): the CLI edge says them after the error line, since they may be why nothing fits.
        exc.warnings = catalog.warnings  # type: ignore[attr-defined]
        raise
    return with_capacity_blocks(plan, workload, catalog, options.pricing)


def with_capacity_blocks(plan: Plan, workload: Workload, catalog, pricing_mode: str, clients=None) -> Plan:
    """The edge of issue 10 item 7: fetch Capacity Block offerings for the plan's layout (live or cached;
    none with --pricing snapshot, said once) and hand them to the pure planner step."""
    from llm_advisor.planner.capacity_block import apply_capacity_blocks, block_request
    from pricing import PricingError
    from pricing.capacity_blocks import SNAPSHOT_NOTE, load_capacity_blocks, make_query, no_offering_error

    request = block_request(workload, plan)
    if request is None:
        return plan
    asked = workload.capacity == "capacity-block"
    if asked and pricing_mode == "snapshot":
        raise PricingError(f"--capacity capacity-block: {SNAPSHOT_NOTE}")
    try:
        query = make_query(request.instance_type, request.instance_count, request.hours,
                           request.start_after, request.end_before)
    except PricingError as exc:
        if asked:
            raise
        return plan.model_copy(update={"warnings": (*plan.warnings, f"no Capacity Block looked up: {exc}")})
    result = load_capacity_blocks(query, request.region, pricing_mode, clients=clients)  # type: ignore[arg-type]
    if asked and not result.offerings:
        raise no_offering_error(query, request.region, result)
    return apply_capacity_blocks(plan, workload, catalog, request, result.offerings, result.warnings)


def print_warnings(warnings: Iterable[str]) -> None:
    """Each warning as one `warning: ...` line on stderr, flushed before anything else is printed: with
    both streams on one terminal or file (2>&1) a block-buffered stdout could otherwise cut them mid-line."""
    sys.stdout.flush()
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    sys.stderr.flush()


def memory_bar(plan: Plan, width: int = BAR_WIDTH) -> list[str]:
    """One GPU's memory as vLLM budgets it: weights, activation, non-torch, CUDA graphs, KV, unused."""
    m = plan.memory
    total = m.total_gpu_memory_gib
    parts = [
        ("W", "weights", m.weights_gib),
        ("A", "activation peak", m.activation_peak_gib),
        ("N", "non-torch", m.non_torch_gib),
        ("G", "CUDA graphs", m.cudagraph_gib),
        ("K", "KV cache", max(m.kv_cache_gib, 0.0)),
    ]
    bar, used = "", 0.0
    for char, _, gib in parts:
        used += gib
        bar += char * (round(used / total * width) - len(bar))
    bar = (bar + "." * width)[:width]
    cut = round(m.gpu_memory_utilization * width)
    legend = "  ".join(f"{c} {name} {gib:.2f}" for c, name, gib in parts) + "  . unused (GiB)"
    return [
        f"  [{bar[:cut]}|{bar[cut:]}]  {total:.2f} GiB, '|' = gpu_memory_utilization "
        f"{m.gpu_memory_utilization}",
        f"   {legend}",
    ]


def _money(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"${x:,.{digits}f}"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _weights(plan: Plan) -> str:
    m = plan.served
    return f"{m.dtype} weights" if m.quantization == "none" else f"{m.quantization} weights, {m.dtype}"


def _served(plan: Plan) -> str:
    """The repo vLLM loads and its own format (a load-time quantization said so)."""
    m = plan.served
    repo = m.served_model or "(no checkpoint known: see the warning)"
    own = m.dtype if m.checkpoint_quantization == "none" else m.checkpoint_quantization
    load_time = (
        f", quantized to {m.quantization} by vLLM at load time"
        if m.checkpoint_quantization != m.quantization
        else ""
    )
    return f"{repo} ({own} checkpoint{load_time})"


def _bound(plan: Plan) -> str:
    bound = plan.latency
    if bound.max_time_per_output_token_ms is None and bound.max_time_to_first_token_ms is None:
        return "none (batch)"
    parts = []
    if bound.max_time_per_output_token_ms is not None:
        parts.append(
            f"{bound.max_time_per_output_token_ms:g} ms per output token ({bound.latency_bound_source}; "
            f"planned at predicted +{bound.tpot_uncertainty:.0%})"
        )
    if bound.max_time_to_first_token_ms is not None:
        parts.append(
            f"{bound.max_time_to_first_token_ms:g} ms to the first token ({bound.ttft_bound_source}; "
            f"planned at predicted +{bound.ttft_uncertainty:.0%})"
        )
    return ", ".join(parts)


def report(plan: Plan) -> str:
    t, v, at, cost = plan.throughput, plan.vllm, plan.placement, plan.cost
    lines = [
        f"Plan for {plan.served.model} ({_weights(plan)}, KV {plan.served.kv_cache_dtype})",
        f"  serves {_served(plan)}",
        f"  {at.instance_count} x {at.instance_type} in {at.region}, {at.capacity_type}"
        + (
            f" ({at.on_demand_instances} on-demand base + {at.spot_instances} spot burst)"
            if at.capacity_type == "mixed"
            else ""
        )
        + (
            f", in Capacity Block offering {plan.capacity_block.offering.offering_id}"
            if plan.capacity_block is not None and plan.capacity_block.chosen
            else ""
        ),
        f"  {at.replicas} replica(s): tensor_parallel_size={v.tensor_parallel_size} "
        f"pipeline_parallel_size={v.pipeline_parallel_size} ({v.gpus_per_replica} GPU"
        + ("s" if v.gpus_per_replica > 1 else "")
        + (f", {at.instances_per_replica} instances over EFA" if at.needs_efa else "")
        + ")",
        f"  cost {_money(cost.usd_per_hour)}/h expected, {_money(cost.billed_usd_per_hour)}/h billed, "
        f"{_money(cost.usd_per_million_output_tokens, 3)} per million output tokens",
        *_batch_lines(plan),
        *_block_lines(plan),
        f"  vLLM {v.vllm_version}: gpu_memory_utilization={v.gpu_memory_utilization} "
        f"max_model_len={v.max_model_len} max_num_seqs={v.max_num_seqs} "
        f"max_num_batched_tokens={v.max_num_batched_tokens} block_size={v.block_size}",
        f"  KV cache {v.kv_cache_tokens:,} tokens per replica "
        f"({plan.memory.kv_bytes_per_token:,} bytes/token/GPU)",
        f"  throughput ~{t.decode_output_tokens_per_s:,.0f} output tokens/s per replica at batch "
        f"{t.batch_size}, {t.total_output_tokens_per_s:,.0f} total, "
        f"{t.time_per_output_token_ms:.1f} ms/token ({t.bound}-bound)",
        *_load_lines(plan),
        f"  latency bound: {_bound(plan)}",
        f"  prices: {cost.price_source} as of {cost.prices_as_of:%Y-%m-%d}",
        "",
        "Per-GPU memory:",
        *memory_bar(plan),
        "",
    ]
    if plan.alternatives:
        head = (
            f"  {'#':>2} {'instance':<18} {'region':<11} {'n':>3} {'TP':>3} {'PP':>3} {'rep':>4} "
            f"{'capacity':<9} {'dtype':<5} {'USD/h':>10} {'USD/Mtok':>9} {'ms/tok':>7}  why not"
        )
        lines += ["Alternatives:", head]
        for i, a in enumerate(plan.alternatives, 1):
            lines.append(
                f"  {i:>2} {a.instance_type:<18} {a.region:<11} {a.instance_count:>3} "
                f"{a.tensor_parallel_size:>3} {a.pipeline_parallel_size:>3} {a.replicas:>4} "
                f"{a.capacity_type:<9} {a.dtype or '-':<5} {_money(a.usd_per_hour):>10} "
                f"{_money(a.usd_per_million_output_tokens, 3):>9} {_ms(a.time_per_output_token_ms):>7}  "
                f"{a.why_not}"
            )
        lines.append("")
    if plan.tradeoffs:
        lines.append("Trade-offs (what each choice costs; variants change numerics and are never applied):")
        for t in plan.tradeoffs:
            other = "none feasible" if t.other_cost is None else _figure(t.other_cost, t.unit)
            delta = (
                f" ({t.difference_share:.0%} {'less' if t.other_is_cheaper else 'more'})"
                if t.difference_share is not None
                else ""
            )
            lines.append(f"  [{t.kind}] {t.rule}")
            lines.append(f"      plan {_figure(t.plan_cost, t.unit)} vs {other}{delta}: {t.other}")
            if t.checkpoint:
                lines.append(f"      loads {t.checkpoint}")
        lines.append("")
    lines += ["Why:", f"  {plan.explanation}"]
    return "\n".join(lines)


def _figure(x: float, unit: str) -> str:
    if unit == "USD/h":
        return f"${x:,.2f}/h"
    if unit == "USD total":
        return f"${x:,.2f} total"
    return f"${x:,.3f}/Mtok"


def _load_lines(plan: Plan) -> list[str]:
    """An arrival-rate workload: the concurrency Little's law gives and the predicted latency at it."""
    load = plan.load
    if load is None:
        return []
    return [
        f"  load: {load.arrival_rate_per_s:g} requests/s = {load.concurrency} requests in flight (Little's "
        f"law, {load.planned_latency_ms / 1000:,.2f} s planned latency; a fixed point in {load.rounds} "
        "plan(s))",
        f"  latency at that load: {load.latency_ms / 1000:,.2f} s per request predicted = TTFT "
        f"{load.time_to_first_token_ms:,.0f} ms + {load.output_tokens} tokens x "
        f"{load.time_per_output_token_ms:.1f} ms",
    ]


def _block_lines(plan: Plan) -> list[str]:
    """The Capacity Block offered for the plan's layout: window (start, end, AZ), fee, same-hours figures."""
    b = plan.capacity_block
    if b is None:
        return []
    from pricing.capacity_blocks import describe_window

    o = b.offering
    head = "runs in a Capacity Block" if b.chosen else "Capacity Block offered (not chosen)"
    return [
        f"  {head}: {o.instance_count} x {o.instance_type}, {describe_window(o)}, offering {o.offering_id}",
        f"    fee ${o.upfront_fee_usd:,.2f} up front (${b.usd_per_hour:,.2f}/h); same instances and hours: "
        f"on-demand {_money(b.on_demand_usd)}, spot {_money(b.spot_usd)} (interruptible), this plan "
        f"{_money(b.plan_usd)}; cheapest without interruptions: {b.cheapest_assured}",
        *(["    nothing was purchased: buy it (EC2 PurchaseCapacityBlock), then target ec2 with "
           "capacityReservationId (docs/deploy.md)"] if b.chosen else []),
    ]


def _batch_lines(plan: Plan) -> list[str]:
    b = plan.batch
    if b is None:
        return []
    deadline = f", deadline {b.deadline_hours:g} h" if b.deadline_hours is not None else ""
    fleets = f", {b.fleets} fleet copies" if b.fleets > 1 else ""
    discount = (
        f"  on-demand prices less your {plan.cost.on_demand_discount:.0%} discount"
        if plan.cost.on_demand_discount
        else None
    )
    return [
        f"  batch job: ${b.total_usd:,.2f} to finish in {b.hours:,.2f} h expected ({b.work_hours:,.2f} h of "
        f"work{deadline}{fleets}), ${b.usd_per_million_tokens:,.4f} per million tokens "
        f"(${b.usd_per_million_output_tokens:,.4f} per million output tokens)",
        *([discount] if discount else []),
    ]


def handle(args: argparse.Namespace) -> int:
    if getattr(args, "engine", None) in ("auto", "llama.cpp"):  # issue 13: the CPU path (cli/cpu_cmd.py)
        from llm_advisor.cli.cpu_cmd import handle_engine

        return handle_engine(args)
    plan = plan_from_args(args)
    if args.json:  # the Plan's own `warnings` list carries them (stdout stays one JSON document)
        print(json.dumps(plan.model_dump(mode="json"), indent=2))
        return 0
    print_warnings(plan.warnings)
    print(report(plan))
    sys.stdout.flush()
    return 0


def register(subparsers, help_text: str) -> None:
    parser = subparsers.add_parser(
        "plan",
        help=help_text,
        description=__doc__.splitlines()[0],
    )
    add_workload_arguments(parser)
    parser.add_argument(
        "--json", action="store_true",
        help="print the Plan as JSON (schema_version 2: its exact field names, in parts; README.md)",
    )
    parser.set_defaults(handler=handle)
