"""The price cache's robustness: an unwritable cache keeps the live prices, a non-UTF-8 or naive
fetched_at file is corrupt, a cache from the future is refetched, a cache older than the bundled
snapshot loses to it.

From the pricing third review, findings #1-#4."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pricing import load_priced_catalog
from pricing.cache import CachedRegion, cache_path, read_cache, write_cache
from tests.conftest import NOW, Factory, sources

pytestmark = pytest.mark.usefixtures("fake_aws")


def cache_entry(fetched_at: datetime, region: str = "us-east-1") -> CachedRegion:
    offers = load_priced_catalog([region], "snapshot").offers
    return CachedRegion(region=region, include_local_zones=False, fetched_at=fetched_at, offers=offers)


# 1. A cache that cannot be written costs a warning, never the live prices.
@pytest.mark.parametrize("mode", ["auto", "live"])
def test_unwritable_cache_keeps_the_live_prices(tmp_path: Path, mode: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    catalog = load_priced_catalog(["us-east-1"], mode, cache_dir=blocker / "cache",
                                  clients=Factory(ec2="recorded"), now=NOW)
    assert sources(catalog) == {("us-east-1", "live")}
    # auto also reports that it could not read the cache there (same NotADirectoryError)
    assert catalog.warnings[-1].startswith("us-east-1: live prices not cached (NotADirectoryError")


# 2. A cache file that is not UTF-8 is corrupt, not a crash.
def test_non_utf8_cache_file_is_ignored_and_replaced(tmp_path: Path) -> None:
    path = cache_path(tmp_path, "us-east-1", False)
    path.write_bytes(b"\xff\xfe\x00garbage")
    entry, problem = read_cache(tmp_path, "us-east-1", False)
    assert entry is None and problem is not None and "corrupt price cache" in problem
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=Factory(ec2="recorded"),
                                  now=NOW)
    assert sources(catalog) == {("us-east-1", "live")}
    assert read_cache(tmp_path, "us-east-1", False)[0] is not None  # replaced by the live fetch


# 3. A naive fetched_at is corrupt; a future one is stale, not fresh forever.
def test_naive_fetched_at_is_a_corrupt_cache(tmp_path: Path) -> None:
    text = cache_entry(NOW).model_dump_json().replace('"2026-11-26T12:00:00Z"', '"2026-11-26T11:00:00"')
    assert '"2026-11-26T11:00:00"' in text
    cache_path(tmp_path, "us-east-1", False).write_text(text)
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=Factory(ec2="recorded"),
                                  now=NOW)
    assert sources(catalog) == {("us-east-1", "live")}
    assert any("corrupt price cache" in w for w in catalog.warnings)


def test_a_cache_from_the_future_is_refetched(tmp_path: Path) -> None:
    write_cache(tmp_path, cache_entry(NOW + timedelta(days=30)))
    factory = Factory(ec2="recorded")
    catalog = load_priced_catalog(["us-east-1"], "auto", cache_dir=tmp_path, clients=factory, now=NOW)
    assert sources(catalog) == {("us-east-1", "live")} and factory.pricing.requests


# 4. A stale cache older than the bundled snapshot loses to it.
def test_a_cache_older_than_the_snapshot_loses_to_it(tmp_path: Path) -> None:
    write_cache(tmp_path, cache_entry(datetime(2026, 2, 1, tzinfo=UTC), "us-west-2"))
    catalog = load_priced_catalog(["us-west-2"], "auto", cache_dir=tmp_path,
                                  clients=Factory(failing_regions=("us-west-2",)), now=NOW)
    assert sources(catalog) == {("us-west-2", "snapshot")}
    assert "ignored the stale price cache fetched 2026-02-01 because the bundled snapshot is newer" in \
        catalog.warnings[0]
