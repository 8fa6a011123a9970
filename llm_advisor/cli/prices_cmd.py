"""`python -m advisor prices`: GPU instance types with on-demand and spot prices, cheapest first per region.

`--gpu` takes the names people use (H100, "h200", A100-80GB, L40S, "RTX PRO 6000"), matched without case,
spaces or dashes; a filter or region that matches nothing is an error (exit 2) naming the nearest values.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import re
import sys
from typing import Any

JSON_KEYS = ("instance_type", "region", "gpu_name", "gpu_count", "gpu_memory_gib", "on_demand_usd_per_hour",
             "spot_usd_per_hour", "spot_usd_per_hour_by_az", "interruption_band", "price_source",
             "prices_as_of")
# Names people use for a GPU -> the name AWS GpuInfo/NeuronInfo reports (after pricing/quirks.py).
# "A100-80GB", "A100 80 GB", "h100_80gib": a trailing memory size in GB/GiB.
MEMORY_SUFFIX = re.compile(r"^(?P<name>.*?)[\s_-]*(?P<gb>\d+(?:\.\d+)?)\s*gi?b$", re.IGNORECASE)
# A requested memory size matches a GPU within 10 %: marketing GB vs AWS GiB (L4: 24 GB, 22.35 GiB).
MEMORY_TOLERANCE = 0.10
SOURCE_TEXT = {"live": "live from the AWS APIs, fetched", "cache": "cached live prices, fetched",
               "snapshot": "the bundled snapshot, on-demand list prices as of"}


def register(subparsers: Any, help_text: str) -> None:
    parser = subparsers.add_parser(
        "prices", help=help_text,
        description="Per region, cheapest on-demand first: GPU, count, memory per GPU, on-demand and spot "
                    "USD/h, spot discount, Spot Advisor interruption band; a line per region says where "
                    "the prices come from and how old they are.")
    parser.add_argument("--region", action="append", default=None,
                        help="AWS region (repeatable); default $AWS_REGION, else $AWS_DEFAULT_REGION, else "
                             "the AWS profile's region, else us-east-1")
    parser.add_argument("--gpu", help="only this GPU: H100, h200, A100-80GB, L40S, 'RTX PRO 6000' ...")
    parser.add_argument("--instance-type", help="only this instance type, e.g. p5.48xlarge")
    parser.add_argument("--pricing", choices=("auto", "live", "snapshot"), default="auto",
                        help="auto: live, falling back to cache then the bundled snapshot (default)")
    parser.add_argument("--include-local-zones", action="store_true",
                        help="also price Local Zones (left out by default)")
    parser.add_argument("--placement-scores", action="store_true",
                        help="also ask EC2 for the spot placement score of a fleet drawn from the listed "
                             "types (live: needs credentials, not --pricing snapshot; 3+ types recommended)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.set_defaults(handler=run)


def _regions(args: argparse.Namespace) -> list[str]:
    from llm_advisor.cli.region import resolve_regions

    return list(resolve_regions(args.region))  # the same order in every command (cli/region.py)


def normalize_gpu(name: str) -> str:
    """'NVIDIA H100' / 'h-100' / 'RTX PRO 6000' -> 'h100' / 'h100' / 'rtxpro6000'."""
    key = re.sub(r"[\s_-]+", "", name.lower())
    for vendor in ("nvidia", "tesla", "aws"):
        key = key.removeprefix(vendor)
    key = key.removesuffix("tensorcore")
    return key.replace("server", "")


def parse_gpu_query(query: str) -> tuple[str, float | None]:
    """'A100-80GB' -> ('a100', 80.0); 'L40S' -> ('l40s', None); aliases resolved."""
    match = MEMORY_SUFFIX.match(query.strip())
    name, memory_gb = (match["name"], float(match["gb"])) if match and match["name"] else (query, None)
    key = normalize_gpu(name)
    key = normalize_gpu(gpu_aliases().get(key, key))
    return key, memory_gb


@functools.cache
def gpu_aliases() -> dict[str, str]:
    """Normalized name, alias or loose alias (a10 -> A10G) -> AWS GpuInfo name, from sizing's GPU table."""
    from sizing import gpu_table

    names = [row.aws_name for row in gpu_table()]
    # A100/V100 come in two sizes: an alias (a100-80g) would drop the size; a GB suffix selects one.
    rows = [row for row in gpu_table() if row.aws_name and names.count(row.aws_name) == 1]
    return {
        normalize_gpu(alias): row.aws_name
        for row in rows
        for alias in (row.name, *row.aliases, *row.loose_aliases)
    }


def _full_gpu_gib(offer: Any) -> float:
    return offer.instance.gpu_memory_gib / offer.instance.gpu_fraction


def _nearest(word: str, options: list[str]) -> list[str]:
    return difflib.get_close_matches(word, options, n=3, cutoff=0.4)


def _gpu_error(query: str, key: str, offers: list[Any]) -> str:
    names = sorted({o.instance.gpu_name for o in offers})
    by_key = {normalize_gpu(n): n for n in names}
    near = [by_key[k] for k in _nearest(key, list(by_key))]
    hint = f"nearest: {', '.join(near)}; " if near else ""
    elsewhere = _regions_with_gpu(key)
    where = f"; the snapshot has it in {', '.join(elsewhere)}" if elsewhere else ""
    offered = ", ".join(names)
    return f"no offer with GPU {query!r} in the selected regions ({hint}GPUs offered: {offered}){where}"


def _regions_with_gpu(key: str) -> list[str]:
    """Snapshot regions that offer a GPU (only computed for an error message)."""
    from pricing import load_priced_catalog, snapshot_regions

    catalog = load_priced_catalog(snapshot_regions(), "snapshot")
    return sorted({o.price.region for o in catalog.offers if normalize_gpu(o.instance.gpu_name) == key})


def select_gpu(offers: list[Any], query: str) -> list[Any]:
    """Offers whose GPU matches `query` by name and, when the query gives one, memory size."""
    from pricing import PricingError

    key, memory_gb = parse_gpu_query(query)
    named = [o for o in offers if normalize_gpu(o.instance.gpu_name) == key]
    if not named:
        raise PricingError(_gpu_error(query, key, offers))
    if memory_gb is None:
        return named
    sized = [o for o in named if abs(_full_gpu_gib(o) - memory_gb) <= MEMORY_TOLERANCE * memory_gb]
    if not sized:
        sizes = sorted({round(_full_gpu_gib(o)) for o in named})
        raise PricingError(f"no {named[0].instance.gpu_name} with {memory_gb:g} GB in the selected regions; "
                           f"sizes offered: {', '.join(f'{s} GB' for s in sizes)}")
    return sized


def select_offers(offers: tuple[Any, ...], gpu: str | None, instance_type: str | None) -> list[Any]:
    """Offers matching --gpu / --instance-type, cheapest on-demand first within each region."""
    from pricing import PricingError

    chosen = list(offers)
    if gpu:
        chosen = select_gpu(chosen, gpu)
    if instance_type:
        types = sorted({o.instance.instance_type for o in chosen})
        wanted = instance_type.strip().lower()
        chosen = [o for o in chosen if o.instance.instance_type == wanted]
        if not chosen:
            near = _nearest(wanted, types) or types[:5]
            raise PricingError(f"instance type {instance_type!r} has no priced offer here; nearest: "
                               f"{', '.join(near)}")
    return sorted(chosen, key=price_order)


def price_order(offer: Any) -> tuple[str, bool, float, str]:
    """Region, then on-demand USD/h (types sold only as spot after, by spot price), then name."""
    price = offer.price
    usd = price.on_demand_usd_per_hour
    return (price.region, usd is None, usd if usd is not None else (price.spot_usd_per_hour or 0.0),
            offer.instance.instance_type)


def offer_json(offer: Any) -> dict[str, Any]:
    """The --json object of one offer (exactly JSON_KEYS)."""
    instance, price = offer.instance, offer.price
    return {
        "instance_type": instance.instance_type, "region": price.region, "gpu_name": instance.gpu_name,
        "gpu_count": instance.gpu_count, "gpu_memory_gib": instance.gpu_memory_gib,
        "on_demand_usd_per_hour": price.on_demand_usd_per_hour,
        "spot_usd_per_hour": price.spot_usd_per_hour,
        "spot_usd_per_hour_by_az": price.spot_usd_per_hour_by_az,
        "interruption_band": price.interruption_band, "price_source": price.price_source,
        "prices_as_of": price.prices_as_of.isoformat(),
    }


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.4f}"


HEADER = ("instance_type", "gpu", "count", "GiB/gpu", "on-demand $/h", "spot min $/h", "spot median $/h",
          "spot discount", "interruption")
RIGHT_ALIGNED = frozenset({2, 3, 4, 5, 6, 7})


def _row(offer: Any) -> list[str]:
    from pricing.economics import spot_discount

    i, p = offer.instance, offer.price
    discount = spot_discount(p)
    count = f"{i.gpu_fraction:g} (slice)" if i.gpu_fraction < 1 else str(i.gpu_count)
    return [i.instance_type, i.gpu_name, count, f"{i.gpu_memory_gib:.2f}", _money(p.on_demand_usd_per_hour),
            _money(p.spot_usd_per_hour), _money(p.spot_median_usd_per_hour),
            "-" if discount is None else f"{discount:.0%}", p.interruption_frequency or "unknown"]


def _align(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return ["  ".join(cell.rjust(w) if c in RIGHT_ALIGNED else cell.ljust(w)
                      for c, (cell, w) in enumerate(zip(r, widths, strict=True))).rstrip() for r in rows]


def region_line(region: str, offers: list[Any]) -> str:
    """'us-east-1: 41 instance types, cheapest on-demand first; prices from <source> <as of> UTC'."""
    sources = sorted({(o.price.price_source, o.price.prices_as_of) for o in offers})
    where = "; ".join(f"{SOURCE_TEXT[s]} {t:%Y-%m-%d %H:%M} UTC" for s, t in sources)
    noun = "instance type" if len(offers) == 1 else "instance types"
    return f"{region}: {len(offers)} {noun}, cheapest on-demand first; prices from {where}"


def format_table(offers: list[Any], regions: list[str] | None = None) -> str:
    """One block per region: its source/as-of line, then an aligned table sorted by price.

    A requested region left with no offer (nothing matched the filters there) says so in one line.
    """
    blocks = []
    for region in dict.fromkeys([*(regions or []), *(o.price.region for o in offers)]):
        in_region = [o for o in offers if o.price.region == region]
        if not in_region:
            blocks.append(f"{region}: no instance type matches the filters")
            continue
        lines = _align([list(HEADER)] + [_row(o) for o in in_region])
        blocks.append("\n".join([region_line(region, in_region), *lines]))
    return "\n\n".join(blocks)


def run(args: argparse.Namespace) -> int:
    from pricing import PricingError, load_priced_catalog

    if args.placement_scores and args.pricing == "snapshot":
        raise PricingError("--placement-scores asks EC2 live and --pricing snapshot makes no AWS call; use "
                           "--pricing auto or live with --placement-scores, or drop --placement-scores")
    regions = _regions(args)
    catalog = load_priced_catalog(regions, args.pricing, include_local_zones=args.include_local_zones)
    for warning in catalog.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    offers = select_offers(catalog.offers, args.gpu, args.instance_type)
    # Scores are fetched (and every limit checked) before anything goes to stdout: a failure exits 2
    # with nothing printed, never after a complete table or JSON document.
    scores = placement_scores(offers, regions) if args.placement_scores else None
    if args.json:
        print(json.dumps([offer_json(o) for o in offers], indent=2))
    else:
        print(format_table(offers, list(catalog.regions)))
    if scores is not None:
        print("\n".join(scores), file=sys.stderr)
    return 0


def placement_scores(offers: list[Any], regions: list[str]) -> list[str]:
    """Stderr lines (so --json output stays one JSON document) with the spot placement score (1..10)
    per AZ of ONE fleet: a target of 1 instance that may be any of the listed types."""
    from pricing import spot_placement_scores
    from pricing.aws import MIN_PLACEMENT_SCORE_TYPES

    types = sorted({o.instance.instance_type for o in offers})
    scores = spot_placement_scores(types, regions)
    lines = [f"spot placement score of a fleet of 1 instance of any of {', '.join(types)} "
             "(1 = unlikely, 10 = very likely to launch; one score for the whole set, not per type):"]
    if len(types) < MIN_PLACEMENT_SCORE_TYPES:
        lines.append(f"  note: AWS scores a set of fewer than {MIN_PLACEMENT_SCORE_TYPES} types as always "
                     "low (EC2 API reference, GetSpotPlacementScores); widen --gpu for a meaningful score")
    lines += [f"  {s.region} {s.availability_zone_id or '-'}: {s.score}" for s in scores]
    return lines
