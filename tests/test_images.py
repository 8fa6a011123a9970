"""The image -> CUDA -> driver / compute capability table (sizing/data/vllm_images.json) and its two uses:
the planner drops GPUs the pinned image or the node AMI cannot run (saying why), and the stack config
refuses an AMI whose NVIDIA driver is too old for the image, naming the key (issue 9, blocker 4)."""

from __future__ import annotations

import pytest

from llm_advisor.infra.config import stack_config_from
from llm_advisor.planner import PlanningError, Workload, make_plan
from sizing.images import ami_driver, driver_error, gpu_error, image_for, image_table, min_driver
from sizing.vllm_versions import LATEST_VLLM_VERSION, OLDEST_VLLM_VERSION, parse_version
from tests.conftest import LLAMA8, catalog, offer

EKS = {"model": LLAMA8, "clusterName": "c", "subnetIds": "subnet-a"}


def test_table_covers_every_supported_release_once_with_sources() -> None:
    rows = sorted(image_table(), key=lambda r: parse_version(r.releases[0]))
    assert rows[0].releases[0] == OLDEST_VLLM_VERSION and rows[-1].releases[1] == LATEST_VLLM_VERSION
    for before, after in zip(rows, rows[1:], strict=False):  # contiguous, no overlap
        major, minor = parse_version(before.releases[1])
        assert parse_version(after.releases[0]) == (major, minor + 1)
    for r in rows:
        assert r.source and r.runs_on(r.min_compute_capability) and r.runs_on(r.max_compute_capability)
    assert image_for(LATEST_VLLM_VERSION).cuda_major == 13 and min_driver(13).min_driver == 580


def test_v100_is_excluded_for_a_cuda13_image_with_the_release_that_would_run_it() -> None:
    with pytest.raises(PlanningError) as err:
        workload = Workload(model=LLAMA8, concurrency=1, max_model_len=1024)
        make_plan(workload, catalog(offer("p3.8xlarge", 12.24)))
    text = str(err.value)
    assert "container image" in text and "V100" in text and "compute capability 7.0" in text
    assert "vllm/vllm-openai:v0.34.0" in text and "newest release whose image does: vLLM 0.19" in text


def test_a_feasible_plan_says_which_gpus_the_image_excluded() -> None:
    plan = make_plan(
        Workload(model=LLAMA8, concurrency=1, max_model_len=1024),
        catalog(offer("p3.2xlarge", 1.0), offer("g5.xlarge", 2.0)),
    )
    assert plan.placement.instance_type == "g5.xlarge"
    assert any("V100" in w and "cannot run" in w for w in plan.warnings)


def test_an_older_release_whose_image_has_sm70_runs_on_v100() -> None:
    plan = make_plan(
        Workload(model=LLAMA8, concurrency=1, max_model_len=1024, vllm_version="0.19"),
        catalog(offer("p3.8xlarge", 12.24)),
    )
    assert plan.placement.instance_type == "p3.8xlarge"
    assert gpu_error("0.19", "V100-16GB", "7.0") is None


def test_the_ec2_dlami_driver_no_longer_supports_v100() -> None:
    workload = Workload(model=LLAMA8, concurrency=1, max_model_len=1024, vllm_version="0.19",
                        node_ami="EC2_DLAMI_AL2023")
    with pytest.raises(PlanningError, match="595 driver of the EC2_DLAMI_AL2023 AMI"):
        make_plan(workload, catalog(offer("p3.8xlarge", 12.24)))


def test_a_custom_image_skips_the_pinned_images_gpu_check() -> None:
    workload = Workload(model=LLAMA8, concurrency=1, max_model_len=1024, custom_image=True)
    assert make_plan(workload, catalog(offer("p3.8xlarge", 12.24))).placement.instance_type == "p3.8xlarge"


def test_blackwell_needs_an_image_built_for_it() -> None:
    assert "images from vLLM 0.9 do" in gpu_error("0.8", "B200", 10.0)
    assert gpu_error("0.9", "B200", 10.0) is None


def test_bottlerocket_with_a_too_old_driver_is_refused_naming_the_key() -> None:
    raw = {**EKS, "amiType": "BOTTLEROCKET_x86_64_NVIDIA", "kubernetesVersion": "1.27"}
    with pytest.raises(ValueError) as err:
        stack_config_from(raw.get)
    text = str(err.value)
    assert "amiType/kubernetesVersion" in text and "535 driver" in text and ">= 580" in text
    assert "vllmVersion 0.19" in text and "v0.34.0-cu129" in text
    # the options it names work: an older release, or the CUDA 12 build as vllmImage
    assert stack_config_from({**raw, "vllmVersion": "0.19"}.get).vllm_version == "0.19"
    assert stack_config_from({**raw, "vllmImage": "vllm/vllm-openai:v0.34.0-cu129"}.get)
    # current Bottlerocket releases ship R580: the default image runs
    assert stack_config_from({**EKS, "amiType": "BOTTLEROCKET_x86_64_NVIDIA"}.get).to_workload().node_ami == (
        "BOTTLEROCKET_x86_64_NVIDIA"
    )


def test_kubernetes_version_form_is_checked_and_ec2_uses_the_dlami() -> None:
    with pytest.raises(ValueError, match="kubernetesVersion"):
        stack_config_from({**EKS, "kubernetesVersion": "latest"}.get)
    ec2 = stack_config_from({"model": LLAMA8, "target": "ec2", "subnetIds": "subnet-a"}.get).to_workload()
    assert ec2.node_ami == "EC2_DLAMI_AL2023" and ec2.custom_image is False
    assert ami_driver("AL2023_x86_64_NVIDIA").driver_branch >= 580
    assert driver_error(LATEST_VLLM_VERSION, "AL2023_x86_64_NVIDIA", "1.33") is None
