"""The project's vocabulary, defined once: the frozen model base, weights formats, dtypes, capacity and
workload types, pricing modes and sources.

It lives in sizing/ because sizing is the bottom layer (it imports nothing else of ours), so pricing/,
planner/, templates/ and infra/ can all import it. Spellings follow the tools users know: vLLM's
(`--quantization`, `--dtype`, `--kv-cache-dtype`) and AWS's (on-demand / spot capacity types).
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable, strict base for every model that crosses a module boundary."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# Weights formats the advisor sizes. "none" is a 16-bit checkpoint in `Dtype`.
Quantization = Literal["none", "fp8", "int8", "awq", "gptq", "bnb4", "mxfp4"]
QUANTIZATIONS: tuple[str, ...] = get_args(Quantization)

# The formats vLLM makes from 16-bit weights at load time, with the `--quantization` method name vLLM
# takes for each (vLLM docs features/quantization/fp8.md "dynamic" FP8; bnb.md in-flight 4-bit).
# The others (AWQ, GPTQ, INT8 W8A8, MXFP4) exist only as pre-quantized checkpoints.
LOAD_TIME_METHODS: dict[str, str] = {"fp8": "fp8", "bnb4": "bitsandbytes"}
PREQUANTIZED_ONLY: tuple[str, ...] = tuple(
    q for q in QUANTIZATIONS if q != "none" and q not in LOAD_TIME_METHODS
)

Dtype = Literal["bf16", "fp16"]
KvCacheDtype = Literal["auto", "fp8"]

# EC2 purchase options: a capacity type is what a node group or ASG runs; a preference is what the user
# asks the planner for ("auto" lets it choose, "mixed" = on-demand base + spot burst, "capacity-block" = an
# EC2 Capacity Block for ML: a reserved window of on-demand-shaped instances paid up front, which the plan
# places as on-demand instances and reports in Plan.capacity_block; llm_advisor/planner/capacity_block.py).
CapacityType = Literal["on-demand", "spot", "mixed"]
CapacityPreference = Literal["auto", "on-demand", "spot", "mixed", "capacity-block"]

WorkloadType = Literal["realtime", "batch"]

# Where prices come from (PriceSource) and what the user allows (PricingMode).
PriceSource = Literal["live", "cache", "snapshot"]
PricingMode = Literal["auto", "live", "snapshot"]


def is_load_time(checkpoint_quantization: str, quantization: str) -> bool:
    """vLLM turns the checkpoint's own format into `quantization` while loading (16-bit -> fp8/bnb4)."""
    return checkpoint_quantization == "none" and quantization in LOAD_TIME_METHODS
