DROP INDEX blocked_keys_unswept;
DROP TABLE blocked_keys;
