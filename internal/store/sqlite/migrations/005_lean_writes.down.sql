-- 005_lean_writes down: the challenges table and orders index of 003_acme
-- and 001_init, the evidence back in its challenge's row. The old table
-- holds one evidence per challenge: evidence that a later validation of
-- the same challenge superseded (kept, unreferenced, since 005) is not
-- carried back.
CREATE TABLE acme_challenges_003 (
	authz_id     TEXT    NOT NULL REFERENCES acme_authzs (id),
	position     INTEGER NOT NULL CHECK (position >= 0),
	type         TEXT    NOT NULL,
	status       TEXT    NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
	started_at   TEXT,
	validated_at TEXT,
	error        TEXT CHECK (error IS NULL OR json_valid(error)),
	evidence     TEXT CHECK (evidence IS NULL OR json_valid(evidence)),
	PRIMARY KEY (authz_id, type),
	UNIQUE (authz_id, position)
) STRICT;

INSERT INTO acme_challenges_003 (authz_id, position, type, status, started_at, validated_at, error, evidence)
SELECT c.authz_id, c.position, c.type, c.status, c.started_at, c.validated_at, c.error, e.evidence
FROM acme_challenges c LEFT JOIN acme_challenge_evidence e ON e.id = c.evidence_id;

DROP TABLE acme_challenges;
DROP TABLE acme_challenge_evidence;
ALTER TABLE acme_challenges_003 RENAME TO acme_challenges;

DROP INDEX orders_approved_created;
CREATE INDEX orders_status_created ON orders (status, created_at, id);
