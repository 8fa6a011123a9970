"""`python -m advisor render`: plan a workload and write its vLLM config, Kubernetes manifests and
EC2 cloud-init to a directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from templates.output import OutputDirectoryError, write_output_dir

if TYPE_CHECKING:
    from llm_advisor.planner.models import Plan

__all__ = ["OutputDirectoryError", "write_bundle"]


def register(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    from llm_advisor.cli.options_cli import add_options
    from llm_advisor.cli.plan_cmd import add_workload_arguments
    from llm_advisor.infra.config import DeployOptions

    parser = subparsers.add_parser(
        "render", help=help_text,
        description="Plan the workload (same options as `plan`) and render its launch configuration.",
    )
    add_workload_arguments(parser)  # --served-model included: the planner decides what vLLM loads
    parser.add_argument("--out", required=True,
                        help="directory to write the files into: a new or empty one, or one an earlier "
                             "render wrote (replaced whole, atomically); a manifest .llm-advisor-render.json "
                             "lists what was written")
    parser.add_argument("--force", action="store_true",
                        help="write into a directory holding other files too (rendered files are replaced, "
                             "files an earlier render wrote and this one does not are removed, others kept)")
    add_options(parser, DeployOptions, only=("namespace", "vllm_image", "efa_image"), fill_defaults=True)
    parser.add_argument(
        "--hf-token-secret-id", default=None,
        help="AWS Secrets Manager id of the Hugging Face token (omit for public models)",
    )
    parser.set_defaults(handler=handle)


def write_bundle(
    plan: Plan, out: Path | str, namespace: str = "default", hf_token_secret_id: str | None = None,
    image: str | None = None, efa_image: bool = False, force: bool = False,
) -> list[Path]:
    """Render the plan and write each file under `out` (templates/output.py: a temp directory renamed into
    place, a manifest, a foreign directory refused unless `force`); returns the paths written."""
    from templates.render import default_options, render_bundle

    options = default_options(plan, namespace=namespace,
                              hf_token_secret_id=hf_token_secret_id, image=image,
                              efa_image=efa_image)
    bundle = render_bundle(plan, options)  # before touching the disk: a refused plan writes nothing
    return _write(bundle, out, force)


def _write(bundle, out: Path | str, force: bool) -> list[Path]:  # bundle: templates.models.RenderedBundle
    """A rendered bundle's files plus APPLY.txt, written by templates/output.py (temp directory renamed
    into place, manifest, foreign directories refused unless `force`)."""
    files = [*((r.name, r.content) for r in bundle.files), ("APPLY.txt", bundle.kubectl_apply_hint + "\n")]
    return write_output_dir(out, files, force=force)


def check_strings(args: argparse.Namespace) -> None:
    """Refuse a secret id, served model or image that is not of its form, before planning: these strings
    end up in root shell scripts, systemd units and manifests (they are shell-quoted there as well)."""
    from templates.common import check_hf_token_secret_id, check_image, check_served_model

    if args.hf_token_secret_id is not None:
        check_hf_token_secret_id(args.hf_token_secret_id)
    if args.served_model is not None:
        check_served_model(args.served_model)
    if args.vllm_image is not None:
        check_image(args.vllm_image)


def handle(args: argparse.Namespace) -> int:
    from llm_advisor.cli.plan_cmd import plan_from_args, print_warnings

    check_strings(args)
    if not args.out.strip():  # before planning: an empty --out would have meant the current directory
        raise OutputDirectoryError("--out is empty; name the directory to write into, e.g. --out ./deploy")
    gpu = None
    if getattr(args, "engine", None) in ("auto", "llama.cpp"):  # issue 13: the CPU path may win
        cpu, gpu = engine_plan_for_render(args)
        if cpu is not None:
            return render_cpu(cpu, args)
    plan = gpu if gpu is not None else plan_from_args(args)  # auto: the GPU plan it compared, not a new one
    if args.efa_image and not args.vllm_image:
        raise ValueError("--efa-image: name the EFA build with --image (the stock vllm/vllm-openai image has "
                         "no libfabric/aws-ofi-nccl)")
    try:
        written = write_bundle(plan, args.out, args.namespace, args.hf_token_secret_id, args.vllm_image,
                               args.efa_image, force=args.force)
    except ValueError as exc:  # the error line first, then the plan's warnings (main.py)
        exc.warnings = plan.warnings  # type: ignore[attr-defined]
        raise
    print_warnings(plan.warnings)
    for path in written:
        print(f"wrote {path}")
    at = plan.placement
    print(f"\n{at.replicas} replica(s) of {plan.served.served_model} on {at.instance_count} x "
          f"{at.instance_type} ({at.region}, {at.capacity_type}); apply with:")
    print(Path(args.out, "APPLY.txt").read_text(), end="")
    return 0


def engine_plan_for_render(args: argparse.Namespace):  # -> (CpuPlan | None, Plan | None)
    """(the CPU plan to render, or None; the GPU plan auto already made, or None): --engine llama.cpp always
    renders the CPU plan; --engine auto the one that wins the comparison (cpu_cmd.compare_engines)."""
    from llm_advisor.cli.cpu_cmd import compare_engines, plan_cpu_from_args
    from llm_advisor.cli.plan_cmd import workload_from_args
    from llm_advisor.planner.errors import NoFeasibleLayout

    workload = workload_from_args(args)
    if workload.engine == "llama.cpp":
        return plan_cpu_from_args(args, workload), None
    try:
        cpu = plan_cpu_from_args(args, workload)
    except NoFeasibleLayout as exc:
        print(f"engine: vllm -- no CPU plan: {exc}", file=sys.stderr)
        return None, None
    choice, gpu, _ = compare_engines(args, cpu, None)
    print(f"engine: {choice.chosen} -- {choice.reason}", file=sys.stderr)
    return (cpu, None) if choice.chosen == "llama.cpp" else (None, gpu)


def render_cpu(cpu, args: argparse.Namespace) -> int:
    """Write a CPU plan's files (llama.cpp server: kubernetes.yaml, hf-token-secret.yaml, cloud-init.yaml,
    APPLY.txt) the same careful way as a GPU plan's."""
    from templates.render import cpu_options, render_cpu_bundle

    options = cpu_options(cpu, namespace=args.namespace, hf_token_secret_id=args.hf_token_secret_id)
    bundle = render_cpu_bundle(cpu, options)  # before touching the disk: a refused plan writes nothing
    for path in _write(bundle, args.out, args.force):
        print(f"wrote {path}")
    print(f"\n{cpu.replicas} replica(s) of {cpu.model} (llama.cpp, GGUF {cpu.gguf_type}) on "
          f"{cpu.instance.instance_type} ({cpu.instance.region}, on-demand); apply with:")
    print(Path(args.out, "APPLY.txt").read_text(), end="")
    return 0
