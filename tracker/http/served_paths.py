"""Where the tag and the ingest endpoint are served: TRACKER_SNIPPET_PATHS and TRACKER_INGEST_PATHS.

First-party serving: a shop's own web server proxies neutral paths (`/a/s.js`, `/a/e`) to the
tracker unchanged, so ad-blockers' lists of tracker paths and hosts do not match them
(docs/integrations/proxy.md). The tag served at the n-th snippet path sends its events to the
n-th ingest path, on the host it was loaded from; ingest paths beyond the snippet paths' count
take events too (a shop backend's alias) but no tag points at them.
"""

from __future__ import annotations

from dataclasses import dataclass

# Paths of the tracker's own pages and APIs, which an alias may not shadow.
RESERVED = ("/api/v1", "/app", "/demo", "/healthz", "/readyz", "/metrics")
# The tag's ingest path is written into a JavaScript string literal: keep it to URL path characters.
PATH_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-._~")


@dataclass(frozen=True)
class ServedPaths:
    snippets: dict[str, str]  # snippet path -> the ingest path the tag served there sends to
    ingest: frozenset[str]


def served_paths(snippet_paths: str, ingest_paths: str) -> ServedPaths:
    """Parse and check the two settings; a wrong one stops the start with a message naming it."""
    snippets = _paths("TRACKER_SNIPPET_PATHS", snippet_paths)
    ingest = _paths("TRACKER_INGEST_PATHS", ingest_paths)
    if len(ingest) < len(snippets):
        raise SystemExit(
            f"TRACKER_INGEST_PATHS names {len(ingest)} path(s) for {len(snippets)} snippet path(s): "
            "the tag served at the n-th snippet path sends to the n-th ingest path"
        )
    if shared := set(snippets) & set(ingest):
        raise SystemExit(f"{sorted(shared)[0]} is in both TRACKER_SNIPPET_PATHS and TRACKER_INGEST_PATHS")
    return ServedPaths(dict(zip(snippets, ingest)), frozenset(ingest))


def _paths(setting: str, raw: str) -> list[str]:
    paths = [p.strip() for p in raw.split(",") if p.strip()]
    if not paths:
        raise SystemExit(f"{setting} is empty: name at least one path")
    for path in paths:
        if not path.startswith("/") or path == "/" or not set(path) <= PATH_CHARACTERS:
            raise SystemExit(f"{setting}: {path!r} is not a path like /a/e (a leading /, then letters, digits, / - . _ ~)")
        clash = next((r for r in RESERVED if path == r or path.startswith(r + "/")), None)
        if clash:
            raise SystemExit(f"{setting}: {path!r} is taken by the tracker's own {clash} routes")
    if len(set(paths)) != len(paths):
        raise SystemExit(f"{setting} names a path twice: {raw!r}")
    return paths
