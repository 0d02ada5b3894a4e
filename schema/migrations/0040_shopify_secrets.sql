-- Shopify shops, one per site (`python -m tracker shopify secret SITE`, tracker/integrations/shopify_secrets.py).
-- webhook_secret: the signing secret Shopify shows for the shop's webhooks; checking an
-- X-Shopify-Hmac-Sha256 needs the secret itself, so it is stored (and never printed).
-- customer_key: a random key of our own for hashing Shopify customer ids; kept when the webhook
-- secret changes, so a customer's hashed id stays the same. Versioned rows like `sites`.
CREATE TABLE IF NOT EXISTS shopify_shops
(
    site           String,
    webhook_secret String,
    customer_key   String,
    updated_at     DateTime64(3, 'UTC'),
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY site;
