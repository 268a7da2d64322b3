-- Checked records: the PostgreSQL twin of migrations/sqlite/0001_records.sql.
-- The full record is kept as its protobuf encoding in `body`; the other
-- columns are copies for filtering and listing.
--
-- Columns that are compared as ranges or sorted use COLLATE "C", so that
-- they order byte by byte as SQLite's BINARY collation does, whatever the
-- database's default collation.
CREATE TABLE records (
    record_id        TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    created_at       TEXT COLLATE "C" NOT NULL,  -- RFC 3339 UTC, sortable as text
    household_ref    TEXT NOT NULL,
    verdict          TEXT NOT NULL,              -- Verdict enum name, e.g. MEETS_CRITERIA
    purpose          TEXT NOT NULL,              -- Purpose enum name
    member_count     BIGINT NOT NULL,
    digest           TEXT NOT NULL,              -- SHA-256 hex of the record
    idempotency_key  TEXT NOT NULL UNIQUE,
    request_hash     TEXT NOT NULL,              -- SHA-256 of the submitted request
    body             BYTEA NOT NULL
);

CREATE INDEX records_created_at ON records (created_at);
CREATE INDEX records_verdict ON records (verdict, created_at);

-- One row per member of each record, so "every record about this person"
-- is an index lookup.
CREATE TABLE record_persons (
    record_id  TEXT COLLATE "C" NOT NULL REFERENCES records (record_id),
    id_number  TEXT NOT NULL,
    PRIMARY KEY (record_id, id_number)
);

CREATE INDEX record_persons_id_number ON record_persons (id_number);
