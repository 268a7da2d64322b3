//! `hedui bench`: what the hub adds to a verification, measured.
//!
//! It starts, in this process, the hub with its production settings (mutual
//! TLS, the real store, the audit log with group commit) and eight sandbox
//! adapters whose answers are delayed by a set latency and jitter, then
//! drives load through real gRPC and prints one table:
//!
//! 0. **The floor**, first: an fsync of a 4 KiB append in the database's
//!    directory and the database's commit of a trivial INSERT (median and
//!    p99 of `--floor-samples`), which the latency targets are judged
//!    against ([`floor`]).
//! 1. **Overhead** at a fixed rate (default 100 households/s, adapters at
//!    20 ± 5 ms): end-to-end latency, the slowest department's own time for
//!    the same request, and their difference per request, which is what the
//!    hub (and the network hops it adds) costs; run with the hub's stage
//!    clocks off and on, and split into stages ([`stages`]); then a third
//!    time, clocks off, with the floor's two writes timed beside it
//!    ([`floor::Probe`]), so the tail of one durable write under the run's
//!    load is measured in the same run as the hub's.
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
//! With `--repeat N` the parts run N times on the same system and each
//! figure is printed as the median of the N with its spread (min–max)
//! ([`figures`]); the targets are judged on the medians.
//!
//! Benchmarks are never assertions: this prints figures and whether each
//! target was met; nothing fails.

mod at_rest;
mod audit_scale;
mod console;
mod figures;
mod floor;
mod raw;
mod stages;

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

#[derive(Debug, Clone, Args)]
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
    /// Run only these parts (comma-separated: floor, overhead, throughput,
    /// audit, at-rest, console, audit-scale). at-rest charges its time
    /// against the throughput part's rate when both run. The floor runs whenever overhead does.
    /// `audit-scale` runs only when named, and alone.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Run the parts this many times (the console once) and print each
    /// figure's median and spread.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Samples of each floor measurement (fsyncs, commits).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub floor_samples: u32,
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

/// The figures the issues set, checked against the run: the overhead's p50
/// may be this plus two of the floor's durable writes.
const OVERHEAD_P50_ALLOWANCE_MS: f64 = 1.0;
const OVERHEAD_P99_TARGET_MS: f64 = 5.0;
const THROUGHPUT_RATIO_TARGET: f64 = 0.6;
const AUDIT_RATIO_TARGET: f64 = 0.8;

/// The labels of figures the targets read.
const THROUGHPUT_RATIO: &str = "  hub / direct";
const AUDIT_RATIO: &str = "  audit / raw";

/// Sorted samples and their percentiles.
pub(crate) struct Dist(Vec<Duration>);

impl Dist {
    pub(crate) fn new(mut v: Vec<Duration>) -> Dist {
        v.sort();
        Dist(v)
    }

    /// How many samples.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
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

    /// One household through the hub: (end to end, slowest department,
    /// request id).
    pub(crate) async fn through_hub(&self, n: usize) -> anyhow::Result<(Duration, Duration, String)> {
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
        Ok((e2e, slowest, record.request_id))
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
    let backend = sys.state.store.backend_kind();
    println!(
        "hedui bench: hub with mTLS, store {} and audit log; 8 sandbox adapters; {} cores; load average {}",
        redact_url(&sys.database_url),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        loadavg()
    );
    // Warm up connections and caches.
    sys.set_latency(Duration::ZERO, Duration::ZERO);
    for n in 0..50 {
        sys.through_hub(n).await?;
        sys.direct(n).await?;
    }
    let repeats = a.repeat.max(1) as usize;
    let mut runs = Vec::with_capacity(repeats);
    for r in 0..repeats {
        if repeats > 1 {
            println!("\n-- repeat {} of {repeats} (load average {})", r + 1, loadavg());
        }
        let mut figs = figures::Figures::default();
        if wants("floor") || wants("overhead") {
            floor::measure(&sys.database_url, backend, a.floor_samples as usize, &mut figs).await?;
        }
        if wants("overhead") {
            stages::overhead(&a, &sys, r, &mut figs).await?;
        }
        if wants("throughput") {
            throughput(&a, &sys, &mut figs).await?;
        }
        if wants("audit") {
            audit(&a, &sys.database_url, &mut figs).await?;
        }
        if wants("at-rest") {
            let hub_rate = figs.get(&throughput_label(a.concurrency));
            at_rest::measure(&sys, hub_rate, &mut figs).await?;
        }
        runs.push(figs);
    }
    let summaries = figures::summarize(&runs);
    let title = match repeats {
        1 => "figures".to_owned(),
        n => format!("figures: median of {n} repeats (min–max)"),
    };
    figures::print_table(&title, &figures::lines(&summaries, repeats));
    let targets = targets(&summaries, backend, &a);
    figures::print_table(
        "targets (judged on the medians, against the floor of this run)",
        &targets.iter().map(figures::Target::line).collect::<Vec<_>>(),
    );
    let mut table: Vec<(String, String)> = Vec::new();
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
    table.push(("load average at the end".into(), loadavg()));
    figures::print_table("", table);
}

/// The targets whose figures this run measured, on the medians.
fn targets(summaries: &[figures::Summary], backend: hedui_store::BackendKind, a: &BenchArgs) -> Vec<figures::Target> {
    let get = |label: &str| summaries.iter().find(|s| s.label == label).map(|s| s.median);
    let mut out = Vec::new();
    // SQLite's commit is judged against the disk's fsync; PostgreSQL's
    // against its own commit latency, which includes its WAL flush.
    let (floor_name, floor) = match backend {
        hedui_store::BackendKind::Sqlite => ("fsync", get(floor::FSYNC_P50)),
        hedui_store::BackendKind::Postgres => ("PostgreSQL commit", get(floor::COMMIT_P50)),
    };
    let setting = format!("{}/s, {}±{} ms adapters", a.rate, a.latency_ms, a.jitter_ms);
    if let (Some(p50), Some(floor)) = (get(stages::OVERHEAD_P50), floor) {
        out.push(figures::Target {
            name: format!("overhead p50 ≤ 1 ms + 2 × {floor_name} ({setting})"),
            measured: p50,
            limit: OVERHEAD_P50_ALLOWANCE_MS + 2.0 * floor,
            unit: figures::Unit::Ms,
            at_least: false,
            floor: format!("(floor: {floor_name} p50 {floor:.2} ms)"),
        });
    }
    if let Some(p99) = get(stages::OVERHEAD_P99) {
        out.push(figures::Target {
            name: format!("overhead p99 ≤ 5 ms ({setting})"),
            measured: p99,
            limit: OVERHEAD_P99_TARGET_MS,
            unit: figures::Unit::Ms,
            at_least: false,
            floor: floor.map_or_else(String::new, |f| format!("(floor: {floor_name} p50 {f:.2} ms)")),
        });
    }
    if let Some(ratio) = get(THROUGHPUT_RATIO) {
        out.push(figures::Target {
            name: format!("hub / direct, 0 ms adapters, concurrency {}", a.concurrency),
            measured: ratio,
            limit: THROUGHPUT_RATIO_TARGET,
            unit: figures::Unit::Percent,
            at_least: true,
            floor: String::new(),
        });
    }
    if let Some(cost) = get(at_rest::AT_REST_COST) {
        out.push(figures::Target {
            name: "encryption at rest costs ≤ 5 % of the hub's throughput (bound: share of one core)".into(),
            measured: cost,
            limit: 0.05,
            unit: figures::Unit::Percent,
            at_least: false,
            floor: String::new(),
        });
    }
    if let Some(ratio) = get(AUDIT_RATIO) {
        out.push(figures::Target {
            name: format!("audit appends / raw durable inserts, {} writers", a.audit_writers),
            measured: ratio,
            limit: AUDIT_RATIO_TARGET,
            unit: figures::Unit::Percent,
            at_least: true,
            floor: String::new(),
        });
    }
    out
}

/// The 1-, 5- and 15-minute load averages, from /proc (Linux).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

async fn throughput(a: &BenchArgs, sys: &Arc<System>, figs: &mut figures::Figures) -> anyhow::Result<()> {
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
            async move { sys.through_hub(i).await.map(|(e, _, _)| e) }
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
    figs.push(throughput_label(a.concurrency), hub_rate, figures::Unit::Rate);
    figs.ms("  hub latency p50", hub_lat.pct(50.0));
    figs.ms("  hub latency p99", hub_lat.pct(99.0));
    figs.push("  direct fan-out client", direct_rate, figures::Unit::Rate);
    figs.ms("  direct latency p50", direct_lat.pct(50.0));
    figs.ms("  direct latency p99", direct_lat.pct(99.0));
    figs.push(THROUGHPUT_RATIO, ratio, figures::Unit::Percent);
    Ok(())
}

/// The label of the hub's throughput figure.
fn throughput_label(concurrency: usize) -> String {
    format!("[throughput, 0 ms adapters, concurrency {concurrency}] hub")
}

/// The audit log's append rate against the database's raw durable insert
/// rate, on a fresh database of the same kind.
async fn audit(a: &BenchArgs, database_url: &str, figs: &mut figures::Figures) -> anyhow::Result<()> {
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
    figs.push(
        format!("[audit, {} callers] appends", a.audit_writers),
        audit_rate,
        figures::Unit::Rate,
    );
    figs.push(
        format!("  raw durable inserts ({} writers, a commit each)", a.audit_writers),
        single,
        figures::Unit::Rate,
    );
    figs.push(AUDIT_RATIO, ratio, figures::Unit::Percent);
    figs.push("  ceiling: raw inserts, 512 rows per commit", bulk, figures::Unit::Rate);
    figs.push("  audit / ceiling", audit_rate / bulk, figures::Unit::Percent);
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
