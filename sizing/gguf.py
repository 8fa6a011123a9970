"""Memory of a llama.cpp server (llama-server) running a GGUF file on a CPU instance.

Three parts, each from llama.cpp's own rules (sources in sizing/data/gguf_types.json):

* **weights**: every 2-D tensor of the model at the ggml type llama.cpp's quantize tool gives it for the
  file type (src/llama-quant.cpp `llama_tensor_get_type_impl`): the base type of the mixture, except the
  output tensor (Q6_K unless the file is Q8_0/F16), and for *_K_M the attn_v and ffn_down tensors of the
  layers `use_more_bits` picks (first and last eighth, then every third) at Q6_K; 1-D tensors (norms,
  biases) stay F32. Bytes per tensor = elements / block_elements x block_bytes (ggml.c type traits).
  The token embedding is mmapped but read one row per token, so it counts for memory, not for bandwidth.
* **KV cache**: llama.cpp allocates one cache of `--ctx-size` cells shared by the `--parallel` slots
  (each slot gets ctx-size / parallel), K and V per layer of n_kv_heads x head_dim elements at
  `--cache-type-k/v` (f16: 2 bytes; q8_0: 34 bytes per 32).
* **compute buffers**: an estimate of the graph scratch llama.cpp reserves for one micro-batch
  (`--ubatch-size`, default 512) with flash attention: logits (n_vocab) and the widest activations
  (3 x hidden + 2 x intermediate), 4 bytes each; plus the F32 logits of one token per slot. llama.cpp logs
  the real figure as "CPU compute buffer size".

The instance must hold all three plus room for the OS without swap (EC2 AMIs configure no swap; a swapped
weight page turns a memory-bound decode into a disk-bound one).
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field

from sizing.arch import ModelArch
from sizing.errors import SizingError
from sizing.vocabulary import Frozen

DATA_PATH = Path(__file__).resolve().parent / "data" / "gguf_types.json"
GIB = 1024**3

GgufType = Literal["F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0", "IQ4_XS"]
GGUF_TYPES: tuple[str, ...] = get_args(GgufType)
CacheType = Literal["f16", "q8_0"]
CACHE_TYPES: tuple[str, ...] = get_args(CacheType)
# bytes per KV element: f16 = 2; q8_0 = block_q8_0 (34 bytes per 32 elements)
CACHE_BYTES_PER_ELEMENT = {"f16": 2.0, "q8_0": 34 / 32}
DEFAULT_UBATCH = 512  # llama.cpp common/common.h: n_ubatch = 512
# Room kept free for the OS, the container runtime/kubelet and page cache of other files: a policy (not a
# measurement): 1 GiB plus 5% of the instance's memory.
OS_RESERVE_GIB = 1.0
OS_RESERVE_FRACTION = 0.05
# model_type values whose tensors are the dense Llama layout (q, k, v, o, gate, up, down per layer)
DENSE_LLAMA_LAYOUT = ("llama", "mistral", "qwen2", "qwen3")


class GgufTensor(Frozen):
    name: str
    elements: int
    row_elements: int = Field(description="ne[0]: the length a quantization block must divide")
    ggml_type: str
    bytes: int


class GgufMemory(Frozen):
    """Memory of one llama-server process, in GiB unless named otherwise."""

    model: str
    gguf_type: str
    cache_type: str
    ctx_size: int = Field(description="--ctx-size: KV cells shared by all slots")
    parallel: int = Field(description="--parallel: slots (requests decoded together)")
    weights_gib: float
    bits_per_weight: float = Field(description="file weights bits over all parameters")
    weights_read_per_token_gib: float = Field(description="weights minus the token embedding")
    kv_cache_gib: float
    kv_bytes_per_token: int
    compute_buffer_gib: float
    total_gib: float
    type_counts: dict[str, int] = Field(description="tensors per ggml type: the file's mixture")

    def fits(self, ram_gib: float) -> bool:
        return self.total_gib <= usable_ram_gib(ram_gib)


def usable_ram_gib(ram_gib: float) -> float:
    """Instance memory left to llama-server after the OS reserve."""
    return ram_gib - OS_RESERVE_GIB - OS_RESERVE_FRACTION * ram_gib


@cache
def _data() -> dict:
    return json.loads(DATA_PATH.read_text(encoding="utf-8"))


def ggml_type_bytes(ggml_type: str, elements: int) -> int:
    """Bytes of `elements` values stored as `ggml_type` (whole blocks, ggml_row_size)."""
    t = _data()["ggml_types"][ggml_type]
    if elements % t["block_elements"]:
        raise SizingError(f"{elements} elements are not whole {ggml_type} blocks of {t['block_elements']}")
    return elements // t["block_elements"] * t["block_bytes"]


def bits_per_weight(ggml_type: str) -> float:
    t = _data()["ggml_types"][ggml_type]
    return t["block_bytes"] * 8 / t["block_elements"]


def check_gguf_type(gguf_type: str) -> str:
    if gguf_type not in GGUF_TYPES:
        raise SizingError(f"gguf_type {gguf_type!r} is not modelled: use one of {', '.join(GGUF_TYPES)}")
    return gguf_type


def check_cache_type(cache_type: str) -> str:
    if cache_type not in CACHE_TYPES:
        raise SizingError(f"cache_type {cache_type!r} is not modelled: use one of {', '.join(CACHE_TYPES)}")
    return cache_type


def check_gguf_arch(arch: ModelArch) -> None:
    """GGUF sizing covers dense decoders with the Llama tensor layout (Llama, Mistral, Qwen2/3)."""
    if arch.model_type not in DENSE_LLAMA_LAYOUT or arch.is_moe or arch.is_mla or arch.vision_params:
        raise SizingError(
            f"{arch.hf_id} ({arch.model_type}) is not a dense Llama-layout model: the llama.cpp path sizes "
            f"{', '.join(DENSE_LLAMA_LAYOUT)} models without experts or vision towers; plan it with "
            "--engine vllm"
        )


def use_more_bits(i_layer: int, n_layers: int) -> bool:
    """llama-quant.cpp: the layers *_K_M keeps at higher precision (first/last eighth, every third)."""
    return i_layer < n_layers // 8 or i_layer >= 7 * n_layers // 8 or (i_layer - n_layers // 8) % 3 == 2


def _fallback(ggml_type: str, row_elements: int) -> str:
    if row_elements % _data()["ggml_types"][ggml_type]["block_elements"] == 0:
        return ggml_type
    return _data()["shape_fallback"].get(ggml_type, "F16")


def _tensor_type(kind: str, i_layer: int, arch: ModelArch, gguf_type: str, base: str) -> str:
    """llama_tensor_get_type_impl for the file types modelled (imatrix-quantized IQ4_XS, as published)."""
    n_gqa = arch.num_attention_heads // arch.num_key_value_heads
    n = arch.num_hidden_layers
    if base in ("F16", "Q8_0"):  # convert_hf_to_gguf --outtype: every 2-D tensor at the type
        return base
    if kind == "output":
        return "Q6_K"
    if kind == "attn_v":
        new = base
        if gguf_type == "IQ4_XS" and n_gqa >= 4:
            new = "Q5_K"
        elif gguf_type in ("Q4_K_M", "Q5_K_M") and use_more_bits(i_layer, n):
            new = "Q6_K"
        if arch.model_type == "llama" and n == 80 and new == "Q4_K":  # LLM_TYPE_70B: attn_v gets Q5_K
            new = "Q5_K"
        return new
    if kind == "ffn_down" and gguf_type in ("Q4_K_M", "Q5_K_M") and use_more_bits(i_layer, n):
        return "Q6_K"
    return base


def gguf_tensors(arch: ModelArch, gguf_type: str) -> tuple[GgufTensor, ...]:
    """Every tensor of the GGUF file with its ggml type and bytes."""
    check_gguf_type(gguf_type)
    check_gguf_arch(arch)
    base = _data()["file_types"][gguf_type]["base"]
    h, inter, hd = arch.hidden_size, arch.intermediate_size, arch.head_dim
    q_width, kv_width = arch.num_attention_heads * hd, arch.num_key_value_heads * hd
    out: list[GgufTensor] = []

    def add(name: str, kind: str, i_layer: int, row: int, rows: int) -> None:
        t = _fallback(_tensor_type(kind, i_layer, arch, gguf_type, base), row)
        out.append(GgufTensor(name=name, elements=row * rows, row_elements=row, ggml_type=t,
                              bytes=ggml_type_bytes(t, row * rows)))

    tied = arch.tie_word_embeddings
    # tied embeddings: the one tensor is quantized with the output's rule
    add("token_embd.weight", "output" if tied else "token_embd", -1, h, arch.vocab_size)
    for i, layer in enumerate(arch.layers):
        add(f"blk.{i}.attn_q.weight", "attn_q", i, h, q_width)
        add(f"blk.{i}.attn_k.weight", "attn_k", i, h, kv_width)
        add(f"blk.{i}.attn_v.weight", "attn_v", i, h, kv_width)
        add(f"blk.{i}.attn_output.weight", "attn_output", i, q_width, h)
        add(f"blk.{i}.ffn_gate.weight", "ffn_gate", i, h, inter)
        add(f"blk.{i}.ffn_up.weight", "ffn_up", i, h, inter)
        add(f"blk.{i}.ffn_down.weight", "ffn_down", i, inter, h)
        matrices = 2 * h * q_width + 2 * h * kv_width + 3 * h * inter
        small = layer.total_params - matrices  # norms, q/k norms, qkv biases: 1-D, kept F32
        if small > 0:
            out.append(GgufTensor(name=f"blk.{i}.1d", elements=small, row_elements=small, ggml_type="F32",
                                  bytes=4 * small))
    out.append(GgufTensor(name="output_norm.weight", elements=h, row_elements=h, ggml_type="F32",
                          bytes=4 * h))
    if not tied:
        add("output.weight", "output", -1, h, arch.vocab_size)
    return tuple(out)


def kv_bytes_per_token(arch: ModelArch, cache_type: str = "f16") -> int:
    """K and V of one cell over all layers (llama_kv_cache: n_embd_k_gqa + n_embd_v_gqa per layer)."""
    check_cache_type(cache_type)
    per_layer = 2 * arch.num_key_value_heads * arch.head_dim
    return math.ceil(per_layer * arch.num_hidden_layers * CACHE_BYTES_PER_ELEMENT[cache_type])


def compute_buffer_bytes(arch: ModelArch, parallel: int, ubatch: int = DEFAULT_UBATCH) -> int:
    """Estimated scratch of one micro-batch plus the logits of one token per slot (see module doc)."""
    widest = arch.vocab_size + 3 * arch.hidden_size + 2 * arch.intermediate_size
    return 4 * ubatch * widest + 4 * parallel * arch.vocab_size


def estimate_gguf_memory(
    arch: ModelArch,
    gguf_type: str,
    ctx_size: int,
    parallel: int = 1,
    cache_type: str = "f16",
) -> GgufMemory:
    """Memory of llama-server with `--ctx-size ctx_size --parallel parallel -ctk/-ctv cache_type`."""
    if ctx_size < 1 or parallel < 1:
        raise SizingError(f"ctx_size ({ctx_size}) and parallel ({parallel}) must be at least 1")
    tensors = gguf_tensors(arch, gguf_type)
    weights = sum(t.bytes for t in tensors)
    embd = next(t.bytes for t in tensors if t.name == "token_embd.weight")
    # tied: token_embd is also the output matrix, read whole every token
    read = weights if arch.tie_word_embeddings else weights - embd
    kv_token = kv_bytes_per_token(arch, cache_type)
    kv = kv_token * ctx_size
    compute = compute_buffer_bytes(arch, parallel)
    counts: dict[str, int] = {}
    for t in tensors:
        counts[t.ggml_type] = counts.get(t.ggml_type, 0) + 1
    params = sum(t.elements for t in tensors)
    return GgufMemory(
        model=arch.hf_id,
        gguf_type=gguf_type,
        cache_type=cache_type,
        ctx_size=ctx_size,
        parallel=parallel,
        weights_gib=weights / GIB,
        bits_per_weight=weights * 8 / params,
        weights_read_per_token_gib=read / GIB,
        kv_cache_gib=kv / GIB,
        kv_bytes_per_token=kv_token,
        compute_buffer_gib=compute / GIB,
        total_gib=(weights + kv + compute) / GIB,
        type_counts=counts,
    )
