-- 003_acme down: drops everything 003_acme.up.sql created, dependents first.
DROP TABLE revocations;
DROP TABLE acme_order_authzs;
DROP TABLE acme_orders;
DROP TABLE acme_challenges;
DROP TABLE acme_authzs;
DROP TABLE acme_eab_keys;
DROP TABLE acme_accounts;
