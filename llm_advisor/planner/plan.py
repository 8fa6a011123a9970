"""make_plan: the cheapest feasible candidate as a Plan, runner-ups, churn control, infeasibility (pure)."""

from __future__ import annotations

import difflib
import math

from llm_advisor.planner import arrival
from llm_advisor.planner.checkpoint import (
    ServedCheckpoint,
    option_note,
    resolve_served,
    served_checkpoint,
    variant_arch,
)
from llm_advisor.planner.costing import spot_price_usd_per_hour
from llm_advisor.planner.errors import NoFeasibleLayout, PlanningError
from llm_advisor.planner.explain import (
    binding_kind,
    capacity_warnings,
    describe,
    explanation,
    infeasible_message,
    tradeoff_text,
    why_not,
)
from llm_advisor.planner.models import (
    Alternative,
    Cost,
    LatencyBound,
    MemoryBreakdown,
    Placement,
    Plan,
    ServedModel,
    VllmSettings,
    Workload,
)
from llm_advisor.planner.options import opt
from llm_advisor.planner.search import (
    MAX_NODES_PER_REPLICA,
    Candidate,
    SearchResult,
    conservative_ttft_ms,
    eligible,
    latency_bound,
    search,
    ttft_bound,
)
from llm_advisor.planner.sizer import weight_format
from llm_advisor.planner.throughput import TPOT_UNCERTAINTY, TTFT_UNCERTAINTY
from llm_advisor.planner.tradeoffs import tradeoffs
from pricing.models import PricedCatalog
from sizing import (
    CALIBRATED_VLLM_VERSIONS,
    SizingError,
    check_vllm_version,
    gated_repo,
    is_calibrated,
    load_model,
)
from sizing.vllm_versions import accounting

ALTERNATIVES = 5
# Spot diversification: EKS managed node groups and ASGs pick among the listed types by their own
# allocation strategy (price-capacity-optimized), so a listed type may be launched instead of the one
# priced. Only types at most this much dearer on spot, with at least the host memory of the chosen one,
# are listed: the plan's spot cost then holds to within this share. At most MAX_SPOT_TYPES are listed.
SPOT_DIVERSIFICATION_PRICE_TOLERANCE = 0.15
MAX_SPOT_TYPES = 4


def make_plan(
    workload: Workload,
    catalog: PricedCatalog,
    *,
    previous_instance_type: str | None = None,
    churn_threshold: float = 0.05,
    previous_region: str | None = None,
) -> Plan:
    """The cheapest layout that serves `workload` from `catalog`, explained, with 5 runner-ups.

    `previous_instance_type` (the one deployed now, in `previous_region`, default the workload's first
    region) is kept there unless the best plan saves more than `churn_threshold` of its ranking cost, so
    small price moves do not churn node groups on `pulumi up`.
    Raises PlanningError naming the binding constraint and the nearest options, each with its cost.
    """
    if not 0 <= churn_threshold < 1:
        raise PlanningError(f"churn_threshold must be in [0, 1), got {churn_threshold}; the default is 0.05")
    _check_vllm_version(workload)
    try:
        arch = load_model(workload.model)
    except SizingError as exc:
        raise PlanningError(str(exc)) from exc
    _check_regions(workload, catalog)
    deployed_region = previous_region or workload.regions[0]
    if previous_instance_type:
        _check_previous(previous_instance_type, deployed_region, catalog)
    served = resolve_served(workload, arch)
    if served is not None:  # sized in the served repo's own format (its listed facts when known)
        workload = workload.model_copy(update={"quantization": served.quantization})
        sized_arch = served.arch
    else:  # a listed pre-quantized repo serves it: sized on that repo's own facts
        sized_arch = variant_arch(arch, weight_format(workload, arch.quantization)) or arch
    point = None
    if workload.arrival_rate_per_s is not None:  # the rate's concurrency: Little's law (planner/arrival.py)
        point = arrival.rate_for(workload, catalog, sized_arch)
        workload, result = arrival.at_concurrency(workload, point.concurrency), point.result
    else:
        result = search(workload, catalog, sized_arch)
    if not result.ranked:
        raise NoFeasibleLayout(_infeasible(workload, catalog, sized_arch, result))
    chosen, note = _apply_churn(result.ranked, previous_instance_type, deployed_region, churn_threshold)
    checkpoint = (
        served.checkpoint
        if served is not None
        else served_checkpoint(arch, chosen.sized.precision.quantization)
    )
    found, warned = tradeoffs(workload, catalog, sized_arch, chosen)
    plan = _build(workload, catalog, arch, result, chosen, note, churn_threshold, checkpoint)
    extra = [*warned, *gated_warnings(workload, arch.hf_id, checkpoint.served_model)]
    load, load_text = None, ""
    if point is not None:
        load = arrival.arrival_load(point, chosen.sized.throughput)
        load_text = arrival.load_text(load)
        if (slower := arrival.unserved_warning(load, chosen.sized.throughput)) is not None:
            extra.append(slower)
    return plan.model_copy(
        update={
            "load": load,
            "tradeoffs": tuple(found),
            "warnings": (*plan.warnings, *extra),
            "explanation": plan.explanation + load_text + tradeoff_text(found),
        }
    )


def gated_warnings(workload: Workload, model: str, served: str | None) -> list[str]:
    """A gated Hub repo planned with no token known to be configured (sizing's gated_repos section)."""
    if workload.has_hf_token:
        return []
    repo = served or model
    pattern = gated_repo(repo) or gated_repo(model)
    if pattern is None:
        return []
    known = "no Hugging Face token is configured" if workload.has_hf_token is False else (
        "no Hugging Face token is known to be configured"
    )
    return [
        f"{repo} is a gated Hugging Face repo ({pattern}) and {known}: accept its terms on the Hub with "
        "your account and pass a token with read access (render --hf-token-secret-id, or the stack secret "
        "hfToken), or vLLM cannot download the weights"
    ]


def _check_vllm_version(workload: Workload) -> None:
    """An unsupported --vllm-version fails here, in one line naming the modelled range (sizing's); so does
    a weight format the release cannot make (bnb4 from 0.28), before any candidate is searched."""
    try:
        if workload.vllm_version is not None:
            check_vllm_version(workload.vllm_version)
    except SizingError as exc:
        raise PlanningError(f"{opt('vllm_version')}: {exc}") from exc
    acc = accounting(workload.vllm_version)
    if workload.quantization == "bnb4" and not acc.bitsandbytes:
        raise PlanningError(
            f"{opt('quantization')} bnb4: vLLM {acc.version} has no bitsandbytes quantization (removed in "
            f"0.28); use {opt('quantization')} awq, gptq or fp8, or {opt('vllm_version')} 0.27"
        )


def _check_regions(workload: Workload, catalog: PricedCatalog) -> None:
    missing = [r for r in workload.regions if r not in catalog.regions]
    if missing:
        raise PlanningError(
            f"region(s) {missing} are not in the priced catalog; it has {list(catalog.regions)}: "
            f"load the catalog for the workload's regions"
        )


def _check_previous(previous: str, region: str, catalog: PricedCatalog) -> None:
    """The deployed type must be a catalog type, and its region one the catalog was loaded for."""
    types = sorted({o.instance.instance_type for o in catalog.offers})
    if previous not in types:
        near = difflib.get_close_matches(previous, types, n=3, cutoff=0.5) or types[:3]
        raise PlanningError(
            f"previous instance type {previous!r} is not in the priced catalog; nearest types: "
            f"{', '.join(near)}"
        )
    if region not in catalog.regions:
        raise PlanningError(
            f"previous region {region!r} is not in the priced catalog; it has {list(catalog.regions)}"
        )


def _apply_churn(
    ranked: list[Candidate], previous: str | None, region: str, threshold: float
) -> tuple[Candidate, str | None]:
    """Keep `previous` in `region` (where it is deployed) unless the best plan saves more than `threshold`
    of its ranking cost; never keep it by moving it to another region."""
    best = ranked[0]
    if not previous:
        return best, None
    if best.instance_type == previous and best.offer.price.region == region:
        return best, None
    kept = next((c for c in ranked if c.instance_type == previous and c.offer.price.region == region), None)
    if kept is None:
        return best, f"replaces {previous} in {region}, which no longer serves the workload there"
    cost_kept, cost_best = kept.ranking_usd_per_hour, best.ranking_usd_per_hour
    saving = (cost_kept - cost_best) / cost_kept
    if saving > threshold:
        return (
            best,
            f"replaces {previous} in {region}: saves {saving:.1%} (more than the {threshold:.0%} churn "
            "threshold)",
        )
    return kept, (
        f"kept the current {previous} in {region}: {best.instance_type} in {best.offer.price.region} would "
        f"save only {saving:.1%} (not more than the {threshold:.0%} churn threshold)"
    )


def _alternatives(ranked: list[Candidate], chosen: Candidate, threshold: float) -> tuple[Alternative, ...]:
    """At most ALTERNATIVES runner-ups, distinct (instance type, layout), in rank order: first the best of
    each other instance type (variety), then other layouts (any type, the chosen one's too) to fill."""
    key = _layout_key
    taken = {key(chosen)}
    best_per_type = []
    for c in ranked:
        if (
            c.instance_type != chosen.instance_type
            and key(c) not in taken
            and not any(b.instance_type == c.instance_type for b in best_per_type)
        ):
            best_per_type.append(c)
    picked = best_per_type[:ALTERNATIVES]
    taken |= {key(c) for c in picked}
    for c in ranked:
        if len(picked) == ALTERNATIVES:
            break
        if key(c) not in taken:
            picked.append(c)
            taken.add(key(c))
    picked.sort(key=Candidate.rank_key)
    return tuple(_alternative(c, chosen, threshold) for c in picked)


def _layout_key(c: Candidate) -> tuple:
    lay = c.sized.layout
    return (c.instance_type, lay.tp, lay.pp, lay.instances_per_replica)


def _alternative(c: Candidate, chosen: Candidate, threshold: float) -> Alternative:
    lay, thr = c.sized.layout, c.sized.throughput
    return Alternative(
        instance_type=c.instance_type,
        region=c.offer.price.region,
        instance_count=c.sized.instance_count,
        tensor_parallel_size=lay.tp,
        pipeline_parallel_size=lay.pp,
        replicas=c.sized.replicas,
        capacity_type=c.cost.capacity_type,
        usd_per_hour=c.cost.usd_per_hour,
        usd_per_million_output_tokens=c.usd_per_million_output_tokens,
        why_not=why_not(c, chosen, threshold),
        instances_per_replica=lay.instances_per_replica,
        dtype=c.sized.precision.dtype,
        time_per_output_token_ms=thr.time_per_output_token_ms,
        total_output_tokens_per_s=thr.total_output_tokens_per_s,
    )


def _spot_types(catalog: PricedCatalog, chosen: Candidate) -> tuple[str, ...]:
    """Same-shape types in the same region for spot diversification (the chosen one first)."""
    if not chosen.cost.spot_instances:
        return ()
    inst, region = chosen.offer.instance, chosen.offer.price.region
    band = chosen.offer.price.interruption_band
    price_cap = (spot_price_usd_per_hour(chosen.offer.price) or 0.0) * (
        1 + SPOT_DIVERSIFICATION_PRICE_TOLERANCE
    )
    in_region = ((spot_price_usd_per_hour(o.price), o) for o in catalog.offers if o.price.region == region)
    same = sorted(
        (spot, o.instance.instance_type)
        for spot, o in in_region
        if spot is not None
        and spot <= price_cap
        and _no_riskier(o.price.interruption_band, band)
        and o.instance.memory_gib >= inst.memory_gib
        and o.instance.instance_type != inst.instance_type
        and o.instance.gpu_name == inst.gpu_name
        and o.instance.gpu_count == inst.gpu_count
        and o.instance.gpu_memory_gib == inst.gpu_memory_gib
        and o.instance.gpu_fraction == inst.gpu_fraction
        and (not chosen.sized.layout.instances_per_replica > 1 or o.instance.efa_supported)
    )
    return (inst.instance_type, *[t for _, t in same][: MAX_SPOT_TYPES - 1])


def _no_riskier(band: int | None, chosen_band: int | None) -> bool:
    """A diversification type may not be interrupted more often than the priced one (its Spot Advisor band
    is what the expected spot cost assumed); an unknown band only next to an unknown band."""
    if chosen_band is None:
        return band is None
    return band is not None and band <= chosen_band


def _memory(c: Candidate) -> MemoryBreakdown:
    est = c.sized.advice.estimate
    return MemoryBreakdown(
        total_gpu_memory_gib=est.total_gpu_memory_gib,
        gpu_memory_utilization=est.gpu_memory_utilization,
        weights_gib=est.weights_gib,
        activation_peak_gib=est.activation_peak_gib,
        non_torch_gib=est.non_torch_gib,
        cudagraph_gib=est.cudagraph_gib,
        kv_cache_gib=est.kv_cache_gib,
        kv_bytes_per_token=est.kv_bytes_per_token,
    )


def _build(
    workload: Workload,
    catalog: PricedCatalog,
    arch,
    result: SearchResult,
    c: Candidate,
    churn_note: str | None,
    threshold: float,
    served: ServedCheckpoint,
) -> Plan:
    s, lay, est = c.sized, c.sized.layout, c.sized.advice.estimate
    bound, source = latency_bound(workload)
    runner_up = next((r for r in result.ranked if r.instance_type != c.instance_type), None)
    planner_warnings = [*s.precision.warnings, *capacity_warnings(c, workload)]
    if served.warning:
        planner_warnings.append(served.warning)
    if est.calibration:
        planner_warnings.append(
            f"memory calibrated from your log, not predicted: {est.calibration} (its weights and non-KV "
            "memory replace the model's; the plan runs with that row's max_num_seqs and "
            "max_num_batched_tokens)"
        )
    elif not is_calibrated(est.vllm_version):
        # sizing's constants are fitted on shared/data/vllm_reference_logs.csv, which has no usable row for
        # this release (none from 0.20 on; docs/sizing.md, "Calibration on the reference logs")
        planner_warnings.append(
            f"vLLM {est.vllm_version}: no calibration logs of this release (calibrated: "
            f"{', '.join(CALIBRATED_VLLM_VERSIONS)}; docs/sizing.md); its memory accounting comes from "
            "source reading only: check the KV cache size vLLM logs at startup"
        )
    if "image" in result.rejections:  # GPUs the pinned image or the node AMI cannot run: say which, and why
        count, example = result.rejections["image"]
        planner_warnings.append(
            f"excluded {count} GPU instance shape(s) the image cannot run, e.g. {example.detail}"
        )
    waste = wasteful_utilization(s.advice.recommended_gpu_memory_utilization, workload)
    if waste is not None:
        planner_warnings.append(waste)
    spot_types = _spot_types(catalog, c)
    vcpus, memory_gib = _node_shape(catalog, c, spot_types)
    return Plan(
        served=ServedModel(
            model=arch.hf_id,
            served_model=served.served_model,
            checkpoint_quantization=served.checkpoint_quantization,
            dtype=s.precision.dtype,
            quantization=s.precision.quantization,
            kv_cache_dtype=workload.kv_cache_dtype,
        ),
        vllm=VllmSettings(
            vllm_version=est.vllm_version,
            tensor_parallel_size=lay.tp,
            pipeline_parallel_size=lay.pp,
            gpu_memory_utilization=s.advice.recommended_gpu_memory_utilization,
            max_model_len=workload.max_model_len,
            max_num_seqs=est.max_num_seqs,
            max_num_batched_tokens=est.max_num_batched_tokens,
            block_size=est.block_size,
            kv_cache_tokens=est.kv_cache_tokens,
        ),
        placement=Placement(
            instance_type=c.instance_type,
            region=c.offer.price.region,
            instance_count=s.instance_count,
            instances_per_replica=lay.instances_per_replica,
            replicas=s.replicas,
            capacity_type=c.cost.capacity_type,
            on_demand_instances=c.cost.on_demand_instances,
            spot_instance_types=spot_types,
            efa_interfaces_per_instance=c.offer.instance.efa_max_interfaces
            if lay.instances_per_replica > 1
            else 0,
            availability_zone_ids=tuple(sorted(c.offer.price.spot_usd_per_hour_by_az)),
            node_vcpus=vcpus,
            node_memory_gib=memory_gib,
        ),
        cost=Cost(
            usd_per_hour=c.cost.usd_per_hour,
            billed_usd_per_hour=c.cost.billed_usd_per_hour,
            usd_per_million_output_tokens=c.usd_per_million_output_tokens,
            price_source=c.offer.price.price_source,
            prices_as_of=c.offer.price.prices_as_of,
            on_demand_discount=workload.on_demand_discount,
        ),
        batch=c.batch,
        latency=LatencyBound(
            max_time_per_output_token_ms=bound,
            latency_bound_source=source,
            max_time_to_first_token_ms=ttft_bound(workload)[0],
            ttft_bound_source=ttft_bound(workload)[1],
            tpot_uncertainty=TPOT_UNCERTAINTY if bound is not None else 0.0,
            ttft_uncertainty=TTFT_UNCERTAINTY if ttft_bound(workload)[0] is not None else 0.0,
        ),
        memory=_memory(c),
        throughput=s.throughput,
        alternatives=_alternatives(result.ranked, c, threshold),
        explanation=explanation(c, workload, len(result.ranked), runner_up, churn_note),
        warnings=(*catalog.warnings, *planner_warnings),
    )


def _node_shape(catalog: PricedCatalog, c: Candidate, types: tuple[str, ...]) -> tuple[int, float]:
    """(vCPUs, GiB of RAM) of the smallest of the planned type and its spot alternatives, from the priced
    catalog's instance facts (DescribeInstanceTypes): the pods' requests must fit whichever type launches.
    Spot alternatives are offers of the same region (_spot_types)."""
    region = c.offer.price.region
    by_type = {o.instance.instance_type: o.instance for o in catalog.offers if o.price.region == region}
    shapes = [c.offer.instance, *(by_type[t] for t in types if t != c.instance_type)]
    return min(i.vcpus for i in shapes), min(i.memory_gib for i in shapes)


# --- infeasible workloads: the binding constraint and the nearest options, each re-planned ---------------


def _variants(workload: Workload, arch) -> list[tuple[str, Workload]]:
    w, fmt = workload, weight_format(workload, arch.quantization)
    out: list[tuple[str, Workload]] = []
    if w.allowed_families or w.excluded_families:
        out.append(
            (
                "any GPU family (a larger GPU)",
                w.model_copy(update={"allowed_families": (), "excluded_families": ()}),
            )
        )
    if fmt == "none":
        label = f"{opt('quantization', 'fp8')} (fp8 weights)"
        out.append((label, w.model_copy(update={"quantization": "fp8"})))
    if fmt in ("none", "fp8", "int8"):
        label = f"{opt('quantization', 'awq')} (int4 weights{option_note(arch, 'awq')})"
        out.append((label, w.model_copy(update={"quantization": "awq"})))
    if w.kv_cache_dtype == "auto":
        out.append((opt("kv_cache_dtype", "fp8"), w.model_copy(update={"kv_cache_dtype": "fp8"})))
    if w.max_usd_per_hour is not None:
        out.append((f"no {opt('max_usd_per_hour')}", w.model_copy(update={"max_usd_per_hour": None})))
    if w.target_output_tokens_per_s:
        label = f"no {opt('target_output_tokens_per_s')}"
        out.append((label, w.model_copy(update={"target_output_tokens_per_s": None})))
    if w.strict_dtype and w.dtype == "bf16":
        out.append(
            (
                f"no {opt('strict_dtype')} (fp16 on GPUs without BF16)",
                w.model_copy(update={"strict_dtype": False}),
            )
        )
    if w.capacity != "auto":
        out.append((opt("capacity", "auto"), w.model_copy(update={"capacity": "auto"})))
    if w.deadline_hours is not None:
        out.append((f"no {opt('deadline_hours')}", w.model_copy(update={"deadline_hours": None})))
    if w.min_replicas > 1 or w.availability_zones > 1:
        single = w.model_copy(update={"min_replicas": 1, "availability_zones": 1})
        out.append((f"{opt('min_replicas', 1)} {opt('availability_zones', 1)}", single))
    return out


def _option(label: str, variant: Workload, catalog: PricedCatalog, arch) -> str:
    res = search(variant, catalog, arch)
    if res.ranked:
        return f"{label}: {describe(res.ranked[0])}"
    kind = binding_kind(res)
    if kind == "budget":
        unbounded = search(variant.model_copy(update={"max_usd_per_hour": None}), catalog, arch)
        if unbounded.ranked:
            return f"{label}: over budget, cheapest is {describe(unbounded.ranked[0])}"
    if kind == "latency":
        bound, source = latency_bound(variant)
        unbounded = search(variant, catalog, arch, latency_bound_ms=None)
        if unbounded.ranked:
            best = unbounded.ranked[0]
            return (
                f"{label}: misses the {bound:g} ms/token bound ({source}); cheapest is {describe(best)} at "
                f"{best.sized.throughput.time_per_output_token_ms:.0f} ms/token"
            )
    return f"{label}: still infeasible ({kind or 'no offers'})"


def _latency_option(workload: Workload, kind: str | None, catalog: PricedCatalog, arch) -> str | None:
    """The bound the cheapest layout needs, when the latency bound binds or the workload set one."""
    bound, source = latency_bound(workload)
    if bound is None or (kind != "latency" and source != "workload"):
        return None
    res = search(workload, catalog, arch, latency_bound_ms=None)
    label = f"a looser {opt('max_time_per_output_token_ms')} (now {bound:g} ms, the {source})"
    if not res.ranked:
        return f"{label}: still infeasible without a bound ({binding_kind(res) or 'no offers'})"
    best = res.ranked[0]
    needed = math.ceil(best.sized.throughput.time_per_output_token_ms)
    return f"{opt('max_time_per_output_token_ms', needed)} (now {bound:g} ms, the {source}): {describe(best)}"


def _ttft_options(workload: Workload, catalog: PricedCatalog, arch) -> list[str]:
    """A TTFT bound below the prompt's prefill time: the bound the cheapest layout needs, and the prompt
    length that meets the bound asked."""
    first, source = ttft_bound(workload)
    out = []
    res = search(workload, catalog, arch, ttft_bound_ms=None)
    if res.ranked:
        best = res.ranked[0]
        needed = math.ceil(conservative_ttft_ms(best.sized.throughput))
        out.append(
            f"{opt('max_time_to_first_token_ms', needed)} (now {first:g} ms, the {source}; the predicted "
            f"{best.sized.throughput.time_to_first_token_ms:,.0f} ms + {TTFT_UNCERTAINTY:.0%} model "
            f"uncertainty): {describe(best)}"
        )
    value = workload.input_tokens
    for _ in range(HALVINGS):
        if value // 2 < 1:
            break
        value //= 2
        shorter = workload.model_copy(update={"mean_input_tokens": value})
        found = search(shorter, catalog, arch)
        if found.ranked:
            out.append(f"{opt('mean_input_tokens', value)} (shorter prompts): {describe(found.ranked[0])}")
            break
    return out


HALVINGS = 6  # down to 1/64 of the asked context or concurrency


def _halving_option(
    workload: Workload, field: str, floor: int, catalog: PricedCatalog, arch
) -> str | None:
    """The largest halving of `field` (max_model_len or concurrency) that becomes feasible, with its cost."""
    value = getattr(workload, field)
    limit = arch.max_position_embeddings if field == "max_model_len" else None
    if limit is not None and value > limit:
        # Beyond the model's own limit the "(the model's limit)" option says what to do; halving the asked
        # value would hint lengths no checkpoint serves ("down to 15625000000", issue 11).
        return None
    for _ in range(HALVINGS):
        if value // 2 < floor:
            break
        value //= 2
        res = search(workload.model_copy(update={field: value}), catalog, arch)
        if res.ranked:
            return f"{opt(field, value)}: {describe(res.ranked[0])}"
    if value == getattr(workload, field):
        return None
    return f"{opt(field)} down to {value}: still infeasible ({binding_kind(res) or 'no offers'})"


def _largest_instance(workload: Workload, catalog: PricedCatalog) -> str | None:
    offers = [
        o for o in catalog.offers if o.price.region in workload.regions and eligible(o.instance, workload)
    ]
    if not offers:
        return None
    o = max(
        offers, key=lambda o: (o.instance.gpu_count * o.instance.gpu_memory_gib, o.instance.instance_type)
    )
    i = o.instance
    efa = "EFA, PP across nodes possible" if i.efa_supported else "no EFA: no PP across nodes"
    if i.efa_supported and workload.max_instances_per_replica == 1:
        efa = f"EFA, but {opt('max_instances_per_replica', 1)}: no PP across nodes"
    return (
        f"largest single instance here: {i.instance_type} = {i.gpu_count} x {i.gpu_name} "
        f"{i.gpu_memory_gib:g} "
        f"GiB = {i.gpu_count * i.gpu_memory_gib:,.0f} GiB ({efa})"
    )


def _infeasible(workload: Workload, catalog: PricedCatalog, arch, result: SearchResult) -> str:
    kind = binding_kind(result)
    facts = []
    if (largest := _largest_instance(workload, catalog)) is not None:
        facts.append(largest)
    if not arch.supports_pp:
        facts.append(f"{arch.hf_id} does not support pipeline parallelism in vLLM: no PP across nodes")
    options = [_option(label, v, catalog, arch) for label, v in _variants(workload, arch)]
    if result.span_capped:  # the instances-per-replica cap binds: lifting it comes first
        cap = workload.max_instances_per_replica
        facts.append(
            f"{opt('max_instances_per_replica', cap)} binds: {result.span_capped} EFA instance shape(s) here "
            f"hold the model only with PP across more instances (up to {MAX_NODES_PER_REPLICA})"
        )
        lifted = workload.model_copy(update={"max_instances_per_replica": None})
        label = (
            f"lift {opt('max_instances_per_replica')} (now {cap}; the Pulumi program's target eks runs "
            "replicas across instances, target ec2 cannot)"
        )
        options.insert(0, _option(label, lifted, catalog, arch))
    if (latency := _latency_option(workload, kind, catalog, arch)) is not None:
        options.append(latency)
    if kind == "ttft":
        options += _ttft_options(workload, catalog, arch)
    longest = arch.max_position_embeddings
    if workload.max_model_len > longest:  # the model's own limit first, then halvings
        capped = workload.model_copy(update={"max_model_len": longest})
        label = f"{opt('max_model_len', longest)} (the model's limit)"
        options.append(_option(label, capped, catalog, arch))
    for field, floor in (("max_model_len", 256), ("concurrency", 1)):
        if (option := _halving_option(workload, field, floor, catalog, arch)) is not None:
            options.append(option)
    fmt = weight_format(workload, arch.quantization)
    return infeasible_message(
        workload, arch.hf_id, workload.dtype if fmt == "none" else fmt, result, options, facts
    )


# Below this tuned gpu_memory_utilization more than half of each GPU's memory, which the plan pays for,
# holds neither weights nor KV cache: memory did not choose the layout, a speed bound did (a policy threshold:
# at 0.5 the same model and KV would fit GPUs of half the memory, the step between AWS GPU sizes,
# e.g. L4 22 GiB -> L40S 45 GiB -> H100 80 GiB, sizing/data/gpus.json).
WASTEFUL_UTILIZATION = 0.5


def wasteful_utilization(utilization: float | None, workload: Workload) -> str | None:
    """A warning when the chosen layout leaves most of its GPU memory idle, naming the bound that chose it."""
    if utilization is None or utilization >= WASTEFUL_UTILIZATION:
        return None
    reasons = []
    if workload.max_time_per_output_token_ms is not None:
        reasons.append(f"{opt('max_time_per_output_token_ms')} {workload.max_time_per_output_token_ms:g}")
    if workload.target_output_tokens_per_s is not None:
        target = workload.target_output_tokens_per_s
        reasons.append(f"{opt('target_output_tokens_per_s')} {target:g}")
    why = " and ".join(reasons) or "the latency bound"
    return (f"wasteful layout: gpu_memory_utilization {utilization:.2f} is below {WASTEFUL_UTILIZATION} "
            f"(more than half of each GPU's memory, paid for, stays empty); {why} chose it, not memory: "
            "relax it to pay for less")
