"""The pricing layer's error types."""

from __future__ import annotations


class PricingError(ValueError):
    """A price or catalog could not be produced; the message names the constraint and what would work."""


class AwsUnavailableError(PricingError):
    """AWS could not be reached or answered badly where live data was required (--pricing live, spot
    placement scores): no fallback applies. The CLI exits with its own status, this `exit_code`."""

    exit_code = 3
