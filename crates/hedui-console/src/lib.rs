//! The caseworkers' console (核对工作台): the hub's own web console.
//!
//! It listens on a port of its own, over HTTPS with a **required client
//! certificate** from the county CA, as the gRPC listener does: the person's
//! certificate (a UKey, or a `.p12` imported into the browser) is the
//! sign-in. There are no passwords and no sessions.
//!
//! **One path, not two.** Every page calls the very handlers that serve
//! gRPC ([`hedui_hub::service::Verification`], [`hedui_hub::audit_service::Audit`],
//! [`hedui_hub::batch_service::BatchApi`]) with a `tonic::Request` that
//! carries the browser's [`PeerInfo`], exactly as a gRPC call over the
//! other listener would. Authorization, validation, idempotency and the
//! audit log are therefore the same code: a record opened in the console is
//! a `GetRecord` in the audit log, and a caseworker who opens an auditor
//! page is refused and logged by the audit handler itself.
//!
//! Pages are [`maud`] templates (escaped at compile time), every word is
//! Chinese, messages come from the `hedui-i18n` catalog, and every POST
//! carries a CSRF token bound to the client certificate ([`csrf`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hedui_hub::HubState;
use hedui_tls::{PeerInfo, ServerTls, TlsFiles};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_stream::StreamExt as _;

mod app;
pub mod csrf;
mod form;
mod layout;
mod pages;
mod state;
mod words;

pub use state::{MAX_FORM_BYTES, MAX_UPLOAD_BYTES, Settings};

/// How long connections in flight may finish after the console stops
/// accepting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The TLS files could not be loaded.
    #[error("console tls: {0}")]
    Tls(hedui_tls::TlsError),
    /// The address could not be bound.
    #[error("console: cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// A bound console, ready to serve.
pub struct Console {
    listener: TcpListener,
    tls: ServerTls,
    local_addr: SocketAddr,
    app: Arc<state::App>,
}

impl Console {
    /// Loads the TLS files (the hub's own certificate and the county CA)
    /// and binds `listen`. The console serves `state`, the running hub's.
    pub async fn bind(
        listen: SocketAddr,
        tls: TlsFiles,
        state: Arc<HubState>,
        settings: Settings,
    ) -> Result<Console, ConsoleError> {
        let tls = ServerTls::load_for_browsers(tls).map_err(ConsoleError::Tls)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| ConsoleError::Bind(listen, e))?;
        let local_addr = listener.local_addr().map_err(|e| ConsoleError::Bind(listen, e))?;
        Ok(Console {
            listener,
            tls,
            local_addr,
            app: Arc::new(state::App::new(state, settings)),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then stops accepting and lets the
    /// connections in flight finish for a few seconds.
    pub async fn serve_until(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
        tracing::info!(addr = %self.local_addr, "console serving");
        let router = app::router(self.app.clone());
        // Handshakes refused (no certificate, another CA, expired) go to the
        // audit log as `connection.refused`, as on the gRPC listener.
        let (refusals_tx, refusals_rx) = tokio::sync::mpsc::channel(1024);
        let (stop_refusals, refusals_stop) = tokio::sync::watch::channel(false);
        let refusals = tokio::spawn(hedui_hub::refusals::run(
            refusals_rx,
            self.app.state.audit.clone(),
            self.app.state.metrics.clone(),
            refusals_stop,
        ));
        let mut incoming = Box::pin(hedui_tls::incoming_reporting(
            self.listener,
            self.tls,
            Some(refusals_tx),
        ));
        let mut conns = JoinSet::new();
        tokio::pin!(shutdown);
        loop {
            let conn = tokio::select! {
                _ = &mut shutdown => break,
                conn = incoming.next() => conn,
            };
            let Some(Ok(conn)) = conn else {
                if conn.is_none() {
                    break;
                }
                continue;
            };
            let peer: PeerInfo = conn.peer_info().clone();
            let router = router.clone();
            conns.spawn(async move {
                let svc = hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(peer.clone());
                    let mut router = router.clone();
                    async move { tower_service::Service::call(&mut router, req.map(axum::body::Body::new)).await }
                });
                let io = hyper_util::rt::TokioIo::new(conn);
                let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
                if let Err(error) = builder.serve_connection(io, svc).await {
                    tracing::debug!(%error, "console connection ended with an error");
                }
            });
            // Reap finished connections so the set does not grow.
            while conns.try_join_next().is_some() {}
        }
        drop(incoming);
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, async { while conns.join_next().await.is_some() {} }).await;
        conns.abort_all();
        let _ = stop_refusals.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), refusals).await;
        tracing::info!("console stopped");
    }
}
