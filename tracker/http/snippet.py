"""GET /js/t.js: the tracking tag shops paste, served by the tracker itself.

The file is built from js-snippet/src into js-snippet/dist/t.js (`make snippet`) and committed,
so serving needs no node. It is read once and re-read only when the file changes, with its
gzip form and ETag computed then, so a request costs a dict lookup and a header comparison.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from tracker.errors import ApiError

SNIPPET_PATH = Path(__file__).resolve().parents[2] / "js-snippet" / "dist" / "t.js"

# The tag's URL carries no version, so browsers must notice a new build: one day of freshness,
# then a revalidation that costs a 304 thanks to the ETag; a week of serving the stale copy
# meanwhile keeps pages fast while the tracker is slow or down.
CACHE_CONTROL = "public, max-age=86400, stale-while-revalidate=604800"


@dataclass(frozen=True)
class Built:
    mtime_ns: int
    plain: bytes
    gzipped: bytes
    etag: str


class SnippetFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._built: Built | None = None

    def current(self) -> Built:
        try:
            mtime_ns = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            raise ApiError(503, "snippet_not_built", f"{self.path} is missing: run `make snippet`") from None
        if self._built is None or self._built.mtime_ns != mtime_ns:
            plain = self.path.read_bytes()
            etag = '"' + hashlib.sha256(plain).hexdigest()[:20] + '"'
            self._built = Built(mtime_ns, plain, gzip.compress(plain, 9, mtime=0), etag)
        return self._built


SNIPPET = SnippetFile(SNIPPET_PATH)


async def tracker_js(request: Request) -> Response:
    built = SNIPPET.current()
    headers = {
        "cache-control": CACHE_CONTROL,
        "etag": built.etag,
        "vary": "accept-encoding",
        # Shops that isolate their pages (COEP require-corp) may still load the tag.
        "cross-origin-resource-policy": "cross-origin",
        "x-content-type-options": "nosniff",
    }
    if built.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = built.plain
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        body = built.gzipped
        headers["content-encoding"] = "gzip"
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
