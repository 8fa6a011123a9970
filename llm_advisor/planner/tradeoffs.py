"""What the user's choices cost, and cheaper variants the user may take (pure; issue 10).

Each comparison re-plans the workload with one thing changed and reports both figures in the plan's
ranking unit (USD/h realtime, USD per million output tokens batch, USD total for a batch volume):

* capacity: a --capacity other than auto against auto. Above CAPACITY_MARGIN (10 %) dearer, a warning
  says so with both figures: a preference that costs a tenth more is a decision, not a detail.
* target: the instances-per-replica cap (the Pulumi EC2 target runs no Ray cluster across instances, so
  each replica must fit one instance) against the plan without the cap.
* availability: realtime plans with one replica in one AZ are priced beside the highly available variant
  (2 replicas across 2 AZs, in the plan's region); plans that ask for availability are priced beside
  the plan without it. A budget holds for the variant too: one over it is named with its cost.
* variants: for a 16-bit checkpoint with no --quantization, fp8 weights (vLLM quantizes at load time, or
  a listed FP8 checkpoint), a listed INT4 checkpoint (AWQ, else GPTQ) and an fp8 KV cache are re-planned
  in the plan's region; one that cuts the cost by more than VARIANT_MIN_SAVING (20 %) is listed, marked
  as changing the model's numerics, with the checkpoint to load. It is never applied: the user opts in.
  20 % is a policy threshold, not a measurement: a change of the model's numerics (which needs its own
  quality check) should buy a clear saving, twice the capacity margin.
"""

from __future__ import annotations

from llm_advisor.planner.checkpoint import variant_arch
from llm_advisor.planner.explain import KIND_TEXT, binding_kind, describe
from llm_advisor.planner.models import Tradeoff, Workload
from llm_advisor.planner.options import opt
from llm_advisor.planner.search import Candidate, search
from pricing.models import PricedCatalog
from sizing import quantized_checkpoint

CAPACITY_MARGIN = 0.10
VARIANT_MIN_SAVING = 0.20
HA_REPLICAS = 2  # survives the loss of one node or one AZ
HA_ZONES = 2


def unit_of(workload: Workload) -> str:
    if workload.batch_output_tokens is not None:
        return "USD total"
    return "USD per million output tokens" if workload.workload_type == "batch" else "USD/h"


def value_of(c: Candidate, workload: Workload) -> float:
    """A candidate's cost in the plan's ranking unit (without the complexity penalty)."""
    if c.batch is not None:
        return c.batch.total_usd
    if workload.workload_type == "batch" and c.usd_per_million_output_tokens is not None:
        return c.usd_per_million_output_tokens
    return c.cost.usd_per_hour


def money(x: float, unit: str) -> str:
    if unit == "USD/h":
        return f"${x:,.2f}/h"
    if unit == "USD total":
        return f"${x:,.2f} total"
    return f"${x:,.3f} per million output tokens"


def _best(workload: Workload, catalog: PricedCatalog, arch) -> Candidate | None:
    ranked = search(workload, catalog, arch).ranked
    return ranked[0] if ranked else None


def _compare(kind, rule, chosen, workload, other, other_text=None, **extra) -> Tradeoff:
    unit = unit_of(workload)
    return Tradeoff(
        kind=kind,
        rule=rule,
        unit=unit,
        plan_cost=round(value_of(chosen, workload), 4),
        other_cost=None if other is None else round(value_of(other, workload), 4),
        other=other_text or (describe(other) if other is not None else "none feasible"),
        **extra,
    )


def tradeoffs(
    workload: Workload, catalog: PricedCatalog, arch, chosen: Candidate
) -> tuple[list[Tradeoff], list[str]]:
    """(tradeoffs, warnings) for the chosen candidate; `arch` is what the plan was sized on."""
    out: list[Tradeoff] = []
    warnings: list[str] = []
    unit = unit_of(workload)
    mine = value_of(chosen, workload)
    # capacity-block: its own comparison over the block's window (planner/capacity_block.py), once the
    # offerings are known; the per-hour figure here would be the on-demand rate it was searched at.
    if workload.capacity not in ("auto", "capacity-block"):
        auto = _best(workload.model_copy(update={"capacity": "auto"}), catalog, arch)
        if auto is not None:
            rule = f"{opt('capacity', workload.capacity)} as asked"
            out.append(_compare("capacity", rule, chosen, workload, auto))
            theirs = value_of(auto, workload)
            if mine > theirs * (1 + CAPACITY_MARGIN):
                warnings.append(
                    f"{opt('capacity', workload.capacity)} costs {money(mine, unit)} where the best plan "
                    f"without it costs {money(theirs, unit)} (+{mine / theirs - 1:.0%}, more than the "
                    f"{CAPACITY_MARGIN:.0%} margin): {describe(auto)}; drop the preference to take it"
                )
    cap = workload.max_instances_per_replica
    if cap is not None:
        free = _best(workload.model_copy(update={"max_instances_per_replica": None}), catalog, arch)
        if free is not None and value_of(free, workload) < mine:
            rule = (
                f"{opt('max_instances_per_replica', cap)}: each replica on at most {cap} instance(s) (the "
                "Pulumi program's target ec2 runs no Ray cluster across instances; target eks/karpenter can)"
            )
            out.append(_compare("target", rule, chosen, workload, free))
    out += _availability(workload, catalog, arch, chosen)
    out += _variants(workload, catalog, arch, chosen)
    return out, warnings


def _availability(workload: Workload, catalog: PricedCatalog, arch, chosen: Candidate) -> list[Tradeoff]:
    asked = workload.min_replicas > 1 or workload.availability_zones > 1
    if asked:
        single = workload.model_copy(update={"min_replicas": 1, "availability_zones": 1})
        other = _best(single, catalog, arch)
        rule = (
            f"availability as asked ({workload.min_replicas} replica(s) at least, over "
            f"{workload.availability_zones} AZ(s)) against one replica in one AZ"
        )
        return [_compare("availability", rule, chosen, workload, other)] if other is not None else []
    if workload.workload_type != "realtime":
        return []
    # in the plan's region: the cost of making this deployment available, not of moving it
    ha = workload.model_copy(
        update={
            "min_replicas": HA_REPLICAS,
            "availability_zones": HA_ZONES,
            "regions": (chosen.offer.price.region,),
        }
    )
    rule = (
        f"highly available: {opt('min_replicas', HA_REPLICAS)} {opt('availability_zones', HA_ZONES)} "
        "(survives losing one node or one AZ)"
    )
    res = search(ha, catalog, arch)
    if res.ranked:
        return [_compare("availability", rule, chosen, workload, res.ranked[0])]
    kind = binding_kind(res)
    text = f"none feasible ({KIND_TEXT.get(kind, kind) if kind else 'no offers'})"
    if workload.max_usd_per_hour is not None:
        over = _best(ha.model_copy(update={"max_usd_per_hour": None}), catalog, arch)
        if over is not None:
            text = f"over the ${workload.max_usd_per_hour:,.2f}/h budget: {describe(over)}"
            return [_compare("availability", rule, chosen, workload, over, text)]
    return [_compare("availability", rule, chosen, workload, None, text)]


def _variants(workload: Workload, catalog: PricedCatalog, arch, chosen: Candidate) -> list[Tradeoff]:
    w = workload
    if w.quantization is not None or w.served_model is not None or arch.quantization != "none":
        return []
    here = w.model_copy(update={"regions": (chosen.offer.price.region,)})
    tried: list[tuple[str, Workload, object, str]] = []
    fp8_repo = quantized_checkpoint(arch, "fp8")
    tried.append(
        (
            f"{opt('quantization', 'fp8')}: fp8 weights"
            + ("" if fp8_repo else " (vLLM quantizes at load time, no calibration)"),
            here.model_copy(update={"quantization": "fp8"}),
            arch,
            fp8_repo or arch.hf_id,
        )
    )
    for q in ("awq", "gptq"):
        repo = quantized_checkpoint(arch, q)
        sized = variant_arch(arch, q)
        if repo is not None and sized is not None:
            label = f"{opt('quantization', q)}: int4 weights"
            tried.append((label, here.model_copy(update={"quantization": q}), sized, repo))
            break
    if w.kv_cache_dtype == "auto":
        tried.append((f"{opt('kv_cache_dtype', 'fp8')}: fp8 KV cache",
                      here.model_copy(update={"kv_cache_dtype": "fp8"}), arch, arch.hf_id))
    mine = value_of(chosen, w)
    # A variant is listed only below mine x (1 - VARIANT_MIN_SAVING). Per hour, no plan costs less than one
    # of its instances (spot's expected cost includes its interruption overhead, on-demand its discount),
    # so types whose single instance already costs that much cannot yield one: the variant searches skip
    # them (the same answers, a fraction of the search).
    if unit_of(w) == "USD/h" and chosen.batch is None:
        catalog = _under(catalog, mine * (1 - VARIANT_MIN_SAVING), w.on_demand_discount)
    out = []
    for label, variant, sized_arch, repo in tried:
        other = _best(variant, catalog, sized_arch)
        if other is None or value_of(other, w) > mine * (1 - VARIANT_MIN_SAVING):
            continue
        out.append(
            _compare(
                "variant",
                f"{label} (changes the model's numerics; not applied)",
                chosen,
                w,
                other,
                changes_numerics=True,
                checkpoint=repo,
            )
        )
    return out


def _under(catalog: PricedCatalog, usd_per_hour: float, on_demand_discount: float) -> PricedCatalog:
    """The catalog's offers one instance of which costs less than `usd_per_hour` (on-demand after the
    discount, or spot)."""
    def cheapest(price) -> float:  # type: ignore[no-untyped-def]
        figures = [f for f in (
            None if price.on_demand_usd_per_hour is None
            else price.on_demand_usd_per_hour * (1 - on_demand_discount),
            price.spot_usd_per_hour,
        ) if f is not None]
        return min(figures) if figures else float("inf")

    kept = tuple(o for o in catalog.offers if cheapest(o.price) < usd_per_hour)
    return catalog.model_copy(update={"offers": kept})
