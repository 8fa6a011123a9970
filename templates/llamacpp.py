"""What the llama.cpp server (llama-server) of a CPU plan runs with: the pinned image, the GGUF file, its
command line, the node it lands on and what its pod requests. No jinja here: templates/render.py renders
the .j2 files with these values (the single renderer), infra/ reads the node facts without the renderer.

The node is a plain CPU node: no GPU taint, no toleration, no device plugin. One llama-server per node:
the plan sizes `--threads` to the node's physical cores and `--parallel` slots to the requests a replica
holds (llm_advisor/planner/cpu.py), so a pod takes the whole node's allocatable CPU.
"""

from __future__ import annotations

import math

from llm_advisor.planner.cpu import CpuPlan
from sizing.gguf_files import GgufFile, gguf_file
from templates.common import CAPACITY_LABEL, POOL_LABEL, RenderError
from templates.models import slugify
from templates.scheduling import allocatable, daemonset_room

# llama.cpp's CPU server image, pinned to one build. Tag scheme `server-b<build number>` from the
# project's .github/workflows/docker.yml ("Determine tag name": TAG_POSTFIX="-b${BUILD_NUMBER}" on
# master); docs/docker.md: `ghcr.io/ggml-org/llama.cpp:server` "only includes the llama-server
# executable (platforms: linux/amd64, linux/arm64, ...)". .devops/cpu.Dockerfile builds it with
# GGML_CPU_ALL_VARIANTS=ON (AVX-512/AMX and SVE kernels picked at run time), ENTRYPOINT
# /app/llama-server, curl installed, HEALTHCHECK on /health. b11176 is a multi-arch index (amd64, arm64)
# as deployed publicly in 2026 (index digest sha256:6257697a7f5d...).
LLAMACPP_IMAGE = "ghcr.io/ggml-org/llama.cpp:server-b11176"
# llama-server listens on 8080 unless --port says otherwise (tools/server/README.md, --port default).
LLAMACPP_PORT = 8080
# Where the GGUF file lives inside the container (the pod's volume, the EC2 instance's directory).
MODEL_DIR = "/models"
EC2_MODEL_DIR = "/opt/gguf"
# Disk the GGUF download may use: the file plus a partial copy's slack while it downloads.
_DOWNLOAD_SLACK = 1.1
# Node disk: AL2023 EKS node's OS, kubelet and logs (EKS CreateNodegroup diskSize default 20 GiB), the
# llama.cpp server image (a few hundred MB) and the GGUF file.
OS_ALLOWANCE_GIB = 20
IMAGE_ALLOWANCE_GIB = 2
# Startup budget of llama-server once its file is on disk: reading the file at the gp3 baseline
# throughput (125 MiB/s: AWS EBS user guide, "General Purpose SSD volumes", gp3 baseline) plus a fixed
# allowance for the image pull and warm-up; at least 10 minutes.
GP3_BASELINE_MIB_S = 125
STARTUP_ALLOWANCE_S = 300
STARTUP_MIN_S = 600
STARTUP_PROBE_PERIOD_S = 10
# Memory a llama-server process needs beyond the GGUF sizing (weights + KV + compute buffers): the
# binary, its HTTP threads and the per-slot token buffers. An allowance, not a measurement.
RUNTIME_ALLOWANCE_MIB = 512
# EKS node AMIs of a CPU node group (EKS CreateNodegroup amiType): standard AL2023 per architecture.
EKS_CPU_AMI = {"x86_64": "AL2023_x86_64_STANDARD", "arm64": "AL2023_ARM_64_STANDARD"}
# Kubernetes architecture label values (kubernetes.io/arch, GOARCH spelling).
K8S_ARCH = {"x86_64": "amd64", "arm64": "arm64"}


def object_name(cpu: CpuPlan) -> str:
    """Kubernetes object / node-pool name: `llamacpp-` + the model's repo name, sanitised."""
    return f"llamacpp-{slugify(cpu.model, 30)}"


def model_file(cpu: CpuPlan) -> GgufFile:
    """The published GGUF file of the plan's model and type (RenderError naming what exists otherwise)."""
    from sizing.errors import SizingError

    try:
        return gguf_file(cpu.model, cpu.gguf_type)
    except SizingError as exc:
        raise RenderError(str(exc)) from None


def model_path(cpu: CpuPlan) -> str:
    return f"{MODEL_DIR}/{model_file(cpu).file}"


def server_args(cpu: CpuPlan) -> list[str]:
    """llama-server's arguments (the image's entrypoint is /app/llama-server), every setting explicit.

    --ctx-size is the KV cells of all slots (each slot gets ctx-size / parallel); --threads and
    --threads-batch are the physical cores; --flash-attn on: the sizing counts the flash-attention compute
    buffer, and a quantized V cache needs it (llama.cpp refuses q8_0 V without flash attention)."""
    return [
        "--model", model_path(cpu),
        "--alias", cpu.model,
        "--host", "0.0.0.0",
        "--port", str(LLAMACPP_PORT),
        "--ctx-size", str(cpu.ctx_size),
        "--parallel", str(cpu.parallel),
        "--threads", str(cpu.threads),
        "--threads-batch", str(cpu.threads),
        "--cache-type-k", cpu.cache_type,
        "--cache-type-v", cpu.cache_type,
        "--flash-attn", "on",
    ]


def file_gib(cpu: CpuPlan) -> float:
    return cpu.memory.weights_gib


def model_volume_gib(cpu: CpuPlan) -> int:
    """The pod's model volume (emptyDir sizeLimit): the file plus download slack, whole GiB."""
    return math.ceil(file_gib(cpu) * _DOWNLOAD_SLACK) + 1


def node_volume_gib(cpu: CpuPlan) -> int:
    """Root volume of a CPU node (EKS or EC2): OS, image and the GGUF file, rounded up to 10 GiB."""
    gib = OS_ALLOWANCE_GIB + IMAGE_ALLOWANCE_GIB + file_gib(cpu) * _DOWNLOAD_SLACK
    return int(math.ceil(gib / 10) * 10)


def startup_budget_s(cpu: CpuPlan) -> int:
    read_s = file_gib(cpu) * 1024 / GP3_BASELINE_MIB_S
    return max(STARTUP_MIN_S, math.ceil(read_s + STARTUP_ALLOWANCE_S))


def node_labels(pool: str) -> dict[str, str]:
    """Labels of a CPU node group: our pool and capacity (CPU plans are priced on-demand)."""
    return {POOL_LABEL: pool, CAPACITY_LABEL: "on-demand"}


def pod_requests(cpu: CpuPlan) -> tuple[int, int]:
    """(millicores, MiB) the llama-server pod requests: all the node's allocatable CPU left after the
    DaemonSets' room (llama.cpp runs a thread per physical core), and the GGUF sizing plus the runtime
    allowance for memory. A node whose allocatable memory cannot hold that is refused (RenderError)."""
    inst = cpu.instance
    alloc = allocatable(inst.instance_type, inst.vcpus, inst.memory_gib, gpus=0, efa_devices=0)
    room_cpu, room_mem = daemonset_room([])
    share_cpu = (alloc["cpu"] - room_cpu) // 100 * 100
    share_mem = alloc["memory"] - room_mem
    need_mem = math.ceil(cpu.memory.total_gib * 1024) + RUNTIME_ALLOWANCE_MIB
    if share_cpu < 1000 or need_mem > share_mem:
        raise RenderError(
            f"instance_type {inst.instance_type}: leaves {share_cpu} millicores / {share_mem} MiB for "
            f"llama-server after kube-reserved and the DaemonSets, which needs {need_mem} MiB "
            f"({cpu.gguf_type}, ctx-size {cpu.ctx_size}); use a larger instance type or a smaller GGUF type"
        )
    return share_cpu, need_mem
