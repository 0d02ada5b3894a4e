"""Funnel and abandoned-cart latency on generated events: the API endpoint vs the raw SQL it runs."""

from __future__ import annotations


def measure_funnel(tmp, clickhouse, events: int) -> dict:
    return {"endpoint_ms": None, "reason": "the funnel API ([3/7]) is not in this build yet"}
