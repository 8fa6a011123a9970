"""The built-in model catalog: lookup by Hugging Face id, alias or short id, and the architectures it builds.

The rows live in sizing/data/models.json (loaded and validated by sizing/model_table.py): each either holds
the architecture fields of the model's published config.json or names a bundled copy of it in
sizing/data/model_configs (from the PyPI package aiconfigurator-core 0.12.0, Apache-2.0), and carries the
parameter count its publisher states (model card / safetensors metadata), which tests compare with the
count computed from the architecture.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache, lru_cache
from pathlib import Path

from sizing.arch import ModelArch
from sizing.checkpoints import quantized_checkpoints
from sizing.errors import SizingError
from sizing.hf_config import arch_from_config, arch_from_file
from sizing.model_table import CONFIG_DIR, CatalogEntry, QuantizedCheckpoint, model_table

__all__ = ["CONFIG_DIR", "CatalogEntry", "catalog_entries", "catalog_entry", "list_models", "load_model"]


@lru_cache(maxsize=1)
def catalog_entries() -> tuple[CatalogEntry, ...]:
    return model_table().models


@cache
def _renamed() -> dict[str, str]:
    """Old repo name -> current one (same weights): the 16-bit repo a quantized checkpoint names."""
    return {r.old_id: r.new_id for r in model_table().renamed}


@cache
def _quantized_by_id() -> dict[str, QuantizedCheckpoint]:
    return {ckpt.hf_id: ckpt for ckpt in quantized_checkpoints()}


@lru_cache(maxsize=1)
def _index() -> dict[str, tuple[CatalogEntry, str]]:
    """Lower-cased id, short id (after the slash) or alias -> (catalog row, repo id that name stands for)."""
    index: dict[str, tuple[CatalogEntry, str]] = {}
    by_id = _build_index_by_id()
    named = [(entry, repo) for entry in catalog_entries() for repo in (entry.hf_id, *entry.variants)]
    named += [(by_id[c.base_model], c.hf_id) for c in quantized_checkpoints() if c.base_model in by_id]
    for entry, repo in named:  # full ids first, then aliases, then short ids (llama-3.1-8b is an alias)
        index.setdefault(repo.lower(), (entry, repo))
    for entry in catalog_entries():
        for alias in entry.aliases:
            index.setdefault(alias.lower(), (entry, entry.hf_id))
    for entry, repo in named:
        index.setdefault(repo.split("/", 1)[1].lower(), (entry, repo))
    return index


def _build(entry: CatalogEntry) -> ModelArch:
    return _build_by_id(entry.hf_id)


@cache
def _build_by_id(hf_id: str) -> ModelArch:
    entry = catalog_entry(hf_id)
    if entry.config_file:
        cfg = json.loads((CONFIG_DIR / entry.config_file).read_text())
    else:
        cfg = dict(entry.config or {})
    overrides = dict(entry.overrides)
    arch = arch_from_config(cfg, hf_id=entry.hf_id, source=entry.source, aliases=entry.aliases, **overrides)
    if "base_model" not in overrides:
        ckpt = _quantized_by_id().get(entry.hf_id)
        base = ckpt.base_model if ckpt else (entry.hf_id if arch.quantization == "none" else None)
        arch = arch.model_copy(update={"base_model": base})
    return arch



@cache
def _served(entry_id: str, repo: str) -> ModelArch:
    """The catalog row's architecture under the repo name given (a variant or a quantized checkpoint)."""
    arch = _build_by_id(entry_id)
    if repo == entry_id:
        return arch
    ckpt = _quantized_by_id().get(repo)
    if ckpt is None:  # same weights format: a base/instruct twin or an old name
        return arch.model_copy(update={"hf_id": repo, "base_model": _renamed().get(repo, repo)})
    return arch.model_copy(
        update={
            "hf_id": repo,
            "source": f"{arch.source}; weights: {ckpt.source}",
            "quantization": ckpt.quantization,
            "quant_method": ckpt.quant_method,
            "quant_group_size": ckpt.quant_group_size,
            "quant_block_size": ckpt.quant_block_size,
            "base_model": ckpt.base_model,
        }
    )


@lru_cache(maxsize=512)
def load_model(name_or_path: str) -> ModelArch:
    """A catalog model by Hugging Face id or alias (case-insensitive), or a local config.json path.

    A repo id gives that repo (hf_id as the Hub spells it): a base or Instruct twin, or a listed
    pre-quantized checkpoint (sizing/data/models.json) with its own weights format; an alias gives the
    catalog row's repo, the Instruct model where there is one.
    """
    hit = _index().get(name_or_path.strip().lower())
    if hit is not None:
        return _served(hit[0].hf_id, hit[1])
    path = Path(name_or_path).expanduser()
    if path.suffix == ".json" or path.is_file():
        if path.is_dir():
            path = path / "config.json"
        return arch_from_file(path)
    raise SizingError(
        f"unknown model {name_or_path!r} (not in the catalog and not a config.json path); "
        f"{_suggestions(name_or_path)}"
    )


# Offered when no catalog id is close to what was typed: one model per popular family and size.
CLOSE_RATIO = 0.6  # difflib's own default cutoff for get_close_matches
POPULAR_ALIASES = ("llama3.1-8b", "llama3.3-70b", "qwen3-32b", "mistral-7b", "gemma3-27b", "gpt-oss-20b")


def _suggestions(name: str) -> str:
    """The 3 closest catalog ids by difflib ratio (+ popular aliases when none is close) and a config path."""
    index = _index()
    query = name.strip().lower()
    short = query.split("/", 1)[-1]
    variants = {query, short, re.sub(r"-(instruct|chat|it|hf|base)$", "", short)}
    scored: dict[str, float] = {}
    for key, (entry, _) in index.items():
        score = max(difflib.SequenceMatcher(None, v, key).ratio() for v in variants)
        scored[entry.hf_id] = max(score, scored.get(entry.hf_id, 0.0))
    ranked = sorted(scored, key=lambda hf_id: -scored[hf_id])
    labels = ", ".join(_label(catalog_entry(hf_id)) for hf_id in ranked[:3])
    if scored[ranked[0]] >= CLOSE_RATIO:
        return f"closest catalog ids: {labels}; or pass a path to a config.json"
    return (
        f"closest catalog ids: {labels} (none is close); popular aliases: {', '.join(POPULAR_ALIASES)}; "
        "or pass a path to a config.json"
    )


def _label(entry: CatalogEntry) -> str:
    return f"{entry.hf_id} ({entry.aliases[0]})" if entry.aliases else entry.hf_id


def list_models() -> tuple[ModelArch, ...]:
    """Every catalog model, in catalog order."""
    return tuple(_build(entry) for entry in catalog_entries())


def catalog_entry(hf_id: str) -> CatalogEntry:
    return _build_index_by_id()[hf_id]


@lru_cache(maxsize=1)
def _build_index_by_id() -> dict[str, CatalogEntry]:
    return {entry.hf_id: entry for entry in catalog_entries()}
