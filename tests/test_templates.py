"""Rendered vLLM configs, Kubernetes manifests and cloud-init: golden files, schemas, real vLLM options.

Regenerate the golden files after an intended change with `UPDATE_GOLDEN=1 python -m pytest
tests/test_templates.py` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from templates.models import RenderOptions, slugify
from templates.render import (
    RenderError,
    config_entries,
    efa_env,
    efa_interfaces,
    render_bundle,
    render_vllm_config,
    serve_args,
    vllm_image,
    vllm_settings,
)
from templates.vllm_options import VLLM_OPTION_CHOICES, VLLM_OPTIONS_VERSION, VLLM_SERVE_OPTIONS
from tests.conftest import assert_matches_golden, options_for, single_instance_plan, spot_plan, two_node_plan

GOLDEN = Path(__file__).resolve().parent / "golden"
K8S_VERSION = "1.33.0"  # a current EKS Kubernetes version with schemas in kubernetes-validate
SECRET_ID = "llm-advisor/hf-token"

CASES = {
    "single": (single_instance_plan, SECRET_ID),
    "spot-packed": (spot_plan, None),
    "two-node": (two_node_plan, SECRET_ID),
    # Two multi-node groups on four nodes: the LeaderWorkerSet's PodDisruptionBudget, one group at a time.
    "two-node-ha": (lambda: two_node_plan(instance_count=4, replicas=2, on_demand_instances=4,
                                          usd_per_hour=220.0), SECRET_ID),
}


def bundle_for(case: str):
    make_plan, secret_id = CASES[case]
    plan = make_plan()
    return plan, render_bundle(plan, options_for(plan, hf_token_secret_id=secret_id))


GOLDEN_FILES = [
    (case, rendered.name) for case in CASES for rendered in bundle_for(case)[1].files
]


@pytest.mark.parametrize(("case", "file_name"), GOLDEN_FILES)
def test_rendered_file_matches_golden(case: str, file_name: str) -> None:
    content = bundle_for(case)[1].file(file_name).content
    assert_matches_golden(content, GOLDEN / case / file_name)


def test_every_template_has_a_golden_file() -> None:
    from templates.render import TEMPLATE_DIR

    templates = {p.name for p in TEMPLATE_DIR.glob("*.j2")}
    assert templates == {"vllm-config.yaml.j2", "deployment.yaml.j2", "leaderworkerset.yaml.j2",
                         "hf-token-secret.yaml.j2", "cloud-init.yaml.j2", "ray-leader.sh.j2",
                         "ray-worker.sh.j2", "_pod.yaml.j2", "_service.yaml.j2", "_configmap.yaml.j2",
                         # the llama.cpp CPU path: golden files in tests/test_templates_llamacpp.py
                         "llamacpp-deployment.yaml.j2", "llamacpp-cloud-init.yaml.j2"}
    # each *.j2 renders into at least one golden file (partials are included in a parent's output)
    rendered = {name for _, name in GOLDEN_FILES}
    assert rendered == {"vllm-config.yaml", "kubernetes.yaml", "hf-token-secret.yaml", "cloud-init.yaml"}
    manifests = [bundle_for(case)[1].file("kubernetes.yaml").content for case in CASES]
    kinds = {doc["kind"] for text in manifests for doc in _k8s_docs(text)}
    assert {"Deployment", "LeaderWorkerSet", "Service", "ConfigMap"} <= kinds
    # the Ray scripts render into the two-node ConfigMap
    configmap = next(d for d in _k8s_docs(manifests[2]) if d["kind"] == "ConfigMap")
    assert set(configmap["data"]) == {"vllm-config.yaml", "ray-leader.sh", "ray-worker.sh"}


def _k8s_docs(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


# The LeaderWorkerSet fields the renderer emits, as the LWS API reference (leaderworkerset.x-k8s.io/v1,
# kubernetes-sigs/lws site/content/en/docs/reference/leaderworkerset.v1.md) and its failure-handling
# concept page define them: spec.replicas (groups), leaderWorkerTemplate.size (pods per group, leader
# included), restartPolicy one of RecreateGroupOnPodRestart | None | RecreateGroupAfterStart (the last
# from LWS 0.9), leaderTemplate / workerTemplate pod templates (checked as PodTemplateSpec below).
_POD_TEMPLATE = {"type": "object", "required": ["metadata", "spec"],
                 "properties": {"metadata": {"type": "object"}, "spec": {"type": "object"}}}
_INT_OR_PERCENT = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]+%$"}]}
LWS_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "leaderworkerset.x-k8s.io/v1"},
        "kind": {"const": "LeaderWorkerSet"},
        "metadata": {"type": "object", "required": ["name"],
                     "properties": {"name": {"type": "string",
                                             "pattern": "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"}}},
        "spec": {
            "type": "object",
            "required": ["replicas", "leaderWorkerTemplate"],
            "additionalProperties": False,
            "properties": {
                "replicas": {"type": "integer", "minimum": 0},
                "leaderWorkerTemplate": {
                    "type": "object",
                    "required": ["size", "workerTemplate"],
                    "additionalProperties": False,
                    "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "restartPolicy": {"enum": ["RecreateGroupOnPodRestart", "None",
                                                   "RecreateGroupAfterStart"]},
                        "leaderTemplate": _POD_TEMPLATE,
                        "workerTemplate": _POD_TEMPLATE,
                    },
                },
                # api/leaderworkerset/v1/leaderworkerset_types.go RolloutStrategy: type RollingUpdate only;
                # maxUnavailable / maxSurge are int-or-string (replicas = groups, or a percentage).
                "rolloutStrategy": {
                    "type": "object",
                    "required": ["type"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"const": "RollingUpdate"},
                        "rollingUpdateConfiguration": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "partition": {"type": "integer", "minimum": 0},
                                "maxUnavailable": _INT_OR_PERCENT,
                                "maxSurge": _INT_OR_PERCENT,
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_lws_schema_check_can_fail() -> None:
    _, bundle = bundle_for("two-node")
    lws = next(d for d in _k8s_docs(bundle.file("kubernetes.yaml").content) if d["kind"] == "LeaderWorkerSet")
    jsonschema.validate(lws, LWS_SCHEMA)
    for path, value in ((("spec", "leaderWorkerTemplate", "restartPolicy"), "RecreateGroupOnFailure"),
                        (("spec", "leaderWorkerTemplate", "size"), "2"), (("apiVersion",), "lws.x-k8s.io/v1"),
                        (("spec", "leaderWorkerTemplate", "leaderTemplte"), {}),
                        (("spec", "rolloutStrategy", "type"), "Recreate"),
                        (("spec", "rolloutStrategy", "rollingUpdateConfiguration", "maxSurge"), -1)):
        broken = yaml.safe_load(yaml.safe_dump(lws))
        node = broken
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, LWS_SCHEMA)


def _validate_pod_template(template: dict) -> None:
    # LeaderWorkerSet is a CRD without a schema in kubernetes-validate: validate each embedded pod
    # template as the core PodTemplate's `template` (a PodTemplateSpec).
    wrapper = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "lws-pod"},
               "template": template}
    kubernetes_validate.validate(wrapper, K8S_VERSION, strict=True)


@pytest.mark.parametrize("case", sorted(CASES))
def test_kubernetes_manifests_validate_against_the_schemas(case: str) -> None:
    _, bundle = bundle_for(case)
    files = [bundle.file("kubernetes.yaml").content]
    if any(f.name == "hf-token-secret.yaml" for f in bundle.files):
        files.append(bundle.file("hf-token-secret.yaml").content)
    for text in files:
        for doc in _k8s_docs(text):
            if doc["kind"] == "LeaderWorkerSet":
                jsonschema.validate(doc, LWS_SCHEMA)
                template = doc["spec"]["leaderWorkerTemplate"]
                _validate_pod_template(template["leaderTemplate"])
                _validate_pod_template(template["workerTemplate"])
                groups = 2 if case == "two-node-ha" else 1
                assert template["size"] == 2 and doc["spec"]["replicas"] == groups
            else:
                kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_schema_validation_catches_a_broken_manifest() -> None:
    _, bundle = bundle_for("single")
    docs = _k8s_docs(bundle.file("kubernetes.yaml").content)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_vllm_options_are_real_vllm_options(case: str) -> None:
    plan, bundle = bundle_for(case)
    config = yaml.safe_load(bundle.file("vllm-config.yaml").content)
    unknown = set(config) - VLLM_SERVE_OPTIONS
    assert not unknown, f"not vLLM {VLLM_OPTIONS_VERSION} options: {unknown}"
    flags = {a[2:] for a in serve_args(plan) if a.startswith("--")}
    assert flags == {"config"} and flags <= VLLM_SERVE_OPTIONS
    for option, choices in VLLM_OPTION_CHOICES.items():
        if option in config:
            assert config[option] in choices, f"{option}: {config[option]!r} is not a vLLM choice"


def test_option_list_check_can_fail() -> None:
    entries = dict(config_entries(vllm_settings(single_instance_plan())))
    assert "enable-prefix-caching" in entries and "enable-prefix-cache" not in VLLM_SERVE_OPTIONS
    assert "no-enable-prefix-caching" in VLLM_SERVE_OPTIONS  # the negative form the loader needs
    assert "fp16" not in VLLM_OPTION_CHOICES["dtype"]  # the plan's spelling is mapped, not passed


def test_vllm_config_carries_the_plan_values() -> None:
    plan = two_node_plan()
    config = yaml.safe_load(render_vllm_config(plan))
    assert config["tensor-parallel-size"] == 8 and config["pipeline-parallel-size"] == 2
    assert config["gpu-memory-utilization"] == plan.vllm.gpu_memory_utilization
    assert config["max-model-len"] == 8192 and config["max-num-seqs"] == 32
    assert config["max-num-batched-tokens"] == 8192 and config["kv-cache-dtype"] == "fp8"
    assert config["quantization"] == "fp8" and config["dtype"] == "bfloat16"
    assert config["distributed-executor-backend"] == "ray"
    assert config["enable-prefix-caching"] is True
    single = yaml.safe_load(render_vllm_config(single_instance_plan()))
    assert single["distributed-executor-backend"] == "mp" and "quantization" not in single


def test_no_false_booleans_reach_the_config_file() -> None:
    entries = dict(config_entries((("enable-prefix-caching", False), ("enforce-eager", True), ("port", 0))))
    assert entries == {"no-enable-prefix-caching": True, "enforce-eager": True, "port": 0}
    for case in CASES:
        config = yaml.safe_load(bundle_for(case)[1].file("vllm-config.yaml").content)
        assert all(v is not False for v in config.values())
        assert all(key in VLLM_SERVE_OPTIONS for key, _ in config_entries(vllm_settings(CASES[case][0]())))


def test_image_is_pinned_by_release_tag() -> None:
    assert vllm_image(single_instance_plan(vllm_version="0.11")) == "vllm/vllm-openai:v0.11.0"
    assert vllm_image(single_instance_plan(vllm_version="0.10.2")) == "vllm/vllm-openai:v0.10.2"
    with pytest.raises(RenderError, match="X.Y"):
        vllm_image(single_instance_plan(vllm_version="latest"))


def test_deployment_requests_gpus_tolerates_the_taint_and_selects_the_pool() -> None:
    plan, bundle = bundle_for("spot-packed")
    docs = _k8s_docs(bundle.file("kubernetes.yaml").content)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 4
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert container["image"] == "vllm/vllm-openai:v0.10.2"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert pod["nodeSelector"] == {"llm-advisor/pool": "vllm-qwen3-32b", "llm-advisor/capacity": "spot"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert {"name": "dshm", "emptyDir": {"medium": "Memory"}} in pod["volumes"]
    # No stack-managed token for this case: the Secret is still referenced, optionally.
    (token,) = [e for e in container["env"] if e["name"] == "HF_TOKEN"]
    assert token["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "HF_TOKEN", "optional": True}
    assert "vpc.amazonaws.com/efa" not in container["resources"]["limits"]
    assert not any(e["name"].startswith("FI_") for e in container["env"])
    assert "# gated model only: read -rs HF_TOKEN" in bundle.kubectl_apply_hint
    assert "read -rs HF_TOKEN" in bundle.file("hf-token-secret.yaml").content


def test_leader_and_worker_run_the_ray_scripts() -> None:
    _, bundle = bundle_for("two-node")
    lws = next(d for d in _k8s_docs(bundle.file("kubernetes.yaml").content) if d["kind"] == "LeaderWorkerSet")
    leader = lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"][0]
    worker = lws["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]["containers"][0]
    assert leader["command"] == ["/bin/sh", "/etc/vllm/ray-leader.sh"]
    assert worker["command"] == ["/bin/sh", "/etc/vllm/ray-worker.sh"]
    assert leader["resources"]["limits"]["nvidia.com/gpu"] == 8
    assert leader["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "hf-token"


def test_efa_plan_pods_request_every_efa_device_and_set_libfabric_env() -> None:
    plan = two_node_plan()
    bundle = render_bundle(plan, options_for(plan, image="example.com/vllm-efa:1",
                                             efa_image=True))
    lws = next(d for d in _k8s_docs(bundle.file("kubernetes.yaml").content) if d["kind"] == "LeaderWorkerSet")
    for role in ("leaderTemplate", "workerTemplate"):
        container = lws["spec"]["leaderWorkerTemplate"][role]["spec"]["containers"][0]
        # the plan's efa_interfaces_per_instance (p5.48xlarge: 32)
        assert container["resources"]["limits"]["vpc.amazonaws.com/efa"] == 32
        assert container["resources"]["requests"]["vpc.amazonaws.com/efa"] == 32
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["FI_PROVIDER"] == "efa" and env["FI_EFA_USE_DEVICE_RDMA"] == "1"
    assert "aws-efa-k8s-device-plugin" in bundle.file("kubernetes.yaml").content
    assert "aws-efa-k8s-device-plugin --repo" in bundle.kubectl_apply_hint


def test_stock_image_requests_no_efa_device_nor_libfabric_env() -> None:
    _, bundle = bundle_for("two-node")
    lws = next(d for d in _k8s_docs(bundle.file("kubernetes.yaml").content) if d["kind"] == "LeaderWorkerSet")
    container = lws["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"][0]
    assert "vpc.amazonaws.com/efa" not in container["resources"]["limits"]
    assert "FI_PROVIDER" not in {e["name"] for e in container["env"]}
    assert "aws-efa-k8s-device-plugin --repo" not in bundle.kubectl_apply_hint


def test_efa_count_comes_from_the_plan() -> None:
    assert efa_interfaces(two_node_plan()) == 32
    assert efa_interfaces(two_node_plan(efa_interfaces_per_instance=4)) == 4
    assert efa_interfaces(single_instance_plan()) == 0
    plan = two_node_plan(efa_interfaces_per_instance=4)
    efa_build = options_for(plan, image="example.com/vllm-efa:1", efa_image=True)
    text = render_bundle(plan, efa_build).file("kubernetes.yaml").content
    assert "vpc.amazonaws.com/efa: 4" in text and "vpc.amazonaws.com/efa: 32" not in text
    # g6e.48xlarge has EFA but no RDMA read: FI_PROVIDER only.
    g6e = two_node_plan(instance_type="g6e.48xlarge")
    assert efa_env(g6e, options_for(g6e, image="example.com/vllm-efa:1", efa_image=True)) == (
        ("FI_PROVIDER", "efa"),)
    with pytest.raises(ValidationError, match="efa_interfaces_per_instance"):  # the Plan refuses it
        two_node_plan(efa_interfaces_per_instance=0)


def test_render_options_reject_names_kubernetes_would_refuse() -> None:
    assert slugify("meta-llama/Llama-3.1-8B-Instruct") == "llama-3-1-8b-instruct"
    with pytest.raises(ValueError, match="llama-3-1"):
        RenderOptions(name="Llama_3.1", node_vcpus=4, node_memory_gib=32)


def test_templates_fail_on_an_undefined_variable() -> None:
    from jinja2 import UndefinedError

    from templates.render import _ENV

    with pytest.raises(UndefinedError):
        _ENV.get_template("hf-token-secret.yaml.j2").render()


@pytest.mark.parametrize(("nodes", "replicas", "pdb"), [
    (2, 1, False),  # the only group: replaced in place (downtime), no budget that would block drains
    (4, 2, True),   # two groups: one at a time, the other serves; drains take one group at a time
    (6, 3, True),
])
def test_leaderworkerset_rollout_is_one_group_at_a_time(nodes: int, replicas: int, pdb: bool) -> None:
    expected = {"maxUnavailable": 1, "maxSurge": 0}  # the nodes are exactly the groups: no room to surge
    plan = two_node_plan(instance_count=nodes, replicas=replicas, on_demand_instances=nodes,
                         usd_per_hour=55.0 * nodes)
    docs = _k8s_docs(render_bundle(plan, options_for(plan)).file("kubernetes.yaml").content)
    (lws,) = [d for d in docs if d["kind"] == "LeaderWorkerSet"]
    jsonschema.validate(lws, LWS_SCHEMA)
    assert lws["spec"]["rolloutStrategy"] == {"type": "RollingUpdate", "rollingUpdateConfiguration": expected}
    budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    assert len(budgets) == int(pdb)
    for budget in budgets:
        kubernetes_validate.validate(budget, K8S_VERSION, strict=True)
        selector = budget["spec"]["selector"]["matchLabels"]
        # Leader and worker pods both carry the selected labels.
        for role in ("leaderTemplate", "workerTemplate"):
            labels = lws["spec"]["leaderWorkerTemplate"][role]["metadata"]["labels"]
            assert selector.items() <= labels.items()
