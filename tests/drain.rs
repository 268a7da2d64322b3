//! Drain, then stop (issue 10, item 7).
//!
//! - In process: a hub told to stop reports NOT_SERVING while it still
//!   serves, then refuses new verifications with UNAVAILABLE while the one
//!   in flight finishes with its `source.query` entries; a fan-out still
//!   waiting when the grace is over is abandoned, and its entries say so.
//! - The real `hedui hub` process, SIGTERMed at random points of a batch
//!   and started again, several times: every query that an adapter's own
//!   query log shows has a hub `source.query` entry with the same request
//!   id and department; no hub asks about a household twice; every clean
//!   stop handed its leases back and signed a last checkpoint; the batch
//!   ends with exactly one record per household and the log verifies.
//!   The seed is printed; `HEDUI_TEST_SEED=<n>` replays the same choices
//!   (see `tests/seed/mod.rs`).

#[path = "hub/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "hub/proxy.rs"]
#[allow(dead_code)]
mod proxy;
#[allow(dead_code)]
mod seed;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use seed::Rng;

use hedui_adapter::{AdapterOptions, SandboxSource, Source, SourceError, ValidatedQuery};
use hedui_domain::department::{ALL, slug};
use hedui_domain::policy::Policy;
use hedui_hub::{AdapterEndpoint, Application, HubConfig};
use hedui_proto::v1::batch_service_client::BatchServiceClient;
use hedui_proto::v1::{
    BatchState, Department, DescribeResponse, GetBatchRequest, ListRecordsRequest, QueryResponse,
    SubmitVerificationRequest,
};
use hedui_store::Store;
use hedui_store::audit::AuditFilter;
use hedui_tls::{Role, ServerTls};
use helpers::{Behaviour, EXAMPLE_POLICY, Pki, hub_key, spawn_fake};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

// ---------------------------------------------------------------- in process

/// An in-process hub over fake departments, stopped through a channel.
struct Hub {
    state: Arc<hedui_hub::HubState>,
    addr: SocketAddr,
    health: SocketAddr,
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
    pki: Pki,
    calls: Vec<Arc<AtomicUsize>>,
    _dir: tempfile::TempDir,
}

async fn start_hub(
    behaviour: impl Fn(Department) -> Behaviour,
    deadline: Duration,
    drain_delay: Duration,
    drain_grace: Duration,
) -> Hub {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut adapters = Vec::new();
    let mut calls = Vec::new();
    for d in ALL {
        let counter = Arc::new(AtomicUsize::new(0));
        calls.push(counter.clone());
        let addr = spawn_fake(&pki, d, behaviour(d), counter, std::future::pending()).await;
        adapters.push(AdapterEndpoint {
            department: d,
            url: format!("https://{addr}"),
            deadline,
            limits: Default::default(),
            breaker: Default::default(),
        });
    }
    let app = Application::build(HubConfig {
        listen: any,
        database_url: url.clone(),
        policy: Policy::from_toml(EXAMPLE_POLICY).unwrap(),
        adapters,
        grant_key: hub_key(),
        data_keys: helpers::data_keys(),
        tls: Some(pki.files(&Role::Hub, "hub-01")),
        audit_origin: "hedui.test/audit".to_owned(),
        checkpoint_interval: Duration::from_secs(3600),
        ops: hedui_hub::OpsOptions {
            health_listen: Some(any),
            drain_delay,
            drain_grace,
            ..hedui_hub::OpsOptions::default()
        },
        batch: Default::default(),
        retention: None,
    })
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, health, state) = (app.local_addr(), app.health_addr().unwrap(), app.state());
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Hub {
        state,
        addr,
        health,
        url,
        stop,
        task,
        pki,
        calls,
        _dir: dir,
    }
}

async fn health_status(addr: SocketAddr) -> Option<ServingStatus> {
    service_health(addr, "hedui.v1.VerificationService").await
}

/// The health of `service` as the probe port reports it.
async fn service_health(addr: SocketAddr, service: &str) -> Option<ServingStatus> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .ok()?
        .connect()
        .await
        .ok()?;
    let r = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .ok()?;
    ServingStatus::try_from(r.into_inner().status).ok()
}

/// The server and every service the hub serves.
const EVERY_SERVICE: [&str; 4] = [
    "",
    "hedui.v1.VerificationService",
    "hedui.v1.AuditService",
    "hedui.v1.BatchService",
];

/// Polls `f` every 10 ms until it holds (at most about a minute).
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never: {what}");
}

fn request(key: &str) -> SubmitVerificationRequest {
    let h = helpers::sandbox()
        .households()
        .iter()
        .find(|h| h.scenario != "source-offline")
        .unwrap()
        .clone();
    helpers::request(&h, key)
}

async fn entries(url: &str, action: &str) -> Vec<hedui_audit::entry::AuditEntry> {
    let store = Store::open(url).await.unwrap().with_data_keys(helpers::data_keys());
    let e = store
        .audit_entries(&AuditFilter {
            action: Some(action.into()),
            limit: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap();
    store.close().await;
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_hub_reports_not_serving_then_refuses_new_work_and_finishes_what_it_started() {
    // Every department takes a second; a long grace lets it answer.
    let hub = start_hub(
        |_| Behaviour::Slow(Duration::from_millis(1500)),
        Duration::from_secs(120),
        Duration::from_secs(1),
        Duration::from_secs(60),
    )
    .await;
    let client = hub.pki.client(hub.addr, &Role::Caseworker, "zhang.san");
    for service in EVERY_SERVICE {
        assert_eq!(
            service_health(hub.health, service).await,
            Some(ServingStatus::Serving),
            "{service:?}"
        );
    }
    let first = tokio::spawn({
        let mut c = client.clone();
        async move { c.submit_verification(request("drain-first")).await }
    });
    let calls = hub.calls.clone();
    until("the first verification reaches every department", || {
        calls.iter().all(|c| c.load(Ordering::SeqCst) == 1)
    })
    .await;
    let state = hub.state.clone();
    hub.stop.send(()).unwrap();

    // NOT_SERVING at once, while the hub still serves: the gate is open.
    let mut seen_not_serving = false;
    for _ in 0..6000 {
        if health_status(hub.health).await == Some(ServingStatus::NotServing) {
            seen_not_serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(seen_not_serving, "health never went NOT_SERVING");
    // Every service's entry follows the drain, the batch service's too.
    for service in EVERY_SERVICE {
        let mut status = None;
        for _ in 0..600 {
            status = service_health(hub.health, service).await;
            if status == Some(ServingStatus::NotServing) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(status, Some(ServingStatus::NotServing), "{service:?}");
    }
    let list = client.clone().list_records(ListRecordsRequest::default()).await;
    assert!(list.is_ok(), "still serving while NOT_SERVING: {list:?}");

    // After the drain delay no new verification starts: UNAVAILABLE, and
    // nobody is asked.
    until("the gate closes", || state.drain.is_closed()).await;
    let late = client
        .clone()
        .submit_verification(request("drain-late"))
        .await
        .unwrap_err();
    assert_eq!(late.code(), tonic::Code::Unavailable, "{late:?}");
    assert!(late.message().contains("shutting down"), "{late:?}");
    assert!(hub.calls.iter().all(|c| c.load(Ordering::SeqCst) == 1));

    // The one in flight finishes with its record, then the hub stops.
    let record = first.await.unwrap().unwrap().into_inner().record.unwrap();
    hub.task.await.unwrap().unwrap();
    let queries = entries(&hub.url, "source.query").await;
    assert_eq!(queries.len(), ALL.len());
    assert!(
        queries
            .iter()
            .all(|e| e.request_id == record.request_id && e.status != "ABANDONED")
    );
    let begins = entries(&hub.url, "verification.begin").await;
    assert_eq!(begins.len(), 1, "the late submission started nothing");
    let refused = entries(&hub.url, "SubmitVerification").await;
    assert!(
        refused.iter().any(|e| e.status == "UNAVAILABLE"),
        "the refusal is logged"
    );
    // The last checkpoint covers the whole log.
    let store = Store::open(&hub.url)
        .await
        .unwrap()
        .with_data_keys(helpers::data_keys());
    let size = store.audit_size().await.unwrap();
    assert_eq!(
        store.latest_checkpoint().await.unwrap().unwrap().checkpoint.tree_size,
        size
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_still_waiting_after_the_grace_is_abandoned_and_logged_as_such() {
    // The tax bureau never answers in time; the others at once.
    let hub = start_hub(
        |d| match d {
            Department::Tax => Behaviour::Slow(Duration::from_secs(600)),
            _ => Behaviour::Slow(Duration::from_millis(10)),
        },
        Duration::from_secs(120),
        Duration::ZERO,
        Duration::from_millis(200),
    )
    .await;
    let client = hub.pki.client(hub.addr, &Role::Caseworker, "zhang.san");
    let pending = tokio::spawn({
        let mut c = client.clone();
        async move { c.submit_verification(request("drain-abandoned")).await }
    });
    let tax = hub.calls[helpers::index_of(Department::Tax)].clone();
    until("the tax bureau has the query", || tax.load(Ordering::SeqCst) == 1).await;
    hub.stop.send(()).unwrap();
    let status = pending.await.unwrap().unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    hub.task.await.unwrap().unwrap();

    let queries = entries(&hub.url, "source.query").await;
    assert_eq!(queries.len(), ALL.len(), "every department asked has its entry");
    for e in &queries {
        if e.departments == ["tax"] {
            assert_eq!(e.status, "ABANDONED");
            assert!(e.detail.contains("the query was sent"), "{}", e.detail);
        } else {
            assert_ne!(e.status, "ABANDONED", "{e:?}");
        }
    }
    let ends = entries(&hub.url, "SubmitVerification").await;
    assert!(
        ends.iter()
            .any(|e| e.status == "ABANDONED" && e.detail.contains("abandoned at shutdown")),
        "{ends:?}"
    );
    let store = Store::open(&hub.url)
        .await
        .unwrap()
        .with_data_keys(helpers::data_keys());
    assert!(
        store.get_by_idempotency_key("drain-abandoned").await.unwrap().is_none(),
        "no record: the caseworker sends it again"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recheck_abandoned_at_shutdown_stores_no_version() {
    // The tax bureau takes longer than its deadline: the first verification
    // stores a record with tax TIMEOUT, and the re-check asks it again.
    let hub = start_hub(
        |d| match d {
            Department::Tax => Behaviour::Slow(Duration::from_secs(30)),
            _ => Behaviour::Slow(Duration::from_millis(10)),
        },
        Duration::from_secs(3),
        Duration::ZERO,
        Duration::from_millis(200),
    )
    .await;
    let mut client = hub.pki.client(hub.addr, &Role::Caseworker, "zhang.san");
    let record = client
        .submit_verification(request("drain-recheck"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    let pending = tokio::spawn({
        let mut c = client.clone();
        let record_id = record.record_id.clone();
        async move {
            c.recheck_record(hedui_proto::v1::RecheckRecordRequest {
                record_id,
                departments: Vec::new(),
                idempotency_key: "drain-recheck-2".into(),
            })
            .await
        }
    });
    let tax = hub.calls[helpers::index_of(Department::Tax)].clone();
    until("the tax bureau has the re-check's query", || {
        tax.load(Ordering::SeqCst) == 2
    })
    .await;
    hub.stop.send(()).unwrap();
    let status = pending.await.unwrap().unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    hub.task.await.unwrap().unwrap();
    let queries = entries(&hub.url, "source.query").await;
    assert_eq!(queries.len(), ALL.len() + 1, "the first fan-out's and the re-check's");
    let last = queries.last().unwrap();
    assert_eq!(
        (last.departments.as_slice(), last.status.as_str()),
        (&["tax".to_owned()][..], "ABANDONED")
    );
    let store = Store::open(&hub.url)
        .await
        .unwrap()
        .with_data_keys(helpers::data_keys());
    assert_eq!(
        store.lineage(&record.record_id).await.unwrap().len(),
        1,
        "no new version"
    );
    store.close().await;
}

// ------------------------------------------------------ the real hub process

/// A sandbox department that takes a varying while, so SIGTERMs land with
/// queries in flight.
struct Slow {
    inner: SandboxSource,
    state: AtomicU64,
}

impl Source for Slow {
    fn describe(&self) -> DescribeResponse {
        self.inner.describe()
    }

    async fn query(&self, q: &ValidatedQuery) -> Result<QueryResponse, SourceError> {
        let r = Rng::from_seed(self.state.fetch_add(0x9E37_79B9, Ordering::Relaxed)).next_u64();
        tokio::time::sleep(Duration::from_millis(20 + r % 300)).await;
        self.inner.query(q).await
    }
}

/// The hub process; SIGKILLed and reaped when dropped, so a failing test
/// leaves no hub behind.
struct HubProcess(Child);

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl HubProcess {
    /// SIGTERM, then waits for the process to exit by itself.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        for _ in 0..12_000 {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the hub did not stop within two minutes of SIGTERM");
    }
}

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_HUB").env_remove("HEDUI_LOG");
    c
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Rig {
    dir: PathBuf,
    base_config: String,
    logs: PathBuf,
}

impl Rig {
    fn start(&self, run: usize, drain_seconds: u64, grace_seconds: u64) -> HubProcess {
        let config = self.dir.join(format!("hub-{run}.toml"));
        std::fs::write(
            &config,
            format!(
                "drain_seconds = {drain_seconds}\ndrain_grace_seconds = {grace_seconds}\n{}",
                self.base_config
            ),
        )
        .unwrap();
        let log = std::fs::File::create(self.dir.join(format!("hub-{run}.log"))).unwrap();
        HubProcess(
            hedui()
                .args(["hub", "--config", config.to_str().unwrap()])
                .env("HEDUI_LOG", "info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    /// Every line of every adapter's query log: (request id, department slug).
    fn adapter_queries(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for d in ALL {
            let path = self.logs.join(format!("{}.jsonl", slug(d)));
            let text = std::fs::read_to_string(path).unwrap_or_default();
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["outcome"], "received", "{line}");
                out.push((
                    v["request_id"].as_str().unwrap().to_owned(),
                    v["department"].as_str().unwrap().to_owned(),
                ));
            }
        }
        out
    }
}

async fn wait_listening(addr: SocketAddr) {
    for _ in 0..1200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the hub never listened on {addr}");
}

async fn progress(c: &mut BatchServiceClient<tonic::transport::Channel>, id: &str) -> Option<(i32, u32)> {
    let b = c
        .get_batch(GetBatchRequest { batch_id: id.into() })
        .await
        .ok()?
        .into_inner()
        .batch?;
    Some((b.state, b.done))
}

/// The batch key (`batch:<id>:<seq>`) a `verification.begin` entry names.
fn household_key(detail: &str) -> Option<String> {
    let start = detail.find("(batch:")? + 1;
    let end = detail[start..].find(')')? + start;
    Some(detail[start..end].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_batch_loses_no_query_from_the_log_and_asks_no_household_twice() {
    let seed = seed::seed("drain test");
    let mut rng = Rng::from_seed(seed);
    const N: usize = 240;
    const STOPS: usize = 3;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let pki = Pki::new();
    let logs = dir.join("adapter-logs");
    let today = chrono::Utc::now().date_naive();
    let sandbox = Arc::new(hedui_adapter::sandbox::Sandbox::dejiang(today));
    let mut adapters = String::new();
    for d in ALL {
        let options = AdapterOptions {
            trusted_hub_keys: vec![hub_key().verifying_key()],
            query_log: Some(logs.join(format!("{}.jsonl", slug(d)))),
            tls: Some(ServerTls::load(pki.files(&Role::Adapter(d), &format!("{}-01", slug(d)))).unwrap()),
            ..Default::default()
        };
        let source = Arc::new(Slow {
            inner: SandboxSource::new(sandbox.clone(), d),
            state: AtomicU64::new(seed ^ (d as u64)),
        });
        let (addr, _) = hedui_adapter::spawn(source, "127.0.0.1:0".parse().unwrap(), options, std::future::pending())
            .await
            .unwrap();
        adapters.push_str(&format!("[adapters.{}]\nurl = \"https://{addr}\"\n", slug(d)));
    }
    let hub_files = pki.files(&Role::Hub, "hub-real");
    let cw = pki.files(&Role::Caseworker, "wang.wu");
    std::fs::write(dir.join("policy.toml"), EXAMPLE_POLICY).unwrap();
    helpers::write_hub_key(&dir);
    helpers::write_data_key(&dir);
    let listen = free_port();
    let database = dir.join("hedui.db");
    let rig = Rig {
        base_config: format!(
            "listen = \"{listen}\"\ndatabase_url = \"sqlite://{}\"\npolicy = \"policy.toml\"\nhub_key = \"hub.key\"\ndata_key = \"data.key\"\n\
             checkpoint_interval_s = 1\ndeadline_ms = 10000\n\
             [tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n\
             [batch]\nin_flight = 8\nlease_s = 600\nbackoff_s = 1\n{adapters}",
            database.display(),
            hub_files.ca.display(),
            hub_files.cert.display(),
            hub_files.key.display(),
        ),
        dir: dir.clone(),
        logs,
    };
    let db_url = format!("sqlite://{}", database.display());

    // The roster, submitted with the CLI once the first hub listens.
    let roster = dir.join("roster.csv");
    hedui_roster::write_example_csv(&roster, N, today).unwrap();
    let mut config = (0, 15);
    let mut hub = rig.start(0, config.0, config.1);
    wait_listening(listen).await;
    let hub_url = format!("https://{listen}");
    let client_args = |c: &mut Command| {
        c.args(["--hub", &hub_url])
            .args(["--ca", cw.ca.to_str().unwrap()])
            .args(["--cert", cw.cert.to_str().unwrap()])
            .args(["--key", cw.key.to_str().unwrap()]);
    };
    let mut submit = hedui();
    submit.args([
        "batch",
        "submit",
        roster.to_str().unwrap(),
        "--purpose",
        "minimum-living",
    ]);
    submit.args(["--window", "12", "--label", "drain test"]);
    client_args(&mut submit);
    let out = submit.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut c = BatchServiceClient::new(pki.channel(listen, &Role::Caseworker, "wang.wu"));

    // SIGTERM at random points of progress; each stop must be clean. The
    // drain delay and grace vary: a grace of 0 abandons whatever is in
    // flight, a long one lets it finish.
    let mut run_ranges = Vec::new();
    let mut run_start = 0;
    let mut summary = Vec::new();
    let step = (N / (STOPS + 1)) as u32;
    let mut last_done = 0;
    for run in 0..=STOPS {
        let last = run == STOPS;
        if !last {
            let target = last_done + 1 + rng.below(u64::from(step)) as u32;
            let mut reached = false;
            for _ in 0..12_000 {
                if let Some((_, done)) = progress(&mut c, &id).await
                    && done >= target
                {
                    reached = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(reached, "run {run}: the batch made no progress");
            tokio::time::sleep(Duration::from_millis(rng.below(250))).await;
        } else {
            let mut finished = false;
            for _ in 0..12_000 {
                if let Some((state, _)) = progress(&mut c, &id).await
                    && state == BatchState::Done as i32
                {
                    finished = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(finished, "the batch did not finish after the restarts");
        }
        let status = hub.terminate();
        assert!(status.success(), "run {run}: the hub did not stop cleanly: {status}");

        // Stopped cleanly: leases handed back, the last checkpoint covers
        // the whole log.
        let store = Store::open_without_migrating(&db_url)
            .await
            .unwrap()
            .with_data_keys(helpers::data_keys());
        let info = store.get_batch(&id).await.unwrap().unwrap();
        assert_eq!(info.running, 0, "run {run}: every lease was handed back");
        let size = store.audit_size().await.unwrap();
        let checkpoint = store.latest_checkpoint().await.unwrap().unwrap();
        assert_eq!(
            checkpoint.checkpoint.tree_size, size,
            "run {run}: a last checkpoint covers the log"
        );
        let abandoned = store
            .audit_entries(&AuditFilter {
                action: Some("source.query".into()),
                after_seq: Some(run_start),
                limit: 1_000_000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.status == "ABANDONED")
            .count();
        store.close().await;
        summary.push(format!(
            "run {run} (drain {} s, grace {} s): {} households done, {abandoned} queries abandoned",
            config.0, config.1, info.done
        ));
        run_ranges.push((run_start, size));
        run_start = size;
        last_done = info.done as u32;
        if !last {
            // Next run: a random drain delay (0 or 1 s) and grace (0 or
            // 15 s); the second run always has no grace, so that every test
            // abandons fan-outs in flight at least once.
            let drain = rng.below(2);
            let grace = if run == 0 || rng.below(2) == 0 { 0 } else { 15 };
            config = (drain, grace);
            hub = rig.start(run + 1, drain, grace);
            wait_listening(listen).await;
            c = BatchServiceClient::new(pki.channel(listen, &Role::Caseworker, "wang.wu"));
        }
    }

    // Every query a department received has the hub's entry.
    let store = Store::open_without_migrating(&db_url)
        .await
        .unwrap()
        .with_data_keys(helpers::data_keys());
    let all = store.audit_all().await.unwrap();
    let logged: HashSet<(String, String)> = all
        .iter()
        .filter(|e| e.action == "source.query")
        .flat_map(|e| e.departments.iter().map(|d| (e.request_id.clone(), d.clone())))
        .collect();
    let received = rig.adapter_queries();
    let missing: Vec<_> = received.iter().filter(|q| !logged.contains(*q)).collect();
    assert!(
        missing.is_empty(),
        "queries the departments received with no hub entry: {missing:?}"
    );

    // No hub asked about a household twice: per run, one fan-out per
    // household, and each department received each fan-out's query once.
    let mut run_of_request = HashMap::new();
    for (run, (from, to)) in run_ranges.iter().enumerate() {
        let mut seen: HashMap<String, String> = HashMap::new();
        for e in all
            .iter()
            .filter(|e| e.seq >= *from && e.seq < *to && e.action == "verification.begin")
        {
            let key = household_key(&e.detail).unwrap_or_else(|| panic!("{e:?}"));
            if let Some(earlier) = seen.insert(key.clone(), e.request_id.clone()) {
                panic!(
                    "run {run} asked about {key} twice (requests {earlier} and {})",
                    e.request_id
                );
            }
            run_of_request.insert(e.request_id.clone(), run);
        }
    }
    let mut per_department = HashSet::new();
    for q in &received {
        assert!(run_of_request.contains_key(&q.0), "{q:?} has no verification.begin");
        assert!(per_department.insert(q.clone()), "{q:?} was received twice");
    }

    // Exactly one record per household, and the log verifies offline.
    let info = store.get_batch(&id).await.unwrap().unwrap();
    assert_eq!((info.total, info.done), (N as i64, N as i64));
    let rows = store.batch_results(&id, 0, 1_000_000, false).await.unwrap();
    assert_eq!(rows.len(), N);
    assert!(rows.iter().all(|r| r.record.is_some()));
    let records = store
        .list_records(&hedui_store::ListFilter {
            limit: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(records.len(), N, "no record doubled");
    store.close().await;
    let key = hedui_audit::checkpoint::format_public_key(&hub_key().verifying_key());
    let out = hedui()
        .args(["audit", "verify", "--database", &db_url, "--key", &key, "--data-key"])
        .arg(helpers::write_data_key(&tempfile::tempdir().unwrap().keep()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "drain test (seed {seed}): {N} households, {} SIGTERMs; {}; {} queries received by the departments, each with its hub entry",
        STOPS + 1,
        summary.join("; "),
        received.len()
    );
}
