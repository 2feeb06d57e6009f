-- CRL read model (projections/crl.py). Serials are 40-digit lower-case hex, so their
-- text order (SQLite's BINARY collation) is their numeric order: the order of entries in
-- a CRL. The entry tables are WITHOUT ROWID: rows are stored in key order, so reading a
-- CA's entries in serial order is one sequential scan.

-- every CA, for the publisher's schedule
CREATE TABLE IF NOT EXISTS rm_crl_authorities (
    name TEXT PRIMARY KEY
);

-- which CA each certificate belongs to (Applied) and its serial once issued (Issued)
CREATE TABLE IF NOT EXISTS rm_crl_certificates (
    certificate_id TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    serial TEXT
);

-- current entries: revoked and on hold, each with its pre-encoded DER entry
CREATE TABLE IF NOT EXISTS rm_crl_entries (
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    certificate_id TEXT NOT NULL,
    reason INTEGER NOT NULL,               -- RFC 5280 CRLReason (6: certificateHold)
    revocation_time TEXT NOT NULL,         -- ISO 8601, UTC
    invalidity_date TEXT,
    entry BLOB NOT NULL,                  -- DER revokedCertificates element
    changed_at BIGINT NOT NULL,            -- log position of the event that set it
    PRIMARY KEY (issuer, serial)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rm_crl_entries_changed ON rm_crl_entries (issuer, changed_at);

-- certificates taken off hold: removeFromCRL entries for delta CRLs
CREATE TABLE IF NOT EXISTS rm_crl_removals (
    issuer TEXT NOT NULL,
    serial TEXT NOT NULL,
    certificate_id TEXT NOT NULL,
    entry BLOB NOT NULL,                  -- DER entry with reasonCode removeFromCRL
    removed_at BIGINT NOT NULL,            -- log position of the Resumed event
    PRIMARY KEY (issuer, serial)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rm_crl_removals_removed ON rm_crl_removals (issuer, removed_at);

-- the latest signed CRLs per CA and kind ('full', 'delta'): what GET /crl/... serves.
-- Not part of the projection (a rebuild keeps them): the CRL numbers are events.
CREATE TABLE IF NOT EXISTS rm_crl_publications (
    issuer TEXT NOT NULL,
    kind TEXT NOT NULL,
    crl_number BIGINT NOT NULL,
    base_crl_number BIGINT,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    log_position BIGINT NOT NULL,
    entry_count BIGINT NOT NULL,
    entries_sha256 TEXT NOT NULL,
    der_length BIGINT NOT NULL,            -- of the signed CRL its pieces make
    epoch BIGINT NOT NULL,                 -- the CRL read model's rebuild epoch it came from
    PRIMARY KEY (issuer, kind)
);

-- a signed CRL's bytes are its pieces in order: the head (up to the entries), runs of
-- entries, the tail (extensions, signature). Pieces are stored once by their SHA-256,
-- so publishing again after one revocation writes one run, not the whole CRL; and a
-- publisher that starts reads the last full CRL's runs (and what changed after it)
-- instead of every entry row.
CREATE TABLE IF NOT EXISTS rm_crl_pieces (
    issuer TEXT NOT NULL,
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    digest TEXT NOT NULL,
    entries INTEGER NOT NULL,              -- DER entries in the piece (0: head or tail)
    PRIMARY KEY (issuer, kind, seq)
);
CREATE INDEX IF NOT EXISTS rm_crl_pieces_digest ON rm_crl_pieces (digest);

CREATE TABLE IF NOT EXISTS rm_crl_blobs (
    digest TEXT PRIMARY KEY,               -- SHA-256 of data, hex
    data BLOB NOT NULL
);
