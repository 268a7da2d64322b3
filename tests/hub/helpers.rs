//! Starts the hub and eight adapters in-process on port 0, over real gRPC.
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
use hedui_adapter::{AdapterOptions, SandboxSource};
use hedui_domain::department::ALL;
use hedui_domain::department::slug;
use hedui_domain::policy::Policy;
use hedui_domain::window::IncomeWindow;
use hedui_hub::{AdapterEndpoint, Application, HubConfig};
use hedui_proto::v1::source_service_server::{SourceService, SourceServiceServer};
use hedui_proto::v1::verification_service_client::VerificationServiceClient;
use hedui_proto::v1::{
    Department, DescribeRequest, DescribeResponse, Purpose, QueryRequest, QueryResponse, SubmitVerificationRequest,
};
use hedui_tls::pki::Ca;
use hedui_tls::{ClientTls, Role, ServerTls, TlsFiles};
use tokio::sync::{Barrier, watch};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::proxy::FaultProxy;

pub const EXAMPLE_POLICY: &str = include_str!("../../deploy/policies/example.toml");

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
    SubmitVerificationRequest {
        idempotency_key: key.to_owned(),
        household: Some(h.household.clone()),
        purpose: Purpose::MinimumLiving as i32,
        income_window: Some(IncomeWindow::last_months(chrono::Utc::now().date_naive(), 12).to_proto()),
        asset_reference_date: String::new(),
        authorization_ref: "SQ-TEST-0001".to_owned(),
        authorization: Some(authorization(&h.household, "SQ-TEST-0001")),
    }
}

/// A complete authorization for `household`, signed today.
pub fn authorization(household: &hedui_proto::v1::Household, form: &str) -> hedui_proto::v1::Authorization {
    let today = chrono::Utc::now().date_naive();
    hedui_trust::authorization::complete_for(
        household,
        Purpose::MinimumLiving,
        form,
        today,
        today + chrono::Days::new(365),
    )
}

/// The key every sandbox adapter signs its query log's checkpoints with
/// (a department's own key, not the hub's).
pub fn adapter_log_key() -> hedui_trust::SigningKey {
    hedui_trust::SigningKey::from_bytes(&[0x1a; 32])
}

/// The hub's grant key in tests.
pub fn hub_key() -> hedui_trust::SigningKey {
    hedui_trust::SigningKey::from_bytes(&[42; 32])
}

/// The hub's data key file in tests: fixed, like the hub key, so a test
/// can open the hub's database itself and read what the hub stored.
pub const DATA_KEY_FILE: &str = "hedui-data-keys v1
index-key 1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b
kek kek-test 2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c
";

/// The hub's data keys in tests ([`DATA_KEY_FILE`]).
pub fn data_keys() -> std::sync::Arc<dyn hedui_store::KeyProvider> {
    hedui_store::DataKeys::parse(DATA_KEY_FILE).unwrap().into_provider()
}

/// Writes [`DATA_KEY_FILE`] as `dir/data.key`, readable by its owner only,
/// for a `hedui hub` process whose configuration says `data_key = "data.key"`.
#[allow(dead_code)]
pub fn write_data_key(dir: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("data.key");
    std::fs::write(&path, DATA_KEY_FILE).unwrap();
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

/// A running hub with its adapters.
pub struct TestSystem {
    pub hub: VerificationServiceClient<Channel>,
    pub database_url: String,
    /// Calls each fake adapter received, by department order.
    pub calls: Vec<Arc<AtomicUsize>>,
    /// The fault proxy of each `Behaviour::Faulty` department, by
    /// department order.
    pub proxies: Vec<Option<FaultProxy>>,
    stop: watch::Sender<bool>,
    hub_task: Option<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
    _dir: Option<tempfile::TempDir>,
    logs: tempfile::TempDir,
    /// The hub's address.
    pub hub_addr: SocketAddr,
    /// Where the hub serves Prometheus metrics (plain HTTP).
    pub metrics_addr: SocketAddr,
    /// The plaintext health port for probes.
    pub health_addr: SocketAddr,
    /// The hub's shared state, for tests that break its database.
    pub state: Arc<hedui_hub::HubState>,
    /// The county PKI of this system.
    pub pki: Pki,
    /// The adapters' endpoints, for a second hub (such as a real `hedui hub`
    /// process) to use; read by `tests/batch_kill.rs`, which shares this file.
    #[allow(dead_code)]
    pub adapters: Vec<AdapterEndpoint>,
}

/// A throwaway county PKI, with files on disk as production has them.
pub struct Pki {
    ca: Ca,
    dir: tempfile::TempDir,
}

impl Pki {
    /// A new CA, also saved in `<dir>/ca/` so that revocation lists can be
    /// signed as `hedui pki crl` does.
    pub fn new() -> Self {
        let ca = Ca::new("dejiang-test", 30).unwrap();
        let dir = tempfile::tempdir().unwrap();
        ca.save(&dir.path().join("ca")).unwrap();
        Self { ca, dir }
    }

    /// Where the signed revocation list is published.
    pub fn crl(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.crl")
    }

    /// Signs the revocation list anew and publishes it at [`Pki::crl`].
    pub fn publish_crl(&self) {
        hedui_tls::revocation::write_crl(&self.dir.path().join("ca"), 30, &self.crl()).unwrap();
    }

    /// The files of the certificate last issued to `name` (the adapters'
    /// are `<department>-01`).
    #[allow(dead_code)]
    pub fn issued(&self, name: &str) -> TlsFiles {
        TlsFiles {
            ca: self.dir.path().join("ca.crt"),
            cert: self.dir.path().join(format!("{name}.crt")),
            key: self.dir.path().join(format!("{name}.key")),
            crl: None,
        }
    }

    /// Revokes the certificate in `files` and publishes the new list.
    #[allow(dead_code)]
    pub fn revoke(&self, files: &TlsFiles) {
        let pem = std::fs::read(&files.cert).unwrap();
        let der: rustls_pki_types::CertificateDer<'_> = rustls_pki_types::pem::PemObject::from_pem_slice(&pem).unwrap();
        let serial = hedui_tls::identity_from_cert(&der).unwrap().serial;
        hedui_tls::revocation::revoke(
            &self.dir.path().join("ca"),
            &serial,
            hedui_tls::revocation::Reason::KeyCompromise,
        )
        .unwrap();
        self.publish_crl();
    }

    /// Issues a certificate for `role`/`name` and returns its files.
    pub fn files(&self, role: &Role, name: &str) -> TlsFiles {
        let issued = self.ca.issue(role, name, 30, &[]).unwrap();
        let f = issued.save(self.dir.path()).unwrap();
        let ca = self.dir.path().join("ca.crt");
        if !ca.exists() {
            std::fs::write(&ca, self.ca.cert_pem()).unwrap();
        }
        TlsFiles {
            ca,
            cert: f.cert,
            key: f.key,
            crl: None,
        }
    }

    /// A mutual-TLS channel to the hub at `addr` holding a `role` certificate.
    pub fn channel(&self, addr: SocketAddr, role: &Role, name: &str) -> Channel {
        let tls = ClientTls::load(self.files(role, name)).unwrap();
        hedui_tls::channel(&format!("https://{addr}"), tls, Some(Role::Hub), Duration::from_secs(5)).unwrap()
    }

    /// A caseworker-service client of the hub at `addr` holding a `role` certificate.
    pub fn client(&self, addr: SocketAddr, role: &Role, name: &str) -> VerificationServiceClient<Channel> {
        VerificationServiceClient::new(self.channel(addr, role, name))
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
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
        let mut sys = Self::on_database(behaviour, deadline, &url).await;
        sys._dir = Some(dir);
        sys
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
        let (stop, rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let pki = Pki::new();
        let crl = tuning.crl.then(|| {
            pki.publish_crl();
            pki.crl()
        });
        let with_crl = |files: TlsFiles| TlsFiles {
            crl: crl.clone(),
            ..files
        };
        let logs = tempfile::tempdir().unwrap();
        let mut adapters = Vec::new();
        let mut calls = Vec::new();
        let mut proxies = Vec::new();
        for d in ALL {
            proxies.push(None);
            let counter = Arc::new(AtomicUsize::new(0));
            calls.push(counter.clone());
            let addr = match behaviour(d) {
                b @ (Behaviour::Sandbox | Behaviour::ForeignKey | Behaviour::Faulty) => {
                    let key = if !matches!(b, Behaviour::ForeignKey) {
                        hub_key()
                    } else {
                        hedui_trust::SigningKey::from_bytes(&[9; 32])
                    };
                    let options = AdapterOptions {
                        trusted_hub_keys: vec![key.verifying_key()],
                        query_log: Some(logs.path().join(format!("{}.jsonl", slug(d)))),
                        log_signing_key: Some(adapter_log_key()),
                        checkpoint_interval: Duration::from_millis(250),
                        tls: Some(
                            ServerTls::load(with_crl(pki.files(&Role::Adapter(d), &format!("{}-01", slug(d)))))
                                .unwrap(),
                        ),
                        ..Default::default()
                    };
                    let source = Arc::new(SandboxSource::new(sandbox(), d));
                    let addr = hedui_adapter::spawn(source, any, options, stopped(rx.clone()))
                        .await
                        .unwrap()
                        .0;
                    if matches!(b, Behaviour::Faulty) {
                        let tls = ServerTls::load(pki.files(&Role::Adapter(d), &format!("{}-junk", slug(d)))).unwrap();
                        let junk = crate::proxy::not_grpc_server(tls).await;
                        let proxy = FaultProxy::start(addr, junk).await;
                        let front = proxy.addr();
                        *proxies.last_mut().unwrap() = Some(proxy);
                        front
                    } else {
                        addr
                    }
                }
                Behaviour::Snapshot(source) => {
                    let options = AdapterOptions {
                        trusted_hub_keys: vec![hub_key().verifying_key()],
                        query_log: Some(logs.path().join(format!("{}.jsonl", slug(d)))),
                        log_signing_key: Some(adapter_log_key()),
                        checkpoint_interval: Duration::from_millis(250),
                        tls: Some(ServerTls::load(pki.files(&Role::Adapter(d), &format!("{}-01", slug(d)))).unwrap()),
                        ..Default::default()
                    };
                    hedui_adapter::spawn(source, any, options, stopped(rx.clone()))
                        .await
                        .unwrap()
                        .0
                }
                Behaviour::Down => {
                    // Bind and drop, so the port is very likely closed.
                    let l = std::net::TcpListener::bind(any).unwrap();
                    l.local_addr().unwrap()
                }
                b => spawn_fake(&pki, d, b, counter, stopped(rx.clone())).await,
            };
            adapters.push(AdapterEndpoint {
                department: d,
                url: format!("https://{addr}"),
                deadline,
                breaker: tuning.breaker.unwrap_or(hedui_hub::breaker::BreakerSettings {
                    failures_to_open: 0,
                    ..Default::default()
                }),
                limits: tuning
                    .limits
                    .iter()
                    .find(|(x, _)| *x == d)
                    .map(|(_, l)| *l)
                    .unwrap_or_default(),
            });
        }
        let app = Application::build(HubConfig {
            listen: any,
            database_url: url.to_owned(),
            policy: Policy::from_toml(EXAMPLE_POLICY).unwrap(),
            adapters: adapters.clone(),
            grant_key: hub_key(),
            data_keys: data_keys(),
            tls: Some(with_crl(pki.files(&Role::Hub, "hub-01"))),
            audit_origin: "hedui.test/audit".to_owned(),
            checkpoint_interval: Duration::from_secs(3600),
            // Metrics on a free port, so a test can scrape them.
            ops: hedui_hub::OpsOptions {
                metrics_listen: Some(any),
                health_listen: Some(any),
                // No load balancer to wait for when a test stops the hub.
                drain_delay: Duration::ZERO,
                ..hedui_hub::OpsOptions::default()
            },
            batch: tuning.batch.clone(),
        })
        .await
        .unwrap();
        let hub_addr = app.local_addr();
        let metrics_addr = app.metrics_addr().expect("metrics are on in tests");
        let health_addr = app.health_addr().expect("the probe port is on in tests");
        let state = app.state();
        let hub_task = tokio::spawn(app.run_until(stopped(rx.clone())));
        let hub = pki.client(hub_addr, &Role::Caseworker, "zhang.san");
        Self {
            hub,
            hub_addr,
            metrics_addr,
            health_addr,
            state,
            adapters,
            pki,
            database_url: url.to_owned(),
            calls,
            proxies,
            stop,
            hub_task: Some(hub_task),
            _dir: None,
            logs,
        }
    }

    /// Where a sandbox adapter's query log is; its signed checkpoints are
    /// beside it.
    #[allow(dead_code)]
    pub fn query_log_path(&self, d: Department) -> std::path::PathBuf {
        self.logs.path().join(format!("{}.jsonl", slug(d)))
    }

    /// The lines of a sandbox adapter's query log (empty if it has none yet).
    pub fn query_log(&self, d: Department) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.logs.path().join(format!("{}.jsonl", slug(d)))).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// Stops the hub and the adapters and waits for the hub to close its store.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        let _ = self.stop.send(true);
        if let Some(t) = self.hub_task.take() {
            t.await.unwrap().unwrap();
        }
        self._dir.take()
    }
}

impl Drop for TestSystem {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
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
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
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
                .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
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
            },
        )
        .await
        .expect("the fixture record is stored");
    assert_eq!(stored, hedui_store::audit::RecordStored::Inserted);
}
