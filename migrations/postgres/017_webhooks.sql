-- Webhooks (projections/messages.py fills them; ca/processes/webhook_delivery.py sends):
-- each portal's registered URL, and the outbox of messages to deliver to it.
CREATE TABLE IF NOT EXISTS rm_webhooks (
    portal TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    registration_id TEXT NOT NULL,        -- the signing secret is derived from it
    registered_at TEXT NOT NULL
);

-- kept when the messages model is rebuilt: delivery state is the sender's
CREATE TABLE IF NOT EXISTS webhook_outbox (
    message_id TEXT NOT NULL,
    portal TEXT NOT NULL,
    url TEXT NOT NULL,
    registration_id TEXT NOT NULL,
    payload TEXT NOT NULL,                -- the JSON body, exactly as signed and sent
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,      -- Unix seconds
    delivered_at TEXT,
    last_error TEXT,
    position BIGINT NOT NULL,
    PRIMARY KEY (message_id, portal)
);
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (delivered_at, next_attempt_at);
