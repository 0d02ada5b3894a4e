"""The step language of funnel queries and the shop funnel."""

import pytest

from tracker.queries.steps import Filter, parse_step, parse_steps, shop_funnel, unknown_names


def test_names_alternatives_and_filters():
    step = parse_step("page_view;props.page=/pricing;path=/p|view_cart")
    assert [(a.name, a.filters) for a in step.alternatives] == [
        ("page_view", (Filter("props.page", "/pricing"), Filter("path", "/p"))),
        ("view_cart", ()),
    ]
    assert parse_step("*").alternatives[0].name == "*"


def test_escapes_let_values_hold_separators():
    step = parse_step(r"click;props.label=a\|b\;c\\d")
    assert step.alternatives[0].filters == (Filter("props.label", r"a|b;c\d"),)


@pytest.mark.parametrize("text,reason", [
    ("", "is empty"),
    ("view item!", "is not an event name"),
    ("page_view;colour=red", "cannot filter on 'colour'"),
    ("page_view;props.page", "needs a value"),
    ("a;props.a=1;props.b=1;props.c=1;props.d=1;props.e=1;props.f=1", "at most 5 filters"),
])
def test_bad_steps_say_why(text, reason):
    with pytest.raises(ValueError, match=reason.replace("!", "")):
        parse_step(text)


def test_a_repeated_definition_needs_the_next_occurrence():
    steps, errors = parse_steps(["purchase", "view_item", "purchase", "purchase"])
    assert errors == []
    assert [(s.same_as, s.occurrence) for s in steps] == [(None, 1), (None, 1), (0, 2), (0, 3)]
    shop = shop_funnel()
    assert [s.label for s in shop] == ["awareness", "interest", "consideration", "intent", "purchase", "repurchase"]
    assert (shop[5].same_as, shop[5].occurrence) == (4, 2)
    assert [sorted(s.event_names()) for s in shop] == [
        [], ["select_item", "view_item"], ["add_to_cart"], ["add_payment_info", "add_shipping_info", "begin_checkout"],
        ["purchase"], ["purchase"],
    ]


def test_errors_are_reported_per_step_and_unknown_names_found():
    steps, errors = parse_steps(["view_item", "bad name!", "x" * 21])
    assert [i for i, _ in errors] == [1]
    assert parse_steps(["a"] * 21)[1] == [(20, "at most 20 steps")]
    steps, _ = parse_steps(["view_item", "signup|purchase", "*"])
    assert unknown_names(steps, known=set()) == [(1, "unknown event name 'signup': not a standard event and never sent by this site")]
    assert unknown_names(steps, known={"signup"}) == []
