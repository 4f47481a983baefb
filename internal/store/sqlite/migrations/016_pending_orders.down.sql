DROP INDEX orders_account_pending;
