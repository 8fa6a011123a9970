"""`python -m advisor preview`: run the Pulumi program under Pulumi's mocks and print the resource tree
with its key properties, as `pulumi preview` would show it, without the Pulumi CLI or an AWS account."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # in a checkout: Pulumi.yaml, Pulumi.example.yaml
EXAMPLE = ROOT / "Pulumi.example.yaml"


def register(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    parser = subparsers.add_parser(
        "preview", help=help_text,
        description="Runs the stack program (llm_advisor.program, what __main__.py runs) under "
                    "pulumi.runtime.set_mocks with a stack config file.",
    )
    parser.add_argument("--config", type=Path, default=EXAMPLE if EXAMPLE.is_file() else None,
                        required=not EXAMPLE.is_file(),
                        help="stack config file (Pulumi.<stack>.yaml); in a checkout, default "
                        "Pulumi.example.yaml")
    parser.add_argument("--show-outputs", action="store_true", help="also print the rendered vLLM config")
    parser.add_argument("--json", action="store_true",
                        help="print the scheduling check as JSON: node groups (labels, taints, allocatable) "
                        "and every pod (tolerations, selectors, requests), with its problems")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from llm_advisor.infra.preview import has_hf_token, load_stack_file, plaintext_secret_warnings
    from llm_advisor.infra.tree import format_run
    from llm_advisor.program import run_main_program

    started = time.perf_counter()
    config, secret_keys = load_stack_file(args.config)
    check_project_prefix(config, args.config)
    run = run_main_program(config, secret_keys)
    if args.json:
        import json

        from llm_advisor.infra.schedule import scheduling_report

        report = scheduling_report(run)
        print(json.dumps(report, indent=2, sort_keys=True))
        return 1 if report["problems"] else 0
    print(format_run(run, show_config=args.show_outputs))
    # The program logs the same warning with pulumi.log.warn (in run.warnings, printed above) during a
    # real `pulumi preview`/`up`; said here too, before anything else can fail.
    for warning in plaintext_secret_warnings(config, secret_keys):
        if warning not in run.warnings:
            print(f"\nwarning: {warning}")
    if not has_hf_token(config):
        print("\nnote: hfToken is not set: fine for public models; for a gated one run "
              "`pulumi config set --secret hfToken hf_...` (pods read the hf-token Secret optionally)")
    elapsed_s = time.perf_counter() - started
    print(f"\n{len(run.resources)} resources, previewed in {elapsed_s:.1f} s (mocked engine)")
    return 0


# Namespaces of provider config that live beside the project's own keys in a stack file.
PROVIDER_NAMESPACES = frozenset({"aws", "kubernetes", "pulumi"})


def check_project_prefix(config: dict[str, str], path: Path) -> None:
    """Keys written under another project's name (`myproj:model`) are not this program's: say so, instead
    of the "model: Field required" they would otherwise cause."""
    from llm_advisor.infra.config import PROJECT, config_keys

    ours = set(config_keys())
    foreign = {PROJECT, *PROVIDER_NAMESPACES}
    stray = sorted(k for k in config if ":" in k and k.split(":", 1)[0] not in foreign
                   and k.split(":", 1)[1] in ours)
    if stray:
        other = stray[0].split(":", 1)[0]
        first = stray[0].split(":", 1)[1]
        raise ValueError(f"{path}: keys {', '.join(stray)} are under project {other!r}, but this program is "
                         f"{PROJECT!r} (Pulumi.yaml name); rename them to {PROJECT}:{first} and so on, or "
                         "write them without a prefix")
