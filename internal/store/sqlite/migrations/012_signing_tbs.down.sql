ALTER TABLE orders DROP COLUMN signing_tbs;
