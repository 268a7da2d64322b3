//! `hedui bench --only audit-scale`: the auditors' queries on a large log
//! (issue #16 item 5). It builds a log of `--audit-log-entries` entries
//! (10,000,000 for the figures) through the hub's own appender
//! ([`hedui_hub::audit::AuditLog::append`]) in groups of
//! `AUDIT_GROUP` entries, each entry naming a household of three out of a
//! population sized so that a person appears in about 40 entries, then
//! times, on that database:
//!
//! - "who looked at me": the store query the `WhoAccessed` handler runs
//!   (the persons index, then each entry read, parsed and checked against
//!   the search);
//! - one inclusion proof, from the proof index (`audit_nodes`) and the
//!   leaves of one chunk;
//! - an export of one person's entries with their proofs and the
//!   consistency proofs of the earlier checkpoints, as the `ExportAudit`
//!   handler builds it, serialised to JSON.
//!
//! Each figure is measured in this process against the store, without the
//! gRPC hop (about a millisecond on loopback, measured by the other parts),
//! and printed with its target. Nothing is asserted.

use std::time::{Duration, Instant};

use hedui_audit::entry::{AuditEntry, PersonRef};
use hedui_audit::export::ExportBundle;
use hedui_store::audit::AuditFilter;
use rand_core::RngCore as _;

use super::{Dist, met, ms};

/// Entries per append: the hub's group commit takes what is waiting, so
/// a bulk load hands it large groups.
const AUDIT_GROUP: usize = 10_000;
/// Appends in flight at once while building.
const IN_FLIGHT: usize = 4;
/// Persons per entry (a household) and entries per person on average.
const PERSONS_PER_ENTRY: u64 = 3;
const ENTRIES_PER_PERSON: u64 = 40;

const WHO_TARGET: Duration = Duration::from_millis(20);
const PROOF_TARGET: Duration = Duration::from_millis(5);
const EXPORT_TARGET: Duration = Duration::from_secs(1);

fn person_number(n: u64) -> String {
    format!("P{n:012}")
}

fn entry(n: u64, population: u64, key: &[u8]) -> AuditEntry {
    // Households: entry n names persons of household n % households, so a
    // person's entries are spread over the whole log, as years of checks
    // would spread them.
    let households = (population / PERSONS_PER_ENTRY).max(1);
    let h = n % households;
    AuditEntry {
        seq: 0,
        time: format!(
            "2026-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
            1 + (n / 2_000_000) % 12,
            1 + (n / 70_000) % 28,
            (n / 3_600) % 24,
            (n / 60) % 60,
            n % 60
        ),
        actor: format!("caseworker:cw{:03}", n % 97),
        role: "caseworker".into(),
        action: if n.is_multiple_of(9) {
            "SubmitVerification"
        } else {
            "source.query"
        }
        .into(),
        purpose: "minimum-living".into(),
        request_id: format!("{:032x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        persons: (0..PERSONS_PER_ENTRY)
            .map(|i| PersonRef::new(key, &person_number(h * PERSONS_PER_ENTRY + i)))
            .collect(),
        departments: vec!["tax".into()],
        status: "OK".into(),
        record_digest: String::new(),
        detail: "23 ms".into(),
    }
}

fn database_bytes(url: &str) -> Option<u64> {
    let path = url.strip_prefix("sqlite://")?;
    let size = |p: String| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    Some(size(path.to_owned()) + size(format!("{path}-wal")))
}

/// A query's p50 and p99, and whether the p99 is within `target`.
fn judged(d: &Dist, target: Duration) -> String {
    let p99 = d.pct(99.0);
    format!(
        "p50 {} p99 {} (target ≤ {}: {})",
        ms(d.pct(50.0)),
        ms(p99),
        ms(target),
        met(p99 <= target)
    )
}

/// Builds the log and measures the three queries; rows go into `table`.
pub async fn run(entries: u64, database_url: Option<&str>, table: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let url = match database_url {
        Some(u) => u.to_owned(),
        None => format!("sqlite://{}", scratch.path().join("audit-scale.db").display()),
    };
    let store = hedui_store::Store::open(&url).await?;
    anyhow::ensure!(
        store.audit_size().await? == 0,
        "audit-scale builds its own log: give it a fresh --database-url (or none, for a new SQLite file)"
    );
    let hub_key = hedui_trust::SigningKey::generate(&mut rand_core::OsRng);
    let log = hedui_hub::audit::AuditLog::open(
        store.clone(),
        hub_key.clone(),
        "hedui.bench/audit-scale".into(),
        Duration::from_secs(24 * 3600),
    )
    .await?;
    let key = [7u8; 32];
    let population = (entries * PERSONS_PER_ENTRY / ENTRIES_PER_PERSON).max(PERSONS_PER_ENTRY);
    println!("audit-scale: building a log of {entries} entries through the hub's appender ...");
    let started = Instant::now();
    let mut next = 0u64;
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut last_report = Instant::now();
    let mut quarter = 0u64;
    while next < entries || !in_flight.is_empty() {
        while next < entries && in_flight.len() < IN_FLIGHT {
            let group: Vec<AuditEntry> = (next..(next + AUDIT_GROUP as u64).min(entries))
                .map(|n| entry(n, population, &key))
                .collect();
            next += group.len() as u64;
            let log = log.clone();
            in_flight.push(tokio::spawn(async move { log.append(group).await }));
        }
        if let Some(done) = futures::StreamExt::next(&mut in_flight).await {
            done??;
        }
        // Checkpoints along the way, as an auditor's earlier pulls would
        // have left them; an export proves consistency from each.
        if quarter < 3 && next >= entries / 4 * (quarter + 1) {
            quarter += 1;
            log.checkpoint().await?;
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            let rate = next as f64 / started.elapsed().as_secs_f64();
            println!("  {next} entries, {rate:.0}/s");
        }
    }
    let build = started.elapsed();
    let checkpoint = log.checkpoint().await?;
    let size = checkpoint.checkpoint.tree_size;
    let indexed = Instant::now();
    let chunks = store.index_audit_nodes(size).await?;
    let index_time = indexed.elapsed();
    table.push((
        format!("audit-scale: build {entries} entries"),
        format!(
            "{:.1} s ({:.0} entries/s, groups of {AUDIT_GROUP}, {IN_FLIGHT} in flight)",
            build.as_secs_f64(),
            entries as f64 / build.as_secs_f64()
        ),
    ));
    table.push((
        "audit-scale: proof index (first catch-up)".into(),
        format!("{chunks} chunks in {:.1} s", index_time.as_secs_f64()),
    ));
    // What a hub does at start on this log: one pass that re-hashes every
    // entry against its checkpoint, a page at a time.
    let opened = Instant::now();
    let reopened = hedui_hub::audit::AuditLog::open(
        store.clone(),
        hub_key,
        "hedui.bench/audit-scale".into(),
        Duration::from_secs(24 * 3600),
    )
    .await?;
    let start_up = opened.elapsed();
    drop(reopened);
    table.push((
        "audit-scale: a hub's start-up check of the log".into(),
        format!(
            "{:.1} s ({:.0} entries/s)",
            start_up.as_secs_f64(),
            size as f64 / start_up.as_secs_f64().max(1e-9)
        ),
    ));
    if let Some(bytes) = database_bytes(&url) {
        table.push((
            "audit-scale: database size per million entries".into(),
            format!("{:.0} MiB", bytes as f64 / (1 << 20) as f64 / (entries as f64 / 1e6)),
        ));
    }

    let mut rng = rand_core::OsRng;
    let mut pick = |n: u64| rng.next_u64() % n.max(1);

    // Who looked at me.
    let mut who = Vec::new();
    let mut found = 0usize;
    for _ in 0..200 {
        let person = person_number(pick(population));
        let filter = AuditFilter {
            person_key_hash: Some(hedui_audit::entry::person_key_hash(&key, &person)),
            limit: 10_000,
            ..Default::default()
        };
        let t = Instant::now();
        found += store.audit_entries(&filter).await?.len();
        who.push(t.elapsed());
    }
    let who = Dist::new(who);
    table.push((
        format!(
            "audit-scale: who (200 persons, {:.0} entries each)",
            found as f64 / 200.0
        ),
        judged(&who, WHO_TARGET),
    ));

    // One inclusion proof.
    let mut proofs = Vec::new();
    for _ in 0..200 {
        let seq = pick(size);
        let t = Instant::now();
        let tree = store.audit_stored_tree(size, &[seq], &[]).await?;
        let proof = tree.inclusion_proof(seq)?;
        proofs.push(t.elapsed());
        anyhow::ensure!(
            hedui_audit::merkle::verify_inclusion(&tree.leaf(seq)?, seq, size, &proof, &checkpoint.checkpoint.root)
                .is_ok(),
            "the proof of entry {seq} does not verify"
        );
    }
    let proofs = Dist::new(proofs);
    table.push((
        "audit-scale: one inclusion proof (200 entries)".into(),
        judged(&proofs, PROOF_TARGET),
    ));

    // An export of one person's entries with proofs.
    let earlier = store.checkpoints().await?;
    let earlier: Vec<_> = earlier
        .into_iter()
        .filter(|c| c.checkpoint.tree_size < size && c.checkpoint.tree_size > 0)
        .collect();
    let mut exports = Vec::new();
    let mut bytes = 0usize;
    for _ in 0..50 {
        let person = person_number(pick(population));
        let t = Instant::now();
        let picked = store
            .audit_entries(&AuditFilter {
                person_key_hash: Some(hedui_audit::entry::person_key_hash(&key, &person)),
                limit: 10_000,
                ..Default::default()
            })
            .await?;
        let seqs: Vec<u64> = picked.iter().map(|e| e.seq).collect();
        let olds: Vec<u64> = earlier.iter().map(|c| c.checkpoint.tree_size).collect();
        let tree = store.audit_stored_tree(size, &seqs, &olds).await?;
        let bundle =
            ExportBundle::build_from_nodes(picked, &tree, checkpoint.clone(), earlier.clone(), &log.public_key())?;
        bytes += serde_json::to_vec_pretty(&bundle)?.len();
        exports.push(t.elapsed());
    }
    let exports = Dist::new(exports);
    table.push((
        format!(
            "audit-scale: export one person (50 persons, {} KiB each)",
            bytes / 50 / 1024
        ),
        judged(&exports, EXPORT_TARGET),
    ));
    drop(log);
    Ok(())
}
