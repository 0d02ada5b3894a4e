-- Ingest keys: secrets a shop's backend sends as `Authorization: Bearer` on POST /api/event, one
-- site each (tracker/ingest/keys.py). Stored like api_tokens: only the SHA-256 of a key, versioned
-- rows, revoking writes a newer version with revoked = 1.
CREATE TABLE IF NOT EXISTS ingest_keys
(
    token_id   String,
    site       String,
    sha256     String,
    note       String DEFAULT '',
    created_at DateTime DEFAULT now(),
    revoked    UInt8 DEFAULT 0,
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY token_id;
