-- Accounts read model (projections/accounts.py): one row per account, for lists and search
-- within a portal. The handler's identity card number only as its HMAC (to match it).
CREATE TABLE IF NOT EXISTS rm_accounts (
    account_id TEXT PRIMARY KEY,
    portal TEXT NOT NULL,
    kind TEXT NOT NULL,                    -- enterprise, personal, competent-department
    username TEXT NOT NULL,                -- upper-case
    name TEXT NOT NULL,                    -- the person's or the organisation's name
    name_folded TEXT NOT NULL,             -- lower-cased name, for search
    licence_number TEXT,                   -- unified social credit code (organisations)
    phone TEXT,
    email TEXT,
    handler_name TEXT,
    handler_id_hmac TEXT,                  -- hex HMAC of the handler's ID number
    person_verified INTEGER NOT NULL DEFAULT 0,
    enterprise_verified INTEGER NOT NULL DEFAULT 0,
    registered_at TEXT NOT NULL,           -- ISO 8601, UTC
    registered_position BIGINT NOT NULL,   -- log position of Registered: the list order
    updated_position BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS rm_accounts_order ON rm_accounts (portal, registered_position);
CREATE INDEX IF NOT EXISTS rm_accounts_position ON rm_accounts (registered_position);
CREATE INDEX IF NOT EXISTS rm_accounts_username ON rm_accounts (username);
CREATE INDEX IF NOT EXISTS rm_accounts_licence ON rm_accounts (licence_number);
CREATE INDEX IF NOT EXISTS rm_accounts_handler ON rm_accounts (handler_id_hmac);
