"""`render --out`: a temp directory renamed into place, a manifest, foreign directories refused without
--force, stale files of an earlier render removed, and a failed write leaving the old output whole."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import templates.output as output
from templates.output import MANIFEST, OutputDirectoryError, read_manifest, write_output_dir

FIRST = [("a.yaml", "a: 1\n"), ("b.yaml", "b: 1\n")]
SECOND = [("a.yaml", "a: 2\n"), ("c.yaml", "c: 2\n")]


def listing(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.iterdir())}


def test_a_new_directory_gets_the_files_and_a_manifest(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "deploy"
    written = write_output_dir(out, FIRST)
    assert written == [out / "a.yaml", out / "b.yaml"]
    assert set(listing(out)) == {"a.yaml", "b.yaml", MANIFEST}
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["written_by"] == "llm-advisor render" and set(manifest["files"]) == {"a.yaml", "b.yaml"}
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp dir left behind


def test_a_second_render_replaces_its_own_output_and_removes_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "deploy"
    write_output_dir(out, FIRST)
    write_output_dir(out, SECOND)
    files = listing(out)
    assert set(files) == {"a.yaml", "c.yaml", MANIFEST} and files["a.yaml"] == "a: 2\n"  # b.yaml is gone
    assert set(read_manifest(out) or {}) == {"a.yaml", "c.yaml"}


def test_an_empty_existing_directory_is_used(tmp_path: Path) -> None:
    write_output_dir(tmp_path, FIRST)
    assert set(listing(tmp_path)) == {"a.yaml", "b.yaml", MANIFEST}


@pytest.mark.parametrize("edit", ["foreign", "changed"])
def test_a_directory_it_did_not_write_is_refused_without_force(tmp_path: Path, edit: str) -> None:
    out = tmp_path / "deploy"
    write_output_dir(out, FIRST)
    if edit == "foreign":
        (out / "notes.txt").write_text("mine")
    else:
        (out / "a.yaml").write_text("hand edited")
    before = listing(out)
    with pytest.raises(OutputDirectoryError, match="did not write .*--force"):
        write_output_dir(out, SECOND)
    assert listing(out) == before  # nothing touched


def test_force_replaces_rendered_files_and_keeps_foreign_ones(tmp_path: Path) -> None:
    out = tmp_path / "deploy"
    write_output_dir(out, FIRST)
    (out / "notes.txt").write_text("mine")
    write_output_dir(out, SECOND, force=True)
    files = listing(out)
    assert files["notes.txt"] == "mine" and files["a.yaml"] == "a: 2\n" and "b.yaml" not in files
    assert set(read_manifest(out) or {}) == {"a.yaml", "c.yaml"}
    assert not [n for n in files if n.endswith(".tmp")]


def test_a_non_rendered_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("x")
    with pytest.raises(OutputDirectoryError, match=r"README.*--force"):
        write_output_dir(tmp_path, FIRST)


@pytest.mark.parametrize("out", ["", "   "])
def test_an_empty_out_is_refused(out: str) -> None:
    with pytest.raises(OutputDirectoryError, match="--out is empty"):
        write_output_dir(out, FIRST)


def test_a_file_in_the_way_is_named(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputDirectoryError, match="exists and is not a directory"):
        write_output_dir(tmp_path / "f", FIRST)
    with pytest.raises(OutputDirectoryError, match="is a file, not a directory"):
        write_output_dir(tmp_path / "f" / "deploy", FIRST)


def test_a_failed_write_leaves_the_old_output_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "deploy"
    write_output_dir(out, FIRST)
    before = listing(out)
    real = output._write
    calls = []

    def failing(path: Path, content: str) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(path, content)

    monkeypatch.setattr(output, "_write", failing)
    with pytest.raises(OutputDirectoryError, match="No space left on device"):
        write_output_dir(out, SECOND)
    assert listing(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deploy"]  # temp dirs cleaned up


def test_a_failed_swap_puts_the_old_output_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "deploy"
    write_output_dir(out, FIRST)
    before = listing(out)
    real = os.rename

    def rename(src: str | Path, dst: str | Path) -> None:
        if Path(dst) == out and ".new-" in str(src):
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(output.os, "rename", rename)
    with pytest.raises(OutputDirectoryError, match="Input/output error"):
        write_output_dir(out, SECOND)
    assert listing(out) == before


def test_the_working_directory_is_written_in_place_never_renamed(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_output_dir(".", FIRST)
    write_output_dir(".", SECOND)
    assert Path.cwd() == tmp_path and set(listing(tmp_path)) == {"a.yaml", "c.yaml", MANIFEST}


def test_render_cli_refuses_a_foreign_directory(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from llm_advisor.cli.main import main

    (tmp_path / "keep.txt").write_text("x")
    argv = ["render", "--model", "Qwen/Qwen3-8B", "--concurrency", "8", "--max-model-len", "4096",
            "--pricing", "snapshot", "--out", str(tmp_path)]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: --out {tmp_path}: the directory holds files")
    assert main([*argv, "--force"]) == 0
    assert (tmp_path / "keep.txt").read_text() == "x" and (tmp_path / MANIFEST).exists()
    assert main(["render", *argv[1:-2], "--out", ""]) == 2
    assert "--out is empty" in capsys.readouterr().err
