//! The civil-affairs hub.
//!
//! [`Application::build`] opens the store, prepares a client per department
//! and binds the listener (port 0 in tests); [`Application::run_until`]
//! serves until a shutdown future completes. Tests, the demo and production
//! all start the hub through these two calls.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hedui_domain::policy::Policy;
use hedui_proto::v1::audit_service_server::AuditServiceServer;
use hedui_proto::v1::batch_service_server::BatchServiceServer;
use hedui_proto::v1::verification_service_server::VerificationServiceServer;
use hedui_store::StoreError;
use hedui_tls::{ClientTls, ServerTls, TlsFiles};
use tokio::net::TcpListener;

pub mod access;
pub mod audit;
pub mod audit_service;
pub mod batch_service;
pub mod batch_worker;
pub mod breaker;
pub mod claims;
pub mod codes;
pub mod drain;
pub mod error;
pub mod fanout;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod records;
pub mod refusals;
pub mod retention;
pub mod rpc_metrics;
pub mod service;
pub mod service_report;
pub mod stages;
pub mod startup;
pub mod transport_audit;

pub use batch_worker::BatchSettings;
pub use fanout::{AdapterEndpoint, DEFAULT_DEADLINE};
pub use limits::DepartmentLimits;
pub use service::HubState;
pub use startup::{DEFAULT_MAX_REQUEST_BYTES, MIN_REQUEST_BYTES, OpsOptions};

/// What the hub needs to start.
#[derive(Clone)]
pub struct HubConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Where records are stored, for example `sqlite://hedui.db`.
    pub database_url: String,
    /// The policy applied to new records.
    pub policy: Policy,
    /// The departments' adapters.
    pub adapters: Vec<AdapterEndpoint>,
    /// The key that signs the grant sent with every query. Adapters trust
    /// its public half.
    pub grant_key: hedui_trust::SigningKey,
    /// The data keys (`data_key` in the configuration, made by `hedui
    /// keygen --kind data`): every record, batch request and review note is
    /// stored encrypted under them, and members' ID numbers are indexed by
    /// their keyed hash.
    pub data_keys: std::sync::Arc<dyn hedui_store::KeyProvider>,
    /// The hub's certificate, key and the county CA. `None` only with
    /// `--insecure-dev`: then the hub listens and connects in plaintext and
    /// identifies nobody.
    pub tls: Option<TlsFiles>,
    /// The name of this hub's audit log, written into every checkpoint,
    /// e.g. `hedui.dejiang/audit`.
    pub audit_origin: String,
    /// How often a checkpoint is signed when the log has grown.
    pub checkpoint_interval: std::time::Duration,
    /// Database start-up, migrations and metrics.
    pub ops: OpsOptions,
    /// How this hub runs batch households.
    pub batch: BatchSettings,
    /// How long records are kept, and whether the hub applies it on a
    /// schedule; `None` keeps records forever.
    pub retention: Option<retention::RetentionSettings>,
}

impl std::fmt::Debug for HubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The grant key is a secret and never printed.
        f.debug_struct("HubConfig")
            .field("listen", &self.listen)
            .field("adapters", &self.adapters)
            .field("policy", &self.policy.version())
            .finish_non_exhaustive()
    }
}

/// Why the hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The store could not be opened.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// The database could not be reached, refused, or has an old schema.
    #[error(transparent)]
    Open(#[from] startup::OpenError),
    /// An adapter URL is not a valid URI.
    #[error("adapter url for {department}: {problem}")]
    AdapterUrl {
        /// The department's slug.
        department: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// The audit log could not be opened or does not match its checkpoint.
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    /// The hub's certificate, key or CA could not be loaded.
    #[error("tls: {0}")]
    Tls(#[from] hedui_tls::TlsError),
    /// Two adapters are configured for one department.
    #[error("two adapters are configured for {0}")]
    DuplicateAdapter(&'static str),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A built hub, bound and ready to serve.
pub struct Application {
    server_tls: Option<ServerTls>,
    listener: TcpListener,
    local_addr: SocketAddr,
    state: Arc<HubState>,
    metrics_listener: Option<TcpListener>,
    health_listener: Option<TcpListener>,
    batch: BatchSettings,
    drain_delay: std::time::Duration,
    drain_grace: std::time::Duration,
}

/// How long fan-outs abandoned at shutdown may take to write their entries.
const ABANDON_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long the batch worker may take, once every fan-out has ended, to
/// finish its households and hand back its leases.
const WORKER_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

impl Application {
    /// Opens the store, prepares the department clients and binds.
    pub async fn build(config: HubConfig) -> Result<Self, BuildError> {
        // The hub's one certificate serves caseworkers and is presented to
        // adapters: it is good for both server and client authentication.
        let (server_tls, client_tls) = match &config.tls {
            Some(files) => (
                Some(ServerTls::load(files.clone())?),
                Some(ClientTls::load(files.clone())?),
            ),
            None => (None, None),
        };
        let mut clients = Vec::with_capacity(config.adapters.len());
        for a in &config.adapters {
            let department = hedui_domain::department::slug(a.department);
            if clients
                .iter()
                .any(|c: &fanout::DepartmentClient| c.department() == a.department)
            {
                return Err(BuildError::DuplicateAdapter(department));
            }
            clients.push(
                fanout::DepartmentClient::new(a, client_tls.as_ref())
                    .map_err(|problem| BuildError::AdapterUrl { department, problem })?,
            );
        }
        let store = startup::open_store(&config.database_url, &config.ops)
            .await?
            .with_data_keys(config.data_keys.clone());
        // Rows written before encryption at rest still read, but `hedui
        // migrate` should seal them; say so once at start.
        let plaintext = store.plaintext_rows().await?;
        if plaintext.total() > 0 {
            tracing::warn!(
                records = plaintext.records,
                batch_items = plaintext.batch_items,
                reviews = plaintext.reviews,
                "rows written before encryption at rest are still plaintext; run `hedui migrate` to encrypt them"
            );
        }
        let metrics = metrics::Metrics::default();
        if let Some(tls) = &server_tls {
            metrics.set_tls(tls.clone());
        }
        let drain = drain::Drain::default();
        for c in &mut clients {
            *c = c.clone().with_metrics(metrics.clone()).with_drain(drain.clone());
        }
        let metrics_listener = match config.ops.metrics_listen {
            Some(addr) => Some(
                metrics::bind(addr)
                    .await
                    .map_err(|source| BuildError::Bind { addr, source })?,
            ),
            None => None,
        };
        let health_listener = match config.ops.health_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| BuildError::Bind { addr, source })?,
            ),
            None => None,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| BuildError::Bind {
                addr: config.listen,
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| BuildError::Bind {
            addr: config.listen,
            source,
        })?;
        let audit = audit::AuditLog::open_with_metrics(
            store.clone(),
            config.grant_key.clone(),
            config.audit_origin.clone(),
            config.checkpoint_interval,
            metrics.clone(),
        )
        .await?;
        if let Some((keep, every)) = config.retention.and_then(|r| Some((r.keep, r.apply_every?))) {
            let runner = retention::Runner {
                actor: format!("hub:{}", claims::instance_name()),
                role: "hub".into(),
            };
            tokio::spawn(retention::schedule(store.clone(), audit.clone(), keep, every, runner));
        }
        // Every record the hub reads is checked against the hub's seal and
        // the audit entry that stored it, not only against its own digest.
        let store = store.with_seal_key(config.grant_key.verifying_key());
        // The calls of this hub's previous run died with it: their claims on
        // idempotency keys go, so that their retries need not wait.
        let instance = claims::instance_name();
        let released = store.release_claims(&format!("{instance}/")).await?;
        if released > 0 {
            tracing::info!(released, "released the idempotency claims of this hub's previous run");
        }
        let state = Arc::new(HubState {
            instance,
            audit,
            store,
            policy: config.policy,
            clients,
            grant_key: config.grant_key,
            insecure: server_tls.is_none(),
            tls: server_tls.clone(),
            metrics,
            batch_wakeup: tokio::sync::Notify::new(),
            drain,
            max_request_bytes: config.ops.max_request_bytes,
        });
        Ok(Self {
            listener,
            local_addr,
            state,
            server_tls,
            metrics_listener,
            health_listener,
            batch: config.batch,
            drain_delay: config.ops.drain_delay,
            drain_grace: config.ops.drain_grace,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The bound metrics address, when metrics are served.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The bound plaintext health address, when one is served.
    pub fn health_addr(&self) -> Option<SocketAddr> {
        self.health_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The shared state, for callers that drive the pipeline directly.
    pub fn state(&self) -> Arc<HubState> {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then drains and stops:
    ///
    /// 1. health goes NOT_SERVING, and for the drain delay the hub still
    ///    serves everything, so load balancers move away first;
    /// 2. the fan-out gate closes ([`drain`]): submissions and re-checks
    ///    that reach it get UNAVAILABLE and the batch worker claims no more;
    ///    fan-outs in flight finish within the grace, or are abandoned with
    ///    their `source.query` entries saying so;
    /// 3. the listener stops and the calls in flight finish;
    /// 4. the batch worker finishes its households and hands back its
    ///    leases;
    /// 5. a last checkpoint is signed and the store is closed.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), tonic::transport::Error> {
        // One request limit: tonic refuses a bigger message before any
        // handler, and `transport_audit` logs that and answers
        // INVALID_ARGUMENT naming `request`.
        let max_request = self.state.max_request_bytes;
        let svc = VerificationServiceServer::new(service::Verification::new(self.state.clone()))
            .max_decoding_message_size(max_request)
            .max_encoding_message_size(16 * 1024 * 1024);
        tracing::info!(addr = %self.local_addr, departments = self.state.clients.len(), "hub serving");
        let (reporter, health_svc) = tonic_health::server::health_reporter();
        let watch = tokio::spawn(health::watch(self.state.clone(), reporter.clone()));
        let metrics_task = self.metrics_listener.map(|l| {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(%addr, "metrics at http://{addr}/metrics");
            }
            tokio::spawn(metrics::serve(l, self.state.metrics.clone()))
        });
        // The plaintext health port serves the health service alone: it
        // tells nothing but SERVING or NOT_SERVING.
        let health_task = self.health_listener.map(|l| {
            if let Ok(addr) = l.local_addr() {
                tracing::info!(%addr, "plaintext health service for probes");
            }
            let router = tonic::transport::Server::builder().add_service(health_svc.clone());
            tokio::spawn(router.serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(l)))
        });
        let audit_svc = AuditServiceServer::new(audit_service::Audit::new(self.state.clone()))
            .max_decoding_message_size(max_request)
            .max_encoding_message_size(64 * 1024 * 1024);
        // Reflection (v1, and v1alpha for grpcio-reflection) sits behind
        // the same mutual TLS as everything else and lists only what this
        // port serves.
        let (reflection_v1, reflection_v1alpha) = hedui_ops::grpc::reflection(&health::LISTED);
        let batch_svc = BatchServiceServer::new(batch_service::BatchApi::new(self.state.clone()))
            // A chunk of households; each of them is held to `max_request`.
            .max_decoding_message_size(batch_service::MAX_ADD_BYTES)
            .max_encoding_message_size(16 * 1024 * 1024);
        // The first layer is the outermost: the latency histogram sees the
        // code the caller gets, after `transport_audit` has rewritten it.
        let router = tonic::transport::Server::builder()
            .layer(rpc_metrics::RpcMetricsLayer::new(self.state.metrics.clone()))
            .layer(transport_audit::TransportAuditLayer::new(self.state.clone()))
            .add_service(health_svc)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(svc)
            .add_service(audit_svc)
            .add_service(batch_svc);
        // The batch worker runs while the hub serves and stops with it.
        let (stop_worker, worker_stop) = tokio::sync::watch::channel(false);
        let stop_worker = Arc::new(stop_worker);
        let worker = tokio::spawn(batch_worker::run(self.state.clone(), self.batch.clone(), worker_stop));
        let drain = self.state.drain.clone();
        let (drain_delay, drain_grace) = (self.drain_delay, self.drain_grace);
        // Shutdown begins: tell load balancers first and keep serving while
        // they move away; then start no new fan-out and let those in flight
        // end, logged; only then stop accepting.
        let shutdown = {
            let reporter = reporter.clone();
            let watch = watch.abort_handle();
            let (drain, stop_worker) = (drain.clone(), stop_worker.clone());
            async move {
                shutdown.await;
                // The watcher would report SERVING again on its next check.
                watch.abort();
                health::set_all(&reporter, false).await;
                tracing::info!(
                    drain_delay_s = drain_delay.as_secs_f64(),
                    "shutdown: NOT_SERVING; still serving for the drain delay"
                );
                tokio::time::sleep(drain_delay).await;
                drain.close();
                let _ = stop_worker.send(true);
                drain.close_and_wait(drain_grace, ABANDON_WAIT).await;
                tracing::info!("shutdown: no fan-out in flight; closing the listener");
            }
        };
        // Refused handshakes are counted and logged, aggregated per peer.
        let (refusals_tx, refusals_rx) = tokio::sync::mpsc::channel(1024);
        let (stop_refusals, refusals_stop) = tokio::sync::watch::channel(false);
        let refusals_task = tokio::spawn(refusals::run(
            refusals_rx,
            self.state.audit.clone(),
            self.state.metrics.clone(),
            refusals_stop,
        ));
        // A WARN from 14 days before the hub's own certificate expires.
        let expiry_task = self
            .server_tls
            .clone()
            .map(|tls| tokio::spawn(hedui_tls::watch_expiry("hub", tls)));
        let result = match self.server_tls {
            Some(tls) => {
                router
                    .serve_with_incoming_shutdown(
                        hedui_tls::incoming_reporting(self.listener, tls, Some(refusals_tx)),
                        shutdown,
                    )
                    .await
            }
            None => {
                tracing::warn!("the hub is serving PLAINTEXT with nobody identified (--insecure-dev)");
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(self.listener);
                router.serve_with_incoming_shutdown(incoming, shutdown).await
            }
        };
        watch.abort();
        if let Some(t) = expiry_task {
            t.abort();
        }
        if let Some(t) = metrics_task {
            t.abort();
        }
        if let Some(t) = health_task {
            t.abort();
        }
        // Also when the server ended on its own: nothing new, and what is in
        // flight ends, logged (at once when the drain above already ran).
        drain.close();
        let _ = stop_worker.send(true);
        drain.close_and_wait(drain_grace, ABANDON_WAIT).await;
        let worker_abort = worker.abort_handle();
        if tokio::time::timeout(WORKER_WAIT, worker).await.is_err() {
            worker_abort.abort();
            tracing::error!("the batch worker did not stop; its leases run out on their own");
        }
        let _ = stop_refusals.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), refusals_task).await;
        // Every call and every household has finished and every append was
        // acknowledged only once durable; a last checkpoint commits to the
        // whole log, so an auditor can verify up to the last entry after
        // the stop.
        if let Err(e) = self.state.audit.checkpoint().await {
            tracing::warn!(error = %e, "no final audit checkpoint");
        }
        self.state.store.close().await;
        tracing::info!("hub stopped");
        result
    }
}
