-- Retention (issue #15 item 3): a record kept past the county's retention
-- period is crypto-shredded. Its wrapped data key and its payload are
-- deleted and the row stays as a tombstone: id, version, digest, dates,
-- verdict, purpose, lineage and the audit entry it is bound to, with
-- `erased_at` set (RFC 3339 UTC). Its `record_persons` rows are deleted.
-- The audit log is never touched: it holds only keyed hashes and digests.
ALTER TABLE records ADD COLUMN erased_at TEXT;

-- A review's note and a finished batch's stored requests are erased the
-- same way: payload and wrapped key gone, `erased_at` set.
ALTER TABLE record_reviews ADD COLUMN erased_at TEXT;
ALTER TABLE batch_items ADD COLUMN erased_at TEXT;

-- Reviews stay append-only, with three exceptions: a plaintext review may
-- be encrypted once (`hedui migrate`), a sealed review's data key may be
-- re-wrapped under a new KEK with its sealed note unchanged (0008, `hedui
-- keys rotate`), and a review may be erased once under retention,
-- changing nothing but its note's form.
DROP TRIGGER record_reviews_append_only_update;
CREATE TRIGGER record_reviews_append_only_update BEFORE UPDATE ON record_reviews
WHEN NOT (
    NEW.review_id = OLD.review_id AND NEW.record_id = OLD.record_id
    AND NEW.created_at = OLD.created_at AND NEW.outcome = OLD.outcome
    AND NEW.reviewer = OLD.reviewer AND NEW.reviewer_role = OLD.reviewer_role
    AND OLD.erased_at IS NULL
    AND ((
        OLD.kek_id IS NULL AND NEW.kek_id IS NOT NULL AND NEW.wrapped_key IS NOT NULL
        AND NEW.sealed_note IS NOT NULL AND NEW.note = '' AND NEW.erased_at IS NULL
    ) OR (
        OLD.kek_id IS NOT NULL AND OLD.sealed_note IS NOT NULL AND OLD.note = ''
        AND NEW.kek_id IS NOT NULL AND NEW.wrapped_key IS NOT NULL
        AND NEW.sealed_note = OLD.sealed_note AND NEW.note = '' AND NEW.erased_at IS NULL
    ) OR (
        NEW.erased_at IS NOT NULL AND NEW.kek_id IS NULL AND NEW.wrapped_key IS NULL
        AND NEW.sealed_note IS NULL AND NEW.note = ''
    ))
)
BEGIN SELECT RAISE(ABORT, 'record reviews are append-only'); END;

-- What retention has still to erase is found by creation date among the
-- rows not yet erased.
CREATE INDEX records_unerased ON records (created_at) WHERE erased_at IS NULL;
