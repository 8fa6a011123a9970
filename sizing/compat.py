"""The original notes' VRAM calculator, kept as a thin compatibility layer with its real arithmetic."""

from __future__ import annotations

GIB = 2**30


class VRAMCalculator:
    """Textbook estimate: weights + KV cache, times an overhead factor (all figures in GiB, 2**30 bytes).

    It returns what its own formula gives: a 7B model in FP16 (Llama-3-8B shape: 32 layers, 8 KV heads,
    head_dim 128) serving 20 requests of 2048 tokens needs (13.04 + 5.00) x 1.1 = 19.8 GiB - not the
    16.4 the notes printed; their example named "LLAMA3_7B" is really Llama-3-8B's shape.

    The production estimate (sizing.estimate_memory) differs on purpose, because vLLM does not allocate
    "what the requests need": it takes `gpu_memory_utilization x total GPU memory` (total as CUDA reports
    it), subtracts weights as loaded (vocab padding, TP/PP split, what quantization leaves in 16 bit), the
    activation peak of its profile run (set by max_num_batched_tokens and the sampler, not by context),
    non-torch memory and, from vLLM 0.20, a CUDA-graph estimate - and gives ALL the rest to the KV cache,
    in whole blocks. A flat overhead factor models none of that.
    """

    def __init__(
        self,
        param_billions: float,
        bytes_per_param: float,
        num_layers: int,
        num_kv_heads: int,
        head_dim: int,
        kv_bytes_per_element: float = 2.0,
    ) -> None:
        self.param_billions = param_billions
        self.bytes_per_param = bytes_per_param
        self.num_layers = num_layers
        self.num_kv_heads = num_kv_heads
        self.head_dim = head_dim
        self.kv_bytes_per_element = kv_bytes_per_element

    def weight_vram_gb(self) -> float:
        """Parameters x bytes per parameter, in GiB."""
        return self.param_billions * 1e9 * self.bytes_per_param / GIB

    def kv_cache_vram_gb(self, seq_len: int, batch_size: int) -> float:
        """2 (K and V) x layers x KV heads x head_dim x bytes x tokens, in GiB."""
        per_token = 2 * self.num_layers * self.num_kv_heads * self.head_dim * self.kv_bytes_per_element
        return per_token * seq_len * batch_size / GIB

    def total_vram_gb(self, seq_len: int = 2048, batch_size: int = 1, overhead_factor: float = 1.1) -> float:
        return (self.weight_vram_gb() + self.kv_cache_vram_gb(seq_len, batch_size)) * overhead_factor
