"""Live -> cache -> snapshot prices for CPU instances (pricing/cpu_live.py), offline: moto serves EC2,
FakePricing answers GetProducts, the cache lives under tmp_path."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from llm_advisor.planner.cpu import plan_cpu
from pricing.cpu import cpu_catalog, cpu_instance
from pricing.cpu_live import (
    LIVE_SOURCE,
    cpu_cache_path,
    fetch_cpu_region,
    fetch_cpu_types,
    load_cpu_catalog,
    read_cpu_cache,
)
from pricing.errors import AwsUnavailableError
from pricing.validate import MAX_USD_PER_VCPU_HOUR, MIN_USD_PER_VCPU_HOUR, check_cpu_instance
from tests.conftest import NOW, FakePricing

pytestmark = pytest.mark.usefixtures("fake_aws")


def test_snapshot_cpu_prices_sit_inside_the_per_vcpu_bounds_with_margin() -> None:
    per_vcpu = [i.on_demand_usd_per_hour / i.vcpus for i in cpu_catalog()]
    assert MIN_USD_PER_VCPU_HOUR * 10 <= min(per_vcpu) and max(per_vcpu) * 5 <= MAX_USD_PER_VCPU_HOUR


def test_implausible_cpu_figures_are_dropped_or_stripped() -> None:
    good = cpu_instance("c7i.xlarge", "us-east-1")
    assert check_cpu_instance(good) == (good, [])
    bad_od, why = check_cpu_instance(good.model_copy(update={"on_demand_usd_per_hour": 1785.0}))
    assert bad_od is None and "per vCPU-hour" in why[0]
    no_spot, why = check_cpu_instance(good.model_copy(update={"spot_usd_per_hour": float("nan")}))
    assert no_spot is not None and no_spot.spot_usd_per_hour is None and "spot" in why[0]
    assert check_cpu_instance(good.model_copy(update={"vcpus": 0}))[0] is None


@mock_aws
def test_describe_instance_types_asks_by_family_wildcard_and_keeps_the_snapshot_sizes() -> None:
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    sent: list[dict] = []
    ec2.meta.events.register("provide-client-params.ec2.DescribeInstanceTypes",
                             lambda params, **_: sent.append(params))
    types = fetch_cpu_types(ec2)
    assert sent[0]["Filters"][0]["Values"][:2] == ["c7i.*", "m7i.*"]
    assert types["c7i.xlarge"] == (4, 8.0) and types["r8g.48xlarge"] == (192, 1536.0)
    assert not any(t.endswith((".metal", ".large")) for t in types)


@mock_aws
def test_live_region_joins_on_demand_spot_and_hardware() -> None:
    pricing = FakePricing({("c8g.4xlarge", "eu-west-1"): 0.7, ("m7i.xlarge", "eu-west-1"): 0.2})
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    got = {i.instance_type: i for i in fetch_cpu_region("eu-west-1", ec2, pricing, NOW)}
    assert set(got) == {"c8g.4xlarge", "m7i.xlarge"}  # no on-demand price: not plannable, left out
    c8g = got["c8g.4xlarge"]
    assert (c8g.on_demand_usd_per_hour, c8g.vcpus, c8g.memory_gib, c8g.arch) == (0.7, 16, 32.0, "arm64")
    assert c8g.price_as_of == f"{NOW:%Y-%m-%d}" and c8g.source.startswith(LIVE_SOURCE)
    assert c8g.spot_usd_per_hour is not None  # moto's spot history: the cheapest AZ
    assert c8g.memory_bandwidth_gb_s == pytest.approx(537.6 * 16 / 96)  # the family's hardware


@mock_aws
def test_live_mode_caches_and_auto_reuses_the_fresh_cache(tmp_path: Path) -> None:
    pricing = FakePricing({("c7i.2xlarge", "eu-west-1"): 0.4})

    def clients(service: str, region: str):
        return pricing if service == "pricing" else boto3.client("ec2", region_name=region)

    live = load_cpu_catalog(["eu-west-1"], "live", cache_dir=tmp_path, clients=clients, now=NOW)
    assert [i.instance_type for i in live.instances] == ["c7i.2xlarge"]
    entry, problem = read_cpu_cache(tmp_path, "eu-west-1")
    assert problem is None and entry is not None and entry.instances == live.instances
    calls = len(pricing.requests)
    auto = load_cpu_catalog(["eu-west-1"], "auto", cache_dir=tmp_path, clients=clients,
                            now=NOW + timedelta(hours=1))
    assert auto.instances == live.instances and len(pricing.requests) == calls  # no new call


def test_auto_without_credentials_falls_back_to_the_snapshot_and_live_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    auto = load_cpu_catalog(["us-east-1"], "auto", cache_dir=tmp_path, now=NOW)
    assert auto.instances and all(i.region == "us-east-1" for i in auto.instances)
    assert "bundled CPU snapshot" in auto.warnings[-1] and "no AWS credentials" in auto.warnings[-1]
    with pytest.raises(AwsUnavailableError, match="--pricing live failed for CPU prices in us-east-1"):
        load_cpu_catalog(["us-east-1"], "live", cache_dir=tmp_path, now=NOW)


def test_a_corrupt_cpu_cache_is_reported_and_ignored(tmp_path: Path) -> None:
    cpu_cache_path(tmp_path, "us-east-1").write_text("{not json", encoding="utf-8")
    entry, problem = read_cpu_cache(tmp_path, "us-east-1")
    assert entry is None and "corrupt CPU price cache" in (problem or "")


def test_the_planner_plans_on_the_instances_it_is_given() -> None:
    from llm_advisor.planner.models import Workload

    workload = Workload(model="meta-llama/Llama-3.1-8B-Instruct", regions=["us-east-1"], concurrency=2,
                        max_model_len=4096)
    cheap = cpu_instance("c8g.4xlarge", "us-east-1").model_copy(update={"on_demand_usd_per_hour": 0.05})
    plan = plan_cpu(workload, instances=[cheap])
    assert plan.instance is cheap and plan.usd_per_hour == pytest.approx(0.05 * plan.replicas)
