"""load_priced_catalog: chooses live, cached or snapshot prices per region and says which it used.

auto     : fresh cache -> live (writes the cache) -> on failure, the newer of a stale cache and the bundled
           snapshot, each fallback with a warning; regions fall back independently.
           The live attempt has a budget of aws.AUTO_BUDGET_S (10 s) per region, credential lookup included.
live     : live only (the cache is written); any failing region raises AwsUnavailableError naming the
           failed regions and the ones that succeeded (those are cached, so a rerun with auto uses them).
Every price is checked at each boundary (live answer, cache file, snapshot; pricing/validate.py): an
offer with a non-positive, non-finite or implausible figure is dropped with a warning.
snapshot : the bundled dated snapshot; no AWS call, no cache.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from time import monotonic
from typing import Any

from pricing.cache import CachedRegion, default_cache_dir, read_cache, write_cache
from pricing.errors import AwsUnavailableError, PricingError
from pricing.models import Offer, PricedCatalog, SpotPlacementScore
from pricing.snapshot import SNAPSHOT_ON_DEMAND_AS_OF, snapshot_instance, snapshot_prices, snapshot_regions
from pricing.validate import checked_offers
from sizing.vocabulary import PricingMode

# Every region gets its own worker, so all regions start together and their deadlines (all created before
# any worker starts) end together with the outer wait: none is cut short by queueing behind others.
# Concurrent GetProducts calls across regions are bounded separately (aws.PRICING_CONCURRENCY).
MAX_REGION_WORKERS = None  # None = one worker per region
# Extra wait, past the regions' own deadline, for a request already in flight to come back.
IN_FLIGHT_GRACE_S = 1.0


def _age_text(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days old"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours old"
    return f"{max(seconds, 0) / 60:.0f} minutes old"


@lru_cache(maxsize=1)
def _known_aws_regions() -> frozenset[str]:
    """EC2 regions botocore knows offline (its bundled endpoints.json), plus the snapshot's."""
    import boto3  # ~0.1 s: only paths that may call AWS import it (a snapshot plan never does)

    return frozenset(boto3.session.Session().get_available_regions("ec2")) | frozenset(snapshot_regions())


def nearest(word: str, options: Sequence[str], n: int = 3) -> list[str]:
    """Up to n options closest to `word` (difflib ratio), for "did you mean" messages."""
    return difflib.get_close_matches(word, list(options), n=n, cutoff=0.5)


def _check_regions(regions: Sequence[str], pricing: PricingMode) -> tuple[str, ...]:
    unique = tuple(dict.fromkeys(regions))
    if not unique:
        raise PricingError(f"no region given; the bundled snapshot has: {', '.join(snapshot_regions())}")
    known = frozenset(snapshot_regions())
    unknown = [r for r in unique if r not in known]
    if unknown and pricing != "snapshot":  # only then load botocore's endpoint table (~0.1 s)
        known = known | _known_aws_regions()
        unknown = [r for r in unknown if r not in known]
    if unknown:
        options = sorted(known)
        hints = "; ".join(f"{r}: did you mean {' or '.join(near)}?"
                          for r in unknown if (near := nearest(r, options)))
        raise PricingError(f"unknown region(s) {', '.join(unknown)} for --pricing {pricing}"
                           f"{'; ' + hints if hints else ''}; the bundled snapshot has: "
                           f"{', '.join(snapshot_regions())}")
    return unique


@cache
def _checked_snapshot_offers(region: str, include_local_zones: bool,
                             ) -> tuple[tuple[Offer, ...], tuple[str, ...]]:
    offers = []
    for price in snapshot_prices(region, include_local_zones):
        instance = snapshot_instance(price.instance_type)
        if instance is not None:
            offers.append(Offer(instance=instance, price=price))
    kept, warnings = checked_offers(offers, "bundled snapshot")
    return kept, tuple(warnings)


def _snapshot_offers(region: str, include_local_zones: bool, warnings: list[str] | None = None,
                     ) -> tuple[Offer, ...]:
    """The snapshot's offers of a region, each checked like any other price (pricing/validate.py)."""
    kept, dropped = _checked_snapshot_offers(region, include_local_zones)
    if warnings is not None:
        warnings.extend(dropped)
    return kept


def snapshot_warning(regions: Sequence[str], now: datetime, reason: str) -> str:
    age = _age_text((now - SNAPSHOT_ON_DEMAND_AS_OF).total_seconds())
    return (f"{', '.join(regions)}: using the bundled price snapshot ({reason}); on-demand list prices "
            f"as of {SNAPSHOT_ON_DEMAND_AS_OF:%Y-%m-%d} ({age}), spot prices indicative only "
            "(snapshot time unknown)")


def _from_cache(entry: CachedRegion) -> tuple[Offer, ...]:
    return tuple(o.model_copy(update={"price": o.price.model_copy(update={"price_source": "cache"})})
                 for o in entry.offers)


def _fetch_live(
    regions: Sequence[str], factory: Any, now: datetime, include_local_zones: bool,
    warnings: dict[str, list[str]], deadline_s: float | None = None, clock: Any = None,
) -> dict[str, tuple[Offer, ...] | Exception]:
    """Fetch regions concurrently, each under its own deadline (`deadline_s`, default the live mode's
    REGION_DEADLINE_S); a region maps to its offers or its error.

    `warnings` collects, per region, the partial failures a region survived (a type left unpriced).
    """
    from pricing.aws import REGION_DEADLINE_S, Deadline, fetch_region_offers, pricing_api_region, run_bounded

    deadline_s = REGION_DEADLINE_S if deadline_s is None else deadline_s
    clock = clock if clock is not None else monotonic
    live_errors = _live_errors()
    try:
        pricing = factory("pricing", pricing_api_region(regions))
        ec2 = {r: factory("ec2", r) for r in regions}  # made here: boto3 sessions are not thread-safe
    except (*live_errors, ValueError) as exc:  # ValueError: botocore's "Invalid endpoint" for a bad URL
        return dict.fromkeys(regions, exc)
    deadlines = {r: Deadline(deadline_s, clock, r) for r in regions}  # one shared start
    tasks = {r: (lambda r=r: fetch_region_offers(r, ec2[r], pricing, now, include_local_zones,
                                                 deadlines[r], warnings=warnings.setdefault(r, [])))
             for r in regions}
    workers = len(regions) if MAX_REGION_WORKERS is None else MAX_REGION_WORKERS
    results = run_bounded(tasks, workers, deadline_s + IN_FLIGHT_GRACE_S, "region fetch")
    for result in results.values():
        if isinstance(result, Exception) and not isinstance(result, live_errors):
            raise result  # a bug, not an AWS failure: do not hide it behind a fallback
    return results


def _live_errors() -> tuple[type[Exception], ...]:
    """The failures of a live fetch that fall back (an AWS or parse error), not bugs to surface."""
    from botocore.exceptions import BotoCoreError, ClientError

    # OSError: a transport failure botocore did not wrap (a reset mid-read surfacing from urllib3/http).
    return (BotoCoreError, ClientError, PricingError, OSError)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _reason(exc: Exception) -> str:
    """Why live prices are missing, for a fallback warning (the bare message when it is self-explanatory)."""
    from pricing.aws import NoCredentialsFound

    return str(exc) if isinstance(exc, NoCredentialsFound) else _describe(exc)


class _Loader:
    """One load: the per-region choice of source, and the warnings it produced."""

    def __init__(self, cache_dir: Path, max_age_s: float, clients: Any, lz: bool, now: datetime,
                 budget_s: float | None = None, clock: Any = None):
        self.cache_dir, self.max_age_s, self.clients = cache_dir, max_age_s, clients
        self.lz, self.now = lz, now
        # budget_s: the whole live attempt (credentials, every call, the in-flight grace) in auto;
        # None = the live mode's own REGION_DEADLINE_S per region.
        self.budget_s = budget_s
        self.clock = clock if clock is not None else (lambda: monotonic())  # looked up when called
        self.warnings: list[str] = []

    def cached(self, region: str) -> CachedRegion | None:
        entry, problem = read_cache(self.cache_dir, region, self.lz)
        if problem:
            self.warnings.append(problem)
        if entry is None:
            return None
        kept, dropped = checked_offers(entry.offers, f"cached ({self.cache_dir})")
        self.warnings.extend(dropped)
        return entry if not dropped else entry.model_copy(update={"offers": kept})

    def live(self, regions: Sequence[str]) -> dict[str, tuple[Offer, ...] | Exception]:
        from pricing.aws import (  # boto3: only when AWS is called
            AUTO_AWS_CONFIG,
            AWS_CONFIG,
            DeadlineExceeded,
            NoCredentialsFound,
            resolve_clients,
        )

        started = self.clock()
        config = AUTO_AWS_CONFIG if self.budget_s is not None else AWS_CONFIG
        try:
            factory = resolve_clients(self.clients, config)  # credentials resolved once, before any client
        except NoCredentialsFound as exc:
            return dict.fromkeys(regions, exc)
        deadline_s = None
        if self.budget_s is not None:
            deadline_s = self.budget_s - IN_FLIGHT_GRACE_S - (self.clock() - started)
            if deadline_s <= 0:
                return dict.fromkeys(regions, DeadlineExceeded(
                    f"the AWS credential lookup used up the {self.budget_s:g} s live budget"))
        partial: dict[str, list[str]] = {}
        results = _fetch_live(regions, factory, self.now, self.lz, partial, deadline_s, self.clock)
        for region, result in list(results.items()):
            if isinstance(result, Exception):
                continue
            kept, dropped = checked_offers(result, "live")
            if result and not kept:  # nothing plausible came back: a fault, not a region with nothing
                results[region] = PricingError(f"every live price failed the plausibility checks "
                                               f"({dropped[0]})")
                continue
            results[region] = result = kept
            self.warnings.extend(dropped)
            self.warnings.extend(partial.get(region, ()))
            if partial.get(region):  # an incomplete fetch is not cached: the next run retries it
                continue
            self.store(CachedRegion(region=region, include_local_zones=self.lz, fetched_at=self.now,
                                    offers=result))
        return results

    def store(self, entry: CachedRegion) -> None:
        """Write the cache; a cache that cannot be written costs a warning, never the live prices."""
        try:
            write_cache(self.cache_dir, entry)
        except OSError as exc:  # PermissionError, NotADirectoryError, a full disk...
            self.warnings.append(f"{entry.region}: live prices not cached ({_describe(exc)}); check "
                                 f"that {self.cache_dir} is a writable directory, or set XDG_CACHE_HOME")

    def age_s(self, entry: CachedRegion) -> float:
        return (self.now - entry.fetched_at).total_seconds()

    def fresh(self, entry: CachedRegion) -> bool:
        """Fresh = fetched between max_age_s ago and now; a future fetched_at (clock skew, a hand-edited
        file) is treated as stale, never as fresh forever."""
        return 0 <= self.age_s(entry) <= self.max_age_s

    def fallback(self, region: str, stale: CachedRegion | None, reason: str) -> tuple[Offer, ...]:
        in_snapshot = region in snapshot_regions()
        if stale is not None and in_snapshot and stale.fetched_at <= SNAPSHOT_ON_DEMAND_AS_OF:
            self.warnings.append(f"{region}: ignored the stale price cache fetched "
                                 f"{stale.fetched_at:%Y-%m-%d} because the bundled snapshot is newer")
            stale = None
        if stale is not None:
            age = _age_text(self.age_s(stale))
            self.warnings.append(f"{region}: live prices unavailable ({reason}); using cached prices "
                                 f"fetched {stale.fetched_at:%Y-%m-%d %H:%M} UTC ({age})")
            return _from_cache(stale)
        if not in_snapshot:
            self.warnings.append(f"{region}: no prices: live prices unavailable ({reason}) and the bundled "
                                 f"snapshot does not cover it; it has: {', '.join(snapshot_regions())}")
            return ()
        self.warnings.append(snapshot_warning([region], self.now, reason))
        return _snapshot_offers(region, self.lz, self.warnings)

    def auto(self, regions: Sequence[str]) -> dict[str, tuple[Offer, ...]]:
        out: dict[str, tuple[Offer, ...]] = {}
        stale: dict[str, CachedRegion] = {}
        for region in regions:
            entry = self.cached(region)
            if entry is not None and self.fresh(entry):
                out[region] = _from_cache(entry)
            elif entry is not None:
                stale[region] = entry
        missing = [r for r in regions if r not in out]
        if not missing:
            return out
        live = {r: (v if not isinstance(v, Exception) else _reason(v)) for r, v in self.live(missing).items()}
        for region in missing:
            result = live[region]
            out[region] = (result if not isinstance(result, str)
                           else self.fallback(region, stale.get(region), result))
        return out

    def strict_live(self, regions: Sequence[str]) -> dict[str, tuple[Offer, ...]]:
        from pricing.aws import NoCredentialsFound

        results = self.live(regions)
        failed = {r: v for r, v in results.items() if isinstance(v, Exception)}
        no_credentials = next((e for e in failed.values() if isinstance(e, NoCredentialsFound)), None)
        if no_credentials is not None:
            raise AwsUnavailableError(f"--pricing live needs AWS credentials: {no_credentials} (environment, "
                                      "AWS_PROFILE / shared config files, SSO, container or EC2 instance "
                                      "metadata); configure them (aws configure, AWS_PROFILE) or use "
                                      "--pricing auto/snapshot")
        if failed:
            detail = "; ".join(f"{r}: {_describe(e)}" for r, e in failed.items())
            done = [r for r in regions if r not in failed]
            succeeded = (f"; {', '.join(done)} succeeded (their prices went to the cache, so --pricing auto "
                         "reuses them)"
                         if done else "; no region succeeded")
            raise AwsUnavailableError(f"--pricing live failed for {', '.join(failed)} ({detail}){succeeded}; "
                                      "use --pricing auto to fall back to cached or snapshot prices for the "
                                      "failed regions, or drop them, or use --pricing snapshot")
        return {r: v for r, v in results.items() if not isinstance(v, Exception)}


def load_priced_catalog(
    regions: Sequence[str],
    pricing: PricingMode = "auto",
    *,
    cache_dir: Path | None = None,
    max_cache_age_s: float = 6 * 3600,
    clients: Any = None,
    include_local_zones: bool = False,
    now: datetime | None = None,
) -> PricedCatalog:
    """Every GPU/Neuron offer in `regions`, each price tagged with price_source and prices_as_of.

    `clients`: None (a boto3 Session on the standard credential chain), a boto3 Session, or a callable
    (service_name, region_name) -> client, which is how tests inject moto/Stubber clients.
    """
    if pricing not in ("auto", "live", "snapshot"):
        raise PricingError(f"pricing mode {pricing!r} is not one of auto, live, snapshot")
    checked = _check_regions(regions, pricing)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)  # a naive time is taken as UTC, like every AWS timestamp
    if pricing == "snapshot":
        warnings = [snapshot_warning(checked, now, "--pricing snapshot")]
        by_region = {r: _snapshot_offers(r, include_local_zones, warnings) for r in checked}
    else:
        from pricing.aws import AUTO_BUDGET_S

        loader = _Loader(cache_dir or default_cache_dir(), max_cache_age_s, clients, include_local_zones, now,
                         budget_s=AUTO_BUDGET_S if pricing == "auto" else None)
        by_region = loader.auto(checked) if pricing == "auto" else loader.strict_live(checked)
        warnings = loader.warnings
    offers = tuple(o for r in checked for o in by_region[r])
    return PricedCatalog(offers=offers, regions=checked, warnings=tuple(warnings))


def spot_placement_scores(
    instance_types: Sequence[str], regions: Sequence[str], *, target_capacity: int = 1,
    clients: Any = None,
) -> tuple[SpotPlacementScore, ...]:
    """Live EC2 GetSpotPlacementScores per AZ for a fleet of `target_capacity` instances of any of these
    types in these regions (no snapshot exists). Limits are checked before any client is made."""
    from botocore.exceptions import BotoCoreError, ClientError

    from pricing.aws import (
        NoCredentialsFound,
        check_placement_request,
        fetch_spot_placement_scores,
        resolve_clients,
    )

    checked = _check_regions(regions, "live")
    check_placement_request(instance_types, checked)
    try:
        ec2 = resolve_clients(clients)("ec2", checked[0])
        return fetch_spot_placement_scores(ec2, instance_types, checked, target_capacity)
    except (BotoCoreError, ClientError, NoCredentialsFound, OSError, ValueError) as exc:
        raise AwsUnavailableError(f"spot placement scores unavailable ({_describe(exc)}); they need AWS "
                           "credentials allowed to call ec2:GetSpotPlacementScores") from exc
