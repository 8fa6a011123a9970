"""The built-in model catalog: Hugging Face ids, short aliases, architecture facts and their sources.

Two kinds of rows: the bundled config.json files in sizing/data/model_configs (copies of each model's
Hugging Face config.json, taken from the PyPI package aiconfigurator-core 0.12.0, Apache-2.0), and typed
rows below that restate the architecture fields of the model's published config.json. Each row carries
the parameter count its publisher states (model card / safetensors metadata), which tests compare with
the count computed from the architecture.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sizing.arch import ModelArch
from sizing.checkpoints import QUANTIZED
from sizing.errors import SizingError
from sizing.hf_config import arch_from_config, arch_from_file

CONFIG_DIR = Path(__file__).resolve().parent / "data" / "model_configs"
BUNDLED = "Hugging Face config.json, bundled in sizing/data/model_configs (from aiconfigurator-core 0.12.0)"


class CatalogEntry(BaseModel):
    """One catalog row: where the architecture comes from and the publisher's parameter counts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hf_id: str
    aliases: tuple[str, ...] = ()
    source: str
    published_params_b: float | None = Field(None, description="publisher's total, billions")
    published_active_b: float | None = Field(None, description="publisher's active per token (MoE)")
    variants: tuple[str, ...] = Field(
        (), description="other repos with this exact architecture: base/instruct twins and renamed ids"
    )
    config_file: str | None = None
    config: Mapping[str, Any] | None = None
    overrides: Mapping[str, Any] = Field(default_factory=dict)


def _llama(h, n, heads, kv, inter, vocab, maxpos, tied=False, hd=None, **extra) -> dict[str, Any]:
    cfg = dict(
        model_type="llama",
        hidden_size=h,
        num_hidden_layers=n,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        intermediate_size=inter,
        vocab_size=vocab,
        max_position_embeddings=maxpos,
        tie_word_embeddings=tied,
        torch_dtype="bfloat16",
    )
    if hd:
        cfg["head_dim"] = hd
    cfg.update(extra)
    return cfg


LLAMA31_70B = _llama(8192, 80, 64, 8, 28672, 128256, 131072)
LLAMA31_405B = _llama(16384, 126, 128, 8, 53248, 128256, 131072)
QWEN2_7B = _llama(3584, 28, 28, 4, 18944, 152064, 32768, model_type="qwen2")
DEEPSEEK_V2_LITE = dict(
    model_type="deepseek_v2",
    hidden_size=2048,
    num_hidden_layers=27,
    num_attention_heads=16,
    kv_lora_rank=512,
    q_lora_rank=None,
    qk_rope_head_dim=64,
    qk_nope_head_dim=128,
    v_head_dim=128,
    intermediate_size=10944,
    moe_intermediate_size=1408,
    n_routed_experts=64,
    n_shared_experts=2,
    num_experts_per_tok=6,
    first_k_dense_replace=1,
    moe_layer_freq=1,
    vocab_size=102400,
    max_position_embeddings=163840,
    tie_word_embeddings=False,
    torch_dtype="bfloat16",
)
GEMMA2 = dict(
    model_type="gemma2",
    sliding_window=4096,
    vocab_size=256000,
    max_position_embeddings=8192,
    tie_word_embeddings=True,
    torch_dtype="bfloat16",
)
GEMMA3 = dict(
    model_type="gemma3_text",
    sliding_window=1024,
    sliding_window_pattern=6,
    vocab_size=262208,
    max_position_embeddings=131072,
    tie_word_embeddings=True,
    torch_dtype="bfloat16",
)
# SigLIP vision tower + projector of Gemma 3 4B/12B/27B (0.42B): vLLM loads it with the language model.
GEMMA3_VISION = 417_000_000
META_FP8 = (
    "FP8 rows: Meta's FP8 release quantizes only the MLPs of layers 1..124 (attention, first and "
    "last layer stay bf16), per its model card"
)

_CARD = "published config.json on the Hugging Face model page; params from the model card"

TYPED: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        hf_id="meta-llama/Llama-2-7b-chat-hf",
        variants=("meta-llama/Llama-2-7b-hf",),
        aliases=("llama2-7b", "llama-2-7b"),
        source=_CARD,
        published_params_b=6.74,
        config=_llama(4096, 32, 32, 32, 11008, 32000, 4096),
    ),
    CatalogEntry(
        hf_id="meta-llama/Llama-2-13b-chat-hf",
        variants=("meta-llama/Llama-2-13b-hf",),
        aliases=("llama2-13b", "llama-2-13b"),
        source=_CARD,
        published_params_b=13.02,
        config=_llama(5120, 40, 40, 40, 13824, 32000, 4096),
    ),
    CatalogEntry(
        hf_id="meta-llama/Llama-2-70b-chat-hf",
        variants=("meta-llama/Llama-2-70b-hf",),
        aliases=("llama2-70b", "llama-2-70b"),
        source=_CARD,
        published_params_b=68.98,
        config=_llama(8192, 80, 64, 8, 28672, 32000, 4096),
    ),
    CatalogEntry(
        hf_id="meta-llama/Meta-Llama-3-8B-Instruct",
        variants=("meta-llama/Meta-Llama-3-8B",),
        aliases=("llama3-8b", "llama-3-8b"),
        source=_CARD,
        published_params_b=8.03,
        config=_llama(4096, 32, 32, 8, 14336, 128256, 8192),
    ),
    CatalogEntry(
        hf_id="meta-llama/Meta-Llama-3-70B-Instruct",
        variants=("meta-llama/Meta-Llama-3-70B",),
        aliases=("llama3-70b", "llama-3-70b"),
        source=_CARD,
        published_params_b=70.55,
        config=_llama(8192, 80, 64, 8, 28672, 128256, 8192),
    ),
    CatalogEntry(
        hf_id="meta-llama/Llama-3.2-1B-Instruct",
        variants=("meta-llama/Llama-3.2-1B",),
        aliases=("llama3.2-1b", "llama-3.2-1b"),
        source=_CARD,
        published_params_b=1.24,
        config=_llama(2048, 16, 32, 8, 8192, 128256, 131072, tied=True, hd=64),
    ),
    CatalogEntry(
        hf_id="meta-llama/Llama-3.2-3B-Instruct",
        variants=("meta-llama/Llama-3.2-3B",),
        aliases=("llama3.2-3b", "llama-3.2-3b"),
        source=_CARD,
        published_params_b=3.21,
        config=_llama(3072, 28, 24, 8, 8192, 128256, 131072, tied=True, hd=128),
    ),
    CatalogEntry(
        hf_id="meta-llama/Llama-3.3-70B-Instruct",
        aliases=("llama3.3-70b", "llama-3.3-70b"),
        source=_CARD,
        published_params_b=70.55,
        config=LLAMA31_70B,
    ),
    CatalogEntry(
        hf_id="RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic",
        aliases=("llama3.3-70b-fp8",),
        source=_CARD + "; compressed-tensors FP8 W8A8 (lm_head kept bf16)",
        published_params_b=70.55,
        config=LLAMA31_70B,
        overrides={"quantization": "fp8", "quant_method": "compressed-tensors"},
    ),
    CatalogEntry(
        hf_id="meta-llama/Meta-Llama-3.1-405B-Instruct-FP8",
        variants=("meta-llama/Llama-3.1-405B-Instruct-FP8",),
        aliases=("llama3.1-405b-fp8",),
        source=_CARD + "; " + META_FP8,
        published_params_b=405.85,
        config=LLAMA31_405B,
        overrides={
            "quantization": "fp8",
            "quant_method": "fbgemm_fp8",
            "quant_scope": "mlp_only",
            "quant_skip_layers": (0, 125),
        },
    ),
    CatalogEntry(
        hf_id="mistralai/Mistral-7B-Instruct-v0.3",
        variants=("mistralai/Mistral-7B-v0.3",),
        aliases=("mistral-7b",),
        source=_CARD,
        published_params_b=7.25,
        config=_llama(4096, 32, 32, 8, 14336, 32768, 32768, model_type="mistral"),
    ),
    CatalogEntry(
        hf_id="mistralai/Mistral-Small-24B-Instruct-2501",
        variants=("mistralai/Mistral-Small-24B-Base-2501",),
        aliases=("mistral-small-24b",),
        source=_CARD,
        published_params_b=23.57,
        config=_llama(5120, 40, 32, 8, 32768, 131072, 32768, hd=128, model_type="mistral"),
    ),
    CatalogEntry(
        hf_id="Qwen/Qwen2-7B-Instruct",
        aliases=("qwen2-7b",),
        source=_CARD,
        published_params_b=7.62,
        config=QWEN2_7B,
    ),
    CatalogEntry(
        hf_id="Qwen/Qwen1.5-7B-Chat-GPTQ-Int4",
        aliases=("qwen1.5-7b-gptq",),
        source=_CARD + "; GPTQ int4, group 128",
        published_params_b=7.72,
        config=_llama(4096, 32, 32, 32, 11008, 151936, 32768, model_type="qwen2"),
        overrides={"quantization": "gptq", "quant_method": "gptq"},
    ),
    CatalogEntry(
        hf_id="Qwen/Qwen2.5-1.5B-Instruct",
        aliases=("qwen2.5-1.5b",),
        source=_CARD,
        published_params_b=1.54,
        config=_llama(1536, 28, 12, 2, 8960, 151936, 32768, tied=True, model_type="qwen2"),
    ),
    CatalogEntry(
        hf_id="Qwen/Qwen2.5-7B-Instruct",
        aliases=("qwen2.5-7b",),
        source=_CARD,
        published_params_b=7.62,
        config=QWEN2_7B,
    ),
    CatalogEntry(
        hf_id="Qwen/Qwen2.5-7B-Instruct-AWQ",
        aliases=("qwen2.5-7b-awq",),
        source=_CARD + "; AWQ int4, group 128",
        published_params_b=7.62,
        config=QWEN2_7B,
        overrides={"quantization": "awq", "quant_method": "awq"},
    ),
    CatalogEntry(
        hf_id="Qwen/Qwen2.5-14B-Instruct",
        aliases=("qwen2.5-14b",),
        source=_CARD,
        published_params_b=14.77,
        config=_llama(5120, 48, 40, 8, 13824, 152064, 32768, model_type="qwen2"),
    ),
    CatalogEntry(
        hf_id="Qwen/Qwen2.5-32B-Instruct",
        aliases=("qwen2.5-32b",),
        source=_CARD,
        published_params_b=32.76,
        config=_llama(5120, 64, 40, 8, 27648, 152064, 32768, model_type="qwen2"),
    ),
    CatalogEntry(
        hf_id="Qwen/Qwen2.5-32B",
        aliases=("qwen2.5-32b-base",),
        source=_CARD + " (base model: same layers as the Instruct row, 131072 positions)",
        published_params_b=32.76,
        config=_llama(5120, 64, 40, 8, 27648, 152064, 131072, model_type="qwen2"),
    ),
    CatalogEntry(
        hf_id="Qwen/Qwen2.5-72B-Instruct",
        aliases=("qwen2.5-72b",),
        source=_CARD,
        published_params_b=72.71,
        config=_llama(8192, 80, 64, 8, 29568, 152064, 32768, model_type="qwen2"),
    ),
    CatalogEntry(
        hf_id="google/gemma-2-9b-it",
        variants=("google/gemma-2-9b",),
        aliases=("gemma2-9b", "gemma-2-9b"),
        source=_CARD,
        published_params_b=9.24,
        config=dict(
            GEMMA2,
            hidden_size=3584,
            num_hidden_layers=42,
            num_attention_heads=16,
            num_key_value_heads=8,
            head_dim=256,
            intermediate_size=14336,
        ),
    ),
    CatalogEntry(
        hf_id="google/gemma-2-27b-it",
        variants=("google/gemma-2-27b",),
        aliases=("gemma2-27b", "gemma-2-27b"),
        source=_CARD,
        published_params_b=27.23,
        config=dict(
            GEMMA2,
            hidden_size=4608,
            num_hidden_layers=46,
            num_attention_heads=32,
            num_key_value_heads=16,
            head_dim=128,
            intermediate_size=36864,
        ),
    ),
    CatalogEntry(
        hf_id="google/gemma-3-1b-it",
        variants=("google/gemma-3-1b-pt",),
        aliases=("gemma3-1b", "gemma-3-1b"),
        source=_CARD,
        published_params_b=1.0,
        config=dict(
            GEMMA3,
            sliding_window=512,
            vocab_size=262144,
            max_position_embeddings=32768,
            hidden_size=1152,
            num_hidden_layers=26,
            num_attention_heads=4,
            num_key_value_heads=1,
            head_dim=256,
            intermediate_size=6912,
        ),
    ),
    CatalogEntry(
        hf_id="google/gemma-3-270m-it",
        variants=("google/gemma-3-270m",),
        aliases=("gemma3-270m", "gemma-3-270m"),
        source=_CARD,
        published_params_b=0.268,
        config=dict(
            GEMMA3,
            sliding_window=512,
            vocab_size=262144,
            max_position_embeddings=32768,
            hidden_size=640,
            num_hidden_layers=18,
            num_attention_heads=4,
            num_key_value_heads=1,
            head_dim=256,
            intermediate_size=2048,
        ),
    ),
    CatalogEntry(
        hf_id="google/gemma-3-4b-it",
        variants=("google/gemma-3-4b-pt",),
        aliases=("gemma3-4b", "gemma-3-4b"),
        source=_CARD + "; + SigLIP vision tower",
        published_params_b=4.3,
        config=dict(
            GEMMA3,
            hidden_size=2560,
            num_hidden_layers=34,
            num_attention_heads=8,
            num_key_value_heads=4,
            head_dim=256,
            intermediate_size=10240,
        ),
        overrides={"vision_params": GEMMA3_VISION},
    ),
    CatalogEntry(
        hf_id="google/gemma-3-12b-it",
        variants=("google/gemma-3-12b-pt",),
        aliases=("gemma3-12b", "gemma-3-12b"),
        source=_CARD + "; + SigLIP vision tower",
        published_params_b=12.19,
        config=dict(
            GEMMA3,
            hidden_size=3840,
            num_hidden_layers=48,
            num_attention_heads=16,
            num_key_value_heads=8,
            head_dim=256,
            intermediate_size=15360,
        ),
        overrides={"vision_params": GEMMA3_VISION},
    ),
    CatalogEntry(
        hf_id="google/gemma-3-27b-it",
        variants=("google/gemma-3-27b-pt",),
        aliases=("gemma3-27b", "gemma-3-27b"),
        source=_CARD + "; + SigLIP vision tower",
        published_params_b=27.43,
        config=dict(
            GEMMA3,
            hidden_size=5376,
            num_hidden_layers=62,
            num_attention_heads=32,
            num_key_value_heads=16,
            head_dim=128,
            intermediate_size=21504,
        ),
        overrides={"vision_params": GEMMA3_VISION},
    ),
    CatalogEntry(
        hf_id="microsoft/Phi-3-mini-4k-instruct",
        aliases=("phi3-mini", "phi-3-mini"),
        source=_CARD,
        published_params_b=3.82,
        config=_llama(3072, 32, 32, 32, 8192, 32064, 4096, model_type="phi3"),
    ),
    CatalogEntry(
        hf_id="microsoft/Phi-3-medium-4k-instruct",
        aliases=("phi3-medium", "phi-3-medium"),
        source=_CARD,
        published_params_b=13.96,
        config=_llama(5120, 40, 40, 10, 17920, 32064, 4096, model_type="phi3"),
    ),
    CatalogEntry(
        hf_id="microsoft/phi-4",
        aliases=("phi4", "phi-4"),
        source=_CARD,
        published_params_b=14.66,
        config=_llama(5120, 40, 40, 10, 17920, 100352, 16384, model_type="phi3"),
    ),
    CatalogEntry(
        hf_id="deepseek-ai/DeepSeek-V2-Lite-Chat",
        variants=("deepseek-ai/DeepSeek-V2-Lite",),
        aliases=("deepseek-v2-lite", "dsv2-lite"),
        source=_CARD,
        published_params_b=15.7,
        published_active_b=2.4,
        config=DEEPSEEK_V2_LITE,
    ),
    CatalogEntry(
        hf_id="deepseek-ai/DeepSeek-Coder-V2-Lite-Instruct",
        variants=("deepseek-ai/DeepSeek-Coder-V2-Lite-Base",),
        aliases=("deepseek-coder-v2-lite",),
        source=_CARD,
        published_params_b=15.7,
        published_active_b=2.4,
        config=DEEPSEEK_V2_LITE,
    ),
    CatalogEntry(
        hf_id="deepseek-ai/DeepSeek-V2-Chat",
        variants=("deepseek-ai/DeepSeek-V2",),
        aliases=("deepseek-v2",),
        source=_CARD,
        published_params_b=236.0,
        published_active_b=21.0,
        config=dict(
            DEEPSEEK_V2_LITE,
            hidden_size=5120,
            num_hidden_layers=60,
            num_attention_heads=128,
            q_lora_rank=1536,
            intermediate_size=12288,
            moe_intermediate_size=1536,
            n_routed_experts=160,
            n_shared_experts=2,
            num_experts_per_tok=6,
            vocab_size=102400,
            max_position_embeddings=163840,
        ),
    ),
    CatalogEntry(
        hf_id="deepseek-ai/deepseek-coder-6.7b-instruct",
        variants=("deepseek-ai/deepseek-coder-6.7b-base",),
        aliases=("deepseek-coder-6.7b",),
        source=_CARD,
        published_params_b=6.74,
        # rope_scaling linear x4 on 16384 positions: vLLM derives max_model_len 65536
        config=_llama(4096, 32, 32, 32, 11008, 32256, 16384, rope_scaling={"type": "linear", "factor": 4.0}),
    ),
    CatalogEntry(
        hf_id="bigcode/starcoder2-3b",
        aliases=("starcoder2-3b",),
        source=_CARD + " (every layer windowed: sliding_window 4096, tied embeddings)",
        published_params_b=3.03,
        config=dict(
            model_type="starcoder2",
            hidden_size=3072,
            num_hidden_layers=30,
            num_attention_heads=24,
            num_key_value_heads=2,
            intermediate_size=12288,
            vocab_size=49152,
            max_position_embeddings=16384,
            sliding_window=4096,
            use_bias=True,
            tie_word_embeddings=True,
            torch_dtype="bfloat16",
        ),
    ),
    CatalogEntry(
        hf_id="Open-Orca/LlongOrca-7B-16k",
        aliases=("llongorca-7b-16k",),
        source=(
            "Llama-2-7B layer shape (model card: fine-tune of LLongMA-2-7b-16k); rope_scaling linear x4 on "
            "16384 positions is inferred from vLLM 0.2.0 accepting --max-model-len 65536 (vLLM#1267)"
        ),
        published_params_b=6.74,
        config=_llama(4096, 32, 32, 32, 11008, 32000, 16384, rope_scaling={"type": "linear", "factor": 4.0}),
    ),
    CatalogEntry(
        hf_id="codellama/CodeLlama-13b-Instruct-hf",
        variants=("codellama/CodeLlama-13b-hf",),
        aliases=("codellama-13b",),
        source=_CARD,
        published_params_b=13.02,
        config=_llama(5120, 40, 40, 40, 13824, 32016, 16384),
    ),
)

# (file stem, aliases, published total B, published active B or None, overrides)
BUNDLED_ROWS: tuple[tuple[str, tuple[str, ...], float | None, float | None, dict[str, Any]], ...] = (
    ("Qwen--Qwen3-0.6B", ("qwen3-0.6b",), 0.6, None, {}),
    ("Qwen--Qwen3-1.7B", ("qwen3-1.7b",), 1.7, None, {}),
    ("Qwen--Qwen3-8B", ("qwen3-8b",), 8.19, None, {}),
    ("Qwen--Qwen3-32B", ("qwen3-32b",), 32.8, None, {}),
    ("Qwen--Qwen3-32B-FP8", ("qwen3-32b-fp8",), 32.8, None, {}),
    ("Qwen--Qwen3-30B-A3B", ("qwen3-30b-a3b",), 30.5, 3.3, {}),
    ("Qwen--Qwen3-235B-A22B", ("qwen3-235b-a22b", "qwen3-235b"), 235.0, 22.0, {}),
    ("Qwen--Qwen3-235B-A22B-FP8", ("qwen3-235b-a22b-fp8", "qwen3-235b-fp8"), 235.0, 22.0, {}),
    ("Qwen--Qwen3-Coder-480B-A35B-Instruct", ("qwen3-coder-480b",), 480.0, 35.0, {}),
    ("deepseek-ai--DeepSeek-V3", ("deepseek-v3", "dsv3"), 671.0, 37.0, {}),
    ("deepseek-ai--DeepSeek-R1", ("deepseek-r1", "dsr1"), 671.0, 37.0, {}),
    ("moonshotai--Kimi-K2-Instruct", ("kimi-k2",), 1040.0, 32.0, {}),
    ("google--gemma-4-26B-A4B", ("gemma4-26b-a4b",), None, None, {}),
    ("meta-llama--Llama-4-Maverick-17B-128E-Instruct", ("llama4-maverick",), 400.0, 17.0, {}),
    ("meta-llama--Llama-4-Scout-17B-16E-Instruct", ("llama4-scout",), 109.0, 17.0, {}),
    ("meta-llama--Meta-Llama-3.1-8B", ("llama3.1-8b", "llama-3.1-8b"), 8.03, None, {}),
    ("meta-llama--Meta-Llama-3.1-70B", ("llama3.1-70b", "llama-3.1-70b"), 70.55, None, {}),
    ("meta-llama--Meta-Llama-3.1-405B", ("llama3.1-405b", "llama-3.1-405b"), 405.85, None, {}),
    ("mistralai--Mixtral-8x7B-v0.1", ("mixtral-8x7b",), 46.7, 12.9, {}),
    ("mistralai--Mixtral-8x22B-v0.1", ("mixtral-8x22b",), 140.6, 39.0, {}),
    # ModelOpt FP8 checkpoint: its hf_quant_config.json (not config.json) says FP8 on every linear layer.
    (
        "nvidia--Llama-3.1-70B-Instruct-FP8",
        ("llama3.1-70b-fp8",),
        70.55,
        None,
        {
            "quantization": "fp8",
            "quant_method": "modelopt",
            "base_model": "meta-llama/Llama-3.1-70B-Instruct",
        },
    ),
    ("nvidia--Llama-3_3-Nemotron-Super-49B-v1", ("nemotron-super-49b",), 49.87, None, {}),
    ("openai--gpt-oss-120b", ("gpt-oss-120b",), 116.83, 5.13, {}),
    ("openai--gpt-oss-20b", ("gpt-oss-20b",), 20.91, 3.61, {}),
)


# Bundled configs whose catalog id is another repo of the same architecture: the Instruct model is what
# people serve, so aliases resolve to it; the file's own repo (the base model) stays a variant. Meta renamed
# its Llama 3.1 repos from Meta-Llama-3.1-* to Llama-3.1-*; the Hub redirects, both spellings are kept.
SERVED_IDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "meta-llama--Meta-Llama-3.1-8B": (
        "meta-llama/Llama-3.1-8B-Instruct",
        ("meta-llama/Meta-Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B", "meta-llama/Meta-Llama-3.1-8B"),
    ),
    "meta-llama--Meta-Llama-3.1-70B": (
        "meta-llama/Llama-3.1-70B-Instruct",
        (
            "meta-llama/Meta-Llama-3.1-70B-Instruct",
            "meta-llama/Llama-3.1-70B",
            "meta-llama/Meta-Llama-3.1-70B",
        ),
    ),
    "meta-llama--Meta-Llama-3.1-405B": (
        "meta-llama/Llama-3.1-405B-Instruct",
        (
            "meta-llama/Meta-Llama-3.1-405B-Instruct",
            "meta-llama/Llama-3.1-405B",
            "meta-llama/Meta-Llama-3.1-405B",
        ),
    ),
    "mistralai--Mixtral-8x7B-v0.1": (
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        ("mistralai/Mixtral-8x7B-v0.1",),
    ),
    "deepseek-ai--DeepSeek-V3": ("deepseek-ai/DeepSeek-V3", ("deepseek-ai/DeepSeek-V3-0324",)),
    "deepseek-ai--DeepSeek-R1": ("deepseek-ai/DeepSeek-R1", ("deepseek-ai/DeepSeek-R1-0528",)),
}
# Old repo name -> current one (same weights): the 16-bit repo a quantized checkpoint names as its base.
RENAMED = {
    "meta-llama/Meta-Llama-3.1-8B-Instruct": "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Meta-Llama-3.1-70B-Instruct": "meta-llama/Llama-3.1-70B-Instruct",
    "meta-llama/Meta-Llama-3.1-405B-Instruct": "meta-llama/Llama-3.1-405B-Instruct",
    "meta-llama/Meta-Llama-3.1-8B": "meta-llama/Llama-3.1-8B",
    "meta-llama/Meta-Llama-3.1-70B": "meta-llama/Llama-3.1-70B",
    "meta-llama/Meta-Llama-3.1-405B": "meta-llama/Llama-3.1-405B",
}


def _bundled_entries() -> tuple[CatalogEntry, ...]:
    return tuple(
        CatalogEntry(
            hf_id=SERVED_IDS.get(stem, (stem.replace("--", "/", 1),))[0],
            variants=SERVED_IDS.get(stem, ("", ()))[1],
            aliases=aliases,
            source=f"{BUNDLED}: {stem}.json",
            published_params_b=total,
            published_active_b=active,
            config_file=f"{stem}.json",
            overrides=overrides,
        )
        for stem, aliases, total, active, overrides in BUNDLED_ROWS
    )


@lru_cache(maxsize=1)
def catalog_entries() -> tuple[CatalogEntry, ...]:
    return TYPED + _bundled_entries()


@lru_cache(maxsize=1)
def _index() -> dict[str, tuple[CatalogEntry, str]]:
    """Lower-cased id, short id (after the slash) or alias -> (catalog row, repo id that name stands for)."""
    index: dict[str, tuple[CatalogEntry, str]] = {}
    by_id = _build_index_by_id()
    named = [(entry, repo) for entry in catalog_entries() for repo in (entry.hf_id, *entry.variants)]
    named += [(by_id[c.base_model], c.hf_id) for c in QUANTIZED if c.base_model in by_id]
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
        import json

        cfg = json.loads((CONFIG_DIR / entry.config_file).read_text())
    else:
        cfg = dict(entry.config or {})
    overrides = dict(entry.overrides)
    arch = arch_from_config(cfg, hf_id=entry.hf_id, source=entry.source, aliases=entry.aliases, **overrides)
    if "base_model" not in overrides:
        ckpt = _QUANTIZED_BY_ID.get(entry.hf_id)
        base = ckpt.base_model if ckpt else (entry.hf_id if arch.quantization == "none" else None)
        arch = arch.model_copy(update={"base_model": base})
    return arch


_QUANTIZED_BY_ID = {ckpt.hf_id: ckpt for ckpt in QUANTIZED}


@cache
def _served(entry_id: str, repo: str) -> ModelArch:
    """The catalog row's architecture under the repo name given (a variant or a quantized checkpoint)."""
    arch = _build_by_id(entry_id)
    if repo == entry_id:
        return arch
    ckpt = _QUANTIZED_BY_ID.get(repo)
    if ckpt is None:  # same weights format: a base/instruct twin or an old name
        return arch.model_copy(update={"hf_id": repo, "base_model": RENAMED.get(repo, repo)})
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
    pre-quantized checkpoint (sizing/checkpoints.py) with its own weights format; an alias gives the
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
