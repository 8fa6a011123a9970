"""Command-line interface: `llm-advisor size|prices|plan|render|preview` (also `python -m llm_advisor`)."""
