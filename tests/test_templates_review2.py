"""Second review of the renderer: input validation and quoting, vLLM >= 0.6, image pull, token files,
pod requests from the EKS reserve formula, startup budget, NVIDIA device plugin step."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from templates.common import (
    InvalidInputError,
    check_hf_token_secret_id,
    check_image,
    check_served_model,
    checkpoint_gib,
)
from templates.models import RenderOptions
from templates.render import (
    DAEMONSET_ALLOWANCE_MIB,
    GP3_BASELINE_MIB_PER_S,
    RAY_LEADER_WAIT_S,
    RenderError,
    hf_token_fill_command,
    kube_reserved_millicores,
    pod_requests,
    render_bundle,
    render_cloud_init,
    render_vllm_config,
)
from tests.plans_for_infra import options_for, single_instance_plan, spot_plan, two_node_plan

INJECTIONS = ("a b;rm -rf /", "org/repo $(id)", "x; curl x|sh", "x`id`", "x\nExecStartPre=/bin/sh", "x'y", "")


def _cloud_init(plan, **fields) -> dict:
    return yaml.safe_load(render_cloud_init(plan, options_for(plan, **fields), render_vllm_config(plan)))


def _files(document: dict) -> dict[str, str]:
    return {f["path"]: f["content"] for f in document["write_files"]}


# --- 6: validation before rendering, quoting anyway ---------------------------------------------------

@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize(("check", "flag"), [
    (check_hf_token_secret_id, "--hf-token-secret-id"), (check_served_model, "--served-model"),
    (check_image, "--image"),
])
def test_injection_strings_are_refused_naming_the_flag_and_form(check, flag: str, value: str) -> None:
    with pytest.raises(InvalidInputError, match=flag) as caught:
        check(value)
    assert "expected" in str(caught.value) and "e.g." in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_valid_forms_are_accepted() -> None:
    assert check_hf_token_secret_id("arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf")
    assert check_hf_token_secret_id("llm-advisor/hf_token+v2=@.x")
    assert check_served_model("nvidia/Llama-3.1-70B-Instruct-FP8")
    for image in ("vllm/vllm-openai:v0.11.0", "localhost:5000/team/vllm-efa:0.11",
                  "public.ecr.aws/x/vllm@sha256:" + "a" * 64):
        assert check_image(image) == image


def test_render_options_and_the_plan_refuse_injection_strings() -> None:
    plan = single_instance_plan()
    with pytest.raises(ValueError, match="--hf-token-secret-id"):
        options_for(plan, hf_token_secret_id="a b;rm -rf /")
    with pytest.raises(ValueError, match="--image"):
        options_for(plan, image="x; curl x|sh")
    bad = single_instance_plan(served_model="org/repo $(id)")
    with pytest.raises(InvalidInputError, match="--served-model"):
        render_bundle(bad, options_for(single_instance_plan()))


@pytest.mark.parametrize(("flag", "value"), [
    ("--hf-token-secret-id", "a b;rm -rf /"), ("--served-model", "org/repo $(id)"),
    ("--image", "x; curl x|sh"),
])
def test_render_cli_exits_2_before_writing(tmp_path: Path, capsys, flag: str, value: str) -> None:
    from advisor.cli import main

    out = tmp_path / "out"
    code = main(["render", "--model", "Qwen/Qwen3-8B", "--concurrency", "8", "--max-model-len", "4096",
                 "--pricing", "snapshot", "--out", str(out), flag, value])
    assert code == 2 and not out.exists()
    assert flag in capsys.readouterr().err


def test_values_are_shell_quoted_in_scripts_even_when_validation_is_bypassed() -> None:
    plan = single_instance_plan()
    # model_construct skips the validators: the templates must still quote what they are given.
    fields = {**options_for(plan).model_dump(), "hf_token_secret_id": "a b;id"}
    options = RenderOptions.model_construct(**fields)
    fetch = _files(yaml.safe_load(render_cloud_init(plan, options, render_vllm_config(plan))))[
        "/usr/local/bin/vllm-fetch-hf-token"]
    assert "--secret-id 'a b;id'" in fetch
    assert "--secret-id 'a b;id'" in hf_token_fill_command(plan, options)


# --- 7: vLLM before 0.6 has no `vllm serve --config` --------------------------------------------------

def test_render_refuses_vllm_before_0_6_naming_the_fix() -> None:
    plan = single_instance_plan(vllm_version="0.5.4")
    with pytest.raises(RenderError, match=r"--vllm-version 0\.6 or later"):
        render_bundle(plan, options_for(plan))
    assert render_bundle(single_instance_plan(vllm_version="0.6"), options_for(plan)).files


def test_render_cli_refuses_an_old_vllm_but_plan_keeps_working(tmp_path: Path, capsys) -> None:
    from advisor.cli import main

    common = ["--model", "Qwen/Qwen3-8B", "--concurrency", "8", "--max-model-len", "4096", "--pricing",
              "snapshot", "--vllm-version", "0.5.4"]
    assert main(["plan", *common]) == 0
    capsys.readouterr()
    assert main(["render", *common, "--out", str(tmp_path / "o")]) == 2
    assert "--vllm-version 0.6 or later" in capsys.readouterr().err


# --- 8, 9: pull once with retries, no blocking start, per-unit token file written atomically ----------

def test_image_is_pulled_once_with_retries_and_units_start_without_blocking() -> None:
    document = _cloud_init(spot_plan())
    unit = _files(document)["/etc/systemd/system/vllm@.service"]
    assert not [line for line in unit.splitlines() if line.startswith("ExecStartPre=/usr/bin/docker pull")]
    pulls = [c for c in document["runcmd"] if c[0] == "sh" and "docker pull" in c[2]]
    assert len(pulls) == 1 and pulls[0][-1] == "vllm/vllm-openai:v0.10.2" and "for try in" in pulls[0][2]
    starts = [c for c in document["runcmd"] if c[:2] == ["systemctl", "enable"] and "vllm@" in c[-1]]
    assert starts == [["systemctl", "enable", "--now", "--no-block", f"vllm@{i}.service"] for i in (0, 1)]
    assert document["runcmd"].index(pulls[0]) < document["runcmd"].index(starts[0])


def test_each_server_reads_its_own_token_file() -> None:
    unit = _files(_cloud_init(spot_plan()))["/etc/systemd/system/vllm@.service"]
    assert "ExecStartPre=/usr/local/bin/vllm-fetch-hf-token %i" in unit
    assert "--env-file /run/vllm/hf-%i.env" in unit and "/run/vllm/hf.env" not in unit


def test_token_fetcher_writes_per_index_files_atomically(tmp_path: Path) -> None:
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"
    script = _files(_cloud_init(spot_plan(), hf_token_secret_id=secret))["/usr/local/bin/vllm-fetch-hf-token"]
    run_dir, bin_dir = tmp_path / "run", tmp_path / "bin"
    bin_dir.mkdir()
    fake_aws = bin_dir / "aws"
    fake_aws.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\necho hf_SENTINELfetched\n')
    fake_aws.chmod(0o755)
    path = tmp_path / "fetch"
    path.write_text(script.replace("/run/vllm", str(run_dir)))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    for index in ("0", "1"):
        subprocess.run(["bash", str(path), index], check=True, env=env, timeout=30)
    assert sorted(p.name for p in run_dir.iterdir()) == ["hf-0.env", "hf-1.env"]  # no temporary left
    assert (run_dir / "hf-1.env").read_text() == "HF_TOKEN=hf_SENTINELfetched\n"
    assert stat.S_IMODE((run_dir / "hf-0.env").stat().st_mode) == 0o600
    assert shlex.split((bin_dir / "args").read_text())[-5] == secret
    bad = subprocess.run(["bash", str(path), "0;id"], env=env, timeout=30, capture_output=True)
    assert bad.returncode == 2


# --- 10: NVIDIA device plugin on AL2023 ---------------------------------------------------------------

def test_apply_hint_names_the_nvidia_device_plugin_on_al2023_only() -> None:
    plan = single_instance_plan()
    al2023 = render_bundle(plan, options_for(plan)).kubectl_apply_hint
    assert "NVIDIA device plugin" in al2023 and "nvdp/nvidia-device-plugin" in al2023
    assert al2023.index("nvidia-device-plugin") < al2023.index("kubectl apply -f kubernetes.yaml")
    options = options_for(plan, ami_type="BOTTLEROCKET_x86_64_NVIDIA")
    bottlerocket = render_bundle(plan, options).kubectl_apply_hint
    assert "nvidia-device-plugin" not in bottlerocket


# --- 11: requests from the EKS kube-reserved formula + eviction + DaemonSet allowance -----------------

def test_kube_reserved_cpu_tiers() -> None:
    assert kube_reserved_millicores(1) == 60
    assert kube_reserved_millicores(2) == 70
    assert kube_reserved_millicores(4) == 80
    assert kube_reserved_millicores(8) == 90  # 80 + 4 x 2.5


def test_g6_xlarge_requests_leave_room_for_daemonsets() -> None:
    # g6.xlarge: 4 vCPU, 16 GiB. EKS allocatable (review): MemTotal less kube-reserved 255 + 11 x 58 pods
    # and the 100 Mi eviction threshold, about 14.2 GiB; the pod plus the DaemonSets must fit in it.
    plan = single_instance_plan(instance_type="g6.xlarge", spot_instance_types=())
    cpu_m, memory_mib = pod_requests(plan, options_for(plan))
    assert memory_mib + DAEMONSET_ALLOWANCE_MIB <= 14.2 * 1024
    assert cpu_m <= 4000 - kube_reserved_millicores(4) - 500


# --- 4: startup probe budget scales with the checkpoint -----------------------------------------------

def _startup_s(plan, role: str) -> int:
    docs = list(yaml.safe_load_all(render_bundle(plan, options_for(plan)).file("kubernetes.yaml").content))
    for doc in docs:
        if doc and doc["kind"] == "LeaderWorkerSet":
            pod = doc["spec"]["leaderWorkerTemplate"][f"{role}Template"]
        elif doc and doc["kind"] == "Deployment":
            pod = doc["spec"]["template"]
        else:
            continue
        probe = pod["spec"]["containers"][0].get("startupProbe")
        return 0 if probe is None else probe["periodSeconds"] * probe["failureThreshold"]
    raise AssertionError("no workload")


@pytest.mark.parametrize("weights_gib_per_rank", [24.3, 42.0])  # 405B bf16->fp8; DeepSeek-V3-size fp8
def test_leader_startup_budget_covers_download_load_and_ray_wait(weights_gib_per_rank: float) -> None:
    memory = two_node_plan().memory.model_copy(update={"weights_gib": weights_gib_per_rank})
    plan = two_node_plan(memory=memory)
    size_mib = checkpoint_gib(plan) * 1024
    assert size_mib > 600 * 1024  # 642-778 GiB: the sizes the review found starved
    needed_s = 2 * size_mib / GP3_BASELINE_MIB_PER_S + RAY_LEADER_WAIT_S
    assert _startup_s(plan, "leader") >= needed_s
    assert _startup_s(plan, "leader") > 3 * 3600  # far beyond the old fixed 30 minutes


def test_small_model_keeps_the_30_minute_floor() -> None:
    assert _startup_s(single_instance_plan(), "server") == 1800
