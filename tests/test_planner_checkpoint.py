"""The checkpoint a plan serves: served_model, checkpoint_quantization vs load-time quantization,
--served-model repos in their own format, known quantized variants sized on their own facts.

Hand-priced catalogs, hand-derived answers; from the planner review findings #1 #4 #14 and the second
review's #1, each test failing on the code before its fix."""

from __future__ import annotations

import pytest

import sizing
from llm_advisor.planner import PlanningError, Workload, checkpoint, make_plan
from sizing import load_model
from tests.conftest import (
    L40S,
    LLAMA8,
    LLAMA70,
    LLAMA70_FP8,
    LLAMA405,
    P5,
    P5_48X,
    catalog,
    offer,
)

RH_FP8 = "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"  # sizing/checkpoints.py: compressed-tensors FP8


HQ_AWQ = "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4"  # AutoAWQ INT4 of Llama-3.1-70B-Instruct


def wl(**kw) -> Workload:
    return Workload(**{"model": "llama-3.3-70b", "concurrency": 2, "max_model_len": 4096, **kw})


# --- #1 / #4: the checkpoint vLLM loads -----------------------------------------------------------------


def test_bf16_checkpoint_served_as_is_and_fp8_quantized_at_load_time():
    cat = L40S
    plain = make_plan(Workload(model=LLAMA8, concurrency=4, max_model_len=2048), cat)
    assert (plain.served.served_model, plain.served.checkpoint_quantization, plain.served.quantization) == (
        LLAMA8,
        "none",
        "none",
    )
    # vLLM quantizes a bf16 checkpoint to fp8 at load time: the same repo, checkpoint format "none"
    fp8 = make_plan(Workload(model=LLAMA8, quantization="fp8", concurrency=4, max_model_len=2048), cat)
    assert (fp8.served.served_model, fp8.served.checkpoint_quantization, fp8.served.quantization) == (
        LLAMA8,
        "none",
        "fp8",
    )


def test_prequantized_fp8_checkpoint_is_its_own_format():
    arch = load_model(LLAMA70_FP8)
    plan = make_plan(Workload(model=LLAMA70_FP8, concurrency=4, max_model_len=4096), P5)
    assert (plan.served.served_model, plan.served.checkpoint_quantization, plan.served.quantization) == (
        arch.hf_id,
        "fp8",
        "fp8",
    )


def test_awq_on_a_bf16_checkpoint_without_a_known_variant_has_no_served_model(monkeypatch):
    # The 70B base checkpoint is bf16; AWQ cannot be made at load time and no AWQ repo is known for it.
    monkeypatch.setattr(checkpoint, "quantized_checkpoint", lambda arch, q: None)
    w = Workload(model=LLAMA70, quantization="awq", concurrency=4, max_model_len=4096)
    plan = make_plan(w, L40S)
    assert (
        plan.served.quantization == "awq"
        and plan.served.served_model is None
        and plan.served.checkpoint_quantization == "awq"
    )
    needs = "render needs --served-model <an AWQ checkpoint of this architecture>"
    assert any(needs in x for x in plan.warnings)
    # --served-model names it: served as given, an AWQ checkpoint, no warning
    given = make_plan(w.model_copy(update={"served_model": "acme/Llama-70B-AWQ"}), L40S)
    assert (given.served.served_model, given.served.checkpoint_quantization) == ("acme/Llama-70B-AWQ", "awq")
    assert not any("--served-model" in x for x in given.warnings)


def test_awq_served_from_the_known_variant(monkeypatch):
    known = {"awq": "hq/Llama-70B-AWQ"}
    monkeypatch.setattr(checkpoint, "quantized_checkpoint", lambda arch, q: known.get(q))
    w = Workload(model=LLAMA70, quantization="awq", concurrency=4, max_model_len=4096)
    plan = make_plan(w, L40S)
    assert (plan.served.served_model, plan.served.checkpoint_quantization) == ("hq/Llama-70B-AWQ", "awq")


def test_config_json_model_has_no_served_model_unless_given(tmp_path):
    import shutil
    from pathlib import Path

    bundled = Path(sizing.__file__).parent / "data" / "model_configs" / "meta-llama--Meta-Llama-3.1-8B.json"
    path = tmp_path / "config.json"
    shutil.copy(bundled, path)
    w = Workload(model=str(path), concurrency=4, max_model_len=2048)
    plan = make_plan(w, L40S)
    assert plan.served.model == str(path) and plan.served.served_model is None
    assert any("local config.json" in x and "--served-model" in x for x in plan.warnings)
    named = make_plan(w.model_copy(update={"served_model": "meta-llama/Llama-3.1-8B"}), L40S)
    assert named.served.served_model == "meta-llama/Llama-3.1-8B"


def test_infeasible_awq_option_says_it_needs_a_checkpoint(monkeypatch):
    # 405B on one g6e.xlarge cannot fit in any format: the awq option must say what serving it needs.
    monkeypatch.setattr(checkpoint, "quantized_checkpoint", lambda arch, q: None)
    with pytest.raises(PlanningError) as err:
        make_plan(Workload(model=LLAMA405, concurrency=1, max_model_len=4096), L40S)
    line = next(x for x in str(err.value).splitlines() if "--quantization awq" in x)
    assert "needs --served-model <an AWQ checkpoint of this architecture>, none is known" in line
    monkeypatch.setattr(checkpoint, "quantized_checkpoint", lambda arch, q: f"hq/{q}-405B")
    with pytest.raises(PlanningError) as err:
        make_plan(Workload(model=LLAMA405, concurrency=1, max_model_len=4096), L40S)
    assert "needs an AWQ checkpoint: hq/awq-405B" in str(err.value)


# --- #1: a --served-model repo is served in its own format ------------------------------------------------


def test_listed_fp8_repo_is_an_fp8_checkpoint_not_a_load_time_quantization():
    # RedHat's FP8-dynamic repo already holds fp8 weights: vLLM must not be told --quantization fp8 again
    # (its quant_method is compressed-tensors), so checkpoint_quantization == quantization == fp8.
    cat = catalog(offer("p5.48xlarge", P5_48X))
    plan = make_plan(wl(quantization="fp8", served_model=RH_FP8), cat)
    assert (plan.served.served_model, plan.served.checkpoint_quantization, plan.served.quantization) == (
        RH_FP8,
        "fp8",
        "fp8",
    )
    # no --quantization: the repo's own format is planned
    assert make_plan(wl(served_model=RH_FP8), cat).served.quantization == "fp8"


def test_listed_awq_repo_without_quantization_plans_awq_weights():
    # Llama-3.1-70B AWQ INT4: ~37 GiB of weights fit one L40S (44.5 GiB usable at 0.95); bf16 (131 GiB)
    # does not, and g6e.xlarge has no EFA: sized as bf16 the workload would be infeasible.
    plan = make_plan(wl(model=LLAMA70, served_model=HQ_AWQ), L40S)
    assert (plan.served.quantization, plan.served.checkpoint_quantization, plan.served.served_model) == (
        "awq",
        "awq",
        HQ_AWQ,
    )
    assert plan.placement.instance_count == 1 and plan.memory.weights_gib < 40


def test_a_format_the_listed_repo_contradicts_is_refused_naming_the_right_quantization():
    with pytest.raises(PlanningError) as err:
        make_plan(wl(model=LLAMA70, quantization="fp8", served_model=HQ_AWQ), L40S)
    msg = str(err.value)
    assert HQ_AWQ in msg and "AWQ checkpoint" in msg and "--quantization awq" in msg
    # a 16-bit repo cannot become AWQ at load time: none, fp8 or bnb4 work
    with pytest.raises(PlanningError, match="--quantization none, fp8 or bnb4"):
        make_plan(wl(quantization="awq", served_model="meta-llama/Llama-3.3-70B-Instruct"), L40S)


def test_a_repo_of_another_architecture_is_refused_naming_both():
    with pytest.raises(PlanningError) as err:
        make_plan(wl(model=LLAMA8, served_model=HQ_AWQ), L40S)
    msg = str(err.value)
    assert HQ_AWQ in msg and "meta-llama/Meta-Llama-3.1-8B" in msg and "num_hidden_layers 80 vs 32" in msg


def test_the_base_repo_may_be_served_from_its_instruct_awq_twin():
    # base_model differs (base vs Instruct) but every architecture fact is the same
    plan = make_plan(wl(model=LLAMA70, served_model=HQ_AWQ), L40S)
    assert plan.served.model == sizing.load_model(LLAMA70).hf_id and plan.served.served_model == HQ_AWQ


def test_unlisted_repo_format_follows_the_plan_or_must_be_stated():
    cat = catalog(offer("p5.48xlarge", P5_48X))
    # none planned: a 16-bit repo; awq planned: an AWQ repo (vLLM reads AWQ only from the checkpoint)
    assert make_plan(wl(served_model="acme/L70"), cat).served.checkpoint_quantization == "none"
    assert (
        make_plan(wl(quantization="awq", served_model="acme/L70"), cat).served.checkpoint_quantization
        == "awq"
    )
    # fp8 is ambiguous: load-time from 16-bit, or a pre-quantized FP8 repo
    with pytest.raises(PlanningError) as err:
        make_plan(wl(quantization="fp8", served_model="acme/L70"), cat)
    assert "--served-model-quantization none" in str(err.value) and "acme/L70" in str(err.value)
    stated = make_plan(wl(quantization="fp8", served_model="acme/L70", served_model_quantization="fp8"), cat)
    assert (stated.served.checkpoint_quantization, stated.served.quantization) == ("fp8", "fp8")
    load_time = wl(quantization="fp8", served_model="acme/L70", served_model_quantization="none")
    assert make_plan(load_time, cat).served.checkpoint_quantization == "none"
    # an FP8 repo with no --quantization: fp8 is planned, in its format
    assert (
        make_plan(wl(served_model="acme/L70", served_model_quantization="fp8"), cat).served.quantization
        == "fp8"
    )
    # bnb4 likewise ambiguous
    with pytest.raises(PlanningError, match="--served-model-quantization bnb4"):
        make_plan(wl(quantization="bnb4", served_model="acme/L70", vllm_version="0.27"), cat)


def test_stated_format_that_contradicts_a_listed_repo_is_refused():
    with pytest.raises(PlanningError, match="--served-model-quantization none contradicts"):
        make_plan(
            wl(served_model=RH_FP8, served_model_quantization="none"), catalog(offer("p5.48xlarge", P5_48X))
        )


# --- #14: sizing.quantized_checkpoint imported directly ---------------------------------------------------


def test_quantized_checkpoint_is_sizings_own_function():
    assert checkpoint.quantized_checkpoint is sizing.quantized_checkpoint


def test_the_listed_variant_is_sized_on_its_own_facts():
    # --quantization awq on the 16-bit Instruct model is served from hugging-quants' AWQ repo: its listed
    # facts are what the plan sizes; fp8 is made at load time from the model's own repo (no variant).
    arch = sizing.load_model("meta-llama/Llama-3.1-70B-Instruct")
    assert checkpoint.variant_arch(arch, "awq").hf_id == HQ_AWQ
    assert checkpoint.variant_arch(arch, "fp8") is None and checkpoint.variant_arch(arch, "none") is None
    plan = make_plan(wl(model="meta-llama/Llama-3.1-70B-Instruct", quantization="awq"), L40S)
    given = make_plan(wl(model="meta-llama/Llama-3.1-70B-Instruct", served_model=HQ_AWQ), L40S)
    assert plan.served.served_model == HQ_AWQ and plan.memory == given.memory
