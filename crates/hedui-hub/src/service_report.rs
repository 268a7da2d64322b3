//! The departments' service report (部门数据服务情况) behind
//! `AuditService/GetDepartmentReport`: per department, over one quarter in
//! China Standard Time and the quarter before it, the queries the hub sent
//! and what came of them.
//!
//! The figures come from the audit log's `source.query` entries, one per
//! query the hub sent to a department whatever the outcome
//! ([`hedui_audit::source_query`]), so they match what the departments
//! received, request for request; the records would miss queries that ended
//! in no record (a batch household deferred, a fan-out abandoned at
//! shutdown). An entry marked "not asked" (breaker open, hub stopping
//! before a slot was free) is counted apart, never as a query. A query to a
//! department that could not be reached counts as sent: the request left
//! the hub, and a department that is down is part of its service record.
//! The log holds no data dates, so the report has no data-age figures.
//!
//! Only figures leave this module: departments, counts and latencies.

use chrono::{DateTime, SecondsFormat, Utc};
use hedui_audit::source_query;
use hedui_domain::ValidationError;
use hedui_domain::department::{ALL, parse_slug};
use hedui_domain::quarter::{Quarter, cst};
use hedui_proto::v1::{DepartmentFigures, DepartmentReportPeriod, GetDepartmentReportResponse};
use hedui_store::audit::AuditFilter;

use crate::error::HubError;
use crate::service::HubState;

/// Entries read from the store at once.
const PAGE: u32 = 5_000;

/// The outcomes a `source.query` entry may log, in the order of
/// [`Counts::outcomes`]. An unknown status counts as an error.
const OUTCOMES: [&str; 7] = [
    "OK",
    "NO_RECORD",
    "TIMEOUT",
    "UNAVAILABLE",
    "ERROR",
    "REFUSED",
    "ABANDONED",
];

#[derive(Default)]
struct Counts {
    outcomes: [u64; 7],
    not_asked: u64,
    latencies: Vec<u32>,
}

/// One quarter's figures, fed one entry at a time.
pub struct Tally {
    quarter: Quarter,
    counts: Vec<Counts>,
    requests: std::collections::HashSet<String>,
}

impl Tally {
    /// An empty tally for `quarter`.
    pub fn new(quarter: Quarter) -> Self {
        Self {
            quarter,
            counts: ALL.iter().map(|_| Counts::default()).collect(),
            requests: Default::default(),
        }
    }

    /// Counts `entry` if it is a `source.query` entry for a known
    /// department; other entries are ignored. The caller decides the
    /// quarter by the entry's time.
    pub fn add(&mut self, entry: &hedui_audit::AuditEntry) {
        let Some(q) = source_query::read(entry) else {
            return;
        };
        let Some(i) = parse_slug(q.department)
            .ok()
            .and_then(|d| ALL.iter().position(|x| *x == d))
        else {
            return;
        };
        let c = &mut self.counts[i];
        if !q.sent {
            c.not_asked += 1;
            return;
        }
        let o = OUTCOMES.iter().position(|o| *o == q.status).unwrap_or(4);
        c.outcomes[o] += 1;
        if let Some(ms) = q.latency_ms {
            c.latencies.push(ms);
        }
        if !entry.request_id.is_empty() && !self.requests.contains(&entry.request_id) {
            self.requests.insert(entry.request_id.clone());
        }
    }

    /// The figures.
    pub fn finish(self) -> DepartmentReportPeriod {
        let instant = |t: DateTime<chrono::FixedOffset>| t.to_rfc3339_opts(SecondsFormat::Secs, false);
        DepartmentReportPeriod {
            quarter: self.quarter.to_string(),
            from: instant(self.quarter.first_instant()),
            to: instant(self.quarter.end()),
            requests: self.requests.len() as u64,
            departments: ALL
                .iter()
                .zip(self.counts)
                .map(|(d, mut c)| {
                    c.latencies.sort_unstable();
                    let [ok, no_record, timeouts, unavailable, errors, refused, abandoned] = c.outcomes;
                    DepartmentFigures {
                        department: *d as i32,
                        queries: c.outcomes.iter().sum(),
                        ok,
                        no_record,
                        timeouts,
                        unavailable,
                        errors,
                        refused,
                        abandoned,
                        not_asked: c.not_asked,
                        p50_ms: percentile(&c.latencies, 50),
                        p95_ms: percentile(&c.latencies, 95),
                    }
                })
                .collect(),
        }
    }
}

/// The `p`-th percentile of sorted values by the nearest-rank method: the
/// smallest value with at least `p` % of the values at or below it.
pub fn percentile(sorted: &[u32], p: u32) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1);
    sorted.get((rank - 1) as usize).copied()
}

/// A time as the log writes times (UTC, milliseconds, `Z`), so the store's
/// text comparison compares instants.
fn log_time(t: DateTime<chrono::FixedOffset>) -> String {
    t.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads `quarter` as the request names it; a bad one is INVALID_ARGUMENT
/// naming `quarter`.
pub fn parse_quarter(quarter: &str) -> Result<Quarter, ValidationError> {
    Quarter::parse(quarter).map_err(|e| ValidationError::one("quarter", e))
}

impl HubState {
    /// The report of `quarter` and the quarter before it, from the
    /// `source.query` entries in the log now (up to its current size).
    pub async fn department_report(&self, quarter: Quarter) -> Result<GetDepartmentReportResponse, HubError> {
        let previous = quarter.previous();
        let tree_size = self.store.audit_size().await?;
        let mut tallies = [Tally::new(previous), Tally::new(quarter)];
        let mut after_seq = None;
        loop {
            let page = self
                .store
                .audit_entries(&AuditFilter {
                    from: Some(log_time(previous.first_instant())),
                    to: Some(log_time(quarter.end())),
                    action: Some(source_query::ACTION.to_owned()),
                    after_seq,
                    limit: PAGE,
                    ..AuditFilter::default()
                })
                .await?;
            for e in page.iter().filter(|e| e.seq < tree_size) {
                let Ok(at) = DateTime::parse_from_rfc3339(&e.time) else {
                    continue;
                };
                let at = at.with_timezone(&Utc);
                if let Some(t) = tallies.iter_mut().find(|t| t.quarter.contains(at)) {
                    t.add(e);
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize && last.seq + 1 < tree_size => {
                    after_seq = Some(last.seq + 1);
                }
                _ => break,
            }
        }
        let [previous, current] = tallies;
        Ok(GetDepartmentReportResponse {
            current: Some(current.finish()),
            previous: Some(previous.finish()),
            tree_size,
            counted_at: Utc::now()
                .with_timezone(&cst())
                .to_rfc3339_opts(SecondsFormat::Secs, false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedui_proto::v1::Department;

    fn entry(department: &str, status: &str, detail: &str, request_id: &str) -> hedui_audit::AuditEntry {
        hedui_audit::AuditEntry {
            seq: 0,
            time: "2026-11-30T14:58:40.687Z".into(),
            actor: "caseworker:zhang.san".into(),
            role: "caseworker".into(),
            action: source_query::ACTION.into(),
            purpose: "minimum_living".into(),
            request_id: request_id.into(),
            persons: Vec::new(),
            departments: vec![department.into()],
            status: status.into(),
            record_digest: String::new(),
            detail: detail.into(),
        }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50), Some(50));
        assert_eq!(percentile(&v, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[1, 2], 50), Some(1));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn every_sent_query_counts_once_and_not_asked_ones_apart() {
        let mut t = Tally::new(Quarter::parse("2026Q4").unwrap());
        t.add(&entry("tax", "OK", "100 ms", "a"));
        t.add(&entry("tax", "NO_RECORD", "300 ms", "b"));
        t.add(&entry("tax", "TIMEOUT", "10000 ms", "c"));
        t.add(&entry("tax", "UNAVAILABLE", "5 ms", "d"));
        t.add(&entry(
            "tax",
            "UNAVAILABLE",
            "not asked: the circuit breaker is open",
            "e",
        ));
        t.add(&entry(
            "tax",
            "ABANDONED",
            "not asked: abandoned at shutdown: the query was not sent",
            "f",
        ));
        t.add(&entry(
            "tax",
            "ABANDONED",
            "20 ms; abandoned at shutdown: the query was sent",
            "g",
        ));
        t.add(&entry("tax", "SOMETHING_NEW", "7 ms", "h"));
        t.add(&entry("pboc", "REFUSED", "9 ms", "a"));
        t.add(&entry("nowhere", "OK", "9 ms", "z"));
        let mut other = entry("tax", "OK", "1 ms", "y");
        other.action = "SubmitVerification".into();
        t.add(&other);
        let p = t.finish();
        assert_eq!(p.quarter, "2026Q4");
        assert_eq!(p.from, "2026-10-01T00:00:00+08:00");
        assert_eq!(p.to, "2027-01-01T00:00:00+08:00");
        assert_eq!(p.departments.len(), 8);
        // a, b, c, d, g, h and the pboc query of a: e and f were not sent.
        assert_eq!(p.requests, 6);
        let tax = &p.departments[ALL.iter().position(|d| *d == Department::Tax).unwrap()];
        assert_eq!(
            (
                tax.queries,
                tax.ok,
                tax.no_record,
                tax.timeouts,
                tax.unavailable,
                tax.errors,
                tax.refused,
                tax.abandoned,
                tax.not_asked
            ),
            (6, 1, 1, 1, 1, 1, 0, 1, 2)
        );
        // Latencies 5, 7, 20, 100, 300, 10000.
        assert_eq!((tax.p50_ms, tax.p95_ms), (Some(20), Some(10000)));
        let pboc = &p.departments[ALL.iter().position(|d| *d == Department::Pboc).unwrap()];
        assert_eq!((pboc.queries, pboc.refused), (1, 1));
        let housing = &p.departments[ALL.iter().position(|d| *d == Department::Housing).unwrap()];
        assert_eq!((housing.queries, housing.p50_ms), (0, None));
    }
}
