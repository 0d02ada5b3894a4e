"""A saved funnel's definition: what check_definition accepts, its defaults, the built-in default."""

from tracker.queries.steps import shop_funnel
from tracker.saved_funnels.definition import SavedFunnel, builtin_default, check_definition, definition_of

WEEK = 7 * 86400


def test_steps_as_strings_or_objects_with_labels_and_the_defaults():
    funnel, errors = check_definition({"name": "  Carts ", "steps": ["view_item|select_item", {"step": " add_to_cart ", "label": "Cart"}]},
                                      "shop", "abc", WEEK)
    assert errors == []
    assert funnel == SavedFunnel("shop", "abc", "Carts", (("view_item|select_item", ""), ("add_to_cart", "Cart")), WEEK)
    assert [s.label for s in funnel.parsed_steps()] == ["view_item|select_item", "Cart"]
    again, _ = check_definition(definition_of(funnel), "shop", "abc", WEEK)
    assert again == funnel


def test_window_order_and_unit_as_the_funnel_takes_them():
    funnel, errors = check_definition({"name": "x", "steps": ["*", "purchase", "purchase"], "window": "1h30m", "order": "any",
                                       "unit": "session"}, "shop", "abc", WEEK)
    assert errors == [] and (funnel.window_s, funnel.order, funnel.unit) == (5400, "any", "session")
    assert [(s.same_as, s.occurrence) for s in funnel.parsed_steps()] == [(None, 1), (None, 1), (1, 2)]  # a repurchase step
    assert funnel.as_dict({"purchase"})["steps"][1]["never_sent"] == ["purchase"]
    assert funnel.as_dict()["window"] == "1h30m"


def test_wrong_types_are_field_errors_not_crashes():
    _, errors = check_definition({"name": 5, "steps": "view_item", "window": True, "order": None, "unit": ["visitor"]}, "s", "a", WEEK)
    assert {e.path: e.reason for e in errors} == {
        "name": "must be a string", "steps": "must be a list of 1 to 20 steps", "window": "must be from 1s to 90d",
        "unit": "must be one of visitor, session",
    }
    _, errors = check_definition({"name": "x", "steps": [{"step": 3, "label": ["a"]}]}, "s", "a", WEEK)
    assert {e.path: e.reason for e in errors} == {"steps[0].step": "must be a string", "steps[0].label": "must be a string"}


def test_the_builtin_default_is_the_shop_funnel():
    default = builtin_default("shop", WEEK)
    assert (default.funnel_id, default.is_default, default.builtin, default.window_s) == ("shop", True, True, WEEK)
    assert default.parsed_steps() == shop_funnel()
