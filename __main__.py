"""Pulumi composition root: stack config -> one LlmServing component (plan, rendered configs, GPU node
groups or Auto Scaling group) -> stack outputs. The stack and the library are the same code path.

Config is validated (infra/config.py) before pricing, planning or any resource; `pricing: snapshot`
(or a fresh cache) keeps `pulumi preview` offline. Started by Pulumi's language host as a plugin
(PulumiPlugin.yaml, `pulumi package add`), this file hosts the component instead (llm_advisor/provider.py).
"""

import pulumi

from llm_advisor.provider import running_as_plugin, serve

if running_as_plugin(__name__):
    serve()
else:
    from llm_advisor.component import LlmServing, args_from_stack_config
    from llm_advisor.infra.config import HF_TOKEN_KEY, PLAINTEXT_HF_TOKEN_WARNING, PROJECT, stack_config_from

    config = pulumi.Config()
    stack_config = stack_config_from(config.get)
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
