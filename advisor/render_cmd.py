"""`python -m advisor render`: plan a workload and write its vLLM config, Kubernetes manifests and
EC2 cloud-init to a directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from planner.models import Plan


def register(subparsers: argparse._SubParsersAction) -> None:
    from advisor.plan_cmd import add_workload_arguments

    parser = subparsers.add_parser(
        "render", help="write vllm-config.yaml, kubernetes.yaml and cloud-init.yaml for the planned layout",
        description="Plan the workload (same options as `plan`) and render its launch configuration.",
    )
    add_workload_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, help="directory to write the files into")
    parser.add_argument("--namespace", default="default", help="Kubernetes namespace of the manifests")
    parser.add_argument(
        "--hf-token-secret-id", default=None,
        help="AWS Secrets Manager id of the Hugging Face token (omit for public models)",
    )
    parser.set_defaults(handler=handle)


def write_bundle(
    plan: Plan, out: Path, namespace: str = "default", hf_token_secret_id: str | None = None
) -> list[Path]:
    """Render the plan and write each file under `out`; returns the paths written."""
    from templates.models import RenderOptions
    from templates.render import default_options, render_bundle

    name = default_options(plan).name
    options = RenderOptions(name=name, namespace=namespace, hf_token_secret_id=hf_token_secret_id)
    bundle = render_bundle(plan, options)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for rendered in bundle.files:
        path = out / rendered.name
        path.write_text(rendered.content)
        written.append(path)
    (out / "APPLY.txt").write_text(bundle.kubectl_apply_hint + "\n")
    return [*written, out / "APPLY.txt"]


def handle(args: argparse.Namespace) -> int:
    from advisor.plan_cmd import plan_from_args

    plan = plan_from_args(args)
    for path in write_bundle(plan, args.out, args.namespace, args.hf_token_secret_id):
        print(f"wrote {path}")
    print(f"\n{plan.replicas} replica(s) of {plan.model} on {plan.instance_count} x {plan.instance_type} "
          f"({plan.region}, {plan.capacity_type}); apply with:")
    print((args.out / "APPLY.txt").read_text(), end="")
    return 0
