-- 001_init: dcv's first schema.
--
-- Times are TEXT in UTC RFC 3339 with exactly nine fractional digits
-- ("2006-01-02T15:04:05.000000000Z"), so that they round-trip to the
-- nanosecond and compare correctly as strings; NULL stands for the zero
-- time.Time. JSON columns hold the bytes given, checked with json_valid.

CREATE TABLE accounts (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	admin      INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
	created_at TEXT
) STRICT;

-- accounts_admin serves AccountAdminExists.
CREATE INDEX accounts_admin ON accounts (id) WHERE admin = 1;

CREATE TABLE api_keys (
	key_hash   BLOB NOT NULL PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts (id),
	created_at TEXT
) STRICT;

CREATE INDEX api_keys_account ON api_keys (account_id);

CREATE TABLE orders (
	id            TEXT    NOT NULL PRIMARY KEY,
	account_id    TEXT    NOT NULL REFERENCES accounts (id),
	method        TEXT    NOT NULL,
	status        TEXT    NOT NULL,
	csr_pem       TEXT    NOT NULL DEFAULT '',
	key_pem       TEXT    NOT NULL DEFAULT '',
	key_delivered INTEGER NOT NULL DEFAULT 0 CHECK (key_delivered IN (0, 1)),
	created_at    TEXT,
	expires_at    TEXT,
	last_check_at TEXT,
	next_check_at TEXT,
	error         TEXT    NOT NULL DEFAULT ''
) STRICT;

-- orders_account_created serves OrderListByAccount (newest first).
CREATE INDEX orders_account_created ON orders (account_id, created_at, id);
-- orders_status_created serves OrderListIDsByStatus (oldest first).
CREATE INDEX orders_status_created ON orders (status, created_at, id);

CREATE TABLE authorizations (
	order_id      TEXT    NOT NULL REFERENCES orders (id),
	position      INTEGER NOT NULL CHECK (position >= 0),
	domain        TEXT    NOT NULL,
	method        TEXT    NOT NULL,
	status        TEXT    NOT NULL,
	value         TEXT    NOT NULL,
	expires_at    TEXT,
	last_check_at TEXT,
	findings      TEXT CHECK (findings IS NULL OR json_valid(findings)),
	PRIMARY KEY (order_id, position),
	UNIQUE (order_id, domain)
) STRICT;

CREATE TABLE checks (
	id         TEXT NOT NULL PRIMARY KEY,
	order_id   TEXT NOT NULL REFERENCES orders (id),
	checked_at TEXT,
	result     TEXT NOT NULL CHECK (json_valid(result))
) STRICT;

-- checks_order_checked serves CheckListByOrder (newest first; the implicit
-- rowid breaks ties in insertion order).
CREATE INDEX checks_order_checked ON checks (order_id, checked_at);

CREATE TABLE certificates (
	serial     TEXT NOT NULL PRIMARY KEY
		CHECK (serial <> '' AND serial NOT GLOB '*[^0-9a-f]*'),
	order_id   TEXT NOT NULL UNIQUE REFERENCES orders (id),
	chain_pem  TEXT NOT NULL,
	not_before TEXT,
	not_after  TEXT,
	created_at TEXT
) STRICT;
