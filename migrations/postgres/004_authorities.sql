-- CAs read model (projections/authorities.py): every CA as established.
CREATE TABLE IF NOT EXISTS rm_authorities (
    name TEXT PRIMARY KEY,
    parent TEXT,                           -- NULL for a root
    key_algorithm TEXT NOT NULL,
    certificate_der BYTEA NOT NULL,
    established_at BIGINT NOT NULL         -- log position of the Established event
);
