"""Rendered cloud-init (target ec2): one server per packed replica, the image pulled once with
retries, units started without blocking, a per-unit HF token file written atomically.

Partly from the renderer second review's findings #8 #9."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from templates.render import (
    RenderError,
    render_bundle,
    render_cloud_init,
    render_vllm_config,
)
from tests.conftest import (
    cloud_init_document,
    options_for,
    spot_plan,
    two_node_plan,
    write_files,
)


def test_cloud_init_runs_one_server_per_packed_replica_and_fetches_the_token() -> None:
    plan = spot_plan()
    options = options_for(plan, hf_token_secret_id="arn:aws:secretsmanager:us-east-1:1:secret:t")
    text = render_cloud_init(plan, options, render_vllm_config(plan))
    assert text.startswith("#cloud-config\n")
    document = yaml.safe_load(text)
    paths = {f["path"]: f["content"] for f in document["write_files"]}
    assert paths["/etc/vllm/server-0.env"] == "GPU_DEVICES=0,1\nHOST_PORT=8000\n"
    assert paths["/etc/vllm/server-1.env"] == "GPU_DEVICES=2,3\nHOST_PORT=8001\n"
    fetch = paths["/usr/local/bin/vllm-fetch-hf-token"]
    assert "aws secretsmanager get-secret-value --region us-east-1" in fetch
    assert yaml.safe_load(paths["/etc/vllm/vllm-config.yaml"])["tensor-parallel-size"] == 2
    unit = paths["/etc/systemd/system/vllm@.service"]
    assert "--entrypoint vllm vllm/vllm-openai:v0.10.2 serve Qwen/Qwen3-32B" in unit
    assert ["systemctl", "enable", "--now", "--no-block", "vllm@1.service"] in document["runcmd"]


def test_cloud_init_refuses_a_multi_instance_replica() -> None:
    plan = two_node_plan()
    with pytest.raises(RenderError, match="target eks"):
        render_cloud_init(plan, options_for(plan), render_vllm_config(plan))
    assert "cloud-init.yaml" not in {f.name for f in render_bundle(plan, options_for(plan)).files}


# --- 8, 9: pull once with retries, no blocking start, per-unit token file written atomically ----------

def test_image_is_pulled_once_with_retries_and_units_start_without_blocking() -> None:
    document = cloud_init_document(spot_plan())
    unit = write_files(document)["/etc/systemd/system/vllm@.service"]
    assert not [line for line in unit.splitlines() if line.startswith("ExecStartPre=/usr/bin/docker pull")]
    pulls = [c for c in document["runcmd"] if c[0] == "sh" and "docker pull" in c[2]]
    assert len(pulls) == 1 and pulls[0][-1] == "vllm/vllm-openai:v0.10.2" and "for try in" in pulls[0][2]
    starts = [c for c in document["runcmd"] if c[:2] == ["systemctl", "enable"] and "vllm@" in c[-1]]
    assert starts == [["systemctl", "enable", "--now", "--no-block", f"vllm@{i}.service"] for i in (0, 1)]
    assert document["runcmd"].index(pulls[0]) < document["runcmd"].index(starts[0])


def test_each_server_reads_its_own_token_file() -> None:
    unit = write_files(cloud_init_document(spot_plan()))["/etc/systemd/system/vllm@.service"]
    assert "ExecStartPre=/usr/local/bin/vllm-fetch-hf-token %i" in unit
    assert "--env-file /run/vllm/hf-%i.env" in unit and "/run/vllm/hf.env" not in unit


def test_token_fetcher_writes_per_index_files_atomically(tmp_path: Path) -> None:
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hf-token-AbCdEf"
    document = cloud_init_document(spot_plan(), hf_token_secret_id=secret)
    script = write_files(document)["/usr/local/bin/vllm-fetch-hf-token"]
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
