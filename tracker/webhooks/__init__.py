"""Webhooks for abandoned carts: the registry (registry.py), signatures (signing.py), the durable
outbox in ClickHouse (outbox.py), the search for newly abandoned carts (scan.py) and the
background sender (sender.py). docs/webhooks.md describes what receivers get and which
guarantees hold."""
