-- 004_acme_indexes: fewer index writes per ACME certificate.
--
-- acme_order_authzs_authz served no query (no statement looks an order up
-- by authorization, and no authorization is ever deleted or renumbered,
-- which is all a foreign key would want it for): each order paid one index
-- insert per authorization for nothing.
DROP INDEX acme_order_authzs_authz;

-- acme_authzs_reuse serves ACMEAuthzFindReusable, which looks for valid
-- authorizations only; as a partial index it no longer holds the pending,
-- invalid and deactivated ones, so creating an authorization writes no
-- entry (one page at a random place of the index, since it is ordered by
-- identifier) and validating one writes one, instead of a delete and an
-- insert.
DROP INDEX acme_authzs_reuse;
CREATE INDEX acme_authzs_reuse ON acme_authzs (account_id, identifier, validated_at) WHERE status = 'valid';
