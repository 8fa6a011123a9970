"""Argument dispatch and the one place that turns errors into a message and exit status 2.

Each sub-command lives in its own module exposing `register(subparsers, help_text)` (its help line is in
COMMANDS); only the command being run is imported, and it imports its heavy dependencies (pulumi, boto3)
inside its handler, so `--help` and `size` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from pydantic import ValidationError

# command -> (its module, its one-line help). Only the command being run is imported and given its flags:
# deriving them imports the option models (pydantic schemas, sizing), which `--help` and the other
# commands need not pay for.
COMMANDS: dict[str, tuple[str, str]] = {
    "size": ("llm_advisor.cli.size_cmd",
             "memory per GPU as vLLM accounts it, KV capacity, tuned utilization"),
    "prices": ("llm_advisor.cli.prices_cmd",
               "GPU instance types with on-demand and spot prices (live, cached or snapshot)"),
    "throughput": ("llm_advisor.cli.throughput_cmd",
                   "output tokens/s, TPOT and TTFT of one layout at a fixed concurrency"),
    "plan": ("llm_advisor.cli.plan_cmd", "cheapest instance/TP/PP/replica/spot layout for a workload"),
    "render": ("llm_advisor.cli.render_cmd",
               "write vllm-config.yaml, kubernetes.yaml and cloud-init.yaml for the planned layout"),
    "preview": ("llm_advisor.cli.preview_cmd",
                "show the resources the Pulumi program would create (offline, mocked engine)"),
    "check-log": ("llm_advisor.cli.check_log_cmd",
                  "compare a real vLLM startup log with the sizing of the same settings"),
}

EXIT_USAGE = 2
CLI = "cli"  # how this edge spells options (planner.options)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole CLI; with `argv`, only the command it names gets its flags (the others list in --help)."""
    chosen = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    parser = argparse.ArgumentParser(
        prog="llm-advisor",
        description="LLM serving provisioning advisor: size, price, plan and provision vLLM on AWS GPUs.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if argv is None or name == chosen:
            importlib.import_module(module_name).register(subparsers, help_text)
        else:
            subparsers.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ValidationError as exc:
        from llm_advisor.cli.options_cli import describe_validation_error

        print(f"error: {describe_validation_error(exc, spelling=CLI)}", file=sys.stderr)
    except ValueError as exc:
        # Every layer raises a ValueError subclass naming the failed constraint and what would work.
        print(f"error: {exc}", file=sys.stderr)
    except BrokenPipeError:
        # `python -m advisor plan --json | head`: the reader left. Point stdout at /dev/null so the
        # interpreter's final flush does not raise again (the recipe in Python's `signal` docs).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return EXIT_USAGE
