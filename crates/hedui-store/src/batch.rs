//! Durable batches: a whole roll re-checked household by household.
//!
//! A batch is created as a `DRAFT`, filled with validated households in
//! chunks, and started (`RUNNING`). Only items of a running batch are ever
//! claimed. A claim sets a lease (`lease_owner`, `lease_until`); an item
//! whose lease ran out (its hub died) is claimed again, so work resumes
//! after `kill -9`. Each item's record is stored under the idempotency key
//! `batch:<batch_id>:<seq>` *before* the item is marked `DONE`, so a
//! household run again after a crash replays its record: execution is at
//! least once, storage exactly once.
//!
//! PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so hubs sharing one
//! database never claim the same item; SQLite has one writer, and each
//! claim statement is one `UPDATE … RETURNING`. A claim takes expired
//! leases first, then due items, each in index order, so it reads only the
//! rows it takes. A draft's items are stored never due and made due when it
//! starts; a cancelled batch's pending items are made never due again.

use hedui_proto::v1::{Verdict, VerificationRecord};

use crate::{Result, Store, StoreError};

/// The idempotency key of a batch item's record.
pub fn item_key(batch_id: &str, seq: i64) -> String {
    format!("batch:{batch_id}:{seq}")
}

/// A new batch, as created in state `DRAFT`.
#[derive(Debug, Clone)]
pub struct NewBatch {
    /// A UUID.
    pub batch_id: String,
    /// Free text from the caseworker.
    pub label: String,
    /// Purpose enum name.
    pub purpose: String,
    /// `YYYY-MM`.
    pub window_from: String,
    /// `YYYY-MM`.
    pub window_to: String,
    /// `YYYY-MM-DD` or empty.
    pub asset_date: String,
    /// Role of the creator, as `Role::as_string` writes it.
    pub created_by_role: String,
    /// Name of the creator.
    pub created_by_name: String,
    /// Serial of the creator's certificate.
    pub created_by_serial: String,
    /// RFC 3339.
    pub created_at: String,
}

/// One household to add to a draft.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// Row number in the roster file.
    pub first_row: i64,
    /// The household's reference.
    pub household_ref: String,
    /// The encoded `SubmitVerificationRequest`, with its idempotency key
    /// left empty: the key is set from the item's seq when it runs.
    pub request: Vec<u8>,
}

/// The state of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchState {
    /// Being filled; never runs.
    Draft,
    /// Its items are claimed and run.
    Running,
    /// Every item is done.
    Done,
    /// Stopped by a caseworker; pending items are never run.
    Cancelled,
}

impl BatchState {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Draft => "DRAFT",
            BatchState::Running => "RUNNING",
            BatchState::Done => "DONE",
            BatchState::Cancelled => "CANCELLED",
        }
    }

    pub(crate) fn parse(s: &str) -> BatchState {
        match s {
            "DRAFT" => BatchState::Draft,
            "RUNNING" => BatchState::Running,
            "DONE" => BatchState::Done,
            _ => BatchState::Cancelled,
        }
    }
}

/// A batch with its progress.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchInfo {
    /// The batch's header as created.
    pub batch_id: String,
    /// Label.
    pub label: String,
    /// State.
    pub state: BatchState,
    /// Purpose enum name.
    pub purpose: String,
    /// `YYYY-MM`.
    pub window_from: String,
    /// `YYYY-MM`.
    pub window_to: String,
    /// `YYYY-MM-DD` or empty.
    pub asset_date: String,
    /// Creator's role.
    pub created_by_role: String,
    /// Creator's name.
    pub created_by_name: String,
    /// Creator's certificate serial.
    pub created_by_serial: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, once started.
    pub started_at: Option<String>,
    /// RFC 3339, once done or cancelled.
    pub finished_at: Option<String>,
    /// Items in total.
    pub total: i64,
    /// Items waiting (including those waiting for a retry).
    pub pending: i64,
    /// Items being run now.
    pub running: i64,
    /// Items done.
    pub done: i64,
    /// Done items by verdict enum name (no record: `NONE`).
    pub verdicts: Vec<(String, i64)>,
    /// Done items whose record carries a flag.
    pub flagged: i64,
    /// Items that needed more than one attempt.
    pub retried: i64,
}

/// What happened to a state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Done.
    Changed,
    /// No such batch.
    NotFound,
    /// The batch is in a state that does not allow it.
    WrongState(BatchState),
    /// Starting a batch with no households.
    Empty,
}

/// An item handed to a worker.
#[derive(Debug, Clone)]
pub struct ClaimedItem {
    /// Its batch.
    pub batch_id: String,
    /// Its position.
    pub seq: i64,
    /// This attempt's number, from 1.
    pub attempts: i64,
    /// The encoded request.
    pub request: Vec<u8>,
}

/// A claimed item as stored: its request sealed when `kek_id` is set.
pub(crate) struct RawClaim {
    pub item: ClaimedItem,
    pub kek_id: Option<String>,
    pub wrapped_key: Option<Vec<u8>>,
}

/// How an item ended.
#[derive(Debug, Clone)]
pub struct ItemOutcome {
    /// The record made (or replayed) for it; `None` when no record could be
    /// made (its authorization no longer covers it), with the reason in
    /// `error`.
    pub record_id: Option<String>,
    /// Verdict enum name, or `NONE` without a record.
    pub verdict: String,
    /// Whether the record carries a flag (home-visit list).
    pub flagged: bool,
    /// Why there is no record, or empty.
    pub error: String,
}

/// An item to mark `DONE`, if `owner` still holds it; given with its
/// record to an audit append ([`crate::audit::RecordToStore::batch_item`])
/// it is marked in the same transaction as the record and its entries.
#[derive(Debug, Clone, Copy)]
pub struct ItemDone<'a> {
    /// Its batch.
    pub batch_id: &'a str,
    /// Its position.
    pub seq: i64,
    /// The lease holder that ran it.
    pub owner: &'a str,
    /// How it ended.
    pub outcome: &'a ItemOutcome,
    /// When, as RFC 3339 (the batch's `finished_at` if it was the last).
    pub now: &'a str,
}

impl ItemOutcome {
    /// The outcome of an item that ended with `record`: its id and verdict,
    /// and flagged (the home-visit list) when the record carries a flag or
    /// needs review.
    pub fn of_record(record: &VerificationRecord) -> ItemOutcome {
        ItemOutcome {
            record_id: Some(record.record_id.clone()),
            verdict: Verdict::try_from(record.verdict)
                .unwrap_or_default()
                .as_str_name()
                .to_owned(),
            flagged: !record.flags.is_empty() || record.verdict == Verdict::NeedsReview as i32,
            error: String::new(),
        }
    }
}

/// One row of a batch's results.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// The item's seq.
    pub seq: i64,
    /// Its row in the roster.
    pub first_row: i64,
    /// The household reference.
    pub household_ref: String,
    /// Its record, checked against its digest; `None` when it has none.
    pub record: Option<VerificationRecord>,
    /// Why there is no record.
    pub error: String,
}

/// Milliseconds since the epoch now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Store {
    /// Creates a batch in state `DRAFT`.
    pub async fn create_batch(&self, b: &NewBatch) -> Result<()> {
        dispatch!(self.create_batch(b))
    }

    /// Appends `items` to a draft, all or none, numbering them after the
    /// ones already there. Returns the new total, or the transition that
    /// refused it (not found, not a draft).
    pub async fn add_batch_items(
        &self,
        batch_id: &str,
        items: &[NewItem],
    ) -> Result<std::result::Result<i64, Transition>> {
        // Each request is sealed under the write lock, once its seq (bound
        // into the associated data) is known.
        let keys = self.require_keys(|| format!("batch {batch_id}"))?;
        dispatch!(self.add_batch_items(batch_id, items, keys))
    }

    /// DRAFT → RUNNING; refuses an empty batch.
    pub async fn start_batch(&self, batch_id: &str, now: &str) -> Result<Transition> {
        dispatch!(self.start_batch(batch_id, now))
    }

    /// DRAFT or RUNNING → CANCELLED. Items already running finish; no
    /// other item is claimed.
    pub async fn cancel_batch(&self, batch_id: &str, now: &str) -> Result<Transition> {
        dispatch!(self.cancel_batch(batch_id, now))
    }

    /// A batch and its counts.
    pub async fn get_batch(&self, batch_id: &str) -> Result<Option<BatchInfo>> {
        dispatch!(self.get_batch(batch_id))
    }

    /// The most recent batches, newest first, with their counts.
    pub async fn list_batches(&self, limit: i64) -> Result<Vec<BatchInfo>> {
        dispatch!(self.list_batches(limit))
    }

    /// Claims up to `limit` items that are due (pending and past their next
    /// attempt time, or running with a lease that ran out) from running
    /// batches, for `owner` until `lease_until_ms`; each claim counts as an
    /// attempt. Two claimers never get the same item while its lease holds.
    pub async fn claim_batch_items(
        &self,
        owner: &str,
        now_ms: i64,
        lease_until_ms: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedItem>> {
        let claimed: Vec<RawClaim> = dispatch!(self.claim_batch_items(owner, now_ms, lease_until_ms, limit))?;
        claimed
            .into_iter()
            .map(|c| {
                let aad = crate::Aad::BatchItem {
                    batch_id: &c.item.batch_id,
                    seq: c.item.seq,
                };
                let request = crate::envelope::open_columns(
                    self.data_keys(),
                    aad,
                    c.kek_id.as_deref(),
                    c.wrapped_key.as_deref(),
                    &c.item.request,
                )
                .map_err(|source| StoreError::Envelope {
                    row: format!("batch {} item {}", c.item.batch_id, c.item.seq),
                    source,
                })?;
                Ok(ClaimedItem {
                    request: request.to_vec(),
                    ..c.item
                })
            })
            .collect()
    }

    /// Marks an item `DONE` if `owner` still holds it, and the batch `DONE`
    /// when it was the last, in one transaction. Returns whether the item
    /// was still held (if not, another worker took it over and will replay
    /// the same record).
    pub async fn complete_batch_item(
        &self,
        batch_id: &str,
        seq: i64,
        owner: &str,
        outcome: &ItemOutcome,
        now: &str,
    ) -> Result<bool> {
        dispatch!(self.complete_batch_item(batch_id, seq, owner, outcome, now))
    }

    /// Puts an item back to `PENDING` until `next_attempt_ms`, if `owner`
    /// still holds it.
    pub async fn reschedule_batch_item(
        &self,
        batch_id: &str,
        seq: i64,
        owner: &str,
        next_attempt_ms: i64,
        error: &str,
    ) -> Result<bool> {
        dispatch!(self.reschedule_batch_item(batch_id, seq, owner, next_attempt_ms, error))
    }

    /// Up to `limit` done items after `after_seq`, in order, with their
    /// records; with `only_flagged`, only flagged ones. Paging by seq keeps
    /// memory flat however large the batch.
    pub async fn batch_results(
        &self,
        batch_id: &str,
        after_seq: i64,
        limit: i64,
        only_flagged: bool,
    ) -> Result<Vec<ResultRow>> {
        let rows: Vec<RawResultRow> = dispatch!(self.batch_results(batch_id, after_seq, limit, only_flagged))?;
        rows.into_iter()
            .map(|r| {
                let record = r.record.map(|raw| self.check(raw)).transpose()?;
                if let Some(record) = &record {
                    // The item's columns are an index for results and
                    // counts: they must say what the sealed record says.
                    let verdict = Verdict::try_from(record.verdict).unwrap_or_default().as_str_name();
                    let flagged = !record.flags.is_empty() || record.verdict == Verdict::NeedsReview as i32;
                    if r.item_verdict.as_deref().is_some_and(|v| v != verdict) || r.flagged != flagged {
                        return Err(StoreError::Corrupt {
                            record_id: format!("batch {batch_id} item {}", r.seq),
                            problem: "its verdict or flagged column differs from the sealed record".into(),
                        });
                    }
                }
                Ok(ResultRow {
                    seq: r.seq,
                    first_row: r.first_row,
                    household_ref: r.household_ref,
                    record,
                    error: r.error,
                })
            })
            .collect()
    }
}

/// A result row as read, before its record is checked.
pub(crate) struct RawResultRow {
    pub seq: i64,
    pub first_row: i64,
    pub household_ref: String,
    pub error: String,
    pub item_verdict: Option<String>,
    pub flagged: bool,
    pub record: Option<crate::RawRecord>,
}

/// Builds a [`BatchInfo`] from its header and grouped counts.
pub(crate) struct InfoParts {
    pub header: NewBatch,
    pub state: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// (state, verdict, flagged count, retried count, count)
    pub groups: Vec<(String, Option<String>, i64, i64, i64)>,
}

impl From<InfoParts> for BatchInfo {
    fn from(p: InfoParts) -> BatchInfo {
        let h = p.header;
        let mut info = BatchInfo {
            batch_id: h.batch_id,
            label: h.label,
            state: BatchState::parse(&p.state),
            purpose: h.purpose,
            window_from: h.window_from,
            window_to: h.window_to,
            asset_date: h.asset_date,
            created_by_role: h.created_by_role,
            created_by_name: h.created_by_name,
            created_by_serial: h.created_by_serial,
            created_at: h.created_at,
            started_at: p.started_at,
            finished_at: p.finished_at,
            total: 0,
            pending: 0,
            running: 0,
            done: 0,
            verdicts: Vec::new(),
            flagged: 0,
            retried: 0,
        };
        for (state, verdict, flagged, retried, n) in p.groups {
            info.total += n;
            info.retried += retried;
            match state.as_str() {
                "PENDING" => info.pending += n,
                "RUNNING" => info.running += n,
                _ => {
                    info.done += n;
                    info.flagged += flagged;
                    let v = verdict.unwrap_or_else(|| "NONE".to_owned());
                    match info.verdicts.iter_mut().find(|(k, _)| *k == v) {
                        Some((_, c)) => *c += n,
                        None => info.verdicts.push((v, n)),
                    }
                }
            }
        }
        info.verdicts.sort();
        info
    }
}

impl Store {
    /// A batch's header and state, without counting its items.
    pub async fn get_batch_header(&self, batch_id: &str) -> Result<Option<(NewBatch, BatchState)>> {
        dispatch!(self.get_batch_header(batch_id))
    }

    /// Puts every item `owner` holds back to `PENDING` (a hub stopping
    /// cleanly), so another hub need not wait for the leases to run out.
    pub async fn release_batch_leases(&self, owner: &str) -> Result<u64> {
        dispatch!(self.release_batch_leases(owner))
    }
}
