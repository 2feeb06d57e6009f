-- Messages read model (projections/messages.py): what each account is told (system
-- notices, review notices, expiry reminders), read or not; a page by log position.
CREATE TABLE IF NOT EXISTS rm_messages (
    message_id TEXT PRIMARY KEY,          -- stable: derived from the event that made it
    account_id TEXT,
    portal TEXT NOT NULL,
    kind TEXT NOT NULL,                   -- system, review, expiry
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    certificate_id TEXT,
    created_at TEXT NOT NULL,
    position BIGINT NOT NULL,
    is_read INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS rm_messages_account ON rm_messages (account_id, position);

-- what the model needs to address a certificate's messages
CREATE TABLE IF NOT EXISTS rm_message_certs (
    certificate_id TEXT PRIMARY KEY,
    account_id TEXT,
    portal TEXT NOT NULL,
    label TEXT NOT NULL
);

-- the accounts of each portal: a portal-wide system notice is a message to each
CREATE TABLE IF NOT EXISTS rm_message_accounts (
    account_id TEXT PRIMARY KEY,
    portal TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_message_accounts_portal ON rm_message_accounts (portal);
