//! The adapter SDK: what a partner department builds on to answer the hub.
//!
//! A department implements [`Source`] over its own data and serves it with
//! [`serve`]. The SDK does the rest:
//! - it validates every incoming query (request id, purpose, persons, window,
//!   dates) and rejects a bad one with `INVALID_ARGUMENT` before the source
//!   sees it;
//! - it validates the source's own answer with the same checks the hub
//!   applies, so a mapping mistake shows up at the department as a clear
//!   error instead of as an `ERROR` outcome in someone else's record;
//! - it verifies the hub's grant and remembers it durably, so that it is
//!   accepted once ([`grants`]);
//! - it writes every query, and every refusal with its reason, to the
//!   department's own hash-chained query log with masked ID numbers, and
//!   signs checkpoints of it ([`guard`]);
//! - it traces each query by request id only, never names or ID numbers.
//!
//! [`sandbox`] is a backend with synthetic data for all eight departments,
//! used by the demo and the tests. [`sql`] answers from the department's own
//! database and [`snapshot`] from CSV exports, both configured by one TOML
//! file per department ([`config`]) and sharing the tabular form of the
//! findings ([`mapping`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hedui_domain::ValidationError;
use hedui_domain::ids::ResidentId;
use hedui_domain::reply::{self, AskedContext};
use hedui_proto::v1::source_service_server::{SourceService, SourceServiceServer};
use hedui_proto::v1::{Department, DescribeRequest, DescribeResponse, QueryRequest, QueryResponse};
use hedui_trust::grant::GrantError;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

pub mod config;
pub mod grants;
pub mod guard;
pub mod mapping;
pub mod ops;
pub mod sandbox;
pub mod snapshot;
pub mod sql;
pub mod statement;

pub use guard::{AdapterOptions, GrantStoreOption};

/// Largest request or reply the adapter accepts or sends. A 30-person query
/// is a few kilobytes; a reply with many records stays far below this.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
pub use hedui_domain::query::{MAX_PERSONS, ValidatedQuery, validate_query};

/// Why a source could not answer.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The department's own system is down or overloaded; the hub records
    /// the source as `UNAVAILABLE`.
    #[error("source unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the hub records the source as `ERROR`.
    #[error("source failed: {0}")]
    Internal(String),
    /// The department's data does not fit the contract (a negative amount,
    /// a bad date, an unknown code). The message names the category, row and
    /// column and never a value, so it is sent to the hub and ends in the
    /// record's detail; the hub records the source as `ERROR`.
    #[error("data does not fit the contract: {0}")]
    Mapping(String),
}

/// The data of one department, as an adapter serves it.
pub trait Source: Send + Sync + 'static {
    /// Which department, what it serves, and how fresh the data is.
    fn describe(&self) -> DescribeResponse;

    /// Answers one validated query: exactly one result per person, in any
    /// order, with findings only in this department's message.
    fn query(&self, query: &ValidatedQuery) -> impl Future<Output = Result<QueryResponse, SourceError>> + Send;

    /// The date of each category's data and the age allowed, for the
    /// snapshot-age metrics; `None` (the default) for live data.
    fn snapshot_dates(&self) -> Option<ops::SnapshotDates> {
        None
    }
}

/// Maps a validation error to `INVALID_ARGUMENT` with `BadRequest` details.
pub fn invalid_argument(e: &ValidationError) -> Status {
    hedui_proto::status::invalid_argument(e.violations.iter().map(|v| (v.field.as_str(), v.description.as_str())))
}

/// The tonic service around a [`Source`].
pub struct AdapterService<S> {
    source: Arc<S>,
    department: Department,
    guard: Arc<guard::Guard>,
    /// When true, callers must present a hub certificate.
    require_hub: bool,
    metrics: ops::AdapterMetrics,
}

impl<S: Source> AdapterService<S> {
    /// Wraps `source`; fails when the query log or the grant store cannot
    /// be opened, or the log's hash chain is broken.
    pub async fn new(source: Arc<S>, options: &AdapterOptions) -> Result<Self, String> {
        let department = Department::try_from(source.describe().department).unwrap_or_default();
        let guard = Arc::new(guard::Guard::new(department, options).await?);
        let metrics = ops::AdapterMetrics::new(department);
        if let Some(tls) = &options.tls {
            metrics.set_tls(tls.clone());
        }
        Ok(Self {
            require_hub: options.tls.is_some(),
            source,
            department,
            guard,
            metrics,
        })
    }

    /// The adapter's metrics, shared with the `/metrics` endpoint.
    pub fn metrics(&self) -> ops::AdapterMetrics {
        self.metrics.clone()
    }

    /// The exposition of the metrics as of now, with the source's
    /// snapshot dates.
    pub fn renderer(&self) -> hedui_ops::http::Render {
        let (metrics, source) = (self.metrics.clone(), self.source.clone());
        Arc::new(move || metrics.render(chrono::Utc::now(), source.snapshot_dates().as_ref()))
    }

    /// The grant check and query log, shared with the checkpoint task.
    pub fn guard(&self) -> Arc<guard::Guard> {
        self.guard.clone()
    }

    /// The tonic server with hedui's message size limits applied.
    pub fn into_server(self) -> SourceServiceServer<Self> {
        SourceServiceServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }
}

#[tonic::async_trait]
impl<S: Source> SourceService for AdapterService<S> {
    async fn describe(&self, req: Request<DescribeRequest>) -> Result<Response<DescribeResponse>, Status> {
        if let Err((status, reason)) = self.check_caller(&req) {
            let entry = guard::LogEntry::without_request("Describe", caller_of(&req)).refused(
                "denied",
                status_name(&status),
                reason,
            );
            self.log_refusal(entry).await;
            return Err(status);
        }
        Ok(Response::new(self.source.describe()))
    }

    #[tracing::instrument(skip_all, fields(department = hedui_domain::department::slug(self.department), request_id))]
    async fn query(&self, req: Request<QueryRequest>) -> Result<Response<QueryResponse>, Status> {
        let started = std::time::Instant::now();
        let answer = self.answer(req).await;
        let code = answer.as_ref().map_or_else(Status::code, |_| tonic::Code::Ok);
        self.metrics.query(code, started.elapsed());
        answer
    }
}

impl<S: Source> AdapterService<S> {
    /// Checks, logs and answers one query.
    async fn answer(&self, req: Request<QueryRequest>) -> Result<Response<QueryResponse>, Status> {
        let today = chrono::Utc::now().date_naive();
        let caller = caller_of(&req);
        if let Err((status, reason)) = self.check_caller(&req) {
            let entry = guard::LogEntry::of_request(req.get_ref(), caller, today)
                .refused("denied", status_name(&status), reason)
                .without_unvouched_ref();
            self.log_refusal(entry).await;
            return Err(status);
        }
        let raw = req.into_inner();
        let entry = guard::LogEntry::of_request(&raw, caller, today);
        let query = match validate_query(&raw, today) {
            Ok(q) => q,
            Err(e) => {
                tracing::info!(violations = e.violations.len(), "rejected an invalid query");
                // Field paths only: the descriptions may quote values.
                let fields: Vec<&str> = e.violations.iter().map(|v| v.field.as_str()).collect();
                self.log_refusal(
                    entry
                        .refused(
                            "invalid",
                            "INVALID_ARGUMENT",
                            format!("invalid fields: {}", fields.join(", ")),
                        )
                        .without_unvouched_ref(),
                )
                .await;
                return Err(invalid_argument(&e));
            }
        };
        tracing::Span::current().record("request_id", tracing::field::display(query.request_id));
        match self.guard.check(&query, chrono::Utc::now().timestamp_millis()).await {
            Ok(()) => {}
            Err(guard::Refusal::Grant(e)) => {
                tracing::warn!(reason = %e, "refused a query");
                self.metrics.grant_refused(&e);
                let entry = entry.refused("refused", "PERMISSION_DENIED", e.to_string());
                // A replayed grant verified, so it vouches for the reference.
                let entry = if e == GrantError::Replayed {
                    entry
                } else {
                    entry.without_unvouched_ref()
                };
                self.log_refusal(entry).await;
                return Err(Status::permission_denied(format!("grant refused: {e}")));
            }
            Err(guard::Refusal::Store(m)) => {
                tracing::error!(error = %m, "cannot record the grant's use");
                self.log_refusal(entry.refused("unavailable", "UNAVAILABLE", "the grant store cannot be written"))
                    .await;
                return Err(Status::unavailable("the adapter cannot record the grant's use; retry"));
            }
        }
        // The department answers only what it has written down.
        self.guard.record(entry).await.map_err(|e| {
            tracing::error!(error = %e, "cannot write the query log");
            Status::unavailable("the adapter cannot write its query log")
        })?;
        let answer = self.source.query(&query).await.map_err(|e| match e {
            SourceError::Unavailable(m) => {
                tracing::warn!(reason = %m, "source unavailable");
                self.metrics.backend_error("unavailable");
                Status::unavailable("the department's data source is unavailable")
            }
            SourceError::Internal(m) => {
                tracing::error!(reason = %m, "source failed");
                self.metrics.backend_error("failed");
                Status::internal("the department's data source failed")
            }
            SourceError::Mapping(m) => {
                tracing::error!(problem = %m, "the department's data does not fit the contract; fix the data or the mapping");
                self.metrics.backend_error("mapping");
                Status::internal(format!("the department's data does not fit the contract: {m}"))
            }
        })?;
        let ids: Vec<ResidentId> = query.persons.iter().map(|(_, id)| id.clone()).collect();
        let ctx = AskedContext {
            persons: &ids,
            window: &query.window,
            today,
        };
        if let Err(e) = reply::validate(self.department, ctx, &answer) {
            // The message names fields by index only, so it is safe to log.
            tracing::error!(problem = %e, "the source produced an invalid reply; fix the mapping");
            self.metrics.backend_error("invalid_reply");
            return Err(Status::internal(format!("the adapter produced an invalid reply: {e}")));
        }
        tracing::info!(persons = query.persons.len(), "answered");
        Ok(Response::new(answer))
    }
}

impl<S> AdapterService<S> {
    /// Only the hub may ask an adapter anything; its role comes from the
    /// verified client certificate. A refusal comes with the reason for
    /// the query log.
    fn check_caller<T>(&self, req: &Request<T>) -> Result<(), (Status, String)> {
        if !self.require_hub {
            return Ok(());
        }
        match hedui_tls::peer(req).and_then(|p| p.identity.as_ref()) {
            Some(id) if id.role == hedui_tls::Role::Hub => Ok(()),
            Some(id) => {
                tracing::warn!(role = %id.role, "refused a caller that is not the hub");
                let reason = format!("role {} may not query an adapter", id.role);
                Err((Status::permission_denied(reason.clone()), reason))
            }
            None => {
                let reason = "no hedui identity in the client certificate";
                Err((Status::unauthenticated(reason), reason.to_owned()))
            }
        }
    }

    /// Writes a refusal to the query log. The caller is refused whether or
    /// not the line could be written, so a failure is only traced.
    async fn log_refusal(&self, entry: guard::LogEntry) {
        if let Err(e) = self.guard.record(entry).await {
            tracing::error!(error = %e, "cannot write a refusal to the query log");
        }
    }
}

/// The caller's identity for the query log: `role:name` from its
/// certificate, `unidentified` for a certificate without one, empty
/// without TLS.
fn caller_of<T>(req: &Request<T>) -> String {
    match hedui_tls::peer(req) {
        Some(p) => match &p.identity {
            Some(id) => format!("{}:{}", id.role, id.name),
            None => "unidentified".to_owned(),
        },
        None => String::new(),
    }
}

fn status_name(s: &Status) -> &'static str {
    match s.code() {
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// Serves `source` on `listener` until `shutdown` completes.
pub async fn serve<S: Source>(
    source: Arc<S>,
    listener: TcpListener,
    options: &AdapterOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    serve_with_ops(source, listener, options, ops::OpsListeners::default(), shutdown).await
}

/// Serves `source` on `listener`, with `grpc.health.v1` and reflection (v1
/// and v1alpha) beside it, health alone in plaintext on `ops.health` and
/// `GET /metrics` on `ops.metrics`, until `shutdown` completes. Then health
/// goes NOT_SERVING, the adapter goes on answering for
/// `options.drain_delay` so that whoever balances over it moves away, and
/// only then stops accepting.
pub async fn serve_with_ops<S: Source>(
    source: Arc<S>,
    listener: TcpListener,
    options: &AdapterOptions,
    ops: ops::OpsListeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let service = AdapterService::new(source, options)
        .await
        .map_err(ServeError::QueryLog)?;
    serve_service(service, listener, options, ops, shutdown).await
}

/// [`serve_with_ops`] once the service is set up (its query log and grant
/// store open).
async fn serve_service<S: Source>(
    service: AdapterService<S>,
    listener: TcpListener,
    options: &AdapterOptions,
    ops: ops::OpsListeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let guard = service.guard();
    let metrics = service.metrics();
    tracing::info!(grant_store = %guard.grant_store(), "accepted grants are remembered here");
    // Checkpoints are signed on a timer rather than per line, which would
    // double the syncs per query; one more is signed at the end.
    let ticker = {
        let guard = guard.clone();
        let every = options.checkpoint_interval.max(Duration::from_secs(1));
        tokio::spawn(async move {
            let mut t = tokio::time::interval(every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                t.tick().await;
                if let Err(e) = guard.checkpoint() {
                    tracing::error!(error = %e, "cannot sign a checkpoint of the query log");
                }
            }
        })
    };
    let metrics_task = ops.metrics.map(|l| {
        if let Ok(addr) = l.local_addr() {
            tracing::info!(%addr, "metrics at http://{addr}/metrics");
        }
        tokio::spawn(hedui_ops::http::serve(l, service.renderer()))
    });
    let (reporter, health_svc) = tonic_health::server::health_reporter();
    hedui_ops::grpc::set_all(&reporter, &ops::SERVICES, true).await;
    // The plaintext port serves health alone: it tells nothing but
    // SERVING or NOT_SERVING.
    let health_task = ops.health.map(|l| {
        if let Ok(addr) = l.local_addr() {
            tracing::info!(%addr, "plaintext health service for probes");
        }
        let router = tonic::transport::Server::builder().add_service(health_svc.clone());
        tokio::spawn(router.serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(l)))
    });
    // Reflection lists only what this port serves, behind the same mutual
    // TLS as the queries.
    let (reflection_v1, reflection_v1alpha) = hedui_ops::grpc::reflection(&ops::LISTED);
    let router = tonic::transport::Server::builder()
        .timeout(Duration::from_secs(60))
        .add_service(health_svc)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(service.into_server());
    let drain_delay = options.drain_delay;
    let shutdown = async move {
        shutdown.await;
        hedui_ops::grpc::set_all(&reporter, &ops::SERVICES, false).await;
        if !drain_delay.is_zero() {
            tracing::info!(
                drain_delay_s = drain_delay.as_secs_f64(),
                "shutdown: NOT_SERVING; still answering for the drain delay"
            );
            tokio::time::sleep(drain_delay).await;
        }
        tracing::info!("shutdown: closing the listener");
    };
    // A WARN from 14 days before the adapter's own certificate expires.
    let expiry = options
        .tls
        .clone()
        .map(|tls| tokio::spawn(hedui_tls::watch_expiry("adapter", tls)));
    let (refusals_tx, refusals_rx) = tokio::sync::mpsc::channel(1024);
    let refusals = tokio::spawn(log_refusals(refusals_rx, metrics));
    let served = match options.tls.clone() {
        Some(tls) => {
            router
                .serve_with_incoming_shutdown(
                    hedui_tls::incoming_reporting(listener, tls, Some(refusals_tx)),
                    shutdown,
                )
                .await
        }
        None => {
            tracing::warn!(
                "the adapter is serving PLAINTEXT and cannot tell the hub from anyone else (--insecure-dev)"
            );
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            router.serve_with_incoming_shutdown(incoming, shutdown).await
        }
    };
    ticker.abort();
    refusals.abort();
    for t in [
        metrics_task.map(|t| t.abort_handle()),
        health_task.map(|t| t.abort_handle()),
    ]
    .into_iter()
    .flatten()
    {
        t.abort();
    }
    if let Some(t) = expiry {
        t.abort();
    }
    if let Err(e) = guard.checkpoint() {
        tracing::error!(error = %e, "cannot sign the final checkpoint of the query log");
    }
    served.map_err(ServeError::Transport)
}

/// How often repeated refused handshakes are summed up in the log.
const REFUSALS_EVERY: Duration = Duration::from_secs(60);

/// Logs refused handshakes (no certificate, another CA, expired, revoked)
/// as WARN: the first of each peer and reason at once, repeats as one line
/// with their count per [`REFUSALS_EVERY`], so a flood cannot flood the log.
async fn log_refusals(mut rx: tokio::sync::mpsc::Receiver<hedui_tls::Refusal>, metrics: ops::AdapterMetrics) {
    use std::collections::{BTreeMap, BTreeSet};
    let mut seen: BTreeSet<(std::net::IpAddr, String)> = BTreeSet::new();
    let mut repeats: BTreeMap<(std::net::IpAddr, String), u64> = BTreeMap::new();
    let mut tick = tokio::time::interval(REFUSALS_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            r = rx.recv() => {
                let Some(r) = r else { break };
                metrics.handshake_refused();
                let key = (r.remote.ip(), r.reason);
                if seen.insert(key.clone()) {
                    tracing::warn!(peer = %key.0, reason = %key.1, "handshake refused");
                } else {
                    *repeats.entry(key).or_default() += 1;
                }
            }
            _ = tick.tick() => {
                for ((peer, reason), n) in std::mem::take(&mut repeats) {
                    tracing::warn!(%peer, %reason, count = n, "handshakes refused again");
                }
                seen.clear();
            }
        }
    }
}

/// Why an adapter stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The query log or the grant store could not be opened, or the log's
    /// hash chain is broken.
    #[error("{0}")]
    QueryLog(String),
    /// The gRPC server failed.
    #[error(transparent)]
    Transport(tonic::transport::Error),
}

/// Binds `addr` (port 0 picks a free port), opens the query log and the
/// grant store, and serves `source` in a background task. Returns the
/// bound address. A log or grant store that cannot be opened is this
/// call's error: the listener is never handed back without a server
/// behind it (whose connections would be reset when it stopped).
pub async fn spawn<S: Source>(
    source: Arc<S>,
    addr: SocketAddr,
    options: AdapterOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let service = AdapterService::new(source, &options)
        .await
        .map_err(std::io::Error::other)?;
    let handle = tokio::spawn(async move {
        let served = serve_service(service, listener, &options, ops::OpsListeners::default(), shutdown).await;
        if let Err(e) = served {
            tracing::error!(error = %e, "adapter server stopped with an error");
        }
    });
    Ok((local, handle))
}

/// A [`Source`] answering from the [`sandbox::Sandbox`] for one department.
pub struct SandboxSource {
    sandbox: Arc<sandbox::Sandbox>,
    department: Department,
}

impl SandboxSource {
    /// The sandbox data of `department`.
    pub fn new(sandbox: Arc<sandbox::Sandbox>, department: Department) -> Self {
        Self { sandbox, department }
    }
}

impl Source for SandboxSource {
    fn describe(&self) -> DescribeResponse {
        DescribeResponse {
            department: self.department as i32,
            categories: sandbox::Sandbox::categories(self.department),
            data_as_of: self.sandbox.as_of().to_string(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            backend: "sandbox".to_owned(),
            ..Default::default()
        }
    }

    async fn query(&self, query: &ValidatedQuery) -> Result<QueryResponse, SourceError> {
        // The sandbox's `source-offline` households simulate a department
        // that is down or hangs, so the demo shows INCOMPLETE verdicts.
        match self.sandbox.fault(self.department, &query.raw) {
            Some(sandbox::SandboxFault::Unavailable) => {
                Err(SourceError::Unavailable("sandbox: simulated outage".to_owned()))
            }
            Some(sandbox::SandboxFault::Timeout) => {
                // Hang until the hub gives up and cancels the call.
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err(SourceError::Unavailable("sandbox: simulated hang".to_owned()))
            }
            None => Ok(self.sandbox.answer(self.department, &query.raw)),
        }
    }
}
