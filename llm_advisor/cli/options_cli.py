"""Command-line flags derived from the pydantic fields that declare each option (planner.models.Workload,
PlanOptions, infra.config.DeployOptions): name, type, choices, default and help come from the field, so
the CLI and the Pulumi stack cannot drift apart. argparse only parses: the model validates (bounds,
forms), and its errors name the flag (`describe_validation_error`).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from llm_advisor.planner.options import Spelling, cli_flag, literal_choices, option, spell, unwrap_optional


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


def describe_validation_error(exc: ValidationError, spelling: Spelling | None = None) -> str:
    """One part per failed field: `field: message (got value)`, the field named as `spelling`'s users write
    it (`--max-model-len` on the CLI); None keeps the location pydantic reports (a stack key for StackConfig,
    which validates by alias)."""
    parts = []
    for err in exc.errors():
        loc = err.get("loc", ())
        where = ".".join(str(p) for p in loc) or exc.title
        if spelling is not None and loc and isinstance(loc[0], str):
            try:
                where = spell(loc[0], spelling) + "".join(f"[{p}]" for p in loc[1:])
            except KeyError:  # a field of a model that has no edge spelling
                pass
        msg = str(err.get("msg", ""))
        if err.get("type") == "value_error":  # our validators' own words: drop pydantic's "Value error, "
            msg = msg.removeprefix("Value error, ")
        if not loc:  # a model-level rule (several options together): its message names them itself,
            # by field name; shown in the edge's spelling (--max-model-len, maxModelLen)
            parts.append(_respell(msg, spelling) if spelling is not None else msg)
            continue
        parts.append(f"{where}: {msg} (got {err.get('input')!r})")
    return "; ".join(parts)


_FIELD_NAME = re.compile(r"(?<![\w-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-])")


def _respell(message: str, spelling: Spelling) -> str:
    """`message` with each option's field name (max_model_len) in `spelling` (--max-model-len); words that
    are not option names are left alone."""
    def one(match: re.Match[str]) -> str:
        try:
            return spell(match.group(0), spelling)
        except KeyError:
            return match.group(0)

    return _FIELD_NAME.sub(one, message)
