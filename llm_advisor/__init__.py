"""llm-advisor: size, price and provision vLLM serving on AWS GPUs.

The reusable API lives under this one import name so that an infrastructure repository with its own
`infra/`, `planner/` or `cli/` packages can install it beside them. The fixed top-level packages of the
design (`sizing`, `pricing`, `templates`) are installed as they are; a repository's own `templates/`
folder of files does not shadow them (a folder without `__init__.py` is only a namespace portion, and a
regular package later on sys.path wins, PEP 420).
"""

__version__ = "0.2.0"

# The Pulumi component, imported on first use (PEP 562): `import llm_advisor` stays free of pulumi.
_COMPONENT = ("LlmServing", "LlmServingArgs", "LlmServingArgsError")


def __getattr__(name: str):
    if name in _COMPONENT:
        from llm_advisor import component

        return getattr(component, name)
    raise AttributeError(f"module 'llm_advisor' has no attribute {name!r}")
