-- GA4's e-commerce fields that 0001 left out, so a shop's GA4 data (Measurement Protocol, the
-- dataLayer bridge, the Shopify pixel and order webhook) keeps them as columns, not as text in props:
-- - per purchase: coupon (the order's discount code), shipping and tax (amounts in `currency`, like
--   value; NULL when not sent, as value is, so "no shipping sent" and "free shipping" differ);
-- - per item: item_category2..item_category5 (GA4's category levels), item_brand, item_variant and
--   discount (GA4's unit discount, in `currency`).
-- Rows stored before read as '' / NULL / 0: the item columns share items' array sizes (Nested), so an
-- old row's items each read an empty brand and a 0 discount. Columns mirror tracker/events.py COLUMNS.
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS coupon              String CODEC(ZSTD(1)) AFTER currency,
    ADD COLUMN IF NOT EXISTS shipping            Nullable(Decimal64(4)) AFTER coupon,
    ADD COLUMN IF NOT EXISTS tax                 Nullable(Decimal64(4)) AFTER shipping,
    ADD COLUMN IF NOT EXISTS items.item_category2 Array(String) AFTER items.item_category,
    ADD COLUMN IF NOT EXISTS items.item_category3 Array(String) AFTER items.item_category2,
    ADD COLUMN IF NOT EXISTS items.item_category4 Array(String) AFTER items.item_category3,
    ADD COLUMN IF NOT EXISTS items.item_category5 Array(String) AFTER items.item_category4,
    ADD COLUMN IF NOT EXISTS items.item_brand    Array(String) AFTER items.item_category5,
    ADD COLUMN IF NOT EXISTS items.item_variant  Array(String) AFTER items.item_brand,
    ADD COLUMN IF NOT EXISTS items.discount      Array(Decimal64(4)) AFTER items.quantity;
