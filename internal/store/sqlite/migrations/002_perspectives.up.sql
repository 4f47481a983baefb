-- 002_perspectives: the remote perspectives (dcv agents) enrolled with the
-- primary. cert_sha256 pins the agent certificate issued at enrolment.

CREATE TABLE perspectives (
	name        TEXT NOT NULL PRIMARY KEY CHECK (name <> ''),
	url         TEXT NOT NULL,
	rir         TEXT NOT NULL CHECK (rir IN ('ARIN', 'RIPE', 'APNIC', 'LACNIC', 'AFRINIC')),
	cert_sha256 TEXT NOT NULL CHECK (length(cert_sha256) = 64 AND cert_sha256 NOT GLOB '*[^0-9a-f]*'),
	created_at  TEXT
) STRICT;
