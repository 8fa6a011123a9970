"""The single renderer: turns a Plan into the vLLM config, Kubernetes manifests and EC2 cloud-init.

Every *.j2 file in this directory is rendered here and nowhere else, with StrictUndefined so a missing
value fails loudly instead of rendering an empty string.
"""

from __future__ import annotations

import hashlib
import json
import math
import shlex
from pathlib import Path

import jinja2

from llm_advisor.planner.cpu import CpuPlan
from llm_advisor.planner.models import Plan
from sizing.images import image_tag
from sizing.vocabulary import LOAD_TIME_METHODS, Frozen, is_load_time
from templates import llamacpp
from templates.common import (
    CAPACITY_LABEL,
    GPU_PRESENT_LABEL,
    POOL_LABEL,
    RAY_PORT,
    VLLM_PORT,
    RenderError,
    check_renderable_vllm_version,
    checkpoint_gib,
    efa_interfaces,
    gp3_performance,
    replicas_per_instance,
    require_served_model,
    vllm_release,
)
from templates.daemonsets import (
    EFA_DEVICE_PLUGIN_CHART,
    daemonset_pods,
    device_plugin_releases,
    gpu_tolerations,
    helm_install_command,
)
from templates.models import RenderedBundle, RenderedFile, RenderOptions, slugify
from templates.scheduling import pods_per_node, vllm_requests

__all__ = ["CAPACITY_LABEL", "POOL_LABEL", "RAY_PORT", "VLLM_PORT", "RenderError", "efa_interfaces",
           "replicas_per_instance",
           "require_served_model"]

TEMPLATE_DIR = Path(__file__).resolve().parent
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
# EC2 target: the instance's directory for the HF cache (on the root volume infra/ sizes for the
# checkpoint); Docker bind-mounts it, so a restarted server finds the weights already downloaded.
EC2_HF_CACHE_DIR = "/opt/hf-cache"

# Plan dtype -> vLLM --dtype choice (arg_utils.py: auto, half, float16, bfloat16, float, float32).
_DTYPE = {"bf16": "bfloat16", "fp16": "float16"}
# Load-time (in-flight) quantization from a 16-bit checkpoint -> vLLM --quantization. Only these are
# named: for a pre-quantized checkpoint vLLM reads the method from its quantization_config, and naming a
# different one fails (ModelConfig._verify_quantization: "Quantization method specified in the model
# config (compressed-tensors) does not match the quantization method specified in the `quantization`
# argument (fp8)"), e.g. RedHatAI FP8-dynamic (compressed-tensors) or Meta's 405B FP8 (fbgemm_fp8).
# bitsandbytes in-flight 4-bit needs `quantization: bitsandbytes` (vLLM docs, features/quantization/bnb:
# "For inflight 4bit quantization with BitsAndBytes, you need to explicitly specify the quantization
# argument"); vLLM's `fp8` method quantizes a bf16/fp16 checkpoint's weights at load time. The method
# names are sizing.vocabulary.LOAD_TIME_METHODS.
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
# Startup probe budget of a vLLM container: the weights are downloaded into the HF cache on the node's
# gp3 volume and read back from it, at the throughput the launch templates provision for the checkpoint
# (templates.common.gp3_performance), which bounds both the download's writes and the load's reads. Plus
# a fixed allowance for the image pull (~10 GB) and CUDA graph capture / torch.compile, and, on a
# LeaderWorkerSet leader, the Ray group wait.
STARTUP_FIXED_ALLOWANCE_S = 900
STARTUP_MIN_S = 1800
STARTUP_PROBE_PERIOD_S = 10
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
# Shell quoting for every value that lands in a script or a systemd command line (values are validated
# too: templates.common.check_*); systemd accepts single-quoted words like a shell (systemd.service,
# "Command lines").
_ENV.filters["q"] = lambda value: shlex.quote(str(value))


class PodSet(Frozen):
    """One Deployment / LeaderWorkerSet: its name, the node capacity label it selects, its replicas."""

    name: str
    capacity: str
    replicas: int


def vllm_image(plan: Plan, override: str | None = None) -> str:
    """The image to run: `override` when given, else the release's pinned vllm/vllm-openai image from the
    image table the planner checks GPUs and AMIs against (sizing/data/vllm_images.json; `0.11` ->
    `v0.11.0`), so the image rendered is the image checked."""
    if override:
        return override
    vllm_release(plan)  # a release the renderer supports (raises RenderError otherwise)
    return image_tag(plan.vllm.vllm_version)


def efa_env(plan: Plan, options: RenderOptions) -> tuple[tuple[str, str], ...]:
    """libfabric settings NCCL needs to use EFA (empty for plans without EFA or without an EFA image).

    FI_PROVIDER=efa pins libfabric to the EFA provider (fi_efa(7)); FI_EFA_USE_DEVICE_RDMA=1 enables
    GPUDirect RDMA on the families that support it (see _EFA_RDMA_FAMILIES). Both only take effect when
    the image carries libfabric + the aws-ofi-nccl plugin; otherwise NCCL uses its socket transport.
    """
    if not pod_efa_devices(plan, options):
        return ()
    env = [("FI_PROVIDER", "efa")]
    if plan.placement.instance_type.split(".", 1)[0] in _EFA_RDMA_FAMILIES:
        env.append(("FI_EFA_USE_DEVICE_RDMA", "1"))
    return tuple(env)


def efa_image_note(plan: Plan, options: RenderOptions) -> str | None:
    """What EFA needs from the image, said plainly (None for plans without EFA)."""
    if not plan.placement.needs_efa:
        return None
    if options.efa_image:
        return (f"EFA: image {options.image} is declared an EFA build (efaImage): the pods request the "
                f"node's {efa_interfaces(plan)} EFA devices, which needs the EFA device plugin")
    return ("EFA: the image is not declared an EFA build, so the pods request no EFA device and NCCL "
            "between nodes uses TCP sockets (correct, slower); the stock vllm/vllm-openai image has no "
            "libfabric/aws-ofi-nccl. With an EFA-enabled image set vllmImage and efaImage true "
            "(render --image IMAGE --efa-image)")


def object_name(plan: Plan) -> str:
    """Kubernetes object / node-pool name: `vllm-` + the served checkpoint's repo name, sanitised."""
    return f"vllm-{slugify(require_served_model(plan), 34)}"


def default_options(plan: Plan, **fields: object) -> RenderOptions:
    """Options derived from the plan, its node shape included (placement.node_vcpus/node_memory_gib: the
    priced catalog's facts, so `render` and the Pulumi program size the same pods); `fields` sets the
    other RenderOptions."""
    at = plan.placement
    return RenderOptions(
        name=object_name(plan), node_vcpus=at.node_vcpus, node_memory_gib=at.node_memory_gib, **fields
    )


def vllm_quantization(plan: Plan) -> str | None:
    """vLLM `quantization` value: only when vLLM quantizes a 16-bit checkpoint at load time."""
    if plan.served.quantization == plan.served.checkpoint_quantization:
        return None
    if is_load_time(plan.served.checkpoint_quantization, plan.served.quantization):
        return LOAD_TIME_METHODS[plan.served.quantization]
    raise RenderError(
        f"quantization: the plan runs {plan.served.quantization} weights but the served checkpoint "
        f"{plan.served.served_model} is {plan.served.checkpoint_quantization}; vLLM quantizes at load time "
        "only from a 16-bit checkpoint to fp8 or bitsandbytes. Pass --served-model (config servedModel) "
        "naming a "
        f"{plan.served.quantization} checkpoint, or plan with --quantization fp8"
    )


def vllm_settings(plan: Plan) -> tuple[tuple[str, str | int | float | bool], ...]:
    """Every `vllm serve` setting that matters, explicitly, in vLLM's long-option spelling."""
    multi_node = plan.placement.instances_per_replica > 1
    settings: list[tuple[str, str | int | float | bool]] = [
        ("host", "0.0.0.0"),
        ("port", VLLM_PORT),
        ("served-model-name", require_served_model(plan)),
        ("dtype", _DTYPE[plan.served.dtype]),
    ]
    quantization = vllm_quantization(plan)
    if quantization:
        settings.append(("quantization", quantization))
    settings += [
        ("kv-cache-dtype", plan.served.kv_cache_dtype),
        ("max-model-len", plan.vllm.max_model_len),
        ("max-num-seqs", plan.vllm.max_num_seqs),
        ("max-num-batched-tokens", plan.vllm.max_num_batched_tokens),
        ("gpu-memory-utilization", plan.vllm.gpu_memory_utilization),
        ("block-size", plan.vllm.block_size),
        ("tensor-parallel-size", plan.vllm.tensor_parallel_size),
        ("pipeline-parallel-size", plan.vllm.pipeline_parallel_size),
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
    `command line > config file values > defaults`). Refuses releases before `--config` existed."""
    check_renderable_vllm_version(plan)
    return ["serve", require_served_model(plan), "--config", CONFIG_PATH]


def render_vllm_config(plan: Plan) -> str:
    return _ENV.get_template("vllm-config.yaml.j2").render(
        plan=plan, served_model=require_served_model(plan), entries=config_entries(vllm_settings(plan))
    )


def workloads(plan: Plan, options: RenderOptions) -> tuple[PodSet, ...]:
    """One workload per node capacity type, so the on-demand base replicas land on on-demand nodes.

    A mixed plan gets `<name>-od` (nodeSelector llm-advisor/capacity=on-demand) and `<name>-spot`;
    both share the ConfigMap and the Service (which selects on the app name only)."""
    at = plan.placement
    if at.capacity_type != "mixed":
        return (PodSet(name=options.name, capacity=at.capacity_type, replicas=at.replicas),)
    if at.instances_per_replica > 1:
        if at.on_demand_instances % at.instances_per_replica:
            raise RenderError(
                f"on_demand_instances: {at.on_demand_instances} is not a whole number of "
                f"{at.instances_per_replica}-node replicas, so a group would straddle on-demand and spot; "
                "plan the on-demand base in whole replicas or use capacity on-demand"
            )
        on_demand = at.on_demand_instances // at.instances_per_replica
    else:
        on_demand = min(at.replicas, at.on_demand_instances * replicas_per_instance(plan))
    parts = [PodSet(name=f"{options.name}-od", capacity="on-demand", replicas=on_demand),
             PodSet(name=f"{options.name}-spot", capacity="spot", replicas=at.replicas - on_demand)]
    return tuple(w for w in parts if w.replicas > 0)


def nodes_for(plan: Plan, capacity: str) -> int:
    """Nodes of the node group a workload of this capacity type selects (all of them unless mixed)."""
    at = plan.placement
    if at.capacity_type != "mixed":
        return at.instance_count
    return at.on_demand_instances if capacity == "on-demand" else at.spot_instances


def rollout(plan: Plan, podset: PodSet) -> dict[str, object]:
    """How a Deployment replaces its pods on the fixed-size node group it selects.

    Spare pod slots (the group's nodes x pods per node - replicas) become maxSurge with maxUnavailable 0:
    the new pod starts before an old one stops, so serving capacity never drops. Without a spare slot a
    surge pod would stay Pending (no free GPU) and block the rollout, so: several replicas replace one at
    a time (maxSurge 0, maxUnavailable 1: the others keep serving), a single replica is Recreated.
    A PodDisruptionBudget (maxUnavailable 1) and a zone spread come with several replicas."""
    several = podset.replicas > 1
    if plan.placement.instances_per_replica > 1:
        return {"strategy": lws_rollout(plan, podset), "pdb": several, "spread": False}
    slots = nodes_for(plan, podset.capacity) * pods_per_node(plan)
    spare = max(0, slots - podset.replicas)
    if spare:
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": min(spare, podset.replicas),
                                                               "maxUnavailable": 0}}
    elif several:
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    else:
        strategy = {"type": "Recreate"}
    return {"strategy": strategy, "pdb": several, "spread": several}


def lws_rollout(plan: Plan, podset: PodSet) -> dict[str, object]:
    """A LeaderWorkerSet's spec.rolloutStrategy: one group at a time (maxUnavailable 1, maxSurge 0).

    LWS API (kubernetes-sigs/lws api/leaderworkerset/v1/leaderworkerset_types.go, RolloutStrategy): type
    RollingUpdate only (there is no Recreate), rollingUpdateConfiguration.maxUnavailable (default 1; may not
    be 0 when maxSurge is 0) and maxSurge (default 0), counted in replicas, i.e. whole groups; a group is
    replaced leader and workers together and the next waits until it is ready. The Deployment rule
    (rollout) surges into spare pod slots; a multi-node plan has none: its nodes are exactly its groups
    (Placement checks instance_count = replicas x instances_per_replica), so a surge group would stay
    Pending. Several groups keep serving while one is replaced; a single group has downtime, said in
    docs/deploy.md. Stated explicitly, not left to the controller's defaults, so the manifest says it."""
    at = plan.placement
    assert nodes_for(plan, podset.capacity) == podset.replicas * at.instances_per_replica
    return {"type": "RollingUpdate", "rollingUpdateConfiguration": {"maxUnavailable": 1, "maxSurge": 0}}


# The HF cache volume: the whole checkpoint plus 10% for safetensors metadata, tokenizer files and the
# hub's .incomplete copy while downloading (the same slack infra/volumes.py sizes the node disk with).
HF_CACHE_SLACK = 1.1


def hf_cache_gib(plan: Plan) -> int:
    """sizeLimit and ephemeral-storage request of the pod's HF cache emptyDir (whole GiB)."""
    return max(1, math.ceil(checkpoint_gib(plan) * HF_CACHE_SLACK))


def pod_requests(plan: Plan, options: RenderOptions) -> tuple[int, int]:
    """(millicores, MiB of memory) each vLLM pod requests: templates.scheduling.vllm_requests, what
    vLLM needs by a stated rule, at most its share of the node's allocatable after the DaemonSets' room.
    Requests only (Burstable QoS): a memory limit would OOM-kill vLLM for a transient host-memory peak."""
    daemonsets = daemonset_pods(pod_efa_devices(plan, options) > 0,
                                nvidia=options.ami_type == "AL2023_x86_64_NVIDIA")
    return vllm_requests(plan, efa_interfaces(plan), daemonsets, options.node_vcpus, options.node_memory_gib)


def pod_efa_devices(plan: Plan, options: RenderOptions) -> int:
    """EFA devices each pod requests: every interface of its node, only with an EFA image (options.efa_image:
    libfabric + aws-ofi-nccl); the stock vllm/vllm-openai image has neither, so it requests none and NCCL
    uses TCP sockets."""
    return efa_interfaces(plan) if options.efa_image else 0


def startup_budget_s(plan: Plan, role: str) -> int:
    """Seconds a vLLM container may take to become healthy: download + load of the checkpoint at the
    gp3 throughput the node's volume is given, the fixed allowance, and the Ray group wait on a leader;
    at least 30 minutes."""
    checkpoint_mib = checkpoint_gib(plan) * 1024
    throughput_mib_s, _ = gp3_performance(plan)  # what the launch templates provision (templates.common)
    budget = 2 * checkpoint_mib / throughput_mib_s + STARTUP_FIXED_ALLOWANCE_S
    if role == "leader":
        budget += RAY_LEADER_WAIT_S
    return max(STARTUP_MIN_S, math.ceil(budget))


def startup_failure_threshold(plan: Plan, role: str) -> int:
    return math.ceil(startup_budget_s(plan, role) / STARTUP_PROBE_PERIOD_S)


def _ray_scripts(plan: Plan) -> dict[str, str]:
    """The leader and worker scripts of a LeaderWorkerSet group (empty for single-instance replicas)."""
    if plan.placement.instances_per_replica == 1:
        return {}
    context = {
        "ray_port": RAY_PORT, "gpus": plan.vllm.gpus_per_replica, "interval_s": RAY_RETRY_INTERVAL_S,
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
    cpu, memory_mib = pod_requests(plan, options)
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
        "gpus_per_pod": plan.vllm.gpus_per_replica // plan.placement.instances_per_replica,
        "cpu_request": f"{cpu}m",
        "memory_request": f"{memory_mib}Mi",
        "startup_period_s": STARTUP_PROBE_PERIOD_S,
        "startup_thresholds": {role: startup_failure_threshold(plan, role) for role in ("server", "leader")},
        "gp3_mib_s": gp3_performance(plan)[0],
        "pool_label": POOL_LABEL,
        "capacity_label": CAPACITY_LABEL,
        "port": VLLM_PORT,
        "config_dir": CONFIG_DIR,
        "leader_script": RAY_LEADER_SCRIPT,
        "worker_script": RAY_WORKER_SCRIPT,
        "hf_cache_mount": HF_CACHE_MOUNT,
        "hf_cache_gib": hf_cache_gib(plan),
        "efa_devices": pod_efa_devices(plan, options),
        "efa_env": efa_env(plan, options),
        "gpu_tolerations": gpu_tolerations(),
        "gpu_present_label": GPU_PRESENT_LABEL,
        "rollouts": {w.name: rollout(plan, w) for w in workloads(plan, options)},
        "efa_note": efa_image_note(plan, options),
        "do_not_disrupt": do_not_disrupt(plan, options),
    }


def do_not_disrupt(plan: Plan, options: RenderOptions) -> str | None:
    """The karpenter.sh/do-not-disrupt pod annotation on Karpenter nodes: a duration, the pod's startup
    budget (the leader's for a LeaderWorkerSet group), so Karpenter's voluntary disruptions wait until the
    model has loaded and no longer ("Duration ... Provides time-based protection for the specified duration
    after the pod starts running": Karpenter docs v1.14, concepts/disruption.md, "Pod-Level Controls")."""
    if not options.karpenter:
        return None
    role = "leader" if plan.placement.instances_per_replica > 1 else "server"
    return f"{startup_budget_s(plan, role)}s"


def render_kubernetes(plan: Plan, options: RenderOptions, vllm_config: str) -> str:
    """ConfigMap + Deployment(s) + Service, or ConfigMap + LeaderWorkerSet(s) + Service when a replica
    spans instances; one workload per capacity type of a mixed plan."""
    name = "leaderworkerset.yaml.j2" if plan.placement.instances_per_replica > 1 else "deployment.yaml.j2"
    return _ENV.get_template(name).render(**_pod_context(plan, options, vllm_config))


def render_hf_token_secret(plan: Plan, options: RenderOptions) -> str:
    """A Secret manifest holding only the placeholder `${HF_TOKEN}` (for GitOps tools that substitute it);
    its header says how to create the Secret without it (hf_token_fill_command)."""
    return _ENV.get_template("hf-token-secret.yaml.j2").render(
        options=options, fill_command=hf_token_fill_command(plan, options)
    )


def render_cloud_init(plan: Plan, options: RenderOptions, vllm_config: str) -> str:
    """cloud-config: the vLLM config, one systemd unit per replica on the instance, the token fetcher."""
    if plan.placement.instances_per_replica > 1:
        raise RenderError(
            f"a replica spans {plan.placement.instances_per_replica} instances; EC2 user data runs "
            "independent single-instance servers. Use target eks (LeaderWorkerSet + Ray) or a plan with "
            "instances_per_replica 1 (larger instance type or --quantization fp8)"
        )
    per_instance, gpus = replicas_per_instance(plan), plan.vllm.gpus_per_replica
    servers = [
        {
            "index": i,
            "port": VLLM_PORT + i,
            "devices": ",".join(str(i * gpus + d) for d in range(gpus)),
        }
        for i in range(per_instance)
    ]
    return _ENV.get_template("cloud-init.yaml.j2").render(
        plan=plan, options=options, image=vllm_image(plan, options.image), vllm_config=vllm_config,
        servers=servers, serve_command=shlex.join(serve_args(plan)), served_model=require_served_model(plan),
        config_dir=CONFIG_DIR, config_file=CONFIG_FILE, port=VLLM_PORT, hf_cache_mount=HF_CACHE_MOUNT,
        ec2_hf_cache_dir=EC2_HF_CACHE_DIR,
    )


def hf_token_fill_command(plan: Plan, options: RenderOptions) -> str:
    """How to create the token Secret without the token touching a file, a command line or an annotation:
    the value comes from Secrets Manager (when the stack created one) or is typed without echo, and goes
    to `kubectl create secret --from-file=HF_TOKEN=/dev/stdin` on standard input. `kubectl create` (without
    --save-config) writes no kubectl.kubernetes.io/last-applied-configuration annotation, which a
    client-side `kubectl apply` fills with the whole object, token included (kubectl apply docs,
    "last-applied-configuration"); the old Secret is deleted first so a new token replaces it."""
    return hf_token_fill_command_in(plan.placement.region, options)


def kubectl_apply_hint(plan: Plan, options: RenderOptions) -> str:
    """Commands that put the rendered manifests on a cluster: device plugins, token Secret, manifests."""
    steps = []
    efa = pod_efa_devices(plan, options) > 0
    nvidia = options.ami_type == "AL2023_x86_64_NVIDIA"
    # EKS user guide, "Install Kubernetes device plugin for GPUs": with the EKS-optimized AL2023 NVIDIA
    # AMIs "you must install the NVIDIA Kubernetes device plugin"; Bottlerocket NVIDIA AMIs include it.
    for chart, values in device_plugin_releases(efa, nvidia=nvidia):
        what = "EFA" if chart == EFA_DEVICE_PLUGIN_CHART else "NVIDIA"
        steps.append(f"# the {what} device plugin, tolerating the GPU taint, once per cluster:")
        steps.append(helm_install_command(chart, values))
    if plan.placement.instances_per_replica > 1:
        steps.append("# needs the LeaderWorkerSet controller: https://lws.sigs.k8s.io/docs/installation/")
    if plan.placement.needs_efa:
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
    if plan.placement.instances_per_replica == 1:
        cloud_init = render_cloud_init(plan, options, vllm_config)
        files.append(RenderedFile(name="cloud-init.yaml", content=cloud_init))
    return RenderedBundle(
        files=tuple(files), image=vllm_image(plan, options.image),
        kubectl_apply_hint=kubectl_apply_hint(plan, options),
    )


# ---- the llama.cpp CPU path (issue 13): llama-server on CPU nodes, from a CpuPlan ----------------------
# The init container's download: once per pod, to a partial file renamed when complete; a token (when the
# optional Secret exists) reaches curl on standard input (`--config -`), never an argument.
LLAMACPP_FETCH_SCRIPT = (
    'set -eu; [ -s "$GGUF_PATH" ] && exit 0; '
    'if [ -n "${HF_TOKEN:-}" ]; then '
    'printf \'header = "Authorization: Bearer %s"\\n\' "$HF_TOKEN" | '
    'curl --config - -fL --retry 5 --retry-delay 10 -o "$GGUF_PATH.part" "$GGUF_URL"; '
    'else curl -fL --retry 5 --retry-delay 10 -o "$GGUF_PATH.part" "$GGUF_URL"; fi; '
    'mv -f "$GGUF_PATH.part" "$GGUF_PATH"'
)


def cpu_options(cpu: CpuPlan, **fields: object) -> RenderOptions:
    """RenderOptions of a CPU plan: its object name and node shape; `fields` sets the others."""
    return RenderOptions(name=fields.pop("name", None) or llamacpp.object_name(cpu),
                         node_vcpus=cpu.instance.vcpus, node_memory_gib=cpu.instance.memory_gib, **fields)


def llamacpp_image(options: RenderOptions) -> str:
    return options.image or llamacpp.LLAMACPP_IMAGE


def _cpu_context(cpu: CpuPlan, options: RenderOptions) -> dict[str, object]:
    gguf = llamacpp.model_file(cpu)
    cpu_request, memory_mib = llamacpp.pod_requests(cpu)
    budget = llamacpp.startup_budget_s(cpu)
    return {
        "cpu": cpu, "options": options, "gguf": gguf, "image": llamacpp_image(options),
        "model_path": llamacpp.model_path(cpu), "model_dir": llamacpp.MODEL_DIR,
        "ec2_model_dir": llamacpp.EC2_MODEL_DIR, "port": llamacpp.LLAMACPP_PORT,
        "server_args": llamacpp.server_args(cpu), "server_command": shlex.join(llamacpp.server_args(cpu)),
        "fetch_script": LLAMACPP_FETCH_SCRIPT, "cpu_request": f"{cpu_request}m",
        "memory_request": f"{memory_mib}Mi", "model_volume_gib": llamacpp.model_volume_gib(cpu),
        "startup_period_s": llamacpp.STARTUP_PROBE_PERIOD_S,
        "startup_threshold": math.ceil(budget / llamacpp.STARTUP_PROBE_PERIOD_S),
        "do_not_disrupt": f"{budget}s" if options.karpenter else None,
        "pool_label": POOL_LABEL, "capacity_label": CAPACITY_LABEL,
        "k8s_arch": llamacpp.K8S_ARCH[cpu.instance.arch],
    }


def render_cpu_kubernetes(cpu: CpuPlan, options: RenderOptions) -> str:
    """Deployment (+ PodDisruptionBudget for several replicas) + Service of llama-server on CPU nodes."""
    return _ENV.get_template("llamacpp-deployment.yaml.j2").render(**_cpu_context(cpu, options))


def render_cpu_cloud_init(cpu: CpuPlan, options: RenderOptions) -> str:
    """cloud-config of one CPU instance (target ec2): Docker, the GGUF download, llama-server.service."""
    return _ENV.get_template("llamacpp-cloud-init.yaml.j2").render(**_cpu_context(cpu, options))


def cpu_apply_hint(cpu: CpuPlan, options: RenderOptions) -> str:
    """Commands that put the rendered llama.cpp manifests on a cluster (no device plugin needed)."""
    fill = hf_token_fill_command_in(cpu.instance.region, options)
    return "\n".join([
        "# CPU nodes: no device plugin. A token is only needed for a gated GGUF repo:",
        fill if options.hf_token_secret_id else f"# gated repo only: {fill}",
        "kubectl apply -f kubernetes.yaml",
    ])


def hf_token_fill_command_in(region: str, options: RenderOptions) -> str:
    """hf_token_fill_command for a plan known by its region only (the CPU path)."""
    ns, name = shlex.quote(options.namespace), shlex.quote(options.hf_token_k8s_secret)
    delete = f"kubectl -n {ns} delete secret {name} --ignore-not-found"
    create = f"kubectl -n {ns} create secret generic {name} --from-file=HF_TOKEN=/dev/stdin"
    if options.hf_token_secret_id:
        source = (f"aws secretsmanager get-secret-value --region {shlex.quote(region)} "
                  f"--secret-id {shlex.quote(options.hf_token_secret_id)} --query SecretString --output text")
        return f"{delete} && {source} | {create}"
    return f"read -rs HF_TOKEN && {delete} && printf %s \"$HF_TOKEN\" | {create}"


def render_cpu_bundle(cpu: CpuPlan, options: RenderOptions) -> RenderedBundle:
    """All files of a CPU plan: kubernetes.yaml, hf-token-secret.yaml (placeholder) and cloud-init.yaml."""
    files = (
        RenderedFile(name="kubernetes.yaml", content=render_cpu_kubernetes(cpu, options)),
        RenderedFile(name="hf-token-secret.yaml", content=_ENV.get_template("hf-token-secret.yaml.j2").render(
            options=options, fill_command=hf_token_fill_command_in(cpu.instance.region, options))),
        RenderedFile(name="cloud-init.yaml", content=render_cpu_cloud_init(cpu, options)),
    )
    return RenderedBundle(files=files, image=llamacpp_image(options),
                          kubectl_apply_hint=cpu_apply_hint(cpu, options))
