"""Pricing: the GPU instance catalog and its on-demand and spot prices (live, cached or snapshot).

The only package that imports boto3. Every price carries price_source and prices_as_of.
"""
