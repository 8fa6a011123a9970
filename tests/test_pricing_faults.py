"""AWS faults and poisoned prices (issue 11): an endpoint answering HTML, 4xx/5xx or closing the connection
falls back in auto with a warning naming the region and the cause, and exits 3 with one line under
--pricing live; the auto budget bounds a slow endpoint; every price is checked at every boundary."""

from __future__ import annotations

import http.server
import json
import math
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from llm_advisor.cli.main import EXIT_AWS_UNAVAILABLE, main
from pricing import load_priced_catalog, snapshot_regions
from pricing.aws import AUTO_AWS_CONFIG, AUTO_BUDGET_S
from pricing.cache import cache_path, default_cache_dir
from pricing.catalog import _Loader
from pricing.validate import MAX_USD_PER_GPU_HOUR, MIN_USD_PER_GPU_HOUR, check_offer, checked_offers
from tests.conftest import NOW

pytestmark = pytest.mark.usefixtures("fake_aws")

HTML = b"<html><body><h1>Not Found</h1><p>The proxy says no.</p></body></html>"


class Handler(http.server.BaseHTTPRequestHandler):
    mode = "404"

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.mode == "close":  # accept, then hang up without a response: a reset, at once
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send_response(int(self.mode))
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(HTML)))
        self.end_headers()
        self.wfile.write(HTML)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture(params=["200", "404", "501", "403", "close"])
def bad_endpoint(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """AWS_ENDPOINT_URL pointing at a local server that answers every call at once, wrongly."""
    handler = type("H", (Handler,), {"mode": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield request.param
    finally:
        server.shutdown()
        server.server_close()


PLAN = ["plan", "--model", "Qwen/Qwen3-8B", "--concurrency", "4", "--max-model-len", "4096"]


def test_auto_falls_back_with_a_warning_naming_region_and_cause(bad_endpoint: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*PLAN, "--region", "us-west-2"]) == 0
    out, err = capsys.readouterr()
    fallback = [w for w in err.splitlines() if "using the bundled price snapshot" in w]
    assert len(fallback) == 1
    assert fallback[0].startswith("warning: us-west-2: using the bundled price snapshot (")
    assert "Traceback" not in err and "prices: snapshot" in out
    # nothing from the bad endpoint was cached (an HTML 200 parses as an empty answer: not a region with
    # nothing to sell)
    assert not cache_path(default_cache_dir(), "us-west-2", False).exists()


def test_live_exits_3_with_one_line(bad_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prices", "--pricing", "live", "--region", "us-east-1"]) == EXIT_AWS_UNAVAILABLE
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("error: --pricing live failed for us-east-1")


def test_plan_under_live_exits_3_too(bad_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*PLAN, "--pricing", "live"]) == EXIT_AWS_UNAVAILABLE
    assert capsys.readouterr().err.startswith("error: --pricing live failed")


def test_live_without_credentials_exits_3(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert main(["prices", "--pricing", "live"]) == EXIT_AWS_UNAVAILABLE
    assert capsys.readouterr().err.startswith("error: --pricing live needs AWS credentials")


def test_an_invalid_endpoint_url_falls_back(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "not a url")
    assert main(PLAN) == 0
    assert "using the bundled price snapshot (ValueError: Invalid endpoint" in capsys.readouterr().err


def test_the_auto_budget_is_at_most_10_s_and_bounds_each_request() -> None:
    assert AUTO_BUDGET_S <= 10
    assert AUTO_AWS_CONFIG.connect_timeout + AUTO_AWS_CONFIG.read_timeout < AUTO_BUDGET_S
    assert AUTO_AWS_CONFIG.retries["total_max_attempts"] <= 2


def test_a_credential_lookup_that_uses_the_budget_falls_back(tmp_path: Path) -> None:
    ticks = iter([0.0, AUTO_BUDGET_S + 5])  # the lookup "took" longer than the whole budget

    def no_client(service: str, region: str) -> None:
        raise AssertionError("no client once the budget is spent")

    loader = _Loader(tmp_path, 3600, no_client, False, NOW, budget_s=AUTO_BUDGET_S, clock=lambda: next(ticks))
    offers = loader.auto(["us-east-1"])["us-east-1"]
    assert offers and {o.price.price_source for o in offers} == {"snapshot"}
    assert any("used up the 10 s live budget" in w for w in loader.warnings)


# --- every price checked -------------------------------------------------------------------------------

def snapshot_offers(region: str = "us-east-1") -> tuple:
    return load_priced_catalog([region], "snapshot", now=NOW).offers


def test_the_bounds_hold_the_whole_snapshot_with_a_5x_margin() -> None:
    per_gpu = []
    for o in load_priced_catalog(snapshot_regions(), "snapshot", include_local_zones=True, now=NOW).offers:
        gpus = o.instance.gpu_count * o.instance.gpu_fraction
        p = o.price
        per_gpu += [usd / gpus for usd in (p.on_demand_usd_per_hour, *p.spot_usd_per_hour_by_az.values())
                    if usd is not None]
    assert min(per_gpu) == pytest.approx(0.0631) and max(per_gpu) == pytest.approx(17.802)
    assert MIN_USD_PER_GPU_HOUR * 5 <= min(per_gpu) and max(per_gpu) * 5 <= MAX_USD_PER_GPU_HOUR


@pytest.mark.parametrize("bad", [-20.0, 0.0, math.nan, math.inf, 1e9, 1e-6])
def test_a_bad_on_demand_price_is_dropped_and_spot_kept(bad: float) -> None:
    offer = next(o for o in snapshot_offers() if o.price.spot_usd_per_hour and o.price.on_demand_usd_per_hour)
    price = offer.price.model_copy(update={"on_demand_usd_per_hour": bad})
    poisoned = offer.model_copy(update={"price": price})
    sound, problems = check_offer(poisoned)
    assert sound is not None and sound.price.on_demand_usd_per_hour is None
    assert sound.price.spot_usd_per_hour == offer.price.spot_usd_per_hour and len(problems) == 1


def test_a_bad_spot_az_is_dropped_and_min_median_recomputed() -> None:
    offer = next(o for o in snapshot_offers() if len(o.price.spot_usd_per_hour_by_az) >= 2)
    by_az = dict(offer.price.spot_usd_per_hour_by_az)
    bad_az = next(iter(by_az))
    poisoned = offer.model_copy(update={"price": offer.price.model_copy(update={
        "spot_usd_per_hour_by_az": by_az | {bad_az: -1.0}, "spot_usd_per_hour": -1.0})})
    sound, problems = check_offer(poisoned)
    rest = sorted(v for k, v in by_az.items() if k != bad_az)
    assert sound is not None and bad_az not in sound.price.spot_usd_per_hour_by_az
    assert sound.price.spot_usd_per_hour == rest[0] and problems == [
        f"{offer.instance.instance_type} spot in {bad_az} -1.0 USD/h is not a positive finite number"]


def test_impossible_instance_facts_drop_the_offer() -> None:
    offer = snapshot_offers()[0]
    broken = offer.model_copy(update={"instance": offer.instance.model_copy(update={"gpu_memory_gib": -1.0})})
    kept, warnings = checked_offers([broken], "cached")
    assert kept == () and "1 instance type(s) left with no sound price are dropped" in warnings[0]


def poisoned_cache(tmp_path: Path) -> tuple[Path, dict[str, float]]:
    """A fresh cache file for us-east-1 whose cheapest types carry negative, zero, NaN, inf or absurd prices
    (NaN/Infinity as JSON literals, which pydantic's JSON parser accepts)."""
    offers = snapshot_offers()
    cheapest = sorted((o for o in offers if o.price.on_demand_usd_per_hour),
                      key=lambda o: o.price.on_demand_usd_per_hour)[:5]
    poison = dict(zip((o.instance.instance_type for o in cheapest),
                      (-20.0, 0.0, math.nan, math.inf, 1e9), strict=True))
    entries = []
    for o in offers:
        data = o.model_dump(mode="python")
        if o.instance.instance_type in poison:
            bad = poison[o.instance.instance_type]
            by_az = dict.fromkeys(data["price"]["spot_usd_per_hour_by_az"], bad)
            data["price"].update(on_demand_usd_per_hour=bad, spot_usd_per_hour=bad,
                                 spot_median_usd_per_hour=bad, spot_usd_per_hour_by_az=by_az)
        entries.append(data)
    body = {"format": 1, "region": "us-east-1", "include_local_zones": False,
            "fetched_at": (NOW - timedelta(minutes=5)).isoformat(), "offers": entries}
    path = cache_path(tmp_path, "us-east-1", False)
    path.write_text(json.dumps(body, default=str))  # json writes NaN / Infinity literals
    return path, poison


def test_a_poisoned_cache_is_never_planned_on(tmp_path: Path) -> None:
    from llm_advisor.planner import make_plan
    from llm_advisor.planner.models import Workload

    _, poison = poisoned_cache(tmp_path)

    def no_aws(service: str, region: str) -> None:
        raise AssertionError("a fresh cache needs no AWS call")

    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=no_aws, now=NOW)
    kinds = {o.instance.instance_type for o in catalog.offers}
    assert not kinds & set(poison) and {o.price.price_source for o in catalog.offers} == {"cache"}
    assert any("implausible cached" in w and "5 instance type(s) left with no sound price" in w
               for w in catalog.warnings)
    plan = make_plan(Workload(model="Qwen/Qwen3-8B", concurrency=4, max_model_len=4096), catalog)
    assert plan.placement.instance_type not in poison
    assert math.isfinite(plan.cost.usd_per_hour) and plan.cost.usd_per_hour > 0
    assert any("implausible cached" in w for w in plan.warnings)
