-- 015_keys_held: the sweep that erases generated keys no one will
-- download (orders expired or refused, certificates expired unfetched)
-- finds the few orders that still hold a key by their status.
CREATE INDEX orders_keys_held ON orders (status) WHERE key_pem <> '';
