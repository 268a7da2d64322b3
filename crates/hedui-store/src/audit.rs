//! Storage of the audit log: entries with their leaf hashes, the persons
//! index, and signed checkpoints.
//!
//! The store only writes what it is given, in one transaction per batch; the
//! hub's appender assigns sequence numbers and keeps the Merkle frontier.
//! Both backends refuse UPDATE and DELETE on the audit tables by trigger
//! (PostgreSQL also TRUNCATE).

use crate::{RecordRow, Result, Store, StoreError};
use hedui_audit::checkpoint::SignedCheckpoint;
use hedui_audit::entry::AuditEntry;
use hedui_audit::merkle::Hash;
use hedui_proto::v1::VerificationRecord;

/// Filters for [`Store::audit_entries`]. Every field is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Entries at or after this RFC 3339 time (or `YYYY-MM-DD`).
    pub from: Option<String>,
    /// Entries before this RFC 3339 time (or `YYYY-MM-DD`).
    pub to: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries naming this department slug.
    pub department: Option<String>,
    /// Only entries concerning the person with this keyed hash.
    pub person_key_hash: Option<String>,
    /// Only entries with seq at or after this.
    pub after_seq: Option<u64>,
    /// At most this many entries.
    pub limit: u32,
}

impl Store {
    /// Appends `entries` (whose seqs continue the log without a gap) with
    /// their leaf hashes, in one transaction.
    ///
    /// Appends are serialised in the database itself, so that several hubs
    /// can share one log: on PostgreSQL the transaction takes an advisory
    /// lock, on SQLite the database's single writer does the same. Under that
    /// lock the log's current size is read; if it is not the first entry's
    /// seq, nothing is written and [`StoreError::AuditBehind`] says how big
    /// the log is, so the caller can catch up and renumber. The sequence
    /// therefore never forks or gaps, whatever SERIALIZABLE would have done.
    pub async fn append_audit(&self, entries: &[(AuditEntry, Hash)]) -> Result<()> {
        self.append_audit_with_records(entries, &[]).await.map(|_| ())
    }

    /// [`Store::append_audit`], storing `records` in the same transaction:
    /// the hub writes a verification's (or a re-check's) result entries and
    /// its record with one durable commit, so neither exists without the
    /// other. A record with a `previous_record_id` is a new version and is
    /// stored as [`Store::put_version`] would. Each record is bound to the
    /// entry at its `entry_seq`, which must be among `entries` and carry its
    /// digest.
    ///
    /// The answer says, in the same order, what became of each record. If
    /// any was not [`RecordStored::Inserted`] (its key was taken, or the
    /// version it replaces already has a successor), **nothing at all was
    /// written**: no entry may name a record that is not stored, so the
    /// caller drops the refused records' entries and appends the rest again.
    pub async fn append_audit_with_records(
        &self,
        entries: &[(AuditEntry, Hash)],
        records: &[RecordToStore<'_>],
    ) -> Result<Vec<RecordStored>> {
        self.append_audit_with(entries, records, &[])
            .await
            .map(|(stored, _, _)| stored)
    }

    /// [`Store::append_audit_with_records`], also taking idempotency
    /// `claims` in the same transaction: a verification's intent entry and
    /// the claim on its key are one durable commit, shared with the group,
    /// instead of two writers queueing for the database one after the other.
    ///
    /// The second answer says, in the order of `claims`, what became of each
    /// claim. If any claim was not [`ClaimTaken::Taken`] (or any record not
    /// [`RecordStored::Inserted`]), **nothing at all was written**: an intent
    /// is never logged for a call that will not ask the departments. The
    /// caller drops the refused appends and appends the rest again.
    ///
    /// The third answer is how long each phase of the transaction took
    /// (for `hedui bench`'s group-commit figures; four clock reads per
    /// transaction).
    pub async fn append_audit_with(
        &self,
        entries: &[(AuditEntry, Hash)],
        records: &[RecordToStore<'_>],
        claims: &[ClaimToTake<'_>],
    ) -> Result<(Vec<RecordStored>, Vec<ClaimTaken>, AppendPhases)> {
        let Some((first, _)) = entries.first() else {
            return Ok((Vec::new(), Vec::new(), AppendPhases::default()));
        };
        let expected = first.seq;
        let rows: Vec<EntryRow<'_>> = entries.iter().map(|(e, leaf)| EntryRow::new(e, leaf)).collect();
        // Encrypted here, before the log's lock is taken.
        let records: Vec<RecordInsert<'_>> = records
            .iter()
            .map(|r| {
                let mut row = self.sealed_row(r.record)?;
                row.entry_seq = Some(i64::try_from(r.entry_seq).unwrap_or(i64::MAX));
                Ok(RecordInsert {
                    row,
                    idempotency_key: r.idempotency_key,
                    request_hash: r.request_hash,
                    batch_item: r.batch_item,
                })
            })
            .collect::<Result<_>>()?;
        let mut phases = AppendPhases::default();
        let (found, inserted, claimed): (i64, Vec<RecordStored>, Vec<ClaimTaken>) =
            dispatch!(self.append_audit(&rows, &records, claims, &mut phases))?;
        match u64::try_from(found) {
            Ok(found) if found == expected => Ok((inserted, claimed, phases)),
            Ok(found) => Err(StoreError::AuditBehind { expected, found }),
            Err(_) => Err(StoreError::AuditBehind { expected, found: 0 }),
        }
    }

    /// The leaf hashes of entries `from..to`, in order (fewer if the log is
    /// shorter). Used by a hub to catch up with entries another hub wrote.
    pub async fn audit_leaves_range(&self, from: u64, to: u64) -> Result<Vec<Hash>> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let to = i64::try_from(to).unwrap_or(i64::MAX);
        dispatch!(self.audit_leaves_range(from, to))
    }

    /// The leaf hashes of the first `upto` entries, in order. Fewer come back
    /// if rows are missing, which the caller treats as tampering.
    pub async fn audit_leaves(&self, upto: u64) -> Result<Vec<Hash>> {
        let upto = i64::try_from(upto).unwrap_or(i64::MAX);
        dispatch!(self.audit_leaves(upto))
    }

    /// The number of audit entries stored.
    pub async fn audit_size(&self) -> Result<u64> {
        let n: i64 = dispatch!(self.audit_size())?;
        Ok(n as u64)
    }

    /// Entries matching `filter`, in seq order, parsed from the stored bytes.
    ///
    /// The columns the filter uses (`time`, `actor`, `action`,
    /// `departments`, `audit_persons`) are only an index: every entry found
    /// must itself match the filter, or the read fails with
    /// [`StoreError::Corrupt`] naming the entry. An edited `actor` column
    /// therefore cannot move an access into another caseworker's list.
    /// (A row deleted from the index hides an entry from the search; `hedui
    /// audit verify --database` finds that.)
    pub async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let entries: Vec<AuditEntry> = dispatch!(self.audit_entries(filter))?;
        for e in &entries {
            if let Some(column) = mismatch(e, filter) {
                return Err(StoreError::Corrupt {
                    record_id: format!("audit entry {}", e.seq),
                    problem: format!(
                        "its {column} index column matched the search, but the entry itself does not; \
                         run `hedui audit verify --database`"
                    ),
                });
            }
        }
        Ok(entries)
    }

    /// Every stored entry, in seq order, for a full verification.
    pub async fn audit_all(&self) -> Result<Vec<AuditEntry>> {
        dispatch!(self.audit_all())
    }

    /// Up to `limit` entries from seq `from` on, in seq order, each with
    /// the leaf hash stored beside it. A hub reads its log this way at
    /// start, one page at a time, so that its memory does not grow with the
    /// log. A missing row shows as a jump in seq, which the caller checks.
    pub async fn audit_page(&self, from: u64, limit: u32) -> Result<Vec<(AuditEntry, Hash)>> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        dispatch!(self.audit_page(from, i64::from(limit.max(1))))
    }

    /// Stores a signed checkpoint.
    pub async fn put_checkpoint(&self, cp: &SignedCheckpoint) -> Result<()> {
        let row = CheckpointRow {
            tree_size: cp.checkpoint.tree_size as i64,
            time: &cp.checkpoint.time,
            json: serde_json::to_string(cp).expect("a checkpoint serialises"),
        };
        dispatch!(self.put_checkpoint(&row))
    }

    /// Every stored checkpoint, smallest tree first.
    pub async fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>> {
        dispatch!(self.checkpoints())
    }

    /// The newest checkpoint, if any.
    pub async fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>> {
        Ok(self.checkpoints().await?.pop())
    }
}

impl Store {
    /// The records not yet bound to an audit entry (`entry_seq` empty):
    /// those stored before migration 0005. Each as `(record_id, body)`,
    /// the body decrypted if `hedui migrate` encrypted it already (a body
    /// that does not open is given empty, so it does not decode and stays
    /// unbound).
    pub async fn unbound_records(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let rows: Vec<crate::RawRecord> = dispatch!(self.unbound_records())?;
        Ok(rows
            .into_iter()
            .map(|raw| {
                let aad = crate::Aad::Record {
                    record_id: &raw.record_id,
                    version: raw.version,
                };
                let body = crate::envelope::open_columns(
                    self.data_keys(),
                    aad,
                    raw.kek_id.as_deref(),
                    raw.wrapped_key.as_deref(),
                    &raw.body,
                )
                .map(|b| b.to_vec())
                .unwrap_or_default();
                (raw.record_id, body)
            })
            .collect())
    }

    /// Binds a record stored before migration 0005 to the audit entry
    /// `entry_seq` that stored it, and stores its body again with the hub's
    /// seal (`sealed` must be the same record, same digest, sealed). Only a
    /// record still unbound is changed; returns whether it was.
    pub async fn bind_record(&self, sealed: &VerificationRecord, entry_seq: u64) -> Result<bool> {
        let plain_ids = RecordRow::new(sealed).id_numbers;
        let mut row = self.sealed_row(sealed)?;
        row.entry_seq = Some(i64::try_from(entry_seq).unwrap_or(i64::MAX));
        dispatch!(self.bind_record(&row, &plain_ids))
    }
}

/// The first filter column that `e` itself does not match, if any.
fn mismatch(e: &AuditEntry, f: &AuditFilter) -> Option<&'static str> {
    if f.from.as_deref().is_some_and(|from| e.time.as_str() < from)
        || f.to.as_deref().is_some_and(|to| e.time.as_str() >= to)
    {
        return Some("time");
    }
    if f.actor.as_deref().is_some_and(|a| e.actor != a) {
        return Some("actor");
    }
    if f.action.as_deref().is_some_and(|a| e.action != a) {
        return Some("action");
    }
    if f.department
        .as_deref()
        .is_some_and(|d| !e.departments.iter().any(|x| x.eq_ignore_ascii_case(d)))
    {
        return Some("departments");
    }
    if f.person_key_hash
        .as_deref()
        .is_some_and(|k| !e.persons.iter().any(|p| p.key_hash == k))
    {
        return Some("audit_persons");
    }
    if f.after_seq.is_some_and(|s| e.seq < s) {
        return Some("seq");
    }
    None
}

/// A record to store in an audit append's transaction.
#[derive(Debug, Clone, Copy)]
pub struct RecordToStore<'a> {
    /// The sealed record.
    pub record: &'a VerificationRecord,
    /// Its idempotency key.
    pub idempotency_key: &'a str,
    /// The hash of the request that made it.
    pub request_hash: &'a str,
    /// The seq of the entry, in the same append, that carries its digest.
    pub entry_seq: u64,
    /// The batch item this record ends, marked `DONE` in the same
    /// transaction (if its lease is still held), so a batch household costs
    /// no durable commit of its own after its record's.
    pub batch_item: Option<crate::batch::ItemDone<'a>>,
}

/// An idempotency claim to take in an audit append's transaction (see
/// [`Store::claim_key`] for what a claim is).
#[derive(Debug, Clone, Copy)]
pub struct ClaimToTake<'a> {
    /// The key claimed.
    pub idempotency_key: &'a str,
    /// The call claiming it (hub instance and a call id).
    pub owner: &'a str,
    /// Now, in milliseconds since the epoch: a claim that lapsed before
    /// this is taken over.
    pub now_ms: i64,
    /// When the claim lapses unless renewed.
    pub expires_at_ms: i64,
}

/// How long the phases of one audit append's transaction took
/// ([`Store::append_audit_with`]). Zero for a phase not reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendPhases {
    /// Taking a pooled connection and the log's lock (`BEGIN IMMEDIATE` on
    /// SQLite, the advisory lock on PostgreSQL), including any wait for
    /// another writer.
    pub begin: std::time::Duration,
    /// Every statement, from the log's size to the last insert.
    pub statements: std::time::Duration,
    /// The commit, with the database's durable sync.
    pub commit: std::time::Duration,
}

/// What became of a claim given to [`Store::append_audit_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimTaken {
    /// The key is the caller's now.
    Taken,
    /// A record is already stored under the key: the caller replays it.
    Stored,
    /// Another live call holds the key until this time (milliseconds since
    /// the epoch); the caller waits for its record or for the claim to
    /// lapse.
    HeldUntil(i64),
}

/// What became of a record given to [`Store::append_audit_with_records`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStored {
    /// Stored, with its entries.
    Inserted,
    /// Its idempotency key was already taken; the caller reads the record
    /// stored under it.
    KeyTaken,
    /// The version it replaces already has a successor.
    Superseded {
        /// The latest version of the lineage.
        latest_record_id: String,
    },
}

/// A record to insert inside an audit append's transaction.
pub(crate) struct RecordInsert<'a> {
    pub row: RecordRow<'a>,
    pub idempotency_key: &'a str,
    pub request_hash: &'a str,
    pub batch_item: Option<crate::batch::ItemDone<'a>>,
}

/// An audit entry as the columns both backends store.
pub(crate) struct EntryRow<'a> {
    pub seq: i64,
    pub time: &'a str,
    pub actor: &'a str,
    pub role: &'a str,
    pub action: &'a str,
    /// Comma-separated slugs.
    pub departments: String,
    pub status: &'a str,
    /// The canonical JSON that was hashed as the leaf.
    pub entry: String,
    pub leaf: &'a [u8],
    pub person_key_hashes: Vec<&'a str>,
}

impl<'a> EntryRow<'a> {
    fn new(e: &'a AuditEntry, leaf: &'a Hash) -> Self {
        EntryRow {
            seq: e.seq as i64,
            time: &e.time,
            actor: &e.actor,
            role: &e.role,
            action: &e.action,
            departments: e.departments.join(","),
            status: &e.status,
            entry: String::from_utf8(e.canonical_bytes()).expect("serde_json writes UTF-8"),
            leaf: leaf.as_slice(),
            person_key_hashes: e.persons.iter().map(|p| p.key_hash.as_str()).collect(),
        }
    }
}

/// A signed checkpoint as the columns both backends store.
pub(crate) struct CheckpointRow<'a> {
    pub tree_size: i64,
    pub time: &'a str,
    pub json: String,
}

pub(crate) fn leaf_from_bytes(b: &[u8]) -> Result<Hash> {
    <Hash>::try_from(b).map_err(|_| StoreError::Corrupt {
        record_id: "audit log".into(),
        problem: "a leaf hash is not 32 bytes".into(),
    })
}

pub(crate) fn parse_checkpoint(tree_size: i64, json: &str) -> Result<SignedCheckpoint> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        record_id: format!("audit checkpoint {tree_size}"),
        problem: e.to_string(),
    })
}

pub(crate) fn parse_entry(seq: i64, text: &str) -> Result<AuditEntry> {
    let entry: AuditEntry = serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        record_id: format!("audit entry {seq}"),
        problem: format!("does not parse: {e}"),
    })?;
    if entry.seq as i64 != seq {
        return Err(StoreError::Corrupt {
            record_id: format!("audit entry {seq}"),
            problem: format!("the row's seq is {seq} but the entry says {}", entry.seq),
        });
    }
    Ok(entry)
}
