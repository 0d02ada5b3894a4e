"""Errors of the query layer; tracker/http/query.py turns them into the one JSON error shape."""

from __future__ import annotations


class ParamError(ValueError):
    """A query parameter that cannot be used: which one and why (becomes a 400 field error)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class ParamErrors(ValueError):
    """Several parameters that cannot be used, reported together."""

    def __init__(self, errors: list[ParamError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


class QueryLimit(RuntimeError):
    """ClickHouse stopped a query at the time or memory limit (becomes a 503)."""
