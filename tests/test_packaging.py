"""The distribution (issue 8): the wheel builds, carries every data file, and the `llm-advisor` console
script installed from it in a fresh venv answers `plan --json` from another directory.

The wheel is built from a copy of the sources (setuptools builds in-tree) with pip's isolated build, as
`pip install .` would. The fresh venv gets the wheel with --no-deps; its runtime dependencies come from a
.pth line naming the directories of this interpreter's copies of them, never the checkout, so an import
that only works from the repository root fails here. That the wheel asks for the same dependency ranges
as requirements.txt is checked on its METADATA.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "requirements.txt", "llm_advisor", "sizing", "pricing", "templates")
RUNTIME_MODULES = ("pydantic", "boto3", "botocore", "jinja2", "yaml", "pulumi", "pulumi_aws",
                   "pulumi_kubernetes")

pytestmark = pytest.mark.install


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
                   check=True, capture_output=True, text=True)
    (built,) = out.glob("*.whl")
    return built


def _data_files() -> set[str]:
    """Every non-Python file the library reads at run time, as the wheel should name it."""
    patterns = {"sizing": ("data/*.json", "data/model_configs/*.json"), "pricing": ("data/*",),
                "templates": ("*.j2",)}
    return {p.relative_to(ROOT).as_posix() for pkg, globs in patterns.items() for g in globs
            for p in (ROOT / pkg).glob(g) if p.is_file()}


def test_wheel_carries_the_data_tables_templates_and_price_snapshot(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = _data_files()
    assert {"sizing/data/models.json", "sizing/data/gpus.json", "pricing/data/aws_gpu_prices.csv",
            "templates/deployment.yaml.j2"} <= data
    assert data - names == set()
    assert "llm_advisor/cli/main.py" in names
    assert not any(n.startswith(("tests/", "bench/", "advisor/")) for n in names)


def test_wheel_metadata_has_the_console_script_and_requirements_ranges(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        dist_info = next(n.split("/")[0] for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(f"{dist_info}/METADATA").decode()
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert "llm-advisor = llm_advisor.cli.main:main" in entry_points
    required = {re.sub(r"\s", "", line) for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")}
    listed = {line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()}
    for requirement in filter(None, listed):
        name = re.split(r"[<>=!~\[]", requirement)[0]
        spec = sorted(requirement[len(name):].split(","))
        assert any(r.split(":", 1)[1].startswith(name) and sorted(r.split(":", 1)[1][len(name):].split(","))
                   == spec for r in required), f"wheel does not require {requirement}"


def test_console_script_plans_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    str(wheel)], check=True, capture_output=True, text=True)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([str(python), "-c", purelib], check=True, capture_output=True,
                               text=True).stdout.strip())
    dep_dirs = {str(Path(importlib.util.find_spec(m).origin).parent.parent) for m in RUNTIME_MODULES}
    assert str(ROOT) not in dep_dirs
    (site / "_deps.pth").write_text("\n".join(sorted(dep_dirs)) + "\n")
    elsewhere = tmp_path / "infra-repo"
    (elsewhere / "infra").mkdir(parents=True)  # the repo's own `infra` package and templates folder
    (elsewhere / "infra" / "__init__.py").write_text("")
    (elsewhere / "templates").mkdir()
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    result = subprocess.run(
        [str(env_dir / "bin" / "llm-advisor"), "plan", "--model", "llama-3.1-8b", "--concurrency", "20",
         "--max-model-len", "4096", "--pricing", "snapshot", "--json"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["placement"]["instance_type"] and plan["cost"]["usd_per_hour"] > 0
    # the offline `pulumi preview` of a stack file runs the packaged stack program (no checkout)
    shutil.copy2(ROOT / "Pulumi.example.yaml", elsewhere / "Pulumi.dev.yaml")
    preview = subprocess.run([str(env_dir / "bin" / "llm-advisor"), "preview", "--config", "Pulumi.dev.yaml"],
                             cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert preview.returncode == 0, preview.stderr
    assert "aws:eks/nodeGroup:NodeGroup" in preview.stdout and "endpoint:" in preview.stdout
    where = subprocess.run(
        [str(python), "-c", "import llm_advisor, sizing, templates; print(llm_advisor.__file__); "
         "print(templates.__file__)"], cwd=elsewhere, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()
    assert all(path.startswith(str(env_dir)) for path in where), where
