"""On-disk cache of live-fetched offers: one JSON file per region under the XDG cache dir, written atomically.

A file that cannot be read or validated is reported and treated as absent; the next live fetch replaces it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import AwareDatetime, ValidationError

from pricing.models import Offer
from sizing.vocabulary import Frozen

CACHE_FORMAT = 1
APP_DIR = "llm-serving-advisor"


class CachedRegion(Frozen):
    """What one cache file holds: a region's live offers and when they were fetched."""

    format: int = CACHE_FORMAT
    region: str
    include_local_zones: bool
    # Aware only: a naive time cannot be compared with `now` (TypeError), so such a file is corrupt.
    fetched_at: AwareDatetime
    offers: tuple[Offer, ...]


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/llm-serving-advisor/pricing (XDG base dir spec; ~/.cache when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / APP_DIR / "pricing"


def cache_path(cache_dir: Path, region: str, include_local_zones: bool) -> Path:
    suffix = "-with-local-zones" if include_local_zones else ""
    return cache_dir / f"{region}{suffix}.json"


def read_cache(
    cache_dir: Path, region: str, include_local_zones: bool,
) -> tuple[CachedRegion | None, str | None]:
    """(entry, problem): entry None when absent or unusable; problem says why a present file was ignored."""
    path = cache_path(cache_dir, region, include_local_zones)
    try:
        raw = path.read_bytes()  # bytes: pydantic reports invalid UTF-8 as a ValidationError
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"ignored unreadable price cache {path}: {exc}"
    try:
        entry = CachedRegion.model_validate_json(raw)
    except (ValidationError, ValueError) as exc:  # ValueError: UnicodeDecodeError and kin, belt and braces
        count = exc.error_count() if isinstance(exc, ValidationError) else 1
        return None, f"ignored corrupt price cache {path} ({count} errors); it will be replaced"
    if entry.format != CACHE_FORMAT or entry.region != region:
        return None, f"ignored price cache {path}: wrong format or region; it will be replaced"
    return entry, None


def write_cache(cache_dir: Path, entry: CachedRegion) -> Path:
    """Write one region's offers (atomically, see write_atomic)."""
    path = cache_path(cache_dir, entry.region, entry.include_local_zones)
    write_atomic(path, entry.model_dump_json())
    return path


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same directory + os.replace, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
