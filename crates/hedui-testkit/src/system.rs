//! The eight adapters and the hub, started in this process on loopback
//! over mutual TLS: [`Builder`] collects the settings and the adapters,
//! [`Builder::start`] starts the hub and gives a running [`System`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use hedui_adapter::sandbox::Sandbox;
use hedui_adapter::{AdapterOptions, SandboxSource, Source};
use hedui_domain::department::{ALL, slug};
use hedui_domain::policy::Policy;
use hedui_hub::breaker::BreakerSettings;
use hedui_hub::{AdapterEndpoint, Application, BatchSettings, DepartmentLimits, HubState};
use hedui_proto::v1::Department;
use hedui_tls::{Role, ServerTls, TlsFiles};
use hedui_trust::{SigningKey, VerifyingKey};
use tokio::sync::watch;

use crate::config::{HubFiles, HubSettings, listen_any};
use crate::delay::{Delay, Sandboxed};
use crate::pki::Pki;

/// The hub key of the tests and the crash tests, fixed so that a failing
/// run can be replayed against its files.
pub fn test_hub_key() -> SigningKey {
    SigningKey::from_bytes(&[42; 32])
}

/// Resolves when `stop` says so or is dropped.
fn stopped(stop: &watch::Sender<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut rx = stop.subscribe();
    async move {
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// The adapters' query logs: one file per department in `dir`.
#[derive(Clone)]
pub struct QueryLogs {
    /// Where the logs are.
    pub dir: PathBuf,
    /// A department's file name in `dir`.
    pub file: fn(Department) -> String,
    /// The department's own key that signs the log's checkpoints, and how
    /// often; `None`: the log is chained but nothing is signed.
    pub signing: Option<(SigningKey, Duration)>,
}

impl QueryLogs {
    /// Where `d`'s query log is.
    pub fn path(&self, d: Department) -> PathBuf {
        self.dir.join((self.file)(d))
    }
}

/// The county being set up: its PKI, the hub key, the adapters started so
/// far, and the settings of the hub to come.
///
/// The adapters run until the builder (or the [`System`] it becomes) is
/// dropped or stopped.
pub struct Builder {
    pki: Pki,
    hub_key: SigningKey,
    sandbox: OnceLock<Arc<Sandbox>>,
    deadline: Duration,
    limits: DepartmentLimits,
    limits_for: Vec<(Department, DepartmentLimits)>,
    breaker: BreakerSettings,
    crl: Option<PathBuf>,
    query_logs: Option<QueryLogs>,
    delay: Option<Arc<Delay>>,
    hub: HubSettings,
    started: Vec<(Department, SocketAddr)>,
    stop: watch::Sender<bool>,
}

impl Builder {
    /// A county with `pki`, the tests' hub key, the sandbox of today, each
    /// department's deadline 10 s with the hub's default limits and
    /// breaker, no query logs, no delay, and a hub on a new SQLite database
    /// applying the example policy.
    pub fn new(pki: Pki) -> Builder {
        Builder {
            pki,
            hub_key: test_hub_key(),
            sandbox: OnceLock::new(),
            deadline: Duration::from_secs(10),
            limits: DepartmentLimits::default(),
            limits_for: Vec::new(),
            breaker: BreakerSettings::default(),
            crl: None,
            query_logs: None,
            delay: None,
            hub: HubSettings::default(),
            started: Vec::new(),
            stop: watch::channel(false).0,
        }
    }

    /// The key the hub signs grants with; the adapters trust its public half.
    pub fn hub_key(mut self, key: SigningKey) -> Self {
        self.hub_key = key;
        self
    }

    /// The text of the hub's data key file (default: [`crate::DATA_KEY_FILE`]).
    pub fn data_key_file(mut self, text: impl Into<String>) -> Self {
        self.hub.data_key = text.into();
        self
    }

    /// The sandbox the adapters answer from (default: Dejiang as of today).
    pub fn sandbox(self, sandbox: Arc<Sandbox>) -> Self {
        let _ = self.sandbox.set(sandbox);
        self
    }

    /// Every department's deadline.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Every department's limits.
    pub fn limits(mut self, limits: DepartmentLimits) -> Self {
        self.limits = limits;
        self
    }

    /// One department's limits.
    pub fn limits_for(mut self, d: Department, limits: DepartmentLimits) -> Self {
        self.limits_for.push((d, limits));
        self
    }

    /// Every department's circuit breaker.
    pub fn breaker(mut self, breaker: BreakerSettings) -> Self {
        self.breaker = breaker;
        self
    }

    /// The hub and the adapters started after this load the county's
    /// revocation list, published (empty) now.
    pub fn crl(mut self) -> Self {
        self.pki.publish_crl();
        self.crl = Some(self.pki.crl());
        self
    }

    /// The sandbox adapters keep query logs.
    pub fn query_logs(mut self, logs: QueryLogs) -> Self {
        self.query_logs = Some(logs);
        self
    }

    /// The sandbox adapters answer after `delay`.
    pub fn delay(mut self, delay: Arc<Delay>) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Where the hub stores (default: a new SQLite file).
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.hub.database_url = Some(url.into());
        self
    }

    /// The policy the hub applies (default: the example policy).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.hub.policy = policy;
        self
    }

    /// The name of the hub's audit log (default `hedui.test/audit`).
    pub fn audit_origin(mut self, origin: impl Into<String>) -> Self {
        self.hub.audit_origin = origin.into();
        self
    }

    /// How often the hub signs a checkpoint (default an hour).
    pub fn checkpoint_interval(mut self, interval: Duration) -> Self {
        self.hub.checkpoint_interval = interval;
        self
    }

    /// The hub also serves metrics and the plaintext health probe, each on
    /// a free port.
    pub fn ops_ports(mut self) -> Self {
        self.hub.ops_ports = true;
        self
    }

    /// The hub's batch worker settings.
    pub fn batch(mut self, batch: BatchSettings) -> Self {
        self.hub.batch = batch;
        self
    }

    /// The hub's retention period and schedule (default none).
    pub fn retention(mut self, retention: hedui_hub::retention::RetentionSettings) -> Self {
        self.hub.retention = Some(retention);
        self
    }

    /// The county's PKI.
    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// The key the hub signs grants with.
    pub fn grant_key(&self) -> &SigningKey {
        &self.hub_key
    }

    /// The sandbox the adapters answer from.
    pub fn sandbox_data(&self) -> Arc<Sandbox> {
        self.sandbox
            .get_or_init(|| Arc::new(Sandbox::dejiang(chrono::Utc::now().date_naive())))
            .clone()
    }

    /// Resolves when the system is stopped (or dropped): the shutdown of
    /// anything a caller serves beside it.
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        stopped(&self.stop)
    }

    /// Serves `source` as department `d` through the adapter SDK, with the
    /// certificate `<department>-01`, trusting `hub_key`, keeping the query
    /// log if the county does; returns its address. The hub does not ask it
    /// unless it is also [`Builder::add_endpoint`]ed.
    pub async fn serve<S: Source>(
        &self,
        d: Department,
        source: Arc<S>,
        hub_key: VerifyingKey,
    ) -> anyhow::Result<SocketAddr> {
        let tls = TlsFiles {
            crl: self.crl.clone(),
            ..self.pki.issue(&Role::Adapter(d), &format!("{}-01", slug(d)))?
        };
        let mut options = AdapterOptions {
            trusted_hub_keys: vec![hub_key],
            tls: Some(ServerTls::load(tls)?),
            ..Default::default()
        };
        if let Some(logs) = &self.query_logs {
            // Every run starts its logs afresh.
            let path = logs.path(d);
            if path.exists() {
                std::fs::remove_file(&path).with_context(|| format!("cannot remove the old {}", path.display()))?;
            }
            options.query_log = Some(path);
            if let Some((key, interval)) = &logs.signing {
                options.log_signing_key = Some(key.clone());
                options.checkpoint_interval = *interval;
            }
        }
        let (addr, _) = hedui_adapter::spawn(source, listen_any(), options, self.stopped())
            .await
            .with_context(|| format!("cannot start the {} adapter", slug(d)))?;
        Ok(addr)
    }

    /// Serves `d` from the sandbox (after the county's delay, if any),
    /// trusting `hub_key`; returns its address without adding it.
    pub async fn serve_sandbox(&self, d: Department, hub_key: VerifyingKey) -> anyhow::Result<SocketAddr> {
        let source = Arc::new(Sandboxed {
            inner: SandboxSource::new(self.sandbox_data(), d),
            delay: self.delay.clone(),
        });
        self.serve(d, source, hub_key).await
    }

    /// The hub asks `d` at `addr` (an adapter the caller serves, or none).
    pub fn add_endpoint(&mut self, d: Department, addr: SocketAddr) {
        self.started.retain(|(x, _)| *x != d);
        self.started.push((d, addr));
    }

    /// Serves `d` from the sandbox through the SDK, and the hub asks it.
    pub async fn add_sandbox(&mut self, d: Department) -> anyhow::Result<SocketAddr> {
        let addr = self.serve_sandbox(d, self.hub_key.verifying_key()).await?;
        self.add_endpoint(d, addr);
        Ok(addr)
    }

    /// Serves `source` as `d` through the SDK, and the hub asks it.
    pub async fn add_source<S: Source>(&mut self, d: Department, source: Arc<S>) -> anyhow::Result<SocketAddr> {
        let addr = self.serve(d, source, self.hub_key.verifying_key()).await?;
        self.add_endpoint(d, addr);
        Ok(addr)
    }

    /// [`Builder::add_sandbox`] for every department not added yet.
    pub async fn add_sandboxes(&mut self) -> anyhow::Result<()> {
        for d in ALL {
            if !self.started.iter().any(|(x, _)| *x == d) {
                self.add_sandbox(d).await?;
            }
        }
        Ok(())
    }

    /// The endpoints of the departments added, in department order.
    pub fn endpoints(&self) -> Vec<AdapterEndpoint> {
        ALL.iter()
            .filter_map(|d| self.started.iter().find(|(x, _)| x == d))
            .map(|(d, addr)| AdapterEndpoint {
                department: *d,
                url: format!("https://{addr}"),
                deadline: self.deadline,
                limits: self
                    .limits_for
                    .iter()
                    .rev()
                    .find(|(x, _)| x == d)
                    .map_or(self.limits, |(_, l)| *l),
                breaker: self.breaker,
            })
            .collect()
    }

    /// The hub's certificate `hub-01`, new, with the county's revocation
    /// list if it has one.
    fn hub_tls(&self) -> anyhow::Result<TlsFiles> {
        Ok(TlsFiles {
            crl: self.crl.clone(),
            ..self.pki.issue(&Role::Hub, "hub-01")?
        })
    }

    /// Writes `hub.toml` and `hub.key` into `dir` for a `hedui hub` child
    /// process listening on `listen`, storing into `database_url`, with a
    /// new `hub-01` certificate, asking the adapters added so far.
    pub fn write_hub_files(&self, dir: &Path, listen: SocketAddr, database_url: &str) -> anyhow::Result<HubFiles> {
        let tls = self.hub_tls()?;
        self.hub.write_files(
            dir,
            listen,
            database_url,
            &self.hub_key,
            &tls,
            self.deadline,
            &self.started,
        )
    }

    /// Starts the hub in this process, asking the adapters added (every
    /// department must have one).
    pub async fn start(mut self) -> anyhow::Result<System> {
        let scratch = tempfile::tempdir().context("cannot make a temporary directory")?;
        let database_url = self
            .hub
            .database_url
            .get_or_insert_with(|| format!("sqlite://{}", scratch.path().join("hedui.db").display()))
            .clone();
        let adapters = self.endpoints();
        let hub_files = self.hub_tls()?;
        let config = self
            .hub
            .hub_config(listen_any(), &self.hub_key, hub_files.clone(), adapters.clone());
        let app = Application::build(config).await.context("cannot start the hub")?;
        let hub_addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        let health_addr = app.health_addr();
        let state = app.state();
        let hub_task = tokio::spawn(app.run_until(self.stopped()));
        let sandbox = self.sandbox_data();
        Ok(System {
            hub_addr,
            metrics_addr,
            health_addr,
            state,
            adapters,
            database_url,
            hub_files,
            pki: self.pki,
            grant_key: self.hub_key,
            sandbox,
            query_logs: self.query_logs,
            stop: self.stop,
            hub_task: Some(hub_task),
            scratch: Some(scratch),
        })
    }
}

/// A running hub with its adapters. Dropping it stops everything.
pub struct System {
    /// The hub's address.
    pub hub_addr: SocketAddr,
    /// Where the hub serves metrics, with [`Builder::ops_ports`].
    pub metrics_addr: Option<SocketAddr>,
    /// The plaintext health probe, with [`Builder::ops_ports`].
    pub health_addr: Option<SocketAddr>,
    /// The hub's shared state.
    pub state: Arc<HubState>,
    /// The endpoints the hub asks, in department order.
    pub adapters: Vec<AdapterEndpoint>,
    /// Where the hub stores.
    pub database_url: String,
    /// The hub's certificate, key and CA (and revocation list).
    pub hub_files: TlsFiles,
    /// The county's PKI.
    pub pki: Pki,
    /// The key the hub signs grants with.
    pub grant_key: SigningKey,
    /// The sandbox the adapters answer from.
    pub sandbox: Arc<Sandbox>,
    query_logs: Option<QueryLogs>,
    stop: watch::Sender<bool>,
    hub_task: Option<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
    scratch: Option<tempfile::TempDir>,
}

impl System {
    /// Where `d`'s query log is, if the adapters keep them.
    pub fn query_log_path(&self, d: Department) -> Option<PathBuf> {
        self.query_logs.as_ref().map(|l| l.path(d))
    }

    /// Resolves when the system is stopped (or dropped).
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        stopped(&self.stop)
    }

    /// Tells the hub and the adapters to stop, without waiting.
    pub fn signal_stop(&self) {
        self.stop.send_replace(true);
    }

    /// Stops the hub and the adapters and waits for the hub to close its
    /// store; returns the directory of the default database, so a caller
    /// may open it again.
    pub async fn stop(mut self) -> anyhow::Result<tempfile::TempDir> {
        self.signal_stop();
        if let Some(task) = self.hub_task.take() {
            task.await.context("the hub task failed")??;
        }
        self.scratch.take().context("stopped once")
    }
}

impl Drop for System {
    fn drop(&mut self) {
        self.signal_stop();
    }
}
