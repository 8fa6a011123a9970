"""The single renderer: turns a Plan into the vLLM config, Kubernetes manifests and EC2 cloud-init.

Every *.j2 file in this directory is rendered here and nowhere else, with StrictUndefined so a missing
value fails loudly instead of rendering an empty string.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
from pathlib import Path

import jinja2
from pydantic import BaseModel, ConfigDict

from planner.models import Plan
from templates.common import (
    CAPACITY_LABEL,
    POOL_LABEL,
    RAY_PORT,
    VLLM_PORT,
    RenderError,
    efa_interfaces,
    replicas_per_instance,
    require_served_model,
)
from templates.models import RenderedBundle, RenderedFile, RenderOptions, slugify

__all__ = ["CAPACITY_LABEL", "POOL_LABEL", "RAY_PORT", "VLLM_PORT", "RenderError", "efa_interfaces",
           "replicas_per_instance",
           "require_served_model"]

TEMPLATE_DIR = Path(__file__).resolve().parent
VLLM_IMAGE_REPOSITORY = "vllm/vllm-openai"
CONFIG_DIR = "/etc/vllm"
CONFIG_FILE = "vllm-config.yaml"
CONFIG_PATH = f"{CONFIG_DIR}/{CONFIG_FILE}"
RAY_LEADER_SCRIPT = "ray-leader.sh"
RAY_WORKER_SCRIPT = "ray-worker.sh"
# Pod template annotation holding the sha256 of the ConfigMap data: a changed vLLM config (or Ray script)
# changes the pod template, so the Deployment / LeaderWorkerSet rolls its pods (a ConfigMap edit alone
# does not restart anything).
CONFIG_CHECKSUM_ANNOTATION = "llm-advisor/config-sha256"
# Where the Hugging Face hub cache lives inside the vllm/vllm-openai image (HF_HOME default
# ~/.cache/huggingface, the image runs as root); the pods mount the node's cache directory here.
HF_CACHE_MOUNT = "/root/.cache/huggingface"

# Plan dtype -> vLLM --dtype choice (arg_utils.py: auto, half, float16, bfloat16, float, float32).
_DTYPE = {"bf16": "bfloat16", "fp16": "float16"}
# Load-time (in-flight) quantization from a 16-bit checkpoint -> vLLM --quantization. Only these are
# named: for a pre-quantized checkpoint vLLM reads the method from its quantization_config, and naming a
# different one fails (ModelConfig._verify_quantization: "Quantization method specified in the model
# config (compressed-tensors) does not match the quantization method specified in the `quantization`
# argument (fp8)"), e.g. RedHatAI FP8-dynamic (compressed-tensors) or Meta's 405B FP8 (fbgemm_fp8).
# bitsandbytes in-flight 4-bit needs `quantization: bitsandbytes` (vLLM docs, features/quantization/bnb:
# "For inflight 4bit quantization with BitsAndBytes, you need to explicitly specify the quantization
# argument"); vLLM's `fp8` method quantizes a bf16/fp16 checkpoint's weights at load time.
_LOAD_TIME_QUANTIZATION = {"fp8": "fp8", "bnb4": "bitsandbytes"}
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")
# The extended resource the aws-efa-k8s-device-plugin advertises; pods request EFA devices through it
# (AWS EKS user guide, "Manage EFA devices on Amazon EKS": "The EFA device plugin advertises EFA devices
# as vpc.amazonaws.com/efa ... request EFA devices in the container resource requests and limits").
EFA_RESOURCE = "vpc.amazonaws.com/efa"
# Families whose EFA supports RDMA read/write (GPUDirect RDMA). aws/sagemaker-training-toolkit
# torch_distributed.py sets FI_EFA_USE_DEVICE_RDMA=1 only for its EFA-RDMA instance list (p4d, p4de,
# p5 ...); on an EFA without RDMA support libfabric refuses the setting, so it is per family here.
_EFA_RDMA_FAMILIES = frozenset({"p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300"})
# Ray group start-up bounds. Workers retry `ray start` until the head answers for 300 s, as vLLM's own
# helper does (examples/online_serving/multi-node-serving.sh: ray_init_timeout=300, a retry every 5 s);
# the leader waits for the whole group's GPUs before `vllm serve` for up to 1200 s, enough for a worker's
# cold pull of the ~10 GB image, then exits so LeaderWorkerSet recreates the group.
RAY_RETRY_INTERVAL_S = 5
RAY_WORKER_JOIN_TIMEOUT_S = 300
RAY_LEADER_WAIT_S = 1200
# Node capacity kept back from the vLLM pods for the kubelet, kube-/system-reserved, the eviction
# threshold and the node's DaemonSets (VPC CNI, kube-proxy, NVIDIA and EFA device plugins): EKS AMIs
# reserve about 255 MiB + 11 MiB per pod of memory and 6%/1%/0.5%/0.25% of the cores (EKS AMI bootstrap
# kube-reserved); 10% (at least 1 vCPU / 2 GiB) leaves room for that plus the DaemonSets.
_NODE_RESERVED_FRACTION = 0.10
_NODE_RESERVED_MIN_VCPUS = 1
_NODE_RESERVED_MIN_GIB = 2

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)
# JSON scalars are valid YAML scalars: strings come out quoted and escaped, numbers and booleans bare.
_ENV.filters["yaml"] = lambda value: json.dumps(value)


class PodSet(BaseModel):
    """One Deployment / LeaderWorkerSet: its name, the node capacity label it selects, its replicas."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    capacity: str
    replicas: int


def vllm_image(plan: Plan, override: str | None = None) -> str:
    """The image to run: `override` when given, else vllm/vllm-openai pinned to the plan's release
    (`0.11` -> `v0.11.0`)."""
    if override:
        return override
    match = _VERSION.match(plan.vllm_version)
    if not match:
        raise RenderError(
            f"vllm_version {plan.vllm_version!r} is not X.Y or X.Y.Z; the image tag needs e.g. '0.11.0'"
        )
    major, minor, patch = match.group(1), match.group(2), match.group(3) or "0"
    return f"{VLLM_IMAGE_REPOSITORY}:v{major}.{minor}.{patch}"


def efa_env(plan: Plan) -> tuple[tuple[str, str], ...]:
    """libfabric settings NCCL needs to use EFA (empty for plans without EFA).

    FI_PROVIDER=efa pins libfabric to the EFA provider (fi_efa(7)); FI_EFA_USE_DEVICE_RDMA=1 enables
    GPUDirect RDMA on the families that support it (see _EFA_RDMA_FAMILIES). Both only take effect when
    the image carries libfabric + the aws-ofi-nccl plugin; otherwise NCCL uses its socket transport.
    """
    if not plan.needs_efa:
        return ()
    env = [("FI_PROVIDER", "efa")]
    if plan.instance_type.split(".", 1)[0] in _EFA_RDMA_FAMILIES:
        env.append(("FI_EFA_USE_DEVICE_RDMA", "1"))
    return tuple(env)


def efa_image_note(plan: Plan, options: RenderOptions) -> str | None:
    """What EFA needs from the image, said plainly (None for plans without EFA)."""
    if not plan.needs_efa:
        return None
    if options.image:
        return (f"EFA: image {options.image} must carry libfabric and the aws-ofi-nccl plugin, or NCCL "
                "between nodes falls back to TCP sockets")
    return ("EFA: the stock vllm/vllm-openai image has no libfabric/aws-ofi-nccl, so NCCL between nodes uses "
            "TCP sockets (correct, slower); set an EFA-enabled image (render --image / config vllmImage) "
            "to use the EFA devices")


def object_name(plan: Plan) -> str:
    """Kubernetes object / node-pool name: `vllm-` + the served checkpoint's repo name, sanitised."""
    return f"vllm-{slugify(require_served_model(plan), 34)}"


def default_options(plan: Plan, node_vcpus: int, node_memory_gib: float, **fields: object) -> RenderOptions:
    """Options derived from the plan and the node shape; `fields` sets the other RenderOptions."""
    return RenderOptions(
        name=object_name(plan), node_vcpus=node_vcpus, node_memory_gib=node_memory_gib, **fields
    )


def vllm_quantization(plan: Plan) -> str | None:
    """vLLM `quantization` value: only when vLLM quantizes a 16-bit checkpoint at load time."""
    if plan.quantization == plan.checkpoint_quantization:
        return None
    if plan.checkpoint_quantization == "none" and plan.quantization in _LOAD_TIME_QUANTIZATION:
        return _LOAD_TIME_QUANTIZATION[plan.quantization]
    raise RenderError(
        f"quantization: the plan runs {plan.quantization} weights but the served checkpoint "
        f"{plan.served_model} is {plan.checkpoint_quantization}; vLLM quantizes at load time only from a "
        "16-bit checkpoint to fp8 or bitsandbytes. Pass --served-model (config servedModel) naming a "
        f"{plan.quantization} checkpoint, or plan with --quantization fp8"
    )


def vllm_settings(plan: Plan) -> tuple[tuple[str, str | int | float | bool], ...]:
    """Every `vllm serve` setting that matters, explicitly, in vLLM's long-option spelling."""
    multi_node = plan.instances_per_replica > 1
    settings: list[tuple[str, str | int | float | bool]] = [
        ("host", "0.0.0.0"),
        ("port", VLLM_PORT),
        ("served-model-name", require_served_model(plan)),
        ("dtype", _DTYPE[plan.dtype]),
    ]
    quantization = vllm_quantization(plan)
    if quantization:
        settings.append(("quantization", quantization))
    settings += [
        ("kv-cache-dtype", plan.kv_cache_dtype),
        ("max-model-len", plan.max_model_len),
        ("max-num-seqs", plan.max_num_seqs),
        ("max-num-batched-tokens", plan.max_num_batched_tokens),
        ("gpu-memory-utilization", plan.gpu_memory_utilization),
        ("block-size", plan.block_size),
        ("tensor-parallel-size", plan.tensor_parallel_size),
        ("pipeline-parallel-size", plan.pipeline_parallel_size),
        ("enable-prefix-caching", True),
        # Ray is the only executor that spans instances; mp (multiprocessing) is vLLM's single-node one.
        ("distributed-executor-backend", "ray" if multi_node else "mp"),
    ]
    return tuple(settings)


def config_entries(
    settings: tuple[tuple[str, str | int | float | bool], ...],
) -> tuple[tuple[str, str | int | float | bool], ...]:
    """Config-file entries: a `false` boolean becomes its negative flag set to true.

    vLLM's config-file loader appends `--key` for a true boolean. Up to v0.10
    (FlexibleArgumentParser._load_config_file in vllm/utils.py) it silently drops a false one, so
    `enable-prefix-caching: false` left the default (on) in force; later loaders
    (vllm/utils/argparse_utils.py@00da11e3 load_config_file) map false to `--no-key` only when that
    option exists. `no-enable-prefix-caching: true` means the same to both.
    """
    return tuple((f"no-{key}", True) if value is False else (key, value) for key, value in settings)


def serve_args(plan: Plan) -> list[str]:
    """Arguments after the `vllm` executable: the served checkpoint positionally, everything else from
    the config file. A positional model wins over `model:` in the file (argparse_utils.py@00da11e3
    _pull_args_from_config: "Model specified as positional arg, keep CLI version"; serve_args.md:
    `command line > config file values > defaults`)."""
    return ["serve", require_served_model(plan), "--config", CONFIG_PATH]


def render_vllm_config(plan: Plan) -> str:
    return _ENV.get_template("vllm-config.yaml.j2").render(
        plan=plan, served_model=require_served_model(plan), entries=config_entries(vllm_settings(plan))
    )


def workloads(plan: Plan, options: RenderOptions) -> tuple[PodSet, ...]:
    """One workload per node capacity type, so the on-demand base replicas land on on-demand nodes.

    A mixed plan gets `<name>-od` (nodeSelector llm-advisor/capacity=on-demand) and `<name>-spot`;
    both share the ConfigMap and the Service (which selects on the app name only)."""
    if plan.capacity_type != "mixed":
        return (PodSet(name=options.name, capacity=plan.capacity_type, replicas=plan.replicas),)
    if plan.instances_per_replica > 1:
        if plan.on_demand_instances % plan.instances_per_replica:
            raise RenderError(
                f"on_demand_instances: {plan.on_demand_instances} is not a whole number of "
                f"{plan.instances_per_replica}-node replicas, so a group would straddle on-demand and spot; "
                "plan the on-demand base in whole replicas or use capacity on-demand"
            )
        on_demand = plan.on_demand_instances // plan.instances_per_replica
    else:
        on_demand = min(plan.replicas, plan.on_demand_instances * replicas_per_instance(plan))
    parts = [PodSet(name=f"{options.name}-od", capacity="on-demand", replicas=on_demand),
             PodSet(name=f"{options.name}-spot", capacity="spot", replicas=plan.replicas - on_demand)]
    return tuple(w for w in parts if w.replicas > 0)


def pods_per_node(plan: Plan) -> int:
    return replicas_per_instance(plan) if plan.instances_per_replica == 1 else 1


def pod_requests(plan: Plan, options: RenderOptions) -> tuple[int, int]:
    """(vCPUs, GiB of memory) each vLLM pod requests: the node's capacity less the reserve, shared by
    the pods packed on it. Requests only (Burstable QoS): a memory limit would OOM-kill vLLM for a
    transient host-memory peak (weights staged in host RAM while loading)."""
    vcpus, memory_gib = options.node_vcpus, options.node_memory_gib
    reserved_vcpus = max(_NODE_RESERVED_MIN_VCPUS, math.ceil(vcpus * _NODE_RESERVED_FRACTION))
    reserved_gib = max(_NODE_RESERVED_MIN_GIB, memory_gib * _NODE_RESERVED_FRACTION)
    pods = pods_per_node(plan)
    cpu = (vcpus - reserved_vcpus) // pods
    memory = math.floor((memory_gib - reserved_gib) / pods)
    if cpu < 1 or memory < 1:
        raise RenderError(
            f"node_vcpus/node_memory_gib: {vcpus} vCPUs and {memory_gib:g} GiB leave no room for "
            f"{pods} vLLM pod(s) after the node reserve; use a larger instance type of the family"
        )
    return cpu, memory


def _ray_scripts(plan: Plan) -> dict[str, str]:
    """The leader and worker scripts of a LeaderWorkerSet group (empty for single-instance replicas)."""
    if plan.instances_per_replica == 1:
        return {}
    context = {
        "ray_port": RAY_PORT, "gpus": plan.gpus_per_replica, "interval_s": RAY_RETRY_INTERVAL_S,
        "join_timeout_s": RAY_WORKER_JOIN_TIMEOUT_S, "leader_wait_s": RAY_LEADER_WAIT_S,
        "serve_command": shlex.join(["vllm", *serve_args(plan)]),
    }
    return {
        RAY_LEADER_SCRIPT: _ENV.get_template("ray-leader.sh.j2").render(**context),
        RAY_WORKER_SCRIPT: _ENV.get_template("ray-worker.sh.j2").render(**context),
    }


def config_files(plan: Plan, vllm_config: str) -> dict[str, str]:
    """The ConfigMap's data: the vLLM config, plus the Ray scripts for multi-node replicas."""
    return {CONFIG_FILE: vllm_config, **_ray_scripts(plan)}


def config_checksum(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return digest.hexdigest()


def _pod_context(plan: Plan, options: RenderOptions, vllm_config: str) -> dict[str, object]:
    files = config_files(plan, vllm_config)
    cpu, memory_gib = pod_requests(plan, options)
    return {
        "plan": plan,
        "options": options,
        "image": vllm_image(plan, options.image),
        "config_files": files,
        "config_checksum": config_checksum(files),
        "checksum_annotation": CONFIG_CHECKSUM_ANNOTATION,
        "serve_args": serve_args(plan),
        "served_model": require_served_model(plan),
        "workloads": workloads(plan, options),
        "gpus_per_pod": plan.gpus_per_replica // plan.instances_per_replica,
        "cpu_request": cpu,
        "memory_request_gib": memory_gib,
        "pool_label": POOL_LABEL,
        "capacity_label": CAPACITY_LABEL,
        "port": VLLM_PORT,
        "config_dir": CONFIG_DIR,
        "leader_script": RAY_LEADER_SCRIPT,
        "worker_script": RAY_WORKER_SCRIPT,
        "hf_cache_mount": HF_CACHE_MOUNT,
        "efa_devices": efa_interfaces(plan),
        "efa_env": efa_env(plan),
        "efa_note": efa_image_note(plan, options),
    }


def render_kubernetes(plan: Plan, options: RenderOptions, vllm_config: str) -> str:
    """ConfigMap + Deployment(s) + Service, or ConfigMap + LeaderWorkerSet(s) + Service when a replica
    spans instances; one workload per capacity type of a mixed plan."""
    name = "leaderworkerset.yaml.j2" if plan.instances_per_replica > 1 else "deployment.yaml.j2"
    return _ENV.get_template(name).render(**_pod_context(plan, options, vllm_config))


def render_hf_token_secret(plan: Plan, options: RenderOptions) -> str:
    """A Secret manifest holding only the placeholder `${HF_TOKEN}`, filled by envsubst at apply time."""
    return _ENV.get_template("hf-token-secret.yaml.j2").render(
        options=options, fill_command=hf_token_fill_command(plan, options)
    )


def render_cloud_init(plan: Plan, options: RenderOptions, vllm_config: str) -> str:
    """cloud-config: the vLLM config, one systemd unit per replica on the instance, the token fetcher."""
    if plan.instances_per_replica > 1:
        raise RenderError(
            f"a replica spans {plan.instances_per_replica} instances; EC2 user data runs independent "
            "single-instance servers. Use target eks (LeaderWorkerSet + Ray) or a plan with "
            "instances_per_replica 1 (larger instance type or --quantization fp8)"
        )
    per_instance = replicas_per_instance(plan)
    servers = [
        {
            "index": i,
            "port": VLLM_PORT + i,
            "devices": ",".join(str(i * plan.gpus_per_replica + d) for d in range(plan.gpus_per_replica)),
        }
        for i in range(per_instance)
    ]
    return _ENV.get_template("cloud-init.yaml.j2").render(
        plan=plan, options=options, image=vllm_image(plan, options.image), vllm_config=vllm_config,
        servers=servers, serve_args=serve_args(plan), served_model=require_served_model(plan),
        config_dir=CONFIG_DIR, config_file=CONFIG_FILE, port=VLLM_PORT, hf_cache_mount=HF_CACHE_MOUNT,
    )


def hf_token_fill_command(plan: Plan, options: RenderOptions) -> str:
    """How to turn hf-token-secret.yaml into the Secret: the value goes through envsubst from an
    environment variable (from Secrets Manager when the stack created one, else typed without echo),
    so it never lands in a file, a command line or shell history."""
    if options.hf_token_secret_id:
        source = (
            f"HF_TOKEN=\"$(aws secretsmanager get-secret-value --region {plan.region} "
            f"--secret-id {options.hf_token_secret_id} --query SecretString --output text)\""
        )
    else:
        source = "read -rs HF_TOKEN"
    return f"{source} && export HF_TOKEN && envsubst < hf-token-secret.yaml | kubectl apply -f -"


def kubectl_apply_hint(plan: Plan, options: RenderOptions) -> str:
    """Commands that put the rendered manifests on a cluster (token Secret first)."""
    steps = []
    if plan.instances_per_replica > 1:
        steps.append("# needs the LeaderWorkerSet controller: https://lws.sigs.k8s.io/docs/installation/")
    if plan.needs_efa:
        steps.append("# needs the EFA device plugin (vpc.amazonaws.com/efa): "
                     "https://github.com/aws/eks-charts/tree/master/stable/aws-efa-k8s-device-plugin")
        steps.append(f"# {efa_image_note(plan, options)}")
    fill = hf_token_fill_command(plan, options)
    # Without a stack-managed token the Secret is only needed for gated models (pods read it optionally).
    steps.append(fill if options.hf_token_secret_id else f"# gated model only: {fill}")
    steps.append("kubectl apply -f kubernetes.yaml")
    return "\n".join(steps)


def render_bundle(plan: Plan, options: RenderOptions) -> RenderedBundle:
    """All files for a plan: vllm-config.yaml, kubernetes.yaml, hf-token-secret.yaml (the placeholder
    Secret the pods reference optionally) and cloud-init.yaml (when replicas fit on one instance)."""
    vllm_config = render_vllm_config(plan)
    files = [
        RenderedFile(name=CONFIG_FILE, content=vllm_config),
        RenderedFile(name="kubernetes.yaml", content=render_kubernetes(plan, options, vllm_config)),
    ]
    files.append(RenderedFile(name="hf-token-secret.yaml", content=render_hf_token_secret(plan, options)))
    if plan.instances_per_replica == 1:
        cloud_init = render_cloud_init(plan, options, vllm_config)
        files.append(RenderedFile(name="cloud-init.yaml", content=cloud_init))
    return RenderedBundle(
        files=tuple(files), image=vllm_image(plan, options.image),
        kubectl_apply_hint=kubectl_apply_hint(plan, options),
    )
