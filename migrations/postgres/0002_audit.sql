-- The tamper-evident audit log: the PostgreSQL twin of
-- migrations/sqlite/0002_audit.sql. Every entry is stored as the exact
-- canonical JSON text that was hashed into the Merkle tree (`entry`), with
-- its leaf hash, plus copies of a few fields to filter on. Rows are never
-- changed: the triggers below refuse UPDATE, DELETE and TRUNCATE, and
-- anything that gets round them (the tables' owner or a superuser disabling
-- the triggers, editing the data files) is caught by `hedui audit verify`
-- against the signed checkpoints.
CREATE TABLE audit_entries (
    seq          BIGINT PRIMARY KEY NOT NULL,   -- leaf index, 0-based, no gaps
    time         TEXT COLLATE "C" NOT NULL,     -- RFC 3339 UTC
    actor        TEXT NOT NULL,
    role         TEXT NOT NULL,
    action       TEXT NOT NULL,
    departments  TEXT COLLATE "C" NOT NULL,     -- comma-separated slugs
    status       TEXT NOT NULL,
    entry        TEXT NOT NULL,                 -- canonical JSON, hashed as the leaf
    leaf         BYTEA NOT NULL                 -- SHA-256(0x00 || entry)
);

CREATE INDEX audit_entries_time ON audit_entries (time);
CREATE INDEX audit_entries_actor ON audit_entries (actor, time);

-- Keyed hashes of the persons each entry concerns, for "who looked at me".
CREATE TABLE audit_persons (
    key_hash  TEXT NOT NULL,
    seq       BIGINT NOT NULL REFERENCES audit_entries (seq),
    PRIMARY KEY (key_hash, seq)
);

-- Signed checkpoints (tree heads), as the JSON of a SignedCheckpoint.
CREATE TABLE audit_checkpoints (
    tree_size   BIGINT PRIMARY KEY NOT NULL,
    time        TEXT NOT NULL,
    checkpoint  TEXT NOT NULL
);

-- Raises "<what> are append-only"; `what` is the trigger's argument.
CREATE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% are append-only', TG_ARGV[0]
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'the audit log is never changed; see hedui audit verify';
END;
$$;

-- Row triggers, as SQLite's, refuse every changed or removed row; the
-- statement triggers refuse TRUNCATE, which fires no row triggers.
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_append_only('audit entries');
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only('audit entries');
CREATE TRIGGER audit_persons_append_only BEFORE UPDATE OR DELETE ON audit_persons
    FOR EACH ROW EXECUTE FUNCTION audit_append_only('audit entries');
CREATE TRIGGER audit_persons_no_truncate BEFORE TRUNCATE ON audit_persons
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only('audit entries');
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_append_only('audit checkpoints');
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only('audit checkpoints');
