-- Bearer tokens of the query API, one site each. Only the SHA-256 of a token is stored: tokens are
-- 256-bit random strings, so a fast unsalted hash is enough and lets the tracker look them up.
-- Rows are versioned like `sites`; revoking writes a newer version with revoked = 1.
CREATE TABLE IF NOT EXISTS api_tokens
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
