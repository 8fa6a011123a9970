"""Reads a Hugging Face config.json (a dict) into a ModelArch, one small builder per model family.

Formulas follow the module shapes of vLLM's model files (vllm/model_executor/models/<family>.py):
gated MLPs hold 3 x hidden x intermediate weights, q/o are hidden x heads*head_dim, k/v are
hidden x kv_heads*head_dim, MoE routers are hidden x experts.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sizing.arch import LOCAL_CONFIG_SOURCE, AttentionSpec, LayerSpec, ModelArch
from sizing.errors import SizingError

Config = Mapping[str, Any]


def _req(cfg: Config, key: str, model_type: str) -> Any:
    value = cfg.get(key)
    if value is None:
        raise SizingError(f"config.json of model_type {model_type!r} lacks required field {key!r}")
    return value


def _head_dim(cfg: Config, model_type: str) -> int:
    if cfg.get("head_dim"):
        return int(cfg["head_dim"])
    return int(_req(cfg, "hidden_size", model_type)) // int(_req(cfg, "num_attention_heads", model_type))


def _attn_params(
    h: int, heads: int, kv: int, hd: int, qkv_bias: bool, o_bias: bool = False, v_proj: bool = True
) -> tuple[int, int]:
    """(q+o params, k+v params) of a standard multi-head/GQA attention block."""
    q_o = 2 * h * heads * hd + (heads * hd if qkv_bias else 0) + (h if o_bias else 0)
    n_proj = 2 if v_proj else 1
    k_v = n_proj * (h * kv * hd + (kv * hd if qkv_bias else 0))
    return q_o, k_v


def _layer_types(cfg: Config, n: int, model_type: str) -> list[str]:
    """Per-layer attention kind: explicit layer_types, else the family's documented pattern."""
    if cfg.get("layer_types"):
        kinds = ["sliding" if t == "sliding_attention" else "full" for t in cfg["layer_types"]]
        if len(kinds) != n:
            raise SizingError(f"layer_types has {len(kinds)} entries but num_hidden_layers is {n}")
        return kinds
    window = cfg.get("sliding_window")
    if not window or cfg.get("use_sliding_window") is False:
        return ["full"] * n
    if model_type == "gemma2":  # Gemma2DecoderLayer: even layers use the sliding window
        return ["sliding" if i % 2 == 0 else "full" for i in range(n)]
    if model_type in ("gemma3", "gemma3_text"):  # every `sliding_window_pattern`-th layer is global
        pattern = int(cfg.get("sliding_window_pattern", 6))
        return ["full" if (i + 1) % pattern == 0 else "sliding" for i in range(n)]
    return ["sliding"] * n  # Mistral v0.1 style: every layer windowed


def _attention_spec(kind: str, kv: int, hd: int, window: int | None) -> AttentionSpec:
    return AttentionSpec(
        kind=kind,
        num_kv_heads=kv,
        head_dim=hd,
        v_head_dim=hd,
        window_tokens=window if kind in ("sliding", "chunked") else None,
    )


def _dense_family(cfg: Config, model_type: str) -> dict[str, Any]:
    """Llama, Mistral, Qwen2/3, Phi-3/4, Gemma 1/2/3: same layer shape, different norms and windows."""
    h = int(_req(cfg, "hidden_size", model_type))
    n = int(_req(cfg, "num_hidden_layers", model_type))
    heads = int(_req(cfg, "num_attention_heads", model_type))
    kv = int(cfg.get("num_key_value_heads") or heads)
    hd = _head_dim(cfg, model_type)
    inter = int(_req(cfg, "intermediate_size", model_type))
    qkv_bias = bool(cfg.get("attention_bias") or cfg.get("qkv_bias") or model_type == "qwen2")
    q_o, k_v = _attn_params(h, heads, kv, hd, qkv_bias)
    gemma = model_type.startswith("gemma")
    # q_norm + k_norm: one head_dim RMSNorm weight each per layer (vLLM qwen3.py, qwen3_moe.py, gemma3.py)
    qk_norm = 2 * hd if model_type in ("qwen3", "qwen3_moe", "gemma3", "gemma3_text") else 0
    norms = (4 if model_type in ("gemma2", "gemma3", "gemma3_text") else 2) * h + qk_norm
    window = cfg.get("sliding_window")
    layers = tuple(
        LayerSpec(
            attention=_attention_spec(kind, kv, hd, window),
            attn_sharded_params=q_o,
            kv_proj_params=k_v,
            dense_mlp_params=3 * h * inter,
            norm_params=norms,
        )
        for kind in _layer_types(cfg, n, model_type)
    )
    return dict(
        hidden_size=h,
        num_hidden_layers=n,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        head_dim=hd,
        intermediate_size=inter,
        layers=layers,
        sliding_window=window,
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", gemma)),
    )


def _expert_mlp(
    h: int, moe_inter: int, n_exp: int, top_k: int, shared: int = 0, router_bias: int = 0
) -> dict[str, int]:
    """LayerSpec fields of a routed-expert MLP in place of the dense one: n_exp SwiGLU experts of 3 x hidden x
    moe_inter (top_k active), a replicated router of hidden x n_exp (+ an e_score_correction_bias of
    `router_bias`), and `shared` shared-expert parameters."""
    per = 3 * h * moe_inter
    return dict(
        dense_mlp_params=0,
        routed_expert_params=n_exp * per,
        active_expert_params=top_k * per,
        shared_expert_params=shared,
        router_params=h * n_exp + router_bias,
    )


def _with_experts(
    base: dict[str, Any], layers: list[LayerSpec], n_exp: int, top_k: int, moe_inter: int, **more: Any
) -> dict[str, Any]:
    """A builder's facts with its expert layers and the model-level expert counts."""
    return {
        **base,
        "layers": tuple(layers),
        "num_experts": n_exp,
        "num_experts_per_tok": top_k,
        "moe_intermediate_size": moe_inter,
        **more,
    }


def _moe_family(cfg: Config, model_type: str) -> dict[str, Any]:
    """Mixtral, Qwen2-MoE, Qwen3-MoE: dense attention with a routed (+ optional shared) expert MLP."""
    base = _dense_family({**cfg, "intermediate_size": cfg.get("intermediate_size") or 0}, model_type)
    h = base["hidden_size"]
    n_exp = int(cfg.get("num_local_experts") or _req(cfg, "num_experts", model_type))
    top_k = int(_req(cfg, "num_experts_per_tok", model_type))
    moe_inter = int(cfg.get("moe_intermediate_size") or base["intermediate_size"])
    shared_inter = int(cfg.get("shared_expert_intermediate_size") or 0)
    step = int(cfg.get("decoder_sparse_step") or 1)
    dense_only = set(cfg.get("mlp_only_layers") or ())
    layers = []
    for i, layer in enumerate(base["layers"]):
        if i in dense_only or (i + 1) % step != 0:
            layers.append(layer)
            continue
        shared = 3 * h * shared_inter + (h if shared_inter else 0)  # + shared_expert_gate
        layers.append(layer.model_copy(update=_expert_mlp(h, moe_inter, n_exp, top_k, shared)))
    return _with_experts(base, layers, n_exp, top_k, moe_inter)


def _mla_family(cfg: Config, model_type: str) -> dict[str, Any]:
    """DeepSeek V2/V3/R1 and Kimi K2: MLA attention, first_k_dense_replace dense layers, then MoE."""
    h = int(_req(cfg, "hidden_size", model_type))
    n = int(_req(cfg, "num_hidden_layers", model_type))
    heads = int(_req(cfg, "num_attention_heads", model_type))
    lora = int(_req(cfg, "kv_lora_rank", model_type))
    rope = int(_req(cfg, "qk_rope_head_dim", model_type))
    nope = int(_req(cfg, "qk_nope_head_dim", model_type))
    v_hd = int(_req(cfg, "v_head_dim", model_type))
    q_lora = int(cfg.get("q_lora_rank") or 0)
    q_hd = nope + rope
    # vLLM deepseek_v2.py: q_a_proj / kv_a_proj_with_mqa are ReplicatedLinear; q_b, kv_b, o are split.
    if q_lora:
        replicated, q_split, q_norm = h * q_lora + h * (lora + rope), q_lora * heads * q_hd, q_lora
    else:
        replicated, q_split, q_norm = h * (lora + rope), h * heads * q_hd, 0
    split = q_split + lora * heads * (nope + v_hd) + heads * v_hd * h
    spec = AttentionSpec(kind="mla", num_kv_heads=1, head_dim=lora + rope, v_head_dim=0)
    n_exp = int(_req(cfg, "n_routed_experts", model_type))
    top_k = int(_req(cfg, "num_experts_per_tok", model_type))
    moe_inter = int(_req(cfg, "moe_intermediate_size", model_type))
    n_shared = int(cfg.get("n_shared_experts") or 0)
    first_dense = int(cfg.get("first_k_dense_replace") or 0)
    freq = int(cfg.get("moe_layer_freq") or 1)
    inter = int(_req(cfg, "intermediate_size", model_type))
    bias = n_exp if cfg.get("topk_method") == "noaux_tc" else 0  # e_score_correction_bias
    layers = []
    for i in range(n):
        common = dict(
            attention=spec,
            attn_sharded_params=split,
            attn_replicated_params=replicated,
            norm_params=2 * h + lora + q_norm,
        )
        if i >= first_dense and i % freq == 0:
            shared = n_shared * 3 * h * moe_inter
            layers.append(LayerSpec(**common, **_expert_mlp(h, moe_inter, n_exp, top_k, shared, bias)))
        else:
            layers.append(LayerSpec(**common, dense_mlp_params=3 * h * inter))
    return dict(
        hidden_size=h,
        num_hidden_layers=n,
        num_attention_heads=heads,
        num_key_value_heads=1,
        head_dim=q_hd,
        intermediate_size=inter,
        layers=tuple(layers),
        num_experts=n_exp,
        num_experts_per_tok=top_k,
        moe_intermediate_size=moe_inter,
        kv_lora_rank=lora,
        q_lora_rank=q_lora,
        qk_rope_head_dim=rope,
        qk_nope_head_dim=nope,
        v_head_dim=v_hd,
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
    )


def _gpt_oss(cfg: Config, model_type: str) -> dict[str, Any]:
    """gpt-oss: biased attention with sinks, alternating 128-token sliding window, biased MoE experts."""
    base = _dense_family(
        {**cfg, "intermediate_size": cfg.get("intermediate_size") or 0, "attention_bias": True}, model_type
    )
    h, heads, inter = base["hidden_size"], base["num_attention_heads"], base["intermediate_size"]
    n_exp = int(_req(cfg, "num_local_experts", model_type))
    top_k = int(cfg.get("num_experts_per_tok") or _req(cfg, "experts_per_token", model_type))
    per = 3 * h * inter + 2 * inter + h  # gate_up (+bias) and down (+bias)
    layers = tuple(
        layer.model_copy(
            update=dict(
                attn_sharded_params=layer.attn_sharded_params + h,
                dense_mlp_params=0,  # + o_proj bias
                routed_expert_params=n_exp * per,
                active_expert_params=top_k * per,
                router_params=h * n_exp + n_exp,
                norm_params=2 * h + heads,
            )
        )
        for layer in base["layers"]
    )
    return {
        **base,
        "layers": layers,
        "num_experts": n_exp,
        "num_experts_per_tok": top_k,
        "moe_intermediate_size": inter,
    }


def _llama4(cfg: Config, model_type: str) -> dict[str, Any]:
    """Llama 4 text: chunked local attention on 3 of 4 layers (NoPE global every 4th), MoE interleaved."""
    text = cfg.get("text_config") or cfg
    base = _dense_family({**text, "intermediate_size": text.get("intermediate_size_mlp")}, "llama")
    h = base["hidden_size"]
    n_exp = int(_req(text, "num_local_experts", model_type))
    top_k = int(_req(text, "num_experts_per_tok", model_type))
    moe_inter = int(_req(text, "intermediate_size", model_type))
    step = int(text.get("interleave_moe_layer_step") or 1)
    chunk = int(text.get("attention_chunk_size") or 0)
    layers = []
    for i, layer in enumerate(base["layers"]):
        update: dict[str, Any] = {}
        if chunk and (i + 1) % 4 != 0:  # no_rope_layers: every 4th layer is global (vLLM llama4.py)
            update["attention"] = layer.attention.model_copy(update=dict(kind="chunked", window_tokens=chunk))
        if (i + 1) % step == 0:  # one shared expert of the routed experts' size
            update.update(_expert_mlp(h, moe_inter, n_exp, top_k, shared=3 * h * moe_inter))
        layers.append(layer.model_copy(update=update))
    return _with_experts(
        base, layers, n_exp, top_k, moe_inter, max_position_embeddings=text.get("max_position_embeddings")
    )


def _gemma4(cfg: Config, model_type: str) -> dict[str, Any]:
    """Gemma 4 text: 5 sliding : 1 global layers; global layers use their own head_dim/kv heads; MoE block."""
    text = cfg.get("text_config") or cfg
    if int(text.get("hidden_size_per_layer_input") or 0):  # Gemma 4 E2B / E4B
        raise SizingError(
            f"{model_type}: per-layer input embeddings (hidden_size_per_layer_input "
            f"{text['hidden_size_per_layer_input']}, Gemma 4 E2B/E4B) are not modelled: their "
            "embed_tokens_per_layer table and per-layer projections would be left out of the weights"
        )
    base = _dense_family({**text, "model_type": "gemma3_text"}, "gemma3_text")
    h, heads = base["hidden_size"], base["num_attention_heads"]
    g_hd = int(text.get("global_head_dim") or base["head_dim"])
    g_kv = int(text.get("num_global_key_value_heads") or base["num_key_value_heads"])
    k_eq_v = bool(text.get("attention_k_eq_v"))
    n_exp = int(text.get("num_experts") or 0)
    top_k = int(text.get("top_k_experts") or 0)
    moe_inter = int(text.get("moe_intermediate_size") or 0)
    shared_from = len(base["layers"]) - int(text.get("num_kv_shared_layers") or 0)
    layers = []
    for i, layer in enumerate(base["layers"]):
        update: dict[str, Any] = {"kv_proj_params": layer.kv_proj_params}
        if layer.attention.kind == "full":
            q_o, k_v = _attn_params(h, heads, g_kv, g_hd, False, v_proj=not k_eq_v)
            update.update(
                attn_sharded_params=q_o,
                kv_proj_params=k_v,
                attention=AttentionSpec(kind="full", num_kv_heads=g_kv, head_dim=g_hd, v_head_dim=g_hd),
            )
        if i >= shared_from:
            att = update.get("attention", layer.attention)
            update["attention"] = att.model_copy(update={"kv_shared": True})
        if n_exp and text.get("enable_moe_block"):  # the expert block runs beside the dense MLP
            experts = _expert_mlp(h, moe_inter, n_exp, top_k)
            update.update(experts, dense_mlp_params=layer.dense_mlp_params)
        layers.append(layer.model_copy(update=update))
    return _with_experts(
        base,
        layers,
        n_exp,
        top_k,
        moe_inter,
        max_position_embeddings=text.get("max_position_embeddings"),
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", True)),
    )


def _nemotron_nas(cfg: Config, model_type: str) -> dict[str, Any]:
    """Llama-Nemotron (DeciLM): per-layer block_configs; some attention blocks are no-ops."""
    h = int(_req(cfg, "hidden_size", model_type))
    heads = int(_req(cfg, "num_attention_heads", model_type))
    hd = _head_dim(cfg, model_type)
    blocks = _req(cfg, "block_configs", model_type)
    layers, kv_seen = [], []
    for block in blocks:
        attn, ffn = block["attention"], block["ffn"]
        # vLLM nemotron_nas.py _ffn_mult_to_intermediate_size: int(2*mult*h/3) rounded up to 256
        inter = 0 if ffn.get("no_op") else 256 * math.ceil(int(2 * ffn["ffn_mult"] * h / 3) / 256)
        spec = dict(dense_mlp_params=3 * h * inter, norm_params=(1 if attn.get("no_op") else 2) * h)
        if not attn.get("no_op"):
            kv = heads // int(attn["n_heads_in_group"])
            kv_seen.append(kv)
            q_o, k_v = _attn_params(h, heads, kv, hd, False)
            spec.update(
                attention=_attention_spec("full", kv, hd, None), attn_sharded_params=q_o, kv_proj_params=k_v
            )
        layers.append(LayerSpec(**spec))
    return dict(
        hidden_size=h,
        num_hidden_layers=len(layers),
        num_attention_heads=heads,
        num_key_value_heads=min(kv_seen or [heads]),
        head_dim=hd,
        intermediate_size=0,
        layers=tuple(layers),
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
    )


def _starcoder2(cfg: Config, model_type: str) -> dict[str, Any]:
    """StarCoder2 (vLLM starcoder2.py): biased q/k/v/o, a plain c_fc -> GELU -> c_proj MLP with biases,
    LayerNorms with bias; with `sliding_window` set every layer is windowed.
    """
    base = _dense_family({**cfg, "attention_bias": cfg.get("use_bias", True)}, model_type)
    h, inter = base["hidden_size"], base["intermediate_size"]
    mlp = 2 * h * inter + inter + h  # c_fc and c_proj with biases, no gate
    layers = tuple(
        layer.model_copy(
            update=dict(
                attn_sharded_params=layer.attn_sharded_params + h, dense_mlp_params=mlp, norm_params=4 * h
            )
        )
        for layer in base["layers"]
    )
    return {**base, "layers": layers, "tie_word_embeddings": bool(cfg.get("tie_word_embeddings", True))}


# transformers models/gemma3/configuration_gemma3.py, Gemma3TextConfig.__init__ defaults: the published
# multimodal config.json (google/gemma-3-4b/12b/27b-it) nests the language model under `text_config` and
# omits these, so vLLM (which reads the config through transformers) runs with the defaults.
GEMMA3_TEXT_DEFAULTS: dict[str, Any] = {
    "vocab_size": 262_208,
    "max_position_embeddings": 131_072,
    "sliding_window_pattern": 6,
    "head_dim": 256,
    "num_key_value_heads": 4,
    "tie_word_embeddings": True,
}


def _gemma3(cfg: Config, model_type: str) -> dict[str, Any]:
    """Gemma 3: text-only (gemma3_text, flat) or multimodal (gemma3: the LM under text_config + SigLIP).

    The multimodal projector (vLLM gemma3_mm.py Gemma3MultiModalProjector: mm_input_projection_weight
    vision_hidden x text_hidden + mm_soft_emb_norm) is counted with the vision tower.
    """
    text = {**GEMMA3_TEXT_DEFAULTS, **(cfg.get("text_config") or cfg)}
    facts = _dense_family(text, "gemma3_text")
    facts["vocab_size"] = int(text["vocab_size"])
    facts["max_position_embeddings"] = text.get("max_position_embeddings")
    vision = cfg.get("vision_config")
    if isinstance(vision, Mapping):
        v_h = int(vision.get("hidden_size") or 0)
        facts["vision_params"] = _vision_params(vision) + v_h * facts["hidden_size"] + v_h
    return facts


def _glm4_moe(cfg: Config, model_type: str) -> dict[str, Any]:
    """GLM-4.5 / 4.6 / 4.7 (vLLM glm4_moe.py): GQA attention (qkv bias when attention_bias, optional
    q/k norm), first_k_dense_replace dense layers, then n_routed_experts + n_shared_experts with a sigmoid
    router carrying e_score_correction_bias. The MTP layer (num_nextn_predict_layers) is not loaded by
    Glm4MoeForCausalLM (its weights are skipped in load_weights), so it is not counted.
    """
    base = _dense_family({**cfg, "model_type": model_type}, model_type)
    h, hd = base["hidden_size"], base["head_dim"]
    n_exp = int(_req(cfg, "n_routed_experts", model_type))
    top_k = int(_req(cfg, "num_experts_per_tok", model_type))
    moe_inter = int(_req(cfg, "moe_intermediate_size", model_type))
    n_shared = int(cfg.get("n_shared_experts") or 0)
    first_dense = int(cfg.get("first_k_dense_replace") or 0)
    qk_norm = 2 * hd if cfg.get("use_qk_norm") else 0
    layers = []
    for i, layer in enumerate(base["layers"]):
        update: dict[str, Any] = {"norm_params": layer.norm_params + qk_norm}
        if i >= first_dense:  # sigmoid router with e_score_correction_bias (one per expert)
            shared = n_shared * 3 * h * moe_inter
            update.update(_expert_mlp(h, moe_inter, n_exp, top_k, shared, router_bias=n_exp))
        layers.append(layer.model_copy(update=update))
    return _with_experts(base, layers, n_exp, top_k, moe_inter)


# GLM-5 (glm_moe_dsa) indexer shape where a config copy omits it: index_n_heads 32, index_head_dim 128,
# index_topk 2048 (the published zai-org GLM-5 config.json; the same values as DeepSeek-V3.2's indexer
# except its 64 heads).
GLM5_INDEXER_DEFAULTS = {"index_n_heads": 32, "index_head_dim": 128}
INDEXER_QUANT_BLOCK = 128  # vLLM deepseek_v2.py Indexer: fp8 K with one fp32 scale per 128 elements


def _glm_moe_dsa(cfg: Config, model_type: str) -> dict[str, Any]:
    """GLM-5 (vLLM maps GlmMoeDsaForCausalLM onto deepseek_v2.py): MLA + a DeepSeek-V3.2-style sparse
    attention indexer per layer (wq_b q_lora x heads*dim, wk hidden x dim, k_norm, weights_proj hidden x
    heads, all ReplicatedLinear) whose fp8 K cache adds index_head_dim + 4 bytes per 128 per token.
    """
    facts = _mla_family({**cfg, "topk_method": cfg.get("topk_method") or "noaux_tc"}, model_type)
    heads = int(cfg.get("index_n_heads") or GLM5_INDEXER_DEFAULTS["index_n_heads"])
    dim = int(cfg.get("index_head_dim") or GLM5_INDEXER_DEFAULTS["index_head_dim"])
    h, q_lora = facts["hidden_size"], int(cfg.get("q_lora_rank") or facts["hidden_size"])
    indexer = q_lora * heads * dim + h * dim + 2 * dim + h * heads
    cache = dim + dim // INDEXER_QUANT_BLOCK * 4
    facts["layers"] = tuple(
        layer.model_copy(
            update=dict(
                attn_replicated_params=layer.attn_replicated_params + indexer,
                attention=layer.attention.model_copy(update={"indexer_bytes": cache}),
            )
        )
        for layer in facts["layers"]
    )
    return facts


def _qwen3_next(cfg: Config, model_type: str) -> dict[str, Any]:
    """Qwen3-Next (vLLM qwen3_next.py): every full_attention_interval-th layer is gated full attention
    (q_proj doubled for the output gate, q/k norm), the others Gated DeltaNet linear attention, whose
    recurrent state vLLM keeps in MambaSpec pages through the hybrid KV manager; every layer is MoE with
    a gated shared expert.

    Gated DeltaNet per layer: in_proj_qkvz hidden x (2 key_dim + 2 value_dim), in_proj_ba hidden x 2 nv,
    conv1d conv_dim x kernel (conv_dim = 2 key_dim + value_dim), dt_bias and A_log (nv), out_proj
    value_dim x hidden: all split by TP; the gated RMSNorm (head_v_dim) is replicated. State per request
    (MambaStateShapeCalculator.gated_delta_net_state_shape): conv (conv_dim / tp) x (kernel - 1) and
    temporal (nv / tp) x head_k_dim x head_v_dim, in the model dtype with mamba_ssm_cache_dtype auto.
    """
    base = _moe_family({**cfg, "layer_types": None, "sliding_window": None}, "qwen3_moe")
    return _gated_deltanet_hybrid(cfg, model_type, base)


def _gated_deltanet_hybrid(cfg: Config, model_type: str, base: dict[str, Any]) -> dict[str, Any]:
    """Turns the linear_attention layers of `base` (a qwen3 / qwen3_moe layer stack) into Gated DeltaNet
    layers and gives the full_attention ones their output gate (Qwen3-Next, Qwen3.5)."""
    n = base["num_hidden_layers"]
    types = cfg.get("layer_types")
    if not types:
        interval = int(cfg.get("full_attention_interval") or 4)
        types = ["full_attention" if (i + 1) % interval == 0 else "linear_attention" for i in range(n)]
    if len(types) != n:
        raise SizingError(f"layer_types has {len(types)} entries but num_hidden_layers is {n}")
    h, heads, hd = base["hidden_size"], base["num_attention_heads"], base["head_dim"]
    nk = int(_req(cfg, "linear_num_key_heads", model_type))
    nv = int(_req(cfg, "linear_num_value_heads", model_type))
    dk = int(_req(cfg, "linear_key_head_dim", model_type))
    dv = int(_req(cfg, "linear_value_head_dim", model_type))
    kernel = int(_req(cfg, "linear_conv_kernel_dim", model_type))
    key_dim, value_dim = nk * dk, nv * dv
    conv_dim = 2 * key_dim + value_dim
    linear_params = (
        h * (2 * key_dim + 2 * value_dim) + h * 2 * nv + conv_dim * kernel + 2 * nv + value_dim * h
    )
    conv_state, temporal_state = conv_dim * (kernel - 1), nv * dk * dv
    ssm_dtype = str(cfg.get("mamba_ssm_dtype") or "auto")
    if ssm_dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise SizingError(f"{model_type}: mamba_ssm_dtype {ssm_dtype!r} is not modelled (float32 or auto)")
    fp32 = ssm_dtype == "float32"  # vLLM Qwen3_5ForConditionalGenerationConfig: temporal state in fp32
    spec = AttentionSpec(
        kind="mamba",
        num_kv_heads=1,
        head_dim=1,
        v_head_dim=0,
        state_elements=conv_state + (0 if fp32 else temporal_state),
        state_fp32_elements=temporal_state if fp32 else 0,
    )
    layers = []
    for layer, kind in zip(base["layers"], types, strict=True):
        if kind == "linear_attention":
            update = dict(
                attention=spec, attn_sharded_params=linear_params, kv_proj_params=0, norm_params=2 * h + dv
            )
        elif kind == "full_attention":
            update = dict(attn_sharded_params=layer.attn_sharded_params + h * heads * hd)
        else:
            raise SizingError(f"layer_types entry {kind!r} is not full_attention or linear_attention")
        layers.append(layer.model_copy(update=update))
    return {**base, "layers": tuple(layers)}


def _qwen3_vl_vision_params(vision: Any) -> int:
    """Qwen3-VL / Qwen3.5 vision tower (vLLM qwen3_vl.py Qwen3_VisionTransformer), loaded in the model
    dtype: Conv3d patch embed (+bias), learned position embedding, `depth` blocks of LayerNorm x 2 (+bias),
    qkv and proj (+bias) and a fc1/fc2 MLP (+bias), then the patch merger (LayerNorm over hidden, fc1
    hidden*m^2 square, fc2 to out_hidden_size, both biased). Deepstack mergers (Qwen3-VL) are not modelled:
    a config that lists deepstack_visual_indexes is refused.
    """
    if not isinstance(vision, Mapping) or not vision.get("depth"):
        return 0
    h, inter, depth = int(vision["hidden_size"]), int(vision["intermediate_size"]), int(vision["depth"])
    patch, t_patch = int(vision.get("patch_size") or 16), int(vision.get("temporal_patch_size") or 2)
    merged = h * int(vision.get("spatial_merge_size") or 2) ** 2
    out = int(vision.get("out_hidden_size") or h)
    embed = int(vision.get("in_channels") or 3) * t_patch * patch * patch * h + h
    embed += int(vision.get("num_position_embeddings") or 0) * h
    block = 4 * h + (3 * h * h + 3 * h) + (h * h + h) + (h * inter + inter) + (inter * h + h)
    merger = 2 * h + merged * merged + merged + merged * out + out
    if vision.get("deepstack_visual_indexes"):
        raise SizingError("vision_config.deepstack_visual_indexes (deepstack mergers) is not modelled")
    return embed + depth * block + merger


def _qwen3_5(cfg: Config, model_type: str) -> dict[str, Any]:
    """Qwen3.5 / Qwen3.6 (vLLM qwen3_5.py, qwen3_5_moe.py): the Qwen3-Next hybrid (3 Gated DeltaNet : 1
    gated full attention, q/k norm) under text_config, with a dense SwiGLU MLP (qwen3_5) or routed experts
    plus a gated shared expert (qwen3_5_moe), and a Qwen3-VL-style vision tower that vLLM loads unless
    --language-model-only. The temporal state is kept in text_config.mamba_ssm_dtype (float32 in the
    published configs). The MTP head (mtp_num_hidden_layers) loads only for speculative decoding: not
    counted.
    """
    text = {**(cfg.get("text_config") or cfg)}
    if model_type == "qwen3_5_moe":
        base = _moe_family({**text, "layer_types": None, "sliding_window": None}, "qwen3_moe")
    else:
        base = _dense_family({**text, "layer_types": None, "sliding_window": None}, "qwen3")
    facts = _gated_deltanet_hybrid(text, model_type, base)
    facts["vision_params"] = _qwen3_vl_vision_params(cfg.get("vision_config"))
    facts["tie_word_embeddings"] = bool(text.get("tie_word_embeddings", cfg.get("tie_word_embeddings")))
    return facts


BUILDERS: dict[str, Callable[[Config, str], dict[str, Any]]] = {
    **{t: _dense_family for t in ("llama", "mistral", "qwen2", "qwen3", "phi3", "gemma", "gemma2")},
    "gemma3": _gemma3,
    "gemma3_text": _gemma3,
    "glm4_moe": _glm4_moe,
    "glm_moe_dsa": _glm_moe_dsa,
    "qwen3_next": _qwen3_next,
    "qwen3_5": _qwen3_5,
    "qwen3_5_moe": _qwen3_5,
    **{t: _moe_family for t in ("mixtral", "qwen2_moe", "qwen3_moe")},
    **{t: _mla_family for t in ("deepseek_v2", "deepseek_v3", "kimi_k2")},
    "gpt_oss": _gpt_oss,
    "llama4": _llama4,
    "gemma4": _gemma4,
    "nemotron-nas": _nemotron_nas,
    "starcoder2": _starcoder2,
}


def _vision_params(vision: Any) -> int:
    """ViT tower (SigLIP-style: 4 h^2 attention + 2 h x intermediate MLP per layer) vLLM loads too."""
    if not isinstance(vision, Mapping):
        return 0
    h, n, inter = (int(vision.get(k) or 0) for k in ("hidden_size", "num_hidden_layers", "intermediate_size"))
    return n * (4 * h * h + 2 * h * inter)


def _native_quantization(cfg: Config) -> dict[str, Any]:
    """The checkpoint's own format from quantization_config (vLLM picks the method from quant_method)."""
    qc = cfg.get("quantization_config") or {}
    method = str(qc.get("quant_method", "")).lower()
    facts = _quantization_facts(qc, method)
    if method:
        facts["quant_method"] = method
    return facts


def _quantization_facts(qc: Mapping[str, Any], method: str) -> dict[str, Any]:
    if not method:
        return {"quantization": "none"}
    if method == "mxfp4":
        return {"quantization": "mxfp4", "quant_scope": "experts_only"}
    if method in ("fp8", "fbgemm_fp8", "modelopt"):
        block = qc.get("weight_block_size") or [0]
        return {"quantization": "fp8", "quant_block_size": int(block[0])}
    if method in ("awq", "gptq"):
        return {"quantization": method, "quant_group_size": int(qc.get("group_size") or 128)}
    if method == "bitsandbytes":
        return {"quantization": "bnb4"}
    if method == "compressed-tensors":
        weights = next(iter((qc.get("config_groups") or {}).values()), {}).get("weights", {})
        bits, kind = weights.get("num_bits"), weights.get("type")
        if bits == 8:
            return {"quantization": "fp8" if kind == "float" else "int8"}
        if bits == 4:
            return {"quantization": "gptq", "quant_group_size": int(weights.get("group_size") or 128)}
    raise SizingError(
        f"quantization_config.quant_method {method!r} is not modelled; "
        "supported: fp8, awq, gptq, bitsandbytes, mxfp4, compressed-tensors (8/4 bit)"
    )


def _rope_scaled_max_len(rope_scaling: Any, model_type: str, max_len: int) -> int:
    """vLLM's derived max_model_len (config.py::_get_and_verify_max_len): max_position_embeddings times
    rope_scaling.factor, except for rope types su/longrope/llama3 (already scaled) and Gemma 3 (its 128K
    already includes the factor); yarn scales original_max_position_embeddings instead.
    """
    if not isinstance(rope_scaling, Mapping) or model_type.startswith("gemma3"):
        return max_len
    rope_type = rope_scaling.get("type") or rope_scaling.get("rope_type")
    if rope_type is None or rope_type in ("su", "longrope", "llama3", "default"):
        return max_len
    factor = float(rope_scaling.get("factor") or 1.0)
    if rope_type == "yarn":
        max_len = int(rope_scaling.get("original_max_position_embeddings") or max_len)
    return int(max_len * factor)


# Model types people meet that map onto a supported family by architecture (the nearest one to try, or to
# compare with): named in the error, never loaded silently as that family.
NEAREST_FAMILY = {
    "kimi_linear": "qwen3_next",
    "falcon_h1": "qwen3_next",
    "nemotron_h": "qwen3_next",
    "jamba": "qwen3_next",
    "mamba2": "qwen3_next",
    "deepseek_v32": "glm_moe_dsa",
    "glm4_moe_lite": "deepseek_v3",
    "glm4": "llama",
    "mistral3": "mistral",
    "gemma3n": "gemma3",
    "llama4_text": "llama4",
    "olmoe": "qwen3_moe",
    "minimax_m2": "qwen3_moe",
    "phi": "phi3",
    "phimoe": "mixtral",
    "qwen3_vl": "qwen3",
    "qwen3_vl_moe": "qwen3_moe",
    "qwen2_vl": "qwen2",
    "qwen2_5_vl": "qwen2",
    "mllama": "llama",
    "llava": "llama",
    "cohere": "llama",
    "granite": "llama",
}

# Bounds a real config.json stays within (largest published values x ~8: Llama 4 Scout's 10,485,760
# positions, Gemma 3's 262,208-token vocabulary, Llama 3.1 405B's 126 layers and 16,384 hidden size).
FIELD_BOUNDS = {
    "hidden_size": 131_072,
    "num_hidden_layers": 1_024,
    "num_attention_heads": 4_096,
    "num_key_value_heads": 4_096,
    "head_dim": 4_096,
    "intermediate_size": 1_048_576,
    "moe_intermediate_size": 1_048_576,
    "vocab_size": 4_194_304,
    "max_position_embeddings": 134_217_728,
    "num_experts": 65_536,
    "num_local_experts": 65_536,
    "n_routed_experts": 65_536,
    "num_experts_per_tok": 1_024,
    "kv_lora_rank": 65_536,
    "sliding_window": 134_217_728,
}


def _unsupported(model_type: str, hf_id: str) -> SizingError:
    nearest = NEAREST_FAMILY.get(model_type) or next(
        iter(difflib.get_close_matches(model_type, BUILDERS, n=1, cutoff=0.0)), "llama"
    )
    return SizingError(
        f"model_type {model_type!r} of {hf_id} is not supported; nearest supported family: {nearest!r} "
        f"(supported: {', '.join(sorted(BUILDERS))})"
    )


def validate_config(cfg: Config, hf_id: str) -> None:
    """Bounds and integer types of the architecture fields (top level and text_config) and attention
    divisibility: num_attention_heads % num_key_value_heads == 0 (vLLM's GQA groups query heads evenly).
    Errors name the file (hf_id is the path for a local config.json) and the field.
    """
    for scope, section in (("", cfg), ("text_config.", cfg.get("text_config"))):
        if not isinstance(section, Mapping):
            if scope and section is not None:
                raise SizingError(
                    f"{hf_id}: field 'text_config' must be an object, got {type(section).__name__}"
                )
            continue
        for key, bound in FIELD_BOUNDS.items():
            value = section.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
                raise SizingError(f"{hf_id}: field '{scope}{key}' must be an integer, got {value!r}")
            if not 1 <= value <= bound:
                raise SizingError(
                    f"{hf_id}: field '{scope}{key}' is {value}; it must be between 1 and {bound}"
                )
        heads, kv = section.get("num_attention_heads"), section.get("num_key_value_heads")
        if isinstance(heads, int) and isinstance(kv, int) and heads % kv:
            raise SizingError(
                f"{hf_id}: field '{scope}num_key_value_heads' ({kv}) must divide "
                f"'{scope}num_attention_heads' ({heads}): each KV head serves a whole group of query heads"
            )


def arch_from_config(
    cfg: Config, hf_id: str, source: str, aliases: tuple[str, ...] = (), **overrides: Any
) -> ModelArch:
    """Builds a ModelArch from a config.json mapping; unknown model_type raises naming the nearest family."""
    if not isinstance(cfg, Mapping):
        raise SizingError(f"config for {hf_id} must be a JSON object, got {type(cfg).__name__}")
    model_type = str(cfg.get("model_type") or "")
    builder = BUILDERS.get(model_type)
    if builder is None:
        if not model_type:
            raise SizingError(
                f"{hf_id}: field 'model_type' is missing; a Hugging Face config.json names its family there "
                f"(supported: {', '.join(sorted(BUILDERS))})"
            )
        raise _unsupported(model_type, hf_id)
    validate_config(cfg, hf_id)
    try:
        facts = builder(cfg, model_type)
        text = cfg.get("text_config") or cfg
        if "vocab_size" not in facts:
            facts["vocab_size"] = _req(text, "vocab_size", model_type)
        facts.setdefault("max_position_embeddings", text.get("max_position_embeddings"))
        if facts.get("max_position_embeddings") is None:
            facts["max_position_embeddings"] = 4096
        facts["max_position_embeddings"] = _rope_scaled_max_len(
            text.get("rope_scaling"), model_type, int(facts["max_position_embeddings"])
        )
        facts.setdefault("vision_params", _vision_params(cfg.get("vision_config")))
        facts.update(_native_quantization(cfg))
        facts.update(overrides)
        dtype = str(text.get("torch_dtype") or text.get("dtype") or cfg.get("torch_dtype") or "bfloat16")
        return ModelArch(
            hf_id=hf_id, aliases=aliases, source=source, model_type=model_type, torch_dtype=dtype, **facts
        )
    except (KeyError, TypeError) as exc:
        raise SizingError(
            f"config.json of {hf_id} ({model_type}) is malformed: missing or bad {exc}"
        ) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SizingError(
            f"config.json of {hf_id}: field {'.'.join(map(str, first['loc']))} {first['msg']}"
        ) from exc


def arch_from_file(path: Path) -> ModelArch:
    """A local config.json (no Hub access): the hf_id is the file's path."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SizingError(f"cannot read config.json {path}: {exc.strerror}") from exc
    if b"\x00" in data[:65536]:
        raise SizingError(
            f"{path} is a binary file, not a config.json (a safetensors/GGUF/archive?); pass the model's "
            "config.json"
        )
    try:
        cfg = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SizingError(
            f"{path} is not UTF-8 text (byte {exc.start}); a config.json is UTF-8 JSON - pass the model's "
            "config.json"
        ) from exc
    except json.JSONDecodeError as exc:
        raise SizingError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    return arch_from_config(cfg, hf_id=str(path), source=f"{LOCAL_CONFIG_SOURCE} {path}")
