-- 003_acme: the ACME (RFC 8555) server's records. An ACME account is also
-- an accounts row (the tenant owning its orders); an ACME order is also an
-- orders row with one authorizations row per identifier, which issuance
-- reads. Times and JSON follow 001_init's conventions.

CREATE TABLE acme_accounts (
	id             TEXT    NOT NULL PRIMARY KEY REFERENCES accounts (id),
	key_thumbprint TEXT    NOT NULL UNIQUE CHECK (key_thumbprint <> ''),
	key_jwk        TEXT    NOT NULL CHECK (json_valid(key_jwk)),
	status         TEXT    NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
	contact        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(contact)),
	terms_agreed   INTEGER NOT NULL DEFAULT 0 CHECK (terms_agreed IN (0, 1)),
	eab_kid        TEXT    NOT NULL DEFAULT '',
	created_at     TEXT
) STRICT;

CREATE TABLE acme_eab_keys (
	kid        TEXT NOT NULL PRIMARY KEY CHECK (kid <> ''),
	hmac_key   BLOB NOT NULL CHECK (length(hmac_key) >= 16),
	created_by TEXT NOT NULL,
	account_id TEXT UNIQUE REFERENCES acme_accounts (id),
	created_at TEXT,
	bound_at   TEXT
) STRICT;

CREATE TABLE acme_authzs (
	id           TEXT NOT NULL PRIMARY KEY,
	account_id   TEXT NOT NULL REFERENCES acme_accounts (id),
	identifier   TEXT NOT NULL,
	status       TEXT NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked')),
	token        TEXT NOT NULL CHECK (token <> ''),
	expires_at   TEXT,
	validated_at TEXT,
	created_at   TEXT
) STRICT;

-- acme_authzs_reuse serves ACMEAuthzFindReusable.
CREATE INDEX acme_authzs_reuse ON acme_authzs (account_id, identifier, status, validated_at);

CREATE TABLE acme_challenges (
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

CREATE TABLE acme_orders (
	order_id        TEXT NOT NULL PRIMARY KEY REFERENCES orders (id),
	profile         TEXT NOT NULL DEFAULT '',
	replaces        TEXT NOT NULL DEFAULT '',
	replaces_serial TEXT NOT NULL DEFAULT ''
) STRICT;

-- acme_orders_replaces serves the RFC 9773 "already replaced" check.
CREATE INDEX acme_orders_replaces ON acme_orders (replaces_serial) WHERE replaces_serial <> '';

CREATE TABLE acme_order_authzs (
	order_id TEXT    NOT NULL REFERENCES acme_orders (order_id),
	position INTEGER NOT NULL CHECK (position >= 0),
	authz_id TEXT    NOT NULL REFERENCES acme_authzs (id),
	PRIMARY KEY (order_id, position)
) STRICT;

CREATE INDEX acme_order_authzs_authz ON acme_order_authzs (authz_id);

CREATE TABLE revocations (
	serial     TEXT    NOT NULL PRIMARY KEY REFERENCES certificates (serial),
	reason     INTEGER NOT NULL CHECK (reason >= 0 AND reason <= 10 AND reason <> 7),
	revoked_at TEXT
) STRICT;
