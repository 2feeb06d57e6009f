-- Audit read model (projections/audit_tree.py): the Merkle tree (RFC 9162) over every
-- stored event in log order, kept incrementally; docs/audit.md defines the leaves.

-- one row: how many events the tree holds, up to which position, and its frontier (the
-- roots of its perfect subtrees, largest first, 32 bytes each); content_size: the leaves
-- up to the last event that is not a tree head (what a new head is due for)
CREATE TABLE IF NOT EXISTS rm_audit_tree (
    id INTEGER PRIMARY KEY,
    size BIGINT NOT NULL,
    last_position BIGINT NOT NULL,
    frontier BLOB NOT NULL,
    content_size BIGINT NOT NULL
);

-- the root of every complete run of 1024 leaves (chunk n: leaves 1024n .. 1024n + 1023)
-- and the position of its last event: inclusion proofs rehash at most two chunks
CREATE TABLE IF NOT EXISTS rm_audit_chunks (
    chunk BIGINT PRIMARY KEY,
    last_position BIGINT NOT NULL,
    hash BLOB NOT NULL
);

-- every signed tree head the log has held, with the position of its own event. Not
-- emptied by a rebuild: a head later missing from the log is noticed (start-up check)
CREATE TABLE IF NOT EXISTS rm_audit_heads (
    number BIGINT PRIMARY KEY,
    tree_size BIGINT NOT NULL,
    last_position BIGINT NOT NULL,
    root_hash BLOB NOT NULL,
    signature BLOB NOT NULL,
    signed_at TEXT NOT NULL,               -- ISO 8601
    position BIGINT NOT NULL               -- where the head event itself is in the log
);
