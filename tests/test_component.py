"""LlmServing, the typed component, and the component package: its inferred schema (every input and output
typed and described, the args drawn from the option models), a Pulumi program of another repo that
feeds it Outputs of its own resources, the errors of bad args (before any resource), and the plugin entry
point that `pulumi package add` runs."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
import yaml

from llm_advisor.component import (
    INPUT_OPTIONS,
    LlmServing,
    LlmServingArgsError,
    args_block_in,
    generated_args_block,
)
from llm_advisor.infra.config import StackConfig, config_keys
from llm_advisor.infra.preview import RecordedResource, run_program
from llm_advisor.infra.stack import Target, deploy
from llm_advisor.planner.options import unwrap_optional
from llm_advisor.provider import PACKAGE, schema
from tests.conftest import EC2, EKS, two_node_plan

ROOT = Path(__file__).resolve().parent.parent
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
RESOURCE = f"{PACKAGE}:index:LlmServing"
# A small workload the real planner sizes quickly from the bundled price snapshot (offline).
WORKLOAD = {"model": "Qwen/Qwen3-8B", "concurrency": 4, "max_model_len": 4096, "capacity": "on-demand",
            "pricing": "snapshot"}
TARGET_INPUTS = {"clusterName", "subnetIds", "nodeRoleArn", "tags", "hfToken"}


def _resource(package_schema: dict[str, Any]) -> dict[str, Any]:
    return package_schema["resources"][RESOURCE]


def undescribed(package_schema: dict[str, Any]) -> list[str]:
    """Every input or output property (and list item / map value) of every resource without a type or a
    description."""
    problems = []
    for token, resource in package_schema["resources"].items():
        for kind in ("inputProperties", "properties"):
            for name, prop in resource.get(kind, {}).items():
                if not (prop.get("description") or "").strip():
                    problems.append(f"{token} {kind}.{name}: no description")
                for part in (prop, prop.get("items"), prop.get("additionalProperties")):
                    if part is not None and not (part.get("type") or part.get("$ref")):
                        problems.append(f"{token} {kind}.{name}: no type")
    return problems


# --- the schema the SDK infers -----------------------------------------------------------------------------

def test_every_input_and_output_has_a_type_and_a_description() -> None:
    package_schema = schema()
    assert package_schema["name"] == PACKAGE and list(package_schema["resources"]) == [RESOURCE]
    assert undescribed(package_schema) == []
    resource = _resource(package_schema)
    assert resource["isComponent"] and resource["description"].startswith("vLLM serving on AWS GPUs")
    assert set(resource["requiredInputs"]) == {"model"}  # subnetIds: eks/ec2 only (karpenter discovers)
    assert {"plan", "instanceType", "usdPerHour", "priceSource", "priceDate", "nodeGroupNames",
            "autoScalingGroupName", "vllmConfig", "kubernetesManifests", "endpoint",
            } <= set(resource["properties"])


def test_the_check_catches_an_undescribed_arg_and_an_untyped_output(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # A component module of its own (the analyzer reads attribute docstrings from the source file).
    (tmp_path / "undescribed_component.py").write_text(textwrap.dedent('''
        from typing import Any, TypedDict

        import pulumi


        class HalfArgs(TypedDict, total=False):
            size: pulumi.Input[int]
            """Described."""
            colour: pulumi.Input[str]


        class Half(pulumi.ComponentResource):
            """A component whose colour arg has no docstring."""

            shape: pulumi.Output[Any]
            """An output of no type."""

            def __init__(self, name: str, args: HalfArgs, opts: pulumi.ResourceOptions | None = None):
                super().__init__("half:index:Half", name, None, opts)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("undescribed_component")
    from pulumi.provider.experimental.component import ComponentProvider

    problems = undescribed(json.loads(ComponentProvider([module.Half], "half").schema or "{}"))
    assert any("inputProperties.colour: no description" in p for p in problems)
    assert not any("size" in p for p in problems)
    # pulumi.json#/Any is a $ref: typed; a property of neither type nor $ref would be listed
    assert not any("shape" in p for p in problems)


def test_the_args_are_the_stack_keys_with_their_descriptions_and_types() -> None:
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    inputs = _resource(schema())["inputProperties"]
    assert set(inputs) == set(config_keys()) | {"tags", "hfToken"}
    decimals = {f.alias for f in StackConfig.model_fields.values() if unwrap_optional(f.annotation) is float}
    # optional integers are string keys in Pulumi.yaml ("" = unset; a typed default must match its type)
    integers = {f.alias for f in StackConfig.model_fields.values() if unwrap_optional(f.annotation) is int}
    # hfToken: the stack declares a secret config key; the component takes a secret Input (described as such)
    for key, entry in ((k, e) for k, e in declared.items() if k != "hfToken"):
        prop = inputs[key]
        assert prop["description"].startswith(entry["description"]), key
        # Pulumi config has no decimal type (Pulumi.yaml declares decimals as strings); a schema has number.
        assert prop["type"] == ("number" if key in decimals else "integer" if key in integers
                                else entry["type"]), key
        # what is planned is a plain value; where the nodes go may be an Output
        assert prop.get("plain") is (None if key in TARGET_INPUTS else True), key
    assert {k for k, p in inputs.items() if not p.get("plain")} == TARGET_INPUTS


def test_the_args_block_is_generated_from_the_option_models() -> None:
    assert args_block_in(ROOT / "llm_advisor" / "component.py") == generated_args_block(), (
        "regenerate with `python -m llm_advisor.component`")


def test_the_generated_block_follows_a_changed_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_advisor.planner.models import Workload

    info = Workload.model_fields["max_model_len"]
    monkeypatch.setitem(Workload.model_fields, "max_model_len",
                        type(info).merge_field_infos(info, description="changed"))
    block = generated_args_block()
    assert block != args_block_in(ROOT / "llm_advisor" / "component.py")
    assert '    """changed. Default: 8192."""' in block
    assert set(INPUT_OPTIONS) <= set(StackConfig.model_fields)


# --- a Pulumi program of another repo ------------------------------------------------------------------

PROGRAM = '''
import pulumi

import infra  # this repo's own infra package
from llm_advisor import LlmServing, LlmServingArgs

network = infra.Network("net")
serving = LlmServing("chat", LlmServingArgs(
    model="Qwen/Qwen3-8B", concurrency=4, max_model_len=4096, capacity="on-demand", pricing="snapshot",
    cluster_name=network.cluster_name, subnet_ids=[s.id for s in network.subnets],
    node_role_arn=network.node_role.arn, tags={"team": "ml", "vpc": network.vpc.id},
))
pulumi.export("node_group_names", serving.node_group_names)
pulumi.export("instance_type", serving.instance_type)
pulumi.export("usd_per_hour", serving.usd_per_hour)
'''

INFRA_PACKAGE = '''
"""The infra repo's own `infra` package: its VPC, subnets and node role."""
import pulumi
import pulumi_aws as aws


class Network:
    def __init__(self, name: str):
        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block="10.0.0.0/16")
        self.subnets = [
            aws.ec2.Subnet(f"{name}-private-{i}", vpc_id=self.vpc.id, cidr_block=f"10.0.{16 * i}.0/20")
            for i in range(2)
        ]
        self.node_role = aws.iam.Role(f"{name}-gpu-nodes", assume_role_policy="{}")
        self.cluster_name = pulumi.Output.from_input("inference")
'''

DRIVER = '''
import json, runpy, sys
from llm_advisor.infra.preview import run_program
run = run_program(lambda: runpy.run_path("__main__.py") and None, {})
import infra, templates
print(json.dumps({
    "infra": infra.__file__, "templates": templates.__file__, "outputs": run.outputs,
    "resources": [{"type": r.type, "name": r.name, "inputs": r.inputs} for r in run.resources],
}, default=str))
'''


def test_a_program_with_its_own_infra_and_templates_gets_node_groups_from_its_outputs(tmp_path: Path) -> None:
    program = tmp_path / "program"
    (program / "infra").mkdir(parents=True)
    (program / "infra" / "__init__.py").write_text(INFRA_PACKAGE)
    (program / "templates").mkdir()  # the repo's own templates folder (no __init__.py)
    (program / "templates" / "app.yaml.j2").write_text("kind: ConfigMap\n")
    (program / "__main__.py").write_text(PROGRAM)
    # A fresh interpreter with the program's folder first on sys.path, the advisor after it.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", DRIVER], cwd=program, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["infra"] == str(program / "infra" / "__init__.py")
    assert result["templates"] == str(ROOT / "templates" / "__init__.py")
    resources = result["resources"]
    (role,) = [r for r in resources if r["type"] == "aws:iam/role:Role"]  # the program's: none created
    (group,) = [r for r in resources if r["type"] == NODE_GROUP]
    assert group["inputs"]["subnetIds"] == ["net-private-0-id", "net-private-1-id"]
    assert group["inputs"]["nodeRoleArn"] == f"arn:aws:mock:123456789012:iam/role/{role['name']}"
    assert group["inputs"]["clusterName"] == "inference"
    # the caller's tags (one an Output of its VPC) on every taggable resource, beside the resource's own;
    # no explicit provider: the default one keeps the stack's aws:* settings
    assert not [r for r in resources if r["type"] == "pulumi:providers:aws"]
    tags = group["inputs"]["tags"]
    tags = json.loads(tags) if isinstance(tags, str) else tags
    assert {"team": "ml", "vpc": "net-vpc-id"}.items() <= tags.items()
    assert result["outputs"]["node_group_names"] == [group["name"]]
    assert result["outputs"]["instance_type"] and result["outputs"]["usd_per_hour"] > 0


# --- under mocks, in this process -------------------------------------------------------------------------

def _run(make: Any, log: list[RecordedResource] | None = None) -> Any:
    return run_program(lambda: make() and None, {}, log=log)


def test_outputs_are_the_plans_and_the_stack_outputs_keep_their_names() -> None:
    def program() -> None:
        serving = LlmServing("chat", {**WORKLOAD, "cluster_name": "inference", "subnet_ids": ["subnet-a"]})
        for name in ("plan", "instance_type", "region", "usd_per_hour", "price_source", "price_date",
                     "node_group_names", "auto_scaling_group_name", "kubernetes_manifests", "endpoint"):
            pulumi.export(name, getattr(serving, name))
        pulumi.export("stack_keys", sorted(serving.stack_outputs()))

    run = _run(program)
    out = run.outputs
    plan = out["plan"]
    assert out["instance_type"] == plan["placement"]["instance_type"] and out["region"] == "us-east-1"
    assert out["usd_per_hour"] == plan["cost"]["usd_per_hour"] and out["price_source"] == "snapshot"
    assert datetime.fromisoformat(out["price_date"]) == datetime.fromisoformat(plan["cost"]["prices_as_of"])
    assert out["node_group_names"] == [g.name for g in run.of_type(NODE_GROUP)]
    assert out["auto_scaling_group_name"] is None
    assert out["endpoint"] == "http://vllm-qwen3-8b.default.svc:8000/v1"  # deployWorkload defaults on
    assert "kind: Deployment" in out["kubernetes_manifests"]
    assert out["stack_keys"] == sorted([
        "plan", "instance_type", "price_source", "prices_as_of", "usd_per_hour", "vllm_config",
        "kubectl_apply_hint", "kubernetes_yaml", "hf_token_secret_yaml", "node_group_names",
        "endpoint", "endpoint_access", "readiness_budget_s"])
    (component,) = run.of_type(RESOURCE)
    children = {r.type for r in run.resources if r.parent == component.urn}
    assert "llm-advisor:eks:GpuNodeGroups" in children and "pulumi:providers:aws" not in children


def test_known_outputs_of_workload_args_are_resolved() -> None:
    def program() -> None:
        serving = LlmServing("chat", {**WORKLOAD, "model": pulumi.Output.from_input("Qwen/Qwen3-8B"),
                                      "concurrency": pulumi.Output.secret(4), "target": "ec2",
                                      "subnet_ids": pulumi.Output.from_input(["subnet-a", "subnet-b"])})
        pulumi.export("asg", serving.auto_scaling_group_name)

    run = _run(program)
    (asg,) = run.of_type("aws:autoscaling/group:Group")
    assert run.outputs["asg"] == asg.name and asg.inputs["vpcZoneIdentifiers"] == ["subnet-a", "subnet-b"]
    # the EC2 security group's VPC is looked up from the first subnet, known only as an Output
    (subnet_call,) = [c for c in run.calls if c.token == "aws:ec2/getSubnet:getSubnet"]
    assert subnet_call.args["id"] == "subnet-a"


def _fails_before_the_component(args: dict[str, Any], match: str, before: Any = None) -> str:
    """Run LlmServing with `args` (and whatever `before` declares first); return its one error's text."""
    log: list[RecordedResource] = []

    def program() -> None:
        extra = before() if before else {}
        LlmServing("chat", {**args, **extra})

    with pytest.raises(LlmServingArgsError, match=match) as caught:
        _run(program, log)
    assert not [r for r in log if r.type == RESOURCE or r.parent.endswith(f"{RESOURCE}::chat")]
    assert not [r for r in log if r.type in (NODE_GROUP, "pulumi:providers:aws")]
    return str(caught.value)


def test_an_unknown_output_for_a_workload_arg_is_refused_by_name() -> None:
    def model_of_a_new_resource() -> dict[str, Any]:
        # an attribute the mocked engine does not know during preview, as for a resource not created yet
        subnet = aws.ec2.Subnet("s", vpc_id="vpc-1", cidr_block="10.0.0.0/20")
        return {"model": subnet.availability_zone_id}

    text = _fails_before_the_component({**WORKLOAD, "cluster_name": "c", "subnet_ids": ["subnet-a"]},
                                       "'chat': model: must be known", model_of_a_new_resource)
    assert "plain value" in text and "pulumi preview" in text


def test_target_eks_without_a_cluster_is_named() -> None:
    text = _fails_before_the_component({**WORKLOAD, "subnet_ids": ["subnet-a"]}, "clusterName")
    assert "required when target is eks" in text and text.count("LlmServing") == 1


@pytest.mark.parametrize(("change", "match"), [
    ({"concurrency": "many"}, r"concurrency: Input should be a valid integer"),
    ({"max_model_len": 4}, r"maxModelLen \(max_model_len\): Input should be greater than or equal to"),
    ({"subnet_ids": "subnet-a"}, r"subnetIds \(subnet_ids\): a list of subnet ids"),
    ({"subnet_ids": []}, r"subnetIds \(subnet_ids\): required when target is eks"),
    ({"cluster_name": 7}, r"clusterName \(cluster_name\): a string or an Output of one, got int"),
    ({"tags": ["team"]}, r"tags: a mapping of tag names to values"),
    ({"capacity": "cheap"}, r"capacity: Input should be 'auto', 'on-demand', 'spot', 'mixed' or "
     r"'capacity-block'"),
    ({"max_model_length": 4096}, r"max_model_length: not an arg of LlmServing"),
    ({"model": None}, r"model: required"),
])
def test_a_wrong_arg_is_one_error_naming_it_before_any_resource(change: dict[str, Any], match: str) -> None:
    args = {**WORKLOAD, "cluster_name": "inference", "subnet_ids": ["subnet-a"], **change}
    text = _fails_before_the_component(args, match)
    assert text.startswith("LlmServing 'chat': ") and "\n" not in text


def test_args_must_be_a_mapping() -> None:
    with pytest.raises(LlmServingArgsError, match="args must be an LlmServingArgs"):
        _run(lambda: LlmServing("chat", ["model"]))  # type: ignore[arg-type]


def test_an_efa_plan_picks_its_subnet_from_output_ids_in_an_apply() -> None:
    # subnet-a (use1-az1) does not offer p5.48xlarge in this plan; subnet-b (use1-az6) does.
    def program() -> None:
        ids = pulumi.Output.from_input(["subnet-a", "subnet-b"])
        deploy(two_node_plan(), StackConfig.model_validate(EKS), None, target=Target(subnet_ids=ids))

    run = run_program(program, {}, subnet_az_ids={"subnet-a": "use1-az1", "subnet-b": "use1-az6"})
    (group,) = run.of_type(NODE_GROUP)
    assert group.inputs["subnetIds"] == ["subnet-b"]


def test_output_subnet_ids_reach_the_ec2_auto_scaling_group() -> None:
    from tests.conftest import spot_plan

    def program() -> None:
        ids = pulumi.Output.from_input(["subnet-c", "subnet-d"])
        deploy(spot_plan(), StackConfig.model_validate(EC2), None, target=Target(subnet_ids=ids))

    run = run_program(program, {})
    (asg,) = run.of_type("aws:autoscaling/group:Group")
    assert asg.inputs["vpcZoneIdentifiers"] == ["subnet-c", "subnet-d"]


def _aliases(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """type::name -> the alias specs it registers with (the mocked engine records no aliases)."""
    from llm_advisor.infra import preview

    seen: dict[str, list[str]] = {}
    register = preview._RecordingMonitor.RegisterResource

    def recording(self: Any, request: Any) -> Any:
        seen[f"{request.type}::{request.name}"] = [
            f"{a.spec.name or '(same name)'} noParent={a.spec.noParent}" for a in request.aliases]
        return register(self, request)

    monkeypatch.setattr(preview._RecordingMonitor, "RegisterResource", recording)
    return seen


def test_the_stack_program_adopts_its_root_resources_and_the_library_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from llm_advisor.program import run_main_program
    from tests.conftest import example_config

    seen = _aliases(monkeypatch)
    run = run_main_program(example_config())
    name = run.of_type("llm-advisor:eks:GpuNodeGroups")[0].name
    # its node groups inherit the alias (engine)
    assert seen[f"llm-advisor:eks:GpuNodeGroups::{name}"] == ["(same name) noParent=True"]
    seen.clear()
    _run(lambda: LlmServing("chat", {**WORKLOAD, "cluster_name": "inference", "subnet_ids": ["subnet-a"]}))
    assert seen and not any(seen.values())


def test_the_providers_construct_maps_schema_names_to_the_args() -> None:
    """What a TypeScript/Go/... program's `new LlmServing(...)` reaches: the SDK's provider constructs it."""
    from pulumi.provider.experimental.component import ComponentProvider

    from llm_advisor.provider import components

    state: dict[str, Any] = {}

    def program() -> None:
        subnet = aws.ec2.Subnet("a", vpc_id="vpc-1", cidr_block="10.0.0.0/20")
        provider = ComponentProvider(components(), PACKAGE)
        # schema names, integers as the wire's doubles
        inputs = {"model": "Qwen/Qwen3-8B", "concurrency": 4.0, "maxModelLen": 4096.0, "pricing": "snapshot",
                  "capacity": "on-demand", "clusterName": "inference", "subnetIds": [subnet.id]}
        state.update(provider.construct("chat", RESOURCE, inputs, None).state)

    run = run_program(program, {})
    assert {"instanceType", "nodeGroupNames", "plan", "usdPerHour"} <= set(state)
    (group,) = run.of_type(NODE_GROUP)
    assert group.inputs["subnetIds"] == ["a-id"]


# --- the package: import cost and the plugin entry point --------------------------------------------------

def test_importing_llm_advisor_does_not_import_pulumi() -> None:
    probe = ("import sys, llm_advisor; assert 'pulumi' not in sys.modules; "
             "llm_advisor.LlmServing; assert 'pulumi' in sys.modules")
    subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True, timeout=120)


def test_the_checkout_runs_as_the_component_plugin() -> None:
    """`pulumi package add <checkout>` runs `python <checkout> <engine address>` (PulumiPlugin.yaml, runtime
    python): the root __main__.py must host the component and answer GetSchema on the port it prints."""
    import grpc
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    manifest = yaml.safe_load((ROOT / "PulumiPlugin.yaml").read_text())
    assert manifest == {"runtime": "python"}  # pip into ./venv, the only toolchain Python plugins support
    plugin = subprocess.Popen([sys.executable, str(ROOT), "127.0.0.1:1"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        assert plugin.stdout is not None
        port = int(plugin.stdout.readline().decode().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            answer = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60)
        served = json.loads(answer.schema)
        assert list(served["resources"]) == [RESOURCE] and undescribed(served) == []
    finally:
        plugin.terminate()
        plugin.wait(timeout=30)
