"""GPU profiles: AWS GpuInfo names + memory, common card names, CUDA-reported totals."""

from __future__ import annotations

import pytest

from sizing import SizingError, gpu_profile
from tests.conftest import load_edited_table


@pytest.mark.parametrize(
    "name,memory,canonical,total",
    [
        ("A100", 80, "A100-80GB", 79.15),
        ("A100", 40, "A100-40GB", 39.38),
        ("V100", 32, "V100-32GB", 31.32),
        ("V100", 16, "V100-16GB", 15.77),
        ("H200", 141, "H200", 139.58),
        ("L4", 22.35, "L4", 22.07),
        ("A10G", 22.35, "A10G", 22.07),
        ("L40S", 44.7, "L40S", 44.57),
        ("T4", 16, "T4", 14.56),
        ("B200", 179.06, "B200", 178.64),
        ("B300", 268.59, "B300", 268.17),
        ("RTX PRO Server 6000", 96, "RTX PRO 6000", 95.17),
        ("H100", 80, "H100", 79.19),
        ("A100-80GB", None, "A100-80GB", 79.15),
        ("RTX 4090", None, "RTX 4090", 23.58),
        ("RTX 3090", None, "RTX 3090", 23.58),
        ("nvidia h100", None, "H100", 79.19),
    ],
)
def test_aws_and_common_names_resolve(name, memory, canonical, total) -> None:
    gpu = gpu_profile(name, memory)
    assert gpu.name == canonical and gpu.total_memory_gib == total and gpu.source


def test_cuda_total_is_below_the_marketing_size() -> None:
    assert gpu_profile("H100").total_memory_gib < 80  # vLLM budgets against ~79.19 GiB, not 80


def test_a100_flag_drives_the_small_default_tier() -> None:
    assert gpu_profile("A100", 80).is_a100 and not gpu_profile("H100").is_a100


def test_ambiguous_name_without_memory_says_what_to_pass() -> None:
    with pytest.raises(SizingError, match="--gpu-memory-gib.*A100-80GB, A100-40GB"):
        gpu_profile("A100")


def test_fractional_gpu_memory_scales_the_total() -> None:
    quarter = gpu_profile("L4", 5.59)  # g6f quarter-L4 slice
    assert quarter.total_memory_gib == pytest.approx(22.07 * 5.59 / 22.35, abs=0.01)


def test_unknown_gpu_lists_the_known_ones() -> None:
    with pytest.raises(SizingError, match="unknown GPU 'MI300X'; known: H100, H200, A100-80GB"):
        gpu_profile("MI300X")


def test_unknown_gpu_names_the_nearest_known_ones() -> None:
    with pytest.raises(SizingError, match="unknown GPU 'H10'; nearest known GPUs: H100"):
        gpu_profile("H10")


def test_every_priced_gpu_name_is_a_row_of_the_gpu_table() -> None:
    import csv
    from pathlib import Path

    from sizing import gpu_table

    data = Path(__file__).resolve().parent.parent / "pricing" / "data"
    aws_names = {row.aws_name for row in gpu_table() if row.aws_name}
    for name in ("aws_gpu_instances.csv", "aws_gpu_prices.csv"):
        with (data / name).open(newline="", encoding="utf-8") as handle:
            priced = {row["gpu_name"] for row in csv.DictReader(handle)}
        assert priced <= aws_names, f"{name}: {sorted(priced - aws_names)} not in sizing/data/gpus.json"


def test_every_row_names_its_source() -> None:
    from sizing import gpu_table

    for row in gpu_table():
        assert row.source and (row.cuda_total_memory_gib is None or row.cuda_memory_source), row.name


def test_a_malformed_gpu_row_fails_naming_it(tmp_path, monkeypatch) -> None:
    from sizing import gpus

    def edit(table: dict) -> None:
        table["gpus"][1]["cuda_total_memory_gib"] = "lots"

    with pytest.raises(SizingError, match=r"gpus.json: gpus\[1\] \(H200\) is malformed"):
        load_edited_table(monkeypatch, tmp_path, gpus, "GPU_TABLE_PATH", gpus.gpu_table, edit)
