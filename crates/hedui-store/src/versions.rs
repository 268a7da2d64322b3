//! Record versions (re-checks) and reviews.
//!
//! A re-check stores a new record that names the version it replaces; all
//! versions of one lineage share the id of its first record, so the history
//! is one lookup. A version has at most one successor, enforced by a unique
//! index, so two re-checks racing on the same version cannot fork the
//! lineage: the second is told which version is now the latest. Reviews are
//! rows beside the record, append-only by trigger, and never touch it.

use hedui_proto::v1::{RecordSummary, Review, ReviewOutcome, VerificationRecord};

use crate::{PutOutcome, Result, Store, StoreError};

/// The outcome of storing a new version under an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum PutVersionOutcome {
    /// The version and its person index were stored.
    Inserted,
    /// The key was already used; this is the record stored under it and the
    /// hash of the request that made it. Nothing was written.
    Existing {
        /// The earlier record.
        record: Box<VerificationRecord>,
        /// The earlier request's hash.
        request_hash: String,
    },
    /// The previous version already has a successor; nothing was written.
    Superseded {
        /// The latest version of the lineage.
        latest_record_id: String,
    },
}

impl From<PutOutcome> for PutVersionOutcome {
    fn from(o: PutOutcome) -> Self {
        match o {
            PutOutcome::Inserted => PutVersionOutcome::Inserted,
            PutOutcome::Existing { record, request_hash } => PutVersionOutcome::Existing { record, request_hash },
        }
    }
}

/// A review as both backends store it.
pub(crate) struct ReviewRow<'a> {
    pub review_id: &'a str,
    pub record_id: &'a str,
    pub created_at: &'a str,
    pub outcome: &'static str,
    pub note: &'a str,
    pub reviewer: &'a str,
    pub reviewer_role: &'a str,
    /// The note, sealed (then `note` is empty).
    pub sealed: Option<crate::envelope::Sealed>,
}

impl<'a> ReviewRow<'a> {
    fn new(r: &'a Review) -> Self {
        ReviewRow {
            review_id: &r.review_id,
            record_id: &r.record_id,
            created_at: &r.created_at,
            outcome: ReviewOutcome::try_from(r.outcome).unwrap_or_default().as_str_name(),
            note: &r.note,
            reviewer: &r.reviewer,
            reviewer_role: &r.reviewer_role,
            sealed: None,
        }
    }
}

/// A review's note as stored: `note` itself, or (when `kek_id` and
/// `wrapped_key` are set) `sealed_note` decrypted.
pub(crate) fn open_note(
    keys: Option<&dyn crate::KeyProvider>,
    review_id: &str,
    note: String,
    kek_id: Option<String>,
    wrapped_key: Option<Vec<u8>>,
    sealed_note: Option<Vec<u8>>,
) -> Result<String> {
    let err = |source| StoreError::Envelope {
        row: format!("review {review_id}"),
        source,
    };
    if kek_id.is_none() && wrapped_key.is_none() {
        return Ok(note);
    }
    let plain = crate::envelope::open_columns(
        keys,
        crate::Aad::Review { review_id },
        kek_id.as_deref(),
        wrapped_key.as_deref(),
        sealed_note.as_deref().unwrap_or_default(),
    )
    .map_err(err)?;
    String::from_utf8(plain.to_vec()).map_err(|_| StoreError::Corrupt {
        record_id: review_id.to_owned(),
        problem: "its note is not UTF-8 after decryption".into(),
    })
}

/// A review read back by either backend.
pub(crate) fn review_from_columns(
    review_id: String,
    record_id: String,
    created_at: String,
    outcome: String,
    note: String,
    reviewer: String,
    reviewer_role: String,
) -> Review {
    Review {
        review_id,
        record_id,
        outcome: ReviewOutcome::from_str_name(&outcome).unwrap_or_default() as i32,
        note,
        reviewer,
        reviewer_role,
        created_at,
    }
}

/// The previous version a row names does not exist.
pub(crate) fn missing_previous(previous: &str) -> StoreError {
    StoreError::Corrupt {
        record_id: previous.to_owned(),
        problem: "a new version names it as its previous version, but it is not stored".into(),
    }
}

impl Store {
    /// Stores `record`, a new version of the record it names in
    /// `previous_record_id`, under `idempotency_key`, in one transaction with
    /// its person index. Nothing is written when the key was used before
    /// (the earlier record is returned) or when the previous version already
    /// has a successor (the latest version is named).
    pub async fn put_version(
        &self,
        record: &VerificationRecord,
        idempotency_key: &str,
        request_hash: &str,
    ) -> Result<PutVersionOutcome> {
        let row = self.sealed_row(record)?;
        dispatch!(self.put_version(&row, idempotency_key, request_hash, self.data_keys()))
    }

    /// Every version of the lineage `record_id` belongs to, oldest first;
    /// empty when there is no such record. The last one is the latest.
    /// Each version is read and checked as [`Store::get_record`] does, and
    /// its row's columns must agree with it.
    pub async fn lineage(&self, record_id: &str) -> Result<Vec<RecordSummary>> {
        let rows = dispatch!(self.lineage(record_id))?;
        let mut out = Vec::with_capacity(rows.len());
        for (row, raw) in rows {
            // A tombstone has no content left to check (see `retention`).
            if raw.erased_at.is_none() {
                row.check_against(&self.check(raw)?)?;
            }
            out.push(row.into());
        }
        Ok(out)
    }

    /// Stores a review. The record must exist; the review never changes it.
    pub async fn add_review(&self, review: &Review) -> Result<()> {
        let mut row = ReviewRow::new(review);
        // The note is personal (what the home visit found): sealed, with
        // an empty plaintext column.
        let what = || format!("review {}", review.review_id);
        let keys = self.require_keys(what)?;
        let sealed = crate::envelope::seal(
            keys,
            crate::Aad::Review {
                review_id: &review.review_id,
            },
            review.note.as_bytes(),
        )
        .map_err(|source| StoreError::Envelope { row: what(), source })?;
        row.note = "";
        row.sealed = Some(sealed);
        dispatch!(self.add_review(&row))
    }

    /// The reviews of one record, in the order they were made.
    pub async fn reviews(&self, record_id: &str) -> Result<Vec<Review>> {
        dispatch!(self.reviews(record_id, false, self.data_keys()))
    }

    /// The reviews of every version of the lineage `record_id` belongs to,
    /// in the order they were made.
    pub async fn lineage_reviews(&self, record_id: &str) -> Result<Vec<Review>> {
        dispatch!(self.reviews(record_id, true, self.data_keys()))
    }
}
