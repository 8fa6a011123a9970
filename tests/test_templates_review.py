"""Rendered output for the review fixes: served checkpoint and quantization, per-capacity workloads,
Recreate + config checksum, HF cache and pod requests, Ray start-up scripts, EFA image note."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from templates.render import (
    RenderError,
    pod_requests,
    render_bundle,
    render_vllm_config,
    serve_args,
    vllm_quantization,
)
from tests.plans_for_infra import options_for, single_instance_plan, spot_plan, two_node_plan


def _docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def _manifests(plan, **fields) -> list[dict]:
    return _docs(render_bundle(plan, options_for(plan, **fields)).file("kubernetes.yaml").content)


# --- served checkpoint (review #1, #4) ------------------------------------------------------------------

def test_a_config_path_model_serves_the_named_checkpoint_and_names_objects_after_it() -> None:
    plan = single_instance_plan(model="/tmp/rev/config.json", served_model="hugging-quants/Llama-3.1-8B-AWQ",
                                quantization="awq", checkpoint_quantization="awq")
    assert serve_args(plan)[:2] == ["serve", "hugging-quants/Llama-3.1-8B-AWQ"]
    config = yaml.safe_load(render_vllm_config(plan))
    assert config["served-model-name"] == "hugging-quants/Llama-3.1-8B-AWQ"
    assert "quantization" not in config  # AWQ is read from the checkpoint's quantization_config
    bundle = render_bundle(plan, options_for(plan))
    for doc in _docs(bundle.file("kubernetes.yaml").content):
        if doc["kind"] == "Deployment":
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            assert container["args"][1] == "hugging-quants/Llama-3.1-8B-AWQ"
    assert "vllm serve /tmp" not in bundle.file("cloud-init.yaml").content
    names = {d["metadata"]["name"] for d in _docs(bundle.file("kubernetes.yaml").content)}
    assert names == {"vllm-llama-3-1-8b-awq", "vllm-llama-3-1-8b-awq-od", "vllm-llama-3-1-8b-awq-spot"}
    assert "serve hugging-quants/Llama-3.1-8B-AWQ --config" in bundle.file("cloud-init.yaml").content


def test_a_plan_without_a_served_checkpoint_is_refused_naming_the_option_and_the_key() -> None:
    plan = single_instance_plan(served_model=None, quantization="awq")
    with pytest.raises(RenderError, match="--served-model") as caught:
        render_bundle(plan, options_for(single_instance_plan()))
    assert "servedModel" in str(caught.value)
    with pytest.raises(RenderError, match="--served-model"):
        options_for(plan)


# --- quantization only at load time (review #2) ----------------------------------------------------------

@pytest.mark.parametrize(("quantization", "checkpoint", "expected"), [
    ("none", "none", None),
    ("fp8", "none", "fp8"),            # bf16 checkpoint, vLLM quantizes to fp8 at load time
    ("bnb4", "none", "bitsandbytes"),  # in-flight bitsandbytes 4-bit
    ("fp8", "fp8", None),              # pre-quantized FP8 (compressed-tensors / fbgemm_fp8 / modelopt)
    ("awq", "awq", None),
    ("gptq", "gptq", None),
    ("int8", "int8", None),
    ("mxfp4", "mxfp4", None),
])
def test_quantization_is_named_only_when_vllm_quantizes_at_load_time(
    quantization: str, checkpoint: str, expected: str | None
) -> None:
    plan = single_instance_plan(quantization=quantization, checkpoint_quantization=checkpoint)
    assert vllm_quantization(plan) == expected
    config = yaml.safe_load(render_vllm_config(plan))
    assert config.get("quantization") == expected


def test_a_format_vllm_cannot_produce_at_load_time_is_refused() -> None:
    plan = single_instance_plan(quantization="awq", checkpoint_quantization="none")
    with pytest.raises(RenderError, match="--served-model"):
        render_vllm_config(plan)


# --- per-capacity workloads (review #9) -------------------------------------------------------------------

def test_mixed_plan_gets_one_deployment_per_capacity_and_one_service() -> None:
    plan = single_instance_plan(replicas=5, instance_count=5, on_demand_instances=2, spot_instances=3)
    docs = _manifests(plan)
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    od, spot = deployments["vllm-llama-3-1-8b-instruct-od"], deployments["vllm-llama-3-1-8b-instruct-spot"]
    assert od["spec"]["replicas"] == 2 and spot["spec"]["replicas"] == 3
    for deployment, capacity in ((od, "on-demand"), (spot, "spot")):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector["llm-advisor/capacity"] == capacity  # selectors of the two do not overlap
        pod = deployment["spec"]["template"]
        assert pod["metadata"]["labels"]["llm-advisor/capacity"] == capacity
        assert pod["spec"]["nodeSelector"]["llm-advisor/capacity"] == capacity
    (service,) = [d for d in docs if d["kind"] == "Service"]
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": "vllm-llama-3-1-8b-instruct"}
    (configmap,) = [d for d in docs if d["kind"] == "ConfigMap"]


def test_packed_mixed_plan_splits_replicas_by_instance() -> None:
    # 4 TP=2 replicas packed 2 per g6e.12xlarge: 1 on-demand instance carries 2 replicas.
    plan = spot_plan(capacity_type="mixed", on_demand_instances=1, spot_instances=1)
    deployments = {d["metadata"]["name"]: d["spec"]["replicas"]
                   for d in _manifests(plan) if d["kind"] == "Deployment"}
    assert deployments == {"vllm-qwen3-32b-od": 2, "vllm-qwen3-32b-spot": 2}


def test_single_capacity_plans_keep_one_workload_selecting_their_capacity() -> None:
    (deployment,) = [d for d in _manifests(spot_plan()) if d["kind"] == "Deployment"]
    assert deployment["metadata"]["name"] == "vllm-qwen3-32b"
    assert deployment["spec"]["template"]["spec"]["nodeSelector"]["llm-advisor/capacity"] == "spot"


def test_mixed_multi_node_plan_gets_one_leaderworkerset_per_capacity() -> None:
    plan = two_node_plan(replicas=3, instance_count=6, capacity_type="mixed", on_demand_instances=2,
                         spot_instances=4, spot_instance_types=("p5.48xlarge",))
    sets = {d["metadata"]["name"]: d for d in _manifests(plan) if d["kind"] == "LeaderWorkerSet"}
    assert {n: s["spec"]["replicas"] for n, s in sets.items()} == {
        "vllm-llama-3-1-405b-instruct-od": 1, "vllm-llama-3-1-405b-instruct-spot": 2}
    for lws, capacity in zip(sets.values(), ("on-demand", "spot"), strict=True):
        for role in ("leaderTemplate", "workerTemplate"):
            selector = lws["spec"]["leaderWorkerTemplate"][role]["spec"]["nodeSelector"]
            assert selector["llm-advisor/capacity"] == capacity
    with pytest.raises(RenderError, match="straddle"):
        _manifests(two_node_plan(replicas=3, instance_count=6, capacity_type="mixed", on_demand_instances=3,
                                 spot_instances=3))


# --- rollout: Recreate + config checksum (review #8) --------------------------------------------------------

def _checksums(plan) -> set[str]:
    docs = _manifests(plan)
    found = set()
    for doc in docs:
        if doc["kind"] == "Deployment":
            assert doc["spec"]["strategy"] == {"type": "Recreate"}
            found.add(doc["spec"]["template"]["metadata"]["annotations"]["llm-advisor/config-sha256"])
        if doc["kind"] == "LeaderWorkerSet":
            for role in ("leaderTemplate", "workerTemplate"):
                found.add(doc["spec"]["leaderWorkerTemplate"][role]["metadata"]["annotations"]["llm-advisor/config-sha256"])
    return found


def test_deployments_recreate_and_a_config_change_changes_the_pod_template() -> None:
    (before,) = _checksums(single_instance_plan())
    assert _checksums(single_instance_plan()) == {before}  # deterministic: no roll without a change
    (after,) = _checksums(single_instance_plan(max_num_seqs=64))
    assert after != before and len(before) == 64
    (lws_before,) = _checksums(two_node_plan())
    (lws_after,) = _checksums(two_node_plan(gpu_memory_utilization=0.85))
    assert lws_before != lws_after


# --- HF cache and pod requests (review #15) -----------------------------------------------------------------

@pytest.mark.parametrize(("factory", "cpu", "memory"), [
    # Reserve = kube-reserved (CPU 60 + 10 + 2 x 5 + 2.5/core above 4 millicores; memory 255 + 11 x max
    # pods MiB, max pods 110 below 30 vCPUs else 250) + 100 MiB eviction + MemTotal gap (1.5625% + 512 MiB)
    # + DaemonSets (500 m, 1024 MiB); CPU rounded down to 100 m.
    # g6e.xlarge (4 vCPU, 32768 MiB; spot alternative g6e.2xlarge is larger):
    # 4000 - 80 - 500 = 3420 -> 3400m; 32768 - (512 + 512) - 1465 - 100 - 1024 = 29155 Mi
    (single_instance_plan, "3400m", "29155Mi"),
    # g6e.12xlarge (48 vCPU, 393216 MiB) with 2 pods per node: (48000 - 190 - 500) / 2 = 23655 -> 23600m;
    # (393216 - (6144 + 512) - 3005 - 100 - 1024) / 2 = 191215.5 -> 191215 Mi
    (spot_plan, "23600m", "191215Mi"),
    # p5.48xlarge (192 vCPU, 2097152 MiB), one pod per node: 192000 - 550 - 500 -> 190900m;
    # 2097152 - (32768 + 512) - 3005 - 100 - 1024 = 2059743 Mi
    (two_node_plan, "190900m", "2059743Mi"),
])
def test_pods_request_the_nodes_cpu_and_memory_less_a_reserve(factory, cpu, memory) -> None:
    plan = factory()
    for doc in _manifests(plan):
        if doc["kind"] not in {"Deployment", "LeaderWorkerSet"}:
            continue
        pods = ([doc["spec"]["template"]] if doc["kind"] == "Deployment" else
                [doc["spec"]["leaderWorkerTemplate"][r] for r in ("leaderTemplate", "workerTemplate")])
        for pod in pods:
            (container,) = pod["spec"]["containers"]
            assert container["resources"]["requests"]["cpu"] == cpu
            assert container["resources"]["requests"]["memory"] == memory
            assert "cpu" not in container["resources"]["limits"]
            mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
            assert mounts["hf-cache"] == "/root/.cache/huggingface"
            volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
            assert volumes["hf-cache"]["hostPath"] == {"path": "/opt/hf-cache", "type": "DirectoryOrCreate"}


def test_requests_that_do_not_fit_the_node_are_refused() -> None:
    plan = spot_plan()
    small = options_for(plan).model_copy(update={"node_vcpus": 2, "node_memory_gib": 4})
    with pytest.raises(RenderError, match="larger instance type"):
        pod_requests(plan, small)


def test_hf_cache_host_path_is_an_option() -> None:
    plan = single_instance_plan()
    options = options_for(plan, hf_cache_host_path="/local/hf-cache")
    text = render_bundle(plan, options).file("kubernetes.yaml").content
    assert 'path: "/local/hf-cache"' in text and "/opt/hf-cache" not in text


# --- Ray start-up scripts (review #7), run with stub commands -------------------------------------------

def _configmap_scripts(plan) -> dict[str, str]:
    (configmap,) = [d for d in _manifests(plan) if d["kind"] == "ConfigMap"]
    return configmap["data"]


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run(script: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    (tmp_path / "script.sh").write_text(script)
    full_env = {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "RAY_RETRY_INTERVAL_S": "1", **env}
    return subprocess.run(["/bin/sh", str(tmp_path / "script.sh")], env=full_env, capture_output=True,
                          text=True, timeout=30, check=False)


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "sleep", "exit 0\n")  # no real waiting in tests
    return bin_dir


def test_worker_retries_ray_start_until_the_head_answers(tmp_path: Path, stubs: Path) -> None:
    script = _configmap_scripts(two_node_plan())["ray-worker.sh"]
    assert "300" in script  # vLLM's multi-node-serving.sh bound
    counter = tmp_path / "tries"
    # `ray start` fails twice (head not up yet), then joins and blocks (here: returns 0).
    _stub(stubs, "ray", f'n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}\n'
                        f'echo "$@" >> {tmp_path}/ray-args\n[ $n -ge 3 ]\n')
    result = _run(script, tmp_path, {"LWS_LEADER_ADDRESS": "leader-0.lws", "RAY_JOIN_TIMEOUT_S": "10"})
    assert result.returncode == 0, result.stderr
    assert counter.read_text().strip() == "3"
    assert "start --address=leader-0.lws:6379 --block" in (tmp_path / "ray-args").read_text()


def test_worker_gives_up_after_the_bound(tmp_path: Path, stubs: Path) -> None:
    script = _configmap_scripts(two_node_plan())["ray-worker.sh"]
    counter = tmp_path / "tries"
    _stub(stubs, "ray", f'n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; exit 1\n')
    result = _run(script, tmp_path, {"LWS_LEADER_ADDRESS": "leader-0.lws", "RAY_JOIN_TIMEOUT_S": "4"})
    assert result.returncode == 1 and counter.read_text().strip() == "4"
    assert "did not answer" in result.stderr


def test_leader_waits_for_the_groups_gpus_then_execs_vllm(tmp_path: Path, stubs: Path) -> None:
    script = _configmap_scripts(two_node_plan())["ray-leader.sh"]
    polls = tmp_path / "polls"
    _stub(stubs, "ray", "exit 0\n")
    # The cluster reports 8 GPUs (leader only) twice, then 16 once the worker joined.
    _stub(stubs, "python3", f'n=$(cat {polls} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {polls}\n'
                            'if [ $n -ge 3 ]; then echo 16; else echo 8; fi\n')
    _stub(stubs, "vllm", f'echo "$@" > {tmp_path}/vllm-args\n')
    result = _run(script, tmp_path, {"RAY_GROUP_WAIT_S": "10"})
    assert result.returncode == 0, result.stderr
    assert polls.read_text().strip() == "3"
    assert (tmp_path / "vllm-args").read_text().strip() == (
        "serve meta-llama/Llama-3.1-405B-Instruct --config /etc/vllm/vllm-config.yaml")


def test_leader_gives_up_when_the_group_never_completes(tmp_path: Path, stubs: Path) -> None:
    script = _configmap_scripts(two_node_plan())["ray-leader.sh"]
    _stub(stubs, "ray", "exit 0\n")
    _stub(stubs, "python3", "echo 8\n")
    _stub(stubs, "vllm", f"touch {tmp_path}/vllm-ran\n")
    result = _run(script, tmp_path, {"RAY_GROUP_WAIT_S": "3"})
    assert result.returncode == 1 and "only 8 of 16 GPUs" in result.stderr
    assert not (tmp_path / "vllm-ran").exists()


# --- EFA image (review #31) -------------------------------------------------------------------------------

def test_efa_plans_say_the_stock_image_uses_tcp_and_an_image_override_is_used() -> None:
    plan = two_node_plan()
    stock = render_bundle(plan, options_for(plan))
    manifest = stock.file("kubernetes.yaml").content
    assert "stock vllm/vllm-openai image has no libfabric/aws-ofi-nccl" in manifest
    assert "TCP sockets" in stock.kubectl_apply_hint
    custom = render_bundle(plan, options_for(plan, image="123.dkr.ecr.us-east-1.amazonaws.com/vllm-efa:0.11"))
    text = custom.file("kubernetes.yaml").content
    assert 'image: "123.dkr.ecr.us-east-1.amazonaws.com/vllm-efa:0.11"' in text
    assert "vllm/vllm-openai:" not in text
    assert "stock vllm/vllm-openai" not in text
    single = single_instance_plan()
    assert "libfabric" not in render_bundle(single, options_for(single)).kubectl_apply_hint
    cloud_init = render_bundle(single, options_for(single, image="my/vllm:1")).file("cloud-init.yaml").content
    assert "--entrypoint vllm my/vllm:1 serve" in cloud_init


def test_emitted_quantization_values_are_vllm_choices() -> None:
    from templates.vllm_options import VLLM_OPTION_CHOICES

    for quantization in ("fp8", "bnb4"):
        config = yaml.safe_load(render_vllm_config(single_instance_plan(quantization=quantization)))
        assert config["quantization"] in VLLM_OPTION_CHOICES["quantization"]
