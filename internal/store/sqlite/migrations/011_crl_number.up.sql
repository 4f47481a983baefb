-- 011_crl_number: the last CRL number signed (RFC 5280 §5.2.3: numbers
-- increase monotonically), kept so that a restart, even after the wall
-- clock stepped back, never signs a lower one. One row.
CREATE TABLE crl_number (
	id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	number INTEGER NOT NULL CHECK (number >= 0)
) STRICT;
