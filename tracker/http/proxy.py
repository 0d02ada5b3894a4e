"""The shopper's address behind a reverse proxy: X-Forwarded-For, believed only from trusted proxies.

uvicorn's ProxyHeadersMiddleware does it as well-kept servers do: the header is read only when
the direct peer is one of TRACKER_TRUSTED_PROXIES (addresses or networks), and the client is
the right-most address in it that is not a trusted proxy, so a shopper who sends their own
X-Forwarded-For through nginx gets their real address, not the one they wrote (nginx appends
the peer it saw). It rewrites scope["client"] (and the scheme from X-Forwarded-Proto) in place;
everything after it, the visitor hash and the per-address rate limit included, reads that.
"""

from __future__ import annotations

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


async def _done(scope, receive, send) -> None:
    pass


class ForwardedClient:
    def __init__(self, trusted_proxies: str) -> None:
        # The middleware ends by calling its app; a no-op here, so the caller dispatches next
        # without an extra wrapper around every request.
        self._middleware = ProxyHeadersMiddleware(_done, trusted_hosts=trusted_proxies)

    async def apply(self, scope) -> None:
        """Set scope["client"] to the shopper's address when the peer is a trusted proxy."""
        await self._middleware(scope, None, None)
