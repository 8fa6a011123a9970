"""GGUF memory (sizing/gguf.py) against hand-computed tensor mixtures and published file sizes."""

from __future__ import annotations

import pytest

from sizing import SizingError, load_model
from sizing.gguf import (
    GGUF_TYPES,
    bits_per_weight,
    estimate_gguf_memory,
    gguf_tensors,
    kv_bytes_per_token,
    usable_ram_gib,
    use_more_bits,
)

GIB = 1024**3
# Llama-2-7B: hidden 4096, 32 layers, 32 heads (no GQA), intermediate 11008, vocab 32000, untied.
L2_ATTN = 4096 * 4096  # q, k, v, o each
L2_FFN = 4096 * 11008  # gate, up, down each
L2_EMB = 32000 * 4096
L2_1D = 32 * 2 * 4096 + 4096  # attn_norm + ffn_norm per layer, output_norm
# Qwen3-8B: hidden 4096, 36 layers, 32 heads, 8 KV heads, head_dim 128, intermediate 12288, vocab 151936.
Q3_Q = 4096 * 4096
Q3_KV = 4096 * 1024
Q3_FFN = 4096 * 12288
Q3_EMB = 151936 * 4096
Q3_1D = 36 * (2 * 4096 + 2 * 128) + 4096  # attn/ffn norms + q_norm/k_norm per layer, output_norm


def test_block_sizes_are_llamas():
    # bits per weight from ggml's block structs: Q8_0 34 B/32, Q6_K 210 B/256, Q5_K 176, Q4_K 144, IQ4_XS 136
    assert bits_per_weight("Q8_0") == 8.5
    assert bits_per_weight("Q6_K") == 6.5625
    assert bits_per_weight("Q5_K") == 5.5
    assert bits_per_weight("Q4_K") == 4.5
    assert bits_per_weight("IQ4_XS") == 4.25
    assert bits_per_weight("Q4_0") == 4.5


def test_use_more_bits_picks_16_of_32_and_18_of_36_layers():
    assert sum(use_more_bits(i, 32) for i in range(32)) == 16
    assert [i for i in range(32) if use_more_bits(i, 32)][:6] == [0, 1, 2, 3, 6, 9]
    assert sum(use_more_bits(i, 36) for i in range(36)) == 18


def test_llama2_7b_q4_k_m_by_hand():
    m = estimate_gguf_memory(load_model("llama2-7b"), "Q4_K_M", ctx_size=4096)
    q4k, q6k = 144 / 256, 210 / 256
    base = 32 * (3 * L2_ATTN + 2 * L2_FFN) * q4k + L2_EMB * q4k  # q, k, o, gate, up + token_embd
    v_down = 16 * (L2_ATTN + L2_FFN) * q6k + 16 * (L2_ATTN + L2_FFN) * q4k  # use_more_bits layers at Q6_K
    expected = base + v_down + L2_EMB * q6k + 4 * L2_1D  # output at Q6_K, 1-D tensors F32
    assert m.weights_gib * GIB == pytest.approx(expected, abs=1)
    assert m.weights_gib * GIB / 1e9 == pytest.approx(4.08, abs=0.005)  # TheBloke's file: 4.08 GB
    assert m.weights_read_per_token_gib * GIB == pytest.approx(expected - L2_EMB * q4k, abs=1)
    # KV: 4096 cells x 32 layers x 2 (K, V) x 4096 x 2 bytes (f16) = 2 GiB
    assert m.kv_cache_gib == pytest.approx(2.0)


def test_llama2_7b_q8_0_and_f16_by_hand():
    params = 32 * (4 * L2_ATTN + 3 * L2_FFN) + 2 * L2_EMB
    q8 = estimate_gguf_memory(load_model("llama2-7b"), "Q8_0", ctx_size=512)
    assert q8.weights_gib * GIB == pytest.approx(params * 34 / 32 + 4 * L2_1D, abs=1)
    f16 = estimate_gguf_memory(load_model("llama2-7b"), "F16", ctx_size=512)
    assert f16.weights_gib * GIB == pytest.approx(params * 2 + 4 * L2_1D, abs=1)


def test_qwen3_8b_three_types_by_hand():
    arch = load_model("Qwen/Qwen3-8B")
    q4k, q5k, q6k = 144 / 256, 176 / 256, 210 / 256
    per_layer = 2 * Q3_Q + 2 * Q3_KV + 3 * Q3_FFN
    # Q6_K: every matrix at Q6_K (output too)
    q6 = estimate_gguf_memory(arch, "Q6_K", ctx_size=4096)
    assert q6.weights_gib * GIB == pytest.approx((36 * per_layer + 2 * Q3_EMB) * q6k + 4 * Q3_1D, abs=1)
    # Q4_K_M: 18 of 36 layers keep attn_v and ffn_down at Q6_K; output Q6_K
    q4 = estimate_gguf_memory(arch, "Q4_K_M", ctx_size=4096)
    hi = 18 * (Q3_KV + Q3_FFN)
    low = 36 * per_layer - hi
    expected = (low + Q3_EMB) * q4k + (hi + Q3_EMB) * q6k + 4 * Q3_1D
    assert q4.weights_gib * GIB == pytest.approx(expected, abs=1)
    assert q4.weights_gib * GIB / 1e9 == pytest.approx(5.03, abs=0.01)  # Qwen/Qwen3-8B-GGUF: 5.03 GB
    # IQ4_XS: GQA 4 -> every attn_v at Q5_K (imatrix file: ffn_down stays IQ4_XS); output Q6_K
    iq = estimate_gguf_memory(arch, "IQ4_XS", ctx_size=4096)
    expected = (36 * (per_layer - Q3_KV) + Q3_EMB) * 136 / 256 + 36 * Q3_KV * q5k + Q3_EMB * q6k + 4 * Q3_1D
    assert iq.weights_gib * GIB == pytest.approx(expected, abs=1)
    # GQA KV: 36 layers x 2 x 8 heads x 128 x 2 bytes = 147456 bytes per cell; q8_0 is 34/32 bytes
    assert kv_bytes_per_token(arch, "f16") == 147456
    assert kv_bytes_per_token(arch, "q8_0") == 36 * 2 * 1024 * 34 // 32


def test_kv_cache_is_shared_by_slots():
    arch = load_model("Qwen/Qwen3-8B")
    one = estimate_gguf_memory(arch, "Q4_K_M", ctx_size=4096, parallel=1)
    two = estimate_gguf_memory(arch, "Q4_K_M", ctx_size=8192, parallel=2)
    assert two.kv_cache_gib == pytest.approx(2 * one.kv_cache_gib)
    assert one.kv_cache_gib * GIB == 147456 * 4096


def test_tied_embeddings_get_the_output_rule_and_are_read_every_token():
    arch = load_model("Qwen/Qwen3-0.6B")
    tensors = {t.name: t for t in gguf_tensors(arch, "Q4_K_M")}
    assert "output.weight" not in tensors
    assert tensors["token_embd.weight"].ggml_type == "Q6_K"
    m = estimate_gguf_memory(arch, "Q4_K_M", ctx_size=1024)
    assert m.weights_read_per_token_gib == m.weights_gib


def test_fits_leaves_the_os_reserve():
    assert usable_ram_gib(16) == pytest.approx(16 - 1 - 0.8)
    m = estimate_gguf_memory(load_model("llama2-7b"), "Q4_K_M", ctx_size=4096)
    assert m.fits(8) and not m.fits(4)


def test_bad_inputs_name_what_works():
    with pytest.raises(SizingError, match="Q4_K_M"):
        estimate_gguf_memory(load_model("llama2-7b"), "Q3_K_XS", ctx_size=4096)
    with pytest.raises(SizingError, match="--engine vllm"):
        estimate_gguf_memory(load_model("mistralai/Mixtral-8x7B-v0.1"), "Q4_K_M", ctx_size=4096)
    assert set(GGUF_TYPES) >= {"F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS"}
