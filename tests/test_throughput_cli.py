"""`llm-advisor throughput`: the planner's step-time model for one layout, --json fields, bad input."""

from __future__ import annotations

import json

from llm_advisor.cli.main import main
from llm_advisor.planner.one_layout import layout_estimate


def test_json_fields_are_the_planners_estimate(capsys):
    rc = main(["throughput", "--model", "llama3.1-8b", "--gpu", "H100", "--concurrency", "16",
               "--input-len", "1024", "--output-len", "256", "--json"])
    out = json.loads(capsys.readouterr().out)
    est, _ = layout_estimate("llama3.1-8b", "H100", 16, 1024, 256)
    assert rc == 0
    assert out["output_tokens_per_s"] == est.decode_output_tokens_per_s
    assert out["time_per_output_token_ms"] == est.time_per_output_token_ms
    assert out["time_to_first_token_ms"] == est.time_to_first_token_ms
    assert (out["batch"], out["bound"]) == (16, "memory")


def test_request_longer_than_max_model_len_exits_2_naming_the_flags(capsys):
    rc = main(["throughput", "--model", "llama3.1-8b", "--gpu", "H100", "--concurrency", "1",
               "--input-len", "1024", "--output-len", "256", "--max-model-len", "512"])
    err = capsys.readouterr().err
    assert rc == 2 and "--input-len + --output-len (1024 + 256) exceed --max-model-len 512" in err
    assert "--max-model-len 1280" in err
