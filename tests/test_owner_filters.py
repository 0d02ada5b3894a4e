"""The page's URL state (tracker/owner/view.py) and its filter links and chips (tracker/owner/filters.py)."""

from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request

from tracker.owner.filters import chips, filter_text, link
from tracker.owner.view import PageView
from tracker.queries.segments import parse_segment

DAYS = {"from": "2024-05-01", "to": "2024-05-31"}


def request(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/app/shop", "query_string": query.encode(), "headers": []})


def pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query)


def test_a_filter_link_adds_the_filter_and_keeps_the_rest():
    view = PageView.of(request("compare=year&filter=device%3D%3Dmobile"), "shop", DAYS)
    url = link(view, "source", "google")
    assert urlsplit(url).path == "/app/shop"
    assert pairs(url) == [("from", "2024-05-01"), ("to", "2024-05-31"), ("compare", "year"),
                          ("filter", "device==mobile"), ("filter", "source==google")]
    assert link(view, "device", "mobile") == view.url()  # already there: not twice


def test_values_with_the_filter_syntax_round_trip():
    text = filter_text("props.plan", "gold|silver \\ x")
    assert parse_segment([text])[0].values == ("gold|silver \\ x",)
    assert filter_text("source", "") == "source=="  # visits without a source


def test_chips_name_the_filter_and_remove_only_it():
    view = PageView.of(request("filter=source%3D%3Dgoogle%7Cbing&filter=device%21%3Dmobile&filter=source%3D%3D"), "shop", DAYS)
    shown = chips(view)
    assert [c.label for c in shown] == ["Source is google or bing", "Device is not mobile", "Source is (none)"]
    assert pairs(shown[1].remove_url) == [*DAYS.items(), ("filter", "source==google|bing"), ("filter", "source==")]


def test_bad_values_are_errors_for_the_form_and_reach_no_query():
    view = PageView.of(request("compare=decade&filter=colour%3D%3Dred"), "shop", DAYS)
    assert set(view.errors) == {"compare", "filter"} and view.compare == "" and chips(view) == []


def test_the_api_gets_the_filters_and_comparison_where_the_endpoint_takes_them():
    view = PageView.of(request("compare=previous&filter=source%3D%3Dgoogle"), "shop", DAYS)
    assert view.api_params("stats") == [("filter", "source==google"), ("compare", "previous")]
    assert view.api_params("funnel_trends") == [("filter", "source==google")]  # no compare there
    assert view.api_params("abandoned_carts") == [] and not view.honours_filters("abandoned_carts")
    assert PageView.of(request(""), "shop", DAYS).honours_filters("abandoned_carts")  # nothing to honour


def test_links_keep_the_picked_funnel():
    view = PageView.of(request("funnel=f-checkout&filter=source%3D%3Dgoogle"), "shop", DAYS)
    assert pairs(link(view, "path", "/")) == [*DAYS.items(), ("funnel", "f-checkout"), ("filter", "source==google"), ("filter", "path==/")]
    assert pairs(chips(view)[0].remove_url) == [*DAYS.items(), ("funnel", "f-checkout")]


def test_a_panel_says_whether_it_shows_the_comparison():
    view = PageView.of(request("compare=year"), "shop", DAYS)
    assert view.honours_compare("stats") and view.honours_compare("channels")
    assert not view.honours_compare("pages") and not view.honours_compare("abandoned_carts")
    assert PageView.of(request(""), "shop", DAYS).honours_compare("pages")  # nothing to show
