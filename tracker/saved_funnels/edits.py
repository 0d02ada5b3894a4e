"""Creating, editing and removing saved funnels: the checks that need the stored funnels (a name
used twice, the per-site limit, an unknown id) on top of definition.py's, the same for the API,
the CLI and the page. Problems are ApiErrors in the one error shape; the CLI prints their fields."""

from __future__ import annotations

from tracker.errors import ApiError, FieldError
from tracker.saved_funnels import store
from tracker.saved_funnels.definition import DEFAULT_ID, FUNNEL_ID, MAX_FUNNELS, SavedFunnel, check_definition


def invalid(fields: list[FieldError]) -> ApiError:
    return ApiError(400, "invalid_funnel", "the funnel cannot be saved", fields)


def unknown(funnel_id: str) -> ApiError:
    return ApiError(404, "unknown_funnel", f"this site has no saved funnel {funnel_id[:64]!r}")


def find(client, site: str, funnel_id: str, default_window_s: int) -> SavedFunnel:
    funnel = store.get_funnel(client, site, funnel_id, default_window_s) if FUNNEL_ID.match(funnel_id) else None
    if funnel is None:
        raise unknown(funnel_id)
    return funnel


def _checked(client, site: str, funnel_id: str, body, default_window_s: int) -> SavedFunnel:
    funnel, errors = check_definition(body, site, funnel_id, default_window_s)
    if funnel is not None and store.name_taken(store.list_funnels(client, site, default_window_s), funnel.name, funnel_id):
        errors = [FieldError("name", f"another funnel of this site is called {funnel.name!r}")]
    if errors:
        raise invalid(errors)
    return funnel


def create(client, site: str, body, default_window_s: int) -> SavedFunnel:
    if len(store.list_funnels(client, site, default_window_s)) > MAX_FUNNELS:  # the default does not count
        raise ApiError(409, "too_many_funnels", f"a site keeps at most {MAX_FUNNELS} saved funnels; remove one first")
    return store.save_funnel(client, _checked(client, site, store.new_id(), body, default_window_s))


def update(client, site: str, funnel_id: str, body, default_window_s: int) -> SavedFunnel:
    """Replace a funnel's definition; for `shop` the first edit stores the row that overrides the built-in."""
    previous = find(client, site, funnel_id, default_window_s)
    return store.save_funnel(client, _checked(client, site, funnel_id, body, default_window_s), previous)


def remove(client, site: str, funnel_id: str, default_window_s: int) -> str:
    """'deleted', or 'reset' for the default funnel (it is the built-in shop funnel again)."""
    funnel = find(client, site, funnel_id, default_window_s)
    store.remove_funnel(client, funnel)
    return "reset" if funnel_id == DEFAULT_ID else "deleted"
