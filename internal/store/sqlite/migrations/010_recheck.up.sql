-- 010_recheck: dcv checks a pending order again on its own, at recheck_at
-- (NULL: not planned). The partial index serves the scheduler's scan of
-- the orders whose time has come.
ALTER TABLE orders ADD COLUMN recheck_at TEXT;
CREATE INDEX orders_recheck ON orders (recheck_at) WHERE status = 'pending' AND recheck_at IS NOT NULL;
