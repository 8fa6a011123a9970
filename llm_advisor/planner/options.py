"""How each user-facing option is spelled at each edge: a CLI flag (`--max-model-len`) and a Pulumi stack
key (`maxModelLen`), derived from the one pydantic field that declares it (name, type, default, bounds,
help).

A field's `Option` (in its `Annotated` metadata) only says where the edge spelling departs from the rule
(flag = `--` + the field name with dashes; key = the field name in camelCase) or that the option does not
exist at one edge. Messages that tell the user which option to change call `opt(name, value)`, which
spells it the way the current caller does: the Pulumi program sets the "stack" spelling with
`use_spelling`, everything else gets the CLI's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

Spelling = Literal["cli", "stack"]
DERIVED = ""  # Option.flag / Option.key: derived from the field name


@dataclass(frozen=True)
class Option:
    """Edge spellings of one field: DERIVED by rule, a string to override it, None = not offered there."""

    flag: str | None = DERIVED
    key: str | None = DERIVED
    repeat: bool = False  # a tuple option: the CLI flag is given once per item (`--region A --region B`)


def option(info: FieldInfo) -> Option:
    return next((m for m in info.metadata if isinstance(m, Option)), Option())


def cli_flag(name: str, info: FieldInfo) -> str | None:
    o = option(info)
    return "--" + name.replace("_", "-") if o.flag == DERIVED else o.flag


def stack_key(name: str, info: FieldInfo) -> str | None:
    o = option(info)
    return to_camel(name) if o.key == DERIVED else o.key


def unwrap_optional(annotation: Any) -> Any:
    """`X | None` -> X (the type an edge parses; None is the option left unset)."""
    if get_origin(annotation) in (Union, UnionType):
        return next(a for a in get_args(annotation) if a is not type(None))
    return annotation


def literal_choices(annotation: Any) -> tuple[str, ...]:
    """The values of a Literal option (optional or not); () for any other type."""
    base = unwrap_optional(annotation)
    return tuple(str(v) for v in get_args(base)) if get_origin(base) is Literal else ()


_SPELLING: ContextVar[Spelling] = ContextVar("spelling", default="cli")
_REGISTRY: dict[str, FieldInfo] = {}


def register(*models: type[BaseModel]) -> None:
    """Make the models' fields known to `opt` (each option model registers itself where it is defined)."""
    for model in models:
        _REGISTRY.update(model.model_fields)


@contextmanager
def use_spelling(spelling: Spelling) -> Iterator[None]:
    """Messages written inside name options the way `spelling`'s users write them."""
    token = _SPELLING.set(spelling)
    try:
        yield
    finally:
        _SPELLING.reset(token)


def spell(name: str, spelling: Spelling | None = None) -> str:
    """A field's name as the caller writes it; the field name itself where that edge has no such option."""
    info = _REGISTRY[name]
    spelled = stack_key(name, info) if (spelling or _SPELLING.get()) == "stack" else cli_flag(name, info)
    return spelled or name


def opt(name: str, value: object = None) -> str:
    """`--max-model-len 4096` on the CLI, `maxModelLen=4096` in a stack; without a value, the name alone."""
    spelled = spell(name)
    if _SPELLING.get() == "stack":
        return spelled if value is None else f"{spelled}={_stack_value(value)}"
    return spelled if value is None or value is True else f"{spelled} {value}"  # a switch takes no value


def _stack_value(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# --- errors in the caller's spelling ---------------------------------------------------------------------

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
        if err.get("type") == "missing":
            parts.append(f"{where}: required")
            continue
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
