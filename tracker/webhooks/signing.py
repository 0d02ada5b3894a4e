"""The signature header of a delivery: `Funnelhouse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.

The HMAC covers `<t>.<body>`, so a receiver that checks it also knows when the delivery was
signed and can refuse old ones (a replayed request). Each attempt is signed anew; the body and
the Idempotency-Key header stay the same on every attempt. docs/webhooks.md shows the receiver's
side, and a test runs that snippet against a real delivery.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Funnelhouse-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "Funnelhouse-Event"
ATTEMPT_HEADER = "Funnelhouse-Attempt"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"
