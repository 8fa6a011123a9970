"""The llama.cpp CPU path: instance hardware, the calibrated throughput model, the CPU plan, the engine
choice and the `plan --engine` command (llm_advisor/planner/cpu.py, pricing/cpu.py, cli/cpu_cmd.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_advisor.cli.main import main
from llm_advisor.planner import cpu
from llm_advisor.planner.errors import NoFeasibleLayout
from llm_advisor.planner.models import Workload
from pricing.cpu import cpu_instance, cpu_instances
from sizing import load_model
from sizing.gguf import estimate_gguf_memory

BENCH = Path(__file__).resolve().parent.parent / "bench" / "data" / "llamacpp_bench.csv"
BASE = ["plan", "--model", "llama2-7b", "--concurrency", "2", "--max-model-len", "4096", "--pricing",
        "snapshot", "--region", "us-east-1"]


def test_constants_are_the_fit_of_the_published_rows():
    rows = cpu.read_bench(BENCH)
    assert len({r["source_id"] for r in rows}) == len(rows) >= 5
    assert cpu.fit(rows) == (cpu.DECODE_EFFICIENCY, cpu.PREFILL_EFFICIENCY)


def test_leave_one_source_out_decode_error_stays_within_30_percent():
    loso = cpu.leave_one_source_out(cpu.read_bench(BENCH))
    assert max(abs(e["tg_error"]) for e in loso) < 0.3


def test_instance_bandwidth_is_the_vcpu_share_of_the_sockets():
    # Sapphire Rapids: 8 channels x 4800 MT/s x 8 B = 307.2 GB/s per 96-vCPU socket; 48xlarge = 2 sockets
    assert cpu_instance("c7i.48xlarge").memory_bandwidth_gb_s == pytest.approx(614.4)
    assert cpu_instance("c7i.2xlarge").memory_bandwidth_gb_s == pytest.approx(307.2 * 8 / 96)
    assert cpu_instance("c7i.2xlarge").physical_cores == 4  # 2 threads per core
    # Graviton4: 12 x 5600 x 8 = 537.6 GB/s per 96-core socket, one thread per core
    g = cpu_instance("c8g.24xlarge")
    assert (g.memory_bandwidth_gb_s, g.physical_cores) == (pytest.approx(537.6), 96)
    assert g.on_demand_usd_per_hour == 3.82848 and g.price_as_of == "2026-01-19"
    assert cpu_instances(["eu-west-1"]) == ()


def test_timing_by_hand():
    arch = load_model("Qwen/Qwen3-8B")
    mem = estimate_gguf_memory(arch, "Q4_K_M", ctx_size=2 * 4096, parallel=2)
    inst = cpu_instance("c8g.8xlarge")  # 32 cores: 179.2 GB/s share, 32 x 2.8 GHz x 64 MACs x 2 ops
    t = cpu.cpu_timing(inst, mem, arch, parallel=2, input_tokens=1000, output_tokens=200)
    read = mem.weights_read_per_token_gib * 1024**3 + 2 * 1100 * 147456
    step = read / (0.68 * 537.6 * 32 / 96 * 1e9)
    assert t.time_per_output_token_ms == pytest.approx(step * 1e3)
    ttft = 1000 * 2 * arch.active_params / (0.2 * 32 * 2.8e9 * 64 * 2)
    assert t.time_to_first_token_ms == pytest.approx(ttft * 1e3)
    assert t.output_tokens_per_s == pytest.approx(2 * 200 / (ttft + 200 * step))
    assert t.bound == "memory"


def test_cpu_plan_for_two_users_of_a_7b_model_meets_the_bound_and_fits():
    w = Workload(model="llama2-7b", concurrency=2, max_model_len=4096, engine="auto")
    plan = cpu.plan_cpu(w)
    assert plan.timing.time_per_output_token_ms <= 100
    assert plan.memory.total_gib <= plan.usable_ram_gib
    assert plan.parallel * plan.replicas >= 2 and plan.ctx_size == 4096 * plan.parallel
    assert plan.threads == plan.instance.physical_cores
    # nothing cheaper in the snapshot serves it
    for inst in cpu_instances(["us-east-1"]):
        if inst.on_demand_usd_per_hour < plan.usd_per_hour:
            better, _ = cpu._candidate(w, load_model("llama2-7b"), inst, "Q4_K_M", 1, 100.0)
            assert better is None


def test_a_bound_no_cpu_meets_names_the_fastest_and_the_nearest():
    w = Workload(model="llama2-7b", concurrency=2, max_model_len=4096, max_time_per_output_token_ms=5)
    with pytest.raises(NoFeasibleLayout, match="meets max_time_per_output_token_ms 5: the fastest"):
        cpu.plan_cpu(w)
    with pytest.raises(NoFeasibleLayout, match="priced in us-east-1"):
        cpu.plan_cpu(Workload(model="llama2-7b", regions=("eu-west-1",)))
    with pytest.raises(NoFeasibleLayout, match="--engine vllm"):
        cpu.plan_cpu(Workload(model="mistralai/Mixtral-8x7B-v0.1"))


def test_engine_choice_takes_the_cheaper_plan_and_says_why():
    plan = cpu.plan_cpu(Workload(model="llama2-7b", concurrency=2, max_model_len=4096))
    cheap_gpu = cpu.choose_engine(plan, None, plan.usd_per_hour - 0.01, 50.0, None)
    assert cheap_gpu.chosen == "vllm" and "GPU (vLLM) is cheaper" in cheap_gpu.reason
    dear_gpu = cpu.choose_engine(plan, None, plan.usd_per_hour + 0.01, 50.0, None)
    assert dear_gpu.chosen == "llama.cpp" and "CPU (llama.cpp) is cheaper" in dear_gpu.reason
    assert cpu.choose_engine(None, "too slow", 1.0, 50.0, None).chosen == "vllm"
    with pytest.raises(NoFeasibleLayout, match="neither engine"):
        cpu.choose_engine(None, "too slow", None, None, "no GPU")


def test_plan_engine_auto_reports_both_options_with_costs(capsys):
    assert main([*BASE, "--engine", "auto"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Engine: ")
    assert "CPU plan for meta-llama/Llama-2-7b-chat-hf (llama.cpp, GGUF Q4_K_M" in out
    assert "Plan for meta-llama/Llama-2-7b-chat-hf" in out
    assert out.count("/h") >= 3 and "both within the latency bound" in out


def test_plan_engine_json_carries_both(capsys):
    assert main([*BASE, "--engine", "auto", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["chosen"] in ("vllm", "llama.cpp")
    assert doc["cpu"]["gguf_type"] == "Q4_K_M" and doc["gpu"]["cost"]["usd_per_hour"] > 0


def test_plan_engine_llama_cpp_impossible_bound_exits_2_with_the_gpu_option(capsys):
    assert main([*BASE, "--engine", "llama.cpp", "--max-time-per-output-token-ms", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "GPU (--engine vllm)" in err and "/h" in err
