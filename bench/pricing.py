"""Times loading the whole priced catalog for 3 regions: bundled snapshot, on-disk cache, and a live load.

Run: `python bench/pricing.py`. Target: under 100 ms warm for snapshot and cache (the CSVs are parsed
once per process; cache files are read and validated on every call). No AWS call is made anywhere:
the cache is seeded from the snapshot, and the "live" row injects in-memory EC2 and Pricing clients that
answer with payloads built beforehand in the API's shapes (one GetProducts PriceList JSON string per
type, DescribeInstanceTypes / offerings / spot history per AZ from the snapshot), so it measures what a
live load costs on our side: parsing, quirks, spec merge, threads, and writing the cache. Network time
is not in it; real AWS adds roughly one round trip per call (about 60 GetProducts calls per region,
8 at a time, plus 5 EC2 calls).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pricing import load_priced_catalog  # noqa: E402
from pricing.cache import CachedRegion, write_cache  # noqa: E402
from pricing.recorded import recorded_clients  # noqa: E402

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
RUNS = 50
LIVE_RUNS = 10
TARGET_MS = 100.0
# the recorded AWS payloads the "live" row's GetProducts answers are cut from (data, read by path)
AWS_PAYLOADS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "aws"


def no_aws(service: str, region: str) -> object:
    raise AssertionError(f"the benchmark must not reach AWS ({service}, {region})")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def report(name: str, fn: Callable[[], Any], runs: int = RUNS, target: float | None = TARGET_MS) -> bool:
    cold_ms, catalog = timed(fn)
    warm = sorted(timed(fn)[0] for _ in range(runs))
    median = statistics.median(warm)
    verdict = "" if target is None else f"  ({'ok' if median < target else 'SLOW'})"
    print(f"{name:<9} {len(catalog.offers):>4} offers  cold {cold_ms:7.1f} ms  warm median {median:6.2f} ms"
          f"  p95 {warm[max(0, int(runs * 0.95) - 1)]:6.2f} ms{verdict}")
    return target is None or median < target


def main() -> int:
    now = datetime.now(UTC)
    ok = report("snapshot", lambda: load_priced_catalog(REGIONS, "snapshot", now=now))
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp)
        for region in REGIONS:  # seed a fresh cache with the same offers a live fetch would write
            offers = load_priced_catalog([region], "snapshot", now=now).offers
            write_cache(cache_dir, CachedRegion(region=region, include_local_zones=False, fetched_at=now,
                                                offers=offers))
        ok &= report("cache", lambda: load_priced_catalog(REGIONS, "auto", cache_dir=cache_dir,
                                                          clients=no_aws, now=now))
        clients = recorded_clients(REGIONS, now, AWS_PAYLOADS)
        live_dir = Path(tmp) / "live"
        report("live", lambda: load_priced_catalog(REGIONS, "live", cache_dir=live_dir, clients=clients,
                                                   now=now), runs=LIVE_RUNS, target=None)
    print(f"regions {', '.join(REGIONS)}; {RUNS} warm runs each ({LIVE_RUNS} for live); target < "
          f"{TARGET_MS:.0f} ms warm for snapshot and cache; live = stubbed clients, parse + merge + cache "
          "write, no network")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
