"""The error types and the one JSON error shape every 4xx/5xx uses.

    {"error": {"code": "invalid_event", "message": "...", "fields": [{"path": "events[3].ts", "reason": "..."}]}}
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    path: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    fields: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict:
        return error_body(self.code, self.message, self.fields)


def clickhouse_unavailable() -> ApiError:
    """The answer when ClickHouse cannot be reached or does not answer in time: not the client's fault."""
    return ApiError(503, "clickhouse_unavailable", "ClickHouse cannot be reached; retry later", headers={"Retry-After": "5"})


def internal_error_body() -> dict:
    """The answer to a bug: no detail for the client (it is in the log)."""
    return error_body("internal_error", "the tracker failed to handle this request")


def error_body(code: str, message: str, fields: list[FieldError] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": [f.as_dict() for f in fields or []]}}
