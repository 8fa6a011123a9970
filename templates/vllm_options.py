"""Real vLLM option names (long form of `vllm serve` flags) that generated configs may use.

Source: vllm-project/vllm, tag v0.11.0: `vllm/engine/arg_utils.py` (EngineArgs.add_cli_args, the engine
options built from the config dataclasses) and `vllm/entrypoints/openai/cli_args.py` (frontend options:
host, port, served-model-name). Boolean options there use argparse.BooleanOptionalAction, so each
`--enable-x` also exists as `--no-enable-x` (e.g. `--no-enable-prefix-caching`).
Every option the renderer emits is checked against this list (tests/test_templates.py).
"""

from __future__ import annotations

VLLM_OPTIONS_VERSION = "0.11.0"
VLLM_OPTIONS_SOURCE = (
    "vllm-project/vllm@v0.11.0 vllm/engine/arg_utils.py EngineArgs.add_cli_args + "
    "vllm/entrypoints/openai/cli_args.py make_arg_parser"
)

# Long option names without the leading `--`.
VLLM_SERVE_OPTIONS: frozenset[str] = frozenset(
    {
        # frontend (cli_args.py)
        "host",
        "port",
        "served-model-name",
        "api-key",
        "uvicorn-log-level",
        "config",
        # ModelConfig
        "model",
        "dtype",
        "quantization",
        "max-model-len",
        "trust-remote-code",
        "revision",
        "seed",
        "enforce-eager",
        "no-enforce-eager",
        # CacheConfig
        "gpu-memory-utilization",
        "kv-cache-dtype",
        "block-size",
        "enable-prefix-caching",
        "no-enable-prefix-caching",
        "swap-space",
        # SchedulerConfig
        "max-num-seqs",
        "max-num-batched-tokens",
        "enable-chunked-prefill",
        "no-enable-chunked-prefill",
        # ParallelConfig
        "tensor-parallel-size",
        "pipeline-parallel-size",
        "distributed-executor-backend",
        "enable-expert-parallel",
        "no-enable-expert-parallel",
        # LoadConfig
        "download-dir",
        "load-format",
    }
)
