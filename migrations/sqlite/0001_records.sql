-- Checked records. The full record is kept as its protobuf encoding in
-- `body`; the other columns are copies for filtering and listing.
CREATE TABLE records (
    record_id        TEXT PRIMARY KEY NOT NULL,
    created_at       TEXT NOT NULL,            -- RFC 3339 UTC, sortable as text
    household_ref    TEXT NOT NULL,
    verdict          TEXT NOT NULL,            -- Verdict enum name, e.g. MEETS_CRITERIA
    purpose          TEXT NOT NULL,            -- Purpose enum name
    member_count     INTEGER NOT NULL,
    digest           TEXT NOT NULL,            -- SHA-256 hex of the record
    idempotency_key  TEXT NOT NULL UNIQUE,
    request_hash     TEXT NOT NULL,            -- SHA-256 of the submitted request
    body             BLOB NOT NULL
) STRICT;

CREATE INDEX records_created_at ON records (created_at);
CREATE INDEX records_verdict ON records (verdict, created_at);

-- One row per member of each record, so "every record about this person"
-- is an index lookup.
CREATE TABLE record_persons (
    record_id  TEXT NOT NULL REFERENCES records (record_id),
    id_number  TEXT NOT NULL,
    PRIMARY KEY (record_id, id_number)
) STRICT;

CREATE INDEX record_persons_id_number ON record_persons (id_number);
