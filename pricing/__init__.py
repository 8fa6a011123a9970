"""Pricing: the GPU instance catalog and its on-demand and spot prices (live, cached or snapshot).

The only package that imports boto3. Every price carries price_source and prices_as_of.
"""

from pricing.catalog import load_priced_catalog, spot_placement_scores
from pricing.errors import PricingError
from pricing.models import (
    GpuSpec,
    InstancePrice,
    InstanceType,
    Offer,
    PricedCatalog,
    SpotComparison,
    SpotPlacementScore,
)
from pricing.snapshot import gpu_specs, instance_catalog, snapshot_regions
from sizing.vocabulary import PriceSource, PricingMode

__all__ = [
    "GpuSpec",
    "InstancePrice",
    "InstanceType",
    "Offer",
    "PriceSource",
    "PricedCatalog",
    "PricingError",
    "PricingMode",
    "SpotComparison",
    "SpotPlacementScore",
    "gpu_specs",
    "instance_catalog",
    "load_priced_catalog",
    "snapshot_regions",
    "spot_placement_scores",
]
