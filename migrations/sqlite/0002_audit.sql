-- The tamper-evident audit log. Every entry is stored as the exact canonical
-- JSON bytes that were hashed into the Merkle tree (`entry`), with its leaf
-- hash, plus copies of a few fields to filter on. Rows are never changed:
-- the triggers below refuse UPDATE and DELETE, and anything that gets round
-- them (editing the file directly) is caught by `hedui audit verify`
-- against the signed checkpoints.
CREATE TABLE audit_entries (
    seq          INTEGER PRIMARY KEY NOT NULL,  -- leaf index, 0-based, no gaps
    time         TEXT NOT NULL,                 -- RFC 3339 UTC
    actor        TEXT NOT NULL,
    role         TEXT NOT NULL,
    action       TEXT NOT NULL,
    departments  TEXT NOT NULL,                 -- comma-separated slugs
    status       TEXT NOT NULL,
    entry        TEXT NOT NULL,                 -- canonical JSON, hashed as the leaf
    leaf         BLOB NOT NULL                  -- SHA-256(0x00 || entry)
) STRICT;

CREATE INDEX audit_entries_time ON audit_entries (time);
CREATE INDEX audit_entries_actor ON audit_entries (actor, time);

-- Keyed hashes of the persons each entry concerns, for "who looked at me".
CREATE TABLE audit_persons (
    key_hash  TEXT NOT NULL,
    seq       INTEGER NOT NULL REFERENCES audit_entries (seq),
    PRIMARY KEY (key_hash, seq)
) STRICT;

-- Signed checkpoints (tree heads), as the JSON of a SignedCheckpoint.
CREATE TABLE audit_checkpoints (
    tree_size   INTEGER PRIMARY KEY NOT NULL,
    time        TEXT NOT NULL,
    checkpoint  TEXT NOT NULL
) STRICT;

CREATE TRIGGER audit_entries_append_only_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_entries_append_only_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_persons_append_only_update BEFORE UPDATE ON audit_persons
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_persons_append_only_delete BEFORE DELETE ON audit_persons
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_append_only_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
