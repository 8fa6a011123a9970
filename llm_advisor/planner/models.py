"""Boundary models of the planner: the workload to serve and the Plan that serves it.

The same Workload is filled by the CLI (`python -m advisor plan`) and by the Pulumi config; the Plan is
what templates/ renders and infra/ provisions. JSON output uses exactly these field names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, ValidatorFunctionWrapHandler, computed_field, field_validator, model_validator

from llm_advisor.planner.options import Option, opt, register
from pricing.models import CapacityBlockOffering
from sizing.images import NodeAmi
from sizing.vocabulary import (
    CapacityPreference,
    CapacityType,
    Dtype,
    Frozen,
    KvCacheDtype,
    PriceSource,
    PricingMode,
    Quantization,
    WorkloadType,
)


class Workload(Frozen):
    """What must be served. `max_model_len` is input + output tokens of one request.

    The single declaration of every workload option: the CLI flags (advisor/options_cli.py) and the
    Pulumi stack keys (infra/config.py, Pulumi.yaml) are derived from these fields, their types,
    defaults, bounds and descriptions; `Option` says where an edge spells one differently.
    """

    model: str = Field(
        min_length=1,
        description="Hugging Face model id or catalog alias to serve (e.g. "
        "meta-llama/Llama-3.1-8B-Instruct, llama3.1-8b), or the path of a Hugging Face config.json",
    )
    served_model: str | None = Field(
        default=None,
        description="Hugging Face repo vLLM loads when it is not the model itself: a pre-quantized "
        "checkpoint of the same architecture (AWQ/GPTQ/INT8 ...) or the repo of a config.json path; "
        "unset = the planner's choice. Required when the planner knows no checkpoint in the planned "
        "format (it says so). Form: ORG/NAME of letters, digits, '.', '_', '-'",
    )
    served_model_quantization: Quantization | None = Field(
        default=None,
        description="weights format of the served model when the catalog does not know that repo: none "
        "(16-bit, vLLM quantizes at load time), fp8, int8, awq, gptq, bnb4 or mxfp4; unset = looked up "
        "from the catalog",
    )
    dtype: Dtype = Field(default="bf16", description="activation/weight dtype for unquantized weights")
    quantization: Quantization | None = Field(
        default=None, description="weights format; unset = as the checkpoint ships"
    )
    kv_cache_dtype: KvCacheDtype = Field(
        default="auto", description="KV cache dtype: auto (the model dtype) or fp8 (half the KV memory)"
    )
    max_model_len: int = Field(
        default=8192, ge=16, description="input + output tokens of one request (vLLM max_model_len)"
    )
    concurrency: int = Field(
        default=16,
        ge=1,
        description="requests in flight at max model length that the deployment must hold; with "
        "arrival_rate_per_s set it is derived from the rate and may not be set too",
    )
    arrival_rate_per_s: float | None = Field(
        default=None,
        gt=0,
        description="requests arriving per second, the load instead of concurrency: the plan holds the "
        "concurrency Little's law gives (rate x predicted latency per request, iterated to a fixed point "
        "over plans) and reports the latency at it; exactly one of them is the load, so an explicit "
        "concurrency with a rate is refused; unset = concurrency is the load",
    )
    mean_input_tokens: int | None = Field(
        default=None,
        ge=1,
        description="mean prompt tokens per request (throughput and latency model); unset = max_model_len "
        "minus the output default",
    )
    mean_output_tokens: int | None = Field(
        default=None,
        ge=1,
        description="mean generated tokens per request; unset = max_model_len / 4 (a request then fills "
        "max_model_len, the length concurrency is sized at)",
    )
    workload_type: Annotated[WorkloadType, Option(flag="--workload")] = Field(
        default="realtime", description="realtime (latency matters) or batch (throughput per dollar)"
    )
    capacity: CapacityPreference = Field(
        default="auto",
        description="auto | on-demand | spot | mixed (on-demand base + spot burst) | capacity-block (an EC2 "
        "Capacity Block for ML over capacity_block_hours, offerings looked up live by `plan`)",
    )
    regions: Annotated[tuple[str, ...], Option(flag="--region", repeat=True)] = Field(
        default=("us-east-1",),
        min_length=1,
        description="AWS regions to price; the plan picks one (target eks takes exactly the cluster's "
        "region)",
    )
    max_usd_per_hour: float | None = Field(
        default=None, gt=0, description="budget cap in USD per hour for the whole deployment; unset = none"
    )
    target_output_tokens_per_s: Annotated[float | None, Option(flag="--target-tokens-per-s")] = Field(
        default=None,
        gt=0,
        description="output tokens per second the whole deployment must sustain; unset = none",
    )
    max_time_per_output_token_ms: float | None = Field(
        default=None,
        gt=0,
        description="latency bound per output token in ms; unset = 100 ms for realtime (10 tokens/s, "
        "faster than reading speed), none for batch",
    )
    max_time_to_first_token_ms: float | None = Field(
        default=None,
        gt=0,
        description="latency bound on the time to first token in ms, queueing and prefill included; unset = "
        "2000 ms for realtime with mean_input_tokens set (MLPerf Inference's Llama-2-70B server bound), else "
        "none",
    )
    allowed_families: Annotated[tuple[str, ...], Option(flag="--allow-family", repeat=True)] = Field(
        default=(), description="only these instance families (p5, g6e ...); empty = all GPU families"
    )
    excluded_families: Annotated[tuple[str, ...], Option(flag="--exclude-family", repeat=True)] = Field(
        default=(), description="never these instance families"
    )
    strict_dtype: bool = Field(
        default=False,
        description="refuse GPUs that cannot run dtype (bf16 below compute capability 8.0: T4, V100) instead "
        "of planning them with fp16",
    )
    headroom: float = Field(
        default=0.3,
        ge=0,
        le=4,
        description="extra KV cache capacity over concurrency x max model length (0.3 = 30%)",
    )
    vllm_version: str | None = Field(
        default=None,
        description="vLLM release (X.Y or X.Y.Z) to size for and pin the vllm/vllm-openai image to; unset = "
        "the latest modelled",
    )
    calibration_file: str | None = Field(
        default=None,
        description="CSV of startup figures your own vLLM logged (model, GPU, TP/PP, release, settings -> "
        "weights, non-KV memory, KV tokens; `llm-advisor check-log LOG --write-calibration FILE` writes "
        "rows): a row replaces the predicted memory for exactly its settings, and the plan says so",
    )
    batch_input_tokens: int | None = Field(
        default=None,
        ge=1,
        description="batch only: prompt tokens the whole job must process; with batch_output_tokens the plan "
        "minimises the total cost to finish; unset = a standing load ranked per million output tokens",
    )
    batch_output_tokens: int | None = Field(
        default=None,
        ge=1,
        description="batch only: output tokens the whole job must generate; the plan reports total cost, "
        "hours and USD per million tokens",
    )
    deadline_hours: float | None = Field(
        default=None,
        gt=0,
        description="batch only: hours by which the job must finish (spot interruptions included); the plan "
        "adds copies of the fleet to meet it; unset = none",
    )
    min_replicas: int = Field(
        default=1,
        ge=1,
        description="fewest replicas to run (availability); 1 = cost first, the report prices the highly "
        "available variant (2 replicas across 2 AZs) beside it",
    )
    availability_zones: int = Field(
        default=1,
        ge=1,
        le=6,
        description="spread replicas over at least this many AZs (one instance or more per AZ; the type "
        "must be offered in that many)",
    )
    on_demand_discount: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="your discount on on-demand prices (Savings Plans, enterprise agreement: 0.2 = 20% off); "
        "spot is not discounted",
    )
    # Capacity Blocks (issue 10 item 7; planner/capacity_block.py): offerings are fetched by `plan` at the CLI
    # edge (live or cached, never a snapshot figure); the Pulumi program targets a block you bought instead
    # (capacityReservationId), so these are CLI flags only.
    capacity_block_hours: Annotated[int | None, Option(key=None)] = Field(
        default=None,
        ge=1,
        description="the window the work needs as an EC2 Capacity Block for ML, in hours (24..336 in steps "
        "of 24, then up to 4368 in steps of 168): `plan` looks up offerings for the planned type and count "
        "and compares the upfront fee with on-demand and spot over the same hours; unset = a batch volume's "
        "hours with capacity capacity-block, else no look-up",
    )
    capacity_block_start_after: Annotated[datetime | None, Option(key=None)] = Field(
        default=None,
        description="earliest start of the Capacity Block, ISO date or time (UTC unless an offset is given); "
        "unset = any",
    )
    capacity_block_end_before: Annotated[datetime | None, Option(key=None)] = Field(
        default=None,
        description="latest end of the Capacity Block, ISO date or time (UTC unless an offset is given); "
        "unset = any",
    )
    # The Pulumi program sets it from its hfToken secret, `render` from --hf-token-secret-id: no flag, no key.
    has_hf_token: Annotated[bool | None, Option(flag=None, key=None)] = Field(
        default=None,
        description="a Hugging Face token is configured (gated models need one); unset = not known",
    )
    # ---- llama.cpp CPU path (issue 13; llm_advisor/planner/cpu.py) ----
    engine: Literal["vllm", "auto", "llama.cpp"] = Field(
        default="vllm",
        description="serving engine: vllm (GPU instances), llama.cpp (GGUF on CPU instances) or auto (plan "
        "both and pick the cheaper that meets the latency bound; the report says why)",
    )
    gguf_type: Literal["F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "IQ4_XS"] | None = Field(
        default=None, description="GGUF file type for llama.cpp; unset = Q4_K_M"
    )
    gguf_cache_type: Literal["f16", "q8_0"] = Field(
        default="f16", description="llama.cpp KV cache type (--cache-type-k/-v): f16 or q8_0 (about half)"
    )
    # The Pulumi program derives this from its target (ec2 runs single-instance replicas): no stack key.
    max_instances_per_replica: Annotated[int | None, Option(key=None)] = Field(
        default=None,
        ge=1,
        description="most instances one replica may span with PP over EFA (1: single-instance replicas only, "
        "as the EC2 target needs); unset = the planner's limit of 4",
    )
    # The Pulumi program derives these from amiType / target and vllmImage: no stack key, no flag.
    node_ami: Annotated[NodeAmi | None, Option(flag=None, key=None)] = Field(
        default=None,
        description="the node AMI whose NVIDIA driver must support the GPU (sizing/data/vllm_images.json); "
        "unset = no AMI check",
    )
    custom_image: Annotated[bool, Option(flag=None, key=None)] = Field(
        default=False,
        description="a custom image replaces the pinned vllm/vllm-openai one: its CUDA build is unknown, so "
        "GPUs are not checked against the pinned image's compute capabilities",
    )


    @model_validator(mode="after")
    def _batch_options(self) -> Workload:
        batch = {"batch_input_tokens", "batch_output_tokens", "deadline_hours"}
        given = sorted(n for n in batch if getattr(self, n) is not None)
        if given and self.workload_type != "batch":
            raise ValueError(f"{given[0]}: a volume of work is for workload_type batch; drop it or set batch")
        if self.deadline_hours is not None and self.batch_output_tokens is None:
            raise ValueError("deadline_hours: needs batch_output_tokens (the work to finish by then)")
        if self.batch_input_tokens is not None and self.batch_output_tokens is None:
            raise ValueError("batch_input_tokens: set batch_output_tokens too (the work the job generates)")
        return self

    @model_validator(mode="after")
    def _one_load(self) -> Workload:
        if self.arrival_rate_per_s is None:
            return self
        if "concurrency" in self.model_fields_set:
            raise ValueError(
                f"{opt('arrival_rate_per_s', f'{self.arrival_rate_per_s:g}')} and "
                f"{opt('concurrency', self.concurrency)} are both set: exactly one is the load; drop "
                f"{opt('concurrency')} (the plan derives it from the rate with Little's law) or the rate"
            )
        if self.engine != "vllm":
            raise ValueError(
                f"arrival_rate_per_s: engine {self.engine} plans llama.cpp for a concurrency; set "
                "concurrency instead of the rate, or use engine vllm"
            )
        if self.batch_output_tokens is not None:
            raise ValueError(
                "arrival_rate_per_s: a batch volume (batch_output_tokens) is finished as fast as the fleet "
                "allows, not at a rate; drop one of them"
            )
        return self

    @model_validator(mode="after")
    def _capacity_block_options(self) -> Workload:
        from pricing.capacity_blocks import check_duration
        from pricing.errors import PricingError

        if self.capacity_block_hours is not None:
            try:
                check_duration(self.capacity_block_hours)
            except PricingError as exc:
                raise ValueError(f"capacity_block_hours: {exc}") from exc
        if self.capacity == "capacity-block" and self.capacity_block_hours is None and (
            self.batch_output_tokens is None
        ):
            raise ValueError(
                "capacity: capacity-block needs the window: set capacity_block_hours (24, 48 ... hours) or a "
                "batch volume (batch_output_tokens) whose hours set it"
            )
        dated = [n for n in ("capacity_block_start_after", "capacity_block_end_before") if getattr(self, n)]
        if dated and self.capacity_block_hours is None and self.capacity != "capacity-block":
            raise ValueError(f"{dated[0]}: a Capacity Block window needs capacity_block_hours or capacity "
                             "capacity-block")
        return self

    @field_validator("capacity_block_start_after", "capacity_block_end_before")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @model_validator(mode="after")
    def _request_fits(self) -> Workload:
        if self.input_tokens + self.output_tokens > self.max_model_len:
            raise ValueError(
                f"mean_input_tokens + mean_output_tokens ({self.input_tokens} + {self.output_tokens}) exceed "
                f"max_model_len {self.max_model_len}: shorten them or raise max_model_len to "
                f"{self.input_tokens + self.output_tokens}"
            )
        return self

    @property
    def output_tokens(self) -> int:
        """Mean generated tokens per request: the workload's, else max_model_len / 4."""
        if self.mean_output_tokens is not None:
            return self.mean_output_tokens
        return max(1, self.max_model_len // 4)

    @property
    def input_tokens(self) -> int:
        """Mean prompt tokens per request: the workload's, else the rest of max_model_len."""
        if self.mean_input_tokens is not None:
            return self.mean_input_tokens
        return max(1, self.max_model_len - self.output_tokens)


class PlanOptions(Frozen):
    """How to plan a workload, at both edges: where prices come from and what is deployed now."""

    pricing: PricingMode = Field(
        default="auto",
        description="auto (live, then cache, then bundled snapshot) | live | snapshot (offline)",
    )
    # A program cannot read its own stack's previous outputs before it declares resources (a StackReference's
    # outputs are Outputs, unknown in preview), and the plan must be known synchronously to shape the node
    # groups: so the deployed type is config, `pulumi config set currentInstanceType $(pulumi stack output
    # instance_type)`.
    previous_instance_type: Annotated[str | None, Option(key="currentInstanceType")] = Field(
        default=None,
        description="the instance type deployed now, kept unless the cheapest plan saves more than the churn "
        "threshold; unset = first deploy",
    )
    churn_threshold: float = Field(
        default=0.05,
        ge=0,
        lt=1,
        description="fractional saving (0.05 = 5%) a new instance type must bring before it replaces the "
        "deployed one",
    )


register(Workload, PlanOptions)


class MemoryBreakdown(Frozen):
    """Per-GPU memory of the chosen layout, in GiB (worst rank), as vLLM would log it."""

    total_gpu_memory_gib: float
    gpu_memory_utilization: float
    weights_gib: float
    activation_peak_gib: float
    non_torch_gib: float
    cudagraph_gib: float
    kv_cache_gib: float
    kv_bytes_per_token: int


class ThroughputEstimate(Frozen):
    """Step-time estimate for one replica at the planned load (see planner/throughput.py)."""

    batch_size: int = Field(description="requests the replica runs at once (the KV pool may admit fewer)")
    decode_output_tokens_per_s: float = Field(
        description="per replica, output tokens/s at the load, prefill included"
    )
    time_per_output_token_ms: float = Field(description="mean TPOT, chunked prefill mixed in")
    time_to_first_token_ms: float | None = Field(default=None, description="mean TTFT at the load")
    prefill_tokens_per_s: float
    total_output_tokens_per_s: float = Field(description="all replicas")
    bound: Literal["memory", "compute", "kv-capacity"]
    input_tokens: int | None = Field(default=None, description="mean prompt tokens per request modelled")
    output_tokens: int | None = Field(default=None, description="mean generated tokens per request modelled")
    notes: tuple[str, ...] = ()


class Alternative(Frozen):
    """A runner-up and why it lost to the plan."""

    instance_type: str
    region: str
    instance_count: int
    tensor_parallel_size: int
    pipeline_parallel_size: int
    replicas: int
    capacity_type: CapacityType
    usd_per_hour: float
    usd_per_million_output_tokens: float | None
    why_not: str
    instances_per_replica: int = Field(default=1, description="> 1: PP across instances over EFA")
    dtype: Dtype | None = Field(default=None, description="what the layout would run")
    time_per_output_token_ms: float | None = None
    total_output_tokens_per_s: float | None = Field(default=None, description="all replicas")


# --- the Plan, in parts --------------------------------------------------------------------------------
# Schema 2 (schema 1 was one flat model): what is served, how vLLM runs it, where it runs, what it costs and
# the latency bound it meets, each a sub-model. Anything that follows from other fields (needs_efa,
# gpus_per_replica, spot_instances) is derived, not stored, so a Plan cannot contradict itself; derived
# fields still appear in the JSON and are accepted back only when they agree.
PLAN_SCHEMA_VERSION = 2


class _Derives(Frozen):
    """A Frozen model with @computed_field properties: its JSON carries them; validating that JSON back
    drops them after checking each equals what the model derives (a contradicting value is refused)."""

    @model_validator(mode="wrap")
    @classmethod
    def _derived_must_agree(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(data, dict):
            return handler(data)
        derived = {k: data[k] for k in cls.model_computed_fields if k in data}
        model = handler({k: v for k, v in data.items() if k not in derived})
        for name, given in derived.items():
            if given != getattr(model, name):
                raise ValueError(
                    f"{name}: {given!r} contradicts the plan, which derives {getattr(model, name)!r}; "
                    "leave derived fields out"
                )
        return model


class ServedModel(Frozen):
    """What vLLM serves: the architecture planned, the repo it loads, and the precision it runs."""

    model: str = Field(description="Hugging Face id of the architecture planned (catalog id or config path)")
    served_model: str | None = Field(
        default=None,
        description="Hugging Face repo vLLM loads, in the planned weights format; None when none is known "
        "(e.g. --quantization awq on a bf16 checkpoint without --served-model): render then refuses",
    )
    checkpoint_quantization: Quantization = Field(
        default="none",
        description="the served checkpoint's own weights format; differs from `quantization` only when vLLM "
        "quantizes at load time (fp8, bnb4), the one case the vLLM config names `quantization`",
    )
    dtype: Dtype
    quantization: Quantization
    kv_cache_dtype: KvCacheDtype


class VllmSettings(_Derives):
    """How each replica's vLLM server runs: the release, the parallel layout and the engine limits."""

    vllm_version: str
    tensor_parallel_size: int = Field(ge=1)
    pipeline_parallel_size: int = Field(ge=1)
    gpu_memory_utilization: float = Field(gt=0, le=1)
    max_model_len: int = Field(ge=1)
    max_num_seqs: int = Field(ge=1)
    max_num_batched_tokens: int = Field(ge=1)
    block_size: int = Field(ge=1)
    kv_cache_tokens: int = Field(description="per replica")

    @computed_field(description="GPUs of one replica: tensor_parallel_size x pipeline_parallel_size")
    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel_size * self.pipeline_parallel_size


class Placement(_Derives):
    """Where the replicas run: instance type, region, counts, capacity, EFA and AZs, and the node shape."""

    instance_type: str
    region: str
    instance_count: int = Field(
        ge=1,
        description="all instances: replicas x instances_per_replica, or replicas packed per instance",
    )
    instances_per_replica: int = Field(ge=1, description="> 1: PP across instances over EFA")
    replicas: int = Field(ge=1)
    capacity_type: CapacityType
    on_demand_instances: int = Field(ge=0, description="the on-demand base (all of them unless spot/mixed)")
    spot_instance_types: tuple[str, ...] = Field(
        default=(), description="same-shape types for spot diversification, the chosen one first"
    )
    efa_interfaces_per_instance: int = Field(
        default=0,
        ge=0,
        description="EFA interfaces the instance type supports (catalog); 0 unless needs_efa",
    )
    availability_zone_ids: tuple[str, ...] = Field(
        default=(), description="AZ IDs of the region that offer the type (from the spot/offerings data)"
    )
    node_vcpus: int = Field(
        ge=1,
        description="the fewest vCPUs among instance_type and spot_instance_types (priced catalog, "
        "DescribeInstanceTypes VCpuInfo): the pods' CPU requests must fit every type a node may be",
    )
    node_memory_gib: float = Field(
        gt=0, description="the least RAM (GiB) among those types (DescribeInstanceTypes MemoryInfo)"
    )

    @computed_field(description="spot burst: instance_count - on_demand_instances")
    @property
    def spot_instances(self) -> int:
        return self.instance_count - self.on_demand_instances

    @computed_field(description="a replica spans instances: EFA + cluster placement group")
    @property
    def needs_efa(self) -> bool:
        return self.instances_per_replica > 1

    @model_validator(mode="after")
    def _consistent(self) -> Placement:
        if self.on_demand_instances > self.instance_count:
            raise ValueError(
                f"on_demand_instances: {self.on_demand_instances} is more than instance_count "
                f"{self.instance_count}"
            )
        expected: CapacityType = (
            "mixed"
            if self.on_demand_instances and self.spot_instances
            else ("spot" if self.spot_instances else "on-demand")
        )
        if self.capacity_type != expected:
            raise ValueError(
                f"capacity_type: {self.capacity_type} but {self.on_demand_instances} on-demand + "
                f"{self.spot_instances} spot instances make it {expected}"
            )
        spanned = self.replicas * self.instances_per_replica
        if self.instances_per_replica > 1 and self.instance_count != spanned:
            raise ValueError(
                f"instance_count: {self.instance_count} is not replicas x instances_per_replica "
                f"({self.replicas} x {self.instances_per_replica})"
            )
        if self.needs_efa and self.efa_interfaces_per_instance < 1:
            raise ValueError(
                f"efa_interfaces_per_instance: {self.instance_type} replicas span nodes (needs_efa) but the "
                "plan carries no EFA interface count; plan an EFA type (e.g. p5.48xlarge: 32) or set the "
                "count"
            )
        if not self.needs_efa and self.efa_interfaces_per_instance:
            raise ValueError(
                f"efa_interfaces_per_instance: {self.efa_interfaces_per_instance}, but replicas fit on one "
                "instance (no EFA needed): 0"
            )
        return self


class Cost(Frozen):
    """What the deployment costs and where the prices came from."""

    usd_per_hour: float = Field(description="expected: spot includes its interruption overhead")
    billed_usd_per_hour: float | None = Field(
        default=None,
        description="what AWS bills (spot at its price); usd_per_hour adds spot interruption cost",
    )
    usd_per_million_output_tokens: float | None
    price_source: PriceSource
    prices_as_of: datetime
    on_demand_discount: float = Field(
        default=0.0, description="the workload's on-demand discount, applied to every on-demand figure"
    )


class BatchEstimate(Frozen):
    """A batch job as work: what finishing it costs (planner/batch.py)."""

    input_tokens: int = Field(description="prompt tokens the job processes")
    output_tokens: int = Field(description="output tokens the job generates")
    work_hours: float = Field(description="hours of useful work at the planned fleet's throughput")
    hours: float = Field(description="expected wall-clock hours: work + re-done work after interruptions")
    total_usd: float = Field(description="expected cost to finish: billed USD/h x hours")
    usd_per_million_tokens: float = Field(description="total_usd per million tokens, input + output")
    usd_per_million_output_tokens: float
    deadline_hours: float | None = None
    fleets: int = Field(default=1, description="copies of the sized fleet side by side to meet the deadline")


class Tradeoff(_Derives):
    """What a rule or preference costs against the best plan without it, or a cheaper labelled variant.

    Costs are in the plan's ranking unit: USD/h (realtime), USD per million output tokens (batch), or the
    USD total to finish (batch with a volume)."""

    kind: Literal["capacity", "target", "availability", "variant"]
    rule: str = Field(description="the rule, preference or variant, in words")
    unit: Literal["USD/h", "USD per million output tokens", "USD total"]
    plan_cost: float = Field(description="the plan's cost in `unit`")
    other_cost: float | None = Field(description="the compared plan's cost in `unit`; None: none is feasible")
    other: str = Field(description="the compared plan in one line (or why there is none)")
    changes_numerics: bool = Field(default=False, description="variant: other weights or KV precision")
    checkpoint: str | None = Field(default=None, description="variant: the repo vLLM would load")

    @computed_field(description="|other_cost - plan_cost| / plan_cost (see other_is_cheaper)")
    @property
    def difference_share(self) -> float | None:
        if self.other_cost is None or self.plan_cost <= 0:
            return None
        return round(abs(self.other_cost - self.plan_cost) / self.plan_cost, 4)

    @computed_field(description="the compared plan costs less than the plan")
    @property
    def other_is_cheaper(self) -> bool:
        return self.other_cost is not None and self.other_cost < self.plan_cost


class CapacityBlockOption(Frozen):
    """An EC2 Capacity Block for ML offered for the plan's own layout (instance type, count, region),
    against on-demand and spot for the same instances over the same window (planner/capacity_block.py)."""

    chosen: bool = Field(description="the plan runs in it (capacity capacity-block); else a trade-off")
    offering: CapacityBlockOffering = Field(description="the offering: id, AZ, window (start, end), fee")
    usd_per_hour: float = Field(description="effective USD/h: upfront fee / window hours, all instances")
    on_demand_usd: float | None = Field(description="on-demand, same instances and hours (after discount)")
    spot_usd: float | None = Field(description="spot at the region's lowest price, same instances and hours")
    plan_usd: float = Field(description="the plan's own capacity over the same hours (expected USD)")
    cheapest_assured: Literal["capacity-block", "on-demand"] = Field(
        description="the cheaper of the two that are never interrupted over the window")


class LatencyBound(Frozen):
    """The latency bounds the plan meets, where they came from, and the model's uncertainty planned for."""

    max_time_per_output_token_ms: float | None = Field(
        default=None, description="the latency bound the plan meets (None: no bound, batch)"
    )
    latency_bound_source: Literal["workload", "realtime default"] | None = Field(
        default=None, description="where max_time_per_output_token_ms came from"
    )
    max_time_to_first_token_ms: float | None = Field(
        default=None, description="the time-to-first-token bound the plan meets (None: no bound, batch)"
    )
    ttft_bound_source: Literal["workload", "realtime default"] | None = Field(
        default=None, description="where max_time_to_first_token_ms came from"
    )
    tpot_uncertainty: float = Field(
        default=0.0, description="share added to the predicted TPOT before comparing it with its bound"
    )
    ttft_uncertainty: float = Field(
        default=0.0, description="share added to the predicted TTFT before comparing it with its bound"
    )


class ArrivalLoad(Frozen):
    """An arrival rate turned into the concurrency the plan holds (Little's law at a fixed point over plans,
    planner/arrival.py), and the plan's predicted latency at that concurrency."""

    arrival_rate_per_s: float = Field(description="requests arriving per second (the workload's load)")
    concurrency: int = Field(
        description="requests in flight the plan is sized for: ceil(rate x planned_latency_ms / 1000)"
    )
    time_to_first_token_ms: float = Field(description="predicted mean TTFT at that concurrency")
    time_per_output_token_ms: float = Field(description="predicted mean TPOT at that concurrency")
    output_tokens: int = Field(description="mean generated tokens per request")
    latency_ms: float = Field(
        description="predicted mean time a request is in the system: TTFT + output_tokens x TPOT"
    )
    planned_latency_ms: float = Field(
        description="latency_ms with the model's uncertainty on TTFT and TPOT added: what Little's law uses"
    )
    rounds: int = Field(description="the round of the fixed point whose plan this is (one plan per round)")


class Plan(Frozen):
    """The recommendation: what to run, where, how, at what cost, and why."""

    schema_version: Literal[2] = Field(
        default=PLAN_SCHEMA_VERSION, description="2: the Plan in parts (1 was the flat model)"
    )
    served: ServedModel
    vllm: VllmSettings
    placement: Placement
    cost: Cost
    latency: LatencyBound = LatencyBound()
    memory: MemoryBreakdown
    throughput: ThroughputEstimate
    alternatives: tuple[Alternative, ...]
    explanation: str
    warnings: tuple[str, ...] = Field(
        default=(),
        description="from the priced catalog (e.g. snapshot age) and the planner (e.g. bf16 planned as fp16)",
    )
    batch: BatchEstimate | None = Field(default=None, description="batch work: the cost to finish it")
    load: ArrivalLoad | None = Field(
        default=None, description="an arrival-rate workload: the concurrency it implies and the latency"
    )
    tradeoffs: tuple[Tradeoff, ...] = Field(
        default=(),
        description="what preferences, target rules and availability cost, and cheaper labelled variants",
    )
    capacity_block: CapacityBlockOption | None = Field(
        default=None,
        description="a Capacity Block offered for the plan's layout (capacity_block_hours or capacity "
        "capacity-block): window, AZ, upfront fee and the same hours on-demand and spot",
    )

    @model_validator(mode="after")
    def _layout_fits_placement(self) -> Plan:
        gpus, span = self.vllm.gpus_per_replica, self.placement.instances_per_replica
        if gpus % span:
            raise ValueError(
                f"vllm.gpus_per_replica {gpus} (TP x PP) does not split evenly over "
                f"placement.instances_per_replica {span}"
            )
        return self
