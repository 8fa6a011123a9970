"""Pulumi composition root (`pulumi up` runs this file): the stack program is llm_advisor.program.run.

Started by Pulumi's language host as a plugin (PulumiPlugin.yaml, `pulumi package add`), this file hosts
the LlmServing component for programs in other languages instead (llm_advisor/provider.py).
"""

from llm_advisor.provider import running_as_plugin, serve

if running_as_plugin(__name__):
    serve()
else:
    from llm_advisor.program import run

    run()
