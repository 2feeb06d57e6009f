-- Orders read model (projections/orders.py): one row per application (its order), for the
-- portals' lists, search and the officers' work queue; and every event of each order (its
-- timeline: what, who, when). Rebuilt from the log like every read model.
CREATE TABLE IF NOT EXISTS rm_orders (
    certificate_id TEXT PRIMARY KEY,       -- the application's id (the order is keyed by it)
    order_id TEXT,                         -- the Order aggregate's id; NULL: no order (a pair)
    order_number TEXT,                     -- CL-2026-000123
    portal TEXT NOT NULL,
    account_id TEXT,
    kind TEXT NOT NULL,                    -- new, renew, change, reapply
    profile TEXT NOT NULL,
    predecessor_id TEXT,
    order_status TEXT NOT NULL,            -- placed, paid, shipped, delivered, activated
    certificate_status TEXT NOT NULL,      -- applied, approved, rejected, issued, ...
    amount BIGINT NOT NULL,                -- fen (0.01 CNY)
    currency TEXT NOT NULL,
    media TEXT,                            -- usb-key, or NULL: nothing to ship
    approvals INTEGER NOT NULL DEFAULT 0,
    approvals_required INTEGER NOT NULL DEFAULT 1,
    applied_by TEXT NOT NULL,
    subject_name TEXT,                     -- the subject's common name / organisation
    waiting_for TEXT,                      -- officer or applicant; NULL: nothing to do
    waiting_step TEXT,                     -- review, payment, issue, shipping, delivery, ...
    waiting_position BIGINT,               -- since which event it waits (queue order)
    waiting_since TEXT,
    placed_at TEXT NOT NULL,               -- ISO 8601, UTC
    placed_position BIGINT NOT NULL,       -- log position of Placed: the list order
    updated_at TEXT NOT NULL,
    updated_position BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS rm_orders_number ON rm_orders (order_number);
CREATE UNIQUE INDEX IF NOT EXISTS rm_orders_order ON rm_orders (order_id);
CREATE INDEX IF NOT EXISTS rm_orders_portal ON rm_orders (portal, placed_position);
CREATE INDEX IF NOT EXISTS rm_orders_position ON rm_orders (placed_position);
CREATE INDEX IF NOT EXISTS rm_orders_account ON rm_orders (account_id, placed_position);
CREATE INDEX IF NOT EXISTS rm_orders_status ON rm_orders (portal, order_status, placed_position);
CREATE INDEX IF NOT EXISTS rm_orders_cert_status ON rm_orders (portal, certificate_status,
                                                               placed_position);
CREATE INDEX IF NOT EXISTS rm_orders_kind ON rm_orders (portal, kind, placed_position);
CREATE INDEX IF NOT EXISTS rm_orders_profile ON rm_orders (portal, profile, placed_position);
CREATE INDEX IF NOT EXISTS rm_orders_placed_at ON rm_orders (portal, placed_at);
CREATE INDEX IF NOT EXISTS rm_orders_queue ON rm_orders (waiting_for, waiting_position);
CREATE INDEX IF NOT EXISTS rm_orders_queue_step ON rm_orders (waiting_for, waiting_step,
                                                              waiting_position);
CREATE INDEX IF NOT EXISTS rm_orders_portal_queue ON rm_orders (portal, waiting_for,
                                                                waiting_position);
CREATE TABLE IF NOT EXISTS rm_order_events (
    certificate_id TEXT NOT NULL,
    position BIGINT NOT NULL,              -- the event's log position
    event TEXT NOT NULL,                   -- applied, endorsed, approved, paid, ...
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    at TEXT NOT NULL,                      -- ISO 8601, UTC
    detail TEXT NOT NULL,                  -- JSON object: what a notice or timeline shows
    PRIMARY KEY (certificate_id, position)
);
-- the subject names an account's applications carried (an organisation's new name after
-- a change is the subject's, not yet the account's): searched with the accounts' names
CREATE TABLE IF NOT EXISTS rm_order_subjects (
    account_id TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    PRIMARY KEY (account_id, name_folded)
);
