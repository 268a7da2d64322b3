-- Record versions (re-checks, 复核) and reviews.
--
-- A re-check makes a new record that names the one it replaces. Every
-- version of a lineage carries the id of the lineage's first record
-- (`root_record_id`), so the whole history is one index lookup. A record has
-- at most one successor: the unique index refuses a second re-check of the
-- same version, so a lineage never forks. Records made before this
-- migration are version 1 of their own lineage.
ALTER TABLE records ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE records ADD COLUMN previous_record_id TEXT REFERENCES records (record_id);
ALTER TABLE records ADD COLUMN root_record_id TEXT NOT NULL DEFAULT '';
UPDATE records SET root_record_id = record_id;

CREATE UNIQUE INDEX records_previous_record_id ON records (previous_record_id);
CREATE INDEX records_root_record_id ON records (root_record_id, version);

-- Reviews of a record: a home visit's result or a household's objection.
-- Rows are never changed or removed: the triggers refuse UPDATE and DELETE.
CREATE TABLE record_reviews (
    review_id      TEXT PRIMARY KEY NOT NULL,   -- UUIDv7, so ids sort by time
    record_id      TEXT NOT NULL REFERENCES records (record_id),
    created_at     TEXT NOT NULL,               -- RFC 3339 UTC
    outcome        TEXT NOT NULL,               -- ReviewOutcome enum name
    note           TEXT NOT NULL,
    reviewer       TEXT NOT NULL,               -- <role>:<name> from the certificate
    reviewer_role  TEXT NOT NULL
) STRICT;

CREATE INDEX record_reviews_record ON record_reviews (record_id, created_at);

CREATE TRIGGER record_reviews_append_only_update BEFORE UPDATE ON record_reviews
BEGIN SELECT RAISE(ABORT, 'record reviews are append-only'); END;
CREATE TRIGGER record_reviews_append_only_delete BEFORE DELETE ON record_reviews
BEGIN SELECT RAISE(ABORT, 'record reviews are append-only'); END;
