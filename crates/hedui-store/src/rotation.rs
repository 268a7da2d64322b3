//! Rotating the key-encryption key (issue #15 item 2): every data key
//! wrapped by an older KEK is unwrapped and wrapped again by the primary
//! one, a chunk of rows per transaction. Only `kek_id` and `wrapped_key`
//! change; the payload ciphertext is untouched, since the data key inside
//! the wrapping is the same. A run stopped at any point resumes where it
//! stopped: what is left is exactly the rows whose `kek_id` is not the
//! primary KEK's.

use std::collections::BTreeMap;

use crate::envelope::EnvelopeError;
use crate::{Result, Store, StoreError};

/// One row whose data key is wrapped by some KEK: the row's key, its KEK
/// and its wrapped data key (as read, then as re-wrapped).
#[derive(Debug, Clone)]
pub(crate) struct WrappedRow {
    /// `record_id`, `batch_id` or `review_id`.
    pub id: String,
    /// A record's version, a batch item's seq (0 for a review).
    pub seq: i64,
    pub kek_id: String,
    pub wrapped_key: Vec<u8>,
}

/// How many rows of each table one KEK protects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KekRows {
    /// `records` rows.
    pub records: u64,
    /// `batch_items` rows.
    pub batch_items: u64,
    /// `record_reviews` rows.
    pub reviews: u64,
}

impl KekRows {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.records + self.batch_items + self.reviews
    }
}

impl Store {
    /// How many rows each KEK protects, by KEK id (only KEKs some row
    /// names; plaintext rows are [`Store::plaintext_rows`]).
    pub async fn rows_by_kek(&self) -> Result<BTreeMap<String, KekRows>> {
        let rows: Vec<(String, String, i64)> = dispatch!(self.kek_counts())?;
        let mut by_kek: BTreeMap<String, KekRows> = BTreeMap::new();
        for (table, kek, n) in rows {
            let e = by_kek.entry(kek).or_default();
            let n = n as u64;
            match table.as_str() {
                "records" => e.records = n,
                "batch_items" => e.batch_items = n,
                _ => e.reviews = n,
            }
        }
        Ok(by_kek)
    }

    /// Re-wraps, under the data keys' primary KEK, up to `chunk` data keys
    /// of each table that another KEK wraps, all in one transaction, and
    /// returns how many changed (zero everywhere: none is left). A row
    /// changed meanwhile (re-wrapped by another run) is left as it is.
    /// A row whose KEK the key file lacks stops the run with
    /// [`EnvelopeError::MissingKek`] naming it, before anything of the
    /// chunk is written. On PostgreSQL it needs the owner role (the
    /// runtime role may not update reviews).
    pub async fn rewrap_chunk(&self, chunk: i64) -> Result<KekRows> {
        let keys = self.require_keys(|| "re-wrapping data keys".to_owned())?;
        let primary = keys.current_kek_id();
        let chunk = chunk.max(1);
        let rewrap = |what: &str, mut row: WrappedRow| -> Result<(WrappedRow, String)> {
            let describe = || {
                format!(
                    "{what} {}",
                    if what == "review" {
                        row.id.clone()
                    } else {
                        format!("{} {}", row.id, row.seq)
                    }
                )
            };
            let fail = |source: EnvelopeError| StoreError::Envelope {
                row: describe(),
                source,
            };
            let data_key = keys.unwrap_key(&row.kek_id, &row.wrapped_key).map_err(fail)?;
            let old = std::mem::replace(&mut row.kek_id, primary.clone());
            row.wrapped_key = keys.wrap(&primary, &data_key).map_err(fail)?;
            Ok((row, old))
        };
        let mut tables: [Vec<(WrappedRow, String)>; 3] = Default::default();
        for (i, (table, what)) in [
            ("records", "record"),
            ("batch_items", "batch item"),
            ("record_reviews", "review"),
        ]
        .into_iter()
        .enumerate()
        {
            let rows: Vec<WrappedRow> = dispatch!(self.wrapped_by_other_keks(table, &primary, chunk))?;
            for row in rows {
                tables[i].push(rewrap(what, row)?);
            }
        }
        let [records, items, reviews] = &tables;
        let (r, b, v) = dispatch!(self.store_rewrapped(records, items, reviews))?;
        Ok(KekRows {
            records: r,
            batch_items: b,
            reviews: v,
        })
    }
}
