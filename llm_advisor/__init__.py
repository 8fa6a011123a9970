"""llm-advisor: size, price and provision vLLM serving on AWS GPUs.

The reusable API lives under this one import name so that an infrastructure repository with its own
`infra/`, `planner/` or `cli/` packages can install it beside them. The fixed top-level packages of the
design (`sizing`, `pricing`, `templates`) are installed as they are; a repository's own `templates/`
folder of files does not shadow them (a folder without `__init__.py` is only a namespace portion, and a
regular package later on sys.path wins, PEP 420).
"""

__version__ = "0.2.0"
