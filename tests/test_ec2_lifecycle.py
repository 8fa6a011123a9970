"""Target ec2 node lifecycle (issue 9): the AMI is pinned (no drift on each `pulumi up`) with amiId as the
explicit update path, and a launch template change rolls the instances through an instance refresh."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from llm_advisor.infra.config import StackConfig
from llm_advisor.infra.ec2 import DLAMI_SSM_PARAMETER, STARTUP_GRACE_S, ami_pin_options
from llm_advisor.infra.preview import MOCK_AMI
from tests.conftest import EC2, deploy_run, plain, single_instance_plan, spot_plan

GROUP = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def test_asg_rolls_one_instance_at_a_time_on_a_template_change() -> None:
    run = deploy_run(spot_plan(), EC2)  # 2 instances
    refresh = plain(run.of_type(GROUP)[0].inputs)["instanceRefresh"]
    assert refresh["strategy"] == "Rolling"
    prefs = refresh["preferences"]
    assert prefs["minHealthyPercentage"] == 50 and prefs["maxHealthyPercentage"] == 100
    assert prefs["instanceWarmup"] == str(STARTUP_GRACE_S) and prefs["skipMatching"] is True


def test_min_healthy_follows_the_instance_count() -> None:
    plan = single_instance_plan(
        instance_count=4, replicas=4, on_demand_instances=4, capacity_type="on-demand"
    )
    prefs = plain(deploy_run(plan, EC2).of_type(GROUP)[0].inputs)["instanceRefresh"]["preferences"]
    assert prefs["minHealthyPercentage"] == 75


def test_unset_ami_is_resolved_from_ssm_once_and_kept() -> None:
    run = deploy_run(spot_plan(), EC2)
    assert plain(run.of_type(LAUNCH_TEMPLATE)[0].inputs)["imageId"] == MOCK_AMI
    assert any(c.args.get("name") == DLAMI_SSM_PARAMETER for c in run.calls)
    assert run.outputs["ami_id"] == MOCK_AMI  # what to pin with `pulumi config set amiId`
    assert ami_pin_options(None).ignore_changes == ["imageId"]  # a newer DLAMI does not roll the fleet


def test_ami_id_is_the_explicit_update_path() -> None:
    pinned = "ami-0123456789abcdef0"
    run = deploy_run(spot_plan(), {**EC2, "amiId": pinned})
    assert plain(run.of_type(LAUNCH_TEMPLATE)[0].inputs)["imageId"] == pinned
    assert not any(c.args.get("name") == DLAMI_SSM_PARAMETER for c in run.calls)
    assert ami_pin_options(pinned).ignore_changes == []  # the change applies, the refresh rolls it
    assert run.outputs["ami_id"] == pinned


def test_a_malformed_ami_id_names_the_key() -> None:
    with pytest.raises(ValidationError, match="amiId"):
        StackConfig.model_validate({**EC2, "amiId": "latest"})


def test_gp3_throughput_and_iops_are_sized_to_the_checkpoint() -> None:
    from templates.common import CHECKPOINT_READ_BUDGET_S, checkpoint_gib, gp3_performance

    plan = spot_plan()
    throughput, iops = gp3_performance(plan)
    assert 125 <= throughput <= 1000 and 3000 <= iops <= 16000 and throughput <= iops * 0.25
    assert throughput == 1000 or checkpoint_gib(plan) * 1024 / throughput <= CHECKPOINT_READ_BUDGET_S
    ebs = plain(deploy_run(plan, EC2).of_type(LAUNCH_TEMPLATE)[0].inputs)["blockDeviceMappings"][0]["ebs"]
    assert (ebs["throughput"], ebs["iops"]) == (throughput, iops)


# Capacity Blocks for ML (issue 10 item 7): a purchased reservation, targeted by the launch template.
RESERVATION = "cr-0123456789abcdef0"


def on_demand_plan():
    return single_instance_plan(capacity_type="on-demand", on_demand_instances=2, spot_instance_types=())


def test_a_reservation_is_targeted_by_the_launch_template_with_market_type_capacity_block() -> None:
    run = deploy_run(on_demand_plan(), {**EC2, "capacityReservationId": RESERVATION})
    template = plain(run.of_type(LAUNCH_TEMPLATE)[0].inputs)
    assert template["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert template["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": RESERVATION}}
    assert template["instanceType"] == "g6e.xlarge"
    group = plain(run.of_type(GROUP)[0].inputs)
    assert "mixedInstancesPolicy" not in group and group["launchTemplate"]["id"]
    assert group["capacityRebalance"] is False and group["desiredCapacity"] == 2
    assert run.outputs["capacity_reservation_id"] == RESERVATION


def test_without_a_reservation_the_template_buys_nothing_reserved() -> None:
    run = deploy_run(on_demand_plan(), EC2)
    template = plain(run.of_type(LAUNCH_TEMPLATE)[0].inputs)
    assert "instanceMarketOptions" not in template and "capacityReservationSpecification" not in template
    assert "mixedInstancesPolicy" in plain(run.of_type(GROUP)[0].inputs)
    assert "capacity_reservation_id" not in run.outputs


def test_a_spot_plan_cannot_run_in_a_reservation() -> None:
    from templates.common import RenderError

    with pytest.raises(RenderError, match="capacityReservationId: the plan runs 1 spot"):
        deploy_run(single_instance_plan(), {**EC2, "capacityReservationId": RESERVATION})


def test_reservation_keys_are_checked_before_any_resource() -> None:
    with pytest.raises(ValidationError, match="capacityReservationId"):
        StackConfig.model_validate({**EC2, "capacityReservationId": "cb-123"})
    with pytest.raises(ValidationError, match="capacityReservationId[\\s\\S]*target ec2"):
        StackConfig.model_validate({"model": "m", "target": "eks", "clusterName": "c", "subnetIds": ("s",),
                                    "capacityReservationId": RESERVATION})
    with pytest.raises(ValidationError, match="capacity[\\s\\S]*spot with capacityReservationId"):
        StackConfig.model_validate({**EC2, "capacityReservationId": RESERVATION, "capacity": "spot"})
    cfg = StackConfig.model_validate({**EC2, "capacityReservationId": RESERVATION})
    assert cfg.to_workload().capacity == "on-demand"  # auto becomes on-demand: every instance in the block


def test_capacity_block_in_the_stack_needs_a_purchased_reservation() -> None:
    with pytest.raises(ValidationError, match="capacity-block: the program deploys into a Capacity"):
        StackConfig.model_validate({**EC2, "capacity": "capacity-block"})
    cfg = StackConfig.model_validate({**EC2, "capacityReservationId": RESERVATION,
                                      "capacity": "capacity-block"})
    assert cfg.to_workload().capacity == "on-demand"
