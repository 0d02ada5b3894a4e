-- Webhooks that announce abandoned carts, one site each (`python -m tracker webhook add`). The
-- secret signs every delivery with HMAC-SHA256, which needs the secret itself, so it is stored;
-- it is printed once, by `webhook add`, and by nothing else. Rows are versioned like `sites`;
-- removing writes a newer version with deleted = 1.
CREATE TABLE IF NOT EXISTS webhooks
(
    webhook_id String,
    site       String,
    url        String,
    secret     String,
    idle_s     UInt32,
    created_at DateTime64(3, 'UTC'),
    deleted    UInt8 DEFAULT 0,
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY webhook_id;

-- The webhook outbox, an append-only log (tracker/webhooks/outbox.py). Per webhook and cart: one
-- `notice` (attempt 0, with the JSON body sent unchanged on every attempt), then per attempt n a
-- `claim` by the one sender process that won it, and its outcome `failed` or `delivered`; `gave_up`
-- after the retry period, or `bought` when the cart was bought before a delivery got through. Every insert carries an insert_deduplication_token naming its row
-- (notice, or attempt n's claim or outcome), so of two processes writing the same row only the
-- first is stored: that makes a claim exclusive across workers and nodes. The table has no
-- partition key, so all tokens share one deduplication log.
CREATE TABLE IF NOT EXISTS webhook_outbox
(
    webhook_id      String,
    idempotency_key String,
    attempt         UInt32,
    kind            Enum8('notice' = 0, 'claim' = 1, 'failed' = 2, 'delivered' = 3, 'gave_up' = 4, 'bought' = 5),
    at              DateTime64(3, 'UTC'),
    -- notice: when to send; claim: when its lease ends; failed: when to retry.
    due_at          DateTime64(3, 'UTC'),
    owner           String,
    site            LowCardinality(String),
    visitor_id      UInt64,
    cart_started_at DateTime64(3, 'UTC'),
    payload         String CODEC(ZSTD(1)),
    status          UInt16,
    error           String
)
ENGINE = MergeTree
ORDER BY (webhook_id, idempotency_key, attempt, kind)
SETTINGS non_replicated_deduplication_window = 100000;
