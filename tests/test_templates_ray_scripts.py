"""The Ray start-up scripts of multi-node (LeaderWorkerSet) replicas, run with stub commands:
the worker retries `ray start` within a bound, the leader waits for the group's GPUs then execs vLLM.

From the renderer review finding #7."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import (
    rendered_manifests,
    two_node_plan,
)

# --- Ray start-up scripts (review #7), run with stub commands -------------------------------------------

def _configmap_scripts(plan) -> dict[str, str]:
    (configmap,) = [d for d in rendered_manifests(plan) if d["kind"] == "ConfigMap"]
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
