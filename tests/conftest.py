"""Shared factories, fakes and constants of the test suite (no test module imports another one).

Import-time needs (parametrize arguments, module-level catalogs) use `from tests.conftest import X`;
per-test set-up is a fixture here (`fake_aws`).

- hand-built Plans for templates/infra: build_plan (flat field names), single_instance_plan, two_node_plan,
  spot_plan, options_for,
  and rendered-output readers: yaml_docs, rendered_manifests, cloud_init_document, write_files
- hand-priced planner catalogs: AS_OF, FACTS, LLAMA8/70/405, list prices, offer, catalog, price,
  assert_alternatives_agree_with_their_numbers
- pricing fakes: AWS_FIXTURES, load_payload, fake_aws_env (+ the fake_aws fixture), price_list_item,
  FakePricing, describe_item, FakeClock, SlowEc2, NOW, PRICES, Factory, Unreachable, sources
"""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pulumi
import pytest
import yaml
from botocore.exceptions import EndpointConnectionError

from llm_advisor.infra.config import StackConfig
from llm_advisor.infra.preview import MockRun, run_program
from llm_advisor.planner.models import (
    Cost,
    LatencyBound,
    MemoryBreakdown,
    Placement,
    Plan,
    ServedModel,
    ThroughputEstimate,
    VllmSettings,
)
from pricing import instance_catalog
from pricing.models import InstancePrice, Offer, PricedCatalog
from pricing.recorded import recorded_clients
from templates.models import RenderOptions
from templates.render import default_options, render_bundle, render_cloud_init, render_vllm_config

# ===== hand-built Plans for the templates/infra tests (independent of the planner's own search) =========

# Llama 3.1 8B bf16 weights: 8.03e9 params x 2 bytes = 14.96 GiB on one GPU (TP=1).
_MEMORY = MemoryBreakdown(
    total_gpu_memory_gib=44.7, gpu_memory_utilization=0.9, weights_gib=14.96, activation_peak_gib=1.2,
    non_torch_gib=0.4, cudagraph_gib=0.6, kv_cache_gib=23.67, kv_bytes_per_token=131072,
)
_THROUGHPUT = ThroughputEstimate(
    batch_size=32, decode_output_tokens_per_s=900.0, time_per_output_token_ms=35.5,
    prefill_tokens_per_s=9000.0, total_output_tokens_per_s=1800.0, bound="memory",
)


_PARTS = {"served": ServedModel, "vllm": VllmSettings, "placement": Placement, "cost": Cost,
          "latency": LatencyBound}
_SNAPSHOT_TYPES = {i.instance_type: i for i in instance_catalog()}


def build_plan(**fields: Any) -> Plan:
    """A Plan from flat field names (each routed to its sub-model: instance_type -> placement ...).
    node_vcpus/node_memory_gib default to the smallest of instance_type and spot_instance_types in the
    snapshot instance catalog (as the planner takes them from the priced one)."""
    parts: dict[str, dict[str, Any]] = {name: {} for name in _PARTS}
    top: dict[str, Any] = {}
    for key, value in fields.items():
        home = next((name for name, model in _PARTS.items() if key in model.model_fields), None)
        if home is None and any(key in model.model_computed_fields for model in _PARTS.values()):
            raise TypeError(f"{key} is derived in a Plan; set the fields it follows from")
        (parts[home] if home else top)[key] = value
    at = parts["placement"]
    if "node_vcpus" not in at or "node_memory_gib" not in at:
        types = dict.fromkeys((at["instance_type"], *at.get("spot_instance_types", ())))
        shapes = [_SNAPSHOT_TYPES[t] for t in types]
        at.setdefault("node_vcpus", min(i.vcpus for i in shapes))
        at.setdefault("node_memory_gib", min(i.memory_gib for i in shapes))
    return Plan(**{name: _PARTS[name](**values) for name, values in parts.items()}, **top)


def single_instance_plan(**overrides: Any) -> Plan:
    """2 replicas of Llama 3.1 8B on 2 x g6e.xlarge (1 x L40S each), one on-demand + one spot."""
    fields: dict[str, Any] = dict(
        model="meta-llama/Llama-3.1-8B-Instruct", served_model="meta-llama/Llama-3.1-8B-Instruct",
        checkpoint_quantization="none", dtype="bf16", quantization="none",
        instance_type="g6e.xlarge", instance_count=2, instances_per_replica=1,
        tensor_parallel_size=1, pipeline_parallel_size=1, replicas=2, capacity_type="mixed",
        on_demand_instances=1, spot_instance_types=("g6e.xlarge", "g6e.2xlarge"),
        region="us-east-1", usd_per_hour=2.6, usd_per_million_output_tokens=0.4,
        gpu_memory_utilization=0.9, max_model_len=8192, max_num_seqs=32, max_num_batched_tokens=2048,
        kv_cache_dtype="auto", kv_cache_tokens=193_904, block_size=16, memory=_MEMORY,
        throughput=_THROUGHPUT, price_source="snapshot",
        prices_as_of=datetime(2026, 7, 20, 13, 44, 30, tzinfo=UTC), vllm_version="0.11",
        alternatives=(), explanation="hand-built test plan",
    )
    fields.update(overrides)
    return build_plan(**fields)


def two_node_plan(**overrides: Any) -> Plan:
    """1 replica of Llama 3.1 405B spanning 2 x p5.48xlarge: TP=8 x PP=2, EFA, all on-demand; the bf16
    checkpoint is quantized to fp8 by vLLM at load time (so the node downloads the bf16 weights)."""
    memory = _MEMORY.model_copy(update={"total_gpu_memory_gib": 80.0, "weights_gib": 24.3})
    fields: dict[str, Any] = dict(
        model="meta-llama/Llama-3.1-405B-Instruct", served_model="meta-llama/Llama-3.1-405B-Instruct",
        quantization="fp8", checkpoint_quantization="none", instance_type="p5.48xlarge",
        efa_interfaces_per_instance=32, availability_zone_ids=("use1-az4", "use1-az6"),
        instance_count=2, instances_per_replica=2, tensor_parallel_size=8,
        pipeline_parallel_size=2, replicas=1, capacity_type="on-demand", on_demand_instances=2,
        spot_instance_types=(), usd_per_hour=110.0,
        max_num_batched_tokens=8192, kv_cache_dtype="fp8", memory=memory,
    )
    fields.update(overrides)
    return single_instance_plan(**fields)


def spot_plan(**overrides: Any) -> Plan:
    """4 replicas of Qwen3-32B TP=2 packed 4 per g6e.12xlarge (4 x L40S), all spot, diversified."""
    fields: dict[str, Any] = dict(
        model="Qwen/Qwen3-32B", served_model="Qwen/Qwen3-32B", instance_type="g6e.12xlarge", instance_count=2,
        tensor_parallel_size=2, replicas=4, capacity_type="spot", on_demand_instances=0,
        spot_instance_types=("g6e.12xlarge", "g6e.24xlarge"), vllm_version="0.10.2",
    )
    fields.update(overrides)
    return single_instance_plan(**fields)


def options_for(plan: Plan, **fields: Any) -> RenderOptions:
    """RenderOptions for a plan with its node shape from the plan (as infra.stack does)."""
    return default_options(plan, **fields)


def yaml_docs(text: str) -> list[dict]:
    """The non-empty documents of a multi-document YAML text."""
    return [d for d in yaml.safe_load_all(text) if d]


def rendered_manifests(plan: Plan, **fields: Any) -> list[dict]:
    """The documents of the plan's rendered kubernetes.yaml (options_for(plan, **fields))."""
    return yaml_docs(render_bundle(plan, options_for(plan, **fields)).file("kubernetes.yaml").content)


def cloud_init_document(plan: Plan, **fields: Any) -> dict:
    """The plan's rendered cloud-init, parsed."""
    return yaml.safe_load(render_cloud_init(plan, options_for(plan, **fields), render_vllm_config(plan)))


def write_files(document: dict) -> dict[str, str]:
    """A cloud-init document's write_files as path -> content."""
    return {f["path"]: f["content"] for f in document["write_files"]}


# ===== hand-priced catalogs for the planner tests: real instance facts, prices chosen per test ==========

AS_OF = datetime(2026, 7, 20, 13, 44, 30, tzinfo=UTC)
FACTS = {i.instance_type: i for i in instance_catalog()}
LLAMA8 = "meta-llama/Meta-Llama-3.1-8B"
LLAMA70 = "meta-llama/Meta-Llama-3.1-70B"
LLAMA405 = "meta-llama/Meta-Llama-3.1-405B"


def offer(
    instance_type: str,
    od: float | None,
    spot: float | None = None,
    band: int | None = 1,
    region: str = "us-east-1",
) -> Offer:
    """The real facts of instance_type at these hand prices (spot in one AZ, use1-az1)."""
    price = InstancePrice(
        instance_type=instance_type,
        region=region,
        on_demand_usd_per_hour=od,
        spot_usd_per_hour=spot,
        spot_median_usd_per_hour=spot,
        spot_usd_per_hour_by_az={} if spot is None else {"use1-az1": spot},
        interruption_band=band,
        interruption_frequency=None,
        price_source="snapshot",
        prices_as_of=AS_OF,
    )
    return Offer(instance=FACTS[instance_type], price=price)


def catalog(*offers: Offer) -> PricedCatalog:
    """A PricedCatalog of these offers, its regions in order of first appearance."""
    regions = tuple(dict.fromkeys(o.price.region for o in offers)) or ("us-east-1",)
    return PricedCatalog(offers=offers, regions=regions)


# AWS list prices (us-east-1, snapshot of 2026-07-20), used where the test needs no special price.
G5_X, G6_X, G6E_X = 1.006, 0.8048, 1.861
G5_12X, G6E_12X = 5.672, 10.493
P5_48X, P5EN_48X = 55.04, 63.296
LLAMA70_FP8 = "llama3.3-70b-fp8"
# One-type catalogs at list price: an L40S (g6e.xlarge) and an 8 x H100 (p5.48xlarge) in us-east-1.
L40S = catalog(offer("g6e.xlarge", G6E_X))
P5 = catalog(offer("p5.48xlarge", P5_48X))


def price(od: float | None = 10.0, spot: float | None = 3.0, band: int | None = 0) -> InstancePrice:
    """A hand-priced "x.large" in us-east-1 for the capacity-costing tests."""
    return InstancePrice(
        instance_type="x.large",
        region="us-east-1",
        on_demand_usd_per_hour=od,
        spot_usd_per_hour=spot,
        spot_median_usd_per_hour=spot,
        spot_usd_per_hour_by_az={},
        interruption_band=band,
        interruption_frequency=None,
        price_source="snapshot",
        prices_as_of=datetime(2026, 7, 20, tzinfo=UTC),
    )


MONEY = r"\$([\d,]+\.\d+)"


def money(text: str) -> float:
    """A dollar figure of an explanation ("1,234.50") as a float."""
    return float(text.replace(",", ""))


def assert_alternatives_agree_with_their_numbers(plan) -> None:
    """Each alternative's why_not states its cost, instance count, span and dtype as its numbers say."""
    alts = plan.alternatives
    keys = [
        (a.instance_type, a.tensor_parallel_size, a.pipeline_parallel_size, a.instances_per_replica)
        for a in alts
    ]
    mine = (
        plan.placement.instance_type,
        plan.vllm.tensor_parallel_size,
        plan.vllm.pipeline_parallel_size,
        plan.placement.instances_per_replica,
    )
    assert len(alts) <= 5 and len(set(keys)) == len(keys) and mine not in keys
    for a in alts:
        why = a.why_not
        assert a.time_per_output_token_ms is not None
        if plan.latency.max_time_per_output_token_ms is not None:  # every runner-up meets the same bound
            assert a.time_per_output_token_ms <= plan.latency.max_time_per_output_token_ms
        if m := re.match(rf"costs {MONEY}/h more \(\+(\d+)%\)", why):
            diff = a.usd_per_hour - plan.cost.usd_per_hour
            assert diff > 0 and money(m[1]) == pytest.approx(diff, abs=0.0051)
            assert int(m[2]) == round(100 * diff / plan.cost.usd_per_hour)
        elif why.startswith("same cost"):
            assert a.usd_per_hour == pytest.approx(plan.cost.usd_per_hour, abs=1e-4)
            if m := re.search(r"lower throughput \(([\d,.]+) vs ([\d,.]+) output tokens/s\)", why):
                assert money(m[1]) == pytest.approx(a.total_output_tokens_per_s)
                assert money(m[2]) == pytest.approx(plan.throughput.total_output_tokens_per_s)
                assert a.total_output_tokens_per_s < plan.throughput.total_output_tokens_per_s
            if m := re.search(r"TP=(\d+) over PCIe", why):
                assert int(m[1]) == a.tensor_parallel_size > 2
        elif m := re.match(rf"{MONEY}/h cheaper", why):
            assert money(m[1]) == pytest.approx(plan.cost.usd_per_hour - a.usd_per_hour, abs=0.0051)
            if "churn threshold" not in why:  # lost on the complexity penalty: ranked above the plan's cost
                # batch work is ranked per token (or by the job's total): dearer per hour can win
                batch = rf"but ranked at {MONEY} vs {MONEY} (per million output tokens|total)"
                if r := re.search(batch, why):
                    assert money(r[1]) > money(r[2])
                else:
                    r = re.search(rf"but ranked at {MONEY}/h vs {MONEY}/h with the complexity penalty", why)
                    assert r and money(r[1]) > money(r[2])
                    assert a.instances_per_replica > 1 or a.dtype == "fp16"
        else:
            assert why.startswith("tie on cost") and a.usd_per_hour == pytest.approx(plan.cost.usd_per_hour)
        m = re.search(r"(\d+) instances? vs (\d+)", why)
        if a.instance_count != plan.placement.instance_count:
            assert m and (int(m[1]), int(m[2])) == (a.instance_count, plan.placement.instance_count)
        else:
            assert m is None
        m = re.search(r"replica spans (\d+) nodes", why)
        assert (int(m[1]) if m else 1) == a.instances_per_replica
        assert (f"runs {a.dtype}" in why) == (a.dtype != plan.served.dtype)



# ===== AWS fakes for the pricing tests: recorded payloads, fake credentials, in-memory clients ===========

AWS_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "aws"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PRICES = {("p5.48xlarge", "us-east-1"): 55.04, ("g5.xlarge", "us-east-1"): 1.006,
          ("p5.48xlarge", "us-west-2"): 55.04, ("g5.xlarge", "us-west-2"): 1.006}


def load_payload(name: str) -> dict:
    """A recorded AWS payload of tests/fixtures/aws/, parsed."""
    return json.loads((AWS_FIXTURES / name).read_text())


def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials, no profile/config files, no IMDS, cache under tmp_path."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2",
                "AWS_ENDPOINT_URL_PRICING", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_METADATA_SERVICE_TIMEOUT",
                "AWS_METADATA_SERVICE_NUM_ATTEMPTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))



@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """fake_aws_env for one test (modules use `pytestmark = pytest.mark.usefixtures("fake_aws")`)."""
    fake_aws_env(monkeypatch, tmp_path)


def price_list_item(instance_type: str, region: str, usd: float) -> str:
    """The recorded p5 PriceList entry re-targeted at another type/region (same AWS shape)."""
    product = json.loads(load_payload("pricing_get_products_p5.json")["PriceList"][0])
    product["product"]["attributes"].update(instanceType=instance_type, regionCode=region)
    for term in product["terms"]["OnDemand"].values():
        for dim in term["priceDimensions"].values():
            dim["pricePerUnit"]["USD"] = f"{usd:.10f}"
    return json.dumps(product)


class FakePricing:
    """A Pricing client answering GetProducts from a table; records every request (thread-safe)."""

    def __init__(self, prices: dict[tuple[str, str], float]):
        self.prices = prices
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def get_products(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            self.requests.append(request)
        fields = {f["Field"]: f["Value"] for f in request["Filters"]}
        usd = self.prices.get((fields["instanceType"], fields["regionCode"]))
        return {"FormatVersion": "aws_v1", "PriceList": [] if usd is None else
                [price_list_item(fields["instanceType"], fields["regionCode"], usd)]}


def describe_item(instance_type: str, name: str, count: int, mib: int) -> dict[str, Any]:
    """A DescribeInstanceTypes entry in the service model's shape, with the fields parse.py reads."""
    return {"InstanceType": instance_type, "VCpuInfo": {"DefaultVCpus": 8},
            "MemoryInfo": {"SizeInMiB": 32768}, "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
            "GpuInfo": {"Gpus": [{"Name": name, "Manufacturer": "NVIDIA", "Count": count,
                                  "MemoryInfo": {"SizeInMiB": mib}}], "TotalGpuMemoryInMiB": count * mib}}


class FakeClock:
    """A monotonic clock that only moves when a fake call says it took time, separately per thread, so
    regions fetched side by side each see only their own calls' time."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def now(self) -> float:
        return getattr(self._local, "now", 0.0)

    @now.setter
    def now(self, value: float) -> None:
        self._local.now = value

    def __call__(self) -> float:
        return self.now


class SlowEc2:
    """An EC2 client whose every page takes `seconds` on the fake clock (a slow, not failing, endpoint)."""

    def __init__(self, clock: FakeClock, seconds: float):
        self.clock, self.seconds, self.pages = clock, seconds, 0

    def get_paginator(self, operation: str) -> Any:
        key = {"describe_instance_types": "InstanceTypes",
               "describe_instance_type_offerings": "InstanceTypeOfferings"}[operation]
        ec2 = self

        class Paginator:
            def paginate(self, **_: Any) -> Any:
                for _page in range(5):
                    ec2.clock.now += ec2.seconds
                    ec2.pages += 1
                    item = describe_item(f"g6.{ec2.pages}xlarge", "L4", 1, 22888)
                    yield {key: [item] if key == "InstanceTypes" else []}

        return Paginator()


class Factory:
    """Injected client factory: a fake Pricing client, optional failures, and EC2 either from moto (inside
    mock_aws: the end-to-end test) or in-memory clients answering with the snapshot's types in the API's
    shapes (the source-selection tests, where moto's ~0.7 s per region would test nothing more)."""

    def __init__(self, failing_regions: tuple[str, ...] = (), ec2: str = "moto"):
        self.pricing = FakePricing(PRICES)
        self.failing = failing_regions
        self.recorded = (recorded_clients(("us-east-1", "us-west-2"), NOW, AWS_FIXTURES) if ec2 == "recorded"
                         else None)
        self.calls: list[tuple[str, str]] = []

    def __call__(self, service: str, region: str) -> Any:
        self.calls.append((service, region))
        if service == "pricing":
            return self.pricing
        if region in self.failing:
            return Unreachable(region)
        if self.recorded is not None:
            return self.recorded(service, region)
        return boto3.client(service, region_name=region)


class Unreachable:
    """An EC2 client whose endpoint cannot be reached (what a timeout or DNS failure raises)."""

    def __init__(self, region: str):
        self.url = f"https://ec2.{region}.amazonaws.com"

    def get_paginator(self, _: str) -> Any:
        raise EndpointConnectionError(endpoint_url=self.url)


def sources(catalog: Any) -> set[tuple[str, str]]:
    return {(o.price.region, o.price.price_source) for o in catalog.offers}


# Stack configs (keys as in a Pulumi stack file) shared by the infra tests.
REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = REPO_ROOT / "Pulumi.example.yaml"
EKS = {"model": "m", "clusterName": "inference", "subnetIds": ("subnet-a", "subnet-b")}
EC2 = {"model": "m", "target": "ec2", "subnetIds": ("subnet-a", "subnet-b")}


def load_edited_table(monkeypatch: Any, tmp_path: Path, module: Any, path_attr: str, loader: Any,
                      edit: Any) -> Any:
    """Call a cached table loader of sizing (model_table, gpu_table) on a copy of its JSON file changed by
    `edit(raw)`; the loader's cache is cleared before and after, so other tests see the real table."""
    path = getattr(module, path_attr)
    raw = json.loads(path.read_text())
    edit(raw)
    edited = tmp_path / path.name
    edited.write_text(json.dumps(raw))
    monkeypatch.setattr(module, path_attr, edited)
    loader.cache_clear()
    try:
        return loader()
    finally:
        loader.cache_clear()


def example_config(**overrides: str) -> dict[str, str]:
    """Pulumi.example.yaml's config (project-prefixed keys, string values) with `overrides` set."""
    from llm_advisor.infra.preview import PROJECT, load_stack_file

    config, _ = load_stack_file(EXAMPLE)
    config.update({f"{PROJECT}:{k}": v for k, v in overrides.items()})
    return config


# --- Pulumi program under mocks (infra tests) ------------------------------------------------------------
SENTINEL = "hf_SENTINELtoken0123456789abcdef"


# Mocked DescribeSubnets answers: subnet-a is in an AZ that does not offer p5.48xlarge in the test plan
# (two_node_plan.availability_zone_ids = use1-az4, use1-az6), subnet-b is.
SUBNET_AZ_IDS = {"subnet-a": "use1-az1", "subnet-b": "use1-az6", "subnet-c": "use1-az2"}


def deploy_run(plan, config: dict[str, Any], token: str | None = SENTINEL,
               log: list | None = None, subnet_az_ids: dict[str, str] | None = None) -> MockRun:
    cfg = StackConfig.model_validate(config)

    def program() -> None:
        from llm_advisor.infra.stack import deploy

        secret = pulumi.Output.secret(token) if token else None
        for key, value in deploy(plan, cfg, secret).items():
            pulumi.export(key, value)

    answers = SUBNET_AZ_IDS if subnet_az_ids is None else subnet_az_ids
    return run_program(program, {}, log=log, subnet_az_ids=answers)


def plain(value: Any) -> Any:
    """Wire values are doubles: 2.0 -> 2 for comparisons."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


@pytest.fixture(autouse=True)
def no_ambient_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands resolve their region from AWS_REGION, AWS_DEFAULT_REGION and the profile (cli/region.py):
    tests start from none of the developer's, so an unflagged plan prices us-east-1 everywhere."""
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/llm-advisor-tests/aws-config")


def assert_matches_golden(content: str, golden: Path) -> None:
    """Compare rendered text with its golden file; UPDATE_GOLDEN=1 rewrites the file (review the diff)."""
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(content)
    assert golden.exists(), f"missing golden file {golden}; run with UPDATE_GOLDEN=1"
    assert content == golden.read_text()
