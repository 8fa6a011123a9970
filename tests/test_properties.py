"""Property-based tests (hypothesis, issue 11): no generated input to the CLI parsers, the price parsers or
the price cache yields a traceback, a hang, or exit 0 with a non-finite, negative or contradictory figure.

Deterministic and fast: derandomize=True (the same examples every run), no example database, few examples.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llm_advisor.cli.main import main
from pricing.parse import parse_on_demand_price, parse_spot_prices
from pricing.validate import MAX_USD_PER_GPU_HOUR, MIN_USD_PER_GPU_HOUR, checked_offers

pytestmark = pytest.mark.usefixtures("fake_aws")

FAST = settings(max_examples=25, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

NUMBERS = st.one_of(
    st.integers(min_value=-10, max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e308", "0", "-0", "0x10", "", " ", "1_000", "٣"]),
    st.text(max_size=8),
)
SIZE_FLAGS = ["--tp", "--pp", "--max-model-len", "--concurrency", "--headroom", "--gpu-memory-gib",
              "--max-num-seqs", "--max-num-batched-tokens", "--gpu-memory-utilization", "--block-size"]
PLAN_FLAGS = ["--max-model-len", "--concurrency", "--headroom", "--max-usd-per-hour", "--target-tokens-per-s",
              "--max-time-per-output-token-ms", "--churn-threshold"]


def numbers_in(data: Any) -> list[float]:
    if isinstance(data, bool):
        return []
    if isinstance(data, (int, float)):
        return [float(data)]
    if isinstance(data, dict):
        return [x for v in data.values() for x in numbers_in(v)]
    if isinstance(data, list):
        return [x for v in data for x in numbers_in(v)]
    return []


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage error: exit 2 with its own message
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def check_outcome(code: int, out: str, err: str) -> None:
    assert "Traceback" not in err and code in (0, 2), (code, err)
    if code == 2:
        assert err.strip(), "exit 2 says why"
    else:
        data = json.loads(out)
        figures = numbers_in(data)
        assert all(math.isfinite(x) for x in figures)
        assert all(x >= 0 for x in figures), [x for x in figures if x < 0]


@FAST
@given(flags=st.lists(st.tuples(st.sampled_from(SIZE_FLAGS), NUMBERS), max_size=3))
def test_size_flags(flags: list[tuple[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["size", "--model", "qwen3-0.6b", "--gpu", "L4", "--json"]
    for flag, value in flags:
        argv += [flag, value] if not value.startswith("-") else [f"{flag}={value}"]
    code, out, err = run_cli(argv, capsys)
    check_outcome(code, out, err)
    if code == 0:
        data = json.loads(out)
        assert data["fits"] is True and data["kv_cache_tokens"] >= data["max_model_len"]


@FAST
@given(flags=st.lists(st.tuples(st.sampled_from(PLAN_FLAGS), NUMBERS), min_size=1, max_size=2))
def test_plan_flags(flags: list[tuple[str, str]], capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--model", "qwen3-0.6b", "--pricing", "snapshot", "--json"]
    for flag, value in flags:
        argv += [flag, value] if not value.startswith("-") else [f"{flag}={value}"]
    code, out, err = run_cli(argv, capsys)
    check_outcome(code, out, err)
    if code == 0:
        plan = json.loads(out)
        assert plan["cost"]["usd_per_hour"] > 0 and plan["placement"]["instance_count"] >= 1


@FAST
@given(model=st.text(max_size=30), region=st.text(max_size=12))
def test_model_and_region_strings(model: str, region: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--model", model, "--pricing", "snapshot", "--json", f"--region={region}"]
    check_outcome(*run_cli(argv, capsys))


def product(usd: str) -> str:
    dimension = {"d": {"pricePerUnit": {"USD": usd}}}
    return json.dumps({"product": {"attributes": {"instanceType": "g5.xlarge"}},
                       "terms": {"OnDemand": {"t": {"priceDimensions": dimension}}}})


@FAST
@given(st.lists(NUMBERS, min_size=1, max_size=3))
def test_on_demand_parser(usds: list[str]) -> None:
    from pricing import PricingError

    try:
        price = parse_on_demand_price([product(u) for u in usds], "g5.xlarge", "us-east-1")
    except (PricingError, ValueError):  # ambiguous, or not a number: an error, never a guess
        return
    assert price is None or price > 0


@FAST
@given(st.lists(st.tuples(st.sampled_from(["use1-az1", "use1-az2", "usw2-lax1-az1"]), NUMBERS), max_size=4))
def test_spot_parser_then_validation_keeps_only_sound_prices(rows: list[tuple[str, str]]) -> None:
    from pricing import load_priced_catalog
    from pricing.snapshot import make_price

    items = [{"AvailabilityZoneId": az, "InstanceType": "g5.xlarge", "SpotPrice": usd,
              "Timestamp": "2026-01-01T00:00:00Z", "ProductDescription": "Linux/UNIX"} for az, usd in rows]
    try:
        spot = parse_spot_prices(items)
    except ValueError:  # a SpotPrice that is not a number: the fetch turns it into MalformedAwsResponse
        return
    offer = next(o for o in load_priced_catalog(["us-east-1"], "snapshot").offers
                 if o.instance.instance_type == "g5.xlarge")
    price = make_price(instance_type="g5.xlarge", region="us-east-1", on_demand=1.006,
                       spot_by_az=spot.get("g5.xlarge", {}), price_source="live",
                       prices_as_of=offer.price.prices_as_of)
    kept, _ = checked_offers([offer.model_copy(update={"price": price})], "live")
    for o in kept:
        p = o.price
        for usd in (p.on_demand_usd_per_hour, p.spot_usd_per_hour, p.spot_median_usd_per_hour,
                    *p.spot_usd_per_hour_by_az.values()):
            assert usd is None or (math.isfinite(usd) and MIN_USD_PER_GPU_HOUR <= usd <= MAX_USD_PER_GPU_HOUR)
        if p.spot_usd_per_hour is not None:
            assert p.spot_usd_per_hour == min(p.spot_usd_per_hour_by_az.values())


@FAST
@given(raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_cache_reader_never_raises(raw: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    from pricing.cache import cache_path, read_cache

    directory: Path = tmp_path_factory.mktemp("cache")
    cache_path(directory, "us-east-1", False).write_bytes(raw)
    entry, problem = read_cache(directory, "us-east-1", False)
    assert entry is None and problem
