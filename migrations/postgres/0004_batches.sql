-- Batch re-checks of a whole roll: the PostgreSQL twin of
-- migrations/sqlite/0004_batches.sql. Several hubs may share this database;
-- items are claimed with FOR UPDATE SKIP LOCKED, so no item is handed to
-- two hubs at once.
CREATE TABLE batches (
    batch_id          TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    label             TEXT NOT NULL,
    state             TEXT NOT NULL,            -- DRAFT, RUNNING, DONE, CANCELLED
    purpose           TEXT NOT NULL,            -- Purpose enum name
    window_from       TEXT NOT NULL,            -- YYYY-MM
    window_to         TEXT NOT NULL,            -- YYYY-MM
    asset_date        TEXT NOT NULL,            -- YYYY-MM-DD or empty
    created_by_role   TEXT NOT NULL,
    created_by_name   TEXT NOT NULL,
    created_by_serial TEXT NOT NULL,
    created_at        TEXT COLLATE "C" NOT NULL,
    started_at        TEXT,
    finished_at       TEXT
);

CREATE INDEX batches_created_at ON batches (created_at);

CREATE TABLE batch_items (
    batch_id         TEXT COLLATE "C" NOT NULL REFERENCES batches (batch_id),
    seq              BIGINT NOT NULL,
    first_row        BIGINT NOT NULL,
    household_ref    TEXT NOT NULL,
    request          BYTEA NOT NULL,
    state            TEXT NOT NULL,             -- PENDING, RUNNING, DONE
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL DEFAULT 0, -- ms since the epoch
    lease_owner      TEXT,
    lease_until      BIGINT,                    -- ms since the epoch
    last_error       TEXT NOT NULL DEFAULT '',
    record_id        TEXT COLLATE "C" REFERENCES records (record_id),
    verdict          TEXT,
    flagged          BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (batch_id, seq)
);

CREATE INDEX batch_items_due ON batch_items (state, next_attempt_at);
CREATE INDEX batch_items_lease ON batch_items (state, lease_until);
-- "Is anything of this batch left?" after every household, and the counts.
CREATE INDEX batch_items_batch_state ON batch_items (batch_id, state);
