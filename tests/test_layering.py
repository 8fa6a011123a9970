"""Holds the dependency direction of docs/architecture.md by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLANNER, INFRA, CLI, API = "llm_advisor.planner", "llm_advisor.infra", "llm_advisor.cli", "llm_advisor"
# unit -> our units it may import. A unit is a package (dotted: llm_advisor.infra), the Pulumi program
# file (__main__), or the bench scripts; `llm_advisor` itself is the reusable API (its own modules only).
ALLOWED = {
    "sizing": set(),
    "pricing": {"sizing"},  # sizing.vocabulary and the GPU table are the bottom layer
    PLANNER: {"sizing", "pricing"},
    "templates": {PLANNER, "sizing", "pricing"},
    INFRA: {PLANNER, "sizing", "pricing", "templates"},
    API: {PLANNER, "sizing", "pricing", "templates", INFRA},
    CLI: {API, PLANNER, "sizing", "pricing", "templates", INFRA},
    "advisor": {CLI},  # `python -m advisor` from a checkout: the installed CLI under its old name
    # The Pulumi program: a thin use of the component; never the CLI.
    "__main__": {API, PLANNER, "sizing", "pricing", INFRA},
    # Benchmarks measure the library; they never import the tests (shared fakes live in the library).
    "bench": {API, PLANNER, "sizing", "pricing", "templates", INFRA, CLI},
}
UNITS = sorted(set(ALLOWED) - {"__main__", "bench"}, key=len, reverse=True)  # longest prefix first
# third-party modules only these units may import
OWNER = {"boto3": {"pricing"}, "botocore": {"pricing"}, "jinja2": {"templates"},
         "pulumi": {INFRA, API, "__main__"}, "pulumi_aws": {INFRA}, "pulumi_kubernetes": {INFRA}}


def unit_of(module: str) -> str:
    """Our unit a dotted module name belongs to, or its third-party top level."""
    if module == f"{API}.__main__":  # `python -m llm_advisor` is the command line
        return CLI
    for unit in UNITS:
        if module == unit or module.startswith(unit + "."):
            return unit
    return module.split(".")[0]


def imported_units(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(unit_of(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == API:  # `from llm_advisor import planner` imports the subpackage
                names.update(unit_of(f"{API}.{alias.name}") for alias in node.names)
            else:
                names.add(unit_of(node.module))
    return names


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _files(unit: str) -> list[Path]:
    """A unit's own modules (not its subpackages'), the Pulumi program file, or the bench scripts."""
    if unit == "__main__":
        return [ROOT / "__main__.py"]
    if unit == "bench":
        return sorted((ROOT / "bench").rglob("*.py"))
    top = ROOT / unit.split(".")[0]
    return sorted(p for p in top.rglob("*.py") if unit_of(_module(p)) == unit)


@pytest.mark.parametrize("unit", sorted(ALLOWED))
def test_package_imports_follow_the_layering(unit: str) -> None:
    files = _files(unit)
    assert files, f"{unit}: nothing to check"
    ours = set(ALLOWED) | {"tests"}
    for path in files:
        imported = imported_units(path)
        mine = (imported & ours) - {unit}
        assert mine <= ALLOWED[unit], f"{path.relative_to(ROOT)} imports {sorted(mine - ALLOWED[unit])}"
        for module, owners in OWNER.items():
            if module in imported:
                assert unit in owners, f"{path.relative_to(ROOT)} imports {module}; only {owners} may"


def test_every_module_belongs_to_a_checked_unit() -> None:
    # a new package under llm_advisor/ must be given its place in ALLOWED, not slip past the walk
    for path in sorted((ROOT / API).rglob("*.py")):
        assert unit_of(_module(path)) in ALLOWED, path


def test_no_test_module_imports_another() -> None:
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                assert not node.module.startswith("tests.test_"), f"{path.name} imports {node.module}"


def test_renderer_no_longer_reads_the_instance_catalog() -> None:
    # EFA counts travel in the Plan (review #32): neither the renderer nor the EKS component asks pricing.
    assert "pricing" not in imported_units(ROOT / "templates" / "render.py")
    assert "pricing" not in imported_units(ROOT / "llm_advisor" / "infra" / "eks.py")
    assert "templates.render" not in (ROOT / "llm_advisor" / "infra" / "ec2.py").read_text()
