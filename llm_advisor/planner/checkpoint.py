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

A --served-model repo has its own format, which the plan must be sized in and render must not contradict
(vLLM's ModelConfig._verify_quantization refuses a `--quantization` other than the checkpoint's
quantization_config.quant_method; sizing/checkpoints.py). resolve_served() takes it from sizing when the
repo is listed (same architecture as --model required), else from the plan: AWQ/GPTQ/INT8/MXFP4 exist only
pre-quantized, "none" is a 16-bit repo, and fp8/bnb4 are ambiguous (a 16-bit repo quantized at load time or
a pre-quantized one), so Workload.served_model_quantization must say which.
"""

from __future__ import annotations

from dataclasses import dataclass

from llm_advisor.planner.errors import PlanningError
from llm_advisor.planner.options import opt
from sizing import SizingError, load_model, quantized_checkpoint
from sizing.vocabulary import PREQUANTIZED_ONLY, is_load_time

FORMAT_LABELS = {
    "awq": "AWQ",
    "gptq": "GPTQ",
    "int8": "INT8 (W8A8)",
    "mxfp4": "MXFP4",
    "fp8": "FP8",
    "bnb4": "bitsandbytes 4-bit",
}
# Architecture facts two repos must share to be one architecture (when no common base_model says so): the
# ones sizing derives weights and KV cache from (sizing/arch.py ModelArch).
ARCH_FACTS = (
    "model_type",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "hidden_size",
    "intermediate_size",
    "vocab_size",
    "num_experts",
    "num_experts_per_tok",
    "moe_intermediate_size",
    "kv_lora_rank",
)


@dataclass(frozen=True, slots=True)
class ServedCheckpoint:
    served_model: str | None
    checkpoint_quantization: str
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class ServedRepo:
    """A --served-model resolved: the architecture to size (the repo's own when sizing lists it), the
    plan's weights format, and the checkpoint the Plan names."""

    arch: object  # sizing.ModelArch
    quantization: str
    checkpoint: ServedCheckpoint


def variant_arch(arch, quantization: str):
    """The listed pre-quantized repo's own facts when `arch` in `quantization` is served from it (None when
    the model's own checkpoint serves, or no listed repo is known): the plan is sized on them."""
    if not _needs_other_repo(arch.quantization, quantization) or arch.is_local_config:
        return None
    variant = quantized_checkpoint(arch, quantization)
    if variant is None:
        return None
    try:
        return load_model(variant)
    except SizingError:
        return None


def _needs_other_repo(native: str, quantization: str) -> bool:
    """True when the model's own checkpoint cannot be served in `quantization`."""
    if native == quantization:
        return False
    return not is_load_time(native, quantization)


def served_checkpoint(arch, quantization: str) -> ServedCheckpoint:
    """The repo vLLM loads for `arch` planned in `quantization` without --served-model (resolve_served
    handles that), its own format, and any warning."""
    native = arch.quantization
    other = _needs_other_repo(native, quantization)
    own_format = quantization if other or native == quantization else "none"
    label = FORMAT_LABELS.get(quantization, quantization)
    if arch.is_local_config:
        what = (
            f"an {label} checkpoint of this architecture" if other else "the Hugging Face repo of this config"
        )
        return ServedCheckpoint(
            None,
            own_format,
            f"{arch.hf_id} is a local config.json, not a repo vLLM can load: render needs "
            f"{opt('served_model', f'<{what}>')}",
        )
    if not other:
        return ServedCheckpoint(arch.hf_id, own_format)
    variant = quantized_checkpoint(arch, quantization)
    if variant is not None:
        return ServedCheckpoint(variant, quantization)
    return ServedCheckpoint(
        None,
        quantization,
        f"no {label} checkpoint of {arch.hf_id} is known (vLLM cannot quantize to {quantization} at load "
        f"time): render needs {opt('served_model', f'<an {label} checkpoint of this architecture>')}",
    )


def option_note(arch, quantization: str) -> str:
    """What an infeasible-workload option `--quantization <q>` needs to be served (empty when nothing)."""
    if not _needs_other_repo(arch.quantization, quantization):
        return ""
    label = FORMAT_LABELS.get(quantization, quantization)
    variant = None if arch.is_local_config else quantized_checkpoint(arch, quantization)
    if variant is not None:
        return f"; needs an {label} checkpoint: {variant}"
    return f"; needs {opt('served_model', f'<an {label} checkpoint of this architecture>')}, none is known"


# --- a --served-model repo: its own format, the same architecture, no contradiction ---------------------


def _label(fmt: str) -> str:
    return "a 16-bit (bf16/fp16)" if fmt == "none" else f"an {FORMAT_LABELS.get(fmt, fmt)}"


def resolve_served(workload, arch) -> ServedRepo | None:
    """The served repo's own format and what to size, or None without --served-model.

    Raises PlanningError when the repo is another architecture than `arch`, when its format contradicts the
    plan's --quantization (naming the one that works), or when an unknown repo's format is ambiguous.
    """
    repo = workload.served_model
    if not repo:
        return None
    listed = _listed(repo)
    if listed is not None:
        _check_same_architecture(repo, listed, arch)
        fmt, sized = listed.quantization, listed
        stated = workload.served_model_quantization
        if stated is not None and stated != fmt:
            raise PlanningError(
                f"{opt('served_model_quantization', stated)} contradicts {repo}, which the catalog lists as "
                f"{_label(fmt)} checkpoint (quant_method {listed.quant_method or 'none'}): drop "
                f"{opt('served_model_quantization')} or set it to {fmt}"
            )
    else:
        fmt, sized = _unlisted_format(workload, arch), arch
    quantization = workload.quantization or fmt
    _check_compatible(repo, fmt, quantization, arch)
    return ServedRepo(sized, quantization, ServedCheckpoint(repo, fmt))


def _listed(repo: str):
    """sizing's ModelArch of `repo` when the catalog lists that very repo (an alias is not a repo)."""
    try:
        found = load_model(repo)
    except SizingError:
        return None
    return found if found.hf_id.lower() == repo.strip().lower() else None


def _check_same_architecture(repo: str, served, arch) -> None:
    if served.base_model and served.base_model == arch.base_model:
        return
    differ = [f for f in ARCH_FACTS if getattr(served, f) != getattr(arch, f)]
    if not differ:
        return
    facts = ", ".join(f"{f} {getattr(served, f)} vs {getattr(arch, f)}" for f in differ[:4])
    fix = opt("model", served.base_model or repo)
    raise PlanningError(
        f"{opt('served_model', repo)} is not the architecture of {opt('model', arch.hf_id)} ({facts}): vLLM "
        "would load "
        f"other weights than the plan sizes; plan it with {fix}, or serve a checkpoint of {arch.hf_id}"
    )


def _unlisted_format(workload, arch) -> str:
    """An unlisted repo's format: stated, else the only one the plan allows, else PlanningError."""
    if workload.served_model_quantization is not None:
        return workload.served_model_quantization
    if workload.quantization is None and arch.is_local_config:
        return arch.quantization  # the config.json given as --model is that repo's own
    planned = workload.quantization or arch.quantization
    if planned in PREQUANTIZED_ONLY or planned == "none":
        return planned
    label = FORMAT_LABELS.get(planned, planned)
    raise PlanningError(
        f"{opt('served_model', workload.served_model)} is not a checkpoint the catalog lists, and {planned} "
        f"weights are ambiguous: vLLM makes them at load time from a 16-bit repo, or reads them from "
        f"{_label(planned)} repo; say which with {opt('served_model_quantization', 'none')} (a 16-bit repo, "
        f"quantized at load time) or {opt('served_model_quantization', planned)} (already {label})"
    )


def _check_compatible(repo: str, fmt: str, quantization: str, arch) -> None:
    """vLLM serves `repo` (format `fmt`) as `quantization` only when they agree or vLLM quantizes at load."""
    if fmt == quantization or is_load_time(fmt, quantization):
        return
    works = "none, fp8 or bnb4 (vLLM quantizes a 16-bit repo at load time)" if fmt == "none" else fmt
    other = None if arch.is_local_config else quantized_checkpoint(arch, quantization)
    serve = other or f"{_label(quantization)} checkpoint of {arch.hf_id}"
    raise PlanningError(
        f"{opt('served_model', repo)} is {_label(fmt)} checkpoint and {opt('quantization', quantization)} "
        f"contradicts it (vLLM serves a checkpoint in its own format and makes only fp8/bnb4 at load time, "
        f"from 16-bit weights): plan it with {opt('quantization', works)}, or serve {serve}"
    )
