"""The one error type of the sizing layer: a ValueError naming the failed constraint and what would work."""

from __future__ import annotations


class SizingError(ValueError):
    """Bad sizing input (unknown model or GPU, impossible layout, malformed config.json)."""
