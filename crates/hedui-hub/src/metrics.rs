//! Prometheus metrics, in the text exposition format, on a separate plain
//! HTTP port (`metrics_listen`), served by hyper ([`hedui_ops::http`]).
//!
//! Hand-written rather than a metrics crate: nine families with fixed,
//! small label sets (RPC names, status codes, department slugs, outcomes)
//! fit in a page of code, and the exposition format is plain text; the
//! helpers shared with the adapters are in [`hedui_ops::exposition`]. Labels
//! never carry personal data: there is no label for a person, household,
//! request or record.
//!
//! | family | type | labels |
//! |---|---|---|
//! | `hedui_build_info` | gauge (1) | `version`, `commit` (when built with `HEDUI_COMMIT`) |
//! | `hedui_rpc_requests_total` | counter | `rpc`, `code` |
//! | `hedui_rpc_duration_seconds` | histogram | `service`, `method`, `code` (`rpc_metrics`) |
//! | `hedui_source_latency_seconds` | histogram | `department` |
//! | `hedui_source_outcomes_total` | counter | `department`, `outcome` |
//! | `hedui_batch_queue_depth` | gauge | |
//! | `hedui_audit_appends_total` | counter | |
//! | `hedui_audit_last_checkpoint_age_seconds` | gauge | |
//! | `hedui_breaker_open` | gauge | `department` |
//! | `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`, `process_threads` | counter, gauges | (Linux, from `/proc/self`) |
//! | `hedui_certificate_expiry_seconds` | gauge | `role`, `serial` |
//! | `hedui_crl_next_update_seconds` | gauge | |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hedui_ops::exposition::escape;
use hedui_ops::exposition::{Histogram, family, lock};
use tokio::net::TcpListener;

/// The hub's metrics; cheap to clone, shared by every handler.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    rpcs: Mutex<BTreeMap<(String, &'static str), u64>>,
    rpc_durations: Mutex<BTreeMap<(&'static str, &'static str, &'static str), Histogram>>,
    outcomes: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    batch_queue_depth: AtomicI64,
    audit_appends: AtomicU64,
    /// Unix time in milliseconds of the newest checkpoint; 0 for none.
    last_checkpoint_ms: AtomicI64,
    /// 1 while a department's circuit breaker is open.
    breakers: Mutex<BTreeMap<&'static str, u8>>,
    /// The hub's own TLS setup, whose certificate and revocation list are
    /// reported as they are at each scrape.
    tls: Mutex<Option<hedui_tls::ServerTls>>,
}

impl Metrics {
    /// Counts one finished RPC: its short name (`SubmitVerification`) and
    /// its gRPC code name (`OK`, `INVALID_ARGUMENT`, …).
    pub fn rpc(&self, rpc: &str, code: tonic::Code) {
        let code = crate::codes::code_name(code);
        *lock(&self.inner.rpcs).entry((rpc.to_owned(), code)).or_default() += 1;
    }

    /// Times one finished call on the hub's port (from `rpc_metrics`, whose
    /// labels come from fixed lists).
    pub fn rpc_duration(&self, service: &'static str, method: &'static str, code: tonic::Code, took: Duration) {
        let code = crate::codes::code_name(code);
        lock(&self.inner.rpc_durations)
            .entry((service, method, code))
            .or_default()
            .observe(took);
    }

    /// Counts one department's answer (or failure) and its latency.
    pub fn source(&self, department: &'static str, outcome: &'static str, latency: Duration) {
        *lock(&self.inner.outcomes).entry((department, outcome)).or_default() += 1;
        lock(&self.inner.latency)
            .entry(department)
            .or_default()
            .observe(latency);
    }

    /// Sets the number of batch items waiting (set by the batch engine).
    pub fn set_batch_queue_depth(&self, depth: i64) {
        self.inner.batch_queue_depth.store(depth, Ordering::Relaxed);
    }

    /// Notes whether a department's circuit breaker is open.
    pub fn breaker(&self, department: &'static str, open: bool) {
        lock(&self.inner.breakers).insert(department, u8::from(open));
    }

    /// Counts audit entries made durable.
    pub fn audit_appended(&self, entries: u64) {
        self.inner.audit_appends.fetch_add(entries, Ordering::Relaxed);
    }

    /// Notes the time of the newest signed checkpoint.
    pub fn checkpoint_signed(&self, at: chrono::DateTime<chrono::Utc>) {
        self.inner
            .last_checkpoint_ms
            .fetch_max(at.timestamp_millis(), Ordering::Relaxed);
    }

    /// Reports the certificate and revocation list of `tls` (the hub's own).
    pub fn set_tls(&self, tls: hedui_tls::ServerTls) {
        *lock(&self.inner.tls) = Some(tls);
    }

    /// The text exposition of every metric, as of `now`.
    pub fn render(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        let mut out = String::new();
        hedui_ops::exposition::build_info(&mut out, "hub");
        family(
            &mut out,
            "hedui_rpc_duration_seconds",
            "histogram",
            "Time from a call's arrival until its status, by service, method and gRPC status code.",
        );
        for ((service, method, code), h) in lock(&self.inner.rpc_durations).iter() {
            h.write(
                &mut out,
                "hedui_rpc_duration_seconds",
                &format!("service=\"{service}\",method=\"{method}\",code=\"{code}\""),
            );
        }
        family(
            &mut out,
            "hedui_rpc_requests_total",
            "counter",
            "Finished calls to the hub's services, by RPC and gRPC status code.",
        );
        for ((rpc, code), n) in lock(&self.inner.rpcs).iter() {
            let _ = writeln!(
                out,
                "hedui_rpc_requests_total{{rpc=\"{}\",code=\"{code}\"}} {n}",
                escape(rpc)
            );
        }
        family(
            &mut out,
            "hedui_source_latency_seconds",
            "histogram",
            "Time from sending a query to a department until its answer, timeout or failure.",
        );
        for (department, h) in lock(&self.inner.latency).iter() {
            h.write(
                &mut out,
                "hedui_source_latency_seconds",
                &format!("department=\"{department}\""),
            );
        }
        family(
            &mut out,
            "hedui_source_outcomes_total",
            "counter",
            "Department queries by outcome: OK, NO_RECORD, TIMEOUT, UNAVAILABLE, ERROR or REFUSED.",
        );
        for ((department, outcome), n) in lock(&self.inner.outcomes).iter() {
            let _ = writeln!(
                out,
                "hedui_source_outcomes_total{{department=\"{department}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        family(
            &mut out,
            "hedui_batch_queue_depth",
            "gauge",
            "Batch items waiting to be verified.",
        );
        let _ = writeln!(
            out,
            "hedui_batch_queue_depth {}",
            self.inner.batch_queue_depth.load(Ordering::Relaxed)
        );
        family(
            &mut out,
            "hedui_audit_appends_total",
            "counter",
            "Audit log entries made durable.",
        );
        let _ = writeln!(
            out,
            "hedui_audit_appends_total {}",
            self.inner.audit_appends.load(Ordering::Relaxed)
        );
        family(
            &mut out,
            "hedui_audit_last_checkpoint_age_seconds",
            "gauge",
            "Seconds since the newest signed audit checkpoint; absent before the first.",
        );
        let last = self.inner.last_checkpoint_ms.load(Ordering::Relaxed);
        if last > 0 {
            let age = (now.timestamp_millis() - last).max(0) as f64 / 1000.0;
            let _ = writeln!(out, "hedui_audit_last_checkpoint_age_seconds {age}");
        }
        family(
            &mut out,
            "hedui_breaker_open",
            "gauge",
            "1 while a department's circuit breaker is open (calls fail fast), else 0.",
        );
        for (department, open) in lock(&self.inner.breakers).iter() {
            let _ = writeln!(out, "hedui_breaker_open{{department=\"{department}\"}} {open}");
        }
        hedui_ops::exposition::process(&mut out, "hub");
        let tls = lock(&self.inner.tls).clone();
        if let Some(tls) = tls {
            hedui_ops::exposition::certificate(&mut out, &tls, now);
        }
        out
    }
}

/// Serves `GET /metrics` on `listener` until the task is dropped, with
/// hyper, a connection limit and a pause after a failed accept
/// ([`hedui_ops::http`]).
pub async fn serve(listener: TcpListener, metrics: Metrics) {
    hedui_ops::http::serve(listener, Arc::new(move || metrics.render(chrono::Utc::now()))).await;
}

/// Binds the metrics address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    hedui_ops::http::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hubs_certificate_and_revocation_list_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        hedui_tls::pki::init_ca(&ca_dir, "dejiang", 30).unwrap();
        let f = hedui_tls::pki::issue(&ca_dir, &hedui_tls::Role::Hub, "hub-01", 10, &[], dir.path()).unwrap();
        let crl = dir.path().join("ca.crl");
        hedui_tls::revocation::write_crl(&ca_dir, 7, &crl).unwrap();
        let tls = hedui_tls::ServerTls::load(hedui_tls::TlsFiles {
            ca: ca_dir.join("ca.crt"),
            cert: f.cert,
            key: f.key,
            crl: Some(crl),
        })
        .unwrap();
        let m = Metrics::default();
        assert!(
            !m.render(chrono::Utc::now())
                .contains("hedui_certificate_expiry_seconds")
        );
        m.set_tls(tls);
        let now = chrono::Utc::now();
        let text = m.render(now);
        let value = |name: &str| -> i64 {
            let line = text.lines().find(|l| l.starts_with(name)).unwrap();
            line.rsplit(' ').next().unwrap().parse().unwrap()
        };
        let expiry = format!(
            "hedui_certificate_expiry_seconds{{role=\"hub\",serial=\"{}\"}}",
            f.serial
        );
        let left = chrono::DateTime::parse_from_rfc3339(&f.not_after).unwrap().timestamp() - now.timestamp();
        assert_eq!(value(&expiry), left, "{text}");
        assert!(
            (6 * 86_400..=7 * 86_400).contains(&value("hedui_crl_next_update_seconds ")),
            "{text}"
        );
    }

    #[test]
    fn the_exposition_counts_with_the_right_labels() {
        let m = Metrics::default();
        m.rpc("SubmitVerification", tonic::Code::Ok);
        m.rpc("SubmitVerification", tonic::Code::Ok);
        m.rpc("GetRecord", tonic::Code::NotFound);
        m.source("tax", "OK", Duration::from_millis(30));
        m.source("tax", "TIMEOUT", Duration::from_secs(11));
        m.set_batch_queue_depth(7);
        m.audit_appended(3);
        let text = m.render(chrono::Utc::now());
        assert!(text.contains("hedui_rpc_requests_total{rpc=\"SubmitVerification\",code=\"OK\"} 2\n"));
        assert!(text.contains("hedui_rpc_requests_total{rpc=\"GetRecord\",code=\"NOT_FOUND\"} 1\n"));
        assert!(text.contains("hedui_source_outcomes_total{department=\"tax\",outcome=\"TIMEOUT\"} 1\n"));
        // 30 ms falls in the 0.05 bucket and every one above it; 11 s only in 30 and +Inf.
        assert!(text.contains("hedui_source_latency_seconds_bucket{department=\"tax\",le=\"0.025\"} 0\n"));
        assert!(text.contains("hedui_source_latency_seconds_bucket{department=\"tax\",le=\"0.05\"} 1\n"));
        assert!(text.contains("hedui_source_latency_seconds_bucket{department=\"tax\",le=\"10\"} 1\n"));
        assert!(text.contains("hedui_source_latency_seconds_bucket{department=\"tax\",le=\"30\"} 2\n"));
        assert!(text.contains("hedui_source_latency_seconds_bucket{department=\"tax\",le=\"+Inf\"} 2\n"));
        assert!(text.contains("hedui_source_latency_seconds_count{department=\"tax\"} 2\n"));
        assert!(text.contains("hedui_batch_queue_depth 7\n"));
        assert!(text.contains("hedui_audit_appends_total 3\n"));
        // No checkpoint yet: the age is absent rather than a made-up number.
        assert!(!text.contains("\nhedui_audit_last_checkpoint_age_seconds "), "{text}");
        let now = chrono::Utc::now();
        m.checkpoint_signed(now - chrono::Duration::seconds(90));
        assert!(m.render(now).contains("hedui_audit_last_checkpoint_age_seconds 90\n"));
    }
}
