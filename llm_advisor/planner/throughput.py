"""Step-time model of one vLLM replica: decode steps with chunked prefill mixed in, TTFT at the load (pure).

One engine step (per pipeline stage, for a micro-batch of `d` decoding sequences and `p` prefill tokens):

    t_weights = weight bytes read (x fp8_weight_time_factor for FP8)  (MoE: only the experts the tokens hit)
    t_kv      = d x (context x full-attention KV bytes + min(context, window) x sliding-window KV bytes)
    t_memory  = (t_weights + t_kv) / (bandwidth x bandwidth_efficiency)
    t_compute = (d + p) x 2 x active params per GPU + prefill attention / (dense TFLOPS x compute_efficiency)
    t_step    = max(t_memory, t_compute) + overlap_loss x min(t_memory, t_compute)
                + step_overhead + layers on the stage x layer_overhead + TP all-reduces + PP hand-off

Request shape and load (closed loop at `concurrency` requests, the way `vllm bench serve --max-concurrency`
measures): every request brings `input` prompt tokens and `output` generated tokens. In steady state a
step carries d decode tokens and d x input / output prefill tokens (vLLM's chunked prefill mixes them into
the decode batch, bounded by max_num_batched_tokens), so TPOT and tokens/s include the prefill:

    TPOT   = PP x t_step(d = B / PP, p = d x input / output)
    TTFT   = ceil(input / chunk) x PP x t_step(d, chunk), chunk = max_num_batched_tokens - d (at most input)
    tokens/s per replica = B x output / (TTFT + (output - 1) x TPOT)           (Little's law on B slots)

B, the batch, is the concurrency capped by the KV pool (kv_cache_tokens // (input + output)) and by
max_num_seqs; requests above it wait in the queue and their wait is added to TTFT (bound "kv-capacity").
Context read by a decode step: input + output / 2, the mean over a request's decode.

Terms and where each comes from:
- The six free parameters (StepParams), FITTED by `python bench/throughput.py --fit` on
  bench/data/serving_calibration.csv (published runs, one URL per row; vLLM rows only); that script prints
  the leave-one-source-out error (docs/planner.md, "Calibration"):
  - bandwidth_efficiency, step_overhead_s, layer_overhead_s: a per-step fixed cost (scheduler, sampler,
    CUDA-graph launch) and a per-layer cost (kernel launches, norms, rotary) are why small models decode
    far below their bandwidth roofline (issue 12: "no fixed per-step or per-layer cost"). The per-step
    cost ends at the grid's 3 ms cap.
  - compute_efficiency (0.3-0.9 tried) and overlap_loss (0, 0.5, 1 tried): issue 12 called the compute
    efficiency "an untested guess" and max(memory, compute) optimistic. The fit keeps 0.5 and 0.5: other
    points of the grid lose on the calibration set and on the held-out error (docs/planner.md).
  - fp8_weight_time_factor (1.0, 1.25, 1.6 tried): the time of one FP8 weight byte in bytes. Issue 12
    measured FP8 decode about 1.25x (not 2x) faster than 16-bit against a model without fixed costs, and
    the model charged 2 / 1.25 = 1.6 on top of its overheads; that made B200 FP8 TPOT rise with the batch
    where the measured one stays flat. The fit picks 1.0: with the per-step cost, FP8 read at its bytes
    already gives the measured ~1.25x at batch 1 on a 49B model; leave-one-source-out on the vLLM rows
    improves from 12% to 4% (tokens/s) and from 12% to 11% (TPOT), and NIM's FP8 H100 rows (not fitted)
    from 15% to 9% TPOT.
- MoE: a step's n tokens each route to k of E experts; the expected distinct experts per layer are
  E x (1 - (1 - k/E)^n) (tokens routed independently and uniformly, an idealisation), so the routed
  expert bytes read are that fraction of the routed weights (batch 1 reads only the active experts; a
  large batch reads them all).
- Sliding-window layers (gpt-oss, Gemma, Mistral) keep and read at most `window` tokens of KV.
- All-reduce per layer (2 per layer: attention and MLP output) and PP hand-offs: vLLM's custom all-reduce
  runs on NVLink and on PCIe only for TP=2; above two PCIe-only GPUs it is disabled ("Custom allreduce is
  disabled because it's not supported on more than two PCIe-only GPUs",
  vllm/distributed/device_communicators/custom_all_reduce.py, quoted in vllm#13719) and NCCL carries
  every all-reduce. Measured inside a CUDA graph on 4 PCIe GPUs: NCCL 19.4-24.2 us for 4-32 KB messages,
  a one-shot custom kernel 4.0-11.8 us (sglang-V100 PR #2). So: 5 us per custom all-reduce and 20 us per
  NCCL all-reduce, plus the ring bytes over the link (NVLink per direction = total / 2; PCIe Gen4 x16
  ~25 GB/s usable of 32, an assumption). vLLM's docs advise pipeline rather than tensor parallelism when
  GPUs lack NVLink ("Parallelism and Scaling": PP when "GPUs lack NVLink (e.g., L40S)").
- PP: vLLM pipelines decode as PP micro-batches, so a token passes every stage once (TPOT = PP x
  t_stage); with fewer sequences than stages the missing micro-batches are the bubble.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llm_advisor.planner.models import ThroughputEstimate


@dataclass(frozen=True, slots=True)
class StepParams:
    """The model's free parameters (fitted by bench/throughput.py on the calibration CSV)."""

    bandwidth_efficiency: float  # share of the datasheet memory bandwidth a decode step achieves
    step_overhead_s: float  # fixed cost of one engine step
    layer_overhead_s: float  # fixed cost per decoder layer on the stage, per step
    # share of the dense peak the step's GEMMs achieve (0.5 was an untested assumption before issue 12's fit)
    compute_efficiency: float = 0.5
    # share of the shorter of the memory and compute phases that does not overlap the longer one
    overlap_loss: float = 0.5
    # FP8 weight bytes are read in the time of this many bytes each (1.0: at their bytes)
    fp8_weight_time_factor: float = 1.0


# The model's uncertainty, planned against near a latency bound (planner/search.py): a predicted TPOT or TTFT
# is checked as predicted x (1 + margin). The margins are the median |error| leave-one-source-out on the vLLM
# rows of bench/data/serving_calibration.csv with FITTED, printed by `python bench/throughput.py` ("engine
# vllm" row); CALIBRATION_SHA256 pins the CSV they came from (tests/test_throughput_model.py).
TPOT_UNCERTAINTY = 0.11
TTFT_UNCERTAINTY = 0.47
CALIBRATION_SHA256 = "7a72bf87fdcb9b7b8f7ae0457233d5fef4c05a28e3c946d86c8b54f7dadbe540"

# `python bench/throughput.py --fit` prints these; tests/test_throughput_model.py checks they are the fit.
FITTED = StepParams(
    bandwidth_efficiency=0.93,
    step_overhead_s=0.003,
    layer_overhead_s=1.8e-05,
    compute_efficiency=0.5,
    overlap_loss=0.5,
    fp8_weight_time_factor=1.0,
)

PCIE_USABLE_GB_PER_S = 25.0
CUSTOM_ALLREDUCE_LATENCY_S = 5e-6  # vLLM custom all-reduce: NVLink, or PCIe with TP=2
NCCL_PCIE_ALLREDUCE_LATENCY_S = 20e-6  # PCIe with TP > 2: vLLM falls back to NCCL
PCIE_CUSTOM_ALLREDUCE_MAX_TP = 2
# A stage hand-off between instances goes over EFA; its latency is of the order of a PCIe hop plus the
# network (an assumption; the bytes are tiny: micro-batch x hidden x 2).
EFA_SEND_LATENCY_S = 50e-6
ACTIVATION_BYTES = 2  # bf16/fp16 hidden states cross the links in every format vLLM serves here
DEFAULT_MAX_NUM_BATCHED_TOKENS = 8192  # vLLM V1's online-serving default on large GPUs (sizing/ decides)


@dataclass(frozen=True, slots=True)
class RequestShape:
    """Mean prompt and generated tokens of one request."""

    input_tokens: int
    output_tokens: int

    @property
    def decode_context(self) -> float:
        """Mean context a decode step reads: the prompt plus half the output."""
        return self.input_tokens + self.output_tokens / 2


@dataclass(frozen=True, slots=True)
class ReplicaShape:
    """What the step-time model needs to know about one replica (figures per GPU of the worst stage)."""

    memory_bandwidth_gb_per_s: float
    dense_tflops: float
    nvlink: bool
    link_gb_per_s: float  # per direction, between GPUs of one instance
    network_gb_per_s: float  # per direction, between instances (EFA); 0 when the replica is one instance
    tensor_parallel_size: int
    pipeline_parallel_size: int
    num_hidden_layers: int
    hidden_size: int
    weights_bytes_per_gpu: float
    kv_bytes_per_token_per_gpu: float  # all attention layers on the stage
    active_params: int
    total_params: int
    is_moe: bool
    instances_per_replica: int = 1
    routed_expert_fraction: float = 0.0  # share of the weight bytes that are routed experts (MoE)
    num_experts: int = 0
    experts_per_token: int = 0
    sliding_kv_fraction: float = 0.0  # share of the KV bytes per token in sliding-window layers
    sliding_window: int = 0
    attention_width: int = 0  # query heads x head_dim: prefill attention FLOPs
    fp8_weights: bool = False  # weights in FP8: read at StepParams.fp8_weight_time_factor
    kv_cache_tokens: int = 0  # the replica's KV pool; 0 = not capped
    max_num_seqs: int = 0  # 0 = not capped
    max_num_batched_tokens: int = DEFAULT_MAX_NUM_BATCHED_TOKENS

    @property
    def layers_on_stage(self) -> int:
        return math.ceil(self.num_hidden_layers / self.pipeline_parallel_size)


def _weights_read_bytes(shape: ReplicaShape, tokens: float) -> float:
    """Weight bytes one step reads: all of them for a dense model; for MoE the shared part plus the
    routed experts that `tokens` tokens hit, E x (1 - (1 - k/E)^n) of E per layer."""
    w = shape.weights_bytes_per_gpu
    if not shape.is_moe or shape.num_experts <= 0 or shape.experts_per_token <= 0:
        return w
    share = min(1.0, shape.experts_per_token / shape.num_experts)
    hit = 1.0 - (1.0 - share) ** max(1.0, tokens)
    routed = w * shape.routed_expert_fraction
    return w - routed + routed * hit


def _kv_read_bytes(shape: ReplicaShape, sequences: float, context: float) -> float:
    per_token = shape.kv_bytes_per_token_per_gpu
    sliding = per_token * shape.sliding_kv_fraction
    window = min(context, shape.sliding_window) if shape.sliding_window else context
    return sequences * ((per_token - sliding) * context + sliding * window)


def _allreduce_seconds(shape: ReplicaShape, tokens: float) -> float:
    """Ring all-reduce of the hidden states, twice per layer (attention output, MLP output) on the stage."""
    tp = shape.tensor_parallel_size
    if tp == 1:
        return 0.0
    custom = shape.nvlink or tp <= PCIE_CUSTOM_ALLREDUCE_MAX_TP
    latency = CUSTOM_ALLREDUCE_LATENCY_S if custom else NCCL_PCIE_ALLREDUCE_LATENCY_S
    ring_bytes = 2 * (tp - 1) / tp * tokens * shape.hidden_size * ACTIVATION_BYTES
    return shape.layers_on_stage * 2 * (ring_bytes / (shape.link_gb_per_s * 1e9) + latency)


def _stage_send_seconds(shape: ReplicaShape, tokens: float) -> float:
    """Hand-off of a micro-batch's hidden states to the next stage (none without PP)."""
    if shape.pipeline_parallel_size == 1:
        return 0.0
    message_bytes = tokens * shape.hidden_size * ACTIVATION_BYTES
    if shape.instances_per_replica > 1 and shape.network_gb_per_s > 0:
        return message_bytes / (shape.network_gb_per_s * 1e9) + EFA_SEND_LATENCY_S
    return message_bytes / (shape.link_gb_per_s * 1e9) + CUSTOM_ALLREDUCE_LATENCY_S


def step_seconds(
    shape: ReplicaShape,
    decode: float,
    prefill: float,
    context: float,
    prefill_context: float,
    params: StepParams = FITTED,
) -> tuple[float, bool]:
    """One engine step of one stage: `decode` sequences reading `context` tokens of KV each, plus `prefill`
    prompt tokens attending to `prefill_context` tokens on average. Returns (seconds, memory-bound)."""
    tokens = decode + prefill
    weights = _weights_read_bytes(shape, tokens)
    if shape.fp8_weights:
        weights *= params.fp8_weight_time_factor
    kv = _kv_read_bytes(shape, decode, context)
    t_memory = (weights + kv) / (shape.memory_bandwidth_gb_per_s * 1e9 * params.bandwidth_efficiency)
    gpus = shape.tensor_parallel_size * shape.pipeline_parallel_size
    flops = tokens * 2.0 * shape.active_params / gpus
    # prefill attention: QK^T and PV, 2 x 2 FLOPs per query-key pair per attention width, per layer
    flops += (
        4.0 * prefill * prefill_context * shape.attention_width * shape.layers_on_stage
        / shape.tensor_parallel_size
    )
    t_compute = flops / (shape.dense_tflops * 1e12 * params.compute_efficiency)
    t = max(t_memory, t_compute) + params.overlap_loss * min(t_memory, t_compute)
    t += params.step_overhead_s + shape.layers_on_stage * params.layer_overhead_s
    t += _allreduce_seconds(shape, tokens) + _stage_send_seconds(shape, tokens)
    return t, t_memory >= t_compute


def admitted_batch(shape: ReplicaShape, concurrency: int, request: RequestShape) -> int:
    """Requests the replica runs at once: the concurrency, capped by the KV pool and max_num_seqs."""
    batch = max(1, concurrency)
    if shape.kv_cache_tokens > 0:
        batch = min(batch, max(1, shape.kv_cache_tokens // (request.input_tokens + request.output_tokens)))
    if shape.max_num_seqs > 0:
        batch = min(batch, shape.max_num_seqs)
    return batch


@dataclass(frozen=True, slots=True)
class Timing:
    """The model's raw result for one replica (before rounding into a ThroughputEstimate)."""

    batch: int
    time_per_output_token_s: float
    time_to_first_token_s: float
    output_tokens_per_s: float
    prefill_tokens_per_s: float
    bound: str


def replica_timing(
    shape: ReplicaShape, concurrency: int, request: RequestShape, params: StepParams = FITTED
) -> Timing:
    """Steady-state TPOT, TTFT and output tokens/s of one replica at `concurrency` requests in flight."""
    inp, out = max(1, request.input_tokens), max(1, request.output_tokens)
    batch = admitted_batch(shape, concurrency, request)
    pp = shape.pipeline_parallel_size
    budget = max(1, shape.max_num_batched_tokens)
    micro = max(1.0, batch / pp)
    # decode tokens per micro-step, and the prefill tokens that keep the batch full (capped by the budget)
    decode = min(micro, budget * out / (inp + out))
    prefill = decode * inp / out
    step, memory_bound = step_seconds(shape, decode, prefill, request.decode_context, inp / 2, params)
    tpot = pp * step
    # a new request's prompt in chunks of what the decode tokens leave of the budget
    chunk = min(inp, max(1.0, budget - decode))
    chunk_step, _ = step_seconds(shape, decode if batch > 1 else 0.0, chunk, request.decode_context,
                                 inp / 2, params)
    ttft = math.ceil(inp / chunk) * pp * chunk_step
    cycle = ttft + (out - 1) * tpot
    rate = batch * out / cycle
    if concurrency > batch:  # the rest queue: each waits for a slot, (C/B - 1) request cycles on average
        ttft += (concurrency / batch - 1.0) * cycle
    compute_only = step_seconds(shape, 0.0, chunk, 0.0, inp / 2, params)[0]
    bound = "kv-capacity" if concurrency > batch else ("memory" if memory_bound else "compute")
    return Timing(batch, tpot, ttft, rate, chunk / compute_only, bound)


def estimate_throughput(
    shape: ReplicaShape,
    concurrency: int,
    request: RequestShape,
    replicas: int,
    notes: tuple[str, ...] = (),
    params: StepParams = FITTED,
) -> ThroughputEstimate:
    """The planner's and `llm-advisor throughput`'s estimate for one replica carrying `concurrency`
    requests of `request`'s shape, and for `replicas` of them."""
    t = replica_timing(shape, concurrency, request, params)
    return ThroughputEstimate(
        batch_size=t.batch,
        decode_output_tokens_per_s=round(t.output_tokens_per_s, 1),
        time_per_output_token_ms=round(t.time_per_output_token_s * 1e3, 3),
        time_to_first_token_ms=round(t.time_to_first_token_s * 1e3, 1),
        prefill_tokens_per_s=round(t.prefill_tokens_per_s, 1),
        total_output_tokens_per_s=round(t.output_tokens_per_s * replicas, 1),
        bound=t.bound,
        input_tokens=request.input_tokens,
        output_tokens=request.output_tokens,
        notes=notes,
    )


def usd_per_million_output_tokens(usd_per_hour: float, total_output_tokens_per_s: float) -> float | None:
    """Hourly cost spread over an hour of output at the estimated rate (None when the rate is 0)."""
    if total_output_tokens_per_s <= 0:
        return None
    return round(usd_per_hour / (total_output_tokens_per_s * 3600.0) * 1e6, 4)
