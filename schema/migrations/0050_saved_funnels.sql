-- Funnels a shop owner saved, per site (tracker/saved_funnels/): a name, the steps in the query
-- API's `step` language with a label each, the window, the order mode and the unit. Rows are
-- versioned like `webhooks`: an edit writes a newer version of the row, removing writes one with
-- deleted = 1; readers take the newest with FINAL. Funnel `shop` is the site's default funnel: without
-- a row it is the built-in shop funnel, and an edit of it writes the row that overrides it.
CREATE TABLE IF NOT EXISTS saved_funnels
(
    site        String,
    funnel_id   String,
    name        String,
    steps       Array(String),
    step_labels Array(String),
    window_s    UInt32,
    step_order  LowCardinality(String),
    unit        LowCardinality(String),
    created_at  DateTime64(3, 'UTC'),
    updated_at  DateTime64(3, 'UTC'),
    deleted     UInt8 DEFAULT 0,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (site, funnel_id);
