"""`python -m advisor capacity-blocks`: EC2 Capacity Blocks for ML offered for one type, count and duration,
each with its window and its fee against on-demand and spot for the same instances over the same hours.

Live only (DescribeCapacityBlockOfferings): --pricing snapshot has no Capacity Block figure and is refused
(exit 2). Nothing matching: exit 2 naming the nearest offering. Nothing is ever purchased: set the
reservation you buy as the stack key capacityReservationId (docs/deploy.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

JSON_KEYS = ("offering_id", "instance_type", "region", "availability_zone", "instance_count", "start", "end",
             "duration_hours", "upfront_fee_usd", "usd_per_hour", "usd_per_instance_hour", "on_demand_usd",
             "spot_usd", "cheapest", "cheapest_assured", "price_source")


def register(subparsers: Any, help_text: str) -> None:
    parser = subparsers.add_parser(
        "capacity-blocks", help=help_text,
        description="Capacity Block offerings (live: DescribeCapacityBlockOfferings) for one instance type, "
                    "count and duration: window, AZ, upfront fee, effective USD/h (fee / hours) and what the "
                    "same instances cost on-demand and on spot over the same hours. Never purchases.")
    parser.add_argument("--instance-type", required=True, help="e.g. p5.48xlarge")
    parser.add_argument("--hours", type=int, required=True,
                        help="block duration: 24..336 in steps of 24, then up to 4368 in steps of 168")
    parser.add_argument("--count", type=int, default=1, help="instances in the block, 1..64 (default 1)")
    parser.add_argument("--region", default=None,
                        help="AWS region; default $AWS_REGION, else $AWS_DEFAULT_REGION, else the AWS "
                             "profile's region, else us-east-1")
    parser.add_argument("--start-after", type=_date, default=None,
                        help="earliest start, ISO date or time (UTC unless an offset is given)")
    parser.add_argument("--end-before", type=_date, default=None, help="latest end, ISO date or time")
    parser.add_argument("--pricing", choices=("auto", "live", "snapshot"), default="auto",
                        help="auto: live, else a cached answer (default); snapshot offers no Capacity Block")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.set_defaults(handler=run)


def _date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date or time (2026-12-01 or "
                                         "2026-12-01T08:00)") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def comparison_json(c: Any) -> dict[str, Any]:
    o = c.offering
    row = {"offering_id": o.offering_id, "instance_type": o.instance_type, "region": o.region,
           "availability_zone": o.availability_zone, "instance_count": o.instance_count,
           "start": o.start.isoformat(), "end": o.end.isoformat(), "duration_hours": o.duration_hours,
           "upfront_fee_usd": o.upfront_fee_usd, "usd_per_hour": round(o.usd_per_hour, 4),
           "usd_per_instance_hour": round(o.usd_per_instance_hour, 4), "on_demand_usd": c.on_demand_usd,
           "spot_usd": c.spot_usd, "cheapest": c.cheapest, "cheapest_assured": c.cheapest_assured,
           "price_source": o.price_source}
    return {k: row[k] for k in JSON_KEYS}


def _usd(x: float | None) -> str:
    return "-" if x is None else f"${x:,.2f}"


def format_table(comparisons: list[Any]) -> str:
    from pricing.capacity_blocks import describe_window

    lines = []
    for c in comparisons:
        o = c.offering
        lines.append(f"{o.offering_id}: {o.instance_count} x {o.instance_type}, {describe_window(o)}")
        lines.append(f"  block {_usd(c.block_usd)} up front = {_usd(o.usd_per_hour)}/h "
                     f"({_usd(o.usd_per_instance_hour)} per instance-hour); same instances and hours: "
                     f"on-demand {_usd(c.on_demand_usd)}, spot {_usd(c.spot_usd)} (interruptible)")
        lines.append(f"  cheapest: {c.cheapest}; cheapest without interruptions: {c.cheapest_assured}")
    lines.append("Nothing was purchased: buy one (EC2 PurchaseCapacityBlock, console or CLI), then "
                 "`pulumi config set capacityReservationId cr-...` with target ec2.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from llm_advisor.cli.region import resolve_regions
    from pricing import PricingError, load_priced_catalog
    from pricing.capacity_blocks import (
        SNAPSHOT_NOTE,
        compare,
        load_capacity_blocks,
        make_query,
        no_offering_error,
    )

    if args.pricing == "snapshot":
        raise PricingError(SNAPSHOT_NOTE)
    query = make_query(args.instance_type, args.count, args.hours, args.start_after, args.end_before)
    region = args.region or resolve_regions(None)[0]
    result = load_capacity_blocks(query, region, args.pricing)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not result.offerings:
        raise no_offering_error(query, region, result)
    catalog = load_priced_catalog([region], args.pricing)
    for warning in catalog.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    price = next((o.price for o in catalog.offers if o.instance.instance_type == query.instance_type), None)
    comparisons = [compare(o, price) for o in result.offerings]
    if args.json:
        print(json.dumps([comparison_json(c) for c in comparisons], indent=2))
    else:
        print(format_table(comparisons))
    return 0
