"""Runs the Pulumi program under Pulumi's mock runtime and records the resource tree it declares.

This is what `python -m advisor preview` and the tests use: `pulumi.runtime.set_mocks` (Pulumi's
unit-testing path) replaces the engine, so no Pulumi CLI, state backend or AWS account is needed.
The mocks echo inputs back as outputs and answer the few data-source calls the program makes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from llm_advisor import planner
from llm_advisor.infra.config import (
    HF_TOKEN_KEY,
    PLAINTEXT_HF_TOKEN_WARNING,
    PROJECT,
    check_known_keys,
)
from llm_advisor.planner.models import Plan
from sizing.vocabulary import Frozen

MOCK_ACCOUNT = "123456789012"
MOCK_AMI = "ami-0mockdlami0000000"
MOCK_KUBERNETES_VERSION = "1.33"  # the mocked cluster's version (eks getCluster)
MOCK_EKS_RELEASE = "1.33.0-00000000"  # the mocked SSM answer for an EKS AMI release_version parameter
MOCK_VPC = "vpc-0mock000000000000"
MOCK_CLUSTER_ENDPOINT = "https://MOCK0CLUSTER0ENDPOINT.gr7.us-east-1.eks.amazonaws.com"
MOCK_CLUSTER_CA = "TU9DSyBDQQ=="  # base64 of "MOCK CA"
# AZ IDs are `<region code>-az<N>`: us-east-1 -> use1-az4, ap-northeast-1 -> apne1-az1 (EC2 user guide,
# "AZ IDs"); the region code is the area, the initials of the direction words and the number.
_DIRECTION_CODES = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
                    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}
MOCK_AZS_PER_REGION = 3
SECRET_PLACEHOLDER = "[secret]"
# The marker Pulumi's wire format puts on a secret value (pulumi/runtime/rpc.py _special_secret_sig).
_SECRET_SIG = rpc._special_sig_key
_SECRET_VALUE = rpc._special_secret_sig


class RecordedResource(Frozen):
    """One registered resource: where it sits in the tree and the inputs the program gave it."""

    urn: str
    parent: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    # What the engine is told about order and waiting: URNs this resource depends on (depends_on and the
    # resources its inputs came from), its provider reference, and its customTimeouts (create/update/delete).
    dependencies: tuple[str, ...] = ()
    provider: str = ""
    custom_timeouts: dict[str, str] = {}
    ignore_changes: tuple[str, ...] = ()  # input properties a later run leaves as they are in state


class RecordedCall(Frozen):
    """One data-source invoke: its token, its arguments and the provider reference it went through."""

    token: str
    args: dict[str, Any]
    provider: str


class MockRun(Frozen):
    """Everything a mocked run declared: resources in order and resolved stack outputs."""

    resources: tuple[RecordedResource, ...]
    outputs: dict[str, Any]
    secret_outputs: tuple[str, ...]
    calls: tuple[RecordedCall, ...] = ()
    assumed_subnet_az_ids: dict[str, str] = {}
    warnings: tuple[str, ...] = ()

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]


def is_secret_value(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SECRET_SIG) == _SECRET_VALUE


def region_az_ids(region: str) -> tuple[str, ...]:
    """Plausible AZ IDs of a region (us-west-2 -> usw2-az1 ...), for subnets the mock must place."""
    parts = region.split("-")
    code = parts[0] + "".join(_DIRECTION_CODES.get(p, p[:1]) for p in parts[1:-1]) + parts[-1]
    return tuple(f"{code}-az{n}" for n in range(1, MOCK_AZS_PER_REGION + 1))


class AwsMocks(pulumi.runtime.Mocks):
    """Echo inputs as outputs, add the computed attributes the program reads (arn, name, version).

    `subnet_az_ids` answers DescribeSubnets (aws.ec2.get_subnet): subnet id -> AZ ID. A subnet not in it
    cannot be looked up offline: it is placed in one of the AZs that offer the observed plan's instance
    type in the invoke's region (placement.availability_zone_ids), else in one of the region's AZ IDs,
    chosen by a stable hash of its id, and recorded as assumed (the preview output says so)."""

    def __init__(self, subnet_az_ids: Mapping[str, str] | None = None):
        super().__init__()
        self._subnet_az_ids = dict(subnet_az_ids or {})
        self._offering_az_ids: dict[str, tuple[str, ...]] = {}
        self.assumed_subnet_az_ids: dict[str, str] = {}
        self.calls: list[RecordedCall] = []

    def observe_plan(self, plan: Plan) -> None:
        """Remember the AZs that offer the plan's instance type in its region (for assumed subnets)."""
        if plan.placement.availability_zone_ids:
            self._offering_az_ids[plan.placement.region] = tuple(plan.placement.availability_zone_ids)

    def subnet_az_id(self, subnet_id: str | None, region: str | None = None) -> str:
        if subnet_id in self._subnet_az_ids:
            return self._subnet_az_ids[subnet_id]
        region = region or "us-east-1"
        candidates = self._offering_az_ids.get(region) or region_az_ids(region)
        az_id = candidates[zlib.crc32((subnet_id or "").encode()) % len(candidates)]
        self.assumed_subnet_az_ids[subnet_id or ""] = az_id
        return az_id

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        name = state.get("namePrefix", args.name + "-") + "mock" if "namePrefix" in state else args.name
        state.setdefault("name", name)
        state["arn"] = f"arn:aws:mock:{MOCK_ACCOUNT}:{args.typ.split(':')[1]}/{name}"
        if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            state["latestVersion"] = 1
        if args.typ == "aws:eks/nodeGroup:NodeGroup":
            state["nodeGroupName"] = args.name
        return f"{args.name}-id", state

    def call(self, args: MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        self.calls.append(RecordedCall(token=args.token, args=dict(args.args), provider=args.provider or ""))
        if args.token == "aws:ssm/getParameter:getParameter":
            name = args.args["name"]
            value = MOCK_EKS_RELEASE if name.endswith("/release_version") else MOCK_AMI
            return {"name": name, "type": "String", "value": value, "insecureValue": value}
        if args.token == "aws:eks/getCluster:getCluster":
            vpc = {"vpcId": MOCK_VPC, "clusterSecurityGroupId": "sg-0mockcluster0000000"}
            return {"name": args.args["name"], "version": MOCK_KUBERNETES_VERSION, "vpcConfig": vpc,
                    "endpoint": MOCK_CLUSTER_ENDPOINT,
                    "certificateAuthorities": [{"data": MOCK_CLUSTER_CA}]}
        if args.token == "aws:ec2/getSubnet:getSubnet":
            subnet = args.args.get("id")
            az_id = self.subnet_az_id(subnet, args.args.get("region"))
            return {"id": subnet, "vpcId": MOCK_VPC, "availabilityZoneId": az_id}
        if args.token == "aws:ec2/getVpc:getVpc":
            return {"id": args.args.get("id"), "cidrBlock": "10.0.0.0/16"}
        return {}


class _RecordingMonitor(MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks, log: list[RecordedResource]):
        super().__init__(mocks)
        self._log = log

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self._log.append(
                RecordedResource(
                    urn=response.urn, parent=request.parent, type=request.type, name=request.name,
                    custom=bool(request.custom), inputs=rpc.deserialize_properties(request.object),
                    dependencies=tuple(request.dependencies), provider=request.provider,
                    custom_timeouts=_timeouts(request), ignore_changes=tuple(request.ignoreChanges),
                )
            )
        return response


def _timeouts(request: Any) -> dict[str, str]:
    if not request.HasField("customTimeouts"):
        return {}
    timeouts = request.customTimeouts
    return {k: v for k, v in (("create", timeouts.create), ("update", timeouts.update),
                              ("delete", timeouts.delete)) if v}


class _EngineLog(logging.Handler):
    """Collects what the program logs with pulumi.log.warn (the mock engine hands it to a logger)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.warnings: list[str] = []
        self.logger = logging.getLogger(f"{PROJECT}.preview.{id(self)}")
        self.logger.propagate = False
        self.logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings.append(record.getMessage())


def _resolve(value: Any) -> tuple[Any, bool]:
    output = pulumi.Output.from_input(value)
    return _sync_await(output.future()), bool(_sync_await(output.is_secret()))


def run_program(
    program: Callable[[], None],
    config: Mapping[str, str],
    secret_keys: tuple[str, ...] = (),
    stack: str = "preview",
    log: list[RecordedResource] | None = None,
    subnet_az_ids: Mapping[str, str] | None = None,
    mocks: AwsMocks | None = None,
) -> MockRun:
    """Run `program` (which declares resources and calls pulumi.export) under mocks; record it all.

    Pass `log` to see what was registered even when the program raises."""
    log = [] if log is None else log
    mocks = mocks or AwsMocks(subnet_az_ids)
    set_root_resource(None)  # a fresh root Stack per run, so exports do not leak between runs
    pulumi.runtime.set_all_config(dict(config), list(secret_keys))
    monitor = _RecordingMonitor(mocks, log)
    engine_log = _EngineLog()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor,
                             logger=engine_log.logger)
    _sync_await(run_pulumi_func(program))
    root = pulumi.runtime.get_root_resource()
    exports = dict(getattr(root, "outputs", {}) or {})
    resolved = {key: _resolve(value) for key, value in exports.items()}
    return MockRun(
        resources=tuple(log),
        outputs={key: value for key, (value, _) in resolved.items()},
        secret_outputs=tuple(key for key, (_, secret) in resolved.items() if secret),
        calls=tuple(mocks.calls),
        assumed_subnet_az_ids=dict(mocks.assumed_subnet_az_ids),
        warnings=tuple(engine_log.warnings),
    )


class StackFileError(ValueError):
    """A stack config file that is missing, unreadable or not a Pulumi.<stack>.yaml."""


def _read_stack_document(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise StackFileError(
            f"--config {path}: no such file; pass a stack file such as Pulumi.example.yaml"
        ) from None
    except OSError as exc:
        raise StackFileError(f"--config {path}: cannot read it ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise StackFileError(f"--config {path}: not valid YAML{line} ({problem}); compare with "
                             "Pulumi.example.yaml") from exc
    if document is None:
        return {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise StackFileError(f"--config {path}: expected a mapping with a `config:` mapping of "
                             "`llm-advisor:<key>: value` entries, like Pulumi.example.yaml")
    return document


def load_stack_file(path: Path) -> tuple[dict[str, str], tuple[str, ...]]:
    """Pulumi.<stack>.yaml -> (config map keyed `project:key`, secret keys). Encrypted `secure:` values
    become a placeholder (they cannot be decrypted without the stack's secrets provider)."""
    document = _read_stack_document(path)
    raw = document.get("config") or {}
    config: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in raw.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and "secure" in value:
            config[full], secrets = SECRET_PLACEHOLDER, [*secrets, full]
        elif isinstance(value, (list, dict)):
            config[full] = json.dumps(value)
        elif isinstance(value, bool):
            config[full] = str(value).lower()
        else:
            config[full] = str(value)
    check_known_keys([k.split(":", 1)[1] for k in config if k.startswith(f"{PROJECT}:")])
    return config, tuple(secrets)


@contextlib.contextmanager
def observing_plans(mocks: AwsMocks) -> Iterator[None]:
    """Show the mocks each Plan the program makes (its offering AZs place the subnets the mock cannot
    look up), by wrapping planner.make_plan for the duration of the run."""
    original = planner.make_plan

    def make_plan(*args: Any, **kwargs: Any) -> Plan:
        plan = original(*args, **kwargs)
        mocks.observe_plan(plan)
        return plan

    planner.make_plan = make_plan
    try:
        yield
    finally:
        planner.make_plan = original


def plaintext_secret_warnings(config: Mapping[str, str], secret_keys: tuple[str, ...]) -> list[str]:
    """A warning when hfToken is in the stack file as plain text instead of a `secure:` value."""
    key = f"{PROJECT}:{HF_TOKEN_KEY}"
    return [PLAINTEXT_HF_TOKEN_WARNING] if key in config and key not in secret_keys else []


def has_hf_token(config: Mapping[str, str]) -> bool:
    return f"{PROJECT}:{HF_TOKEN_KEY}" in config
