"""`python -m advisor prices`: table, --json keys, filters and errors, on the bundled snapshot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llm_advisor.cli import prices_cmd
from llm_advisor.cli.main import build_parser
from pricing import PricingError

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    argv = ["prices", *argv]
    args = build_parser(argv).parse_args(argv)
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
    east, west = out.split("\n\n")
    for block, region in ((east, "us-east-1"), (west, "us-west-2")):
        title, header, *rows = block.splitlines()
        assert title.startswith(f"{region}: ") and title.endswith(
            "prices from the bundled snapshot, on-demand list prices as of 2026-07-20 13:44 UTC")
        assert header.split()[:3] == ["instance_type", "gpu", "count"]
        assert rows and all(row.split()[1] == "H200" for row in rows)
    assert code == 0 and "p5en.48xlarge" in east


def test_rows_are_sorted_by_on_demand_price_within_each_region(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["--region", "eu-west-1", "--region", "us-east-1", "--pricing", "snapshot"], capsys)
    blocks = out.split("\n\n")
    assert [b.split(":")[0] for b in blocks] == ["eu-west-1", "us-east-1"]  # in the order asked
    for block in blocks:
        header, *rows = block.splitlines()[1:]
        column = header.index("on-demand $/h") + len("on-demand $/h")  # right-aligned: ends under the header
        prices = [row[:column].split()[-1] for row in rows]
        priced = [float(p.replace(",", "")) for p in prices if p != "-"]
        assert priced == sorted(priced) and len(priced) > 10
        assert prices[len(priced):] == ["-"] * (len(prices) - len(priced))  # spot-only types last


@pytest.mark.parametrize(("query", "types"), [
    ("H100", {"p5.4xlarge", "p5.48xlarge"}),
    ("h200", {"p5en.48xlarge"}),  # the snapshot has no us-east-1 row for p5e (Capacity Blocks only)
    ("A100-80GB", {"p4de.24xlarge"}),
    ("a100 40 gb", {"p4d.24xlarge"}),
    ("NVIDIA L40S", {"g6e.xlarge", "g6e.2xlarge", "g6e.4xlarge", "g6e.8xlarge", "g6e.12xlarge",
                     "g6e.16xlarge", "g6e.24xlarge", "g6e.48xlarge"}),
    ("rtx pro 6000", {"g7e.2xlarge", "g7e.4xlarge", "g7e.8xlarge", "g7e.12xlarge", "g7e.24xlarge",
                      "g7e.48xlarge"}),
    ("A10", {"g5.xlarge", "g5.2xlarge", "g5.4xlarge", "g5.8xlarge", "g5.12xlarge", "g5.16xlarge",
             "g5.24xlarge", "g5.48xlarge"}),
])
def test_gpu_matches_common_names_without_case_or_dashes(
        query: str, types: set[str], capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["--region", "us-east-1", "--gpu", query, "--pricing", "snapshot", "--json"], capsys)
    assert {row["instance_type"] for row in json.loads(out)} == types


def test_g6f_slices_show_their_fraction(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["--region", "us-east-1", "--instance-type", "g6f.large", "--pricing", "snapshot"],
                    capsys)
    assert "0.125 (slice)" in out


def test_unknown_filters_name_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PricingError, match=r"GPU 'H900'.*nearest: H200, H100, V100.*GPUs offered: .*L40S"):
        run(["--region", "us-east-1", "--gpu", "H900", "--pricing", "snapshot"], capsys)
    with pytest.raises(PricingError, match=r"no A100 with 60 GB .*sizes offered: 40 GB, 80 GB"):
        run(["--region", "us-east-1", "--gpu", "A100-60GB", "--pricing", "snapshot"], capsys)
    with pytest.raises(PricingError, match=r"'p5.49xlarge'.*nearest: .*p5.48xlarge"):
        run(["--region", "us-east-1", "--instance-type", "p5.49xlarge", "--pricing", "snapshot"], capsys)


def test_a_gpu_offered_only_elsewhere_names_the_regions_that_have_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PricingError, match=r"GPU 'B300'.*the snapshot has it in us-west-2"):
        run(["--region", "eu-west-1", "--gpu", "B300", "--pricing", "snapshot"], capsys)


def test_a_region_without_a_match_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["--region", "us-east-1", "--region", "eu-west-1", "--gpu", "H100", "--pricing",
                     "snapshot"], capsys)
    assert out.rstrip().endswith("eu-west-1: no instance type matches the filters")


@pytest.mark.parametrize(("argv", "message"), [
    (["--region", "us-est-1"],
     "error: unknown region(s) us-est-1 for --pricing snapshot; us-est-1: did you mean"),
    (["--gpu", "H1OO"], "error: no offer with GPU 'H1OO' in the selected regions (nearest: H100;"),
    (["--instance-type", "p5.48xlrge"],
     "error: instance type 'p5.48xlrge' has no priced offer here; nearest: p5.48xlarge"),
])
def test_cli_exits_2_naming_the_nearest_valid_value(
        argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    from llm_advisor.cli.main import main

    assert main(["prices", "--pricing", "snapshot", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    if "did you mean" in message:
        assert "us-east-1" in err.split("did you mean")[1].split(";")[0]


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
    monkeypatch.setattr(pricing, "load_priced_catalog", snapshot_catalog)
    code, out, err = run(["--region", "us-east-1", "--gpu", "L40S", "--json", "--placement-scores"], capsys)
    listed = sorted(row["instance_type"] for row in json.loads(out))  # stdout stays one JSON document
    assert code == 0 and len(listed) == 8 and asked == [(listed, ["us-east-1"])]
    assert "us-east-1 use1-az6: 7" in err and "one score for the whole set, not per type" in err
    assert "always low" not in err  # 8 types: no fewer-than-3 note


def snapshot_catalog(regions: list[str], pricing_mode: str = "auto", **kwargs: object) -> object:
    """load_priced_catalog as --pricing auto answers with no credentials, minus the credential chain."""
    from pricing.catalog import load_priced_catalog

    lz = bool(kwargs.get("include_local_zones"))
    return load_priced_catalog(regions, "snapshot", include_local_zones=lz)


def test_placement_scores_refuse_snapshot_pricing_before_any_call(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import pricing

    monkeypatch.setattr(pricing, "spot_placement_scores", lambda *a: pytest.fail("no live call expected"))
    with pytest.raises(PricingError, match="--placement-scores asks EC2 live and --pricing snapshot"):
        run(["--region", "us-east-1", "--pricing", "snapshot", "--placement-scores"], capsys)
    assert capsys.readouterr().out == ""


def test_placement_score_failure_prints_nothing_to_stdout(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import pricing

    def denied(types: list[str], regions: list[str]) -> tuple:
        raise PricingError("spot placement scores unavailable (ClientError: UnauthorizedOperation)")

    monkeypatch.setattr(pricing, "spot_placement_scores", denied)
    monkeypatch.setattr(pricing, "load_priced_catalog", snapshot_catalog)
    with pytest.raises(PricingError, match="UnauthorizedOperation"):
        run(["--region", "us-east-1", "--gpu", "L40S", "--json", "--placement-scores"], capsys)
    assert capsys.readouterr().out == ""  # no JSON document followed by exit 2


def test_placement_scores_of_two_types_are_asked_with_a_note(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import pricing
    from pricing.models import SpotPlacementScore

    monkeypatch.setattr(pricing, "load_priced_catalog", snapshot_catalog)
    monkeypatch.setattr(pricing, "spot_placement_scores", lambda types, regions: (
        SpotPlacementScore(region="us-east-1", availability_zone_id="use1-az6", score=1),))
    code, out, err = run(["--region", "us-east-1", "--gpu", "H100", "--placement-scores"], capsys)
    assert code == 0 and "p5.48xlarge" in out
    assert "fewer than 3 types as always low" in err and "us-east-1 use1-az6: 1" in err


def test_placement_scores_refuse_more_than_ten_regions_before_any_client() -> None:
    from pricing import spot_placement_scores

    def no_client(service: str, region: str) -> object:
        raise AssertionError("no client expected")

    regions = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
               "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1"]
    with pytest.raises(PricingError, match="at most 10 regions per request"):
        spot_placement_scores(["p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge"], regions, clients=no_client)
