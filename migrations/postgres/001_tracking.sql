-- Projection tracking: how far each read model has followed the event log.
-- A batch's rows and the new position commit in one transaction (exactly once).
-- epoch goes up on every rebuild, so caches built from a read model can tell that
-- its content was replaced even when its position comes back to the same value.
CREATE TABLE IF NOT EXISTS rm_tracking (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL DEFAULT 0,
    epoch BIGINT NOT NULL DEFAULT 0
);
