"""`python -m advisor prices`: list GPU instance types with on-demand and spot prices, and their source."""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
from typing import Any

JSON_KEYS = ("instance_type", "region", "gpu_name", "gpu_count", "gpu_memory_gib", "on_demand_usd_per_hour",
             "spot_usd_per_hour", "spot_usd_per_hour_by_az", "interruption_band", "price_source",
             "prices_as_of")
DEFAULT_REGION = "us-east-1"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "prices", help="GPU instance types with on-demand and spot prices (live, cached or snapshot)",
        description="Per instance type: GPU, count, memory per GPU, on-demand and spot USD/h, spot "
                    "discount, Spot Advisor interruption band, price source and as-of time.")
    parser.add_argument("--region", action="append", default=None,
                        help="AWS region (repeatable); default $AWS_REGION or us-east-1")
    parser.add_argument("--gpu", help="only this GPU model, e.g. H100, L40S (case-insensitive)")
    parser.add_argument("--instance-type", help="only this instance type, e.g. p5.48xlarge")
    parser.add_argument("--pricing", choices=("auto", "live", "snapshot"), default="auto",
                        help="auto: live, falling back to cache then the bundled snapshot (default)")
    parser.add_argument("--include-local-zones", action="store_true",
                        help="also price Local Zones (left out by default)")
    parser.add_argument("--placement-scores", action="store_true",
                        help="also ask EC2 for spot placement scores of the listed types (live, needs "
                             "credentials and at least 3 types)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.set_defaults(handler=run)


def _regions(args: argparse.Namespace) -> list[str]:
    if args.region:
        return args.region
    return [os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION]


def select_offers(offers: tuple[Any, ...], gpu: str | None, instance_type: str | None) -> list[Any]:
    """Offers matching --gpu / --instance-type; a filter matching nothing names what exists."""
    from pricing import PricingError

    chosen = list(offers)
    if gpu:
        names = sorted({o.instance.gpu_name for o in chosen})
        chosen = [o for o in chosen if o.instance.gpu_name.lower() == gpu.lower()]
        if not chosen:
            raise PricingError(f"no offer with GPU {gpu!r} in the selected regions; GPUs offered: "
                               f"{', '.join(names)}")
    if instance_type:
        types = sorted({o.instance.instance_type for o in chosen})
        chosen = [o for o in chosen if o.instance.instance_type == instance_type]
        if not chosen:
            near = difflib.get_close_matches(instance_type, types, n=3) or types[:5]
            raise PricingError(f"instance type {instance_type!r} has no priced offer here; nearest: "
                               f"{', '.join(near)}")
    return sorted(chosen, key=lambda o: (o.price.region, o.instance.gpu_name, o.instance.instance_type))


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


def _row(offer: Any) -> list[str]:
    from pricing.economics import spot_discount

    i, p = offer.instance, offer.price
    discount = spot_discount(p)
    count = f"{i.gpu_fraction:g} (slice)" if i.gpu_fraction < 1 else str(i.gpu_count)
    return [i.instance_type, p.region, i.gpu_name, count, f"{i.gpu_memory_gib:g}",
            _money(p.on_demand_usd_per_hour), _money(p.spot_usd_per_hour),
            _money(p.spot_median_usd_per_hour), "-" if discount is None else f"{discount:.0%}",
            p.interruption_frequency or "?", p.price_source, f"{p.prices_as_of:%Y-%m-%d %H:%M}"]


def format_table(offers: list[Any]) -> str:
    header = ["instance_type", "region", "gpu", "count", "GiB/gpu", "on-demand $/h", "spot min $/h",
              "spot median $/h", "discount", "interrupt", "source", "as of (UTC)"]
    rows = [header] + [_row(o) for o in offers]
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def run(args: argparse.Namespace) -> int:
    from pricing import load_priced_catalog

    catalog = load_priced_catalog(_regions(args), args.pricing, include_local_zones=args.include_local_zones)
    for warning in catalog.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    offers = select_offers(catalog.offers, args.gpu, args.instance_type)
    if args.json:
        print(json.dumps([offer_json(o) for o in offers], indent=2))
    else:
        print(format_table(offers))
    if args.placement_scores:
        print_placement_scores(offers, _regions(args))
    return 0


def print_placement_scores(offers: list[Any], regions: list[str]) -> None:
    """Spot placement scores (1..10 per AZ) on stderr, so --json output stays one JSON document."""
    from pricing import spot_placement_scores

    types = sorted({o.instance.instance_type for o in offers})
    print(f"spot placement scores for {', '.join(types)} (1 = unlikely, 10 = very likely):", file=sys.stderr)
    for score in spot_placement_scores(types, regions):
        print(f"  {score.region} {score.availability_zone_id or '-'}: {score.score}", file=sys.stderr)
