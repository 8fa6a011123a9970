"""Which published GGUF file serves a catalog model at a GGUF type: the repo and file name the llama.cpp
server downloads (sizing/data/gguf_files.json, a small cited table: one known repo per model).

A model or type without a row is a clear error naming the types that exist, or saying that a conversion
is needed (llama.cpp's convert_hf_to_gguf.py, then llama-quantize), never a guessed file name.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from sizing.errors import SizingError
from sizing.gguf import check_gguf_type
from sizing.vocabulary import Frozen

DATA_PATH = Path(__file__).resolve().parent / "data" / "gguf_files.json"


class GgufFile(Frozen):
    """One GGUF file on the Hugging Face Hub."""

    model: str
    gguf_type: str
    repo: str
    file: str
    source: str

    @property
    def url(self) -> str:
        """The Hub's download URL (`resolve/main`, the form huggingface_hub's hf_hub_url writes)."""
        return f"https://huggingface.co/{self.repo}/resolve/main/{self.file}"


@cache
def _table() -> dict[str, dict]:
    return json.loads(DATA_PATH.read_text(encoding="utf-8"))["models"]


def known_gguf_types(model: str) -> tuple[str, ...]:
    """GGUF types with a known file for `model` (empty when no repo is known)."""
    entry = _table().get(model)
    return tuple(entry["files"]) if entry else ()


def gguf_file(model: str, gguf_type: str) -> GgufFile:
    """The published file of `model` at `gguf_type`, or SizingError saying what exists / what to do."""
    check_gguf_type(gguf_type)
    entry = _table().get(model)
    convert = ("convert it with llama.cpp's convert_hf_to_gguf.py (and llama-quantize for a quantized "
               "type), upload it, and serve that repo")
    if entry is None:
        raise SizingError(
            f"gguf_type {gguf_type}: no known GGUF repo for {model} (known for "
            f"{', '.join(sorted(_table()))}); {convert}"
        )
    file = entry["files"].get(gguf_type)
    if file is None:
        raise SizingError(
            f"gguf_type {gguf_type}: {entry['repo']} publishes no {gguf_type} file for {model}; it has "
            f"{', '.join(entry['files'])} (pick one with --gguf-type / ggufType), or {convert}"
        )
    return GgufFile(model=model, gguf_type=gguf_type, repo=entry["repo"], file=file, source=entry["source"])
