"""The llama.cpp CPU path rendered (templates/llamacpp.py + the llamacpp-*.j2 templates through
templates/render.py): golden files validated with kubernetes-validate, the GGUF repo + file table, no GPU
scheduling, requests within a CPU node's allocatable, and bad input.

Regenerate the golden files after an intended change with `UPDATE_GOLDEN=1 python -m pytest
tests/test_templates_llamacpp.py` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from llm_advisor.planner import cpu as cpu_planner
from llm_advisor.planner.models import Workload
from pricing.cpu import cpu_instance
from sizing import load_model
from sizing.errors import SizingError
from sizing.gguf_files import gguf_file, known_gguf_types
from templates import llamacpp
from templates.common import GPU_TAINT_KEY, RenderError
from templates.render import TEMPLATE_DIR, cpu_options, render_cpu_bundle
from templates.scheduling import allocatable, parse_cpu, parse_memory
from tests.conftest import assert_matches_golden

GOLDEN = Path(__file__).resolve().parent / "golden"
K8S_VERSION = "1.33.0"
SECRET_ID = "llm-advisor/hf-token"


def cpu_plan(model: str = "llama3.1-8b", instance_type: str = "c8g.4xlarge", replicas: int = 1,
             gguf_type: str = "Q4_K_M", cache_type: str = "f16", concurrency: int = 2):
    """A CPU plan on a named instance type (the planner's own candidate builder, no search)."""
    workload = Workload(model=model, concurrency=concurrency, max_model_len=4096, engine="llama.cpp",
                        gguf_type=gguf_type, gguf_cache_type=cache_type)
    plan, why = cpu_planner._candidate(workload, load_model(model), cpu_instance(instance_type, "us-east-1"),
                                       gguf_type, replicas, None)
    assert plan is not None, why
    return plan


CASES = {
    "cpu-graviton": (lambda: cpu_plan(), None),
    "cpu-x86-two-replicas": (
        lambda: cpu_plan("qwen2.5-7b", "c7i.8xlarge", replicas=2, gguf_type="Q8_0", cache_type="q8_0",
                         concurrency=4),
        SECRET_ID,
    ),
}


def bundle_for(case: str):
    make, secret_id = CASES[case]
    plan = make()
    return plan, render_cpu_bundle(plan, cpu_options(plan, hf_token_secret_id=secret_id))


GOLDEN_FILES = [(case, f.name) for case in CASES for f in bundle_for(case)[1].files]


@pytest.mark.parametrize(("case", "file_name"), GOLDEN_FILES)
def test_rendered_llamacpp_file_matches_golden(case: str, file_name: str) -> None:
    content = bundle_for(case)[1].file(file_name).content
    assert_matches_golden(content, GOLDEN / case / file_name)


def _docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.mark.parametrize("case", list(CASES))
def test_llamacpp_manifests_validate_against_kubernetes_schemas(case: str) -> None:
    docs = _docs(bundle_for(case)[1].file("kubernetes.yaml").content)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    kinds = [d["kind"] for d in docs]
    assert kinds == (["Deployment", "PodDisruptionBudget", "Service"] if case == "cpu-x86-two-replicas"
                     else ["Deployment", "Service"])


def test_schema_check_can_fail() -> None:
    deployment = _docs(bundle_for("cpu-graviton")[1].file("kubernetes.yaml").content)[0]
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = {"x": 1}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_every_llamacpp_template_renders_into_a_golden_file() -> None:
    assert {p.name for p in TEMPLATE_DIR.glob("llamacpp-*.j2")} == {
        "llamacpp-deployment.yaml.j2", "llamacpp-cloud-init.yaml.j2"}
    assert {name for _, name in GOLDEN_FILES} == {"kubernetes.yaml", "hf-token-secret.yaml",
                                                  "cloud-init.yaml"}


def test_pod_runs_llama_server_with_the_plans_settings_on_a_plain_cpu_node() -> None:
    plan, bundle = bundle_for("cpu-x86-two-replicas")
    deployment = _docs(bundle.file("kubernetes.yaml").content)[0]
    spec = deployment["spec"]["template"]["spec"]
    server = spec["containers"][0]
    args = server["args"]
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert server["image"] == llamacpp.LLAMACPP_IMAGE == "ghcr.io/ggml-org/llama.cpp:server-b11176"
    assert pairs["--model"] == "/models/Qwen2.5-7B-Instruct-Q8_0.gguf"
    assert pairs["--ctx-size"] == str(4096 * 2) and pairs["--parallel"] == "2"  # 4 users over 2 replicas
    assert pairs["--threads"] == pairs["--threads-batch"] == "16"  # c7i.8xlarge: 32 vCPUs, 2 per core
    assert pairs["--cache-type-k"] == pairs["--cache-type-v"] == "q8_0"
    assert pairs["--port"] == "8080" and pairs["--host"] == "0.0.0.0"
    assert deployment["spec"]["replicas"] == 2
    # no GPU taint toleration, no GPU resource, the node's architecture selected
    assert "tolerations" not in spec
    assert GPU_TAINT_KEY not in str(spec)
    assert spec["nodeSelector"]["kubernetes.io/arch"] == "amd64"
    fetch = spec["initContainers"][0]
    env = {e["name"]: e.get("value") for e in fetch["env"]}
    assert env["GGUF_URL"] == ("https://huggingface.co/bartowski/Qwen2.5-7B-Instruct-GGUF/resolve/main/"
                               "Qwen2.5-7B-Instruct-Q8_0.gguf")


@pytest.mark.parametrize("case", list(CASES))
def test_requests_fit_the_cpu_nodes_allocatable_and_hold_the_gguf_sizing(case: str) -> None:
    plan, bundle = bundle_for(case)
    requests = _docs(bundle.file("kubernetes.yaml").content)[0]["spec"]["template"]["spec"]["containers"][0][
        "resources"]["requests"]
    inst = plan.instance
    alloc = allocatable(inst.instance_type, inst.vcpus, inst.memory_gib, gpus=0, efa_devices=0)
    assert parse_cpu(requests["cpu"]) <= alloc["cpu"]
    assert parse_memory(requests["memory"]) <= alloc["memory"]
    assert parse_memory(requests["memory"]) >= plan.memory.total_gib * 1024
    assert parse_cpu(requests["cpu"]) >= plan.threads * 1000 - 2000  # ~every core's thread


def test_a_node_too_small_for_the_gguf_is_refused() -> None:
    # 7B Q8_0 (~7.5 GiB) on an 8 GiB c7i.xlarge: the plan's usable RAM is not the kubelet's allocatable
    plan = cpu_plan("llama3.2-3b", "c7i.xlarge", gguf_type="Q8_0", concurrency=1)
    big = plan.model_copy(update={"memory": plan.memory.model_copy(update={"total_gib": 7.5})})
    with pytest.raises(RenderError, match="instance_type c7i.xlarge: leaves .* smaller GGUF type"):
        render_cpu_bundle(big, cpu_options(big))


def test_cloud_init_installs_docker_and_never_holds_the_token() -> None:
    _, bundle = bundle_for("cpu-x86-two-replicas")
    text = bundle.file("cloud-init.yaml").content
    doc = yaml.safe_load(text)
    assert doc["packages"] == ["docker"]
    assert "HF_TOKEN=" not in text and "Bearer %s" in text  # the token only via curl's stdin
    assert f"--secret-id {SECRET_ID}" in text
    unit = next(f["content"] for f in doc["write_files"] if f["path"].endswith("llama-server.service"))
    assert "ExecStartPre=/usr/local/bin/llama-fetch-gguf" in unit
    assert "--cache-type-v q8_0" in unit and "-v /opt/gguf:/models:ro" in unit


def test_gguf_table_names_repo_and_file() -> None:
    f = gguf_file("meta-llama/Llama-2-7b-chat-hf", "Q4_K_M")
    assert (f.repo, f.file) == ("TheBloke/Llama-2-7B-Chat-GGUF", "llama-2-7b-chat.Q4_K_M.gguf")
    assert "IQ4_XS" not in known_gguf_types("meta-llama/Llama-2-7b-chat-hf")


def test_a_type_without_a_known_file_says_what_exists() -> None:
    with pytest.raises(SizingError, match="publishes no IQ4_XS file .* it has Q8_0, Q6_K, Q5_K_M, Q4_K_M"):
        gguf_file("Qwen/Qwen3-8B", "IQ4_XS")
    plan = cpu_plan("qwen3-8b", "c8g.4xlarge", gguf_type="IQ4_XS")
    with pytest.raises(RenderError, match="gguf_type IQ4_XS: Qwen/Qwen3-8B-GGUF publishes no IQ4_XS"):
        render_cpu_bundle(plan, cpu_options(plan))


def test_a_model_without_a_known_repo_says_a_conversion_is_needed() -> None:
    plan = cpu_plan("qwen2.5-14b", "r7i.2xlarge", concurrency=1)
    with pytest.raises(RenderError, match="no known GGUF repo for Qwen/Qwen2.5-14B-Instruct .* convert_hf"):
        render_cpu_bundle(plan, cpu_options(plan))
