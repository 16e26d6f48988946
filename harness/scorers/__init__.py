"""Scorers: each has a signature pinning its settings, per-item sufficient statistics,
and an aggregate over any subset of items (so one bootstrap serves every metric)."""
