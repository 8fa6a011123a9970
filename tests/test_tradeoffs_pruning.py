"""The variant searches skip instance types one of which already costs more than a listable variant may
(llm_advisor/planner/tradeoffs.py _under): the same trade-offs, from a fraction of the search."""

from __future__ import annotations

from llm_advisor.planner.tradeoffs import _under
from pricing import load_priced_catalog


def _cheapest(offer, discount: float) -> float:
    p = offer.price
    on_demand = None if p.on_demand_usd_per_hour is None else p.on_demand_usd_per_hour * (1 - discount)
    figures = [x for x in (on_demand, p.spot_usd_per_hour) if x is not None]
    return min(figures)


def test_only_types_one_instance_of_which_is_under_the_bound_are_kept() -> None:
    catalog = load_priced_catalog(("us-east-1",), pricing="snapshot")
    # $1.49/h = 0.8 x $1.86 (a g6e.xlarge plan and the 20% a variant must save)
    kept = _under(catalog, 1.49, 0.0)
    assert 0 < len(kept.offers) < len(catalog.offers)
    assert all(_cheapest(o, 0.0) < 1.49 for o in kept.offers)
    kept_keys = {(o.instance.instance_type, o.price.region) for o in kept.offers}
    dropped = [o for o in catalog.offers if (o.instance.instance_type, o.price.region) not in kept_keys]
    assert dropped and all(_cheapest(o, 0.0) >= 1.49 for o in dropped)
    assert "p5.48xlarge" not in {o.instance.instance_type for o in kept.offers}
    # an on-demand discount lowers what one on-demand instance costs, so it keeps more types
    assert len(_under(catalog, 1.49, 0.5).offers) >= len(kept.offers)
