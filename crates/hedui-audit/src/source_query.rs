//! The `source.query` entry: what the hub writes for each department it
//! meant to ask about one household, and how a reader tells the queries
//! that left the hub from those that never did.
//!
//! One entry per department per fan-out, written after the answer (or its
//! absence), with the department's outcome as `status` (`OK`, `NO_RECORD`,
//! `TIMEOUT`, `UNAVAILABLE`, `ERROR`, `REFUSED`, or `ABANDONED` when the hub
//! stopped waiting at shutdown) and, in `detail`:
//!
//! - for a query that was sent, `<latency> ms`, then `; <note>` when there
//!   is one (`250 ms; abandoned at shutdown: …`);
//! - for a query that was **not** sent (the department's circuit breaker was
//!   open, or the hub was stopping before a slot was free), `not asked: ` and
//!   the reason. The department never received such a query.
//!
//! A re-check asks only some departments and writes entries only for those;
//! the answers it keeps from the previous version have no new entry.
//!
//! Entries written before the `not asked` marker existed (hedui before
//! issue #14) gave an open breaker as `UNAVAILABLE` with `0 ms`; those read
//! as sent.

use crate::entry::AuditEntry;

/// The entry's `action`.
pub const ACTION: &str = "source.query";

/// How the `detail` of an entry for a query that was never sent begins.
pub const NOT_ASKED: &str = "not asked";

/// The `detail` of a query that was sent: its latency, and a note if any.
pub fn sent_detail(latency_ms: u32, note: &str) -> String {
    if note.is_empty() {
        format!("{latency_ms} ms")
    } else {
        format!("{latency_ms} ms; {note}")
    }
}

/// The `detail` of a query that was never sent, saying why. A reason that
/// already says "not asked" is kept as it is.
pub fn not_asked_detail(reason: &str) -> String {
    if reason.starts_with(NOT_ASKED) {
        reason.to_owned()
    } else {
        format!("{NOT_ASKED}: {reason}")
    }
}

/// One `source.query` entry as a report reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceQuery<'a> {
    /// The department's slug.
    pub department: &'a str,
    /// The outcome as logged, such as `OK` or `TIMEOUT`.
    pub status: &'a str,
    /// False when the entry says the query was never sent.
    pub sent: bool,
    /// The latency, for a query that was sent and whose detail gives it.
    pub latency_ms: Option<u32>,
}

/// Reads `entry` as a `source.query` entry; `None` for any other action or
/// an entry that does not name exactly one department.
pub fn read(entry: &AuditEntry) -> Option<SourceQuery<'_>> {
    if entry.action != ACTION {
        return None;
    }
    let [department] = entry.departments.as_slice() else {
        return None;
    };
    let sent = !entry.detail.starts_with(NOT_ASKED);
    let latency_ms = sent
        .then(|| {
            let (n, rest) = entry.detail.split_once(' ')?;
            (rest == "ms" || rest.starts_with("ms;")).then_some(())?;
            n.parse().ok()
        })
        .flatten();
    Some(SourceQuery {
        department,
        status: &entry.status,
        sent,
        latency_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, departments: &[&str], status: &str, detail: &str) -> AuditEntry {
        AuditEntry {
            seq: 0,
            time: "2026-11-30T14:58:40.687Z".into(),
            actor: "caseworker:zhang.san".into(),
            role: "caseworker".into(),
            action: action.into(),
            purpose: "minimum_living".into(),
            request_id: "r".into(),
            persons: Vec::new(),
            departments: departments.iter().map(|d| (*d).to_owned()).collect(),
            status: status.into(),
            record_digest: String::new(),
            detail: detail.into(),
        }
    }

    #[test]
    fn a_sent_query_gives_its_latency() {
        let e = entry(ACTION, &["tax"], "OK", &sent_detail(120, ""));
        assert_eq!(e.detail, "120 ms");
        assert_eq!(
            read(&e),
            Some(SourceQuery {
                department: "tax",
                status: "OK",
                sent: true,
                latency_ms: Some(120)
            })
        );
        let e = entry(
            ACTION,
            &["pboc"],
            "ABANDONED",
            &sent_detail(250, "abandoned at shutdown: the query was sent"),
        );
        assert_eq!(e.detail, "250 ms; abandoned at shutdown: the query was sent");
        let q = read(&e).unwrap();
        assert!(q.sent);
        assert_eq!(q.latency_ms, Some(250));
    }

    #[test]
    fn a_query_never_sent_is_marked_and_read_as_such() {
        let d = not_asked_detail("the circuit breaker is open");
        assert_eq!(d, "not asked: the circuit breaker is open");
        assert_eq!(not_asked_detail(&d), d, "said once");
        let e = entry(ACTION, &["housing"], "UNAVAILABLE", &d);
        let q = read(&e).unwrap();
        assert!(!q.sent);
        assert_eq!(q.latency_ms, None);
    }

    #[test]
    fn other_entries_are_not_source_queries() {
        assert_eq!(read(&entry("SubmitVerification", &["tax"], "OK", "")), None);
        assert_eq!(read(&entry(ACTION, &["tax", "pboc"], "OK", "1 ms")), None);
        assert_eq!(read(&entry(ACTION, &[], "OK", "1 ms")), None);
        // An old entry without a latency still counts as sent.
        let e = entry(ACTION, &["tax"], "ERROR", "");
        let q = read(&e).unwrap();
        assert!(q.sent);
        assert_eq!(q.latency_ms, None);
        assert_eq!(
            read(&entry(ACTION, &["tax"], "OK", "12 seconds")).unwrap().latency_ms,
            None
        );
    }
}
