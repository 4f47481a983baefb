-- 010_recheck: dcv checks a pending order again on its own, at recheck_at
-- (NULL: not planned). The partial index serves the scheduler's scan of
-- the orders whose time has come. Orders pending before this migration
-- (other than ACME ones, which their clients drive, and those older than
-- the 3 days dcv checks an order on its own) are due at once, in the
-- store's time format.
ALTER TABLE orders ADD COLUMN recheck_at TEXT;
UPDATE orders SET recheck_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000000Z'
WHERE status = 'pending' AND method <> 'acme'
AND created_at > strftime('%Y-%m-%dT%H:%M:%S', 'now', '-3 days') || '.000000000Z';
CREATE INDEX orders_recheck ON orders (recheck_at) WHERE status = 'pending' AND recheck_at IS NOT NULL;
