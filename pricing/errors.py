"""The pricing layer's one error type."""

from __future__ import annotations


class PricingError(ValueError):
    """A price or catalog could not be produced; the message names the constraint and what would work."""
