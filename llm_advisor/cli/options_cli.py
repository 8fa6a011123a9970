"""Command-line flags derived from the pydantic fields that declare each option (planner.models.Workload,
PlanOptions, infra.config.DeployOptions): name, type, choices, default and help come from the field, so
the CLI and the Pulumi stack cannot drift apart. argparse only parses: the model validates (bounds,
forms), and its errors name the flag (`describe_validation_error`).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from llm_advisor.planner.options import (
    cli_flag,
    literal_choices,
    option,
    unwrap_optional,
)


def add_options(
    parser: argparse.ArgumentParser,
    model: type[BaseModel],
    *,
    only: Iterable[str] | None = None,
    without_default: Mapping[str, str] | None = None,
    fill_defaults: bool = False,
) -> None:
    """One flag per field of `model` that has a CLI spelling (`only`: just these fields).

    Flags default to None (unset) so the model applies its own defaults, or, with `fill_defaults`, to the
    model's defaults for a command that reads the values itself; `without_default` names fields this
    command leaves unset by default, with the words that say what unset means there.
    """
    names = set(only) if only is not None else None
    without_default = without_default or {}
    for name, info in model.model_fields.items():
        flag = cli_flag(name, info)
        if flag is None or (names is not None and name not in names):
            continue
        kwargs: dict[str, Any] = {"dest": name, "default": None}
        base = unwrap_optional(info.annotation)
        help_text = info.description or ""
        if name in without_default:
            help_text += f" ({without_default[name]})"
        elif info.is_required():
            kwargs["required"] = True
        else:
            if fill_defaults:
                kwargs["default"] = info.default
            if info.default not in (None, (), False):
                shown = info.default if not isinstance(info.default, tuple) else " ".join(info.default)
                help_text += f" (default: {shown})"
        if base is bool:
            kwargs["action"] = "store_true"
        elif choices := literal_choices(info.annotation):
            kwargs["choices"] = choices
        elif base is datetime:
            kwargs["type"] = iso_datetime
        elif get_origin(base) is tuple:
            kwargs["action"] = "append" if option(info).repeat else "store"
            kwargs["type"] = get_args(base)[0]
        else:
            kwargs["type"] = base
        # argparse formats help with %: a literal percent sign must be doubled.
        parser.add_argument(flag, help=help_text.replace("%", "%%"), **kwargs)


def iso_datetime(text: str) -> datetime:
    """An ISO date or time for a datetime option (the model makes a naive one UTC)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or time (2026-12-01 or "
                                         "2026-12-01T08:00)") from exc


def values_from_args(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The fields of `model` the user set on the command line (unset flags leave the model's default)."""
    values = {}
    for name in model.model_fields:
        value = getattr(args, name, None)
        if value is None or value is False:
            continue
        values[name] = tuple(dict.fromkeys(value)) if isinstance(value, list) else value
    return values
