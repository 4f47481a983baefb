ALTER TABLE perspectives DROP COLUMN next_cert_sha256;
