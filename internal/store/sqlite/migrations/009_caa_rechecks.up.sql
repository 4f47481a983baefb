-- 009_caa_rechecks: CAA looked up again before issuance, for a domain
-- validated long before (CA/B Forum BRs §3.2.2.8), is kept as evidence
-- like a check: what was observed, what it was diagnosed as, and whether
-- it allowed issuance. order_id is an API order's or an ACME order's ID
-- (both are unique), so it references neither table.
CREATE TABLE caa_rechecks (
	id         TEXT    PRIMARY KEY,
	order_id   TEXT    NOT NULL,
	domain     TEXT    NOT NULL,
	checked_at TEXT    NOT NULL,
	allowed    INTEGER NOT NULL CHECK (allowed IN (0, 1)),
	evidence   TEXT    NOT NULL CHECK (json_valid(evidence))
) STRICT, WITHOUT ROWID;
CREATE INDEX caa_rechecks_order ON caa_rechecks (order_id, checked_at);
