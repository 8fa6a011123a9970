"""Holds the dependency direction of docs/architecture.md by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"sizing", "pricing", "planner", "templates", "infra", "advisor"}
# package -> our packages it may import
ALLOWED = {
    "sizing": set(),
    "pricing": {"sizing"},  # sizing.vocabulary and the GPU table are the bottom layer
    "planner": {"sizing", "pricing"},
    "templates": {"planner", "sizing", "pricing"},
    "infra": {"planner", "sizing", "pricing", "templates"},
    "advisor": {"planner", "sizing", "pricing", "templates", "infra"},
    # The Pulumi program: config -> planner -> infra (which renders through templates); never the CLI.
    "__main__": {"planner", "sizing", "pricing", "infra"},
    # Benchmarks measure the library; they never import the tests (shared fakes live in the library).
    "bench": {"planner", "sizing", "pricing", "templates", "infra", "advisor"},
}
# third-party modules only one layer may import
OWNER = {"boto3": {"pricing"}, "botocore": {"pricing"}, "jinja2": {"templates"},
         "pulumi": {"infra", "__main__"}, "pulumi_aws": {"infra"}}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _files(unit: str) -> list[Path]:
    """A package's modules, the Pulumi program file, or the bench scripts."""
    return [ROOT / "__main__.py"] if unit == "__main__" else sorted((ROOT / unit).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_follow_the_layering(package: str) -> None:
    files = _files(package)
    assert files, f"{package}: nothing to check"
    for path in files:
        imported = imported_top_levels(path)
        ours = (imported & (OURS | {"tests"})) - {package}
        assert ours <= ALLOWED[package], f"{path.relative_to(ROOT)} imports {sorted(ours - ALLOWED[package])}"
        for module, owners in OWNER.items():
            if module in imported:
                assert package in owners, f"{path.relative_to(ROOT)} imports {module}; only {owners} may"


def test_no_test_module_imports_another() -> None:
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                assert not node.module.startswith("tests.test_"), f"{path.name} imports {node.module}"


def test_renderer_no_longer_reads_the_instance_catalog() -> None:
    # EFA counts travel in the Plan (review #32): neither the renderer nor the EKS component asks pricing.
    from templates.render import TEMPLATE_DIR

    assert "pricing" not in imported_top_levels(TEMPLATE_DIR / "render.py")
    assert "pricing" not in imported_top_levels(TEMPLATE_DIR.parent / "infra" / "eks.py")
    assert "templates.render" not in (TEMPLATE_DIR.parent / "infra" / "ec2.py").read_text()
