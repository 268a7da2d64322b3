//! Connections refused during the TLS handshake, in the audit log.
//!
//! A client with no certificate, one from another CA, or an expired one is
//! refused before any RPC, so no handler logs it. The TLS acceptor reports
//! each refusal here ([`hedui_tls::incoming_reporting`]); this task counts
//! them per peer address and reason and writes one `connection.refused`
//! entry per peer and reason per minute (and at shutdown), with the count,
//! so that a flood of bad handshakes cannot grow the log without bound.
//! Each refusal is also counted in the RPC metric as `connection.refused`
//! with code UNAUTHENTICATED.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use hedui_audit::entry::AuditEntry;
use hedui_tls::Refusal;
use tokio::sync::{mpsc, watch};

use crate::audit::AuditLog;

/// How often the counts are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(60);

/// Counts refusals from `rx` and logs them every [`FLUSH_EVERY`], and once
/// more when `stop` turns true.
pub async fn run(
    mut rx: mpsc::Receiver<Refusal>,
    audit: AuditLog,
    metrics: crate::metrics::Metrics,
    mut stop: watch::Receiver<bool>,
) {
    let mut counts: BTreeMap<(IpAddr, String), u64> = BTreeMap::new();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Some(r) => {
                    metrics.rpc("connection.refused", tonic::Code::Unauthenticated);
                    *counts.entry((r.remote.ip(), r.reason)).or_default() += 1;
                }
                None => break,
            },
            _ = tick.tick() => flush(&audit, &mut counts).await,
            _ = stop.changed() => break,
        }
    }
    // What arrived before the stop, too.
    while let Ok(r) = rx.try_recv() {
        *counts.entry((r.remote.ip(), r.reason)).or_default() += 1;
    }
    flush(&audit, &mut counts).await;
}

async fn flush(audit: &AuditLog, counts: &mut BTreeMap<(IpAddr, String), u64>) {
    if counts.is_empty() {
        return;
    }
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let entries: Vec<AuditEntry> = std::mem::take(counts)
        .into_iter()
        .map(|((ip, reason), n)| AuditEntry {
            seq: 0,
            time: time.clone(),
            actor: format!("unidentified:peer={ip}"),
            role: "unidentified".into(),
            action: "connection.refused".into(),
            purpose: String::new(),
            request_id: String::new(),
            persons: Vec::new(),
            departments: Vec::new(),
            status: "UNAUTHENTICATED".into(),
            record_digest: String::new(),
            detail: format!("{n} handshake(s) refused: {reason}"),
        })
        .collect();
    if let Err(e) = audit.append(entries).await {
        tracing::error!(error = %e, "could not log refused connections");
    }
}
