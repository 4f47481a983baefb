-- 006_blocked_keys: public keys whose private key was shown compromised, by
-- a keyCompromise revocation signed with that key. dcv certifies such a key
-- no more (CA/B Forum BR §6.1.1.3), refuses it as an ACME account key, and
-- revokes the other unexpired certificates of the key (BR §4.9.1.1).
-- swept_at records that this sweep finished: one cut short by a restart is
-- run again at start.
CREATE TABLE blocked_keys (
	spki_sha256 BLOB NOT NULL PRIMARY KEY CHECK (length(spki_sha256) = 32),
	serial      TEXT NOT NULL,
	blocked_at  TEXT NOT NULL,
	swept_at    TEXT
) STRICT, WITHOUT ROWID;

-- The sweeps left to run, read at start.
CREATE INDEX blocked_keys_unswept ON blocked_keys (blocked_at) WHERE swept_at IS NULL;
