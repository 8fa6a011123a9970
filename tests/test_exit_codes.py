"""One error model (issue 11): every failure is one `error:` line and a documented exit status."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import llm_advisor.cli.size_cmd as size_cmd
from llm_advisor.cli.main import EXIT_CODES, main

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_exit_code_is_documented_in_the_readme() -> None:
    table = README.read_text().split("### Exit codes", 1)[1].split("\n\n", 3)[2]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, flags=re.M)}
    assert documented == set(EXIT_CODES)


@pytest.mark.parametrize(("raised", "code", "start"), [
    (RuntimeError("boom"), 1, "error: internal error (RuntimeError: boom); this is a bug"),
    (KeyboardInterrupt(), 130, "error: interrupted"),
    (PermissionError(13, "Permission denied", "/x"), 2, "error: /x: Permission denied"),
])
def test_unexpected_failures_are_one_line(raised: BaseException, code: int, start: str,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    def handler(args: argparse.Namespace) -> int:
        raise raised

    monkeypatch.setattr(size_cmd, "run", handler)
    assert main(["size", "--model", "qwen3-0.6b", "--gpu", "L4"]) == code
    err = capsys.readouterr().err
    assert err.startswith(start) and err.count("\n") == 1 and "Traceback" not in err


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(args: argparse.Namespace) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(size_cmd, "run", handler)
    monkeypatch.setenv("LLM_ADVISOR_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["size", "--model", "qwen3-0.6b", "--gpu", "L4"])
