"""Errors of the query layer; tracker/http/query.py turns them into the one JSON error shape."""

from __future__ import annotations


class ParamError(ValueError):
    """A query parameter that cannot be used: which one and why (becomes a 400 field error)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class QueryLimit(RuntimeError):
    """ClickHouse stopped a query at the time or memory limit (becomes a 503)."""
