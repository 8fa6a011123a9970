"""Planner: joins sizing and pricing into the cheapest layout that serves a workload, explained (pure)."""
