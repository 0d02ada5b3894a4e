"""`python -m tracker funnel add|list|edit|remove`: saved funnels from the command line, checked by
the same code as the API's (tracker/saved_funnels/edits.py), problems printed with their field paths.

    python -m tracker funnel add my-shop "Pricing to cart" --step 'page_view;path=/pricing' --label Pricing \\
        --step 'add_to_cart|view_cart' --label Cart --window 1d
    python -m tracker funnel edit my-shop shop --window 3d     # the site's default funnel
"""

from __future__ import annotations

import argparse
import sys

ORDERS = ("ordered", "strict", "any")  # tracker/queries/funnels.py; the definition check has the last word
UNITS = ("visitor", "session")


def add_parser(commands) -> None:
    funnel = commands.add_parser("funnel", help="manage a site's saved funnels (the default one is `shop`; docs/queries.md)")
    sub = funnel.add_subparsers(dest="funnel_command", required=True, metavar="FUNNEL_COMMAND")

    def definition(parser: argparse.ArgumentParser, editing: bool) -> None:
        parser.add_argument("--step", action="append", default=[], required=not editing, metavar="STEP",
                            help="a step as the API's `step` takes it, e.g. 'view_item|select_item' (repeat, in order"
                                 + ("; replaces every step" if editing else "") + ")")
        parser.add_argument("--label", action="append", default=[], metavar="LABEL",
                            help="a label for the step of the same position (repeat; default: the step itself)")
        parser.add_argument("--window", help="conversion window, e.g. 30m, 1d (default: TRACKER_FUNNEL_DEFAULT_WINDOW)")
        parser.add_argument("--order", choices=ORDERS, help="ordered (default), strict or any")
        parser.add_argument("--unit", choices=UNITS, help="visitor (default) or session")

    add = sub.add_parser("add", help="save a new funnel for a site; prints its id")
    add.add_argument("site")
    add.add_argument("name", help="the name shown on the page's funnel picker")
    definition(add, editing=False)
    listing = sub.add_parser("list", help="list a site's funnels")
    listing.add_argument("site")
    edit = sub.add_parser("edit", help="change a funnel: only what is given changes")
    edit.add_argument("site")
    edit.add_argument("funnel_id", help="the funnel's id (`shop`: the site's default funnel)")
    edit.add_argument("--name")
    definition(edit, editing=True)
    remove = sub.add_parser("remove", help="remove a funnel (`shop`: back to the built-in shop funnel)")
    remove.add_argument("site")
    remove.add_argument("funnel_id")


def _steps(args) -> list[dict] | None:
    if len(args.label) > len(args.step):
        return None
    return [{"step": step, "label": args.label[i] if i < len(args.label) else ""} for i, step in enumerate(args.step)]


def run(settings, client, args, site_missing) -> int:
    from tracker.errors import ApiError
    from tracker.queries.durations import parse_duration
    from tracker.saved_funnels import edits, store
    from tracker.saved_funnels.definition import definition_of

    if site_missing(client, args.site):
        return 2
    window_s = parse_duration(settings.funnel_default_window)
    if args.funnel_command == "list":
        for funnel in store.list_funnels(client, args.site, window_s):
            shown = funnel.as_dict()
            steps = " -> ".join(s["label"] if s["label"] == s["step"] else f"{s['label']} ({s['step']})" for s in shown["steps"])
            print(f"{funnel.funnel_id:<10} {funnel.name:<28} {shown['window']:<6} {funnel.order:<8} {funnel.unit:<8} {steps}")
        return 0
    if getattr(args, "step", None) is not None and _steps(args) is None:
        print("error: more --label than --step", file=sys.stderr)
        return 2
    try:
        if args.funnel_command == "remove":
            status = edits.remove(client, args.site, args.funnel_id, window_s)
            print(f"funnel {args.funnel_id} of {args.site} " + ("reset to the built-in shop funnel" if status == "reset" else "removed"))
            return 0
        if args.funnel_command == "add":
            body = {"name": args.name, "steps": _steps(args)}
        else:
            body = definition_of(edits.find(client, args.site, args.funnel_id, window_s))
            if args.name is not None:
                body["name"] = args.name
            if args.step:
                body["steps"] = _steps(args)
        body.update({key: getattr(args, key) for key in ("window", "order", "unit") if getattr(args, key) is not None})
        if args.funnel_command == "add":
            funnel = edits.create(client, args.site, body, window_s)
        else:
            funnel = edits.update(client, args.site, args.funnel_id, body, window_s)
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for field in exc.fields:
            print(f"  {field.path or 'definition'}: {field.reason}", file=sys.stderr)
        return 2
    shown = funnel.as_dict(store.never_sent_names(client, args.site, [funnel]))
    print(f"funnel {funnel.funnel_id} saved for {args.site}: {funnel.name} ({len(funnel.steps)} steps, window {shown['window']}, "
          f"{funnel.order}, per {funnel.unit})")
    for i, step in enumerate(shown["steps"]):
        if step["never_sent"]:
            print(f"note: step {i + 1} ({step['step']}) names events this site never sent: {', '.join(step['never_sent'])}",
                  file=sys.stderr)
    return 0
