-- 017_perspective_renewal: credentials issued again for an enrolled
-- perspective (dcv perspective renew). next_cert_sha256 pins the new agent
-- certificate beside cert_sha256, so that the agent can switch to it
-- without a moment in which the primary refuses it.
ALTER TABLE perspectives ADD COLUMN next_cert_sha256 TEXT
	CHECK (next_cert_sha256 IS NULL OR (length(next_cert_sha256) = 64 AND next_cert_sha256 NOT GLOB '*[^0-9a-f]*'));
