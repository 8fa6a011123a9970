"""Model architecture facts (ModelArch) and their parameter counts, built from a Hugging Face config.json.

The per-layer breakdown (LayerSpec) keeps apart what tensor parallelism shards, what it replicates and
what quantization leaves in 16 bit, because vLLM's weight memory depends on all three.
"""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field

from sizing.vocabulary import Frozen, Quantization

# ModelArch.source of an architecture read from a local config.json (hf_config.arch_from_file).
LOCAL_CONFIG_SOURCE = "local config.json"

AttentionKind = Literal["full", "sliding", "chunked", "mla", "mamba"]
QuantScope = Literal["all_linear", "mlp_only", "experts_only"]


class AttentionSpec(Frozen):
    """What one attention layer stores in the KV cache (vLLM v1/kv_cache_interface.py spec kinds)."""

    kind: AttentionKind
    num_kv_heads: int = Field(ge=1, description="K/V heads of the layer (1 for MLA: one shared latent)")
    head_dim: int = Field(ge=1, description="K elements per head; for MLA kv_lora_rank + qk_rope_head_dim")
    v_head_dim: int = Field(ge=0, description="V elements per head; 0 for MLA (no separate V)")
    window_tokens: int | None = Field(default=None, description="sliding window or attention chunk")
    kv_shared: bool = Field(default=False, description="reuses another layer's KV (Gemma-3n/4): no pages")
    state_elements: int = Field(
        default=0,
        ge=0,
        description="mamba / linear-attention layers: elements of one request's recurrent state (conv + "
        "temporal), all split across TP ranks (v1/kv_cache_interface.py MambaSpec), held in the model dtype",
    )
    state_fp32_elements: int = Field(
        default=0,
        ge=0,
        description="mamba / linear-attention layers: further state elements held in float32 (the temporal "
        "state when the config sets mamba_ssm_dtype float32, as Qwen3.5 does), split across TP ranks",
    )
    indexer_bytes: int = Field(
        default=0,
        ge=0,
        description="sparse-MLA (DSA) indexer K cache per token, fp8 values + fp32 scale per 128, replicated",
    )


class LayerSpec(Frozen):
    """Parameter counts of one decoder layer, split by how vLLM shards and quantizes them."""

    attention: AttentionSpec | None = None
    attn_sharded_params: int = Field(0, description="q/o (and MLA up-projections): split across TP")
    kv_proj_params: int = Field(0, description="k/v projections (+bias): split, but replicated past kv heads")
    attn_replicated_params: int = Field(0, description="MLA down-projections: ReplicatedLinear in vLLM")
    dense_mlp_params: int = 0
    routed_expert_params: int = Field(0, description="all routed experts of the layer")
    active_expert_params: int = Field(0, description="the experts one token uses")
    shared_expert_params: int = 0
    router_params: int = Field(0, description="MoE gate: replicated and kept in 16 bit by every format")
    norm_params: int = Field(0, description="norms, sinks: replicated, never quantized")

    @property
    def total_params(self) -> int:
        return (
            self.attn_sharded_params
            + self.kv_proj_params
            + self.attn_replicated_params
            + self.dense_mlp_params
            + self.routed_expert_params
            + self.shared_expert_params
            + self.router_params
            + self.norm_params
        )

    @property
    def active_params(self) -> int:
        return self.total_params - self.routed_expert_params + self.active_expert_params


class ModelArch(Frozen):
    """Architecture facts of one checkpoint, enough to size weights and KV cache per GPU."""

    hf_id: str
    aliases: tuple[str, ...] = ()
    source: str = Field(description="where these facts come from")
    model_type: str
    torch_dtype: str = "bfloat16"
    num_hidden_layers: int = Field(ge=1)
    num_attention_heads: int = Field(ge=1)
    num_key_value_heads: int = Field(ge=1)
    head_dim: int = Field(ge=1)
    hidden_size: int = Field(ge=1)
    intermediate_size: int = Field(ge=0)
    vocab_size: int = Field(ge=1)
    max_position_embeddings: int = Field(ge=1)
    tie_word_embeddings: bool = False
    supports_pp: bool = True
    quantization: Quantization = Field("none", description="the checkpoint's native format")
    quant_method: str | None = Field(
        None,
        description="quantization_config.quant_method as vLLM reads it (compressed-tensors, fbgemm_fp8, "
        "modelopt, fp8, awq, gptq, mxfp4 ...); None for a 16-bit checkpoint",
    )
    base_model: str | None = Field(
        None,
        description="the 16-bit repo these weights are (or were quantized from); None when not known",
    )
    quant_scope: QuantScope = "all_linear"
    quant_skip_layers: tuple[int, ...] = Field((), description="layers the checkpoint keeps in 16 bit")
    quant_group_size: int = Field(128, description="AWQ/GPTQ group size")
    quant_block_size: int = Field(0, description="block-FP8 weight_block_size (n), 0 when per-tensor/channel")
    num_experts: int = 0
    num_experts_per_tok: int = 0
    moe_intermediate_size: int = 0
    kv_lora_rank: int = 0
    q_lora_rank: int = Field(0, description="MLA query down-projection rank; 0: q_proj straight from hidden")
    qk_rope_head_dim: int = 0
    qk_nope_head_dim: int = 0
    v_head_dim: int = 0
    sliding_window: int | None = None
    vision_params: int = Field(0, description="vision/audio towers vLLM also loads (bf16, first stage)")
    layers: tuple[LayerSpec, ...]

    def __hash__(self) -> int:
        # Cheap and stable: a catalog id or config path plus the facts an override can change.
        return hash((self.hf_id, self.source, self.quantization, self.quant_scope, self.num_hidden_layers))

    @property
    def is_local_config(self) -> bool:
        """Read from a local config.json: hf_id is the file's path, not a repo vLLM can load."""
        return self.source.startswith(LOCAL_CONFIG_SOURCE)

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def embedding_params(self) -> int:
        return self.vocab_size * self.hidden_size

    @cached_property
    def total_params(self) -> int:
        lm_head = 0 if self.tie_word_embeddings else self.embedding_params
        final_norm = self.hidden_size
        return (
            self.embedding_params
            + lm_head
            + final_norm
            + self.vision_params
            + sum(layer.total_params for layer in self.layers)
        )

    @cached_property
    def active_params(self) -> int:
        """Parameters one text token touches: everything except the routed experts it is not sent to and
        the vision tower (which runs on images only; publishers' active counts leave it out)."""
        inactive = sum(layer.routed_expert_params - layer.active_expert_params for layer in self.layers)
        return self.total_params - inactive - self.vision_params

    @cached_property
    def attention_layer_kinds(self) -> tuple[str, ...]:
        return tuple(layer.attention.kind if layer.attention else "none" for layer in self.layers)
