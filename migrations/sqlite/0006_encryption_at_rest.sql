-- Personal data at rest is encrypted (issue #15). A sealed row keeps its
-- payload encrypted under a fresh data key (AES-256-GCM), the data key
-- wrapped by a key-encryption key the database never sees (`wrapped_key`),
-- and that KEK's id (`kek_id`). Rows written before this migration have
-- both columns empty and are still plaintext until `hedui migrate`
-- encrypts them; a row with one of the two columns set is refused at read.
--
-- records.body: the record's protobuf encoding, encrypted when kek_id is set.
ALTER TABLE records ADD COLUMN kek_id TEXT;
ALTER TABLE records ADD COLUMN wrapped_key BLOB;
-- record_persons.id_number holds the keyed hash (HMAC-SHA256 under the data
-- key file's index key, lower-case hex) of a sealed record's members.

-- batch_items.request: the encoded request, encrypted when kek_id is set.
ALTER TABLE batch_items ADD COLUMN kek_id TEXT;
ALTER TABLE batch_items ADD COLUMN wrapped_key BLOB;

-- record_reviews: a sealed review keeps its note in `sealed_note` and an
-- empty `note`.
ALTER TABLE record_reviews ADD COLUMN kek_id TEXT;
ALTER TABLE record_reviews ADD COLUMN wrapped_key BLOB;
ALTER TABLE record_reviews ADD COLUMN sealed_note BLOB;

-- Reviews stay append-only, with one exception: a review written in
-- plaintext before this migration may be encrypted once, changing nothing
-- but its note's form (`hedui migrate`, which runs as the owner).
DROP TRIGGER record_reviews_append_only_update;
CREATE TRIGGER record_reviews_append_only_update BEFORE UPDATE ON record_reviews
WHEN NOT (
    OLD.kek_id IS NULL AND NEW.kek_id IS NOT NULL AND NEW.wrapped_key IS NOT NULL
    AND NEW.sealed_note IS NOT NULL AND NEW.note = ''
    AND NEW.review_id = OLD.review_id AND NEW.record_id = OLD.record_id
    AND NEW.created_at = OLD.created_at AND NEW.outcome = OLD.outcome
    AND NEW.reviewer = OLD.reviewer AND NEW.reviewer_role = OLD.reviewer_role
)
BEGIN SELECT RAISE(ABORT, 'record reviews are append-only'); END;

-- What `hedui migrate` still has to encrypt is found by these.
CREATE INDEX records_plaintext ON records (record_id) WHERE kek_id IS NULL;
CREATE INDEX batch_items_plaintext ON batch_items (batch_id, seq) WHERE kek_id IS NULL;
