DROP INDEX orders_keys_delivered;
ALTER TABLE orders DROP COLUMN key_delivered_at;
