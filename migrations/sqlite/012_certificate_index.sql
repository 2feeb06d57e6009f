-- Certificate index read model (projections/certificate_index.py): one row per
-- certificate or application, for the expiry-notice job (notAfter, indexed), the binding
-- check (SHA-256 of the DER), public revocation announcements and the public query.
-- Times are Unix seconds (not_before, not_after) or ISO 8601 text (the rest).
CREATE TABLE IF NOT EXISTS rm_cert_index (
    certificate_id TEXT PRIMARY KEY,
    portal TEXT NOT NULL,
    account_id TEXT,
    issuer TEXT NOT NULL,
    status TEXT NOT NULL,                 -- applied ... revoked (never "expired": derived)
    serial_hex TEXT,
    not_before BIGINT,
    not_after BIGINT,
    der_sha256 TEXT,
    subject_o TEXT,
    subject_cn TEXT,
    revocation_reason TEXT,               -- RFC 5280 name, e.g. superseded
    revoked_at TEXT,
    revoked_position BIGINT,
    lock_state TEXT NOT NULL DEFAULT 'unlocked',
    key_serial TEXT,
    activated INTEGER NOT NULL DEFAULT 1, -- 0 from an order's Placed until its Activated
    order_number TEXT,                    -- the order's number (matched by the query)
    order_id TEXT,                        -- the Order aggregate's id (its Activated finds the row)
    applied_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    position BIGINT NOT NULL,             -- the log position of the row's last change
    issued_position BIGINT
);
CREATE INDEX IF NOT EXISTS rm_cert_index_not_after ON rm_cert_index (not_after);
CREATE INDEX IF NOT EXISTS rm_cert_index_issued ON rm_cert_index (issued_position);
CREATE INDEX IF NOT EXISTS rm_cert_index_der ON rm_cert_index (der_sha256);
CREATE INDEX IF NOT EXISTS rm_cert_index_revoked ON rm_cert_index (issuer, revoked_position);
CREATE INDEX IF NOT EXISTS rm_cert_index_account ON rm_cert_index (account_id);
CREATE INDEX IF NOT EXISTS rm_cert_index_order ON rm_cert_index (order_number);
CREATE INDEX IF NOT EXISTS rm_cert_index_order_id ON rm_cert_index (order_id);

-- the accounts' fields the public query matches (the ID number only as its HMAC)
CREATE TABLE IF NOT EXISTS rm_cert_accounts (
    account_id TEXT PRIMARY KEY,
    portal TEXT NOT NULL,
    username TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    handler_phone TEXT,
    handler_id_hmac TEXT
);
CREATE INDEX IF NOT EXISTS rm_cert_accounts_username ON rm_cert_accounts (username);
CREATE INDEX IF NOT EXISTS rm_cert_accounts_name ON rm_cert_accounts (name_folded);
CREATE INDEX IF NOT EXISTS rm_cert_accounts_phone ON rm_cert_accounts (handler_phone);
CREATE INDEX IF NOT EXISTS rm_cert_accounts_id ON rm_cert_accounts (handler_id_hmac);
