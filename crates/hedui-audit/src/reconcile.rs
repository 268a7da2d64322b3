//! Two-sided reconciliation: a partner department's query log against the
//! hub's audit log.
//!
//! The bureau's audit log says which departments it asked, for whom and
//! under which authorization; the department's own log says what it was
//! actually asked. [`reconcile`] checks, for a period, that the two agree:
//!
//! - every query the department let through to its data (`received`) has a
//!   hub `source.query` entry with the same grant, that is the same request
//!   id and department (the hub issues exactly one grant per department per
//!   request), naming the same purpose and the same (masked) persons;
//! - every hub entry that claims an answer (`OK` or `NO_RECORD`) was
//!   received by the department;
//! - the hub's export verifies under the hub key, and the department's log
//!   verifies by its hash chain and its signed checkpoints under the
//!   department's key.
//!
//! Each difference is named. The hub writes its `source.query` entry after
//! the answer and the department writes its line before the data is read,
//! so near the end of the period a department line may not have its hub
//! entry yet, and near the start a hub entry may have its line just before
//! the period; items within `margin` of those edges are reported as
//! unproven, not as differences.

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;

use crate::adapter_log::{self, LogProblem, LogVerification, RECEIVED, SignedLogCheckpoint};
use crate::export::{BundleError, ExportBundle, VerifyReport, verify_bundle};

/// Hub outcomes that say the department answered.
pub const ANSWERED_OUTCOMES: [&str; 2] = ["OK", "NO_RECORD"];

/// The period to reconcile, `[from, to)`, and the margin at its edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Start, inclusive.
    pub from: DateTime<Utc>,
    /// End, exclusive.
    pub to: DateTime<Utc>,
    /// How long a query may take between the department's line and the
    /// hub's entry; at most the grant lifetime (10 minutes).
    pub margin: chrono::Duration,
}

/// One way the two logs disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Difference {
    /// The hub's export does not verify.
    #[error("hub export: {0}")]
    HubExport(BundleError),
    /// The department's log does not verify.
    #[error("{0}")]
    AdapterLog(LogProblem),
    /// The department received a query the hub has no entry for.
    #[error(
        "adapter log line {line} ({time}): request {request_id} reached the department's data, but the hub export has no source.query entry for it"
    )]
    NotInHubLog {
        /// The line number.
        line: u64,
        /// The request id.
        request_id: String,
        /// The line's time.
        time: String,
    },
    /// The hub claims an answer the department never received.
    #[error(
        "hub entry seq {seq} ({time}): request {request_id} is logged as {status}, but the adapter log has no received query for it"
    )]
    NotInAdapterLog {
        /// The entry's seq.
        seq: u64,
        /// The request id.
        request_id: String,
        /// The outcome the hub logged.
        status: String,
        /// The entry's time.
        time: String,
    },
    /// The two sides name different purposes or persons for one grant.
    #[error("request {request_id}: the hub entry (seq {seq}) and adapter log line {line} differ in {what}")]
    Mismatch {
        /// The request id.
        request_id: String,
        /// The hub entry's seq.
        seq: u64,
        /// The adapter line.
        line: u64,
        /// `purpose` or `persons`.
        what: &'static str,
    },
    /// The department let the same grant through twice.
    #[error("request {request_id}: adapter log lines {first} and {second} both received it (a replay got through)")]
    ReceivedTwice {
        /// The request id.
        request_id: String,
        /// The first line.
        first: u64,
        /// The second line.
        second: u64,
    },
}

/// What [`reconcile`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    /// The department's slug.
    pub department: String,
    /// The period reconciled.
    pub period: Period,
    /// What the hub export proved, when it verified.
    pub hub: Option<VerifyReport>,
    /// Whether the export holds every entry from seq 0 to its checkpoint;
    /// if not, an entry missing from the export cannot be told from one
    /// missing from the hub's log.
    pub hub_export_complete: bool,
    /// Lines of the department's log covered by a signed checkpoint.
    pub adapter_signed_lines: u64,
    /// Lines after the last checkpoint (chained, not signed).
    pub adapter_unsigned_lines: u64,
    /// Department lines in the period that the data was asked for.
    pub received: usize,
    /// Hub `source.query` entries for the department in the period.
    pub hub_entries: usize,
    /// Grants found on both sides.
    pub matched: usize,
    /// Every difference.
    pub differences: Vec<Difference>,
    /// Facts that are not differences but that an auditor should see:
    /// refusals, items at the edges of the period.
    pub notes: Vec<String>,
}

impl Reconciliation {
    /// True when both logs verify and agree.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

fn in_period(t: Option<DateTime<Utc>>, p: &Period) -> bool {
    t.is_some_and(|t| t >= p.from && t < p.to)
}

/// Reconciles `log_text` (the department's query log) and its
/// `checkpoints` with the hub's `bundle` over `range`, `[from, to)`, with
/// `margin` at its edges. With no range, the time both logs cover is taken
/// (from the later first item to just after the earlier last one).
pub fn reconcile(
    bundle: &ExportBundle,
    hub_key: &VerifyingKey,
    log_text: &str,
    checkpoints: &[SignedLogCheckpoint],
    adapter_key: &VerifyingKey,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    margin: chrono::Duration,
) -> Reconciliation {
    let mut differences = Vec::new();
    let mut notes = Vec::new();

    let hub = match verify_bundle(bundle, hub_key) {
        Ok(r) => Some(r),
        Err(e) => {
            differences.push(Difference::HubExport(e));
            None
        }
    };
    let hub_export_complete = bundle.entries.len() as u64 == bundle.checkpoint.checkpoint.tree_size
        && bundle.entries.iter().enumerate().all(|(i, e)| e.seq == i as u64);
    if !hub_export_complete {
        notes.push(
            "the hub export is not the whole log (seq 0 to its checkpoint), so it proves that its entries are genuine but not that none is missing: a department query without a hub entry may be an entry the export left out; ask for a complete export"
                .to_owned(),
        );
    }

    let log: LogVerification = adapter_log::verify_query_log(log_text, checkpoints, adapter_key);
    differences.extend(log.problems.iter().cloned().map(Difference::AdapterLog));
    if log.unsigned_lines() > 0 {
        notes.push(format!(
            "{} adapter log lines after its last signed checkpoint are verified by the hash chain only: lines cut off after it would not be seen",
            log.unsigned_lines()
        ));
    }
    let department = log.department.clone();

    let hub_entries: Vec<_> = bundle
        .entries
        .iter()
        .filter(|e| e.action == "source.query" && e.departments.contains(&department))
        .collect();

    let (from, to) = range.unwrap_or_else(|| {
        let hub_times = hub_entries.iter().filter_map(|e| parse_time(&e.time));
        let log_times = log.lines.iter().filter_map(|l| parse_time(&l.line.time));
        let span = |it: &mut dyn Iterator<Item = DateTime<Utc>>| {
            it.fold(None, |acc: Option<(DateTime<Utc>, DateTime<Utc>)>, t| match acc {
                None => Some((t, t)),
                Some((a, b)) => Some((a.min(t), b.max(t))),
            })
        };
        let (h, l) = (span(&mut { hub_times }), span(&mut { log_times }));
        let (from, to) = match (h, l) {
            (Some(h), Some(l)) => (h.0.max(l.0), h.1.min(l.1)),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => (DateTime::<Utc>::UNIX_EPOCH, DateTime::<Utc>::UNIX_EPOCH),
        };
        (from, to + chrono::Duration::milliseconds(1))
    });
    let period = Period { from, to, margin };

    // The grant is (request id, department); the department is fixed here.
    let mut by_request: std::collections::BTreeMap<&str, Vec<&crate::entry::AuditEntry>> = Default::default();
    for e in &hub_entries {
        by_request.entry(e.request_id.as_str()).or_default().push(e);
    }
    let mut received_by_request: std::collections::BTreeMap<&str, &adapter_log::NumberedLine> = Default::default();
    let mut refused = 0usize;
    let mut refused_unknown = 0usize;
    let mut received = 0usize;
    let mut matched = 0usize;
    let mut edge = 0usize;
    for l in &log.lines {
        let t = parse_time(&l.line.time);
        if l.line.outcome != RECEIVED {
            if in_period(t, &period) {
                refused += 1;
                if !by_request.contains_key(l.line.request_id.as_str()) {
                    refused_unknown += 1;
                }
            }
            continue;
        }
        if let Some(first) = received_by_request.insert(l.line.request_id.as_str(), l) {
            differences.push(Difference::ReceivedTwice {
                request_id: l.line.request_id.clone(),
                first: first.number,
                second: l.number,
            });
        }
        if !in_period(t, &period) {
            continue;
        }
        received += 1;
        match by_request.get(l.line.request_id.as_str()).and_then(|v| v.first()) {
            Some(e) => {
                matched += 1;
                if e.purpose != l.line.purpose {
                    differences.push(Difference::Mismatch {
                        request_id: l.line.request_id.clone(),
                        seq: e.seq,
                        line: l.number,
                        what: "purpose",
                    });
                }
                let mut hub_persons: Vec<&str> = e.persons.iter().map(|p| p.masked.as_str()).collect();
                let mut log_persons: Vec<&str> = l.line.persons.iter().map(String::as_str).collect();
                hub_persons.sort_unstable();
                log_persons.sort_unstable();
                if hub_persons != log_persons {
                    differences.push(Difference::Mismatch {
                        request_id: l.line.request_id.clone(),
                        seq: e.seq,
                        line: l.number,
                        what: "persons",
                    });
                }
            }
            None if t.is_some_and(|t| t >= period.to - period.margin) => edge += 1,
            None => differences.push(Difference::NotInHubLog {
                line: l.number,
                request_id: l.line.request_id.clone(),
                time: l.line.time.clone(),
            }),
        }
    }
    let mut hub_in_period = 0usize;
    for e in &hub_entries {
        let t = parse_time(&e.time);
        if !in_period(t, &period) {
            continue;
        }
        hub_in_period += 1;
        if !ANSWERED_OUTCOMES.contains(&e.status.as_str()) || received_by_request.contains_key(e.request_id.as_str()) {
            continue;
        }
        if t.is_some_and(|t| t < period.from + period.margin) {
            edge += 1;
        } else {
            differences.push(Difference::NotInAdapterLog {
                seq: e.seq,
                request_id: e.request_id.clone(),
                status: e.status.clone(),
                time: e.time.clone(),
            });
        }
    }
    if refused > 0 {
        notes.push(format!(
            "the department refused {refused} calls in the period (wrong caller, bad or replayed grant, invalid query); {refused_unknown} of them have no hub entry for their request"
        ));
    }
    if edge > 0 {
        notes.push(format!(
            "{edge} items within {} minutes of the period's edges have no counterpart, which may lie just outside the period: not proven either way",
            period.margin.num_minutes()
        ));
    }
    Reconciliation {
        department,
        period,
        hub,
        hub_export_complete,
        adapter_signed_lines: log.signed_lines,
        adapter_unsigned_lines: log.unsigned_lines(),
        received,
        hub_entries: hub_in_period,
        matched,
        differences,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter_log::tests::{chained, key as adapter_key};
    use crate::checkpoint::{Checkpoint, sign};
    use crate::entry::{AuditEntry, PersonRef};
    use crate::merkle::MerkleTree;
    use ed25519_dalek::SigningKey;

    fn hub_key() -> SigningKey {
        SigningKey::from_bytes(&[3; 32])
    }

    fn source_query(seq: u64, request_id: &str, status: &str) -> AuditEntry {
        AuditEntry {
            seq,
            time: format!("2026-11-26T10:{:02}:00.500Z", seq % 60),
            actor: "caseworker:zhang.san".into(),
            role: "caseworker".into(),
            action: "source.query".into(),
            purpose: "dibao".into(),
            request_id: request_id.into(),
            persons: vec![PersonRef {
                key_hash: "00".into(),
                masked: "5206**********501X".into(),
            }],
            departments: vec!["tax".into()],
            status: status.into(),
            record_digest: String::new(),
            detail: "12 ms".into(),
        }
    }

    /// A complete export of `entries` (renumbered from 0) under a checkpoint.
    fn export(entries: Vec<AuditEntry>) -> ExportBundle {
        let entries: Vec<AuditEntry> = entries
            .into_iter()
            .enumerate()
            .map(|(i, mut e)| {
                e.seq = i as u64;
                e
            })
            .collect();
        let leaves: Vec<_> = entries.iter().map(AuditEntry::leaf).collect();
        let cp = sign(
            Checkpoint {
                origin: "hedui.test/audit".into(),
                tree_size: leaves.len() as u64,
                root: MerkleTree::new(&leaves).root(),
                time: "2026-11-26T12:00:00.000Z".into(),
            },
            &hub_key(),
        );
        ExportBundle::build(entries, &leaves, cp, vec![], &hub_key().verifying_key()).unwrap()
    }

    fn period() -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        Some((
            parse_time("2026-11-26T09:00:00Z").unwrap(),
            parse_time("2026-11-26T12:00:00Z").unwrap(),
        ))
    }

    fn run(bundle: &ExportBundle, log: &str, cps: &[SignedLogCheckpoint]) -> Reconciliation {
        reconcile(
            bundle,
            &hub_key().verifying_key(),
            log,
            cps,
            &adapter_key().verifying_key(),
            period(),
            chrono::Duration::minutes(10),
        )
    }

    fn hub_side() -> Vec<AuditEntry> {
        vec![
            source_query(0, "a", "OK"),
            source_query(1, "b", "NO_RECORD"),
            source_query(2, "c", "OK"),
            // Timed out at the hub: the department may or may not have
            // seen it; either way it is not a difference.
            source_query(3, "t", "TIMEOUT"),
        ]
    }

    #[test]
    fn agreeing_logs_reconcile() {
        let (log, cps) = chained(&["a", "b", "c"]);
        let r = run(&export(hub_side()), &log, &cps);
        assert_eq!(r.differences, vec![]);
        assert!(r.is_clean());
        assert!(r.hub_export_complete);
        assert_eq!((r.received, r.hub_entries, r.matched), (3, 4, 3));
        assert_eq!(r.department, "tax");
    }

    #[test]
    fn a_line_deleted_on_each_side_is_found() {
        let (log, cps) = chained(&["a", "b", "c"]);
        // The hub's entry for b is deleted from its log before the export.
        let mut hub = hub_side();
        hub.remove(1);
        // The department's line for c is deleted and the chain rebuilt, so
        // only the signed checkpoint can tell.
        let (cut_log, _) = chained(&["a", "b"]);
        let r = run(&export(hub.clone()), &cut_log, &cps);
        assert!(
            r.differences.contains(&Difference::NotInHubLog {
                line: 2,
                request_id: "b".into(),
                time: "2026-11-26T10:01:00.000Z".into()
            }),
            "{:#?}",
            r.differences
        );
        assert!(
            r.differences
                .iter()
                .any(|d| matches!(d, Difference::NotInAdapterLog { request_id, .. } if request_id == "c")),
            "{:#?}",
            r.differences
        );
        assert!(
            r.differences.iter().any(|d| matches!(
                d,
                Difference::AdapterLog(LogProblem::Truncated {
                    lines: 3,
                    actual: 2,
                    ..
                })
            )),
            "{:#?}",
            r.differences
        );
        // Deleting without rebuilding breaks the chain at the line after.
        let broken: String = log
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != 0)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let r = run(&export(hub_side()), &broken, &cps);
        assert!(r.differences.contains(&Difference::AdapterLog(LogProblem::BadStart)));
        assert!(
            r.differences
                .iter()
                .any(|d| matches!(d, Difference::NotInAdapterLog { request_id, .. } if request_id == "a"))
        );
    }

    #[test]
    fn an_edited_line_breaks_the_chain() {
        let (log, cps) = chained(&["a", "b", "c"]);
        let edited = log.replacen("\"request_id\":\"a\"", "\"request_id\":\"z\"", 1);
        let r = run(&export(hub_side()), &edited, &cps);
        assert!(
            r.differences
                .contains(&Difference::AdapterLog(LogProblem::ChainBroken { line: 2 }))
        );
    }

    #[test]
    fn a_tampered_hub_export_does_not_verify() {
        let (log, cps) = chained(&["a", "b", "c"]);
        let mut bundle = export(hub_side());
        bundle.entries[0].persons[0].masked = "5206**********0000".into();
        let r = run(&bundle, &log, &cps);
        assert!(
            matches!(r.differences[0], Difference::HubExport(_)),
            "{:#?}",
            r.differences
        );
        // The edit also shows as a mismatch between the two sides.
        assert!(
            r.differences
                .iter()
                .any(|d| matches!(d, Difference::Mismatch { what: "persons", .. }))
        );
    }

    #[test]
    fn a_filtered_export_is_said_to_prove_no_completeness() {
        let (log, cps) = chained(&["a", "b", "c"]);
        let full = export(hub_side());
        let leaves: Vec<_> = full.entries.iter().map(AuditEntry::leaf).collect();
        let subset = ExportBundle::build(
            full.entries[..3].to_vec(),
            &leaves,
            full.checkpoint.clone(),
            vec![],
            &hub_key().verifying_key(),
        )
        .unwrap();
        let r = run(&subset, &log, &cps);
        assert!(r.is_clean(), "{:#?}", r.differences);
        assert!(!r.hub_export_complete);
        assert!(r.notes[0].contains("not that none is missing"));
    }

    #[test]
    fn items_at_the_edges_of_the_period_are_unproven_not_different() {
        let (log, cps) = chained(&["a", "b", "c"]);
        let r = reconcile(
            &export(vec![source_query(0, "a", "OK")]),
            &hub_key().verifying_key(),
            &log,
            &cps,
            &adapter_key().verifying_key(),
            Some((
                parse_time("2026-11-26T09:00:00Z").unwrap(),
                parse_time("2026-11-26T10:05:00Z").unwrap(),
            )),
            chrono::Duration::minutes(10),
        );
        assert!(r.is_clean(), "{:#?}", r.differences);
        assert!(
            r.notes.iter().any(|n| n.starts_with("2 items within 10 minutes")),
            "{:?}",
            r.notes
        );
    }
}
