"""Public pre-quantized checkpoints of catalog architectures, and what `vllm serve` is told about each.

vLLM serves AWQ, GPTQ, INT8 (W8A8) and most FP8 weights only from a checkpoint that already holds them:
it reads `quantization_config.quant_method` from the repo's config.json. It quantizes at load time only
to FP8 (`--quantization fp8`, dynamic per-tensor scales; vLLM docs features/quantization/fp8.md) and to
bitsandbytes 4-bit (`--quantization bitsandbytes`; features/quantization/bnb.md). Passing a method that
differs from the checkpoint's own makes ModelConfig._verify_quantization refuse to start ("Quantization
method specified in the model config (...) does not match the quantization method specified in the
`quantization` argument (...)").

Only repos whose names were seen in public vLLM / serving configs are listed, in sizing/data/models.json
(section quantized_checkpoints, source on each row).
"""

from __future__ import annotations

import fnmatch
from functools import cache

from sizing.arch import ModelArch
from sizing.errors import SizingError
from sizing.model_table import QuantizedCheckpoint, model_table
from sizing.vocabulary import LOAD_TIME_METHODS, is_load_time

__all__ = ["QuantizedCheckpoint", "listed_checkpoint", "load_time_quantization", "quantized_checkpoint"]



def quantized_checkpoints() -> tuple[QuantizedCheckpoint, ...]:
    """Every listed pre-quantized checkpoint (sizing/data/models.json, section quantized_checkpoints)."""
    return model_table().quantized_checkpoints


def __getattr__(name: str) -> tuple[QuantizedCheckpoint, ...]:
    if name == "QUANTIZED":  # the old constant, read lazily so importing sizing parses no data file
        return quantized_checkpoints()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _by_base() -> dict[tuple[str, str], str]:
    return {(q.base_model, q.quantization): q.hf_id for q in quantized_checkpoints()}


def listed_checkpoint(base_model: str | None, quantization: str) -> str | None:
    """The listed repo quantized from the 16-bit repo `base_model` into `quantization`, if any."""
    return _by_base().get((base_model, quantization)) if base_model else None


def quantized_checkpoint(arch: ModelArch, quantization: str) -> str | None:
    """A public repo holding `arch`'s weights in `quantization`, or None when none is known.

    The checkpoint itself when it already is in that format; for "none" the 16-bit repo it came from.
    A base (pretrained) repo gets None for its quantized formats: the listed ones quantize Instruct weights.
    """
    if quantization == arch.quantization:
        return arch.hf_id
    if arch.base_model is None:
        return None
    if quantization == "none":
        return arch.base_model
    return listed_checkpoint(arch.base_model, quantization)


def load_time_quantization(arch: ModelArch, quantization: str) -> str | None:
    """The `--quantization` value `vllm serve <arch.hf_id>` needs to run in `quantization`.

    None when the checkpoint already holds that format (vLLM reads its quantization_config; naming another
    method fails ModelConfig._verify_quantization); "fp8" / "bitsandbytes" when vLLM quantizes 16-bit weights
    at load time. Any other pairing needs a different checkpoint: SizingError naming one when known.
    """
    if quantization == arch.quantization:
        return None
    if is_load_time(arch.quantization, quantization):
        return LOAD_TIME_METHODS[quantization]
    other = quantized_checkpoint(arch, quantization)
    fix = f"serve {other} instead" if other else "serve a pre-quantized checkpoint of it"
    if arch.quantization == "none":
        fix += " or use fp8 (or bnb4 up to vLLM 0.27), which vLLM makes at load time"
    own = "16-bit" if arch.quantization == "none" else arch.quantization
    raise SizingError(
        f"{arch.hf_id} ships {own} weights and vLLM cannot turn them into {quantization} at load time; {fix}"
    )


def gated_repo(hf_id: str | None) -> str | None:
    """The catalog's gated-repo pattern `hf_id` matches (sizing/data/models.json, section gated_repos), or
    None: vLLM then needs a Hugging Face token whose account accepted the repo's terms to download it."""
    if not hf_id:
        return None
    rows = model_table().gated_repos
    return next((g.pattern for g in rows if fnmatch.fnmatchcase(hf_id.lower(), g.pattern.lower())), None)
