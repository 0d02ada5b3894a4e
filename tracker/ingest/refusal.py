"""Why a whole ingest request is refused. tracker/http/ingest.py maps each reason to an HTTP status."""

from __future__ import annotations

from tracker.errors import FieldError


class Refused(Exception):
    """The request is refused as a whole; nothing of it is stored."""

    def __init__(self, reason: str, message: str, fields: list[FieldError] | None = None,
                 retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason  # also the error code the client sees
        self.message = message
        self.fields = fields or []
        self.retry_after_s = retry_after_s
