-- 012_signing_tbs: the to-be-signed bytes of the certificate about to be
-- signed for an approved order, kept before the intermediate signs them.
-- Signing is deterministic, so a restart after a crash between signing and
-- storing signs the same bytes again and stores the very certificate that
-- was signed, instead of a second one with another serial. Cleared when the
-- certificate is stored.
ALTER TABLE orders ADD COLUMN signing_tbs BLOB;
