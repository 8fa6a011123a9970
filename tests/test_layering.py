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
    "pricing": {"sizing"},
    "planner": {"sizing", "pricing"},
    "templates": {"planner", "sizing", "pricing"},
    "infra": {"planner", "sizing", "pricing", "templates"},
    "advisor": {"planner", "sizing", "pricing", "templates", "infra"},
}
# third-party modules only one layer may import
OWNER = {"boto3": {"pricing"}, "botocore": {"pricing"}, "jinja2": {"templates"}, "pulumi": {"infra"},
         "pulumi_aws": {"infra"}}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_follow_the_layering(package: str) -> None:
    for path in sorted((ROOT / package).rglob("*.py")):
        imported = imported_top_levels(path)
        ours = (imported & OURS) - {package}
        assert ours <= ALLOWED[package], f"{path.relative_to(ROOT)} imports {sorted(ours - ALLOWED[package])}"
        for module, owners in OWNER.items():
            if module in imported:
                assert package in owners, f"{path.relative_to(ROOT)} imports {module}; only {owners} may"


def test_pulumi_program_is_the_only_other_pulumi_importer() -> None:
    main = ROOT / "__main__.py"
    if main.exists():
        assert "boto3" not in imported_top_levels(main)
