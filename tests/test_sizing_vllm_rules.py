"""vLLM's own argument rules (block size, scheduler limits, release range) and the calibrated releases."""

from __future__ import annotations

import pytest

from sizing import (
    ALLOWED_BLOCK_SIZES,
    CALIBRATED_VLLM_VERSIONS,
    LATEST_VLLM_VERSION,
    SUPPORTED_VLLM_VERSIONS,
    SizingError,
    SizingInput,
    check_vllm_version,
    estimate_memory,
    is_calibrated,
    recommend_utilization,
    sizing_input,
)


def _inp(**kw) -> SizingInput:
    return sizing_input(**{"model": "llama3.2-1b", "gpu": "L4", "max_model_len": 4096, **kw})


@pytest.mark.parametrize("block_size", [2, 7, 24, 256])
def test_block_size_outside_vllms_literal_is_refused_with_the_allowed_values(block_size: int) -> None:
    with pytest.raises(SizingError, match=r"1, 8, 16, 32, 64, 128.*nearest"):
        estimate_memory(_inp(block_size=block_size))


@pytest.mark.parametrize("block_size", ALLOWED_BLOCK_SIZES)
def test_every_allowed_block_size_sizes(block_size: int) -> None:
    assert estimate_memory(_inp(block_size=block_size)).block_size == block_size


def test_max_num_seqs_above_max_num_batched_tokens_is_vllms_scheduler_error() -> None:
    with pytest.raises(
        SizingError,
        match=r"max_num_batched_tokens \(2048\) must be greater than or equal to "
        r"max_num_seqs \(4000\).*raise --max-num-batched-tokens to at least 4000",
    ):
        estimate_memory(_inp(max_num_seqs=4000, max_num_batched_tokens=2048))


def test_scheduler_rule_applies_to_the_resolved_default_budget() -> None:
    # L4: vLLM's V1 default max_num_batched_tokens is 2048, so 4000 sequences alone are refused
    with pytest.raises(SizingError, match=r"\(2048\).*\(4000\)"):
        recommend_utilization(_inp(max_num_seqs=4000), concurrency=1)
    assert estimate_memory(_inp(max_num_seqs=4000, max_num_batched_tokens=4000)).max_num_seqs == 4000


def test_supported_release_range_and_its_error() -> None:
    assert SUPPORTED_VLLM_VERSIONS == ("0.2", LATEST_VLLM_VERSION)
    assert check_vllm_version("0.11.2") == "0.11.2"
    assert check_vllm_version(None) == LATEST_VLLM_VERSION
    for bad in ("0.1", "9.0", "latest"):
        with pytest.raises(SizingError, match=r"0\.2 \.\. 0\.34|X\.Y"):
            check_vllm_version(bad)


@pytest.mark.parametrize(
    "version,calibrated",
    [
        ("0.11", True),
        ("0.11.0", True),
        ("0.19.1", True),
        ("0.6.5", True),
        ("0.8", False),
        ("0.27", False),
        (LATEST_VLLM_VERSION, False),
        (None, False),
    ],
)
def test_is_calibrated(version, calibrated: bool) -> None:
    assert is_calibrated(version) is calibrated
    assert set(CALIBRATED_VLLM_VERSIONS) <= {f"0.{minor}" for minor in range(2, 34)}


def test_uncalibrated_release_says_so_in_the_notes() -> None:
    assert any("source reading only" in n for n in estimate_memory(_inp()).notes)
    assert not any("source reading only" in n for n in estimate_memory(_inp(vllm_version="0.11")).notes)


def test_tuned_max_num_seqs_shrinks_the_sampler_peak_review_11() -> None:
    # Llama-3.3-70B FP8-dynamic on one H100 at 8192 context with vLLM 0.11 (the llm-d log's release, sort
    # sampler): the defaults (1024 seqs, 8192 tokens) give a ~4.8 GiB sampler peak (min(1024, 8192) fp32
    # vocab rows x 9.8) and no KV room; 16 seqs x 2048 tokens fit.
    base = sizing_input(model="llama3.3-70b-fp8", gpu="H100", max_model_len=8192, vllm_version="0.11")
    default = estimate_memory(base)
    assert default.max_num_seqs == 1024 and not default.fits and default.activation_peak_gib > 4
    tuned = estimate_memory(base.model_copy(update={"max_num_seqs": 16, "max_num_batched_tokens": 2048}))
    assert tuned.fits and tuned.activation_peak_gib < 0.6 and tuned.kv_cache_gib > 2.5  # util 0.9 in 0.11
    fewer_seqs = estimate_memory(base.model_copy(update={"max_num_seqs": 16}))
    assert fewer_seqs.activation_peak_gib < default.activation_peak_gib / 2


def test_sampler_copies_follow_the_sampler_vllm_ships() -> None:
    # 0.11-0.16 sort top-k/top-p (fit 9.8); 0.17-0.20 the in-place Triton kernel, 18 B per vocab entry and
    # sequence (4.5 fp32 copies); 0.21+ the FlashInfer sampler by default, 14 B (3.5), except on GPUs
    # FlashInfer does not support (V100, cc 7.0: Triton again); fewer than 8 rows take the sort path.
    def peak(version: str, gpu: str = "H100", **kw) -> float:
        est = estimate_memory(sizing_input(model="llama3.1-8b", gpu=gpu, vllm_version=version, **kw))
        return est.activation_peak_gib

    rows, vocab = 1024, 128256
    assert peak("0.16") == pytest.approx(9.8 * rows * vocab * 4 / 2**30, rel=1e-6)
    assert peak("0.19") == pytest.approx(4.5 * rows * vocab * 4 / 2**30, rel=1e-6)
    assert peak("0.33") == pytest.approx(3.5 * rows * vocab * 4 / 2**30, rel=1e-6)
    v100 = peak("0.33", gpu="V100", gpu_memory_gib=32, max_model_len=4096)
    assert v100 == pytest.approx(4.5 * 256 * vocab * 4 / 2**30, rel=1e-6)
    few = peak("0.33", max_num_seqs=4, max_num_batched_tokens=8192)
    assert few == pytest.approx(max(9.8 * 4 * vocab * 4, 8192 * 2 * (4 * 4096 + 6144 + 3 * 14336)) / 2**30)


def test_pp_stages_after_the_first_hold_the_intermediate_buffers() -> None:
    # gpu_model_runner.py::_dummy_run: non-first stages keep (max_num_tokens, hidden) hidden_states and
    # residual tensors in the model dtype; the first stage has none.
    from sizing.memory import stage_facts

    _, stages = stage_facts(sizing_input(model="llama3.1-70b", gpu="H100", pipeline_parallel_size=2))
    _, single = stage_facts(sizing_input(model="llama3.1-70b", gpu="H100"))
    first, second = stages
    assert first.activation_bytes == single[0].activation_bytes
    assert second.activation_bytes - first.activation_bytes == pytest.approx(2 * 8192 * 8192 * 2, rel=1e-9)
