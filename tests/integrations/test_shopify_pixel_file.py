"""js-snippet/dist/shopify-pixel.js as a shop pastes it, and docs/integrations/shopify.md against the code."""

from __future__ import annotations

import gzip
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.browser.shopify_sandbox import PIXEL_PATH
from tracker.http.ingest import STATUS

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "integrations" / "shopify.md").read_text()
EVENTS_JS = (ROOT / "js-snippet" / "src" / "shopify" / "events.js").read_text()
SIZE_BUDGET_GZIP = 2600  # bytes; the tag's own budget is 2,000 (tests/test_snippet_http.py), the pixel maps 13 events
STANDARD_EVENTS = [
    "page_viewed", "product_viewed", "collection_viewed", "search_submitted", "product_added_to_cart",
    "product_removed_from_cart", "cart_viewed", "checkout_started", "checkout_contact_info_submitted",
    "checkout_address_info_submitted", "checkout_shipping_info_submitted", "payment_info_submitted", "checkout_completed",
]


def test_the_pixel_stays_within_its_gzip_budget():
    size = len(gzip.compress(PIXEL_PATH.read_bytes(), 9))
    assert size <= SIZE_BUDGET_GZIP, f"js-snippet/dist/shopify-pixel.js is {size} B gzipped, over the {SIZE_BUDGET_GZIP} B budget"


def test_the_site_and_the_tracker_url_are_the_only_settings_and_come_first():
    lines = PIXEL_PATH.read_text().splitlines()
    settings = [line for line in lines if re.match(r"^const \w+ = ", line)]
    assert [s.split(" = ")[0] for s in settings] == ["const FUNNELHOUSE_SITE", "const FUNNELHOUSE_URL"]
    assert lines.index(settings[1]) < 6 and all(line.startswith(("//", "const ")) for line in lines[:4])
    for name in ("FUNNELHOUSE_SITE", "FUNNELHOUSE_URL"):
        assert f"const {name} = '" in DOC


def test_the_documented_mapping_is_the_pixels():
    mapping = dict(re.findall(r"^  (\w+): \[\s*'(\w+)'", EVENTS_JS, re.M))
    assert list(mapping) == STANDARD_EVENTS
    documented = dict(re.findall(r"^\| `(\w+)` \| `(\w+)` \|", DOC, re.M))
    assert documented == mapping
    built = PIXEL_PATH.read_text()
    assert all(f"{shopify}:[\"{ours}\"" in built for shopify, ours in mapping.items()), "dist is not built from src (make snippet)"


def test_documented_commands_parse_and_error_codes_exist():
    commands = [line.strip() for line in DOC.splitlines() if line.strip().startswith("python -m tracker ")]
    assert len(commands) >= 3
    for line in commands:
        argv = shlex.split(line.split("#", 1)[0])[3:]
        out = subprocess.run([sys.executable, "-m", "tracker", *argv, "--help"], capture_output=True, text=True)
        assert out.returncode == 0, (line, out.stderr)
    for code in re.findall(r"`(unauthorized|invalid_json|invalid_order|\w+_unavailable|\w+_full)`", DOC):
        assert code in STATUS or code in ("invalid_order", "invalid_json"), code
