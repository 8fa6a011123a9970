"""Times loading the whole priced catalog for 3 regions from the on-disk cache and from the bundled snapshot.

Run: `python bench/pricing.py`. Target: under 100 ms warm (the CSVs are parsed once per process; cache
files are read and validated on every call). No AWS call is made: the cache is seeded from the
snapshot and the injected client factory refuses to build a client.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pricing import load_priced_catalog  # noqa: E402
from pricing.cache import CachedRegion, write_cache  # noqa: E402

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
RUNS = 50
TARGET_MS = 100.0


def no_aws(service: str, region: str) -> object:
    raise AssertionError(f"the benchmark must not reach AWS ({service}, {region})")


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return (time.perf_counter() - start) * 1000, result


def report(name: str, fn) -> bool:
    cold_ms, catalog = timed(fn)
    warm = [timed(fn)[0] for _ in range(RUNS)]
    median = statistics.median(warm)
    print(
        f"{name:<9} {len(catalog.offers):>4} offers  cold {cold_ms:7.1f} ms  warm median {median:6.2f} ms"
        f"  p95 {sorted(warm)[int(RUNS * 0.95) - 1]:6.2f} ms  ({'ok' if median < TARGET_MS else 'SLOW'})"
    )
    return median < TARGET_MS


def main() -> int:
    now = datetime.now(UTC)
    ok = report("snapshot", lambda: load_priced_catalog(REGIONS, "snapshot", now=now))
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = Path(tmp)
        for region in REGIONS:  # seed a fresh cache with the same offers a live fetch would write
            offers = load_priced_catalog([region], "snapshot", now=now).offers
            write_cache(
                cache_dir,
                CachedRegion(region=region, include_local_zones=False, fetched_at=now, offers=offers),
            )
        ok &= report(
            "cache",
            lambda: load_priced_catalog(REGIONS, "auto", cache_dir=cache_dir, clients=no_aws, now=now),
        )
    print(f"regions {', '.join(REGIONS)}; {RUNS} warm runs each; target < {TARGET_MS:.0f} ms warm")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
