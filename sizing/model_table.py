"""Loads and validates sizing/data/models.json: model catalog, renamed repos and pre-quantized checkpoints.

One JSON file, parsed once per process (functools.cache) and validated row by row against the schemas
below; a malformed row fails with a SizingError naming its section, index and id. Catalog rows either hold
the architecture fields of the model's published config.json (`config`) or name a bundled copy of it
(`config_file`, in sizing/data/model_configs: Hugging Face config.json files taken from the PyPI package
aiconfigurator-core 0.12.0, Apache-2.0). Every row says where its facts come from (`source`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from sizing.errors import SizingError
from sizing.tables import validated_rows
from sizing.vocabulary import Frozen, Quantization

DATA_DIR = Path(__file__).resolve().parent / "data"
MODEL_TABLE_PATH = DATA_DIR / "models.json"
CONFIG_DIR = DATA_DIR / "model_configs"


class CatalogEntry(Frozen):
    """One catalog row: where the architecture comes from and the publisher's parameter counts."""

    hf_id: str
    aliases: tuple[str, ...] = ()
    source: str
    published_params_b: float | None = Field(None, description="publisher's total, billions")
    published_active_b: float | None = Field(None, description="publisher's active per token (MoE)")
    variants: tuple[str, ...] = Field(
        (), description="other repos with this exact architecture: base/instruct twins and renamed ids"
    )
    config_file: str | None = Field(None, description="a bundled config.json in sizing/data/model_configs")
    config: dict[str, Any] | None = Field(None, description="the published config.json's architecture fields")
    overrides: dict[str, Any] = Field(default_factory=dict, description="ModelArch fields the config lacks")

    def __hash__(self) -> int:
        return hash(self.hf_id)

    @model_validator(mode="after")
    def _one_config(self) -> CatalogEntry:
        if (self.config is None) == (self.config_file is None):
            raise ValueError("give exactly one of config and config_file")
        if self.config_file and not (CONFIG_DIR / self.config_file).is_file():
            raise ValueError(f"config_file {self.config_file!r} is not in {CONFIG_DIR}")
        return self


class RenamedRepo(Frozen):
    """An old repo name and the current one (same weights): the 16-bit repo a quantized checkpoint names."""

    old_id: str
    new_id: str
    source: str


class QuantizedCheckpoint(Frozen):
    """One public repo holding a catalog architecture's weights in a quantized format."""

    hf_id: str
    base_model: str = Field(description="catalog id of the 16-bit repo it was quantized from")
    quantization: Quantization
    quant_method: str = Field(description="its config.json quantization_config.quant_method")
    quant_group_size: int = 128
    quant_block_size: int = 0
    source: str


class GatedRepos(Frozen):
    """Hugging Face repos whose files need an accepted licence and a token (a shell-style pattern)."""

    pattern: str = Field(description="fnmatch pattern over ORG/NAME, e.g. meta-llama/*")
    source: str


class ModelTable(Frozen):
    models: tuple[CatalogEntry, ...]
    renamed: tuple[RenamedRepo, ...]
    quantized_checkpoints: tuple[QuantizedCheckpoint, ...]
    gated_repos: tuple[GatedRepos, ...] = ()


def _rows(raw: dict[str, Any], section: str, schema: type[Frozen]) -> tuple[Any, ...]:
    return validated_rows(MODEL_TABLE_PATH, raw, section, schema, ("hf_id", "old_id", "pattern"))


@cache
def model_table() -> ModelTable:
    """sizing/data/models.json, validated."""
    raw = json.loads(MODEL_TABLE_PATH.read_text(encoding="utf-8"))
    unknown = set(raw) - set(ModelTable.model_fields)
    if unknown:
        raise SizingError(f"{MODEL_TABLE_PATH.name}: unknown sections {sorted(unknown)}")
    return ModelTable.model_construct(
        models=_rows(raw, "models", CatalogEntry),
        renamed=_rows(raw, "renamed", RenamedRepo),
        quantized_checkpoints=_rows(raw, "quantized_checkpoints", QuantizedCheckpoint),
        gated_repos=_rows(raw, "gated_repos", GatedRepos),
    )
