"""The README's component example is real code: it runs under Pulumi's mocks and gets node groups from the
Outputs of a stack reference (the caller's network stack), with the caller's tags on them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from llm_advisor.infra.preview import AwsMocks, run_program

ROOT = Path(__file__).resolve().parent.parent
NETWORK = {"clusterName": "inference", "privateSubnetIds": ["subnet-a", "subnet-b"],
           "gpuNodeRoleArn": "arn:aws:iam::123456789012:role/gpu-nodes"}


def readme_component_example() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- component-example[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert match, "README.md lost its component example"
    return match.group(1)


class NetworkStack(AwsMocks):
    """The mocked engine, answering the example's StackReference with a network stack's outputs."""

    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {"name": args.name, "outputs": NETWORK}
        return super().new_resource(args)


def test_the_readme_component_example_runs_and_gets_node_groups() -> None:
    code = compile(readme_component_example(), "README.md", "exec")
    run = run_program(lambda: exec(code, {"__name__": "__pulumi_main__"}),  # noqa: S102
                      {"llm-advisor:hfToken": "hf_example"}, ("llm-advisor:hfToken",), mocks=NetworkStack())
    groups = run.of_type("aws:eks/nodeGroup:NodeGroup")
    assert groups
    for group in groups:
        assert group.inputs["clusterName"] == "inference"
        assert group.inputs["subnetIds"] == NETWORK["privateSubnetIds"]
        assert group.inputs["nodeRoleArn"] == NETWORK["gpuNodeRoleArn"]
        assert group.inputs["tags"]["team"] == "ml-platform"
    assert run.outputs["endpoint"].startswith("http://") and run.outputs["usd_per_hour"] > 0
