"""`llm-advisor models`: the catalog listed from sizing/data/models.json (issue 11 item 10)."""

from __future__ import annotations

import json

import pytest

from llm_advisor.cli.main import COMMANDS, main
from llm_advisor.cli.models_cmd import JSON_KEYS


def _rows(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:
    assert main(["models", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_catalog_model_is_listed_with_its_facts(capsys: pytest.CaptureFixture[str]) -> None:
    from sizing import catalog_entries

    rows = _rows(capsys)
    assert "models" in COMMANDS
    assert [r["hf_id"] for r in rows] == [e.hf_id for e in catalog_entries()]
    assert all(tuple(r) == JSON_KEYS for r in rows)
    by_id = {r["hf_id"]: r for r in rows}
    llama = by_id["meta-llama/Llama-3.1-8B-Instruct"]
    # Gated on the Hub (models.json gated_repos meta-llama/*), 16-bit weights, vLLM makes fp8/bnb4 at load
    # time and the listed AWQ/GPTQ/INT8 checkpoints give the other formats.
    assert llama["gated"] and llama["gated_pattern"] == "meta-llama/*"
    assert llama["family"] == "llama" and llama["weights"] == "bf16" and llama["params_source"] == "publisher"
    assert llama["formats"][:3] == ["none", "fp8", "bnb4"]
    assert {"awq", "gptq", "int8"} <= set(llama["formats"])
    assert "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4 (awq)" in llama["checkpoints"]
    qwen = by_id["Qwen/Qwen3-8B"]
    assert not qwen["gated"] and qwen["gated_pattern"] is None
    fp8 = by_id["Qwen/Qwen3-32B-FP8"]  # a pre-quantized row: its own format only, vLLM quantizes no further
    assert fp8["weights"] == "fp8" and fp8["formats"] == ["fp8"]
    moe = by_id["Qwen/Qwen3-30B-A3B"]
    assert moe["active_params_b"] is not None and moe["active_params_b"] < moe["params_b"]
    for row in rows:
        assert row["params_b"] > 0 and len(set(row["formats"])) == len(row["formats"])


def test_family_filter_and_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows(capsys, "--family", "qwen3")
    assert rows and {r["family"] for r in rows} == {"qwen3"}
    assert main(["models", "--family", "Qwen3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{len(rows)} catalog model(s)") and "Qwen/Qwen3-8B" in out and "open" in out
    assert "meta-llama" not in out


def test_unknown_family_exits_2_naming_the_flag_and_the_families(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--family", "nope"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: --family 'nope': no catalog model") and "qwen3" in line
