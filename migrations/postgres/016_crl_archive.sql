-- Every CRL ever published (projections/stored_crls.py), not only the latest of each kind:
-- what `certledger audit crl --all` checks against the events and `audit export --files`
-- hands to auditors. Kept as pieces (rm_crl_blobs, shared with the latest CRLs), so a
-- re-publication after one revocation adds one run of entries, not a whole CRL.
CREATE TABLE IF NOT EXISTS rm_crl_archive (
    issuer TEXT NOT NULL,
    crl_number BIGINT NOT NULL,
    kind TEXT NOT NULL,                    -- 'full' or 'delta'
    der_length BIGINT NOT NULL,
    PRIMARY KEY (issuer, crl_number)
);

CREATE TABLE IF NOT EXISTS rm_crl_archive_pieces (
    issuer TEXT NOT NULL,
    crl_number BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    digest TEXT NOT NULL,                  -- of an rm_crl_blobs row
    PRIMARY KEY (issuer, crl_number, seq)
);
CREATE INDEX IF NOT EXISTS rm_crl_archive_pieces_digest ON rm_crl_archive_pieces (digest);
