"""`python -m advisor` from a checkout; the command line is llm_advisor.cli (installed as `llm-advisor`)."""
