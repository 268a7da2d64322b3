//! Starts the hub and eight adapters in-process on port 0, over real gRPC,
//! with the county of `hedui-testkit`.
//!
//! Each department is served either by the SDK around the sandbox (the
//! production path) or by a [`Fake`] that misbehaves on purpose. Fakes
//! implement `SourceService` directly, bypassing the SDK's own output checks,
//! because they stand for a partner whose adapter is broken.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hedui_adapter::sandbox::{Sandbox, SandboxHousehold};
use hedui_domain::department::ALL;
use hedui_domain::department::slug;
use hedui_proto::v1::source_service_server::{SourceService, SourceServiceServer};
use hedui_proto::v1::verification_service_client::VerificationServiceClient;
use hedui_proto::v1::{
    Department, DescribeRequest, DescribeResponse, QueryRequest, QueryResponse, SubmitVerificationRequest,
};
use hedui_testkit::{Builder, QueryLogs, System};
use hedui_tls::{Role, ServerTls};
use tokio::sync::Barrier;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::proxy::FaultProxy;

pub use hedui_testkit::Pki;
// Read by tests/drain.rs and tests/batch_kill.rs, which share this file.
#[allow(unused_imports)]
pub use hedui_testkit::EXAMPLE_POLICY;

/// The sandbox, built once for the whole test binary.
pub fn sandbox() -> Arc<Sandbox> {
    static S: OnceLock<Arc<Sandbox>> = OnceLock::new();
    S.get_or_init(|| Arc::new(Sandbox::dejiang(chrono::Utc::now().date_naive())))
        .clone()
}

/// The first sandbox household built for `scenario`.
pub fn household(scenario: &str) -> SandboxHousehold {
    sandbox()
        .households()
        .iter()
        .find(|h| h.scenario == scenario)
        .unwrap_or_else(|| panic!("the sandbox has no {scenario:?} household"))
        .clone()
}

/// A valid request for `h`.
pub fn request(h: &SandboxHousehold, key: &str) -> SubmitVerificationRequest {
    hedui_testkit::requests::request(&h.household, "SQ-TEST-0001", key, chrono::Utc::now().date_naive())
}

/// A complete authorization for `household`, signed today.
pub fn authorization(household: &hedui_proto::v1::Household, form: &str) -> hedui_proto::v1::Authorization {
    hedui_testkit::requests::authorization(household, form, chrono::Utc::now().date_naive())
}

/// The key every sandbox adapter signs its query log's checkpoints with
/// (a department's own key, not the hub's).
pub fn adapter_log_key() -> hedui_trust::SigningKey {
    hedui_trust::SigningKey::from_bytes(&[0x1a; 32])
}

/// The hub's grant key in tests.
pub fn hub_key() -> hedui_trust::SigningKey {
    hedui_testkit::test_hub_key()
}

/// The hub's data keys in tests ([`hedui_testkit::DATA_KEY_FILE`]), to
/// open the hub's database and read what it stored.
pub fn data_keys() -> std::sync::Arc<dyn hedui_store::KeyProvider> {
    hedui_testkit::test_data_keys()
}

/// Writes the tests' data key file as `dir/data.key`, readable by its owner
/// only, for a `hedui hub` whose configuration says `data_key = "data.key"`.
#[allow(dead_code)]
pub fn write_data_key(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("data.key");
    std::fs::write(&path, hedui_testkit::DATA_KEY_FILE).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// Writes the tests' hub key as `dir/hub.key`, readable by its owner only
/// (a hub refuses one its group or others may read), for a `hedui hub`
/// whose configuration says `hub_key = "hub.key"`.
#[allow(dead_code)]
pub fn write_hub_key(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("hub.key");
    std::fs::write(&path, hedui_audit::checkpoint::format_signing_key(&hub_key())).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// How one department behaves.
#[derive(Clone)]
pub enum Behaviour {
    /// The SDK serving the sandbox: the real thing.
    Sandbox,
    /// Answers like the sandbox after a delay.
    Slow(Duration),
    /// Answers like the sandbox, then breaks the reply with this function.
    Corrupt(fn(&mut QueryResponse)),
    /// Answers like the sandbox once all departments using this barrier are
    /// inside a call at the same time.
    Rendezvous(Arc<Barrier>),
    /// Nothing listens at its address.
    Down,
    /// The SDK serving the sandbox, but trusting another hub's key.
    ForeignKey,
    /// The SDK serving the sandbox behind a [`FaultProxy`], whose fault the
    /// test sets (`TestSystem::proxies`).
    Faulty,
    /// The SDK serving a snapshot backend (real imported CSV files).
    Snapshot(Arc<hedui_adapter::snapshot::SnapshotSource>),
    /// Answers like the sandbox while the switch is on; while it is off,
    /// answers UNAVAILABLE ("down for maintenance"). Flip it to bring the
    /// department back.
    Switch(Arc<AtomicBool>),
    /// Answers like the sandbox after a delay, counting the calls in
    /// flight and the most ever seen at once.
    Counted(Arc<InFlight>),
}

/// Calls in flight at a [`Behaviour::Counted`] adapter.
#[derive(Debug, Default)]
pub struct InFlight {
    /// How long each call takes.
    pub delay: Duration,
    /// In flight now.
    pub now: AtomicUsize,
    /// The most ever in flight at once.
    pub high_water: AtomicUsize,
}

/// Limits and batch settings for a test hub.
#[derive(Clone, Default)]
pub struct Tuning {
    /// Per-department limits; the default where absent.
    pub limits: Vec<(Department, hedui_hub::DepartmentLimits)>,
    /// The batch worker's settings.
    pub batch: hedui_hub::BatchSettings,
    /// Every department's circuit breaker; `None` turns breakers off, so
    /// that tests of other things count every call at the adapters.
    pub breaker: Option<hedui_hub::breaker::BreakerSettings>,
    /// The hub and the SDK adapters load the county's revocation list
    /// ([`Pki::crl`]), published empty at start.
    pub crl: bool,
    /// The hub's retention period and schedule.
    pub retention: Option<hedui_hub::retention::RetentionSettings>,
}

/// A misbehaving adapter.
struct Fake {
    department: Department,
    behaviour: Behaviour,
    calls: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl SourceService for Fake {
    async fn describe(&self, _r: Request<DescribeRequest>) -> Result<Response<DescribeResponse>, Status> {
        Ok(Response::new(DescribeResponse {
            department: self.department as i32,
            ..Default::default()
        }))
    }

    async fn query(&self, r: Request<QueryRequest>) -> Result<Response<QueryResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut answer = sandbox().answer(self.department, r.get_ref());
        match &self.behaviour {
            Behaviour::Slow(d) => tokio::time::sleep(*d).await,
            Behaviour::Corrupt(f) => f(&mut answer),
            Behaviour::Rendezvous(b) => {
                b.wait().await;
            }
            Behaviour::Counted(c) => {
                let n = c.now.fetch_add(1, Ordering::SeqCst) + 1;
                c.high_water.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(c.delay).await;
                c.now.fetch_sub(1, Ordering::SeqCst);
            }
            Behaviour::Switch(on) => {
                if !on.load(Ordering::SeqCst) {
                    return Err(Status::unavailable("down for maintenance"));
                }
            }
            Behaviour::Sandbox
            | Behaviour::Down
            | Behaviour::ForeignKey
            | Behaviour::Faulty
            | Behaviour::Snapshot(_) => {}
        }
        Ok(Response::new(answer))
    }
}

/// Serves a misbehaving adapter for `d` with a valid adapter certificate
/// until `shutdown`; returns its address.
pub async fn spawn_fake(
    pki: &Pki,
    d: Department,
    behaviour: Behaviour,
    calls: Arc<AtomicUsize>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = Fake {
        department: d,
        behaviour,
        calls,
    };
    let tls = ServerTls::load(pki.files(&Role::Adapter(d), &format!("{}-fake", slug(d)))).unwrap();
    let incoming = hedui_tls::incoming(listener, tls);
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(SourceServiceServer::new(fake))
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
    });
    addr
}

/// A running hub with its adapters: the test kit's [`System`] (through
/// `Deref`: `pki`, `state`, `hub_addr`, `database_url`, `adapters`), with
/// the tests' fakes and proxies.
pub struct TestSystem {
    pub hub: VerificationServiceClient<Channel>,
    /// Calls each fake adapter received, by department order.
    pub calls: Vec<Arc<AtomicUsize>>,
    /// The fault proxy of each `Behaviour::Faulty` department, by
    /// department order.
    pub proxies: Vec<Option<FaultProxy>>,
    /// Where the hub serves Prometheus metrics (plain HTTP).
    pub metrics_addr: SocketAddr,
    /// The plaintext health port for probes.
    pub health_addr: SocketAddr,
    system: System,
    _logs: tempfile::TempDir,
}

impl std::ops::Deref for TestSystem {
    type Target = System;

    fn deref(&self) -> &System {
        &self.system
    }
}

impl TestSystem {
    /// Starts eight sandbox adapters and the hub.
    pub async fn start() -> Self {
        Self::with(|_| Behaviour::Sandbox, Duration::from_secs(10)).await
    }

    /// Starts adapters behaving as `behaviour` says, and the hub with the
    /// given per-department deadline, on a new database.
    pub async fn with(behaviour: impl Fn(Department) -> Behaviour, deadline: Duration) -> Self {
        Self::build(behaviour, deadline, None, Tuning::default()).await
    }

    /// Like [`TestSystem::with`], on an existing database.
    pub async fn on_database(behaviour: impl Fn(Department) -> Behaviour, deadline: Duration, url: &str) -> Self {
        Self::tuned(behaviour, deadline, url, Tuning::default()).await
    }

    /// Like [`TestSystem::on_database`], with limits and batch settings.
    pub async fn tuned(
        behaviour: impl Fn(Department) -> Behaviour,
        deadline: Duration,
        url: &str,
        tuning: Tuning,
    ) -> Self {
        Self::build(behaviour, deadline, Some(url), tuning).await
    }

    async fn build(
        behaviour: impl Fn(Department) -> Behaviour,
        deadline: Duration,
        url: Option<&str>,
        tuning: Tuning,
    ) -> Self {
        let logs = tempfile::tempdir().unwrap();
        let mut county = Builder::new(Pki::new())
            .sandbox(sandbox())
            .deadline(deadline)
            .breaker(tuning.breaker.unwrap_or(hedui_hub::breaker::BreakerSettings {
                failures_to_open: 0,
                ..Default::default()
            }))
            .query_logs(QueryLogs {
                dir: logs.path().to_owned(),
                file: |d| format!("{}.jsonl", slug(d)),
                signing: Some((adapter_log_key(), Duration::from_millis(250))),
            })
            // Metrics and the probe port on free ports, so a test can
            // scrape them.
            .ops_ports()
            .batch(tuning.batch.clone());
        for (d, limits) in &tuning.limits {
            county = county.limits_for(*d, *limits);
        }
        if tuning.crl {
            county = county.crl();
        }
        if let Some(r) = tuning.retention {
            county = county.retention(r);
        }
        if let Some(url) = url {
            county = county.database_url(url);
        }
        let mut calls = Vec::new();
        let mut proxies = Vec::new();
        for d in ALL {
            let counter = Arc::new(AtomicUsize::new(0));
            calls.push(counter.clone());
            let mut proxy = None;
            match behaviour(d) {
                Behaviour::Sandbox => {
                    county.add_sandbox(d).await.unwrap();
                }
                Behaviour::ForeignKey => {
                    let foreign = hedui_trust::SigningKey::from_bytes(&[9; 32]).verifying_key();
                    let addr = county.serve_sandbox(d, foreign).await.unwrap();
                    county.add_endpoint(d, addr);
                }
                Behaviour::Faulty => {
                    let addr = county.serve_sandbox(d, hub_key().verifying_key()).await.unwrap();
                    let tls =
                        ServerTls::load(county.pki().files(&Role::Adapter(d), &format!("{}-junk", slug(d)))).unwrap();
                    let junk = crate::proxy::not_grpc_server(tls).await;
                    let front = FaultProxy::start(addr, junk).await;
                    county.add_endpoint(d, front.addr());
                    proxy = Some(front);
                }
                Behaviour::Snapshot(source) => {
                    county.add_source(d, source).await.unwrap();
                }
                Behaviour::Down => {
                    // Bind and drop, so the port is very likely closed.
                    let l = std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
                    county.add_endpoint(d, l.local_addr().unwrap());
                }
                b => {
                    let addr = spawn_fake(county.pki(), d, b, counter, county.stopped()).await;
                    county.add_endpoint(d, addr);
                }
            }
            proxies.push(proxy);
        }
        let system = county.start().await.unwrap();
        let hub = system.pki.client(system.hub_addr, &Role::Caseworker, "zhang.san");
        Self {
            hub,
            calls,
            proxies,
            metrics_addr: system.metrics_addr.expect("metrics are on in tests"),
            health_addr: system.health_addr.expect("the probe port is on in tests"),
            system,
            _logs: logs,
        }
    }

    /// Where a sandbox adapter's query log is; its signed checkpoints are
    /// beside it.
    #[allow(dead_code)]
    pub fn query_log_path(&self, d: Department) -> std::path::PathBuf {
        self.system
            .query_log_path(d)
            .expect("the tests' adapters keep query logs")
    }

    /// The lines of a sandbox adapter's query log (empty if it has none yet).
    pub fn query_log(&self, d: Department) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.query_log_path(d)).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Stops the hub and the adapters and waits for the hub to close its
    /// store; returns the directory of the database it made.
    pub async fn stop(self) -> Option<tempfile::TempDir> {
        Some(self.system.stop().await.unwrap())
    }
}

/// The index of a department in record order.
pub fn index_of(d: Department) -> usize {
    ALL.iter().position(|x| *x == d).unwrap()
}

/// A fresh, empty PostgreSQL database for one test, dropped with the guard;
/// `None` (with a notice) when no server answers and
/// `HEDUI_REQUIRE_POSTGRES` is not `1`. The server is the one of
/// `HEDUI_TEST_POSTGRES_URL`, or 127.0.0.1:5432 as postgres or root.
pub async fn fresh_postgres() -> Option<PostgresDb> {
    use sqlx::{Connection as _, Executor as _};
    let candidates: Vec<String> = match std::env::var("HEDUI_TEST_POSTGRES_URL") {
        Ok(url) => vec![url],
        Err(_) => vec![
            "postgres://postgres@127.0.0.1:5432/test".into(),
            "postgres://root@127.0.0.1:5432/test".into(),
        ],
    };
    let mut last = String::new();
    for admin in candidates {
        match sqlx::PgConnection::connect(&admin).await {
            Ok(mut conn) => {
                let name = format!("hedui_test_{}", uuid::Uuid::new_v4().simple());
                // A name made here, from a UUID.
                conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .unwrap();
                let _ = conn.close().await;
                let (server, _) = admin.rsplit_once('/').expect("the admin URL names a database");
                let url = format!("{server}/{name}");
                return Some(PostgresDb { admin, name, url });
            }
            Err(e) => last = e.to_string(),
        }
    }
    if std::env::var("HEDUI_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("PostgreSQL is required (HEDUI_REQUIRE_POSTGRES=1) but cannot be reached: {last}");
    }
    eprintln!("NOTICE: PostgreSQL cannot be reached ({last}); skipping this PostgreSQL test");
    None
}

/// A test database on PostgreSQL; [`PostgresDb::drop_database`] removes it.
pub struct PostgresDb {
    admin: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl PostgresDb {
    /// Drops the database, closing whatever connections are left.
    pub async fn drop_database(self) {
        use sqlx::{Connection as _, Executor as _};
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = conn
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                )))
                .await;
        }
    }
}

/// Stores `record` exactly as the hub stores one: sealed with the hub key,
/// in one transaction with an audit entry that names its digest, through
/// the running hub's own appender. For tests that need a record the hub
/// can no longer make today (an authorization that has since expired).
pub async fn store_as_hub(sys: &TestSystem, record: &mut hedui_proto::v1::VerificationRecord, idempotency_key: &str) {
    hedui_trust::seal::seal(record, &hub_key());
    let entry = hedui_audit::entry::AuditEntry {
        seq: 0,
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        actor: "caseworker:test-fixture".into(),
        role: "caseworker".into(),
        action: "SubmitVerification".into(),
        purpose: String::new(),
        request_id: record.request_id.clone(),
        persons: Vec::new(),
        departments: Vec::new(),
        status: "OK".into(),
        record_digest: record.digest.clone(),
        detail: format!("record {} (test fixture)", record.record_id),
    };
    let (_, stored) = sys
        .state
        .audit
        .append_with_record(
            vec![entry],
            hedui_hub::audit::RecordWrite {
                record: record.clone(),
                idempotency_key: idempotency_key.to_owned(),
                request_hash: "fixture".into(),
                batch_item: None,
            },
        )
        .await
        .expect("the fixture record is stored");
    assert_eq!(stored, hedui_store::audit::RecordStored::Inserted);
}
