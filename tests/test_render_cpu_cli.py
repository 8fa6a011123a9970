"""`render --engine llama.cpp|auto` (issue 13): a CPU plan's files through the same careful writer as a GPU
plan's; auto renders whichever engine the planner's comparison chooses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from llm_advisor.cli.main import main

SHAPE = ["--model", "llama-2-7b", "--concurrency", "2", "--max-model-len", "4096", "--pricing", "snapshot"]


def test_render_engine_llamacpp_writes_the_cpu_bundle(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cpu"
    assert main(["render", *SHAPE, "--engine", "llama.cpp", "--out", str(out)]) == 0
    assert {"kubernetes.yaml", "cloud-init.yaml", "hf-token-secret.yaml", "APPLY.txt"} <= {
        p.name for p in out.iterdir()}
    docs = [d for d in yaml.safe_load_all((out / "kubernetes.yaml").read_text()) if d]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert "llama.cpp" in pod["containers"][0]["image"]
    assert not any(t.get("key") == "nvidia.com/gpu" for t in pod.get("tolerations", []))
    assert "llama.cpp, GGUF" in capsys.readouterr().out


def test_render_engine_auto_renders_the_cheaper_gpu_plan_here(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "auto"
    assert main(["render", *SHAPE, "--engine", "auto", "--out", str(out)]) == 0
    assert "engine: vllm" in capsys.readouterr().err  # 1 x g6.xlarge undercuts the CPU plan on the snapshot
    assert (out / "vllm-config.yaml").is_file()


def test_cpu_plans_price_through_the_pricing_mode(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # --pricing reaches the CPU catalog loader (live -> cache -> snapshot), and its warnings are printed
    import pricing.cpu_live as cpu_live

    seen: list[str] = []
    real = cpu_live.load_cpu_catalog

    def spy(regions, pricing="auto", **kwargs):  # type: ignore[no-untyped-def]
        seen.append(pricing)
        catalog = real(regions, "snapshot")
        return catalog.model_copy(update={"warnings": ("us-east-1: CPU prices from the spy",)})

    monkeypatch.setattr(cpu_live, "load_cpu_catalog", spy)
    shape = [a for a in SHAPE if a not in ("--pricing", "snapshot")]
    assert main(["plan", *shape, "--engine", "llama.cpp", "--pricing", "auto"]) == 0
    assert seen == ["auto"]
    assert "CPU prices from the spy" in capsys.readouterr().err
