-- Undoes 017: an agent already started with renewed credentials is then
-- refused, its certificate no longer pinned; renew after upgrading again.
ALTER TABLE perspectives DROP COLUMN next_cert_sha256;
