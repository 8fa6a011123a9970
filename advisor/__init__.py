"""Command-line interface of the advisor: `python -m advisor size|prices|plan|render|preview`."""
