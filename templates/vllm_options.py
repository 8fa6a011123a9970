"""Real vLLM option names (long form of `vllm serve` flags) and value choices that generated configs use.

Every name below was read in vLLM's own source, not recalled (search tool, 2026-11-26):
- engine options: vllm-project/vllm@99d7eb5d6a512cfcc5a2b104f24ebf2d6cda772b `vllm/engine/arg_utils.py`,
  `EngineArgs.add_cli_args` (a v0.11-line commit: its deprecation notices say "will be removed in
  v0.12.0"). Options whose dataclass field is `bool` / `bool | None` get argparse.BooleanOptionalAction
  there (`_compute_kwargs`: "Creates --no-<name> and --<name> flags"), hence the `no-` names below.
- frontend options (host, port, api-key, uvicorn-log-level): vllm-project/vllm@
  005223338608bc94fd165a4f976c102a57bd1fc4 `vllm/entrypoints/openai/cli_args.py` (`FrontendArgs`
  fields, registered as `--{key.replace('_', '-')}`).
- `--config`: vllm-project/vllm@00da11e37d1ffac917c3427fff227500302eb452 `vllm/utils/argparse_utils.py`
  (`FlexibleArgumentParser._pull_args_from_config` / `load_config_file`) and the v0.30.0 docs
  `docs/configuration/serve_args.md` ("The argument names must be the long form", `vllm serve --config`).

The plan targets vLLM 0.34 (sizing.LATEST_VLLM_VERSION). Every name and choice below was checked again in
the 0.34.0 wheel from PyPI (2026-12-06): `engine/arg_utils.py` (`add_argument("--<name>", ...)`),
`entrypoints/common/cli_args.py` (FrontendArgs fields registered as `--{key.replace('_', '-')}`),
`utils/argparse_utils.py` (`--config`), `config/model.py` ModelDType, `config/parallel.py`
DistributedExecutorBackend, `config/cache.py` CacheDType; `swap-space` is gone from 0.34 and was dropped.
Every option the renderer emits is checked against this list, and every emitted choice against
VLLM_OPTION_CHOICES (tests/test_templates.py).
"""

from __future__ import annotations

VLLM_OPTIONS_VERSION = "v0.11-line commit 99d7eb5d (arg_utils.py), rechecked in the 0.34.0 wheel"

# Long option names without the leading `--`.
VLLM_SERVE_OPTIONS: frozenset[str] = frozenset(
    {
        # FrontendArgs (cli_args.py)
        "host",
        "port",
        "api-key",
        "uvicorn-log-level",
        # FlexibleArgumentParser (argparse_utils.py) + serve_args.md
        "config",
        # ModelConfig group (arg_utils.py)
        "model",
        "served-model-name",
        "dtype",
        "quantization",
        "max-model-len",
        "trust-remote-code",
        "no-trust-remote-code",
        "revision",
        "seed",
        "enforce-eager",
        "no-enforce-eager",
        # CacheConfig group
        "gpu-memory-utilization",
        "kv-cache-dtype",
        "block-size",
        "enable-prefix-caching",
        "no-enable-prefix-caching",
        # SchedulerConfig group
        "max-num-seqs",
        "max-num-batched-tokens",
        "enable-chunked-prefill",
        "no-enable-chunked-prefill",
        # ParallelConfig group
        "tensor-parallel-size",
        "pipeline-parallel-size",
        "distributed-executor-backend",
        "enable-expert-parallel",
        "no-enable-expert-parallel",
        # LoadConfig group
        "download-dir",
        "load-format",
    }
)

# Allowed values of the choice-valued options the renderer emits.
VLLM_OPTION_CHOICES: dict[str, frozenset[str]] = {
    # ModelDType: arg_utils.py@001999d2 `--dtype` choices, unchanged in the v0.8.5 engine-args docs.
    "dtype": frozenset({"auto", "half", "float16", "bfloat16", "float", "float32"}),
    # DistributedExecutorBackend = Literal["ray", "mp", "uni", "external_launcher"]
    # (docs v0.10.1.1 api/vllm/config/parallel.html).
    "distributed-executor-backend": frozenset({"ray", "mp", "uni", "external_launcher"}),
    # The kv-cache dtypes every release since v0.5 accepts (arg_utils.py@001999d2 `--kv-cache-dtype`
    # choices); later releases add more, none of which the planner emits.
    "kv-cache-dtype": frozenset({"auto", "fp8", "fp8_e5m2", "fp8_e4m3"}),
    # The load-time methods the renderer may name (sizing.vocabulary.LOAD_TIME_METHODS), both in
    # vLLM's QuantizationMethods (vllm/model_executor/layers/quantization/__init__.py) and in the docs
    # (features/quantization/fp8: `--quantization fp8`; features/quantization/bnb: `--quantization
    # bitsandbytes`).
    "quantization": frozenset({"fp8", "bitsandbytes"}),
}
