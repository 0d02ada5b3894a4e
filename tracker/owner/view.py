"""What the owner's page at /app/{site} is looking at, read from its URL: the days, the
comparison (`compare`) and the filters (`filter`, repeatable). Every link on the page that
changes one of them (a filter link, a chip's remove link) is made here, so it keeps the others.

    /app/shop?from=2024-05-01&to=2024-05-31&compare=previous&filter=source==google

Panels hand `api_params(endpoint)` to the query API: the filters and the comparison reach every
endpoint that declares those parameters (tracker/http/api_params.py), and no other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable
from urllib.parse import urlencode

from starlette.requests import Request

from tracker.http.api_params import ENDPOINTS
from tracker.queries.errors import ParamError
from tracker.queries.segments import parse_segment
from tracker.queries.timerange import COMPARE_MODES

_TAKES = {e.name: {p.name for p in e.params} for e in ENDPOINTS}


@dataclass(frozen=True)
class PageView:
    site: str
    days: dict[str, str]  # {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}
    compare: str = ""  # "" (none) or one of COMPARE_MODES
    filters: tuple[str, ...] = ()  # the `filter` texts, as the API takes them
    funnel: str = ""  # the saved funnel picked (`funnel`), kept by every link that changes the rest
    errors: dict[str, str] = field(default_factory=dict)  # field -> reason, for the form

    @classmethod
    def of(cls, request: Request, site: str, days: dict[str, str]) -> "PageView":
        return cls.read(request.query_params.getlist, site, days)

    @classmethod
    def read(cls, values: Callable[[str], list[str]], site: str, days: dict[str, str]) -> "PageView":
        """The view from a query string or a form's fields (values: a name's every value), so the
        funnel forms carry the page's view through and back with the same checks."""
        compare = (values("compare") or [""])[-1].strip()
        filters = tuple(f for f in values("filter") if f.strip())
        errors = {}
        if compare and compare not in COMPARE_MODES:
            errors["compare"] = f"must be one of {', '.join(COMPARE_MODES)}"
            compare = ""
        try:
            parse_segment(list(filters))
        except ParamError as exc:
            errors["filter"] = exc.reason
        funnel = (values("funnel") or [""])[-1].strip()
        return cls(site, days, compare, filters, funnel, errors)

    def url(self) -> str:
        query = self.query()
        return f"/app/{self.site}" + (f"?{query}" if query else "")

    def query(self) -> str:
        """The view as a query string: for the page (url()) and for links that come back to it (the funnel forms)."""
        pairs = [(k, self.days[k]) for k in ("from", "to") if self.days.get(k)]  # no day: the page's default
        if self.compare:
            pairs.append(("compare", self.compare))
        if self.funnel:
            pairs.append(("funnel", self.funnel))
        pairs += [("filter", f) for f in self.filters]
        return urlencode(pairs)

    def with_filter(self, text: str) -> "PageView":
        return self if text in self.filters else replace(self, filters=(*self.filters, text))

    def without_filter(self, text: str) -> "PageView":
        return replace(self, filters=tuple(f for f in self.filters if f != text))

    def without_filters(self) -> "PageView":
        return replace(self, filters=())

    def api_params(self, endpoint: str) -> list[tuple[str, str]]:
        """The page's filters and comparison as query API parameters, where the endpoint takes them."""
        takes = _TAKES[endpoint]
        pairs = [("filter", f) for f in self.filters] if "filter" in takes else []
        if self.compare and "compare" in takes:
            pairs.append(("compare", self.compare))
        return pairs

    def honours_filters(self, endpoint: str) -> bool:
        """Whether a panel of this endpoint shows the page's filtered visits (true without filters)."""
        return not self.filters or "filter" in _TAKES[endpoint]

    def honours_compare(self, endpoint: str) -> bool:
        """Whether a panel of this endpoint shows the page's comparison (true without one)."""
        return not self.compare or "compare" in _TAKES[endpoint]
