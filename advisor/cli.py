"""Argument dispatch and the one place that turns errors into a message and exit status 2.

Each sub-command lives in its own module exposing `register(subparsers)`; the module imports its heavy
dependencies (pulumi, boto3) inside its handler so `--help` and `size` stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from pydantic import ValidationError

from advisor.options_cli import describe_validation_error

COMMANDS: tuple[str, ...] = (
    "advisor.size_cmd",
    "advisor.prices_cmd",
    "advisor.plan_cmd",
    "advisor.render_cmd",
    "advisor.preview_cmd",
)

EXIT_USAGE = 2
CLI = "cli"  # how this edge spells options (planner.options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m advisor",
        description="LLM serving provisioning advisor: size, price, plan and provision vLLM on AWS GPUs.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ValidationError as exc:
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
