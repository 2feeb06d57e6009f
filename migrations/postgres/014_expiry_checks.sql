-- Expiry-notice job (ca/processes/expiry_notices.py): how far it has looked. Not a read
-- model: the job writes it, moving forward only (a conditional update).
CREATE TABLE IF NOT EXISTS expiry_checks (
    name TEXT PRIMARY KEY,
    checked_up_to BIGINT NOT NULL,        -- Unix seconds: the time of the last run
    issued_position BIGINT NOT NULL       -- the certificate index's issued_position seen
);
