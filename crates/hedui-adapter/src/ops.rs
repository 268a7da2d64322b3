//! What makes an adapter as observable as the hub: its Prometheus metrics,
//! and the listeners beside the query port (`health_listen`, a plaintext
//! port serving `grpc.health.v1` alone for the kubelet's probes, and
//! `metrics_listen`, plain HTTP `GET /metrics`).
//!
//! | family | type | labels |
//! |---|---|---|
//! | `hedui_build_info` | gauge (1) | `version`, `commit` |
//! | `hedui_adapter_queries_total` | counter | `department`, `outcome` (the gRPC code the hub got: `OK`, `INVALID_ARGUMENT`, `PERMISSION_DENIED`, `UNAUTHENTICATED`, `UNAVAILABLE`, `INTERNAL`) |
//! | `hedui_adapter_query_duration_seconds` | histogram | `department` |
//! | `hedui_adapter_grant_refusals_total` | counter | `department`, `reason` (`expired`, `replayed`, `mismatch`, …) |
//! | `hedui_adapter_backend_errors_total` | counter | `department`, `kind` (`unavailable`, `failed`, `mapping`, `invalid_reply`) |
//! | `hedui_adapter_snapshot_age_days` | gauge | `department`, `category` (snapshot backend; absent before a category's first import) |
//! | `hedui_adapter_snapshot_stale` | gauge | `department`, `category`: 1 when older than `max_age_days` or never imported |
//! | `hedui_adapter_handshake_refusals_total` | counter | |
//! | `process_*` | | as the hub's |
//! | `hedui_certificate_expiry_seconds`, `hedui_crl_next_update_seconds` | gauge | as the hub's |
//!
//! Labels are fixed words only: never a person, an ID number, a request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use hedui_ops::exposition::{Histogram, family, lock};
use hedui_ops::grpc::code_name;
use hedui_trust::grant::GrantError;
use tokio::net::TcpListener;

/// The `grpc.health.v1` entries of an adapter: the whole server and the
/// one service it serves.
pub const SERVICES: [&str; 1] = [hedui_proto::v1::source_service_server::SERVICE_NAME];

/// Every service on the adapter's query port, as reflection lists them.
pub const LISTED: [&str; 4] = [
    SERVICES[0],
    hedui_ops::grpc::HEALTH,
    hedui_ops::grpc::REFLECTION[0],
    hedui_ops::grpc::REFLECTION[1],
];

/// The listeners an adapter serves besides its query port, bound by the
/// caller (port 0 in tests).
#[derive(Debug, Default)]
pub struct OpsListeners {
    /// Plaintext `grpc.health.v1` alone, for probes (`health_listen`).
    pub health: Option<TcpListener>,
    /// Plain HTTP `GET /metrics` (`metrics_listen`).
    pub metrics: Option<TcpListener>,
}

/// The date of each category's data and the age allowed, for the
/// snapshot-age metrics (see [`crate::Source::snapshot_dates`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDates {
    /// Older data is stale.
    pub max_age_days: u32,
    /// Each category, with the date of its data; `None` before its first
    /// import.
    pub categories: Vec<(&'static str, Option<NaiveDate>)>,
}

/// An adapter's metrics; cheap to clone.
#[derive(Clone)]
pub struct AdapterMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    department: &'static str,
    queries: Mutex<BTreeMap<&'static str, u64>>,
    latency: Mutex<Histogram>,
    refusals: Mutex<BTreeMap<&'static str, u64>>,
    backend_errors: Mutex<BTreeMap<&'static str, u64>>,
    handshake_refusals: AtomicU64,
    tls: Mutex<Option<hedui_tls::ServerTls>>,
}

/// A grant refusal's reason as a label.
pub fn refusal_label(e: &GrantError) -> &'static str {
    match e {
        GrantError::Missing => "missing",
        GrantError::Malformed(_) => "malformed",
        GrantError::BadSignature => "bad_signature",
        GrantError::UnknownKey => "unknown_key",
        GrantError::Expired => "expired",
        GrantError::NotYetValid => "not_yet_valid",
        GrantError::TooLong => "too_long",
        GrantError::WrongDepartment => "wrong_department",
        GrantError::Mismatch { .. } => "mismatch",
        GrantError::PersonNotGranted { .. } => "person_not_granted",
        GrantError::Replayed => "replayed",
    }
}

impl AdapterMetrics {
    /// Empty metrics of the adapter for `department`.
    pub fn new(department: hedui_proto::v1::Department) -> Self {
        Self {
            inner: Arc::new(Inner {
                department: hedui_domain::department::slug(department),
                queries: Mutex::default(),
                latency: Mutex::default(),
                refusals: Mutex::default(),
                backend_errors: Mutex::default(),
                handshake_refusals: AtomicU64::new(0),
                tls: Mutex::default(),
            }),
        }
    }

    /// Counts one answered or refused query and times it.
    pub fn query(&self, code: tonic::Code, took: Duration) {
        *lock(&self.inner.queries).entry(code_name(code)).or_default() += 1;
        lock(&self.inner.latency).observe(took);
    }

    /// Counts a refused grant.
    pub fn grant_refused(&self, e: &GrantError) {
        *lock(&self.inner.refusals).entry(refusal_label(e)).or_default() += 1;
    }

    /// Counts an error of the backend: `unavailable`, `failed`, `mapping`
    /// or `invalid_reply`.
    pub fn backend_error(&self, kind: &'static str) {
        *lock(&self.inner.backend_errors).entry(kind).or_default() += 1;
    }

    /// Counts a refused TLS handshake.
    pub fn handshake_refused(&self) {
        self.inner.handshake_refusals.fetch_add(1, Ordering::Relaxed);
    }

    /// Reports the certificate and revocation list of `tls` (the adapter's own).
    pub fn set_tls(&self, tls: hedui_tls::ServerTls) {
        *lock(&self.inner.tls) = Some(tls);
    }

    /// The text exposition as of `now`, with the snapshot's dates when the
    /// backend has them.
    pub fn render(&self, now: chrono::DateTime<chrono::Utc>, snapshot: Option<&SnapshotDates>) -> String {
        let d = self.inner.department;
        let mut out = String::new();
        hedui_ops::exposition::build_info(&mut out, "adapter");
        family(
            &mut out,
            "hedui_adapter_queries_total",
            "counter",
            "Queries from the hub by the gRPC code of the answer (OK, INVALID_ARGUMENT, PERMISSION_DENIED, UNAUTHENTICATED, UNAVAILABLE, INTERNAL).",
        );
        for (outcome, n) in lock(&self.inner.queries).iter() {
            let _ = writeln!(
                out,
                "hedui_adapter_queries_total{{department=\"{d}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        family(
            &mut out,
            "hedui_adapter_query_duration_seconds",
            "histogram",
            "Time from a query's arrival until its answer or refusal.",
        );
        lock(&self.inner.latency).write(
            &mut out,
            "hedui_adapter_query_duration_seconds",
            &format!("department=\"{d}\""),
        );
        family(
            &mut out,
            "hedui_adapter_grant_refusals_total",
            "counter",
            "Queries refused because of their grant, by reason.",
        );
        for (reason, n) in lock(&self.inner.refusals).iter() {
            let _ = writeln!(
                out,
                "hedui_adapter_grant_refusals_total{{department=\"{d}\",reason=\"{reason}\"}} {n}"
            );
        }
        family(
            &mut out,
            "hedui_adapter_backend_errors_total",
            "counter",
            "Errors of the department's data source: unavailable (cannot be reached), failed, mapping (data does not fit the contract), invalid_reply.",
        );
        for (kind, n) in lock(&self.inner.backend_errors).iter() {
            let _ = writeln!(
                out,
                "hedui_adapter_backend_errors_total{{department=\"{d}\",kind=\"{kind}\"}} {n}"
            );
        }
        if let Some(s) = snapshot {
            let today = now.date_naive();
            family(
                &mut out,
                "hedui_adapter_snapshot_age_days",
                "gauge",
                "Days since the date of a category's imported snapshot; absent before its first import.",
            );
            for (category, date) in &s.categories {
                if let Some(date) = date {
                    let _ = writeln!(
                        out,
                        "hedui_adapter_snapshot_age_days{{department=\"{d}\",category=\"{category}\"}} {}",
                        (today - *date).num_days()
                    );
                }
            }
            family(
                &mut out,
                "hedui_adapter_snapshot_stale",
                "gauge",
                "1 when a category's snapshot is older than max_age_days or was never imported, else 0.",
            );
            for (category, date) in &s.categories {
                let stale = date.is_none_or(|date| (today - date).num_days() > i64::from(s.max_age_days));
                let _ = writeln!(
                    out,
                    "hedui_adapter_snapshot_stale{{department=\"{d}\",category=\"{category}\"}} {}",
                    u8::from(stale)
                );
            }
        }
        family(
            &mut out,
            "hedui_adapter_handshake_refusals_total",
            "counter",
            "TLS handshakes refused (no certificate, another CA, expired, revoked).",
        );
        let _ = writeln!(
            out,
            "hedui_adapter_handshake_refusals_total {}",
            self.inner.handshake_refusals.load(Ordering::Relaxed)
        );
        hedui_ops::exposition::process(&mut out, "adapter");
        let tls = lock(&self.inner.tls).clone();
        if let Some(tls) = tls {
            hedui_ops::exposition::certificate(&mut out, &tls, now);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_with_the_right_labels() {
        let m = AdapterMetrics::new(hedui_proto::v1::Department::Tax);
        m.query(tonic::Code::Ok, Duration::from_millis(30));
        m.query(tonic::Code::PermissionDenied, Duration::from_millis(2));
        m.grant_refused(&GrantError::Replayed);
        m.backend_error("unavailable");
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
            .unwrap()
            .to_utc();
        let snap = SnapshotDates {
            max_age_days: 35,
            categories: vec![
                ("identity", NaiveDate::from_ymd_opt(2026, 11, 30)),
                ("tax_records", NaiveDate::from_ymd_opt(2026, 10, 1)),
                ("other", None),
            ],
        };
        let text = m.render(now, Some(&snap));
        for want in [
            "hedui_adapter_queries_total{department=\"tax\",outcome=\"OK\"} 1\n",
            "hedui_adapter_queries_total{department=\"tax\",outcome=\"PERMISSION_DENIED\"} 1\n",
            "hedui_adapter_query_duration_seconds_bucket{department=\"tax\",le=\"0.005\"} 1\n",
            "hedui_adapter_query_duration_seconds_count{department=\"tax\"} 2\n",
            "hedui_adapter_grant_refusals_total{department=\"tax\",reason=\"replayed\"} 1\n",
            "hedui_adapter_backend_errors_total{department=\"tax\",kind=\"unavailable\"} 1\n",
            "hedui_adapter_snapshot_age_days{department=\"tax\",category=\"identity\"} 5\n",
            "hedui_adapter_snapshot_age_days{department=\"tax\",category=\"tax_records\"} 65\n",
            "hedui_adapter_snapshot_stale{department=\"tax\",category=\"identity\"} 0\n",
            "hedui_adapter_snapshot_stale{department=\"tax\",category=\"tax_records\"} 1\n",
            "hedui_adapter_snapshot_stale{department=\"tax\",category=\"other\"} 1\n",
            "hedui_build_info{version=",
        ] {
            assert!(text.contains(want), "{want} in\n{text}");
        }
        assert!(!text.contains("category=\"other\"} 0"), "{text}");
        assert!(!text.contains("hedui_adapter_snapshot_age_days{department=\"tax\",category=\"other\"}"));
        assert!(!m.render(now, None).contains("snapshot"));
    }
}
