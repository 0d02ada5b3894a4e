"""GET /demo: a small single-page demo shop that uses the tag, for newcomers and the browser tests.

Every path under /demo answers with the same page, so the shop's own URLs (/demo/product/1,
/demo/cart, ...) survive a reload like those of a real single-page shop.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse

DEMO_PAGE = Path(__file__).resolve().parents[2] / "js-snippet" / "demo" / "shop.html"


async def demo_shop(request: Request) -> HTMLResponse:
    return HTMLResponse(DEMO_PAGE.read_text(encoding="utf-8"), headers={"cache-control": "no-cache"})
