"""tracker/owner/breakdowns.py: which API answers the panels ask for, that they are asked for all
at once (no query waits for another, nor for the answers the page hands in), and where each answer lands. The figures themselves are
checked against the API in tests/test_http_app_breakdowns.py."""

from __future__ import annotations

import asyncio

from tracker.owner import breakdowns

DAYS = {"from": "2024-05-01", "to": "2024-05-31"}


def test_every_panel_query_runs_at_once_and_lands_in_its_place():
    calls: list[tuple] = []

    async def run() -> dict:
        everyone_asked = asyncio.Event()
        expected = 8  # five queries and the three answers handed in

        async def query(name: str, days: dict, **extra: str) -> dict:
            calls.append((name, days, extra))
            if len(calls) == expected:
                everyone_asked.set()
            await asyncio.wait_for(everyone_asked.wait(), 5)  # a query that waited for another would time out here
            return {"name": name, **extra}

        async def handed_in(name: str, answer):
            calls.append((name, DAYS, {}))
            if len(calls) == expected:
                everyone_asked.set()
            await asyncio.wait_for(everyone_asked.wait(), 5)
            return answer

        devices = [{"name": "devices", "by": b} for b in breakdowns.DEVICE_DIMENSIONS]
        return await breakdowns.gather(query, DAYS, abandoned_products=handed_in("abandoned_products", {"name": "abandoned_products"}),
                                       devices=handed_in("devices", devices), sales_cycle=handed_in("sales_cycle", {"name": "sales_cycle"}))

    result = asyncio.run(run())
    shown = str(breakdowns.SHOWN)
    assert sorted((n, tuple(sorted(e.items()))) for n, _, e in calls) == sorted([
        ("pages", (("kind", "top"), ("limit", shown))), ("pages", (("kind", "entry"), ("limit", shown))),
        ("pages", (("kind", "exit"), ("limit", shown))),
        ("devices", ()), ("products", (("limit", shown),)), ("abandoned_products", ()), ("cohorts", ()),
        ("sales_cycle", ()),
    ])
    assert all(days == (DAYS if name != "cohorts" else {"to": DAYS["to"]}) for name, days, _ in calls)
    assert result["pages"] == {k: {"name": "pages", "kind": k, "limit": shown} for k in ("top", "entry", "exit")}
    assert result["devices"] == {b: {"name": "devices", "by": b} for b in ("device", "browser", "os")}
    assert result["products"]["name"] == "products" and result["abandoned_products"]["name"] == "abandoned_products"
    assert result["cohorts"] == {"name": "cohorts"} and result["sales_cycle"]["name"] == "sales_cycle"
