-- 001_init down: drops everything 001_init.up.sql created, dependents first.
DROP TABLE certificates;
DROP TABLE checks;
DROP TABLE authorizations;
DROP TABLE orders;
DROP TABLE api_keys;
DROP TABLE accounts;
