"""`size --engine llama.cpp` and `throughput --engine llama.cpp` (llm_advisor/cli/cpu_cmd.py)."""

from __future__ import annotations

import json

from llm_advisor.cli.main import main
from llm_advisor.planner.cpu import cpu_timing
from pricing.cpu import cpu_instance
from sizing import load_model
from sizing.gguf import estimate_gguf_memory

SIZE = ["size", "--model", "llama2-7b", "--engine", "llama.cpp", "--gguf-type", "Q4_K_M",
        "--max-model-len", "4096", "--concurrency", "2"]


def test_size_llamacpp_reports_the_gguf_sizing_and_the_file(capsys) -> None:
    assert main([*SIZE, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    mem = estimate_gguf_memory(load_model("llama2-7b"), "Q4_K_M", ctx_size=8192, parallel=2)
    assert doc["total_gib"] == mem.total_gib and doc["ctx_size"] == 8192
    assert main(SIZE) == 0
    assert "TheBloke/Llama-2-7B-Chat-GGUF / llama-2-7b-chat.Q4_K_M.gguf" in capsys.readouterr().out


def test_size_llamacpp_says_when_the_instance_is_too_small(capsys) -> None:
    # 7.9 GiB (4 GiB of it f16 KV for 2 x 4096 tokens) > 6.6 GiB usable of a c7i.xlarge's 8 GiB
    assert main([*SIZE, "--instance-type", "c7i.xlarge"]) == 1
    assert "does not fit" in capsys.readouterr().out
    assert main([*SIZE, "--instance-type", "c7i.2xlarge"]) == 0


def test_throughput_llamacpp_is_the_planners_cpu_model(capsys) -> None:
    args = ["throughput", "--model", "llama2-7b", "--engine", "llama.cpp", "--instance-type", "c8g.8xlarge",
            "--concurrency", "2", "--input-len", "512", "--output-len", "256", "--json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    arch = load_model("llama2-7b")
    mem = estimate_gguf_memory(arch, "Q4_K_M", ctx_size=768 * 2, parallel=2)
    expected = cpu_timing(cpu_instance("c8g.8xlarge"), mem, arch, 2, 512, 256)
    assert doc["time_per_output_token_ms"] == expected.time_per_output_token_ms
    assert doc["threads"] == 32


def test_missing_instance_or_gpu_is_one_clear_line_and_exit_2(capsys) -> None:
    assert main(["throughput", "--model", "llama2-7b", "--engine", "llama.cpp", "--concurrency", "1",
                 "--input-len", "10", "--output-len", "10"]) == 2
    assert "--instance-type" in capsys.readouterr().err
    assert main(["size", "--model", "llama2-7b"]) == 2
    assert "--engine llama.cpp" in capsys.readouterr().err
