"""`python -m advisor preview`: run the Pulumi program under Pulumi's mocks and print the resource tree
with its key properties, as `pulumi preview` would show it, without the Pulumi CLI or an AWS account."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout: Pulumi.yaml, __main__.py


def register(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    parser = subparsers.add_parser(
        "preview", help=help_text,
        description="Runs __main__.py under pulumi.runtime.set_mocks with a stack config file.",
    )
    parser.add_argument("--config", type=Path, default=ROOT / "Pulumi.example.yaml",
                        help="stack config file (Pulumi.<stack>.yaml); default Pulumi.example.yaml")
    parser.add_argument("--show-outputs", action="store_true", help="also print the rendered vLLM config")
    parser.add_argument("--json", action="store_true",
                        help="print the scheduling check as JSON: node groups (labels, taints, allocatable) "
                        "and every pod (tolerations, selectors, requests), with its problems")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from llm_advisor.infra.preview import (
        has_hf_token,
        load_stack_file,
        plaintext_secret_warnings,
        run_main_program,
    )
    from llm_advisor.infra.tree import format_run

    started = time.perf_counter()
    config, secret_keys = load_stack_file(args.config)
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
