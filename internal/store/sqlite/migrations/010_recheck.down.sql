DROP INDEX orders_recheck;
ALTER TABLE orders DROP COLUMN recheck_at;
