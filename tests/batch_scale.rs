//! Scale measurement, not a test of behaviour: run by hand with
//!
//! ```sh
//! HEDUI_SCALE_N=100000 cargo test --release --test batch_scale -- --ignored --nocapture
//! HEDUI_SCALE_BACKEND=postgres HEDUI_SCALE_HUBS=1 HEDUI_SCALE_N=100000 cargo test --release --test batch_scale -- --ignored --nocapture
//! HEDUI_SCALE_BACKEND=postgres HEDUI_SCALE_HUBS=2 HEDUI_SCALE_N=100000 cargo test --release --test batch_scale -- --ignored --nocapture
//! ```
//!
//! A synthetic roster of N households is submitted with the real `hedui
//! batch submit` to a real `hedui hub` process, served by the eight sandbox
//! adapters in this process, and run to the end. It prints the households
//! per second and the peak resident memory (VmHWM) of the hub and of the
//! submitting CLI; nothing is asserted about time. The hub runs with
//! `MALLOC_ARENA_MAX=2`, as the deployment files set it
//! (`HEDUI_SCALE_ARENAS=` with an empty value for glibc's default, or
//! another number).
//!
//! `HEDUI_SCALE_HUB_LOG=PATH` keeps the hub's log in that file, with the
//! store's notes at debug level (each time the SQLite checkpointer lets the
//! log start again, or gives up trying, with the log's size).
//!
//! `HEDUI_SCALE_BACKEND` is `sqlite` (the default: the hub migrates a new
//! file at start, and the output is the one earlier figures were taken
//! with) or `postgres`: a fresh database named `hedui_test_<uuid>` on the
//! server the hub tests use (127.0.0.1:5432, or `HEDUI_TEST_POSTGRES_URL`),
//! migrated once with `hedui migrate` before any hub starts (as a rollout's
//! migration job does, so two hubs do not both migrate it), and dropped at
//! the end, also when the run fails. `HEDUI_SCALE_HUBS` is `1` (default) or
//! `2`, the latter on PostgreSQL only: two hub processes on the one
//! database, each with its own `HEDUI_INSTANCE`, listen and metrics ports,
//! and the same adapters. The roster goes to the first; the second's batch
//! worker finds the batch by its poll and claims households beside it, as
//! in `two_hubs_on_one_postgres_share_a_batch_and_an_audit_log`. On
//! PostgreSQL it prints, per hub, the households it ran (its department
//! queries, from its `/metrics`, over the eight departments), its CPU time
//! and peak RSS, then the database's size — so that one hub and two can be
//! compared run against run.
//!
//! A roster file may hold at most 100 MiB (`hedui_roster::MAX_ROSTER_BYTES`,
//! about 350,000 of these households), so N above [`PART`] is written as
//! several rosters of at most [`PART`] households each, distinct
//! households throughout, submitted one after another as separate batches
//! (as a county would split a province-wide list) and run to the end of
//! the last; the rate is all N over the time from the first upload's end
//! to the last batch's end.

#[path = "hub/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "hub/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hedui_domain::department::slug;
use hedui_proto::v1::batch_service_client::BatchServiceClient;
use hedui_proto::v1::{BatchState, GetBatchRequest};
use hedui_tls::Role;
use helpers::{Behaviour, PostgresDb, TestSystem};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

struct Hub(Child);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `hedui hub` on `config`, logging warnings only, to nowhere; with
/// `HEDUI_SCALE_HUB_LOG` set to a file's path, to that file, with the
/// store's own notes at debug level too (the SQLite checkpointer's). With an
/// `instance` name (PostgreSQL, one or two hubs) it starts with
/// `--no-migrate`, the database having been migrated once before; without,
/// it migrates its own SQLite database at start, as the earlier SQLite
/// figures were taken.
fn spawn_hub(config: &std::path::Path, instance: Option<&str>) -> Hub {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hedui"));
    cmd.env("HEDUI_LOG", "warn").arg("hub");
    // The malloc arenas of deploy/systemd/hedui-hub.service and the
    // Dockerfile (2), unless `HEDUI_SCALE_ARENAS` says otherwise; empty
    // means glibc's default, as the figures before 7 December were taken.
    match std::env::var("HEDUI_SCALE_ARENAS").as_deref() {
        Ok("") => {
            cmd.env_remove("MALLOC_ARENA_MAX");
        }
        Ok(n) => {
            cmd.env("MALLOC_ARENA_MAX", n);
        }
        Err(_) => {
            cmd.env("MALLOC_ARENA_MAX", "2");
        }
    }
    if let Some(instance) = instance {
        cmd.env("HEDUI_INSTANCE", instance).arg("--no-migrate");
    }
    let log = match std::env::var_os("HEDUI_SCALE_HUB_LOG") {
        Some(path) => {
            cmd.env("HEDUI_LOG", "warn,hedui_store=debug");
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("HEDUI_SCALE_HUB_LOG={}: {e}", path.display()));
            Stdio::from(file)
        }
        None => Stdio::null(),
    };
    Hub(cmd
        .args(["--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap())
}

/// The peak resident memory (VmHWM) of a live process, in KiB.
fn vm_hwm_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// The resident memory of a live process now, in KiB, and what it is:
/// "VmRSS (anon A, file F)", anonymous memory (the heap) against mapped
/// files (the binary's pages, SQLite's shared memory).
fn vm_rss_shown(pid: u32) -> String {
    format!(
        "{} (anon {}, file {})",
        status_kib(pid, "VmRSS:"),
        status_kib(pid, "RssAnon:"),
        status_kib(pid, "RssFile:") + status_kib(pid, "RssShmem:")
    )
}

/// A `kB` field of a live process's `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The figure at the end of `/usr/bin/time -v`'s "Maximum resident set
/// size (kbytes): N" line; 0 for anything else.
fn rss_kib(line: &str) -> u64 {
    line.rsplit(':').next().and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Households per roster file: 250,000 of them are about 71 MiB, under the
/// 100 MiB a roster may hold.
const PART: usize = 250_000;

/// Where the hub's database is.
#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The backend and the number of hubs, from the environment; refuses what
/// cannot be measured rather than measuring something else.
fn backend_and_hubs() -> (Backend, usize) {
    let backend = match std::env::var("HEDUI_SCALE_BACKEND").as_deref() {
        Err(_) | Ok("sqlite") => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        Ok(other) => panic!("HEDUI_SCALE_BACKEND={other:?}: expected sqlite (the default) or postgres"),
    };
    let hubs = match std::env::var("HEDUI_SCALE_HUBS").as_deref() {
        Err(_) | Ok("1") => 1,
        Ok("2") => 2,
        Ok(other) => panic!("HEDUI_SCALE_HUBS={other:?}: expected 1 (the default) or 2"),
    };
    assert!(
        !(backend == Backend::Sqlite && hubs == 2),
        "HEDUI_SCALE_HUBS=2 needs HEDUI_SCALE_BACKEND=postgres: the measurement of two hubs is of two \
         processes sharing one PostgreSQL database; on SQLite they would only queue for the one file's write lock"
    );
    (backend, hubs)
}

/// A free port on loopback (bound and released; very likely still free).
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The scale run's PostgreSQL database; dropped by [`ScaleDb::drop_database`]
/// at the end, or by `Drop` when the run panics first, so a failed
/// measurement leaves no database behind.
struct ScaleDb(Option<PostgresDb>);

impl ScaleDb {
    async fn drop_database(mut self) {
        if let Some(db) = self.0.take() {
            db.drop_database().await;
        }
    }
}

impl Drop for ScaleDb {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            // On another thread with a runtime of its own: this one's may be
            // unwinding.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(db.drop_database());
            })
            .join();
        }
    }
}

/// `GET /metrics` from a hub over plain HTTP/1.1; the body.
async fn scrape(addr: SocketAddr) -> String {
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /metrics HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut raw = String::new();
    c.read_to_string(&mut raw).await.unwrap();
    raw.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// The sum of every sample of the family `name` in an exposition.
fn family_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

/// Writes the configuration of one hub process into `dir`; returns its
/// path.
#[allow(clippy::too_many_arguments)]
fn write_config(
    dir: &Path,
    file: &str,
    listen: SocketAddr,
    metrics: Option<SocketAddr>,
    database_url: &str,
    tls: &hedui_tls::TlsFiles,
    adapters: &TestSystem,
) -> std::path::PathBuf {
    let metrics = metrics
        .map(|m| format!("metrics_listen = \"{m}\"\n"))
        .unwrap_or_default();
    let mut config = format!(
        "listen = \"{listen}\"\ndatabase_url = \"{database_url}\"\n{metrics}policy = \"policy.toml\"\nhub_key = \"hub.key\"\ndata_key = \"data.key\"\n\
         [tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n[batch]\nin_flight = 32\n",
        tls.ca.display(),
        tls.cert.display(),
        tls.key.display(),
    );
    for a in &adapters.adapters {
        config.push_str(&format!(
            "[adapters.{}]\nurl = \"{}\"\nmax_concurrency = 64\nmax_rate_per_s = 100000\n",
            slug(a.department),
            a.url
        ));
    }
    let path = dir.join(file);
    std::fs::write(&path, config).unwrap();
    path
}

/// One hub process of the run.
struct Running {
    hub: Hub,
    listen: SocketAddr,
    metrics: Option<SocketAddr>,
    instance: Option<String>,
}

/// The 1, 5 and 15 minute load averages, as /proc/loadavg has them: the
/// machine is shared, and a figure means little without them.
fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// `pg_database_size` of the database at `url`, in bytes.
async fn pg_database_size(url: &str) -> i64 {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let bytes = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    bytes
}

/// The CPU time (user + system) of a live process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold
    // spaces: utime and stime are the 12th and 13th of them.
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 =
        f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0) + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // USER_HZ is 100 on every Linux this runs on.
    ticks as f64 / 100.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand with HEDUI_SCALE_N"]
async fn measure_a_large_batch() {
    let n: usize = std::env::var("HEDUI_SCALE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (backend, hub_count) = backend_and_hubs();
    let adapters = TestSystem::with(|_| Behaviour::Sandbox, Duration::from_secs(30)).await;
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    // HEDUI_SCALE_PART (households per roster) only to try the split on a
    // small N.
    let per_roster = std::env::var("HEDUI_SCALE_PART")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|p| *p > 0)
        .unwrap_or(PART);
    let mut rosters = Vec::new();
    for (part, start) in (0..n).step_by(per_roster).enumerate() {
        let path = dir.path().join(format!("roster-{}.csv", part + 1));
        let households = (start..n.min(start + per_roster))
            .map(|i| hedui_roster::write::synthetic_household(i, today, hedui_proto::v1::Purpose::MinimumLiving));
        hedui_roster::write_roster_csv(&path, households).unwrap();
        rosters.push(path);
    }
    let cw = adapters.pki.files(&Role::Caseworker, "wang.wu");
    std::fs::write(dir.path().join("policy.toml"), helpers::EXAMPLE_POLICY).unwrap();
    helpers::write_hub_key(dir.path());
    helpers::write_data_key(dir.path());
    let (db, database_url) = match backend {
        Backend::Sqlite => (
            ScaleDb(None),
            format!("sqlite://{}", dir.path().join("hedui.db").display()),
        ),
        Backend::Postgres => {
            let Some(db) = helpers::fresh_postgres().await else {
                panic!("HEDUI_SCALE_BACKEND=postgres, but no PostgreSQL server answers (see the notice above)");
            };
            let url = db.url.clone();
            // Once, before any hub: the hubs then start with --no-migrate.
            let out = Command::new(env!("CARGO_BIN_EXE_hedui"))
                .args(["migrate", "--database", &url])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "hedui migrate: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            (ScaleDb(Some(db)), url)
        }
    };
    let size_before = match backend {
        Backend::Sqlite => 0,
        Backend::Postgres => pg_database_size(&database_url).await,
    };
    let mut hubs = Vec::new();
    for i in 1..=hub_count {
        let listen = free_addr();
        let running = if backend == Backend::Sqlite {
            // Exactly as the SQLite figures of docs/PERFORMANCE.md were
            // taken: one hub, no metrics port, its own migration at start.
            let hub_files = adapters.pki.files(&Role::Hub, "hub-scale");
            let config = write_config(
                dir.path(),
                "hub.toml",
                listen,
                None,
                &database_url,
                &hub_files,
                &adapters,
            );
            let hub = spawn_hub(&config, None);
            Running {
                hub,
                listen,
                metrics: None,
                instance: None,
            }
        } else {
            let metrics = free_addr();
            let instance = format!("hub-scale-{i}");
            let hub_files = adapters.pki.files(&Role::Hub, &instance);
            let config = write_config(
                dir.path(),
                &format!("hub-{i}.toml"),
                listen,
                Some(metrics),
                &database_url,
                &hub_files,
                &adapters,
            );
            // Distinct instance names: hubs on one host and one database
            // that shared one would release each other's idempotency claims
            // at start (see the hub's claims module).
            let hub = spawn_hub(&config, Some(&instance));
            Running {
                hub,
                listen,
                metrics: Some(metrics),
                instance: Some(instance),
            }
        };
        hubs.push(running);
    }
    for h in &mut hubs {
        while std::net::TcpStream::connect(h.listen).is_err() {
            if let Some(status) = h.hub.0.try_wait().unwrap() {
                panic!("the hub on {} exited before it listened: {status}", h.listen);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let listen = hubs[0].listen;
    let load_at_start = loadavg();
    let started = Instant::now();
    let mut ids = Vec::new();
    let mut submit_rss = String::new();
    let mut first_uploaded = None;
    for roster in &rosters {
        let out = Command::new("/usr/bin/time")
            .arg("-v")
            .arg(env!("CARGO_BIN_EXE_hedui"))
            .args([
                "batch",
                "submit",
                roster.to_str().unwrap(),
                "--purpose",
                "minimum-living",
            ])
            .args(["--hub", &format!("https://{listen}")])
            .args(["--ca", cw.ca.to_str().unwrap()])
            .args(["--cert", cw.cert.to_str().unwrap()])
            .args(["--key", cw.key.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        // The largest of the submits' peaks (they are alike in size).
        let rss = err
            .lines()
            .find(|l| l.contains("Maximum resident set size"))
            .unwrap_or("")
            .to_owned();
        if rss_kib(&rss) >= rss_kib(&submit_rss) {
            submit_rss = rss;
        }
        ids.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
        // The hub starts on the first batch while the others upload, so the
        // run is timed from the first upload's end.
        first_uploaded.get_or_insert_with(Instant::now);
    }
    let uploaded = started.elapsed();
    let mut c = BatchServiceClient::new(adapters.pki.channel(listen, &Role::Caseworker, "wang.wu"));
    let run_started = first_uploaded.expect("at least one roster");
    let mut last_print = Instant::now();
    loop {
        let mut batches = Vec::with_capacity(ids.len());
        for id in &ids {
            batches.push(
                c.get_batch(GetBatchRequest { batch_id: id.clone() })
                    .await
                    .unwrap()
                    .into_inner()
                    .batch
                    .unwrap(),
            );
        }
        let done: u64 = batches.iter().map(|b| u64::from(b.done)).sum();
        let total: u64 = batches.iter().map(|b| u64::from(b.total)).sum();
        let all_done = batches.iter().all(|b| b.state == BatchState::Done as i32);
        // The hub's own rate of the batch running now (or the last).
        let running = batches
            .iter()
            .position(|b| b.state != BatchState::Done as i32)
            .unwrap_or(batches.len() - 1);
        let b = &batches[running];
        if last_print.elapsed() > Duration::from_secs(30) {
            let rss: Vec<String> = hubs.iter().map(|h| vm_hwm_kib(h.hub.0.id()).to_string()).collect();
            eprintln!(
                "{done}/{total} done, {:.1}/s overall ({:.1}/s says the hub, batch {} of {}), hub VmHWM {} KiB, VmRSS {} KiB",
                done as f64 / run_started.elapsed().as_secs_f64(),
                b.rate_per_s,
                running + 1,
                batches.len(),
                rss.join(" + "),
                hubs.iter()
                    .map(|h| vm_rss_shown(h.hub.0.id()))
                    .collect::<Vec<_>>()
                    .join(" + ")
            );
            last_print = Instant::now();
        }
        if all_done {
            let run = run_started.elapsed().as_secs_f64();
            if backend == Backend::Sqlite {
                eprintln!(
                    "N={n}: upload {:.1}s; run {:.1}s = {:.1} households/s (hub says {:.1}/s); \
                     hub peak RSS {} KiB; submit CLI: {submit_rss}",
                    uploaded.as_secs_f64(),
                    run,
                    n as f64 / run,
                    b.rate_per_s,
                    vm_hwm_kib(hubs[0].hub.0.id())
                );
            } else {
                eprintln!(
                    "N={n} on PostgreSQL, {hub_count} hub(s): upload {:.1}s; run {:.1}s = {:.1} households/s \
                     (hub 1 says {:.1}/s); submit CLI: {submit_rss}",
                    uploaded.as_secs_f64(),
                    run,
                    n as f64 / run,
                    b.rate_per_s,
                );
                eprintln!(
                    "  load average {load_at_start} at the upload, {} at the end; the test process (the eight adapters, mostly) CPU {:.1} s",
                    loadavg(),
                    cpu_seconds(std::process::id())
                );
            }
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if backend == Backend::Postgres {
        let departments = adapters.adapters.len() as f64;
        let mut ran_total = 0.0;
        for (i, h) in hubs.iter().enumerate() {
            let text = scrape(h.metrics.expect("PostgreSQL hubs serve metrics")).await;
            // Every sandbox household asks each department once, so a
            // hub's department queries over the departments are the
            // households it ran (a retried one counts again; with the
            // sandbox there are none).
            let queries = family_sum(&text, "hedui_source_outcomes_total");
            let ran = queries / departments;
            ran_total += ran;
            eprintln!(
                "  hub {} ({}, {}): ran {:.0} households ({:.1} %; {queries:.0} department queries), \
                 CPU {:.1} s, peak RSS {} KiB",
                i + 1,
                h.instance.as_deref().unwrap_or(""),
                h.listen,
                ran,
                100.0 * ran / n as f64,
                cpu_seconds(h.hub.0.id()),
                vm_hwm_kib(h.hub.0.id())
            );
        }
        if (ran_total - n as f64).abs() >= 0.5 {
            eprintln!(
                "  note: the hubs ran {ran_total:.0} households for {n} (retries or households asking fewer departments)"
            );
        }
        let bytes = pg_database_size(&database_url).await;
        let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
        eprintln!(
            "  database size at the end: {:.1} MiB ({:.1} MiB when migrated and empty; {:.0} bytes per household)",
            mib(bytes),
            mib(size_before),
            (bytes - size_before) as f64 / n as f64
        );
    }
    drop(hubs);
    db.drop_database().await;
}
