-- 008_key_redelivery: a generated private key is handed out again for a
-- short while after its first download (an answer lost to a crash or a
-- dropped connection would otherwise lose the key for good), then erased.
-- key_delivered_at is the first download; the index serves the sweep that
-- erases the keys whose window has passed.
ALTER TABLE orders ADD COLUMN key_delivered_at TEXT;
CREATE INDEX orders_keys_delivered ON orders (key_delivered_at) WHERE key_pem <> '' AND key_delivered_at IS NOT NULL;
