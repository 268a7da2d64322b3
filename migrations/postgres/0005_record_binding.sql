-- The PostgreSQL twin of migrations/sqlite/0005_record_binding.sql.
--
-- Each record is bound to the audit entry that stored it: `entry_seq` is
-- the seq of the entry that carries the record's digest, written in the same
-- transaction as the record. Every read checks the record against that
-- entry (and the hub's seal in the record body), so a record re-sealed with
-- a recomputed digest is refused. Records stored before this migration are
-- bound by the hub when it next starts, from the entries it has verified.
ALTER TABLE records ADD COLUMN entry_seq BIGINT;

-- An idempotency key is claimed durably before any department is asked, so
-- that a retry sent to another hub (or twice to one) waits for the first
-- call's record instead of asking every department again. A claim lapses
-- at `expires_at` (ms since the epoch) unless its call renews it; a hub
-- that restarts releases the claims of its own previous run (`owner` starts
-- with its instance name).
CREATE TABLE idempotency_claims (
    idempotency_key  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    owner            TEXT COLLATE "C" NOT NULL,  -- <hub instance>/<call id>
    expires_at       BIGINT NOT NULL
);
