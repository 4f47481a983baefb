-- 016_pending_orders: an account's pending orders (through the API, not
-- ACME's), counted at each new order against the most an account may
-- have (order.Config.MaxPendingOrders); those whose values expired do not
-- count, hence expires_at.
CREATE INDEX orders_account_pending ON orders (account_id, expires_at) WHERE status = 'pending' AND method <> 'acme';
