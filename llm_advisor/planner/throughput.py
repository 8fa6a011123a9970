"""Roofline throughput of one vLLM replica: decode bound by memory bandwidth, prefill by compute (pure).

The model, per pipeline stage and per decode step of a micro-batch of `b` sequences:

    t_memory   = (weights read + b x context x KV bytes per token) / (bandwidth x BANDWIDTH_EFFICIENCY)
    t_compute  = b x 2 x active params per GPU / (dense TFLOPS x COMPUTE_EFFICIENCY)
    t_tp       = layers on the stage x 2 all-reduces x (ring bytes / link bandwidth + latency)   (TP > 1)
    t_stage    = max(t_memory, t_compute) + t_tp + t_pp_send                                      (PP > 1)

`context` is the average context of the batch's sequences; the planner passes max_model_len, the
workload's own definition of concurrency ("requests in flight at max_model_len"), so the KV read and the
latency are worst-case (a real mix of prompt + half-generated output averages less).

vLLM pipelines decode as PP micro-batches (one per virtual engine), so a token of one sequence passes every
stage once: time per output token = PP x t_stage(B / PP); with fewer sequences than stages the missing
micro-batches are the pipeline bubble (the stages idle). Decode output tokens/s of the replica =
B / time per output token. Prefill tokens/s = compute bound: TFLOPS x efficiency x GPUs / (2 x active
params) (attention's quadratic term is ignored, so long prompts prefill slower than this).

Efficiency factors and where they come from:
- BANDWIDTH_EFFICIENCY 0.77: Llama-3.1-8B bf16 on one A100-40GB under vLLM 0.23 decodes one request at
  about 75 tokens/s, "roughly 77% of the GPU's memory-bandwidth ceiling"
  (johnmusgrave.com/p/vllm-throughput-latency-sweep-on). Check: 16.06 GB / (1555 GB/s x 0.77) = 13.4 ms
  per token = 74.5 tokens/s.
- COMPUTE_EFFICIENCY 0.5: an assumption (half of dense peak for large prefill GEMMs); no published vLLM
  prefill MFU figure was found to calibrate it. It only decides `bound` and the prefill rate.
- All-reduce link bandwidth: NVLink per direction = total NVLink / 2 (sizing/data/gpus.json has bidirectional
  totals); PCIe Gen4 x16 carries 32 GB/s per direction, of which ~25 GB/s is usable (80%, an assumption).
  Per-all-reduce latency: vLLM's custom all-reduce runs on NVLink and on PCIe only for TP=2; above two
  PCIe-only GPUs it is disabled ("Custom allreduce is disabled because it's not supported on more than
  two PCIe-only GPUs", vllm/distributed/device_communicators/custom_all_reduce.py, quoted in
  vllm#13719) and NCCL carries every all-reduce. Measured inside a CUDA graph on 4 PCIe GPUs: NCCL
  19.4-24.2 us for 4-32 KB messages, a one-shot custom kernel 4.0-11.8 us (sglang-V100 PR #2, V100s
  behind one PCIe switch). So: 5 us per custom all-reduce (NVLink, or PCIe at TP=2) and 20 us per NCCL
  all-reduce (PCIe at TP>2), plus the bytes over the link. This is why vLLM's docs advise pipeline
  rather than tensor parallelism when GPUs lack NVLink ("Parallelism and Scaling": PP when "GPUs lack
  NVLink (e.g., L40S)"), and why the search prefers PP over TP>2 on PCIe types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llm_advisor.planner.models import ThroughputEstimate

BANDWIDTH_EFFICIENCY = 0.77
COMPUTE_EFFICIENCY = 0.5
PCIE_USABLE_GB_PER_S = 25.0
CUSTOM_ALLREDUCE_LATENCY_S = 5e-6  # vLLM custom all-reduce: NVLink, or PCIe with TP=2
NCCL_PCIE_ALLREDUCE_LATENCY_S = 20e-6  # PCIe with TP > 2: vLLM falls back to NCCL
PCIE_CUSTOM_ALLREDUCE_MAX_TP = 2
# A stage hand-off between instances goes over EFA; its latency is of the order of a PCIe hop plus the
# network (an assumption; the bytes are tiny: micro-batch x hidden x 2).
EFA_SEND_LATENCY_S = 50e-6
ACTIVATION_BYTES = 2  # bf16/fp16 hidden states cross the links in every format vLLM serves here


@dataclass(frozen=True, slots=True)
class ReplicaShape:
    """What the roofline needs to know about one replica (all figures per GPU of the worst stage)."""

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
    kv_bytes_per_token_per_gpu: float
    active_params: int
    total_params: int
    is_moe: bool
    instances_per_replica: int = 1


def _weights_read_fraction(shape: ReplicaShape, batch: float) -> float:
    """Share of the weights one decode step reads: all of them for a dense model; for MoE the experts that
    `batch` tokens touch, 1 - (1 - active/total)^batch (tokens routed independently), never below the
    active share."""
    if not shape.is_moe or shape.total_params <= 0:
        return 1.0
    active = min(1.0, shape.active_params / shape.total_params)
    return max(active, 1.0 - (1.0 - active) ** batch)


def _allreduce_seconds(shape: ReplicaShape, batch: float) -> float:
    """Ring all-reduce of the hidden states, twice per layer (attention output, MLP output) on the stage."""
    tp = shape.tensor_parallel_size
    if tp == 1:
        return 0.0
    custom = shape.nvlink or tp <= PCIE_CUSTOM_ALLREDUCE_MAX_TP
    latency = CUSTOM_ALLREDUCE_LATENCY_S if custom else NCCL_PCIE_ALLREDUCE_LATENCY_S
    message_bytes = batch * shape.hidden_size * ACTIVATION_BYTES
    ring_bytes = 2 * (tp - 1) / tp * message_bytes
    per_allreduce = ring_bytes / (shape.link_gb_per_s * 1e9) + latency
    layers_on_stage = math.ceil(shape.num_hidden_layers / shape.pipeline_parallel_size)
    return layers_on_stage * 2 * per_allreduce


def _stage_send_seconds(shape: ReplicaShape, batch: float) -> float:
    """Hand-off of a micro-batch's hidden states to the next stage (none without PP)."""
    if shape.pipeline_parallel_size == 1:
        return 0.0
    message_bytes = batch * shape.hidden_size * ACTIVATION_BYTES
    if shape.instances_per_replica > 1 and shape.network_gb_per_s > 0:
        return message_bytes / (shape.network_gb_per_s * 1e9) + EFA_SEND_LATENCY_S
    # a point-to-point send between stages of one instance: the custom all-reduce's order of latency
    return message_bytes / (shape.link_gb_per_s * 1e9) + CUSTOM_ALLREDUCE_LATENCY_S


def _stage_seconds(shape: ReplicaShape, micro_batch: float, context_tokens: int) -> tuple[float, bool]:
    """Time of one decode step of one stage for `micro_batch` sequences; True when memory-bound."""
    weights = shape.weights_bytes_per_gpu * _weights_read_fraction(shape, micro_batch)
    kv = micro_batch * context_tokens * shape.kv_bytes_per_token_per_gpu
    t_memory = (weights + kv) / (shape.memory_bandwidth_gb_per_s * 1e9 * BANDWIDTH_EFFICIENCY)
    gpus = shape.tensor_parallel_size * shape.pipeline_parallel_size
    flops = micro_batch * 2.0 * shape.active_params / gpus
    t_compute = flops / (shape.dense_tflops * 1e12 * COMPUTE_EFFICIENCY)
    comm = _allreduce_seconds(shape, micro_batch) + _stage_send_seconds(shape, micro_batch)
    return max(t_memory, t_compute) + comm, t_memory >= t_compute


def estimate_throughput(
    shape: ReplicaShape, batch_size: int, context_tokens: int, replicas: int, notes: tuple[str, ...] = ()
) -> ThroughputEstimate:
    """Decode and prefill rates of one replica carrying `batch_size` sequences of `context_tokens`."""
    batch = max(1, batch_size)
    pp = shape.pipeline_parallel_size
    micro_batch = max(1.0, batch / pp)
    stage_s, memory_bound = _stage_seconds(shape, micro_batch, context_tokens)
    time_per_token_s = pp * stage_s
    decode = batch / time_per_token_s
    gpus = shape.tensor_parallel_size * pp
    prefill = shape.dense_tflops * 1e12 * COMPUTE_EFFICIENCY * gpus / (2.0 * max(1, shape.active_params))
    return ThroughputEstimate(
        batch_size=batch,
        decode_output_tokens_per_s=round(decode, 1),
        time_per_output_token_ms=round(time_per_token_s * 1e3, 3),
        prefill_tokens_per_s=round(prefill, 1),
        total_output_tokens_per_s=round(decode * replicas, 1),
        bound="memory" if memory_bound else "compute",
        notes=notes,
    )


def usd_per_million_output_tokens(usd_per_hour: float, total_output_tokens_per_s: float) -> float | None:
    """Hourly cost spread over an hour of output at the estimated rate (None when the rate is 0)."""
    if total_output_tokens_per_s <= 0:
        return None
    return round(usd_per_hour / (total_output_tokens_per_s * 3600.0) * 1e6, 4)
