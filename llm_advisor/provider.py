"""The component package: hosts LlmServing for programs in other languages (`pulumi package add`).

PulumiPlugin.yaml at the checkout's root makes the checkout a source-based component package. Pulumi's
Python language host runs such a plugin as `python <checkout> <engine address>`, which executes the
root `__main__.py`, the same file `pulumi up` runs as the stack program; that file calls `serve()` when
`running_as_plugin` says the language host started it as a plugin. `serve` hands LlmServing to the SDK's
component provider host, which infers the package schema from the component's annotations.
"""

from __future__ import annotations

import json
from typing import Any

from llm_advisor import __version__

PACKAGE = "llm-advisor"  # the package name in the schema; resource tokens are llm-advisor:index:<Component>


def running_as_plugin(module_name: str) -> bool:
    """True when the root __main__.py runs as the plugin: as a script (`python <checkout> ...`) with no
    Pulumi program around it (no engine monitor, no root stack), unlike under `pulumi up` or mocks."""
    from pulumi.runtime.settings import SETTINGS, get_root_resource

    return module_name == "__main__" and SETTINGS.monitor is None and get_root_resource() is None


def components() -> list[type]:
    from llm_advisor.component import LlmServing

    return [LlmServing]


def serve() -> None:
    """Host the components (a gRPC provider on a free port, announced on stdout) until the engine stops it."""
    from pulumi.provider.experimental import component_provider_host

    component_provider_host(components(), name=PACKAGE, version=__version__)


def schema() -> dict[str, Any]:
    """The package schema the SDK infers from the components (what `pulumi package add` makes SDKs from)."""
    from pulumi.provider.experimental.component import ComponentProvider

    return json.loads(ComponentProvider(components(), PACKAGE, version=__version__).schema or "{}")


if __name__ == "__main__":  # python -m llm_advisor.provider <engine address>
    serve()
