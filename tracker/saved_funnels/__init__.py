"""Saved funnels: per site, named, with steps in the query API's `step` language (definition.py),
stored in ClickHouse (store.py). The site's default funnel, `shop`, is one of them."""
