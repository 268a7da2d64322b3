-- Batch re-checks of a whole roll (issue #4 §3). A batch is made as a DRAFT,
-- filled with households, then started; only a RUNNING batch's items are
-- ever claimed. Times the worker compares are integer milliseconds since
-- the Unix epoch; times shown to people are RFC 3339 text.
CREATE TABLE batches (
    batch_id         TEXT PRIMARY KEY NOT NULL,
    label            TEXT NOT NULL,
    state            TEXT NOT NULL,            -- DRAFT, RUNNING, DONE, CANCELLED
    purpose          TEXT NOT NULL,            -- Purpose enum name
    window_from      TEXT NOT NULL,            -- YYYY-MM
    window_to        TEXT NOT NULL,            -- YYYY-MM
    asset_date       TEXT NOT NULL,            -- YYYY-MM-DD or empty
    created_by_role  TEXT NOT NULL,            -- the caseworker who made it,
    created_by_name  TEXT NOT NULL,            -- who is the actor of every
    created_by_serial TEXT NOT NULL,           -- household's audit entries
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT
) STRICT;

CREATE INDEX batches_created_at ON batches (created_at);

-- One household of a batch. `request` is the encoded
-- SubmitVerificationRequest, validated when it was added; its idempotency
-- key is `batch:<batch_id>:<seq>`, so a household run twice (after a crash)
-- replays its stored record instead of making a second one.
CREATE TABLE batch_items (
    batch_id         TEXT NOT NULL REFERENCES batches (batch_id),
    seq              INTEGER NOT NULL,         -- 1, 2, … in roster order
    first_row        INTEGER NOT NULL,         -- row number in the roster file
    household_ref    TEXT NOT NULL,
    request          BLOB NOT NULL,
    state            TEXT NOT NULL,            -- PENDING, RUNNING, DONE
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL DEFAULT 0,  -- ms since the epoch
    lease_owner      TEXT,
    lease_until      INTEGER,                  -- ms since the epoch
    last_error       TEXT NOT NULL DEFAULT '',
    record_id        TEXT REFERENCES records (record_id),
    verdict          TEXT,                     -- Verdict enum name once DONE
    flagged          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (batch_id, seq)
) STRICT;

CREATE INDEX batch_items_due ON batch_items (state, next_attempt_at);
CREATE INDEX batch_items_lease ON batch_items (state, lease_until);
-- "Is anything of this batch left?" after every household, and the counts.
CREATE INDEX batch_items_batch_state ON batch_items (batch_id, state);
