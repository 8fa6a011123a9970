"""`python -m advisor prices`: table, --json keys, filters and errors, on the bundled snapshot."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from advisor import prices_cmd
from pricing import PricingError

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    prices_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["prices", *argv])
    code = args.handler(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_exactly_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--region", "us-east-1", "--instance-type", "p5.48xlarge", "--pricing", "snapshot",
                          "--json"], capsys)
    (row,) = json.loads(out)
    assert code == 0 and tuple(row) == prices_cmd.JSON_KEYS
    assert row["on_demand_usd_per_hour"] == 55.04 and row["spot_usd_per_hour"] == 17.6289
    assert row["spot_usd_per_hour_by_az"]["use1-az6"] == 17.6289
    assert (row["gpu_name"], row["gpu_count"], row["gpu_memory_gib"]) == ("H100", 8, 80.0)
    assert row["price_source"] == "snapshot" and row["prices_as_of"] == "2026-07-20T13:44:30+00:00"
    assert "warning: us-east-1: using the bundled price snapshot" in err


def test_table_filters_by_gpu_across_regions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--region", "us-east-1", "--region", "us-west-2", "--gpu", "h200", "--pricing",
                        "snapshot"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["instance_type", "region", "gpu"]
    assert {line.split()[1] for line in lines[1:]} == {"us-east-1", "us-west-2"}
    assert all(line.split()[2] == "H200" for line in lines[1:])
    assert any("p5en.48xlarge" in line and "snapshot" in line for line in lines)


def test_g6f_slices_show_their_fraction(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["--region", "us-east-1", "--instance-type", "g6f.large", "--pricing", "snapshot"],
                    capsys)
    assert "0.125 (slice)" in out


def test_unknown_filters_name_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PricingError, match=r"GPU 'H900'.*GPUs offered: .*H100"):
        run(["--region", "us-east-1", "--gpu", "H900", "--pricing", "snapshot"], capsys)
    with pytest.raises(PricingError, match=r"'p5.49xlarge'.*nearest: .*p5.48xlarge"):
        run(["--region", "us-east-1", "--instance-type", "p5.49xlarge", "--pricing", "snapshot"], capsys)


def test_module_entry_point_exits_2_on_an_unknown_region() -> None:
    result = subprocess.run([sys.executable, "-m", "advisor", "prices", "--region", "mars-1", "--pricing",
                             "snapshot"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown region(s) mars-1") and "us-east-1" in result.stderr


def test_placement_scores_are_asked_for_the_listed_types(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import pricing
    from pricing.models import SpotPlacementScore

    asked: list[tuple[list[str], list[str]]] = []

    def fake_scores(types: list[str], regions: list[str]) -> tuple[SpotPlacementScore, ...]:
        asked.append((types, regions))
        return (SpotPlacementScore(region="us-east-1", availability_zone_id="use1-az6", score=7),)

    monkeypatch.setattr(pricing, "spot_placement_scores", fake_scores)
    code, out, err = run(["--region", "us-east-1", "--gpu", "L40S", "--pricing", "snapshot", "--json",
                          "--placement-scores"], capsys)
    listed = sorted(row["instance_type"] for row in json.loads(out))  # stdout stays one JSON document
    assert code == 0 and len(listed) == 8 and asked == [(listed, ["us-east-1"])]
    assert "us-east-1 use1-az6: 7" in err
