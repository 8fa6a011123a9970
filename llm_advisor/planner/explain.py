"""Words of a plan: the explanation, why each runner-up lost, and the infeasible-workload message (pure)."""

from __future__ import annotations

from llm_advisor.planner.costing import MIXED_MIN_SAVING, capacity_options, spot_price_usd_per_hour
from llm_advisor.planner.models import Tradeoff, Workload
from llm_advisor.planner.options import opt
from llm_advisor.planner.search import (
    EXTRA_NODE_PENALTY,
    FP16_FALLBACK_PENALTY,
    PCIE_CUSTOM_ALLREDUCE_MAX_TP,
    Candidate,
    SearchResult,
    conservative_tpot_ms,
    conservative_ttft_ms,
    latency_bound,
    ttft_bound,
)
from llm_advisor.planner.throughput import TPOT_UNCERTAINTY, TTFT_UNCERTAINTY
from pricing.snapshot import INTERRUPTION_LABELS

# Reading speed: ~250 words/min x ~1.3 tokens per word = ~5.5 tokens/s, so slower than ~180 ms per
# output token a streamed answer lags its reader: a warning when a relaxed realtime bound allows it.
READING_SPEED_MS_PER_TOKEN = 180.0
KIND_TEXT = {
    "budget": "the budget (max USD/h)",
    "latency": "the time-per-output-token bound",
    "ttft": "the time-to-first-token bound (the prompt's prefill, queueing included)",
    "throughput": "the output tokens/s target",
    "scale": "the instance count (more than the planner will provision)",
    "context": "KV cache: one max_model_len request does not fit a replica's KV pool",
    "weights": "GPU memory: the weights (plus activation peak and overhead) do not fit",
    "precision": "precision: the requested format (fp8/mxfp4, or bf16 with strict_dtype) cannot run on the "
    "GPUs offered",
    "image": "the container image: its CUDA build (or the node AMI's NVIDIA driver) does not support the "
    "GPUs offered (sizing/data/vllm_images.json)",
    "price": "capacity: no price for the requested capacity type",
    "layout": "vLLM refuses the configuration (parallel layout or the model's limits)",
    "deadline": "the batch deadline (hours to finish the job)",
    "availability": "availability: the instance type is not offered in enough AZs",
}


def describe(c: Candidate) -> str:
    lay = c.sized.layout
    span = f", PP across {lay.instances_per_replica} nodes" if lay.instances_per_replica > 1 else ""
    return (
        f"{c.sized.instance_count} x {c.instance_type} in {c.offer.price.region}, TP={lay.tp} PP={lay.pp}"
        f"{span}, {c.sized.replicas} replica(s), {c.cost.capacity_type} at ${c.cost.usd_per_hour:,.2f}/h"
        + (f", ${c.batch.total_usd:,.2f} total in {c.batch.hours:,.1f} h" if c.batch is not None else "")
    )


def _capacity_text(c: Candidate, workload: Workload) -> str:
    price, cost = c.offer.price, c.cost
    band = price.interruption_band
    risk = (
        f"interruption {INTERRUPTION_LABELS[band]}/month"
        if band is not None and 0 <= band < 5
        else "interruption unknown"
    )
    if cost.capacity_type == "spot":
        od = (
            f" vs ${price.on_demand_usd_per_hour * c.sized.instance_count:,.2f}/h on demand"
            if price.on_demand_usd_per_hour
            else ""
        )
        return (
            f"spot: ${cost.usd_per_hour:,.2f}/h expected including re-done work after interruptions "
            f"({risk}), billed ${cost.billed_usd_per_hour:,.2f}/h{od}; {_spot_basis(price)}"
        )
    if cost.capacity_type == "mixed":
        return (
            f"{cost.on_demand_instances} on-demand base + {cost.spot_instances} spot burst ({risk}): "
            f"${cost.usd_per_hour:,.2f}/h expected{_forced_text(c)}; {_spot_basis(price)}"
        )
    why = (
        "realtime serving"
        if workload.workload_type == "realtime"
        else "cheaper than spot once interruptions count"
    )
    if workload.capacity == "on-demand":
        why = "as asked"
    elif workload.capacity == "capacity-block":
        why = "searched as on-demand for a Capacity Block: same instances, never interrupted"
    tail = _discount_text(workload) + _not_cheaper(c, workload)
    return f"on-demand ({why}): ${cost.usd_per_hour:,.2f}/h{tail}"


def _discount_text(workload: Workload) -> str:
    d = workload.on_demand_discount
    return f" after your {d:.0%} on-demand discount ({opt('on_demand_discount', d)})" if d else ""


def _not_cheaper(c: Candidate, workload: Workload) -> str:
    """Why `auto` left a cheaper capacity type for this same layout (realtime): it never does silently."""
    if workload.capacity != "auto" or workload.workload_type != "realtime":
        return ""
    unit = c.sized.layout.instances_per_replica
    options = capacity_options(c.offer.price, c.sized.instance_count, unit, workload.workload_type)
    band = c.offer.price.interruption_band
    notes = []
    for kind, cost in options.items():
        if kind == c.cost.capacity_type or cost.usd_per_hour >= c.cost.usd_per_hour:
            continue
        if kind == "spot":
            why = (
                "realtime serving keeps an on-demand base: an interruption of an all-spot fleet takes the "
                f"service down ({INTERRUPTION_LABELS[band] if band is not None else 'unknown'} "
                "interruptions/month)"
            )
        else:
            saving = 1 - cost.usd_per_hour / c.cost.usd_per_hour
            why = (
                f"saves only {saving:.1%}, under the {MIXED_MIN_SAVING:.0%} that a second node group "
                "(EKS managed node groups are all-spot or all-on-demand) must save"
            )
        notes.append(f"{kind} would be ${cost.usd_per_hour:,.2f}/h but {why}")
    return f" ({'; '.join(notes)})" if notes else ""


def tradeoff_text(found: list[Tradeoff]) -> str:
    """One sentence per trade-off for the explanation: the rule and both costs."""
    def fig(x: float | None, unit: str) -> str:
        if x is None:
            return "none feasible"
        return {"USD/h": f"${x:,.2f}/h", "USD total": f"${x:,.2f} total"}.get(
            unit, f"${x:,.3f} per million output tokens"
        )

    parts = []
    for t in found:
        delta = "" if t.difference_share is None else (
            f" ({t.difference_share:.0%} {'less' if t.other_is_cheaper else 'more'} than the plan)"
        )
        lead = {"capacity": "Capacity preference", "target": "Target rule", "availability": "Availability",
                "variant": "Cheaper variant"}[t.kind]
        parts.append(
            f" {lead}: {t.rule}: plan {fig(t.plan_cost, t.unit)}, compared {fig(t.other_cost, t.unit)}{delta}"
            f" = {t.other}" + (f"; loads {t.checkpoint}" if t.checkpoint else "") + "."
        )
    return "".join(parts)


def _forced_text(c: Candidate) -> str:
    """What the spot unit that --capacity mixed forced costs against all on-demand (empty when not forced)."""
    if not c.cost.forced_spot or c.offer.price.on_demand_usd_per_hour is None:
        return ""
    all_od = c.offer.price.on_demand_usd_per_hour * c.sized.instance_count
    delta = c.cost.usd_per_hour - all_od
    return (
        f" ({opt('capacity', 'mixed')} as asked: the interruption-band split would keep all "
        f"{c.sized.instance_count} instances on-demand, so one unit is on spot: ${all_od:,.2f}/h all "
        f"on-demand, this costs ${abs(delta):,.2f}/h {'less' if delta < 0 else 'more'})"
    )


def capacity_warnings(c: Candidate, workload: Workload) -> list[str]:
    """Why --capacity mixed came back without spot: a single unit (one instance, or one multi-node
    replica) cannot be split into an on-demand base and spot burst."""
    if workload.capacity != "mixed" or c.cost.spot_instances:
        return []
    unit = c.sized.layout.instances_per_replica
    what = (
        "a single instance"
        if unit == 1
        else f"a single replica spanning {unit} instances (one capacity unit: losing one node stops it)"
    )
    return [
        f"{opt('capacity', 'mixed')} asked, but the plan has {what}: the on-demand base takes the only unit, "
        f"so it is all on-demand; ask {opt('capacity', 'spot')} for spot, or more {opt('concurrency')} for a "
        "second unit"
    ]


def _spot_basis(price) -> str:
    """How the spot price was taken: the median across AZs, with the spread the cheapest AZ would hide."""
    by_az = price.spot_usd_per_hour_by_az
    median = spot_price_usd_per_hour(price)
    if len(by_az) < 2 or median is None:
        return f"spot priced at ${median or 0:,.4g}/h per instance"
    return (
        f"spot priced at the median across {len(by_az)} AZs (${median:,.4g}/h per instance; cheapest AZ "
        f"${min(by_az.values()):,.4g}, dearest ${max(by_az.values()):,.4g}): the fleet's AZ is not "
        "chosen by price"
    )


def _seqs_text(c: Candidate, workload: Workload) -> str:
    est = c.sized.advice.estimate
    return (
        f"vLLM limits: max_num_seqs {est.max_num_seqs} (the replica's {c.sized.concurrency_per_replica} "
        f"requests x (1 + {workload.headroom:g} headroom), rounded up to a CUDA graph capture size, so the "
        f"batch the roofline assumed is the batch vLLM admits), max_num_batched_tokens "
        f"{est.max_num_batched_tokens}."
    )


def explanation(
    c: Candidate, workload: Workload, feasible: int, runner_up: Candidate | None, churn_note: str | None
) -> str:
    s, lay, est = c.sized, c.sized.layout, c.sized.advice.estimate
    inst = c.offer.instance
    need = s.concurrency_per_replica * workload.max_model_len
    parts = [
        f"{s.replicas} replica(s) of TP={lay.tp} x PP={lay.pp} on {s.instance_count} x {c.instance_type} "
        f"({inst.gpu_count} x {inst.gpu_name} {inst.gpu_memory_gib:g} GiB, {inst.interconnect}) in "
        f"{c.offer.price.region}"
        + (
            f"; each replica spans {lay.instances_per_replica} instances over EFA in a cluster "
            "placement group"
            if lay.instances_per_replica > 1
            else ""
        )
        + ".",
        f"Each replica carries {s.concurrency_per_replica} of {workload.concurrency} requests x "
        f"{workload.max_model_len:,} tokens ({need:,} tokens + {workload.headroom:.0%} headroom); at "
        f"gpu_memory_utilization {s.advice.recommended_gpu_memory_utilization} its KV pool holds "
        f"{est.kv_cache_tokens:,} tokens.",
        f"Capacity: {_capacity_text(c, workload)}.",
        f"Step-time model (requests of {workload.input_tokens:,} in / {workload.output_tokens:,} out): "
        f"~{s.throughput.decode_output_tokens_per_s:,.0f} output tokens/s per replica at batch "
        f"{s.throughput.batch_size} ({s.throughput.bound}-bound, {s.throughput.time_per_output_token_ms:.1f} "
        f"ms/token, first token ~{s.throughput.time_to_first_token_ms or 0:,.0f} ms)"
        + (
            f", ${c.usd_per_million_output_tokens:,.3f} per million output tokens."
            if c.usd_per_million_output_tokens is not None
            else "."
        ),
    ]
    parts.append(_seqs_text(c, workload))
    if c.batch is not None:
        parts.append(_batch_text(c))
    if runner_up is not None:
        parts.append(
            f"Best of {feasible} feasible candidates ranked by USD/h x a complexity penalty (+"
            f"{EXTRA_NODE_PENALTY:.0%} per extra node per replica, +{FP16_FALLBACK_PENALTY:.0%} for fp16 "
            f"instead of bf16); runner-up: {describe(runner_up)}."
        )
    if churn_note:
        parts.append(churn_note[0].upper() + churn_note[1:] + ".")
    parts.append(_latency_text(c, workload))
    parts += [n + "." for n in s.precision.notes]
    parts += [f"Warning: {w}." for w in s.precision.warnings]
    tpot = s.throughput.time_per_output_token_ms
    if workload.workload_type == "realtime" and tpot > READING_SPEED_MS_PER_TOKEN:
        parts.append(
            f"Warning: {tpot:.0f} ms per output token is slower than reading speed "
            f"(~{READING_SPEED_MS_PER_TOKEN:.0f} ms); the relaxed bound allows it."
        )
    return " ".join(parts)


def _batch_text(c: Candidate) -> str:
    b = c.batch
    fleets = (
        f" {b.fleets} copies of the sized fleet run side by side to meet the {b.deadline_hours:g} h deadline."
        if b.fleets > 1
        else ""
    )
    deadline = f" (deadline {b.deadline_hours:g} h)" if b.deadline_hours is not None else ""
    return (
        f"Batch job: {b.output_tokens:,} output + {b.input_tokens:,} input tokens = {b.work_hours:,.2f} h of "
        f"work, {b.hours:,.2f} h expected with re-done work after spot interruptions{deadline}; "
        f"${b.total_usd:,.2f} to finish (${b.usd_per_million_tokens:,.4f} per million tokens, "
        f"${b.usd_per_million_output_tokens:,.4f} per million output tokens); candidates ranked by the total."
        + fleets
    )


def _latency_text(c: Candidate, workload: Workload) -> str:
    bound, source = latency_bound(workload)
    first, first_source = ttft_bound(workload)
    thr = c.sized.throughput
    tpot, ttft = thr.time_per_output_token_ms, thr.time_to_first_token_ms or 0.0
    if bound is None and first is None:
        return "Latency bound: none (batch work); the plan is the cheapest that holds the KV cache."
    parts = []
    if bound is not None:
        why = (
            ", the realtime default (10 tokens/s per request, faster than reading; Databricks' benchmarking "
            f"guide); relax it with {opt('max_time_per_output_token_ms')}"
            if source == "realtime default"
            else " (the workload's)"
        )
        parts.append(
            f"Latency bound: {bound:g} ms per output token{why}; predicted {tpot:.1f} ms, planned as "
            f"{conservative_tpot_ms(thr):.1f} ms (+{TPOT_UNCERTAINTY:.0%}, the model's median held-out "
            f"TPOT error on vLLM runs, bench/throughput.py): {_margin(conservative_tpot_ms(thr), bound)}."
        )
    if first is not None:
        why = (
            "the realtime default, MLPerf Inference's Llama-2-70B server bound; set "
            f"{opt('max_time_to_first_token_ms')}"
            if first_source == "realtime default"
            else "the workload's"
        )
        parts.append(
            f"{first:g} ms to the first token ({why}); predicted {ttft:,.0f} ms for a "
            f"{workload.input_tokens:,}-token prompt at this load, planned as "
            f"{conservative_ttft_ms(thr):,.0f} ms (+{TTFT_UNCERTAINTY:.0%}, the median held-out TTFT error): "
            f"{_margin(conservative_ttft_ms(thr), first)}."
        )
    return " ".join(parts)


def _margin(planned: float, bound: float) -> str:
    """How close a conservative estimate is to its bound, in words."""
    share = 1 - planned / bound
    if share < 0.1:
        return f"near the bound ({share:.0%} to spare): the uncertainty margin decided it"
    return f"{share:.0%} below the bound"


def _usd(x: float) -> str:
    return f"${x:,.4f}" if abs(x) < 0.01 else f"${x:,.2f}"


def penalty_text(c: Candidate) -> str:
    """Why a candidate's ranking cost exceeds its USD/h (empty when it does not)."""
    parts = []
    nodes = c.sized.layout.instances_per_replica
    if nodes > 1:
        parts.append(f"+{EXTRA_NODE_PENALTY * (nodes - 1):.0%} for {nodes - 1} extra node(s) per replica")
    if c.sized.precision.fp16_fallback:
        parts.append(f"+{FP16_FALLBACK_PENALTY:.0%} for fp16 instead of bf16")
    return ", ".join(parts)


def why_not(alt: Candidate, chosen: Candidate, churn_threshold: float) -> str:
    """One line: why a runner-up lost to the plan, following Candidate.rank_key's order."""
    ka, kc = alt.rank_key(), chosen.rank_key()
    extra = []
    if alt.sized.instance_count != chosen.sized.instance_count:
        n = alt.sized.instance_count
        extra.append(f"{n} instance{'s' if n > 1 else ''} vs {chosen.sized.instance_count}")
    if alt.sized.layout.instances_per_replica > 1:
        extra.append(f"replica spans {alt.sized.layout.instances_per_replica} nodes (EFA)")
    if alt.sized.precision.dtype != chosen.sized.precision.dtype:
        extra.append(f"runs {alt.sized.precision.dtype}")
    tail = f" ({', '.join(extra)})" if extra else ""
    ua, uc = alt.cost.usd_per_hour, chosen.cost.usd_per_hour
    diff = round(ua - uc, 4)
    ranked = (
        f"ranked at {_usd(alt.ranking_usd_per_hour)}/h vs {_usd(chosen.ranking_usd_per_hour)}/h with the "
        f"complexity penalty ({penalty_text(alt) or 'none'}; plan: {penalty_text(chosen) or 'none'})"
    )
    if chosen.rank_cost is not None and alt.rank_cost is not None:
        what = "total to finish the job" if chosen.batch is not None else "per million output tokens"
        ranked = (
            f"ranked at {_usd(alt.rank_cost)} vs {_usd(chosen.rank_cost)} {what} (batch work is bought by "
            f"the token; complexity penalty: {penalty_text(alt) or 'none'}; plan: "
            f"{penalty_text(chosen) or 'none'})"
        )
    if ka < kc:  # ranks above the plan: only when the churn threshold kept the deployed type
        lead = (
            f"{_usd(-diff)}/h cheaper ({-diff / max(uc, 1e-9):.1%})"
            if diff < 0
            else f"ranks ahead ({ranked})"
        )
        return (
            f"{lead}, within the {churn_threshold:.0%} churn threshold: kept the current instance type{tail}"
        )
    if diff > 0:
        return f"costs {_usd(diff)}/h more (+{diff / max(uc, 1e-9):.0%}){tail}"
    if diff < 0:
        return f"{_usd(-diff)}/h cheaper ({-diff / max(uc, 1e-9):.1%}) but {ranked}{tail}"
    if ka[0] > kc[0]:
        return f"same cost, {ranked}{tail}"
    if ka[1] > kc[1]:
        return (
            f"same cost; TP={alt.sized.layout.tp} over PCIe (no vLLM custom all-reduce above "
            f"{PCIE_CUSTOM_ALLREDUCE_MAX_TP} PCIe GPUs; vLLM advises PP without NVLink){tail}"
        )
    if ka[2] > kc[2]:
        return f"same cost, lower throughput ({-ka[2]:,.1f} vs {-kc[2]:,.1f} output tokens/s){tail}"
    if ka[3] > kc[3]:
        return f"same cost and throughput, more instances{tail}"
    if ka[4] > kc[4]:
        return f"same cost and throughput, more GPUs per replica ({ka[4]} vs {kc[4]}){tail}"
    if ka[5] > kc[5]:
        region = alt.offer.price.region
        return f"same cost and throughput, region {region} comes later in the regions asked{tail}"
    return f"tie on cost, throughput and size, broken by instance type name then layout{tail}"


# A candidate that got further (priced, then sized) names the constraint to relax; among candidates that
# sizing or precision rules refused outright, the most common reason is the one to report.
LATE_KINDS = ("budget", "deadline", "latency", "ttft", "throughput", "scale", "context", "weights")
EARLY_KINDS = ("layout", "precision", "image", "price", "availability")


def binding_kind(result: SearchResult) -> str | None:
    late = next((k for k in LATE_KINDS if k in result.rejections), None)
    if late == "latency" and "throughput" in result.rejections:
        # Both bounds rejected candidates: blame the one that rejected more. A tokens/s target no layout can
        # reach rejects nearly every candidate; a few that also miss the latency bound at batch 1 must not
        # make it read as a latency problem (issue 11).
        if result.rejections["throughput"][0] > result.rejections["latency"][0]:
            return "throughput"
    if late is not None:
        return late
    early = [k for k in EARLY_KINDS if k in result.rejections]
    return max(early, key=lambda k: (result.rejections[k][0], -EARLY_KINDS.index(k))) if early else None


def infeasible_message(
    workload: Workload,
    model_id: str,
    weight_format: str,
    result: SearchResult,
    options: list[str],
    facts: list[str],
) -> str:
    where = ", ".join(workload.regions)
    head = (
        f"no layout serves {model_id} ({weight_format} weights, KV {workload.kv_cache_dtype}) for "
        f"{workload.concurrency} requests x {workload.max_model_len:,} tokens in {where}"
    )
    kind = binding_kind(result)
    if kind is None:
        families = ""
        if workload.allowed_families or workload.excluded_families:
            families = (
                f" with families allowed={list(workload.allowed_families)} "
                f"excluded={list(workload.excluded_families)}"
            )
        body = f"binding constraint: no NVIDIA GPU offer in {where}{families}"
    else:
        count, example = result.rejections[kind]
        body = f"binding constraint: {KIND_TEXT[kind]} ({count} candidate(s); closest: {example.detail})"
    lines = [f"{head}; {body}."] + [f"  {f}" for f in facts]
    if options:
        lines.append("Nearest options:")
        lines += [f"  - {o}" for o in options]
    return "\n".join(lines)
