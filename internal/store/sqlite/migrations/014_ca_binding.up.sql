-- 014_ca_binding: the database names the CA whose certificates and
-- revocations it holds (the SHA-256 of its intermediate certificate), so
-- that a database restored without its CA, or a CA directory paired with
-- another database (or a new one), is refused at start rather than
-- publishing a CRL that forgets every revocation.
CREATE TABLE dcv_meta (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
