DROP INDEX orders_keys_held;
