-- Sites that may send events. Rows are versioned; the newest version of a site wins (FINAL).
CREATE TABLE IF NOT EXISTS sites
(
    site            String,
    name            String,
    allowed_origins Array(String),
    timezone        String DEFAULT 'UTC',
    created_at      DateTime DEFAULT now(),
    version         UInt64,
    deleted         UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version)
ORDER BY site;
