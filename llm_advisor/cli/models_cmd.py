"""`llm-advisor models`: the built-in model catalog (sizing/data/models.json), one row per model.

Each row: the Hugging Face id and aliases `--model` accepts, the family (config.json `model_type`), the
publisher's parameter count (total, and active per token for MoE; computed from the architecture where the
publisher states none), the weights formats vLLM can serve it in (the checkpoint's own, the ones vLLM makes
at load time from 16-bit weights, and those of the listed pre-quantized checkpoints), the known checkpoint
repos (base/instruct twins, renamed ids, pre-quantized checkpoints), and whether the repo is gated on the
Hugging Face Hub (then `hfToken` / HF_TOKEN must belong to an account that accepted its terms).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

# Fields of `--json`'s objects, in order (tests hold them; README documents them).
JSON_KEYS = ("hf_id", "aliases", "family", "params_b", "active_params_b", "params_source", "weights",
             "formats", "checkpoints", "gated", "gated_pattern")


def register(subparsers: argparse._SubParsersAction, help_text: str) -> None:
    p = subparsers.add_parser(
        "models",
        help=help_text,
        description="List the built-in model catalog: family, parameters, weights formats vLLM can serve, "
        "known checkpoints and whether the Hugging Face repo is gated. Any other model works too, from a "
        "path to its config.json.",
    )
    p.add_argument("--family", help="only models of this family (config.json model_type: llama, qwen3 ...)")
    p.add_argument("--json", action="store_true", help="print one JSON list of objects")
    p.set_defaults(handler=run)


def _weights(quantization: str, torch_dtype: str) -> str:
    """The checkpoint's own weights format: its quantization, else its 16-bit dtype (bf16/fp16)."""
    if quantization != "none":
        return quantization
    return {"bfloat16": "bf16", "float16": "fp16"}.get(torch_dtype, torch_dtype)


def catalog_rows() -> list[dict[str, Any]]:
    """One dict per catalog model (JSON_KEYS), in catalog order."""
    from sizing import catalog_entries, gated_repo, list_models, quantized_checkpoints
    from sizing.vocabulary import LOAD_TIME_METHODS, is_load_time

    checkpoints = quantized_checkpoints()
    rows = []
    for entry, arch in zip(catalog_entries(), list_models(), strict=True):
        repos = (entry.hf_id, *entry.variants)
        quantized = [c for c in checkpoints if c.base_model in repos]
        formats = [arch.quantization]
        formats += [q for q in LOAD_TIME_METHODS if is_load_time(arch.quantization, q)]
        formats += [c.quantization for c in quantized]
        computed = entry.published_params_b is None
        pattern = gated_repo(entry.hf_id)
        rows.append({
            "hf_id": entry.hf_id,
            "aliases": list(entry.aliases),
            "family": arch.model_type,
            "params_b": round(arch.total_params / 1e9, 2) if computed else entry.published_params_b,
            "active_params_b": (entry.published_active_b if entry.published_active_b is not None
                                else round(arch.active_params / 1e9, 2) if arch.is_moe else None),
            "params_source": "computed from the architecture" if computed else "publisher",
            "weights": _weights(arch.quantization, arch.torch_dtype),
            "formats": list(dict.fromkeys(formats)),
            "checkpoints": [*entry.variants, *(f"{c.hf_id} ({c.quantization})" for c in quantized)],
            "gated": pattern is not None,
            "gated_pattern": pattern,
        })
    return rows


def _line(row: dict[str, Any]) -> str:
    params = f"{row['params_b']:g}B" + (f" ({row['active_params_b']:g}B active)"
                                        if row["active_params_b"] is not None else "")
    alias = f" [{', '.join(row['aliases'])}]" if row["aliases"] else ""
    access = "gated (needs hfToken / HF_TOKEN)" if row["gated"] else "open"
    text = (f"{row['hf_id']}{alias}\n    {row['family']}, {params}, weights {row['weights']}, "
            f"--quantization {' '.join(row['formats'])}, {access}")
    if row["checkpoints"]:
        text += f"\n    checkpoints: {', '.join(row['checkpoints'])}"
    return text


def run(args: argparse.Namespace) -> int:
    rows = catalog_rows()
    if args.family:
        families = sorted({r["family"] for r in rows})
        rows = [r for r in rows if r["family"] == args.family.strip().lower()]
        if not rows:
            raise ValueError(f"--family {args.family!r}: no catalog model of that family; families: "
                             f"{', '.join(families)}")
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{len(rows)} catalog model(s); --quantization: the values it can be planned with (none = its "
          "own 16-bit weights; fp8 - and bnb4 up to vLLM 0.27 - made by vLLM at load time; others from the "
          "listed pre-quantized checkpoints)")
    for row in rows:
        print(_line(row))
    return 0
