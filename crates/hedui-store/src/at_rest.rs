//! Encrypting a database written before encryption at rest (issue #15
//! item 4): `hedui migrate` seals the rows that migration 0006 found in
//! plaintext (`kek_id IS NULL`), a chunk per transaction, so it can stop at
//! any point and resume where it stopped; `hedui migrate --status` counts
//! what is left.

use hedui_proto::v1::VerificationRecord;
use prost::Message as _;

use crate::envelope::{self, Aad};
use crate::{RecordRow, Result, Store, StoreError};

/// Rows still stored in plaintext, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaintextRows {
    /// `records` rows (bodies) not yet encrypted.
    pub records: u64,
    /// `batch_items` rows (requests) not yet encrypted.
    pub batch_items: u64,
    /// `record_reviews` rows (notes) not yet encrypted.
    pub reviews: u64,
}

impl PlaintextRows {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.records + self.batch_items + self.reviews
    }
}

/// A plaintext row sealed, ready to replace its stored form.
pub(crate) struct SealedRow {
    /// `record_id`, `batch_id` or `review_id`.
    pub id: String,
    /// The batch item's seq (0 otherwise).
    pub seq: i64,
    pub sealed: envelope::Sealed,
    /// For a record: its members' ID numbers and their keyed hashes.
    pub persons: Vec<(String, String)>,
}

impl Store {
    /// How many rows of each table are still plaintext (0 everywhere on a
    /// database made after encryption, or fully migrated).
    pub async fn plaintext_rows(&self) -> Result<PlaintextRows> {
        // Tombstones (migration 0009) have no key and nothing to encrypt;
        // before that migration no row is one (`hedui migrate --status` on
        // an older schema).
        let erased_known = self.schema_version().await? >= crate::retention::migration_version();
        let (records, batch_items, reviews): (i64, i64, i64) = dispatch!(self.plaintext_counts(erased_known))?;
        Ok(PlaintextRows {
            records: records as u64,
            batch_items: batch_items as u64,
            reviews: reviews as u64,
        })
    }

    /// How many records each KEK protects, by KEK id.
    pub async fn records_by_kek(&self) -> Result<Vec<(String, u64)>> {
        let rows: Vec<(String, i64)> = dispatch!(self.records_by_kek())?;
        Ok(rows.into_iter().map(|(k, n)| (k, n as u64)).collect())
    }

    /// Encrypts up to `chunk` plaintext rows of each table, each table's
    /// chunk in one transaction, and returns how many were encrypted (zero
    /// everywhere: nothing is left). A row changed meanwhile (a record the
    /// hub bound and sealed at start-up) is left as the hub wrote it.
    /// Needs the data keys; on PostgreSQL, the owner role (reviews are
    /// append-only but for this one change, and the runtime role may not
    /// make it).
    pub async fn encrypt_plaintext(&self, chunk: i64) -> Result<PlaintextRows> {
        let keys = self.require_keys(|| "encrypting plaintext rows".to_owned())?;
        let chunk = chunk.max(1);
        let seal = |aad: Aad<'_>, what: String, plain: &[u8]| {
            envelope::seal(keys, aad, plain).map_err(|source| StoreError::Envelope { row: what, source })
        };

        let raws: Vec<crate::RawRecord> = dispatch!(self.plaintext_records(chunk))?;
        let mut records = Vec::with_capacity(raws.len());
        for raw in &raws {
            let aad = Aad::Record {
                record_id: &raw.record_id,
                version: raw.version,
            };
            let what = format!("record {} version {}", raw.record_id, raw.version);
            // The members are re-indexed by keyed hash in the same
            // transaction; a body that does not decode keeps its index (the
            // integrity check names such a record either way).
            let persons = VerificationRecord::decode(raw.body.as_slice())
                .map(|r| RecordRow::new(&r).id_numbers)
                .unwrap_or_default()
                .into_iter()
                .map(|id| {
                    let hashed = keys.person_index(&id);
                    (id, hashed)
                })
                .collect();
            records.push(SealedRow {
                id: raw.record_id.clone(),
                seq: raw.version,
                sealed: seal(aad, what, &raw.body)?,
                persons,
            });
        }

        let items: Vec<(String, i64, Vec<u8>)> = dispatch!(self.plaintext_batch_items(chunk))?;
        let mut batch_items = Vec::with_capacity(items.len());
        for (batch_id, seq, request) in &items {
            let aad = Aad::BatchItem { batch_id, seq: *seq };
            batch_items.push(SealedRow {
                id: batch_id.clone(),
                seq: *seq,
                sealed: seal(aad, format!("batch {batch_id} item {seq}"), request)?,
                persons: Vec::new(),
            });
        }

        let notes: Vec<(String, String)> = dispatch!(self.plaintext_reviews(chunk))?;
        let mut reviews = Vec::with_capacity(notes.len());
        for (review_id, note) in &notes {
            let aad = Aad::Review { review_id };
            reviews.push(SealedRow {
                id: review_id.clone(),
                seq: 0,
                sealed: seal(aad, format!("review {review_id}"), note.as_bytes())?,
                persons: Vec::new(),
            });
        }

        let (r, b, v): (u64, u64, u64) = dispatch!(self.store_sealed(&records, &batch_items, &reviews))?;
        Ok(PlaintextRows {
            records: r,
            batch_items: b,
            reviews: v,
        })
    }

    /// After rows were encrypted in place, removes what the database file
    /// still holds of their plaintext: SQLite keeps the old contents in
    /// free pages and page slack, so the file is rebuilt (`VACUUM`) and the
    /// WAL truncated. PostgreSQL keeps dead row versions until `VACUUM
    /// FULL`, which takes exclusive locks: this returns `false` there and
    /// the operator runs it (`hedui migrate` says so).
    pub async fn purge_freed_space(&self) -> Result<bool> {
        match self.backend_kind() {
            crate::BackendKind::Sqlite => {
                self.execute_raw_for_tests("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
                    .await?;
                Ok(true)
            }
            crate::BackendKind::Postgres => Ok(false),
        }
    }
}
