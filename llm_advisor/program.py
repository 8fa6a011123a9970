"""The Pulumi stack program: stack config -> one LlmServing component (plan, rendered configs, GPU node
groups, Karpenter pools or Auto Scaling group, the workload) -> stack outputs. The stack and the library
are the same code path.

`__main__.py` at the checkout's root calls `run()` under `pulumi up`; `llm-advisor preview` calls it under
Pulumi's mocks, so an installed advisor previews a stack file without the checkout. Config is validated
(infra/config.py) before pricing, planning or any resource; `pricing: snapshot` (or a fresh cache) keeps
`pulumi preview` offline.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pulumi
from pydantic import ValidationError

from llm_advisor.component import LlmServing, args_from_stack_config
from llm_advisor.infra.config import (
    HF_TOKEN_KEY,
    PLAINTEXT_HF_TOKEN_WARNING,
    PROJECT,
    check_known_keys,
    stack_config_from,
)
from llm_advisor.infra.preview import AwsMocks, MockRun, observing_plans, run_program
from llm_advisor.planner.options import describe_validation_error


class StackProgramError(pulumi.RunError, ValueError):
    """A typed error of the stack program (bad config, PlanningError, RenderError, AwsUnavailableError ...)
    as one line naming the key in the stack's spelling.

    A pulumi.RunError: Pulumi's Python language host logs `str(error)` as the one error line instead of the
    traceback it prints for any other exception (pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec:
    `except pulumi.RunError as e: pulumi.log.error(str(e))`; sdk/python/lib/pulumi/errors.py RunError: "a
    clean exit rather than the usual verbose unhandled error logic"). A ValueError too, carrying the original
    `exit_code` and `warnings`, so `llm-advisor preview` maps it to its exit status as before."""

    def __init__(self, message: str, exit_code: int = 2, warnings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.warnings = warnings


def describe_config_error(exc: ValidationError) -> str:
    """One part per failed stack key (StackConfig validates by its camelCase alias): `key: what (got v)`;
    a rule over several keys names them as the stack spells them."""
    return describe_validation_error(exc, spelling="stack")


def one_line(text: str) -> str:
    """A multi-line message (a PlanningError lists its nearest options one per line) as one log line: its
    lines joined with "; " (after a heading ending in ":" with a space), list dashes dropped."""
    lines = [line.strip().removeprefix("- ") for line in text.splitlines() if line.strip()]
    joined = ""
    for line in lines:
        joined += ("" if not joined else " " if joined.endswith(":") else "; ") + line
    return joined


@contextmanager
def stack_errors() -> Iterator[None]:
    """Turn every typed error raised inside into one StackProgramError line (prefixed with the project, so
    the Pulumi log says whose config it is); a bug (any other exception) keeps its traceback."""
    try:
        yield
    except StackProgramError:
        raise
    except ValidationError as exc:
        raise StackProgramError(one_line(f"{PROJECT} config: {describe_config_error(exc)}")) from None
    except ValueError as exc:  # PlanningError, RenderError, PricingError/AwsUnavailableError, SizingError ...
        raise StackProgramError(one_line(f"{PROJECT}: {exc}"), int(getattr(exc, "exit_code", 2)),
                                tuple(getattr(exc, "warnings", ()))) from None


def run() -> None:
    """Declare the stack from the current stack's config and export its outputs; a typed error is one
    Pulumi error line (StackProgramError), not a traceback."""
    with stack_errors():
        _declare_stack()


def _declare_stack() -> None:
    config = pulumi.Config()
    # Without a `regions` key the stack plans in its provider's region (aws:region, the key `pulumi new`
    # prompts for), else the declared default.
    stack_config = stack_config_from(config.get, aws_region=pulumi.Config("aws").get("region"))
    # An Output marked secret, or None when unset or empty (public models set the declared secret key to "").
    hf_token = (config.get_secret(HF_TOKEN_KEY)
                if pulumi.runtime.get_config(f"{PROJECT}:{HF_TOKEN_KEY}") else None)
    if hf_token is not None and not pulumi.runtime.is_config_secret(f"{PROJECT}:{HF_TOKEN_KEY}"):
        pulumi.log.warn(PLAINTEXT_HF_TOKEN_WARNING)
    # adopt_root_resources: the resources this program declared at the stack root before it used the
    # component move under it on the next `pulumi up` instead of being replaced.
    serving = LlmServing(PROJECT, args_from_stack_config(stack_config, hf_token), adopt_root_resources=True)
    for key, value in serving.stack_outputs().items():
        pulumi.export(key, value)


def run_main_program(config: Mapping[str, str], secret_keys: tuple[str, ...] = ()) -> MockRun:
    """`pulumi preview` offline: validate the config (before any resource), then run the stack program under
    Pulumi's mocks (llm_advisor.infra.preview). Needs no checkout, so an installed advisor previews too."""
    project_keys = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{PROJECT}:")}
    check_known_keys(list(project_keys))
    stack_config_from(project_keys.get, aws_region=config.get("aws:region"))
    mocks = AwsMocks()
    with observing_plans(mocks):
        return run_program(run, config, secret_keys, mocks=mocks)
