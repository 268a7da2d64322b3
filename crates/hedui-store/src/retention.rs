//! Retention: records kept past the county's retention period are
//! crypto-shredded (issue #15 item 3, migration 0009).
//!
//! Erasing a record deletes its payload and its wrapped data key: without
//! the data key the ciphertext would be unreadable anyway, and neither is
//! left. The row stays as a tombstone with the columns that hold no
//! personal data (id, version, dates, verdict, purpose, digest, lineage,
//! the audit entry it is bound to) and `erased_at`; its `record_persons`
//! rows are deleted and its reviews' notes erased, in the same transaction,
//! a chunk of records per transaction. The stored requests of batches that
//! finished before the cutoff are erased too. The audit log is never
//! touched: it holds only keyed hashes and digests, so it still verifies,
//! and a tombstone's digest is still the one its entry recorded.
//!
//! Reads of a tombstone fail with [`StoreError::Erased`]; lists show it
//! with its `erased_at` marker.

use crate::{Result, Store, StoreError};

/// The schema version that added tombstones (`erased_at`): the position
/// of migration `0009_retention`, found by name so that it stays right
/// whatever lands before it.
pub fn migration_version() -> i64 {
    crate::dialect::Dialect::Sqlite
        .migrations()
        .iter()
        .position(|(name, _)| *name == "0009_retention")
        .map_or(i64::MAX, |i| i as i64 + 1)
}

/// What a retention run would erase at a cutoff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expired {
    /// Records created before the cutoff and not yet erased.
    pub records: u64,
    /// The oldest and newest creation time among them (RFC 3339).
    pub oldest: Option<String>,
    /// See `oldest`.
    pub newest: Option<String>,
    /// Reviews of those records.
    pub reviews: u64,
    /// Stored requests of batches that finished before the cutoff.
    pub batch_items: u64,
}

/// What a retention run erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// Records reduced to tombstones.
    pub records: u64,
    /// `record_persons` rows deleted.
    pub persons: u64,
    /// Reviews whose note was erased.
    pub reviews: u64,
    /// Batch items whose stored request was erased.
    pub batch_items: u64,
}

impl Erased {
    fn add(&mut self, o: Erased) {
        self.records += o.records;
        self.persons += o.persons;
        self.reviews += o.reviews;
        self.batch_items += o.batch_items;
    }
}

/// The error a read of a tombstone gives.
pub(crate) fn erased(record_id: &str, erased_at: &str) -> StoreError {
    StoreError::Erased {
        record_id: record_id.to_owned(),
        erased_at: erased_at.to_owned(),
    }
}

impl Store {
    /// What [`Store::erase_expired`] would erase at `cutoff` (RFC 3339 UTC:
    /// records created before it). Changes nothing.
    pub async fn expired(&self, cutoff: &str) -> Result<Expired> {
        dispatch!(self.expired(cutoff))
    }

    /// Erases every record created before `cutoff`, `chunk` records per
    /// transaction (with their person index and reviews' notes), then the
    /// stored requests of batches finished before `cutoff`, stamping each
    /// with `erased_at`. A run stopped midway leaves whole tombstones and
    /// whole records; the next run erases the rest.
    pub async fn erase_expired(&self, cutoff: &str, erased_at: &str, chunk: i64) -> Result<Erased> {
        let chunk = chunk.max(1);
        let mut total = Erased::default();
        loop {
            let done = dispatch!(self.erase_records(cutoff, erased_at, chunk))?;
            total.add(done);
            if done.records < chunk as u64 {
                break;
            }
        }
        loop {
            let items = dispatch!(self.erase_batch_items(cutoff, erased_at, chunk))?;
            total.batch_items += items;
            if items < chunk as u64 {
                break;
            }
        }
        Ok(total)
    }
}
