"""Argument dispatch and the one place that turns errors into one `error:` line and an exit status.

Exit statuses (README.md "Exit codes", the same for every command):
  0  success
  1  internal error: a bug (one line; LLM_ADVISOR_DEBUG=1 shows the traceback)
  2  bad input (a flag, file, stack key or region), a workload that fits nowhere, `size` with a layout that
     does not fit (its report is still printed), `render --out` refused or not writable
  3  AWS unavailable where live data was required (--pricing live, --placement-scores)
  130 interrupted (Ctrl-C)
Every layer raises a ValueError subclass (SizingError, PricingError, PlanningError, ...) whose message names
the input and what would work; an error type may carry its own `exit_code` (AwsUnavailableError: 3).

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
    "capacity-blocks": ("llm_advisor.cli.capacity_blocks_cmd",
                        "EC2 Capacity Blocks for ML offered (live): window, fee, vs on-demand and spot"),
    "throughput": ("llm_advisor.cli.throughput_cmd",
                   "output tokens/s, TPOT and TTFT of one layout at a fixed concurrency"),
    "plan": ("llm_advisor.cli.plan_cmd", "cheapest instance/TP/PP/replica/spot layout for a workload"),
    "render": ("llm_advisor.cli.render_cmd",
               "write vllm-config.yaml, kubernetes.yaml and cloud-init.yaml for the planned layout"),
    "preview": ("llm_advisor.cli.preview_cmd",
                "show the resources the Pulumi program would create (offline, mocked engine)"),
    "models": ("llm_advisor.cli.models_cmd",
               "list the model catalog: family, parameters, formats, known checkpoints, gated or not"),
    "check-log": ("llm_advisor.cli.check_log_cmd",
                  "compare a real vLLM startup log with the sizing of the same settings"),
}

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_AWS_UNAVAILABLE = 3  # pricing.errors.AwsUnavailableError.exit_code
EXIT_INTERRUPTED = 130
EXIT_CODES = {EXIT_OK: "success",
              EXIT_INTERNAL: "internal error (a bug; LLM_ADVISOR_DEBUG=1 shows the traceback)",
              EXIT_USAGE: "bad input, or a workload or layout that does not fit",
              EXIT_AWS_UNAVAILABLE: "AWS unavailable where live data was required (--pricing live)",
              EXIT_INTERRUPTED: "interrupted"}
DEBUG_ENV = "LLM_ADVISOR_DEBUG"
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
    args = build_parser(argv).parse_args(argv)  # argparse: usage line and exit 2 on an unknown flag
    try:
        return int(args.handler(args) or 0)
    except ValidationError as exc:
        from llm_advisor.planner.options import describe_validation_error

        return _fail(describe_validation_error(exc, spelling=CLI), EXIT_USAGE)
    except ValueError as exc:
        # Every layer raises a ValueError subclass naming the failed constraint and what would work.
        return _fail(str(exc), int(getattr(exc, "exit_code", EXIT_USAGE)), getattr(exc, "warnings", ()))
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            # `llm-advisor plan --json | head`: the reader left. Point stdout at /dev/null so the
            # interpreter's final flush does not raise again (the recipe in Python's `signal` docs).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_INTERNAL
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # a bug: one line, not a traceback, unless asked for
        if os.environ.get(DEBUG_ENV):
            raise
        return _fail(f"internal error ({type(exc).__name__}: {exc}); this is a bug, please report it with "
                     f"the command line; {DEBUG_ENV}=1 shows the traceback", EXIT_INTERNAL)


def _fail(message: str, code: int, warnings: tuple[str, ...] = ()) -> int:
    """The error line first (scripts read the first line), then any warnings that may explain it."""
    sys.stdout.flush()
    print(f"error: {message}", file=sys.stderr)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return code
