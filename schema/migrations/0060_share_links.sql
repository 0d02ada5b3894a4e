-- Shared links: read-only views of one site's page (/app/{site}) that an owner gives an agency or
-- a colleague (tracker/owner/share.py). Stored like api_tokens: only the SHA-256 of the link's
-- secret, versioned rows, revoking writes a newer version with revoked = 1.
CREATE TABLE IF NOT EXISTS share_links
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
