"""In Chromium: the realtime panel of /app/{site} updates without a reload when an event arrives
(and asks nothing while the tab is hidden); a shared link created on the page opens the page
read-only in a fresh browser context, is refused once revoked, and its secret is in no request
URL and no access-log line. Screenshots go to tests/browser/screenshots (see conftest)."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from tests.browser.conftest import DESKTOP_CHROME, screenshot, wait_until
from tests.browser.test_app_pages import shop_site, sign_in, tab  # noqa: F401 - fixtures and the sign-in steps


@pytest.fixture
def access_log():
    """uvicorn's access log lines (the tracker fixture runs it at level warning, which hides them)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("uvicorn.access")
    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def realtime(page, name: str) -> str:
    return page.locator(f"#realtime [data-realtime='{name}']").inner_text()


def send(tracker, path: str, user_agent: str = DESKTOP_CHROME) -> None:
    r = httpx.post(f"{tracker.url}/api/event", json={"site": "shop", "name": "page_view", "url": f"https://shop.example{path}"},
                   headers={"user-agent": user_agent})
    assert r.status_code == 202 and r.json()["accepted"] == 1, r.text


def test_the_realtime_panel_updates_without_a_reload(tracker, shop_site, tab):
    page = tab()
    sign_in(page, tracker, shop_site)
    # The seeded shop's events are a week old: the last 30 minutes are empty at first.
    assert wait_until(lambda: realtime(page, "visitors") == "0", timeout=20)
    assert "No events in the last 30 minutes." in realtime(page, "newest")
    assert realtime(page, "flush_interval_s") == "0.2"  # the tests' TRACKER_FLUSH_INTERVAL_S
    page.evaluate("window.notReloaded = true")

    send(tracker, "/just-now")
    send(tracker, "/just-now-too", DESKTOP_CHROME.replace("126", "125"))  # another visitor
    # The next poll (within 10 s) shows them; the page is the same document, never reloaded.
    assert wait_until(lambda: realtime(page, "visitors") == "2", timeout=30), realtime(page, "visitors")
    lines = realtime(page, "newest").splitlines()  # "HH:MM:SS page_view /path · direct · desktop", newest first
    assert [line.split()[1:3] for line in lines] == [["page_view", "/just-now-too"], ["page_view", "/just-now"]], lines
    assert realtime(page, "page_views") == "2" and realtime(page, "events") == "2"
    assert page.evaluate("window.notReloaded") is True
    polls = [u for u in page.requested if u.endswith("/app/shop/realtime.json")]
    assert len(polls) >= 2 and all(u.startswith(tracker.url + "/") for u in page.requested)
    assert page.problems == []  # no CSP violation, no script error
    screenshot(page, "app-realtime")

    # Hidden, the tab asks nothing; shown again, it asks at once.
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
                             document.dispatchEvent(new Event('visibilitychange')); }""")
    asked = len([u for u in page.requested if u.endswith("/realtime.json")])
    page.wait_for_timeout(11_000)  # longer than one poll interval: an absence needs a span of time
    assert len([u for u in page.requested if u.endswith("/realtime.json")]) == asked
    page.evaluate("""() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
                             document.dispatchEvent(new Event('visibilitychange')); }""")
    assert wait_until(lambda: len([u for u in page.requested if u.endswith("/realtime.json")]) > asked, timeout=5)


def test_a_shared_link_opens_read_only_in_a_fresh_context_until_revoked(tracker, shop_site, tab, access_log):
    owner = tab()
    sign_in(owner, tracker, shop_site)
    owner.get_by_label("Who it is for (optional)").fill("our agency")
    owner.get_by_role("button", name="Create a shared link").click()
    field = owner.locator("#shared-link")
    link, link_id = field.input_value(), field.get_attribute("data-link-id")
    assert re.fullmatch(rf"{re.escape(tracker.url)}/app/_share#fhs_{link_id}_[A-Za-z0-9_-]+", link), link
    secret = link.split("#", 1)[1]
    screenshot(owner, "app-shared-link-created")
    owner.get_by_role("link", name="Back to Shoe shop").click()
    assert owner.locator(f"#shared-links-table tr[data-link-id='{link_id}']").inner_text().count("our agency") == 1

    viewer = tab(width=375)  # a fresh context: no cookie, another person's phone
    viewer.goto(link)
    viewer.wait_for_url(f"{tracker.url}/app/shop")
    assert viewer.locator("#read-only").inner_text() == "You are viewing a read-only shared link."
    assert viewer.locator("[data-figure='visitors']").inner_text() == "40"  # the seeded shop's figures
    assert viewer.get_by_role("link", name="Download all as CSV").count() == 0
    assert viewer.locator("#shared-links").count() == 0
    assert wait_until(lambda: realtime(viewer, "status").startswith("As of"), timeout=20)
    assert viewer.evaluate("document.cookie") == "" and secret not in viewer.url
    # No history entry holds the secret: the landing page's entry lost its fragment before the form
    # left (and Chromium replaces an entry that navigates away while still loading).
    viewer.go_back()
    assert viewer.url in ("about:blank", f"{tracker.url}/app/_share"), viewer.url
    viewer.goto(f"{tracker.url}/app/shop")  # still signed in by the cookie
    assert viewer.evaluate("document.documentElement.scrollWidth") <= 375
    assert viewer.problems == []
    screenshot(viewer, "app-shared-link-view-375px")

    owner.get_by_role("button", name=f"Revoke link {link_id}").click()
    owner.wait_for_url(f"{tracker.url}/app/shop#shared-links")
    assert owner.locator(f"#shared-links-table tr[data-link-id='{link_id}']").count() == 0
    viewer.reload()
    assert viewer.url == f"{tracker.url}/app/shop" and "no longer valid" in viewer.content()
    viewer.goto(link)  # the link itself no longer opens anything
    assert wait_until(lambda: "This link is not valid" in viewer.content())
    screenshot(viewer, "app-shared-link-revoked")

    # The secret left the browser only in POST bodies: in no URL, so in no access-log line.
    assert not [u for u in owner.requested + viewer.requested if secret in u]
    assert any("/app/_share" in line for line in access_log) and any("/app/shop " in line for line in access_log), access_log
    assert not [line for line in access_log if secret in line]
