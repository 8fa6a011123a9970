"""The Pulumi stack program: stack config -> one LlmServing component (plan, rendered configs, GPU node
groups, Karpenter pools or Auto Scaling group, the workload) -> stack outputs. The stack and the library
are the same code path.

`__main__.py` at the checkout's root calls `run()` under `pulumi up`; `llm-advisor preview` calls it under
Pulumi's mocks, so an installed advisor previews a stack file without the checkout. Config is validated
(infra/config.py) before pricing, planning or any resource; `pricing: snapshot` (or a fresh cache) keeps
`pulumi preview` offline.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from llm_advisor.component import LlmServing, args_from_stack_config
from llm_advisor.infra.config import (
    HF_TOKEN_KEY,
    PLAINTEXT_HF_TOKEN_WARNING,
    PROJECT,
    check_known_keys,
    stack_config_from,
)
from llm_advisor.infra.preview import AwsMocks, MockRun, observing_plans, run_program


def run() -> None:
    """Declare the stack from the current stack's config and export its outputs."""
    config = pulumi.Config()
    # Without a `regions` key the stack plans in its provider's region (aws:region, the key `pulumi new`
    # prompts for), else the declared default.
    stack_config = stack_config_from(config.get, aws_region=pulumi.Config("aws").get("region"))
    # An Output marked secret, or None when unset or empty (public models set the declared secret key to "").
    hf_token = (config.get_secret(HF_TOKEN_KEY)
                if pulumi.runtime.get_config(f"{PROJECT}:{HF_TOKEN_KEY}") else None)
    if hf_token is not None and not pulumi.runtime.is_config_secret(f"{PROJECT}:{HF_TOKEN_KEY}"):
        pulumi.log.warn(PLAINTEXT_HF_TOKEN_WARNING)
    # adopt_root_resources: the resources this program declared at the stack root before it used the
    # component move under it on the next `pulumi up` instead of being replaced.
    serving = LlmServing(PROJECT, args_from_stack_config(stack_config, hf_token), adopt_root_resources=True)
    for key, value in serving.stack_outputs().items():
        pulumi.export(key, value)


def run_main_program(config: Mapping[str, str], secret_keys: tuple[str, ...] = ()) -> MockRun:
    """`pulumi preview` offline: validate the config (before any resource), then run the stack program under
    Pulumi's mocks (llm_advisor.infra.preview). Needs no checkout, so an installed advisor previews too."""
    project_keys = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{PROJECT}:")}
    check_known_keys(list(project_keys))
    stack_config_from(project_keys.get, aws_region=config.get("aws:region"))
    mocks = AwsMocks()
    with observing_plans(mocks):
        return run_program(run, config, secret_keys, mocks=mocks)
