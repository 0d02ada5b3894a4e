"""GET /js/t.js: the tracking tag shops paste, served by the tracker itself.

The file is built from js-snippet/src into js-snippet/dist/t.js (`make snippet`) and committed,
so serving needs no node. It is read once and re-read only when the file changes, with its
gzip form and ETag computed then, so a request costs a dict lookup and a header comparison.

It is served at every TRACKER_SNIPPET_PATHS path (tracker/http/served_paths.py). The tag sends
to its ingest path on the host it was loaded from, `new URL("/api/event", script.src)`
(js-snippet/src/config.js): served at an alias, the string "/api/event" in the built file is
replaced by that alias's ingest path, so a tag loaded from https://shop.example/a/s.js sends to
https://shop.example/a/e with nothing to configure on the page.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracker.errors import ApiError

SNIPPET_PATH = Path(__file__).resolve().parents[2] / "js-snippet" / "dist" / "t.js"
# The tag's default ingest path as it appears, once, in the built file.
INGEST_LITERAL = b'"/api/event"'

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
        self._built: dict[str, Built] = {}  # by the ingest path written into the tag

    def current(self, ingest_path: str = "/api/event") -> Built:
        try:
            mtime_ns = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            raise ApiError(503, "snippet_not_built", f"{self.path} is missing: run `make snippet`") from None
        built = self._built.get(ingest_path)
        if built is None or built.mtime_ns != mtime_ns:
            plain = self.path.read_bytes()
            if plain.count(INGEST_LITERAL) != 1:  # a build that moved the literal must not send elsewhere unnoticed
                raise ApiError(503, "snippet_not_built", f"{self.path} does not hold {INGEST_LITERAL.decode()} once: rebuild it")
            plain = plain.replace(INGEST_LITERAL, b'"' + ingest_path.encode() + b'"')
            etag = '"' + hashlib.sha256(plain).hexdigest()[:20] + '"'
            built = self._built[ingest_path] = Built(mtime_ns, plain, gzip.compress(plain, 9, mtime=0), etag)
        return built


SNIPPET = SnippetFile(SNIPPET_PATH)


def routes(snippets: dict[str, str]) -> list[Route]:
    """GET and HEAD of the tag at each snippet path, each sending to its own ingest path."""
    def serve_at(ingest_path: str):
        async def tag(request: Request) -> Response:
            return tracker_js(request, ingest_path)
        return tag
    return [Route(path, serve_at(ingest), methods=["GET", "HEAD"]) for path, ingest in snippets.items()]


def tracker_js(request: Request, ingest_path: str = "/api/event") -> Response:
    built = SNIPPET.current(ingest_path)
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
