"""LlmServing: a typed Pulumi component that plans vLLM serving on AWS GPUs and provisions it.

The one code path of the stack (`__main__.py` builds its args from the stack config) and of the library:
another Python program creates `LlmServing(name, LlmServingArgs(...))` with subnet ids, a node role and a
cluster name that may be Outputs of its own resources; TypeScript, Go, C#, Java and YAML programs reach
the same class through the component package (`PulumiPlugin.yaml`, `llm_advisor/provider.py`).

The args are the stack config's keys (snake_case here, camelCase in the schema and the stack), declared
once in the option models: the generated block of `LlmServingArgs` is written from them by
`python -m llm_advisor.component`, and tests/test_component.py fails when it drifts. Pulumi's component
provider infers the package schema from this module's annotations and attribute docstrings, which is
why it has no `from __future__ import annotations` (the analyzer needs real types, not strings).
"""

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Required, TypedDict

import pulumi
from pulumi.runtime.sync_await import _sync_await
from pydantic import ValidationError
from pydantic.alias_generators import to_camel, to_snake

import pricing
from llm_advisor import planner
from llm_advisor.infra.config import LOAD_FIELD, StackConfig, pulumi_config_schema
from llm_advisor.infra.stack import Target, declare, declare_cpu, prepare, prepare_cpu
from llm_advisor.planner.cpu import choose_engine, plan_cpu
from llm_advisor.planner.errors import NoFeasibleLayout
from llm_advisor.planner.options import literal_choices, unwrap_optional, use_spelling
from llm_advisor.planner.warnings import log_plan_warnings
from pricing.cpu_live import load_cpu_catalog

TYPE = "llm-advisor:index:LlmServing"
# Stack options that may be Outputs: where the nodes go, not what is planned (field names). Every other
# option must be a plain value when the program runs: the plan (instance type, counts) is made before any
# resource is declared, and `pulumi preview` shows the node groups it sizes.
INPUT_OPTIONS = ("cluster_name", "subnet_ids", "node_role_arn")
# Args beyond the stack options (hfToken is a stack secret, read apart from the options).
EXTRA_ARGS = ("tags", "hf_token")
GENERATED_BEGIN = "    # --- generated from the option models by `python -m llm_advisor.component` ---"
GENERATED_END = "    # --- end of the generated args ---"


class LlmServingArgs(TypedDict, total=False):
    """The inputs of LlmServing: the stack config's keys, in snake_case (camelCase in other languages).

    Workload, planning and deployment-shape args must be plain values (planning needs them before any
    resource is declared; an Output is resolved if it is already known, else refused by name). `cluster_name`,
    `subnet_ids`, `node_role_arn`, `tags` and `hf_token` may be Outputs of the caller's own resources.
    """

    # --- generated from the option models by `python -m llm_advisor.component` ---
    model: Required[str]
    (
        "Hugging Face model id or catalog alias to serve (e.g. meta-llama/Llama-3.1-8B-Instruct, "
        "llama3.1-8b), or the path of a Hugging Face config.json."
    )
    served_model: str
    (
        "Hugging Face repo vLLM loads when it is not the model itself: a pre-quantized checkpoint of the "
        "same architecture (AWQ/GPTQ/INT8 ...) or the repo of a config.json path; unset = the planner's "
        "choice. Required when the planner knows no checkpoint in the planned format (it says so). Form: "
        "ORG/NAME of letters, digits, '.', '_', '-'."
    )
    served_model_quantization: str
    (
        "weights format of the served model when the catalog does not know that repo: none (16-bit, vLLM "
        "quantizes at load time), fp8, int8, awq, gptq, bnb4 or mxfp4; unset = looked up from the catalog."
    )
    dtype: str
    """activation/weight dtype for unquantized weights. One of: bf16, fp16. Default: bf16."""
    quantization: str
    """weights format; unset = as the checkpoint ships. One of: none, fp8, int8, awq, gptq, bnb4, mxfp4."""
    kv_cache_dtype: str
    """KV cache dtype: auto (the model dtype) or fp8 (half the KV memory). Default: auto."""
    max_model_len: int
    """input + output tokens of one request (vLLM max_model_len). Default: 8192."""
    concurrency: int
    (
        "requests in flight at max model length that the deployment must hold; with arrival_rate_per_s set "
        "it is derived from the rate and may not be set too. Empty: 16, or derived from arrivalRatePerS when "
        "set. Default: 16."
    )
    arrival_rate_per_s: float
    (
        "requests arriving per second, the load instead of concurrency: the plan holds the concurrency "
        "Little's law gives (rate x predicted latency per request, iterated to a fixed point over plans) and "
        "reports the latency at it; exactly one of them is the load, so an explicit concurrency with a rate "
        "is refused; unset = concurrency is the load."
    )
    mean_input_tokens: int
    (
        "mean prompt tokens per request (throughput and latency model); unset = max_model_len minus the "
        "output default."
    )
    mean_output_tokens: int
    (
        "mean generated tokens per request; unset = max_model_len / 4 (a request then fills max_model_len, "
        "the length concurrency is sized at)."
    )
    workload_type: str
    """realtime (latency matters) or batch (throughput per dollar). Default: realtime."""
    capacity: str
    (
        "auto | on-demand | spot | mixed (on-demand base + spot burst) | capacity-block (an EC2 Capacity "
        "Block for ML over capacity_block_hours, offerings looked up live by `plan`). Default: auto."
    )
    regions: list[str]
    (
        "AWS regions to price; the plan picks one (target eks takes exactly the cluster's region). Empty: "
        "the stack's aws:region, else us-east-1. Default: [us-east-1]."
    )
    max_usd_per_hour: float
    """budget cap in USD per hour for the whole deployment; unset = none."""
    target_output_tokens_per_s: float
    """output tokens per second the whole deployment must sustain; unset = none."""
    max_time_per_output_token_ms: float
    (
        "latency bound per output token in ms; unset = 100 ms for realtime (10 tokens/s, faster than reading "
        "speed), none for batch."
    )
    max_time_to_first_token_ms: float
    (
        "latency bound on the time to first token in ms, queueing and prefill included; unset = 2000 ms for "
        "realtime with mean_input_tokens set (MLPerf Inference's Llama-2-70B server bound), else none."
    )
    allowed_families: list[str]
    """only these instance families (p5, g6e ...); empty = all GPU families."""
    excluded_families: list[str]
    """never these instance families."""
    strict_dtype: bool
    (
        "refuse GPUs that cannot run dtype (bf16 below compute capability 8.0: T4, V100) instead of planning "
        "them with fp16. Default: false."
    )
    headroom: float
    """extra KV cache capacity over concurrency x max model length (0.3 = 30%). Default: 0.3."""
    vllm_version: str
    (
        "vLLM release (X.Y or X.Y.Z) to size for and pin the vllm/vllm-openai image to; unset = the latest "
        "modelled."
    )
    calibration_file: str
    (
        "CSV of startup figures your own vLLM logged (model, GPU, TP/PP, release, settings -> weights, "
        "non-KV memory, KV tokens; `llm-advisor check-log LOG --write-calibration FILE` writes rows): a row "
        "replaces the predicted memory for exactly its settings, and the plan says so."
    )
    batch_input_tokens: int
    (
        "batch only: prompt tokens the whole job must process; with batch_output_tokens the plan minimises "
        "the total cost to finish; unset = a standing load ranked per million output tokens."
    )
    batch_output_tokens: int
    (
        "batch only: output tokens the whole job must generate; the plan reports total cost, hours and USD "
        "per million tokens."
    )
    deadline_hours: float
    (
        "batch only: hours by which the job must finish (spot interruptions included); the plan adds copies "
        "of the fleet to meet it; unset = none."
    )
    min_replicas: int
    (
        "fewest replicas to run (availability); 1 = cost first, the report prices the highly available "
        "variant (2 replicas across 2 AZs) beside it. Default: 1."
    )
    availability_zones: int
    (
        "spread replicas over at least this many AZs (one instance or more per AZ; the type must be offered "
        "in that many). Default: 1."
    )
    on_demand_discount: float
    (
        "your discount on on-demand prices (Savings Plans, enterprise agreement: 0.2 = 20% off); spot is not "
        "discounted. Default: 0.0."
    )
    engine: str
    (
        "serving engine: vllm (GPU instances), llama.cpp (GGUF on CPU instances) or auto (plan both and pick "
        "the cheaper that meets the latency bound; the report says why). Default: vllm."
    )
    gguf_type: str
    """GGUF file type for llama.cpp; unset = Q4_K_M. One of: F16, Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_0, IQ4_XS."""
    gguf_cache_type: str
    """llama.cpp KV cache type (--cache-type-k/-v): f16 or q8_0 (about half). Default: f16."""
    pricing: str
    """auto (live, then cache, then bundled snapshot) | live | snapshot (offline). Default: auto."""
    current_instance_type: str
    (
        "the instance type deployed now, kept unless the cheapest plan saves more than the churn threshold; "
        "unset = first deploy."
    )
    churn_threshold: float
    (
        "fractional saving (0.05 = 5%) a new instance type must bring before it replaces the deployed one. "
        "Default: 0.05."
    )
    target: str
    (
        "eks (managed node groups + the workload), karpenter (Karpenter NodePools + an EC2NodeClass on an "
        "existing cluster running Karpenter v1, + the workload) or ec2 (launch template + Auto Scaling "
        "group). Default: eks."
    )
    vllm_image: str
    (
        "container image instead of the pinned vllm/vllm-openai one, e.g. an EFA-enabled build (libfabric + "
        "aws-ofi-nccl) so multi-node NCCL uses EFA instead of TCP sockets; unset = vllm/vllm-openai:v<vLLM "
        "release>. Form: an image reference [REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST]."
    )
    efa_image: bool
    (
        "vllmImage is an EFA build (libfabric + aws-ofi-nccl): multi-node pods request the node's EFA "
        "devices and the EFA device plugin is needed; false = no EFA device requested, NCCL between nodes "
        "over TCP sockets (the stock image has no EFA libraries). Default: false."
    )
    ecr_pull_through_cache: str
    (
        "targets eks and karpenter: pull the (Docker Hub) vLLM image through an ECR pull-through cache rule "
        "with this repository prefix, e.g. docker-hub (Docker Hub's anonymous pull limit is per IP, shared "
        "by every node behind one NAT); needs dockerHubCredentialArn; unset = pull from Docker Hub."
    )
    docker_hub_credential_arn: str
    (
        "with ecrPullThroughCache: ARN of the Secrets Manager secret (name prefix ecr-pullthroughcache/, in "
        "the plan's account and region) holding the Docker Hub username and access token the cache rule "
        "pulls with."
    )
    cluster_name: pulumi.Input[str]
    (
        "existing EKS cluster to add the GPU nodes to (required for targets eks and karpenter). May be an "
        "Output."
    )
    subnet_ids: pulumi.Input[list[pulumi.Input[str]]]
    (
        "private subnets for the GPU nodes (`pulumi config set --path 'subnetIds[0]' subnet-...`), required "
        "for targets eks and ec2; target karpenter selects these when set, else the subnets tagged "
        "karpenter.sh/discovery. Multi-node (EFA) plans use the first one whose AZ offers the instance type "
        "(one AZ for EFA and the cluster placement group). May be an Output."
    )
    node_role_arn: pulumi.Input[str]
    (
        "IAM role ARN for the EKS nodes; unset = create one with the three EKS node policies (target "
        "karpenter: the role Karpenter's nodes use, unset = KarpenterNodeRole-<clusterName> as Karpenter's "
        "getting-started guide creates it). May be an Output."
    )
    karpenter_discovery: str
    (
        "target karpenter: the karpenter.sh/discovery tag value that selects the nodes' subnets (unless "
        "subnetIds is set) and security groups; unset = clusterName."
    )
    deploy_workload: bool
    (
        "targets eks and karpenter: Pulumi deploys the workload (namespace, NVIDIA device plugin, EFA device "
        "plugin when needed, HF token Secret, vLLM Deployment/LeaderWorkerSet, Service) and exports its "
        "endpoint; false = only the nodes, with the manifests as stack outputs to apply yourself. Default: "
        "true."
    )
    ami_type: str
    """EKS AMI type: AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA. Default: AL2023_x86_64_NVIDIA."""
    kubernetes_version: str
    (
        "the EKS cluster's Kubernetes version (1.XX): picks the NVIDIA driver amiType ships for it "
        "(sizing/data/vllm_images.json) to check the image's CUDA build against; unset = the driver of "
        "current AMI releases."
    )
    ami_id: str
    (
        "target ec2: the AMI to launch; unset = the Deep Learning Base OSS Nvidia Driver GPU AMI (AL2023) "
        "the SSM parameter names at the first `pulumi up`, then kept (no drift); set it (e.g. to a newer "
        "release's ami-id) to upgrade: the instance refresh rolls the instances."
    )
    capacity_reservation_id: str
    (
        "target ec2: the ID (cr-...) of a Capacity Block for ML you purchased (`python -m advisor "
        "capacity-blocks` lists offerings; purchase is a separate paid action this program never takes): the "
        "launch template targets it with market type capacity-block, all instances on-demand in it; the "
        "subnets must be in the block's AZ and the plan's instance type and count the block's; unset = no "
        "reservation."
    )
    ami_release_version: str
    (
        "target eks: the EKS AMI release the node groups run (e.g. 1.33.0-20250704 for AL2023); unset = the "
        "recommended AL2023 NVIDIA release the SSM parameter names at the first `pulumi up` (for "
        "kubernetesVersion, else the cluster's version), then kept (no drift; Bottlerocket: the release EKS "
        "picks at create); set it (e.g. to a newer release) to upgrade: the node groups roll one node at a "
        "time."
    )
    namespace: str
    """Kubernetes namespace of the rendered manifests. Default: default."""
    associate_public_ip: bool
    (
        "give EC2 instances a public IP (target ec2); default no, use private subnets with NAT. Default: "
        "false."
    )
    # --- end of the generated args ---
    tags: pulumi.Input[dict[str, pulumi.Input[str]]]
    """AWS tags for every resource the component creates (the regional provider's default tags)."""
    hf_token: pulumi.Input[str]
    """Hugging Face token for gated models, stored in AWS Secrets Manager (pass a secret); unset = none."""


class LlmServingArgsError(ValueError):
    """An LlmServing arg that is missing, of the wrong type, or not known when the plan is made."""


class LlmServing(pulumi.ComponentResource):
    """vLLM serving on AWS GPUs: plans the cheapest instance type, tensor/pipeline parallelism, replicas and
    on-demand/spot split for a model and a workload, then creates the EKS GPU node groups (or an EC2 Auto
    Scaling group) and renders the matching vLLM config and Kubernetes manifests."""

    plan: pulumi.Output[dict[str, Any]]
    """The plan as data: served checkpoint, vLLM settings, placement, cost, latency, memory, alternatives."""
    instance_type: pulumi.Output[str]
    """EC2 instance type the plan runs on (set currentInstanceType to it to keep it on later runs)."""
    region: pulumi.Output[str]
    """AWS region the plan chose and every resource lands in."""
    usd_per_hour: pulumi.Output[float]
    """Expected cost of the whole deployment in USD per hour, from the plan's prices."""
    price_source: pulumi.Output[str]
    """Where the prices came from: live, cache or snapshot."""
    price_date: pulumi.Output[str]
    """When the prices were read (ISO 8601)."""
    node_group_names: pulumi.Output[list[str] | None]
    """EKS managed node groups of the GPU nodes (target eks); unset for target ec2."""
    auto_scaling_group_name: pulumi.Output[str | None]
    """Auto Scaling group of the GPU instances (target ec2); unset for target eks."""
    vllm_config: pulumi.Output[str]
    """The vLLM config file (YAML for `vllm serve --config`)."""
    kubernetes_manifests: pulumi.Output[str | None]
    """Kubernetes manifests of the vLLM workload (YAML; target eks); unset for target ec2."""
    hf_token_secret_manifest: pulumi.Output[str | None]
    """The hf-token Secret manifest with a ${HF_TOKEN} placeholder, filled at apply time (target eks)."""
    hf_token_secret_arn: pulumi.Output[str | None]
    """ARN of the Secrets Manager secret holding the Hugging Face token; unset without hfToken."""
    apply_hint: pulumi.Output[str]
    """How to apply the manifests (target eks) or where vLLM runs (target ec2)."""
    endpoint: pulumi.Output[str | None]
    """URL of the OpenAI-compatible endpoint once the workload itself is deployed; unset until then."""

    def __init__(
        self,
        name: str,
        args: LlmServingArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        adopt_root_resources: bool = False,
    ) -> None:
        """Plan from `args`, then declare the resources. Every check that can fail (an arg, the plan, the
        subnets of an EFA plan when their ids are plain) runs before any resource, this one included.
        `adopt_root_resources` is for the stack program only (see infra.stack.declare)."""
        cfg, target, hf_token = resolve_args(name, args)
        # engine llama.cpp: the cheapest CPU plan; auto: both, the cheaper per hour within the latency
        # bound (llm_advisor/planner/cpu.py choose_engine); vllm: the GPU plan only.
        engine = cfg.to_workload().engine
        cpu_plan, cpu_why = None, None
        if engine != "vllm":
            try:
                cpu_catalog = load_cpu_catalog(cfg.regions, cfg.pricing)  # live -> cache -> snapshot
                for warning in cpu_catalog.warnings:
                    pulumi.log.warn(warning)
                with use_spelling("stack"):
                    cpu_plan = plan_cpu(cfg.to_workload(), instances=cpu_catalog.instances)
            except NoFeasibleLayout as exc:
                if engine == "llama.cpp":
                    raise
                cpu_why = str(exc)
        if engine == "llama.cpp":
            self._declare_cpu(name, cpu_plan, cfg, target, hf_token, opts)
            return
        catalog = pricing.load_priced_catalog(cfg.regions, pricing=cfg.pricing)
        for warning in catalog.warnings:
            pulumi.log.warn(warning)
        options = cfg.plan_options()
        # The deployed type is kept unless the best plan saves more than churnThreshold: price noise does
        # not replace node groups. Messages name args as the stack and the schema do (maxModelLen).
        with use_spelling("stack"):
            # hfToken set: a gated model's weights can be downloaded (the planner warns otherwise)
            workload = cfg.to_workload().model_copy(update={"has_hf_token": hf_token is not None})
            try:
                plan = planner.make_plan(
                    workload, catalog,
                    previous_instance_type=options.previous_instance_type,
                    churn_threshold=options.churn_threshold,
                )
                gpu_why = None
            except NoFeasibleLayout as exc:
                if engine == "vllm" or cpu_plan is None:
                    raise
                plan, gpu_why = None, str(exc)
            if engine == "auto":
                choice = choose_engine(
                    cpu_plan, cpu_why, plan.cost.usd_per_hour if plan else None,
                    plan.throughput.time_per_output_token_ms if plan else None, gpu_why)
                pulumi.log.info(f"engine auto: {choice.reason}")
                if choice.chosen == "llama.cpp":
                    self._declare_cpu(name, cpu_plan, cfg, target, hf_token, opts)
                    return
            assert plan is not None
            prepared = prepare(plan, cfg, target)
        # The planner's own warnings (a gated model without hfToken, fp16 on a GPU without bf16, a wasteful
        # layout, a dear capacity preference), each once, after the catalog's: `pulumi preview` shows them.
        log_plan_warnings(plan, pulumi.log.warn, already=catalog.warnings)
        super().__init__(TYPE, name, None, opts)
        outputs = declare(prepared, hf_token, parent=self, adopt_root_resources=adopt_root_resources)
        self._stack_outputs = outputs
        for attribute, key in STACK_OUTPUT_OF.items():
            setattr(self, attribute, pulumi.Output.from_input(outputs.get(key)))
        self.region = pulumi.Output.from_input(plan.placement.region)
        self.register_outputs({to_camel(attribute): getattr(self, attribute) for attribute in OUTPUTS})

    def _declare_cpu(self, name: str, cpu_plan: Any, cfg: StackConfig, target: Any,
                     hf_token: pulumi.Input[str] | None, opts: pulumi.ResourceOptions | None) -> None:
        """The llama.cpp CPU path: checks first (prepare_cpu), then the component and its resources."""
        with use_spelling("stack"):
            prepared = prepare_cpu(cpu_plan, cfg, target)
        super().__init__(TYPE, name, None, opts)
        outputs = declare_cpu(prepared, hf_token, parent=self)
        self._stack_outputs = outputs
        for attribute, key in STACK_OUTPUT_OF.items():
            setattr(self, attribute, pulumi.Output.from_input(outputs.get(key)))
        self.region = pulumi.Output.from_input(cpu_plan.instance.region)
        self.register_outputs({to_camel(attribute): getattr(self, attribute) for attribute in OUTPUTS})

    def stack_outputs(self) -> dict[str, Any]:
        """The stack program's outputs under their stack names (`instance_type`, `kubernetes_yaml` ...)."""
        return dict(self._stack_outputs)


# Component output -> the stack output infra.stack.declare returns it under (the stack's export names).
STACK_OUTPUT_OF = {
    "plan": "plan",
    "instance_type": "instance_type",
    "usd_per_hour": "usd_per_hour",
    "price_source": "price_source",
    "price_date": "prices_as_of",
    "node_group_names": "node_group_names",
    "auto_scaling_group_name": "asg_name",
    "vllm_config": "vllm_config",
    "kubernetes_manifests": "kubernetes_yaml",
    "hf_token_secret_manifest": "hf_token_secret_yaml",
    "hf_token_secret_arn": "hf_token_secret_arn",
    "apply_hint": "kubectl_apply_hint",
    "endpoint": "endpoint",
}
OUTPUTS = tuple(name for name in inspect.get_annotations(LlmServing) if not name.startswith("_"))


# --- args -> a validated StackConfig and a Target of Inputs ------------------------------------------------

# Python arg name -> StackConfig field: the arg is the stack key in snake_case (current_instance_type is
# the field previous_instance_type, whose key is currentInstanceType).
OPTION_OF_ARG = {to_snake(info.alias or name): name for name, info in StackConfig.model_fields.items()}
ARGS = (*OPTION_OF_ARG, *EXTRA_ARGS)
_OUTPUT_PLACEHOLDER = "<an Output: resolved by Pulumi>"  # stands in for an Output while the rest is validated


def _schema_name(arg: str) -> str:
    """The name other languages and the stack use (maxModelLen), with the Python one where it differs."""
    camel = to_camel(arg)
    return camel if camel == arg else f"{camel} ({arg})"


def _fail(component: str, arg: str | None, what: str) -> LlmServingArgsError:
    where = f"LlmServing {component!r}" + (f": {_schema_name(arg)}" if arg else "")
    return LlmServingArgsError(f"{where}: {what}")


def _known_now(component: str, arg: str, value: Any) -> Any:
    """A plain value of `value`: Outputs and awaitables resolved, refused if unknown (a value that depends on
    a resource not created yet is unknown during `pulumi preview`)."""
    if isinstance(value, pulumi.Output):
        if not _sync_await(value.is_known()):
            raise _fail(component, arg, (
                "must be known when the program runs: the plan (instance type, node count) is made before "
                "any resource is declared, and this Output is unknown until a resource it depends on exists "
                "(as in `pulumi preview`); pass a plain value"
            ))
        return _known_now(component, arg, _sync_await(value.future()))
    if inspect.isawaitable(value):
        return _known_now(component, arg, _sync_await(value))
    if isinstance(value, (list, tuple)):
        return [_known_now(component, arg, item) for item in value]
    return value


def _is_deferred(value: Any) -> bool:
    return isinstance(value, pulumi.Output) or inspect.isawaitable(value)


def _string_input(component: str, arg: str, value: Any) -> pulumi.Input[str]:
    if isinstance(value, str) or _is_deferred(value):
        return value
    raise _fail(component, arg, f"a string or an Output of one, got {type(value).__name__} {value!r}")


def _subnet_ids(component: str, value: Any) -> tuple[str, ...] | pulumi.Output[list[str]]:
    """Plain ids stay a tuple (looked up before any resource); anything holding an Output is one Output."""
    if _is_deferred(value):
        return pulumi.Output.from_input(value)
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise _fail(component, "subnet_ids", (
            f"a list of subnet ids (strings or Outputs), or an Output of one; got {type(value).__name__} "
            f"{value!r}"
        ))
    for item in value:
        _string_input(component, "subnet_ids", item)
    if all(isinstance(item, str) for item in value):
        return tuple(value)
    return pulumi.Output.from_input(list(value))


def _tags(component: str, value: Any) -> pulumi.Input[Mapping[str, pulumi.Input[str]]]:
    if _is_deferred(value):
        return value
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _fail(component, "tags", f"a mapping of tag names to values, got {type(value).__name__} "
                    f"{value!r}")
    for item in value.values():
        _string_input(component, "tags", item)
    return dict(value)


def _placeholder(value: Any, many: bool) -> Any:
    """What StackConfig validates for a target arg: an Output stands for a value (`many`: a list) to come."""
    if _is_deferred(value):
        return [_OUTPUT_PLACEHOLDER] if many else _OUTPUT_PLACEHOLDER
    if isinstance(value, (list, tuple)):
        return [_OUTPUT_PLACEHOLDER if _is_deferred(item) else item for item in value]
    return value


def _describe(component: str, exc: ValidationError) -> LlmServingArgsError:
    """One error for all failed args, each named as in the schema (StackConfig validates by stack key)."""
    parts = []
    for err in exc.errors():
        loc = err.get("loc", ())
        arg = to_snake(str(loc[0])) if loc else "args"
        where = _schema_name(arg) + "".join(f"[{p}]" for p in loc[1:])
        missing = err.get("type") == "missing"
        got = "" if missing or err.get("input") is None else f" (got {err.get('input')!r})"
        what = "required" if missing else str(err.get("msg")).removeprefix("Value error, ")
        parts.append(f"{where}: {what}{got}")
    return LlmServingArgsError(f"LlmServing {component!r}: " + "; ".join(parts))


def resolve_args(
    component: str, args: Mapping[str, Any]
) -> tuple[StackConfig, Target, pulumi.Input[str] | None]:
    """Validate `args` before any resource: the options as a StackConfig (plain values), where the nodes go as
    a Target of Inputs, and the token. Raises one LlmServingArgsError naming every arg that is wrong."""
    if not isinstance(args, Mapping):
        raise _fail(component, None,
                    f"args must be an LlmServingArgs (a dict of args), got {type(args).__name__}")
    unknown = sorted(set(args) - set(ARGS))
    if unknown:
        meant = [f"{key} is {to_snake(key)}" for key in unknown if to_snake(key) in ARGS]
        raise _fail(component, None, (
            f"{', '.join(unknown)}: not an arg of LlmServing"
            + (f" (in Python the args are snake_case: {', '.join(meant)})" if meant else "")
            + f"; the args are {', '.join(ARGS)}"
        ))
    given = {arg: value for arg, value in args.items() if value is not None}  # None = unset
    raw: dict[str, Any] = {}
    for arg, value in given.items():
        if arg in EXTRA_ARGS:
            continue
        field = OPTION_OF_ARG[arg]
        key = StackConfig.model_fields[field].alias or field
        if field in INPUT_OPTIONS:
            raw[key] = _placeholder(value, many=field == "subnet_ids")
        else:
            raw[key] = _known_now(component, arg, value)
    # The form of every target Input first: a wrong type is named as such, not as a pydantic detail.
    subnets = _subnet_ids(component, given["subnet_ids"]) if "subnet_ids" in given else None
    cluster, role, token = (_string_input(component, arg, given[arg]) if arg in given else None
                            for arg in ("cluster_name", "node_role_arn", "hf_token"))
    tags = _tags(component, given["tags"]) if "tags" in given else None
    try:
        cfg = StackConfig.model_validate(raw)
    except ValidationError as exc:
        raise _describe(component, exc) from None
    assert subnets is not None  # StackConfig requires subnetIds
    # "" is "unset" for the optional string options (as in the stack); Outputs are kept as given.
    target = Target(subnet_ids=subnets, cluster_name=cluster or None, node_role_arn=role or None, tags=tags)
    return cfg, target, token


def args_from_stack_config(cfg: StackConfig, hf_token: pulumi.Input[str] | None = None) -> LlmServingArgs:
    """The stack program's args: every option of a validated StackConfig (unset ones left out)."""
    args: dict[str, Any] = {}
    for arg, field in OPTION_OF_ARG.items():
        value = getattr(cfg, field)
        if field == LOAD_FIELD and field not in cfg.model_fields_set:
            continue  # its default is not the load when arrivalRatePerS is (infra/config.py LOAD_FIELD)
        if value is not None:
            args[arg] = list(value) if isinstance(value, tuple) else value
    if hf_token is not None:
        args["hf_token"] = hf_token
    return LlmServingArgs(**args)  # type: ignore[typeddict-item]


# --- the generated block of LlmServingArgs, from the option models ------------------------------------------

def _annotation(field: str) -> str:
    info = StackConfig.model_fields[field]
    base = unwrap_optional(info.annotation)
    if literal_choices(info.annotation) or base is str:
        text = "str"
    elif base in (bool, int, float):
        text = base.__name__
    else:  # tuple[str, ...]: a list in the schema
        text = "list[str]"
    if field in INPUT_OPTIONS:
        text = "pulumi.Input[list[pulumi.Input[str]]]" if text == "list[str]" else f"pulumi.Input[{text}]"
    return f"Required[{text}]" if info.is_required() else text


def _default_text(default: Any) -> str:
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, tuple):
        return "[" + ", ".join(default) + "]"
    return str(default)


def _description(field: str) -> str:
    """The stack key's description (Pulumi.yaml's), its default, and whether it may be an Output."""
    info = StackConfig.model_fields[field]
    text = pulumi_config_schema()[info.alias or field]["description"]
    if info.default not in (None, "", ()) and not info.is_required():
        text += f" Default: {_default_text(info.default)}."
    if field in INPUT_OPTIONS:
        text += " May be an Output."
    return text


def _string_literal(text: str, indent: str, width: int = 110) -> list[str]:
    """A docstring statement for `text`: one line if it fits, else implicitly joined parts in parentheses
    (one string constant to the analyzer, lines within `width`)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    if len(indent) + len(escaped) + 6 <= width:
        return [f'{indent}"""{escaped}"""']
    lines, part = [f"{indent}("], ""
    for word in escaped.split(" "):
        candidate = f"{part} {word}" if part else word
        if part and len(indent) + 4 + len(candidate) + 3 > width:
            lines.append(f'{indent}    "{part} "')
            part = word
        else:
            part = candidate
    lines.append(f'{indent}    "{part}"')
    return [*lines, f"{indent})"]


def generated_args_block() -> list[str]:
    """The lines between the GENERATED_ markers: one arg per stack option, in Pulumi.yaml's order."""
    order = list(pulumi_config_schema())
    fields = sorted(OPTION_OF_ARG.items(), key=lambda item: order.index(to_camel(item[0])))
    lines = []
    for arg, field in fields:
        lines.append(f"    {arg}: {_annotation(field)}")
        lines.extend(_string_literal(_description(field), "    "))
    return lines


def args_block_in(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return lines[lines.index(GENERATED_BEGIN) + 1:lines.index(GENERATED_END)]


def write_args_block(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    start = lines.index(GENERATED_BEGIN + "\n") + 1
    end = lines.index(GENERATED_END + "\n")
    path.write_text("".join(lines[:start]) + "".join(f"{line}\n" for line in generated_args_block())
                    + "".join(lines[end:]))


if __name__ == "__main__":  # python -m llm_advisor.component: regenerate LlmServingArgs from the models
    write_args_block(Path(__file__))
