-- 005_lean_writes: fewer pages written per ACME certificate (each page a
-- WAL frame of the commit that changes it).
--
-- acme_challenges was a rowid table with two unique indexes, (authz_id,
-- type) and (authz_id, position): each challenge insert wrote three
-- B-trees, and a finished challenge's evidence (a few KB of JSON) grew its
-- row in place, splitting pages. The table is now keyed by (authz_id,
-- type) alone, WITHOUT ROWID, so a challenge is one entry of one B-tree and
-- the three challenges of an authorization sit side by side. position
-- still orders them; only ACMEOrderCreate writes it, 0, 1, 2... per
-- authorization. The evidence moves to acme_challenge_evidence, a rowid
-- table written once when the challenge finishes (rows appended at its
-- end), which the challenge's row points to by evidence_id.
CREATE TABLE acme_challenge_evidence (
	id       INTEGER NOT NULL PRIMARY KEY,
	evidence TEXT    NOT NULL CHECK (json_valid(evidence))
) STRICT;

CREATE TABLE acme_challenges_005 (
	authz_id     TEXT    NOT NULL REFERENCES acme_authzs (id),
	type         TEXT    NOT NULL,
	position     INTEGER NOT NULL CHECK (position >= 0),
	status       TEXT    NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
	started_at   TEXT,
	validated_at TEXT,
	error        TEXT CHECK (error IS NULL OR json_valid(error)),
	evidence_id  INTEGER REFERENCES acme_challenge_evidence (id),
	PRIMARY KEY (authz_id, type)
) STRICT, WITHOUT ROWID;

-- The evidence of the challenge of rowid r gets the id r.
INSERT INTO acme_challenge_evidence (id, evidence)
SELECT rowid, evidence FROM acme_challenges WHERE evidence IS NOT NULL;

INSERT INTO acme_challenges_005 (authz_id, type, position, status, started_at, validated_at, error, evidence_id)
SELECT authz_id, type, position, status, started_at, validated_at, error, CASE WHEN evidence IS NULL THEN NULL ELSE rowid END
FROM acme_challenges;

DROP TABLE acme_challenges;
ALTER TABLE acme_challenges_005 RENAME TO acme_challenges;

-- orders_status_created served OrderListIDsByStatus, which issuance asks
-- for approved orders only: every status change of every order (pending,
-- approved, issued...) moved its entry. Partial on approved, it holds only
-- the orders waiting for their certificate (OrderListApprovedIDs).
DROP INDEX orders_status_created;
CREATE INDEX orders_approved_created ON orders (created_at, id) WHERE status = 'approved';
