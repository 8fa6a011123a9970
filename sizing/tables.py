"""Loading sizing's data tables (sizing/data/*.json): each row validated by its pydantic schema, and a
malformed row reported by file, section, index and id, so a bad edit to a table fails where it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sizing.errors import SizingError


def validated_rows(
    path: Path, raw: dict[str, Any], section: str, schema: type[BaseModel], id_keys: tuple[str, ...]
) -> tuple[Any, ...]:
    """`raw[section]` as `schema` rows; the first of `id_keys` a row has names it in the error."""
    rows = []
    for i, row in enumerate(raw.get(section) or ()):
        try:
            rows.append(schema.model_validate(row))
        except ValidationError as exc:
            name = next((row[k] for k in id_keys if row.get(k)), None) if isinstance(row, dict) else None
            raise SizingError(f"{path.name}: {section}[{i}] ({name or '?'}) is malformed: {exc}") from None
    return tuple(rows)
