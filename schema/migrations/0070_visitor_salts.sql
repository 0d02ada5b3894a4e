-- The daily salts of the cookieless visitor id, shared by every ingest node and worker
-- (tracker/ingest/shared_salts.py), so one visitor keeps one id whichever node a request reaches.
-- One row per UTC day: every node inserts a candidate with the insert_deduplication_token
-- `visitor-salt:<day>`, and of concurrent inserts with one token only the first is stored; readers
-- also take argMin(salt, (created, salt)), so even two stored candidates give every node the same
-- winner. One partition per day: a past day's salt goes with ALTER TABLE ... DROP PARTITION,
-- its part removed from disk, not merely masked. The salt is 64 hex digits (32 random bytes).
CREATE TABLE IF NOT EXISTS visitor_salts
(
    day     Date,
    salt    String,
    created DateTime64(6, 'UTC')
)
ENGINE = MergeTree
PARTITION BY day
ORDER BY day
SETTINGS non_replicated_deduplication_window = 1000;
