-- Answers to POST requests with an Idempotency-Key (projections/idempotency_keys.py), per
-- caller scope and key: in progress (status NULL, owner and started_at the attempt's) or
-- done. Not a read model: written by the API, purged a day after.
CREATE TABLE IF NOT EXISTS rm_idempotency_keys (
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,             -- SHA-256 of method, path and body
    owner TEXT NOT NULL,                   -- the attempt that runs (or ran) the request
    started_at REAL NOT NULL,              -- Unix seconds
    status INTEGER,                        -- the answer's HTTP status; NULL: in progress
    body BLOB,                             -- NULL: run again to answer (a secret inside)
    headers TEXT,                          -- JSON object
    PRIMARY KEY (scope, idempotency_key)
);
CREATE INDEX IF NOT EXISTS rm_idempotency_keys_started ON rm_idempotency_keys (started_at);
