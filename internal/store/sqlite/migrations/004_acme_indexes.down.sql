-- 004_acme_indexes down: the indexes of 003_acme.
DROP INDEX acme_authzs_reuse;
CREATE INDEX acme_authzs_reuse ON acme_authzs (account_id, identifier, status, validated_at);
CREATE INDEX acme_order_authzs_authz ON acme_order_authzs (authz_id);
