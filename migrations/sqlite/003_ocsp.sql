-- OCSP read model (projections/ocsp.py): certificate statuses per (issuer, serial) and
-- pre-signed OCSPResponses for the SHA-1 and the SHA-256 CertID of each.

-- CA certificates, for the CertID issuer hashes
CREATE TABLE IF NOT EXISTS rm_ocsp_issuers (
    name TEXT PRIMARY KEY,
    certificate_der BLOB NOT NULL
);

-- which CA each certificate (or responder) aggregate belongs to, and its serial once issued
CREATE TABLE IF NOT EXISTS rm_ocsp_certificates (
    certificate_id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    serial_hex TEXT
);

CREATE TABLE IF NOT EXISTS rm_ocsp_status (
    issuer TEXT NOT NULL,
    serial_hex TEXT NOT NULL,              -- lower-case hex, no leading zeros
    status TEXT NOT NULL,                  -- 'good' or 'revoked'
    revocation_time TEXT,                  -- ISO 8601, UTC
    reason INTEGER,                        -- RFC 5280 CRLReason (6: certificateHold)
    changed_position BIGINT NOT NULL,      -- log position of the event that set the status
    seq BIGINT NOT NULL,                   -- rm_ocsp_counter value of the last write
    this_update BIGINT NOT NULL DEFAULT 0, -- of the stored responses, Unix seconds
    next_update BIGINT NOT NULL DEFAULT 0, -- 0: not signed yet
    response_sha1 BLOB,
    response_sha256 BLOB,
    PRIMARY KEY (issuer, serial_hex)
);
CREATE INDEX IF NOT EXISTS rm_ocsp_status_seq ON rm_ocsp_status (seq);
CREATE INDEX IF NOT EXISTS rm_ocsp_status_next_update ON rm_ocsp_status (next_update);

-- one row: bumped by every write, so OCSP servers poll "seq > last seen" (not emptied by a
-- rebuild, so the sequence never goes back)
CREATE TABLE IF NOT EXISTS rm_ocsp_counter (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO rm_ocsp_counter (id, seq) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
