//! The whole-database check behind `hedui audit verify --database`.
//!
//! The audit log's Merkle tree and signed checkpoints prove what the log's
//! entries say. Everything else in the database is only trusted as far as it
//! agrees with them, so this check compares, row by row:
//!
//! - every audit entry with its own row: the columns that searches use
//!   (`time`, `actor`, `role`, `action`, `departments`, `status`), the leaf
//!   hash, and the seq (no gaps);
//! - the `audit_persons` index with the persons of each entry, both ways (a
//!   deleted row hides an access from "who looked at me");
//! - the entries with the signed checkpoints, and the entries after the last
//!   checkpoint with the current tree head, which is reported as unsigned;
//! - every record (every version) with its digest, the hub's seal, its own
//!   filter columns, its `record_persons` rows, and the audit entry that
//!   stored it;
//! - every entry that names a record digest with a stored record.
//!
//! Every difference is reported, naming the row; nothing is repaired.

use std::collections::{BTreeSet, HashMap, HashSet};

use hedui_audit::checkpoint::SignedCheckpoint;
use hedui_audit::entry::AuditEntry;
use hedui_audit::export::verify_full_log;
use hedui_audit::merkle::Frontier;

use crate::{Result, Store, SummaryRow};

/// The columns of one `audit_entries` row.
pub(crate) type EntryCols = (i64, String, String, String, String, String, String, String, Vec<u8>);

/// The columns of one `records` row, as [`SummaryRow`] plus the binding and
/// the body.
pub(crate) struct RecordCols {
    pub summary: SummaryRow,
    /// The body, its encryption columns and the binding.
    pub raw: crate::RawRecord,
}

/// Every row the check reads.
pub(crate) struct IntegrityRows {
    pub entries: Vec<EntryCols>,
    /// `(key_hash, seq)`
    pub persons: Vec<(String, i64)>,
    pub records: Vec<RecordCols>,
    /// `(record_id, id_number)`
    pub record_persons: Vec<(String, String)>,
}

/// What [`Store::check_integrity`] found.
#[derive(Debug, Clone, Default)]
pub struct IntegrityReport {
    /// Audit entries read.
    pub entries: u64,
    /// Entries covered by a signed checkpoint whose signature and root
    /// were verified.
    pub signed_entries: u64,
    /// Entries after the last checkpoint: recomputed into the current tree
    /// head, which no signature covers yet.
    pub after_checkpoint: u64,
    /// Signed checkpoints verified.
    pub checkpoints: usize,
    /// The root over every entry (the current tree head), hex.
    pub head_root_hex: String,
    /// Records (all versions) read.
    pub records: u64,
    /// Every difference found, each naming its row. Empty means intact.
    pub problems: Vec<String>,
    /// Whether a checkpoint the hub signed at verify time was applied:
    /// `None` when none was given, `Some(false)` when it covers more
    /// entries than this copy holds (the copy is older than the hub's log).
    pub fresh_checkpoint_applied: Option<bool>,
}

impl Store {
    /// Checks every row of the audit log and of the records against each
    /// other, against the signed checkpoints and against the hub's seal
    /// under `key`; see the module documentation. Reads the whole database
    /// into memory.
    pub async fn check_integrity(&self, key: &hedui_trust::VerifyingKey) -> Result<IntegrityReport> {
        self.check_integrity_with(key, None).await
    }

    /// [`Store::check_integrity`], also verifying the log against `fresh`,
    /// a checkpoint the hub signed at verify time (it may not be stored in
    /// this database, which can be a copy). A fresh checkpoint larger than
    /// this copy's log is not applied, and the report says so.
    pub async fn check_integrity_with(
        &self,
        key: &hedui_trust::VerifyingKey,
        fresh: Option<SignedCheckpoint>,
    ) -> Result<IntegrityReport> {
        let mut checkpoints = self.checkpoints().await?;
        let rows: IntegrityRows = dispatch!(self.integrity_rows())?;
        let mut fresh_applied = None;
        if let Some(cp) = fresh {
            let applies = cp.checkpoint.tree_size <= rows.entries.len() as u64;
            fresh_applied = Some(applies);
            if applies {
                checkpoints.push(cp);
            }
        }
        let mut report = check(rows, &checkpoints, key, self.data_keys());
        report.fresh_checkpoint_applied = fresh_applied;
        Ok(report)
    }
}

fn check(
    rows: IntegrityRows,
    checkpoints: &[SignedCheckpoint],
    key: &hedui_trust::VerifyingKey,
    keys: Option<&dyn crate::KeyProvider>,
) -> IntegrityReport {
    let mut report = IntegrityReport {
        entries: rows.entries.len() as u64,
        records: rows.records.len() as u64,
        ..IntegrityReport::default()
    };
    let problems = &mut report.problems;

    // Entries: each row against its own canonical JSON, in seq order.
    let mut entries: Vec<AuditEntry> = Vec::with_capacity(rows.entries.len());
    for (position, (seq, time, actor, role, action, departments, status, text, leaf)) in rows.entries.iter().enumerate()
    {
        if *seq != position as i64 {
            problems.push(format!(
                "audit_entries: entry {position} is missing (the next row is seq {seq}); entries were deleted"
            ));
            break;
        }
        let entry: AuditEntry = match serde_json::from_str(text) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("audit_entries row {seq}: the entry does not parse: {e}"));
                break;
            }
        };
        if entry.seq != *seq as u64 {
            problems.push(format!("audit_entries row {seq}: the entry says seq {}", entry.seq));
        }
        if leaf.as_slice() != entry.leaf().as_slice() {
            problems.push(format!(
                "audit_entries row {seq}: the leaf column is not the hash of the entry (the entry or its leaf was edited)"
            ));
        }
        for (column, stored, canonical) in [
            ("time", time.as_str(), entry.time.as_str()),
            ("actor", actor.as_str(), entry.actor.as_str()),
            ("role", role.as_str(), entry.role.as_str()),
            ("action", action.as_str(), entry.action.as_str()),
            ("status", status.as_str(), entry.status.as_str()),
            ("departments", departments.as_str(), &entry.departments.join(",")),
        ] {
            if stored != canonical {
                problems.push(format!(
                    "audit_entries row {seq}: column {column} says {stored:?} but the entry says {canonical:?}"
                ));
            }
        }
        entries.push(entry);
    }

    // The person index, both ways.
    let expected: BTreeSet<(&str, i64)> = entries
        .iter()
        .flat_map(|e| e.persons.iter().map(move |p| (p.key_hash.as_str(), e.seq as i64)))
        .collect();
    let stored: BTreeSet<(&str, i64)> = rows.persons.iter().map(|(k, s)| (k.as_str(), *s)).collect();
    for (k, seq) in expected.difference(&stored) {
        problems.push(format!(
            "audit_persons: the row for entry {seq} and person {} is missing (the access is hidden from `audit who`)",
            short(k)
        ));
    }
    for (k, seq) in stored.difference(&expected) {
        problems.push(format!(
            "audit_persons: the row for entry {seq} and person {} names a person entry {seq} does not",
            short(k)
        ));
    }

    // The tree: signed checkpoints, then the head over everything.
    if checkpoints.is_empty() {
        problems.push("audit_checkpoints: the log has no signed checkpoint; nothing is covered by a signature".into());
    } else {
        match verify_full_log(&entries, checkpoints, key) {
            Ok(v) => {
                report.signed_entries = v.entries_verified as u64;
                report.checkpoints = v.checkpoints_verified;
            }
            Err(e) => problems.push(format!("audit log: {e}")),
        }
    }
    let mut frontier = Frontier::new();
    for e in &entries {
        frontier.append(e.leaf());
    }
    report.head_root_hex = hex::encode(frontier.root());
    report.after_checkpoint = (entries.len() as u64).saturating_sub(report.signed_entries);

    // Records: body, seal, columns, persons, binding.
    let mut members_of: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (record_id, id) in &rows.record_persons {
        members_of.entry(record_id.as_str()).or_default().insert(id.as_str());
    }
    let mut record_digests: HashSet<String> = HashSet::new();
    for r in &rows.records {
        let id = r.summary.record_id.as_str();
        if r.raw.erased_at.is_some() {
            // A tombstone (retention): no content or key is left, no person
            // is indexed, and its digest is still the one its entry recorded.
            record_digests.insert(r.summary.digest.clone());
            check_tombstone(r, members_of.remove(id).is_some(), &entries, problems);
            continue;
        }
        let record = match crate::decode(keys, &r.raw) {
            Ok(record) => record,
            Err(e) => {
                // Named once: its index rows and its entry are not also
                // reported as naming a record that is missing.
                problems.push(format!("records row {id}: {e}"));
                members_of.remove(id);
                record_digests.insert(r.summary.digest.clone());
                continue;
            }
        };
        record_digests.insert(record.digest.clone());
        if let Err(e) = hedui_trust::seal::verify(&record, key) {
            problems.push(format!("records row {id}: {e}"));
        }
        if let Err(e) = r.summary.check_against(&record) {
            problems.push(format!("records row {id}: {e}"));
        }
        // A sealed record's members are indexed by keyed hash; one written
        // before encryption (and not yet migrated) by the number itself.
        let sealed_members: BTreeSet<String> = record
            .household
            .iter()
            .flat_map(|h| &h.members)
            .map(|m| match (keys, &r.raw.kek_id) {
                (Some(k), Some(_)) => k.person_index(&m.id_number),
                _ => m.id_number.clone(),
            })
            .collect();
        let sealed_members: BTreeSet<&str> = sealed_members.iter().map(String::as_str).collect();
        let indexed = members_of.remove(id).unwrap_or_default();
        if indexed != sealed_members {
            problems.push(format!(
                "record_persons rows of record {id}: {} indexed, {} in the sealed record ({} missing, {} not members)",
                indexed.len(),
                sealed_members.len(),
                sealed_members.difference(&indexed).count(),
                indexed.difference(&sealed_members).count()
            ));
        }
        match r.raw.entry_seq {
            None => problems.push(format!(
                "records row {id}: not bound to any audit entry (entry_seq is empty)"
            )),
            Some(seq) => match entries.get(seq as usize) {
                Some(e) if e.record_digest == record.digest => {}
                Some(_) => problems.push(format!(
                    "records row {id}: its digest is not the one its audit entry {seq} recorded"
                )),
                None => problems.push(format!("records row {id}: its audit entry {seq} does not exist")),
            },
        }
    }
    for record_id in members_of.keys() {
        problems.push(format!(
            "record_persons: rows name record {record_id}, which is not stored"
        ));
    }
    // Every entry that names a record names one that is stored.
    for e in &entries {
        if !e.record_digest.is_empty() && !record_digests.contains(&e.record_digest) {
            problems.push(format!(
                "audit entry {} ({} {}) names record digest {} but no stored record has it",
                e.seq,
                e.action,
                e.status,
                short(&e.record_digest)
            ));
        }
    }
    report
}

/// The problems of a tombstone row: content or a key left behind, persons
/// still indexed, or a digest its audit entry does not carry.
fn check_tombstone(r: &RecordCols, indexed: bool, entries: &[AuditEntry], problems: &mut Vec<String>) {
    let id = &r.summary.record_id;
    if !r.raw.body.is_empty() || r.raw.kek_id.is_some() || r.raw.wrapped_key.is_some() {
        problems.push(format!(
            "records row {id}: erased under retention, yet its content or wrapped key is still stored"
        ));
    }
    if indexed {
        problems.push(format!(
            "record_persons rows of record {id}: the record was erased under retention, yet persons are indexed"
        ));
    }
    match r
        .raw
        .entry_seq
        .and_then(|seq| entries.get(seq as usize).map(|e| (seq, e)))
    {
        Some((_, e)) if e.record_digest == r.summary.digest => {}
        Some((seq, _)) => problems.push(format!(
            "records row {id}: its digest is not the one its audit entry {seq} recorded"
        )),
        None => problems.push(format!(
            "records row {id}: erased, and not bound to an audit entry of the log"
        )),
    }
}

/// The first 12 characters of a hash, for messages.
fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}
