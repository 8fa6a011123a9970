"""Hand-built Plans for the templates/infra tests (independent of the planner's own search)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.nodes import node_shape
from planner.models import MemoryBreakdown, Plan, ThroughputEstimate
from templates.models import RenderOptions
from templates.render import default_options

# Llama 3.1 8B bf16 weights: 8.03e9 params x 2 bytes = 14.96 GiB on one GPU (TP=1).
_MEMORY = MemoryBreakdown(
    total_gpu_memory_gib=44.7, gpu_memory_utilization=0.9, weights_gib=14.96, activation_peak_gib=1.2,
    non_torch_gib=0.4, cudagraph_gib=0.6, kv_cache_gib=23.67, kv_bytes_per_token=131072,
)
_THROUGHPUT = ThroughputEstimate(
    batch_size=32, decode_output_tokens_per_s=900.0, time_per_output_token_ms=35.5,
    prefill_tokens_per_s=9000.0, total_output_tokens_per_s=1800.0, bound="memory",
)


def single_instance_plan(**overrides: Any) -> Plan:
    """2 replicas of Llama 3.1 8B on 2 x g6e.xlarge (1 x L40S each), one on-demand + one spot."""
    fields: dict[str, Any] = dict(
        model="meta-llama/Llama-3.1-8B-Instruct", served_model="meta-llama/Llama-3.1-8B-Instruct",
        checkpoint_quantization="none", dtype="bf16", quantization="none",
        instance_type="g6e.xlarge", instance_count=2, instances_per_replica=1, gpus_per_replica=1,
        tensor_parallel_size=1, pipeline_parallel_size=1, replicas=2, capacity_type="mixed",
        on_demand_instances=1, spot_instances=1, spot_instance_types=("g6e.xlarge", "g6e.2xlarge"),
        needs_efa=False, region="us-east-1", usd_per_hour=2.6, usd_per_million_output_tokens=0.4,
        gpu_memory_utilization=0.9, max_model_len=8192, max_num_seqs=32, max_num_batched_tokens=2048,
        kv_cache_dtype="auto", kv_cache_tokens=193_904, block_size=16, memory=_MEMORY,
        throughput=_THROUGHPUT, price_source="snapshot",
        prices_as_of=datetime(2026, 7, 20, 13, 44, 30, tzinfo=UTC), vllm_version="0.11",
        alternatives=(), explanation="hand-built test plan",
    )
    fields.update(overrides)
    return Plan(**fields)


def two_node_plan(**overrides: Any) -> Plan:
    """1 replica of Llama 3.1 405B spanning 2 x p5.48xlarge: TP=8 x PP=2, EFA, all on-demand; the bf16
    checkpoint is quantized to fp8 by vLLM at load time (so the node downloads the bf16 weights)."""
    memory = _MEMORY.model_copy(update={"total_gpu_memory_gib": 80.0, "weights_gib": 24.3})
    fields: dict[str, Any] = dict(
        model="meta-llama/Llama-3.1-405B-Instruct", served_model="meta-llama/Llama-3.1-405B-Instruct",
        quantization="fp8", checkpoint_quantization="none", instance_type="p5.48xlarge",
        efa_interfaces_per_instance=32, availability_zone_ids=("use1-az4", "use1-az6"),
        instance_count=2, instances_per_replica=2, gpus_per_replica=16, tensor_parallel_size=8,
        pipeline_parallel_size=2, replicas=1, capacity_type="on-demand", on_demand_instances=2,
        spot_instances=0, spot_instance_types=(), needs_efa=True, usd_per_hour=110.0,
        max_num_batched_tokens=8192, kv_cache_dtype="fp8", memory=memory,
    )
    fields.update(overrides)
    return single_instance_plan(**fields)


def spot_plan(**overrides: Any) -> Plan:
    """4 replicas of Qwen3-32B TP=2 packed 4 per g6e.12xlarge (4 x L40S), all spot, diversified."""
    fields: dict[str, Any] = dict(
        model="Qwen/Qwen3-32B", served_model="Qwen/Qwen3-32B", instance_type="g6e.12xlarge", instance_count=2,
        gpus_per_replica=2,
        tensor_parallel_size=2, replicas=4, capacity_type="spot", on_demand_instances=0, spot_instances=2,
        spot_instance_types=("g6e.12xlarge", "g6e.24xlarge"), vllm_version="0.10.2",
    )
    fields.update(overrides)
    return single_instance_plan(**fields)


def options_for(plan: Plan, **fields: Any) -> RenderOptions:
    """RenderOptions for a plan with its node shape from the instance catalog (as infra.stack does)."""
    shape = node_shape(plan)
    return default_options(plan, shape.vcpus, shape.memory_gib, **fields)
