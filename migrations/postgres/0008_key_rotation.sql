-- Key rotation (issue #15 item 2): `hedui keys rotate` re-wraps each
-- sealed row's data key under a new KEK, changing `kek_id` and
-- `wrapped_key` and nothing else (the payload stays as it is).
--
-- Reviews stay append-only, with two exceptions: a plaintext review may be
-- encrypted once (0006), and a sealed review's data key may be re-wrapped,
-- its sealed note and every other column unchanged. Both run as the owner
-- (`hedui migrate`, `hedui keys rotate`): the runtime role has no UPDATE on
-- reviews at all.
DROP TRIGGER record_reviews_append_only_update ON record_reviews;
CREATE TRIGGER record_reviews_append_only_update BEFORE UPDATE ON record_reviews
    FOR EACH ROW WHEN (NOT (
        NEW.review_id = OLD.review_id AND NEW.record_id = OLD.record_id
        AND NEW.created_at = OLD.created_at AND NEW.outcome = OLD.outcome
        AND NEW.reviewer = OLD.reviewer AND NEW.reviewer_role = OLD.reviewer_role
        AND NEW.kek_id IS NOT NULL AND NEW.wrapped_key IS NOT NULL
        AND NEW.sealed_note IS NOT NULL AND NEW.note = ''
        AND (
            OLD.kek_id IS NULL
            OR (OLD.sealed_note IS NOT NULL AND NEW.sealed_note = OLD.sealed_note AND OLD.note = '')
        )
    ))
    EXECUTE FUNCTION record_reviews_append_only();

-- `hedui keys status` counts rows by KEK, and a rotation finds the rows
-- another KEK wraps, by these.
CREATE INDEX records_kek ON records (kek_id);
CREATE INDEX batch_items_kek ON batch_items (kek_id);
CREATE INDEX record_reviews_kek ON record_reviews (kek_id);
