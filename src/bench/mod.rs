//! `hedui bench`: what the hub adds to a verification, measured.
//!
//! It starts, in this process, the hub with its production settings (mutual
//! TLS, the real store, the audit log with group commit) and eight sandbox
//! adapters whose answers are delayed by a set latency and jitter, then
//! drives load through real gRPC and prints one table:
//!
//! 1. **Overhead** at a fixed rate (default 100 households/s, adapters at
//!    20 ± 5 ms): end-to-end latency, the slowest department's own time for
//!    the same request, and their difference per request, which is what the
//!    hub (and the network hops it adds) costs.
//! 2. **Throughput** with zero-latency adapters at a fixed concurrency:
//!    through the hub, and through a direct fan-out client that calls the
//!    eight adapters itself with the same TLS and grants but no hub, store
//!    or audit log; and the ratio of the two.
//! 3. **Audit appends**: the log's sustained append rate under concurrent
//!    callers, beside the database's raw rate for durable inserts of rows of
//!    the same size, in the same run and on the same database.
//! 4. **Batch** (`--batch N`, once the batch service exists; see
//!    docs/PERFORMANCE.md).
//!
//! The department's "own time" is measured inside the adapter's source
//! (the delay plus building the sandbox answer). The adapters' own query
//! logs are off: those are the partner's cost, not the hub's. Everything
//! else, including the adapter SDK's validation and grant check, counts as
//! overhead, so the figure errs against the hub.
//!
//! Benchmarks are never assertions: this prints figures and whether each
//! target was met; nothing fails.

mod audit_scale;
mod console;
mod raw;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use hedui_domain::request::ValidatedSubmission;
use hedui_hub::fanout::{DepartmentClient, query_all};
use hedui_hub::limits::Priority;
use hedui_proto::v1::SubmitVerificationRequest;
use hedui_proto::v1::verification_service_client::VerificationServiceClient;
use hedui_testkit::{Delay, Pki};
use hedui_tls::{ClientTls, Role, TlsFiles};
use tonic::transport::Channel;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Where the hub stores records and its audit log. Default: a new
    /// SQLite file in a temporary directory. A PostgreSQL URL must name a
    /// scratch database: the bench writes records, audit entries and a
    /// `bench_raw_inserts` table into it.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Adapter latency for the overhead run, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Adapter jitter (uniform ±) for the overhead run, in milliseconds.
    #[arg(long, default_value_t = 5)]
    pub jitter_ms: u64,
    /// Households per second offered in the overhead run.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Households submitted in the overhead run.
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    /// Households in flight at once in the throughput runs.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Households in each throughput run (through the hub, then direct).
    #[arg(long, default_value_t = 3000)]
    pub throughput_requests: usize,
    /// Audit entries appended (and raw rows inserted) in the audit run.
    #[arg(long, default_value_t = 20000)]
    pub audit_entries: usize,
    /// Concurrent callers appending to the audit log.
    #[arg(long, default_value_t = 64)]
    pub audit_writers: usize,
    /// Run only these parts (comma-separated: overhead, throughput, audit,
    /// console, audit-scale). `audit-scale` runs only when named, and alone.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Entries in the log that `--only audit-scale` builds (the issue's
    /// figures are for 10,000,000; about 1 GiB of SQLite per million).
    #[arg(long, default_value_t = 1_000_000)]
    pub audit_log_entries: u64,
    /// Records in the database for the console run (`--only console`).
    #[arg(long, default_value_t = 10_000)]
    pub console_records: usize,
    /// Pages fetched of each kind in the console run.
    #[arg(long, default_value_t = 300)]
    pub console_pages: usize,
}

/// The figures the issue sets, checked against the run.
const OVERHEAD_P50_TARGET: Duration = Duration::from_millis(1);
const OVERHEAD_P99_TARGET: Duration = Duration::from_millis(5);
const THROUGHPUT_RATIO_TARGET: f64 = 0.5;
const AUDIT_RATIO_TARGET: f64 = 0.8;

/// Sorted samples and their percentiles.
pub(crate) struct Dist(Vec<Duration>);

impl Dist {
    pub(crate) fn new(mut v: Vec<Duration>) -> Dist {
        v.sort();
        Dist(v)
    }

    pub(crate) fn pct(&self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let i = ((p / 100.0) * (self.0.len() - 1) as f64).round() as usize;
        self.0[i.min(self.0.len() - 1)]
    }
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub(crate) fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT MET" }
}

/// The running system.
pub(crate) struct System {
    pub(crate) client: VerificationServiceClient<Channel>,
    pub(crate) state: Arc<hedui_hub::HubState>,
    pub(crate) hub_files: TlsFiles,
    pub(crate) caseworker_files: TlsFiles,
    direct: Vec<DepartmentClient>,
    hub_key: hedui_trust::SigningKey,
    delay: Arc<Delay>,
    requests: Vec<SubmitVerificationRequest>,
    database_url: String,
    county: hedui_testkit::System,
}

async fn start(a: &BenchArgs) -> anyhow::Result<System> {
    let today = chrono::Utc::now().date_naive();
    // The department's own time, measured inside the adapter's source.
    let delay = Delay::timed();
    let mut county = hedui_testkit::Builder::new(Pki::temporary("bench")?)
        .hub_key(hedui_trust::SigningKey::generate(&mut rand_core::OsRng))
        .delay(delay.clone())
        // The partners' protection limits are lifted: this measures the
        // hub, not the limiter (which would cap it at 50 queries/s).
        .limits(hedui_hub::DepartmentLimits {
            max_concurrency: 100_000,
            max_rate_per_s: 1.0e9,
        })
        .audit_origin("hedui.bench/audit")
        .checkpoint_interval(Duration::from_secs(60));
    if let Some(url) = &a.database_url {
        county = county.database_url(url.clone());
    }
    county.add_sandboxes().await?;
    let sandbox = county.sandbox_data();
    let county = county.start().await?;
    let client_tls = ClientTls::load(county.hub_files.clone())?;
    let direct = county
        .adapters
        .iter()
        .map(|e| DepartmentClient::new(e, Some(&client_tls)).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let caseworker_files = county.pki.issue(&Role::Caseworker, "bench.caseworker")?;
    let channel = hedui_tls::channel(
        &format!("https://{}", county.hub_addr),
        ClientTls::load(caseworker_files.clone())?,
        Some(Role::Hub),
        Duration::from_secs(10),
    )?;
    let client = VerificationServiceClient::new(channel);
    // The households whose departments all answer (the sandbox also has
    // households that simulate an outage, which are not what this measures).
    let requests = hedui_testkit::requests::answering(&sandbox)
        .enumerate()
        .map(|(i, h)| hedui_testkit::requests::request(&h.household, &format!("SQ-BENCH-{i:04}"), "", today))
        .collect();
    Ok(System {
        client,
        state: county.state.clone(),
        hub_files: county.hub_files.clone(),
        caseworker_files,
        direct,
        hub_key: county.grant_key.clone(),
        delay,
        requests,
        database_url: county.database_url.clone(),
        county,
    })
}

impl System {
    pub(crate) fn request(&self, n: usize) -> SubmitVerificationRequest {
        let mut r = self.requests[n % self.requests.len()].clone();
        r.idempotency_key = uuid::Uuid::new_v4().to_string();
        r
    }

    pub(crate) fn set_latency(&self, latency: Duration, jitter: Duration) {
        self.delay.set(latency, jitter);
    }

    fn take_served(&self, request_id: &str) -> Option<Duration> {
        self.delay.take_served(request_id)
    }

    /// One household through the hub: (end to end, slowest department).
    async fn through_hub(&self, n: usize) -> anyhow::Result<(Duration, Duration)> {
        let req = self.request(n);
        let started = Instant::now();
        let resp = self
            .client
            .clone()
            .submit_verification(req)
            .await
            .map_err(crate::client::explain)?;
        let e2e = started.elapsed();
        let record = resp.into_inner().record.context("no record")?;
        let slowest = self.take_served(&record.request_id).unwrap_or_default();
        Ok((e2e, slowest))
    }

    /// One household through the direct fan-out client.
    async fn direct(&self, n: usize) -> anyhow::Result<Duration> {
        let req = self.request(n);
        let today = chrono::Utc::now().date_naive();
        let started = Instant::now();
        let sub = ValidatedSubmission::parse(&req, today).map_err(|e| anyhow::anyhow!("{e}"))?;
        let request_id = uuid::Uuid::new_v4().to_string();
        let answers = query_all(
            &self.direct,
            Priority::Interactive,
            &request_id,
            &sub,
            &self.hub_key,
            today,
        )
        .await;
        let e2e = started.elapsed();
        self.take_served(&request_id);
        anyhow::ensure!(answers.len() == 8, "the direct client got {} answers", answers.len());
        Ok(e2e)
    }
}

pub async fn run(a: BenchArgs) -> anyhow::Result<()> {
    let wants = |part: &str| a.only.is_empty() || a.only.iter().any(|o| o == part);
    if a.only.iter().any(|o| o == "audit-scale") {
        // A log of millions of entries of its own; nothing else is started.
        let mut table = Vec::new();
        audit_scale::run(a.audit_log_entries, a.database_url.as_deref(), &mut table).await?;
        print_table(&mut table);
        return Ok(());
    }
    let sys = Arc::new(start(&a).await?);
    println!(
        "hedui bench: hub with mTLS, store {} and audit log; 8 sandbox adapters; {} cores",
        redact_url(&sys.database_url),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    // Warm up connections and caches.
    sys.set_latency(Duration::ZERO, Duration::ZERO);
    for n in 0..50 {
        sys.through_hub(n).await?;
        sys.direct(n).await?;
    }
    let mut table: Vec<(String, String)> = Vec::new();
    if wants("overhead") {
        overhead(&a, &sys, &mut table).await?;
    }
    if wants("throughput") {
        throughput(&a, &sys, &mut table).await?;
    }
    if wants("audit") {
        audit(&a, &sys.database_url, &mut table).await?;
    }
    if wants("console") {
        console::run(&a, &sys, &mut table).await?;
    }
    print_table(&mut table);
    sys.county.signal_stop();
    if let Ok(sys) = Arc::try_unwrap(sys) {
        // Let the hub close its store cleanly before the files go.
        let _ = sys.county.stop().await;
    }
    Ok(())
}

/// Prints the figures, with the process's peak RSS last.
fn print_table(table: &mut Vec<(String, String)>) {
    table.push(("peak RSS (whole process)".into(), peak_rss()));
    println!();
    let width = table.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    for (k, v) in table.iter() {
        println!("{k:<width$}  {v}");
    }
}

async fn overhead(a: &BenchArgs, sys: &Arc<System>, table: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    let latency = Duration::from_millis(a.latency_ms);
    let jitter = Duration::from_millis(a.jitter_ms);
    sys.set_latency(latency, jitter);
    println!(
        "overhead: {} households at {}/s, adapters at {} ± {} ms ...",
        a.requests, a.rate, a.latency_ms, a.jitter_ms
    );
    let period = Duration::from_secs_f64(1.0 / a.rate.max(0.001));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(a.requests);
    for n in 0..a.requests {
        tick.tick().await;
        let sys = sys.clone();
        tasks.push(tokio::spawn(async move { sys.through_hub(n).await }));
    }
    let (mut e2e, mut slowest, mut over) = (Vec::new(), Vec::new(), Vec::new());
    for t in tasks {
        let (e, s) = t.await??;
        e2e.push(e);
        slowest.push(s);
        over.push(e.saturating_sub(s));
    }
    let elapsed = started.elapsed();
    let (e2e, slowest, over) = (Dist::new(e2e), Dist::new(slowest), Dist::new(over));
    table.push((
        format!(
            "[overhead @ {}/s, {}±{} ms] households/s",
            a.rate, a.latency_ms, a.jitter_ms
        ),
        format!("{:.1}", a.requests as f64 / elapsed.as_secs_f64()),
    ));
    table.push((
        "  end-to-end p50 / p95 / p99".into(),
        format!("{} / {} / {}", ms(e2e.pct(50.0)), ms(e2e.pct(95.0)), ms(e2e.pct(99.0))),
    ));
    table.push((
        "  slowest department p50 / p99".into(),
        format!("{} / {}", ms(slowest.pct(50.0)), ms(slowest.pct(99.0))),
    ));
    let (p50, p99) = (over.pct(50.0), over.pct(99.0));
    table.push((
        "  hub overhead p50 / p99".into(),
        format!(
            "{} / {}   (targets ≤ 1 ms: {}, ≤ 5 ms: {})",
            ms(p50),
            ms(p99),
            met(p50 <= OVERHEAD_P50_TARGET),
            met(p99 <= OVERHEAD_P99_TARGET)
        ),
    ));
    Ok(())
}

async fn throughput(a: &BenchArgs, sys: &Arc<System>, table: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    use futures::StreamExt as _;
    sys.set_latency(Duration::ZERO, Duration::ZERO);
    println!(
        "throughput: {} households at concurrency {}, zero-latency adapters, through the hub then direct ...",
        a.throughput_requests, a.concurrency
    );
    let n = a.throughput_requests;
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..n)
        .map(|i| {
            let sys = sys.clone();
            async move { sys.through_hub(i).await.map(|(e, _)| e) }
        })
        .buffer_unordered(a.concurrency.max(1))
        .collect()
        .await;
    let hub_elapsed = started.elapsed();
    let hub_lat = Dist::new(results.into_iter().collect::<anyhow::Result<_>>()?);
    let started = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..n)
        .map(|i| {
            let sys = sys.clone();
            async move { sys.direct(i).await }
        })
        .buffer_unordered(a.concurrency.max(1))
        .collect()
        .await;
    let direct_elapsed = started.elapsed();
    let direct_lat = Dist::new(results.into_iter().collect::<anyhow::Result<_>>()?);
    let hub_rate = n as f64 / hub_elapsed.as_secs_f64();
    let direct_rate = n as f64 / direct_elapsed.as_secs_f64();
    let ratio = hub_rate / direct_rate;
    table.push((
        format!(
            "[throughput, 0 ms adapters, concurrency {}] hub households/s",
            a.concurrency
        ),
        format!(
            "{hub_rate:.1}   (p50 {}, p99 {})",
            ms(hub_lat.pct(50.0)),
            ms(hub_lat.pct(99.0))
        ),
    ));
    table.push((
        "  direct fan-out client households/s".into(),
        format!(
            "{direct_rate:.1}   (p50 {}, p99 {})",
            ms(direct_lat.pct(50.0)),
            ms(direct_lat.pct(99.0))
        ),
    ));
    table.push((
        "  hub / direct".into(),
        format!(
            "{:.0} %   (target ≥ 50 %: {})",
            ratio * 100.0,
            met(ratio >= THROUGHPUT_RATIO_TARGET)
        ),
    ));
    Ok(())
}

/// The audit log's append rate against the database's raw durable insert
/// rate, on a fresh database of the same kind.
async fn audit(a: &BenchArgs, database_url: &str, table: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    println!(
        "audit: {} entries from {} concurrent callers, then the same number of raw durable inserts ...",
        a.audit_entries, a.audit_writers
    );
    let store = hedui_store::Store::open(database_url).await?;
    let log = hedui_hub::audit::AuditLog::open(
        store.clone(),
        hedui_trust::SigningKey::generate(&mut rand_core::OsRng),
        "hedui.bench/audit".into(),
        Duration::from_secs(3600),
    )
    .await;
    // The hub above already appended to this log with its own key: start a
    // log of our own on a fresh database of the same kind when we can.
    let (log, _scratch, store_url) = match log {
        Ok(log) => (log, None, database_url.to_owned()),
        Err(_) => {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}", dir.path().join("audit-bench.db").display());
            anyhow::ensure!(
                hedui_store::Store::open(database_url).await?.backend_kind() == hedui_store::BackendKind::Sqlite,
                "the audit part needs a database the hub has not written with another key; give --only audit a fresh --database-url"
            );
            let store = hedui_store::Store::open(&url).await?;
            let log = hedui_hub::audit::AuditLog::open(
                store.clone(),
                hedui_trust::SigningKey::generate(&mut rand_core::OsRng),
                "hedui.bench/audit".into(),
                Duration::from_secs(3600),
            )
            .await?;
            (log, Some(dir), url)
        }
    };
    let sample = sample_entry();
    let per_writer = a.audit_entries.div_ceil(a.audit_writers.max(1));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.audit_writers.max(1) {
        let log = log.clone();
        let e = sample.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_writer {
                log.append(vec![e.clone()]).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let appended = per_writer * a.audit_writers.max(1);
    let audit_rate = appended as f64 / started.elapsed().as_secs_f64();
    let (single, bulk) = raw_inserts(&store_url, &sample, appended, a.audit_writers.max(1)).await?;
    let ratio = audit_rate / single;
    table.push((
        format!("[audit, {} callers] appends/s", a.audit_writers),
        format!("{audit_rate:.0}"),
    ));
    table.push((
        format!("  raw durable inserts/s ({} writers, a commit each)", a.audit_writers),
        format!("{single:.0}"),
    ));
    table.push((
        "  audit / raw".into(),
        format!(
            "{:.0} %   (target ≥ 80 %: {})",
            ratio * 100.0,
            met(ratio >= AUDIT_RATIO_TARGET)
        ),
    ));
    table.push((
        "  ceiling: raw inserts/s, 512 rows per commit".into(),
        format!("{bulk:.0}   (audit reaches {:.0} % of it)", audit_rate / bulk * 100.0),
    ));
    Ok(())
}

/// An entry the size of a real `source.query` entry for a three-person
/// household.
fn sample_entry() -> hedui_audit::entry::AuditEntry {
    let person = |id: &str| hedui_audit::entry::PersonRef::new(&[7; 32], id);
    hedui_audit::entry::AuditEntry {
        seq: 0,
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        actor: "caseworker:zhang.san".into(),
        role: "caseworker".into(),
        action: "source.query".into(),
        purpose: "minimum-living".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
        persons: vec![
            person("520626194701205831"),
            person("520626195711191204"),
            person("52222619930616389X"),
        ],
        departments: vec!["tax".into()],
        status: "OK".into(),
        record_digest: String::new(),
        detail: "23 ms".into(),
    }
}

/// The database's raw durable insert rate for rows shaped like audit
/// entries, in a scratch table, measured two ways: `writers` concurrent
/// writers committing one row at a time (what independent durable inserts
/// get), and one writer committing 512 rows at a time (the ceiling that
/// group commit can approach). Returns rows per second for each.
async fn raw_inserts(
    url: &str,
    e: &hedui_audit::entry::AuditEntry,
    n: usize,
    writers: usize,
) -> anyhow::Result<(f64, f64)> {
    let pool = Arc::new(hedui_store::RawPool::connect(url).await?);
    raw::reset(&pool).await?;
    let text = Arc::new(String::from_utf8(e.canonical_bytes())?);
    let leaf = e.leaf();
    let per_writer = n.div_ceil(writers);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (pool, e, text) = (pool.clone(), e.clone(), text.clone());
        tasks.push(tokio::spawn(async move {
            for k in 0..per_writer {
                let seq = (w * per_writer + k) as i64;
                raw::insert(&pool, seq, 1, &e, &text, &leaf).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let single = (per_writer * writers) as f64 / started.elapsed().as_secs_f64();
    raw::reset(&pool).await?;
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let k = (n - done).min(512);
        raw::insert(&pool, done as i64, k, e, &text, &leaf).await?;
        done += k;
    }
    let bulk = n as f64 / started.elapsed().as_secs_f64();
    pool.close().await;
    Ok((single, bulk))
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// The process's peak resident set, from /proc (Linux).
pub fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
