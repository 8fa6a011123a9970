"""Tuned gpu_memory_utilization: the smallest value that holds the requested concurrency x context + headroom.

Closed form: the KV pool grows linearly with utilization (available = util x total - fixed), so the
utilization that gives B blocks is (fixed + B x bytes_per_block) / total, rounded up to 0.01. From vLLM 0.34
the budget is also capped at the memory free at start-up less a margin (sizing.memory.budget_bytes).
"""

from __future__ import annotations

import math

from sizing.errors import SizingError
from sizing.memory import budget_bytes, estimate_memory, fixed_bytes, stage_facts
from sizing.models import SizingInput, UtilizationAdvice
from sizing.precision import GIB


def _blocks_needed(
    requests: float, blocks_per_request: int, block_size: int, max_model_len: int, v1: bool
) -> int:
    if v1:  # max concurrency = num_blocks / blocks_per_request (§4)
        return math.ceil(requests * blocks_per_request - 1e-9)
    return math.ceil(requests * max_model_len / block_size - 1e-9)  # V0: blocks * block_size / mml


def recommend_utilization(
    inp: SizingInput, concurrency: int, headroom: float = 0.3, ceiling: float = 0.95
) -> UtilizationAdvice:
    """Smallest utilization (to 0.01) whose KV pool holds concurrency x max_model_len x (1 + headroom)."""
    if concurrency < 1:
        raise SizingError(f"concurrency must be >= 1 (got {concurrency})")
    if headroom < 0:
        raise SizingError(f"headroom must be >= 0 (got {headroom}); 0.3 keeps 30 % spare KV")
    if not 0 < ceiling <= 1:
        raise SizingError(f"ceiling must be in (0, 1] (got {ceiling}); vLLM's default budget is 0.9-0.92")
    r, stages = stage_facts(inp)
    requests = concurrency * (1 + headroom)
    total = r.gpu.total_memory_gib * GIB
    needed_util, shortfall = 0.0, 0.0
    world = inp.tensor_parallel_size * inp.pipeline_parallel_size
    for stage in stages:
        if not stage.bytes_per_block:
            continue
        blocks = _blocks_needed(
            requests, stage.blocks_per_request, r.block_size, r.max_model_len, r.acc.v1_engine
        )
        need = fixed_bytes(stage, r.acc) + blocks * stage.bytes_per_block
        # 0.34's extensible cache also stops at the memory free at start-up less its margin, whatever
        # the utilization: a need above that cap does not fit at any value.
        cap = budget_bytes(r, stage, 1.0, world)
        needed_util = max(needed_util, need / total if need <= cap else math.inf)
        shortfall = max(shortfall, (need - min(ceiling * total, cap)) / GIB)
    recommended = math.ceil(needed_util * 100 - 1e-9) / 100 if math.isfinite(needed_util) else math.inf
    fits = recommended <= ceiling + 1e-12
    util = max(0.01, recommended) if fits else ceiling
    return UtilizationAdvice(
        concurrency=concurrency,
        headroom=headroom,
        ceiling=ceiling,
        required_kv_tokens=math.ceil(concurrency * r.max_model_len * (1 + headroom)),
        recommended_gpu_memory_utilization=util if fits else None,
        fits=fits,
        shortfall_gib=0.0 if fits else max(0.0, shortfall),
        estimate=estimate_memory(inp, gpu_memory_utilization=util),
    )
