//! Several hubs appending to one audit log.
//!
//! A province runs several hub replicas on one PostgreSQL database. Each
//! replica has its own appender; the log must still be one sequence with no
//! gaps and no forks, every acknowledged entry must be in it exactly once,
//! and every checkpoint either replica signs must verify against it. The
//! same holds for two hubs on one SQLite file, which is checked too because
//! it costs nothing.
//!
//! PostgreSQL is reached through `HEDUI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`, then the same as `root`); when
//! it cannot be reached the PostgreSQL case is skipped with a notice, unless
//! `HEDUI_REQUIRE_POSTGRES=1`.

use std::collections::BTreeSet;
use std::time::Duration;

use hedui_audit::entry::AuditEntry;
use hedui_hub::audit::AuditLog;
use hedui_store::Store;
use sqlx::{AssertSqlSafe, Connection as _, Executor as _, PgConnection};

const HUBS: usize = 2;
const WRITERS_PER_HUB: usize = 6;
const APPENDS_PER_WRITER: usize = 40;

fn key() -> hedui_trust::SigningKey {
    hedui_trust::SigningKey::from_bytes(&[42; 32])
}

fn entry(hub: usize, writer: usize, n: usize) -> AuditEntry {
    AuditEntry {
        seq: 0,
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        actor: format!("hub-{hub}"),
        role: "caseworker".into(),
        action: "test.append".into(),
        purpose: String::new(),
        request_id: String::new(),
        persons: Vec::new(),
        departments: Vec::new(),
        status: "OK".into(),
        record_digest: String::new(),
        detail: format!("writer {writer} append {n}"),
    }
}

/// Runs `HUBS` audit logs on `url` with concurrent writers and checks the
/// shared log.
async fn hubs_share_one_log(url: &str) {
    let mut logs = Vec::new();
    for _ in 0..HUBS {
        let store = Store::open(url).await.expect("open the store");
        let log = AuditLog::open(store, key(), "hedui.test/audit".into(), Duration::from_secs(3600))
            .await
            .expect("open the log");
        logs.push(log);
    }
    let mut tasks = Vec::new();
    for (hub, log) in logs.iter().enumerate() {
        for writer in 0..WRITERS_PER_HUB {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                let mut acked = Vec::new();
                for n in 0..APPENDS_PER_WRITER {
                    // Batches of one to three entries, and now and then a
                    // checkpoint signed in the middle of the traffic.
                    let batch: Vec<_> = (0..=n % 3).map(|_| entry(hub, writer, n)).collect();
                    let len = batch.len() as u64;
                    let last = log.append(batch).await.expect("append is acknowledged");
                    acked.push((last + 1 - len, last, hub, writer, n));
                    if n % 13 == 0 {
                        log.checkpoint().await.expect("checkpoint");
                    }
                }
                acked
            }));
        }
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("writer task"));
    }
    let last = logs[1].checkpoint().await.expect("final checkpoint");

    let store = Store::open(url).await.unwrap();
    let entries = store.audit_all().await.unwrap();
    let per_writer: u64 = (0..APPENDS_PER_WRITER).map(|n| (n % 3 + 1) as u64).sum();
    let expected = per_writer * (HUBS * WRITERS_PER_HUB) as u64;
    assert_eq!(
        entries.len() as u64,
        expected,
        "every acknowledged entry is stored once"
    );
    assert_eq!(
        last.checkpoint.tree_size, expected,
        "the last checkpoint covers both hubs' entries"
    );
    // No gaps and no forks: seqs are 0..n in order.
    assert!(entries.iter().enumerate().all(|(i, e)| e.seq == i as u64));
    // Each acknowledgement points at its own entries: the seq ranges are
    // disjoint and hold exactly what that writer sent.
    let mut seen = BTreeSet::new();
    for (first, last, hub, writer, n) in &acked {
        for seq in *first..=*last {
            assert!(seen.insert(seq), "seq {seq} acknowledged twice");
            let e = &entries[seq as usize];
            assert_eq!(e.actor, format!("hub-{hub}"));
            assert_eq!(e.detail, format!("writer {writer} append {n}"));
        }
    }
    assert_eq!(seen.len() as u64, expected);
    // Every checkpoint either hub signed verifies against the one log.
    let checkpoints = store.checkpoints().await.unwrap();
    assert!(checkpoints.len() > 2, "checkpoints were signed during the run");
    let report = hedui_audit::export::verify_full_log(&entries, &checkpoints, &key().verifying_key())
        .expect("the shared log verifies");
    assert_eq!(report.entries_verified as u64, expected);
    // A third hub starting on this log finds it intact.
    let again = AuditLog::open(store, key(), "hedui.test/audit".into(), Duration::from_secs(3600)).await;
    assert!(again.is_ok(), "a hub restarting on the shared log accepts it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hubs_on_one_sqlite_file_share_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
    hubs_share_one_log(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hubs_on_one_postgres_database_share_one_log() {
    let Some(admin) = postgres_admin().await else {
        return;
    };
    let name = format!("hedui_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = PgConnection::connect(&admin).await.unwrap();
    // Names made here, from a UUID.
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let url = match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => unreachable!("the admin URL names a database"),
    };
    let outcome = tokio::spawn(async move { hubs_share_one_log(&url).await }).await;
    conn.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .await
        .unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// A PostgreSQL URL that can create databases, or `None` (with a notice)
/// when no server answers and PostgreSQL is not required.
async fn postgres_admin() -> Option<String> {
    let candidates: Vec<String> = match std::env::var("HEDUI_TEST_POSTGRES_URL") {
        Ok(url) => vec![url],
        Err(_) => vec![
            "postgres://postgres@127.0.0.1:5432/test".into(),
            "postgres://root@127.0.0.1:5432/test".into(),
        ],
    };
    let mut last = String::new();
    for url in candidates {
        match PgConnection::connect(&url).await {
            Ok(c) => {
                let _ = c.close().await;
                return Some(url);
            }
            Err(e) => last = e.to_string(),
        }
    }
    if std::env::var("HEDUI_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("PostgreSQL is required (HEDUI_REQUIRE_POSTGRES=1) but cannot be reached: {last}");
    }
    eprintln!("NOTICE: PostgreSQL cannot be reached ({last}); skipping the shared-log test on PostgreSQL");
    None
}
