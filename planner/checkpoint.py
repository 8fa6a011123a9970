"""Which checkpoint vLLM loads for a plan: Plan.served_model and its own weights format, or why none is known.

vLLM serves the weights of the repo it is given; `--quantization` only changes them at load time for
formats vLLM quantizes itself from a bf16/fp16 checkpoint:
- fp8: "dynamic quantization ... from a BF16/FP16 model, no calibration data is needed" (vLLM docs,
  features/quantization/fp8, "Online Dynamic Quantization": `LLM(model=..., quantization="fp8")`).
- bnb4: bitsandbytes "in-flight quantization" of an unquantized checkpoint (vLLM docs,
  features/quantization/bnb, `quantization="bitsandbytes"`).
AWQ, GPTQ, INT8 (W8A8) and MXFP4 need a checkpoint already in that format (vLLM reads the format from its
quantization_config), so planning `--quantization awq` on a bf16 model needs a different repo: the known
pre-quantized variant from sizing (`sizing.quantized_checkpoint`), or `--served-model`. Without one the
plan still sizes the layout but Plan.served_model is None and a warning says what render needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import sizing

LOAD_TIME_FORMATS = ("fp8", "bnb4")
FORMAT_LABELS = {"awq": "AWQ", "gptq": "GPTQ", "int8": "INT8 (W8A8)", "mxfp4": "MXFP4", "fp8": "FP8"}


@dataclass(frozen=True, slots=True)
class ServedCheckpoint:
    served_model: str | None
    checkpoint_quantization: str
    warning: str | None = None


def is_config_path(arch) -> bool:
    """The model was given as a local config.json (sizing.hf_config.arch_from_file: hf_id = the path)."""
    return arch.source.startswith("local config.json")


def known_variant(arch, quantization: str) -> str | None:
    """The catalog's pre-quantized checkpoint of this architecture in `quantization`, when sizing has one."""
    lookup = getattr(sizing, "quantized_checkpoint", None)  # added by sizing (review #1); absent: None
    return lookup(arch, quantization) if lookup is not None else None


def _needs_other_repo(native: str, quantization: str) -> bool:
    """True when the model's own checkpoint cannot be served in `quantization`."""
    if native == quantization:
        return False
    return not (native == "none" and quantization in LOAD_TIME_FORMATS)


def served_checkpoint(arch, quantization: str, served_model: str | None) -> ServedCheckpoint:
    """The repo vLLM loads for `arch` planned in `quantization`, its own format, and any warning."""
    native = arch.quantization
    other = _needs_other_repo(native, quantization)
    own_format = quantization if other or native == quantization else "none"
    if served_model:
        return ServedCheckpoint(served_model, own_format)
    label = FORMAT_LABELS.get(quantization, quantization)
    if is_config_path(arch):
        what = (
            f"an {label} checkpoint of this architecture" if other else "the Hugging Face repo of this config"
        )
        return ServedCheckpoint(
            None,
            own_format,
            f"{arch.hf_id} is a local config.json, not a repo vLLM can load: render needs "
            f"--served-model <{what}>",
        )
    if not other:
        return ServedCheckpoint(arch.hf_id, own_format)
    variant = known_variant(arch, quantization)
    if variant is not None:
        return ServedCheckpoint(variant, quantization)
    return ServedCheckpoint(
        None,
        quantization,
        f"no {label} checkpoint of {arch.hf_id} is known (vLLM cannot quantize to {quantization} at load "
        f"time): render needs --served-model <an {label} checkpoint of this architecture>",
    )


def option_note(arch, quantization: str) -> str:
    """What an infeasible-workload option `--quantization <q>` needs to be served (empty when nothing)."""
    if not _needs_other_repo(arch.quantization, quantization):
        return ""
    label = FORMAT_LABELS.get(quantization, quantization)
    variant = None if is_config_path(arch) else known_variant(arch, quantization)
    if variant is not None:
        return f"; needs an {label} checkpoint: {variant}"
    return f"; needs --served-model <an {label} checkpoint of this architecture>, none is known"
