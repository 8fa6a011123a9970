"""Candidate search: every GPU offer x (TP, PP) layout x replicas, the feasible ones ranked by cost (pure).

Layouts per instance shape (g GPUs per instance):
- TP in 1, 2, 4, 8 (16) dividing g, validated by sizing.check_layout (heads % TP, KV-head rules).
- PP inside one instance only on PCIe-only types (g4dn, g5, g6, g6e, g7e): vLLM's docs advise pipeline
  rather than tensor parallelism when GPUs lack NVLink ("Parallelism and Scaling": PP when "GPUs lack
  NVLink (e.g., L40S)"); on NVLink types TP is the better split.
- PP across instances only when no single-instance layout of that shape holds the model, only on
  EFA-capable types (the stage hand-off and NCCL traffic need EFA, and the nodes a cluster placement
  group), up to MAX_NODES_PER_REPLICA nodes or Workload.max_instances_per_replica if lower (1 for the EC2
  target, which runs no Ray cluster across instances): TP = the node's GPUs on NVLink, any TP on PCIe.
Replicas: the fewest whose KV pools hold concurrency x max_model_len x (1 + headroom), then more while a
throughput target or a time-per-output-token bound is missed; the instances bought are then filled with
replicas (an idle GPU costs the same as a busy one).
Latency bound: the workload's max_time_per_output_token_ms; for realtime work without one,
REALTIME_DEFAULT_MAX_TIME_PER_OUTPUT_TOKEN_MS = 100 ms per output token (10 tokens/s per request).
Databricks' LLM benchmarking guide ("Conduct your own LLM endpoint benchmarking", docs.databricks.com):
"a TPOT of 100 milliseconds per token would be 10 tokens per second per user, or ~450 words per minute,
which is faster than a typical person can read" - about 1.8x the ~250 words/min of reading (~5.5
tokens/s at ~1.3 tokens per word), the margin the roofline's optimism (no scheduler overhead, see
planner/throughput.py) needs. A user relaxes it with --max-time-per-output-token-ms; batch has none.
Time to first token: the workload's max_time_to_first_token_ms; for realtime work without one,
REALTIME_DEFAULT_MAX_TIME_TO_FIRST_TOKEN_MS = 2000 ms when it states mean_input_tokens (the default prompt
is max_model_len's capacity worst case), MLPerf Inference's server-scenario bound for Llama-2-70B
(mlcommons/inference loadgen/mlperf.conf: "llama2-70b.Server.ttft_latency = 2000", beside
"llama2-70b.Server.tpot_latency = 200"). Both bounds are checked against the model's conservative estimate:
predicted x (1 + TPOT_UNCERTAINTY or TTFT_UNCERTAINTY), the model's median held-out error on vLLM runs
(planner/throughput.py), so a plan near a bound carries the model's uncertainty.
Ranking (deterministic): expected USD/hour x the complexity penalty (ranking_usd_per_hour: +10% per
extra node in a replica, +5% when bf16 is planned as fp16; docs/planner.md "Ranking");
on PCIe no TP above 2 (vLLM's custom all-reduce stops at
two PCIe GPUs, NCCL takes over: PP preferred, see planner/throughput.py); higher output tokens/s; fewer
instances; fewer GPUs per replica; region in the order asked; instance type name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from llm_advisor.planner import batch as batch_work
from llm_advisor.planner.costing import CapacityCost, choose_capacity, discounted
from llm_advisor.planner.models import BatchEstimate, ThroughputEstimate, Workload
from llm_advisor.planner.sizer import (
    Precision,
    ReplicaSizer,
    precision_for,
    replicas_for_memory,
    tuned_max_num_seqs,
)
from llm_advisor.planner.throughput import (
    PCIE_CUSTOM_ALLREDUCE_MAX_TP,
    PCIE_USABLE_GB_PER_S,
    TPOT_UNCERTAINTY,
    TTFT_UNCERTAINTY,
    ReplicaShape,
    RequestShape,
    estimate_throughput,
    usd_per_million_output_tokens,
)
from pricing.models import InstanceType, Offer, PricedCatalog
from sizing.images import gpu_error
from sizing.models import MemoryEstimate, UtilizationAdvice

MAX_INSTANCES = 64  # a plan beyond this many GPU instances is past typical account quotas: reported instead
MAX_NODES_PER_REPLICA = 4
TP_SIZES = (1, 2, 4, 8, 16)
# Complexity penalty of the ranking (docs/planner.md, "Ranking"): a replica spanning N nodes ranks at
# USD/h x (1 + EXTRA_NODE_PENALTY x (N - 1)): every extra node is one more EFA/placement-group capacity
# request, one more failure or interruption that stops the whole pipeline, and NCCL over the network; a
# bf16 workload planned as fp16 (T4, V100) ranks at x (1 + FP16_FALLBACK_PENALTY) for its overflow risk.
EXTRA_NODE_PENALTY = 0.10
FP16_FALLBACK_PENALTY = 0.05
REALTIME_DEFAULT_MAX_TIME_PER_OUTPUT_TOKEN_MS = 100.0  # 10 tokens/s per request; see the module docstring
REALTIME_DEFAULT_MAX_TIME_TO_FIRST_TOKEN_MS = 2000.0  # MLPerf Llama-2-70B server bound; module docstring
FROM_WORKLOAD = object()  # search(..., latency_bound_ms=FROM_WORKLOAD): the bound latency_bound() gives


@dataclass(frozen=True, slots=True)
class Layout:
    tp: int
    pp: int
    instances_per_replica: int = 1
    replicas_per_instance: int = 1

    @property
    def gpus(self) -> int:
        return self.tp * self.pp


@dataclass(frozen=True, slots=True)
class Sized:
    """A layout that serves the workload on one instance shape, before any price."""

    layout: Layout
    precision: Precision
    replicas: int
    instance_count: int
    concurrency_per_replica: int
    advice: UtilizationAdvice
    throughput: ThroughputEstimate


@dataclass(frozen=True, slots=True)
class Rejected:
    kind: str
    detail: str
    score: float = 0.0  # smaller = closer to feasible, to pick the example worth quoting


@dataclass(frozen=True, slots=True)
class Candidate:
    offer: Offer
    sized: Sized
    cost: CapacityCost
    usd_per_million_output_tokens: float | None
    region_rank: int
    batch: BatchEstimate | None = None  # a batch volume: the cost to finish it (planner/batch.py)
    rank_cost: float | None = None  # batch: total cost or USD per million output tokens, x the penalty

    @property
    def instance_type(self) -> str:
        return self.offer.instance.instance_type

    @property
    def complexity_factor(self) -> float:
        """The ranking's penalty factor (1.0 for a single-node replica at the asked dtype)."""
        nodes = 1 + EXTRA_NODE_PENALTY * (self.sized.layout.instances_per_replica - 1)
        return nodes * (1 + FP16_FALLBACK_PENALTY if self.sized.precision.fp16_fallback else 1.0)

    @property
    def ranking_usd_per_hour(self) -> float:
        """Expected USD/h x the complexity penalty: what candidates are ranked (and churn compared) on."""
        return round(self.cost.usd_per_hour * self.complexity_factor, 4)

    def rank_key(self) -> tuple:
        inst, lay = self.offer.instance, self.sized.layout
        pcie_tp = lay.tp if inst.interconnect == "pcie" and lay.tp > PCIE_CUSTOM_ALLREDUCE_MAX_TP else 0
        return (
            self.ranking_usd_per_hour if self.rank_cost is None else self.rank_cost,
            pcie_tp,
            -self.sized.throughput.total_output_tokens_per_s,
            self.sized.instance_count,
            lay.gpus,
            self.region_rank,
            inst.instance_type,
            lay.tp,
            lay.pp,
        )


@dataclass
class SearchResult:
    ranked: list[Candidate]
    rejections: dict[str, tuple[int, Rejected]] = field(default_factory=dict)
    sizing_calls: int = 0
    layouts_evaluated: int = 0
    span_capped: int = 0  # instance shapes that needed more instances per replica than the workload allows

    def reject(self, r: Rejected) -> None:
        count, best = self.rejections.get(r.kind, (0, r))
        self.rejections[r.kind] = (count + 1, best if best.score <= r.score else r)


def latency_bound(workload: Workload) -> tuple[float | None, str | None]:
    """(ms per output token, source): the workload's bound, else the realtime default, else none."""
    if workload.max_time_per_output_token_ms is not None:
        return workload.max_time_per_output_token_ms, "workload"
    if workload.workload_type == "realtime":
        return REALTIME_DEFAULT_MAX_TIME_PER_OUTPUT_TOKEN_MS, "realtime default"
    return None, None


def ttft_bound(workload: Workload) -> tuple[float | None, str | None]:
    """(ms to the first token, source): the workload's bound, else the realtime default when the workload
    states its prompt length (mean_input_tokens), else none. The default request shape (3/4 of max_model_len
    as prompt) is the capacity worst case, not a typical prompt: MLPerf's 2 s is set for chat prompts."""
    if workload.max_time_to_first_token_ms is not None:
        return workload.max_time_to_first_token_ms, "workload"
    if workload.workload_type == "realtime" and workload.mean_input_tokens is not None:
        return REALTIME_DEFAULT_MAX_TIME_TO_FIRST_TOKEN_MS, "realtime default"
    return None, None


def conservative_tpot_ms(thr: ThroughputEstimate) -> float:
    """The TPOT planned against: the prediction plus the model's median held-out error."""
    return thr.time_per_output_token_ms * (1 + TPOT_UNCERTAINTY)


def conservative_ttft_ms(thr: ThroughputEstimate) -> float:
    """The TTFT planned against: the prediction plus the model's median held-out error."""
    return (thr.time_to_first_token_ms or 0.0) * (1 + TTFT_UNCERTAINTY)


def eligible(inst: InstanceType, workload: Workload) -> bool:
    """An NVIDIA GPU instance with whole GPUs, inside the family filters (Neuron and g6f slices are out)."""
    if (
        inst.accelerator_kind != "nvidia_gpu"
        or inst.gpu is None
        or inst.gpu_fraction < 1
        or inst.gpu_count < 1
    ):
        return False
    if workload.allowed_families and inst.family not in workload.allowed_families:
        return False
    return inst.family not in workload.excluded_families


def in_node_layouts(inst: InstanceType) -> list[Layout]:
    g = inst.gpu_count
    out = []
    for tp in (t for t in TP_SIZES if t <= g and g % t == 0):
        pps = [1] + (
            [p for p in (2, 4, 8) if tp * p <= g and g % (tp * p) == 0] if inst.interconnect == "pcie" else []
        )
        out += [Layout(tp, pp, 1, g // (tp * pp)) for pp in pps]
    return out


def max_nodes(workload: Workload) -> int:
    """Instances one replica may span: the workload's cap (1 for the EC2 target), else the planner's."""
    cap = workload.max_instances_per_replica
    return MAX_NODES_PER_REPLICA if cap is None else min(cap, MAX_NODES_PER_REPLICA)


def multi_node_layouts(inst: InstanceType, nodes_cap: int = MAX_NODES_PER_REPLICA) -> list[Layout]:
    g = inst.gpu_count
    tps = [g] if inst.interconnect == "nvlink" else [t for t in TP_SIZES if t <= g and g % t == 0]
    return [Layout(tp, nodes * (g // tp), nodes, 1) for nodes in range(2, nodes_cap + 1) for tp in tps]


def _kv_width(layer) -> int:
    a = layer.attention
    if a is None or a.kv_shared:
        return 0
    return a.num_kv_heads * (a.head_dim + a.v_head_dim)


def arch_facts(arch) -> dict:
    """What the step-time model reads from the architecture: the routed experts' share of the weights,
    the experts per token, the sliding-window layers' share of the KV and their window, the query width."""
    total = max(1, arch.total_params)
    routed = sum(layer.routed_expert_params for layer in arch.layers)
    widths = [(_kv_width(layer), layer.attention) for layer in arch.layers]
    all_kv = sum(w for w, _ in widths) or 1
    sliding = [
        (w, a) for w, a in widths if a is not None and a.kind in ("sliding", "chunked") and a.window_tokens
    ]
    return dict(
        routed_expert_fraction=routed / total,
        num_experts=arch.num_experts,
        experts_per_token=arch.num_experts_per_tok,
        sliding_kv_fraction=sum(w for w, _ in sliding) / all_kv,
        sliding_window=max((a.window_tokens for _, a in sliding), default=0),
        attention_width=arch.num_attention_heads * arch.head_dim,
    )


def replica_shape(
    inst: InstanceType, layout: Layout, est: MemoryEstimate, prec: Precision, arch, cap_batch: bool = False
) -> ReplicaShape:
    """The step-time model's view of one replica. `cap_batch`: cap the batch by est's KV pool and
    max_num_seqs (the `throughput` command); the planner sizes the pool to the load instead."""
    gpu = inst.gpu
    nvlink = inst.interconnect == "nvlink" and inst.nvlink_gb_s > 0
    return ReplicaShape(
        memory_bandwidth_gb_per_s=gpu.memory_bandwidth_gb_s,
        dense_tflops=prec.dense_tflops,
        nvlink=nvlink,
        link_gb_per_s=inst.nvlink_gb_s / 2 if nvlink else PCIE_USABLE_GB_PER_S,
        network_gb_per_s=inst.network_gbps / 8,
        tensor_parallel_size=layout.tp,
        pipeline_parallel_size=layout.pp,
        num_hidden_layers=arch.num_hidden_layers,
        hidden_size=arch.hidden_size,
        weights_bytes_per_gpu=est.weights_gib * 2**30,
        kv_bytes_per_token_per_gpu=est.kv_bytes_per_token,
        active_params=arch.active_params,
        total_params=arch.total_params,
        is_moe=arch.is_moe,
        instances_per_replica=layout.instances_per_replica,
        fp8_weights=prec.quantization == "fp8",
        kv_cache_tokens=est.kv_cache_tokens if cap_batch else 0,
        max_num_seqs=est.max_num_seqs if cap_batch else 0,
        max_num_batched_tokens=est.max_num_batched_tokens,
        **arch_facts(arch),
    )


def _fill(replicas: int, layout: Layout, min_units: int = 1) -> tuple[int, int]:
    """(replicas, instances) once the instances bought are filled with replicas; at least `min_units`
    capacity units (an instance, or a multi-instance replica): one per availability zone asked."""
    if layout.instances_per_replica > 1:
        replicas = max(replicas, min_units)
        return replicas, replicas * layout.instances_per_replica
    instances = max(math.ceil(replicas / layout.replicas_per_instance), min_units)
    return instances * layout.replicas_per_instance, instances


class Searcher:
    """One planning run over one catalog: sizing cached per (GPU, TP, PP), layouts per instance shape."""

    def __init__(
        self, workload: Workload, arch, latency_bound_ms: float | None, ttft_bound_ms: float | None = None
    ) -> None:
        self.workload = workload
        self.arch = arch
        self.latency_bound_ms = latency_bound_ms
        self.ttft_bound_ms = ttft_bound_ms
        self.sizer = ReplicaSizer(workload, arch)
        self._shapes: dict[tuple, list[Sized | Rejected]] = {}
        self.layouts_evaluated = 0
        self.nodes_cap = max_nodes(workload)
        self.span_capped = 0

    def _meets_targets(self, thr: ThroughputEstimate) -> Rejected | None:
        w, bound = self.workload, self.latency_bound_ms
        if bound is not None and conservative_tpot_ms(thr) > bound:
            return Rejected(
                "latency",
                f"{thr.time_per_output_token_ms:.1f} ms per output token (+{TPOT_UNCERTAINTY:.0%} model "
                f"uncertainty = {conservative_tpot_ms(thr):.1f}) at batch {thr.batch_size} > {bound:g} ms",
                conservative_tpot_ms(thr),
            )
        first = self.ttft_bound_ms
        if first is not None and conservative_ttft_ms(thr) > first:
            return Rejected(
                "ttft",
                f"{thr.time_to_first_token_ms or 0:,.0f} ms to the first token of a {w.input_tokens:,}-token "
                f"prompt (+{TTFT_UNCERTAINTY:.0%} model uncertainty = {conservative_ttft_ms(thr):,.0f}) at "
                f"batch {thr.batch_size} > {first:g} ms",
                conservative_ttft_ms(thr),
            )
        if w.target_output_tokens_per_s and thr.total_output_tokens_per_s < w.target_output_tokens_per_s:
            return Rejected(
                "throughput",
                f"{thr.total_output_tokens_per_s:,.0f} output tokens/s < target "
                f"{w.target_output_tokens_per_s:,.0f}",
                -thr.total_output_tokens_per_s,
            )
        return None

    def size(self, inst: InstanceType, layout: Layout, prec: Precision) -> Sized | Rejected:
        """The replicas and instances a layout needs on this shape, or why it cannot serve the workload."""
        self.layouts_evaluated += 1
        w, mem = self.workload, inst.gpu_memory_gib
        label = f"{inst.gpu_count} x {inst.gpu_name} {mem:g} GiB, TP={layout.tp} PP={layout.pp}"
        if self.sizer.cannot_fit(prec.quantization, mem, layout.gpus):
            need = self.sizer.weights_lower_bound_gib(prec.quantization)
            return Rejected(
                "weights",
                f"{label}: weights alone need >= {need:,.0f} GiB, "
                f"{layout.gpus} GPUs give {layout.gpus * mem:,.0f} GiB",
                need - layout.gpus * mem,
            )
        est = self.sizer.at_ceiling(inst.gpu, mem, layout.tp, layout.pp, prec)
        if isinstance(est, str):
            return Rejected("layout", est)
        if est.kv_cache_gib <= 0:
            used = est.weights_gib + est.activation_peak_gib + est.non_torch_gib + est.cudagraph_gib
            budget = est.total_gpu_memory_gib * est.gpu_memory_utilization
            return Rejected(
                "weights",
                f"{label}: weights {est.weights_gib:.1f} GiB + activations and overhead "
                f"= {used:.1f} GiB per GPU > budget {budget:.1f} GiB at utilization "
                f"{est.gpu_memory_utilization}",
                used - budget,
            )
        if not est.fits or est.max_concurrency < 1:
            return Rejected(
                "context",
                f"{label}: KV pool holds {est.kv_cache_tokens:,} tokens per replica, one "
                f"{w.max_model_len:,}-token request does not fit",
                w.max_model_len - est.kv_cache_tokens,
            )
        return self._scale(inst, layout, prec, est, label)

    def _scale(self, inst, layout, prec, est, label) -> Sized | Rejected:
        w = self.workload
        replicas = max(self._first_replicas(inst, layout, prec, est), w.min_replicas)
        shape = replica_shape(inst, layout, est, prec, self.arch)
        while True:
            replicas, instances = _fill(replicas, layout, w.availability_zones)
            if instances > MAX_INSTANCES:
                return Rejected(
                    "scale", f"{label}: needs {instances} instances (> {MAX_INSTANCES})", instances
                )
            per_replica = math.ceil(w.concurrency / replicas)
            request = RequestShape(w.input_tokens, w.output_tokens)
            thr = estimate_throughput(shape, per_replica, request, replicas, prec.notes)
            missed = self._meets_targets(thr)
            if missed is not None:
                if per_replica == 1:
                    return Rejected(
                        missed.kind, f"{label}: {missed.detail} even at one request per replica", missed.score
                    )
                replicas += 1
                continue
            advice = self.sizer.advise(
                inst.gpu,
                inst.gpu_memory_gib,
                layout.tp,
                layout.pp,
                prec,
                per_replica,
                est.max_num_batched_tokens,
            )
            if not advice.fits:
                replicas += 1
                continue
            return Sized(layout, prec, replicas, instances, per_replica, advice, thr)

    def _first_replicas(self, inst, layout, prec, est: MemoryEstimate) -> int:
        """Replicas to try first. `est` sizes the sampler for one replica carrying the whole workload; with
        more replicas each gets a smaller max_num_seqs (tuned_max_num_seqs) and so more KV: re-estimate at
        that value once (never more replicas than `est` says; _scale adds any that are still missing)."""
        w = self.workload
        first = replicas_for_memory(w.concurrency, w.headroom, est.max_concurrency)
        seqs = tuned_max_num_seqs(math.ceil(w.concurrency / max(first, 1)), w.headroom)
        if first <= 1 or seqs >= est.max_num_seqs:
            return first
        finer = self.sizer.at_ceiling(inst.gpu, inst.gpu_memory_gib, layout.tp, layout.pp, prec, seqs)
        if isinstance(finer, str) or finer.max_concurrency <= 0:
            return first
        return min(first, replicas_for_memory(w.concurrency, w.headroom, finer.max_concurrency))

    def shape_results(self, inst: InstanceType) -> list[Sized | Rejected]:
        """Every layout of this instance shape, sized once for all regions and sizes that share it."""
        key = (
            inst.gpu_name,
            inst.gpu_memory_gib,
            inst.gpu_count,
            inst.interconnect,
            inst.nvlink_gb_s,
            inst.efa_supported,
            inst.network_gbps,
            inst.gpu.compute_capability,
        )
        if key in self._shapes:
            return self._shapes[key]
        prec = precision_for(self.workload, self.arch.quantization, inst.gpu)
        if isinstance(prec, str):
            results: list[Sized | Rejected] = [Rejected("precision", prec)]
        elif (image_err := self._image_error(inst)) is not None:
            results = [Rejected("image", image_err)]
        elif (err := self.sizer.profile_error(inst.gpu, inst.gpu_memory_gib)) is not None:
            results = [Rejected("layout", err)]
        else:
            results = [self.size(inst, lay, prec) for lay in in_node_layouts(inst)]
            if not any(isinstance(r, Sized) for r in results) and self._may_span(inst, results):
                results += [self.size(inst, lay, prec) for lay in multi_node_layouts(inst, self.nodes_cap)]
                if not any(isinstance(r, Sized) for r in results) and self.nodes_cap < MAX_NODES_PER_REPLICA:
                    self.span_capped += 1  # Workload.max_instances_per_replica may be what binds
        self._shapes[key] = results
        return results

    def _image_error(self, inst: InstanceType) -> str | None:
        """The pinned image (or the node AMI's driver) cannot run this GPU (sizing/data/vllm_images.json)."""
        w = self.workload
        if w.custom_image:  # its CUDA build is unknown: only the AMI's driver is checked
            return gpu_error(None, inst.gpu_name, inst.gpu.compute_capability, w.node_ami, image_known=False)
        return gpu_error(w.vllm_version, inst.gpu_name, inst.gpu.compute_capability, w.node_ami)

    def _may_span(self, inst: InstanceType, results: list) -> bool:
        """PP across instances: the model does not fit one instance, the type has EFA, the model has PP."""
        too_big = any(isinstance(r, Rejected) and r.kind in ("weights", "context") for r in results)
        return too_big and inst.efa_supported and bool(self.arch.supports_pp)


def search(
    workload: Workload,
    catalog: PricedCatalog,
    arch,
    *,
    latency_bound_ms: float | None | object = FROM_WORKLOAD,
    ttft_bound_ms: float | None | object = FROM_WORKLOAD,
) -> SearchResult:
    """All feasible candidates in the workload's regions, cheapest first, and why the others failed.

    `latency_bound_ms` / `ttft_bound_ms` override the bounds (None: no bound), to price relaxing them in
    infeasible messages.
    """
    bound = latency_bound(workload)[0] if latency_bound_ms is FROM_WORKLOAD else latency_bound_ms
    first = ttft_bound(workload)[0] if ttft_bound_ms is FROM_WORKLOAD else ttft_bound_ms
    searcher = Searcher(workload, arch, bound, first)
    result = SearchResult(ranked=[])
    region_rank = {r: i for i, r in enumerate(workload.regions)}
    for offer in catalog.offers:
        inst = offer.instance
        if offer.price.region not in region_rank or not eligible(inst, workload):
            continue
        for sized in searcher.shape_results(inst):
            if isinstance(sized, Rejected):
                result.reject(sized)
                continue
            cand = _priced(offer, sized, workload, region_rank[offer.price.region])
            if isinstance(cand, Rejected):
                result.reject(cand)
            else:
                result.ranked.append(cand)
    result.ranked.sort(key=Candidate.rank_key)
    result.sizing_calls = searcher.sizer.sizing_calls
    result.layouts_evaluated = searcher.layouts_evaluated
    result.span_capped = searcher.span_capped
    return result


def _priced(offer: Offer, sized: Sized, workload: Workload, region_rank: int) -> Candidate | Rejected:
    price = discounted(offer.price, workload.on_demand_discount)
    if price is not offer.price:
        offer = offer.model_copy(update={"price": price})
    unit = sized.layout.instances_per_replica
    where = f"{sized.instance_count} x {offer.instance.instance_type} in {offer.price.region}"
    azs = len(offer.price.spot_usd_per_hour_by_az)
    if workload.availability_zones > 1 and azs < workload.availability_zones:
        known = f"offered in {azs} AZ(s)" if azs else "its AZs are not known (no per-AZ spot prices)"
        return Rejected(
            "availability",
            f"{offer.instance.instance_type} in {offer.price.region}: {known}, "
            f"{workload.availability_zones} asked",
            workload.availability_zones - azs,
        )
    estimate = None
    if workload.batch_output_tokens is not None:
        volume = _for_volume(offer, sized, workload)
        if isinstance(volume, Rejected):
            return volume
        sized, cost, estimate = volume
        where = f"{sized.instance_count} x {offer.instance.instance_type} in {offer.price.region}"
    else:
        cost = choose_capacity(
            offer.price, sized.instance_count, unit, workload.workload_type, workload.capacity
        )
    if cost is None:
        return Rejected("price", f"{where}: no {workload.capacity} price")
    if workload.max_usd_per_hour is not None and cost.usd_per_hour > workload.max_usd_per_hour:
        return Rejected(
            "budget",
            f"{where} ({cost.capacity_type}) costs ${cost.usd_per_hour:,.2f}/h > budget "
            f"${workload.max_usd_per_hour:,.2f}/h",
            cost.usd_per_hour,
        )
    per_m = usd_per_million_output_tokens(cost.usd_per_hour, sized.throughput.total_output_tokens_per_s)
    cand = Candidate(offer, sized, cost, per_m, region_rank, batch=estimate)
    if estimate is not None:
        return replace(
            cand,
            usd_per_million_output_tokens=estimate.usd_per_million_output_tokens,
            rank_cost=round(estimate.total_usd * cand.complexity_factor, 4),
        )
    if workload.workload_type == "batch" and per_m is not None:
        # A standing batch load is bought per token, not per hour (issue 10): rank by USD per million.
        return replace(cand, rank_cost=round(per_m * cand.complexity_factor, 6))
    return cand


def _times(sized: Sized, k: int) -> Sized:
    """`k` copies of a sized fleet side by side (batch work splits across replicas)."""
    if k == 1:
        return sized
    thr = sized.throughput
    total = round(thr.total_output_tokens_per_s * k, 1)
    return replace(
        sized,
        replicas=sized.replicas * k,
        instance_count=sized.instance_count * k,
        throughput=thr.model_copy(update={"total_output_tokens_per_s": total}),
    )


def _for_volume(
    offer: Offer, sized: Sized, workload: Workload
) -> tuple[Sized, CapacityCost, BatchEstimate] | Rejected:
    """The cheapest way to finish the batch volume on this layout (capacity x fleet copies), by total cost."""
    w, unit = workload, sized.layout.instances_per_replica
    ratio = w.input_tokens / w.output_tokens
    rate = sized.throughput.total_output_tokens_per_s
    work_one = batch_work.work_hours(w.batch_output_tokens, w.batch_input_tokens, rate, ratio)
    prefs = ("on-demand", "spot") if w.capacity == "auto" else (w.capacity,)
    best: tuple[Sized, CapacityCost, BatchEstimate] | None = None
    too_many: int | None = None
    for pref in prefs:
        one = choose_capacity(offer.price, sized.instance_count, unit, "batch", pref)
        if one is None:
            continue
        per_unit = batch_work.lost_hours_per_interruption_share(offer.price.interruption_band, unit)
        lost = per_unit * one.spot_instances / sized.instance_count
        k = batch_work.fleets_for_deadline(work_one, lost, w.deadline_hours)
        if k is None:
            continue
        if sized.instance_count * k > MAX_INSTANCES:
            too_many = min(too_many or k, k)
            continue
        scaled = _times(sized, k)
        cost = choose_capacity(offer.price, scaled.instance_count, unit, "batch", pref)
        if cost is None:
            continue
        work = work_one / k
        hours = batch_work.wall_hours(work, per_unit * cost.spot_instances / scaled.instance_count)
        total = cost.billed_usd_per_hour * hours
        tokens = w.batch_output_tokens + (w.batch_input_tokens or 0)
        est = BatchEstimate(
            input_tokens=w.batch_input_tokens or 0,
            output_tokens=w.batch_output_tokens,
            work_hours=round(work, 4),
            hours=round(hours, 4),
            total_usd=round(total, 2),
            usd_per_million_tokens=round(total / tokens * 1e6, 4),
            usd_per_million_output_tokens=round(total / w.batch_output_tokens * 1e6, 4),
            deadline_hours=w.deadline_hours,
            fleets=k,
        )
        cost = replace(cost, usd_per_hour=round(total / work, 4) if work > 0 else cost.usd_per_hour)
        if best is None or est.total_usd < best[2].total_usd:
            best = (scaled, cost, est)
    if best is not None:
        return best
    label = f"{sized.instance_count} x {offer.instance.instance_type} in {offer.price.region}"
    if too_many is not None:
        return Rejected(
            "deadline",
            f"{label}: {work_one:,.1f} h of work needs {too_many} copies = {sized.instance_count * too_many} "
            f"instances (> {MAX_INSTANCES}) to finish in {w.deadline_hours:g} h",
            work_one,
        )
    if w.deadline_hours is not None and any(
        choose_capacity(offer.price, sized.instance_count, unit, "batch", p) for p in prefs
    ):
        return Rejected(
            "deadline",
            f"{label}: {w.capacity} spot interruptions alone expect to lose more than {w.deadline_hours:g} h",
            work_one,
        )
    return Rejected("price", f"{label}: no {w.capacity} price")
