"""Public pre-quantized checkpoints of catalog architectures, and what `vllm serve` is told about each.

vLLM serves AWQ, GPTQ, INT8 (W8A8) and most FP8 weights only from a checkpoint that already holds them:
it reads `quantization_config.quant_method` from the repo's config.json. It quantizes at load time only
to FP8 (`--quantization fp8`, dynamic per-tensor scales; vLLM docs features/quantization/fp8.md) and to
bitsandbytes 4-bit (`--quantization bitsandbytes`; features/quantization/bnb.md). Passing a method that
differs from the checkpoint's own makes ModelConfig._verify_quantization refuse to start ("Quantization
method specified in the model config (...) does not match the quantization method specified in the
`quantization` argument (...)").

Only repos whose names were seen in public vLLM / serving configs are listed (source on each row).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sizing.arch import ModelArch
from sizing.errors import SizingError
from sizing.vocabulary import LOAD_TIME_METHODS, Quantization


class QuantizedCheckpoint(BaseModel):
    """One public repo holding a catalog architecture's weights in a quantized format."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hf_id: str
    base_model: str = Field(description="catalog id of the 16-bit repo it was quantized from")
    quantization: Quantization
    quant_method: str = Field(description="its config.json quantization_config.quant_method")
    quant_group_size: int = 128
    quant_block_size: int = 0
    source: str


_HQ = "hugging-quants AutoAWQ/AutoGPTQ INT4 (group 128) of Meta's Instruct model; model card, used with vLLM"
_RH = "Red Hat AI (ex neuralmagic) llm-compressor checkpoint, compressed-tensors; model card, vLLM CI/docs"
_QWEN = "Qwen's official quantized release (group 128); Qwen model card and Qwen vLLM deployment docs"

QUANTIZED: tuple[QuantizedCheckpoint, ...] = (
    QuantizedCheckpoint(
        hf_id="hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4",
        base_model="meta-llama/Llama-3.1-8B-Instruct",
        quantization="awq",
        quant_method="awq",
        source=_HQ,
    ),
    QuantizedCheckpoint(
        hf_id="hugging-quants/Meta-Llama-3.1-8B-Instruct-GPTQ-INT4",
        base_model="meta-llama/Llama-3.1-8B-Instruct",
        quantization="gptq",
        quant_method="gptq",
        source=_HQ,
    ),
    QuantizedCheckpoint(
        hf_id="RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8",
        base_model="meta-llama/Llama-3.1-8B-Instruct",
        quantization="fp8",
        quant_method="compressed-tensors",
        source=_RH + " (FP8 W8A8, lm_head kept 16-bit)",
    ),
    QuantizedCheckpoint(
        hf_id="RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a8",
        base_model="meta-llama/Llama-3.1-8B-Instruct",
        quantization="int8",
        quant_method="compressed-tensors",
        source=_RH + " (INT8 W8A8; vLLM tests/quantization GSM8K config)",
    ),
    QuantizedCheckpoint(
        hf_id="hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4",
        base_model="meta-llama/Llama-3.1-70B-Instruct",
        quantization="awq",
        quant_method="awq",
        source=_HQ,
    ),
    QuantizedCheckpoint(
        hf_id="hugging-quants/Meta-Llama-3.1-70B-Instruct-GPTQ-INT4",
        base_model="meta-llama/Llama-3.1-70B-Instruct",
        quantization="gptq",
        quant_method="gptq",
        source=_HQ,
    ),
    QuantizedCheckpoint(
        hf_id="RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8",
        base_model="meta-llama/Llama-3.1-70B-Instruct",
        quantization="fp8",
        quant_method="compressed-tensors",
        source=_RH + " (FP8 W8A8: runs weight-only through FP8 Marlin on Ampere, unlike ModelOpt FP8)",
    ),
    QuantizedCheckpoint(
        hf_id="RedHatAI/Meta-Llama-3.1-70B-Instruct-quantized.w8a8",
        base_model="meta-llama/Llama-3.1-70B-Instruct",
        quantization="int8",
        quant_method="compressed-tensors",
        source=_RH + " (INT8 W8A8)",
    ),
    QuantizedCheckpoint(
        hf_id="hugging-quants/Meta-Llama-3.1-405B-Instruct-AWQ-INT4",
        base_model="meta-llama/Llama-3.1-405B-Instruct",
        quantization="awq",
        quant_method="awq",
        source=_HQ,
    ),
    QuantizedCheckpoint(
        hf_id="meta-llama/Meta-Llama-3.1-405B-Instruct-FP8",
        base_model="meta-llama/Llama-3.1-405B-Instruct",
        quantization="fp8",
        quant_method="fbgemm_fp8",
        source="Meta's own FP8 release (catalog row llama3.1-405b-fp8)",
    ),
    QuantizedCheckpoint(
        hf_id="RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic",
        base_model="meta-llama/Llama-3.3-70B-Instruct",
        quantization="fp8",
        quant_method="compressed-tensors",
        source=_RH + " (catalog row llama3.3-70b-fp8)",
    ),
    QuantizedCheckpoint(
        hf_id="RedHatAI/Llama-3.3-70B-Instruct-quantized.w8a8",
        base_model="meta-llama/Llama-3.3-70B-Instruct",
        quantization="int8",
        quant_method="compressed-tensors",
        source=_RH + " (INT8 W8A8)",
    ),
    QuantizedCheckpoint(
        hf_id="RedHatAI/Llama-3.3-70B-Instruct-quantized.w4a16",
        base_model="meta-llama/Llama-3.3-70B-Instruct",
        quantization="gptq",
        quant_method="compressed-tensors",
        source=_RH + " (INT4 weights, group 128, GPTQ algorithm: GPTQ-Marlin kernels)",
    ),
    QuantizedCheckpoint(
        hf_id="casperhansen/llama-3.3-70b-instruct-awq",
        base_model="meta-llama/Llama-3.3-70B-Instruct",
        quantization="awq",
        quant_method="awq",
        source="AutoAWQ maintainer's INT4 (group 128) quantization; model card",
    ),
    QuantizedCheckpoint(
        hf_id="TheBloke/Llama-2-7B-Chat-AWQ",
        base_model="meta-llama/Llama-2-7b-chat-hf",
        quantization="awq",
        quant_method="awq",
        source="TheBloke AWQ INT4 (group 128); the checkpoint vLLM's AWQ docs use",
    ),
    QuantizedCheckpoint(
        hf_id="TheBloke/Llama-2-7B-Chat-GPTQ",
        base_model="meta-llama/Llama-2-7b-chat-hf",
        quantization="gptq",
        quant_method="gptq",
        source="TheBloke GPTQ INT4 (group 128, main branch); model card",
    ),
    QuantizedCheckpoint(
        hf_id="solidrust/Mistral-7B-Instruct-v0.3-AWQ",
        base_model="mistralai/Mistral-7B-Instruct-v0.3",
        quantization="awq",
        quant_method="awq",
        source="solidrust AutoAWQ INT4 (group 128); model card",
    ),
    QuantizedCheckpoint(
        hf_id="TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ",
        base_model="mistralai/Mixtral-8x7B-Instruct-v0.1",
        quantization="awq",
        quant_method="awq",
        source="TheBloke AWQ INT4 (group 128); model card",
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen2.5-7B-Instruct-AWQ",
        base_model="Qwen/Qwen2.5-7B-Instruct",
        quantization="awq",
        quant_method="awq",
        source=_QWEN + " (catalog row qwen2.5-7b-awq)",
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4",
        base_model="Qwen/Qwen2.5-7B-Instruct",
        quantization="gptq",
        quant_method="gptq",
        source=_QWEN,
    ),
    QuantizedCheckpoint(
        hf_id="RedHatAI/Qwen2.5-7B-Instruct-quantized.w8a8",
        base_model="Qwen/Qwen2.5-7B-Instruct",
        quantization="int8",
        quant_method="compressed-tensors",
        source=_RH + " (INT8 W8A8)",
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen2.5-14B-Instruct-AWQ",
        base_model="Qwen/Qwen2.5-14B-Instruct",
        quantization="awq",
        quant_method="awq",
        source=_QWEN,
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen2.5-32B-Instruct-AWQ",
        base_model="Qwen/Qwen2.5-32B-Instruct",
        quantization="awq",
        quant_method="awq",
        source=_QWEN,
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen2.5-72B-Instruct-AWQ",
        base_model="Qwen/Qwen2.5-72B-Instruct",
        quantization="awq",
        quant_method="awq",
        source=_QWEN,
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen2.5-72B-Instruct-GPTQ-Int4",
        base_model="Qwen/Qwen2.5-72B-Instruct",
        quantization="gptq",
        quant_method="gptq",
        source=_QWEN,
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen3-8B-AWQ",
        base_model="Qwen/Qwen3-8B",
        quantization="awq",
        quant_method="awq",
        source=_QWEN,
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen3-8B-FP8",
        base_model="Qwen/Qwen3-8B",
        quantization="fp8",
        quant_method="fp8",
        quant_block_size=128,
        source="Qwen's official block-FP8 release (weight_block_size [128, 128]); model card",
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen3-32B-AWQ",
        base_model="Qwen/Qwen3-32B",
        quantization="awq",
        quant_method="awq",
        source=_QWEN,
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen3-32B-FP8",
        base_model="Qwen/Qwen3-32B",
        quantization="fp8",
        quant_method="fp8",
        quant_block_size=128,
        source="Qwen's official block-FP8 release (catalog row qwen3-32b-fp8)",
    ),
    QuantizedCheckpoint(
        hf_id="Qwen/Qwen3-235B-A22B-FP8",
        base_model="Qwen/Qwen3-235B-A22B",
        quantization="fp8",
        quant_method="fp8",
        quant_block_size=128,
        source="Qwen's official block-FP8 release (catalog row qwen3-235b-fp8)",
    ),
)

_BY_BASE = {(q.base_model, q.quantization): q.hf_id for q in QUANTIZED}


def listed_checkpoint(base_model: str | None, quantization: str) -> str | None:
    """The listed repo quantized from the 16-bit repo `base_model` into `quantization`, if any."""
    return _BY_BASE.get((base_model, quantization)) if base_model else None


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
    if arch.quantization == "none" and quantization in LOAD_TIME_METHODS:
        return LOAD_TIME_METHODS[quantization]
    other = quantized_checkpoint(arch, quantization)
    fix = f"serve {other} instead" if other else "serve a pre-quantized checkpoint of it"
    if arch.quantization == "none":
        fix += " or use fp8 / bnb4, which vLLM makes at load time"
    own = "16-bit" if arch.quantization == "none" else arch.quantization
    raise SizingError(
        f"{arch.hf_id} ships {own} weights and vLLM cannot turn them into {quantization} at load time; {fix}"
    )
