"""Sizing: model architectures, memory per GPU as vLLM accounts it, KV capacity, tuned utilization.

Pure functions only: no I/O beyond reading a config.json the caller names, no clocks, no environment.
"""
