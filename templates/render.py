"""The single renderer: turns a Plan into the vLLM config, Kubernetes manifests and EC2 cloud-init.

Every *.j2 file in this directory is rendered here and nowhere else, with StrictUndefined so a missing
value fails loudly instead of rendering an empty string.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

import jinja2

from planner.models import Plan
from pricing import instance_catalog
from templates.models import RenderedBundle, RenderedFile, RenderOptions, slugify

TEMPLATE_DIR = Path(__file__).resolve().parent
VLLM_IMAGE_REPOSITORY = "vllm/vllm-openai"
# vLLM's OpenAI server listens on 8000 unless --port says otherwise (cli_args.py default).
VLLM_PORT = 8000
# Ray's default GCS port for `ray start --head` (Ray docs, "ray start").
RAY_PORT = 6379
CONFIG_DIR = "/etc/vllm"
CONFIG_FILE = "vllm-config.yaml"
CONFIG_PATH = f"{CONFIG_DIR}/{CONFIG_FILE}"
POOL_LABEL = "llm-advisor/pool"

# Plan dtype -> vLLM --dtype choice (arg_utils.py: auto, half, float16, bfloat16, float, float32).
_DTYPE = {"bf16": "bfloat16", "fp16": "float16"}
# Plan quantization -> vLLM --quantization. Only methods that quantize at load time are named:
# pre-quantized checkpoints (awq, gptq, int8 W8A8 compressed-tensors, mxfp4) are detected from the
# checkpoint's quantization_config, and naming them would override vLLM's faster kernel choice
# (vLLM docs, AutoAWQ: "vLLM will use awq_marlin when available"). None = omit the option.
_QUANTIZATION = {"none": None, "fp8": "fp8", "bnb4": "bitsandbytes", "awq": None, "gptq": None,
                 "int8": None, "mxfp4": None}
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")
# The extended resource the aws-efa-k8s-device-plugin advertises; pods request EFA devices through it
# (AWS EKS user guide, "Manage EFA devices on Amazon EKS": "The EFA device plugin advertises EFA devices
# as vpc.amazonaws.com/efa ... request EFA devices in the container resource requests and limits").
EFA_RESOURCE = "vpc.amazonaws.com/efa"
# Families whose EFA supports RDMA read/write (GPUDirect RDMA). aws/sagemaker-training-toolkit
# torch_distributed.py sets FI_EFA_USE_DEVICE_RDMA=1 only for its EFA-RDMA instance list (p4d, p4de,
# p5 ...); on an EFA without RDMA support libfabric refuses the setting, so it is per family here.
_EFA_RDMA_FAMILIES = frozenset({"p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300"})

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


class RenderError(ValueError):
    """A Plan that the requested output cannot express (names the constraint and what would work)."""


def vllm_image(plan: Plan) -> str:
    """The vllm/vllm-openai image pinned to the plan's vLLM release: `0.11` -> `v0.11.0`."""
    match = _VERSION.match(plan.vllm_version)
    if not match:
        raise RenderError(
            f"vllm_version {plan.vllm_version!r} is not X.Y or X.Y.Z; the image tag needs e.g. '0.11.0'"
        )
    major, minor, patch = match.group(1), match.group(2), match.group(3) or "0"
    return f"{VLLM_IMAGE_REPOSITORY}:v{major}.{minor}.{patch}"


@lru_cache(maxsize=1)
def _catalog_efa_interfaces() -> dict[str, int]:
    return {i.instance_type: i.efa_max_interfaces for i in instance_catalog()}


def efa_interfaces(plan: Plan, override: int | None = None) -> int:
    """EFA interfaces per node of a multi-node plan (0 when the plan needs none): `override` (e.g. the
    live DescribeInstanceTypes EfaInfo.MaximumEfaInterfaces) or the snapshot's instance catalog."""
    if not plan.needs_efa:
        return 0
    count = override or _catalog_efa_interfaces().get(plan.instance_type, 0)
    if count < 1:
        raise RenderError(
            f"needs_efa: {plan.instance_type} has no EFA interface in the instance catalog; pass the count "
            "(DescribeInstanceTypes EfaInfo.MaximumEfaInterfaces) or plan an EFA type such as p5.48xlarge"
        )
    return count


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


def default_options(plan: Plan, hf_token_secret_id: str | None = None) -> RenderOptions:
    """Options derived from the plan alone: the object name is the model's slug."""
    return RenderOptions(name=f"vllm-{slugify(plan.model, 34)}", hf_token_secret_id=hf_token_secret_id)


def vllm_settings(plan: Plan) -> tuple[tuple[str, str | int | float | bool], ...]:
    """Every `vllm serve` setting that matters, explicitly, in vLLM's long-option spelling."""
    multi_node = plan.instances_per_replica > 1
    settings: list[tuple[str, str | int | float | bool]] = [
        ("host", "0.0.0.0"),
        ("port", VLLM_PORT),
        ("served-model-name", plan.model),
        ("dtype", _DTYPE[plan.dtype]),
    ]
    if _QUANTIZATION[plan.quantization]:
        settings.append(("quantization", _QUANTIZATION[plan.quantization]))
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
    """Arguments after the `vllm` executable: the model positionally, everything else from the config
    file. A positional model wins over `model:` in the file (argparse_utils.py@00da11e3
    _pull_args_from_config: "Model specified as positional arg, keep CLI version"; serve_args.md:
    `command line > config file values > defaults`)."""
    return ["serve", plan.model, "--config", CONFIG_PATH]


def render_vllm_config(plan: Plan) -> str:
    return _ENV.get_template("vllm-config.yaml.j2").render(
        plan=plan, entries=config_entries(vllm_settings(plan))
    )


def _pod_context(plan: Plan, options: RenderOptions, vllm_config: str) -> dict[str, object]:
    return {
        "plan": plan,
        "options": options,
        "image": vllm_image(plan),
        "vllm_config": vllm_config,
        "serve_args": serve_args(plan),
        "gpus_per_pod": plan.gpus_per_replica // plan.instances_per_replica,
        "pool_label": POOL_LABEL,
        "port": VLLM_PORT,
        "ray_port": RAY_PORT,
        "config_dir": CONFIG_DIR,
        "config_file": CONFIG_FILE,
        "efa_devices": efa_interfaces(plan, options.efa_interfaces),
        "efa_env": efa_env(plan),
    }


def render_kubernetes(plan: Plan, options: RenderOptions, vllm_config: str) -> str:
    """ConfigMap + Deployment + Service, or ConfigMap + LeaderWorkerSet + Service when a replica spans
    instances."""
    name = "leaderworkerset.yaml.j2" if plan.instances_per_replica > 1 else "deployment.yaml.j2"
    return _ENV.get_template(name).render(**_pod_context(plan, options, vllm_config))


def render_hf_token_secret(plan: Plan, options: RenderOptions) -> str:
    """A Secret manifest holding only the placeholder `${HF_TOKEN}`, filled by envsubst at apply time."""
    return _ENV.get_template("hf-token-secret.yaml.j2").render(
        options=options, fill_command=hf_token_fill_command(plan, options)
    )


def replicas_per_instance(plan: Plan) -> int:
    """vLLM servers per EC2 instance: replicas packed evenly on the instances (one replica, one server)."""
    return math.ceil(plan.replicas / plan.instance_count)


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
        plan=plan, options=options, image=vllm_image(plan), vllm_config=vllm_config, servers=servers,
        serve_args=serve_args(plan), config_dir=CONFIG_DIR, config_file=CONFIG_FILE, port=VLLM_PORT,
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
        files=tuple(files), image=vllm_image(plan), kubectl_apply_hint=kubectl_apply_hint(plan, options)
    )
