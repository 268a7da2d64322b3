//! Connecting to a hedui server over mutual TLS with tonic, optionally
//! insisting on the server's role.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::config::{ClientTls, TlsError};
use crate::identity::{Role, identity_from_cert};

/// A lazily connected channel to `url` (for example
/// `https://127.0.0.1:7401`) over mutual TLS.
///
/// The server's certificate must chain to the CA of `tls` and name the
/// URL's host. With `expected_role`, its hedui role must also be that role:
/// this is how the hub knows the tax endpoint really is the tax
/// department's adapter and not another valid party at a mistyped address.
/// A mismatch fails the connection with [`TlsError::RoleMismatch`], which
/// names both roles. `connect_timeout` covers the TCP connection and the
/// handshake together.
///
/// Nothing is dialled until the first request, so a department that is
/// down at start does not stop the hub from starting. Each new connection
/// takes the current certificates from `tls`. Must be called within a tokio
/// runtime, because tonic spawns the channel's worker here.
///
/// Failures show up on the request: a connection error from this crate
/// (refused, wrong name, wrong role) as `UNAVAILABLE` with the
/// [`TlsError`] as its source; a refusal of our own certificate by the
/// server, which TLS 1.3 reports only after the client's side of the
/// handshake, as a transport error (`UNKNOWN`) whose source chain ends in
/// the server's alert, such as `received fatal alert: UnknownCA`.
pub fn channel(
    url: &str,
    tls: ClientTls,
    expected_role: Option<Role>,
    connect_timeout: Duration,
) -> Result<Channel, TlsError> {
    let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|e| TlsError::Url {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    channel_from_endpoint(endpoint.connect_timeout(connect_timeout), tls, expected_role)
}

/// Opens one connection to `url` as [`channel`] would (the same checks of
/// the server's certificate and role), then waits up to `timeout` for the
/// server's first bytes (its HTTP/2 settings) and closes it.
///
/// In TLS 1.3 a server that refuses our certificate says so only after our
/// side of the handshake is done, and a lazily connected channel then loses
/// the server's alert in its connection task. A command line calls this
/// first, so that every failure — nothing listening, a server certificate
/// from another CA, our certificate refused — comes back as a [`TlsError`]
/// whose chain ends in the cause ([`crate::connect_failure`]).
pub async fn probe(url: &str, tls: &ClientTls, expected_role: Option<Role>, timeout: Duration) -> Result<(), TlsError> {
    let url_error = |reason: &str| TlsError::Url {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = url.parse().map_err(|_| url_error("not a URL"))?;
    let addr = format!("{}:{}", uri.host().unwrap_or_default(), uri.port_u16().unwrap_or(443));
    let mut connector = Connector {
        tls: tls.clone(),
        expected_role,
    };
    let handshake = tower_service::Service::call(&mut connector, uri);
    let conn = match tokio::time::timeout(timeout, handshake).await {
        Ok(c) => c?,
        Err(_) => {
            return Err(TlsError::Connect {
                addr,
                source: std::io::ErrorKind::TimedOut.into(),
            });
        }
    };
    let mut stream = conn.into_inner();
    let mut buf = [0u8; 64];
    let first = std::future::poll_fn(|cx| {
        let mut read = tokio::io::ReadBuf::new(&mut buf);
        tokio::io::AsyncRead::poll_read(Pin::new(&mut stream), cx, &mut read).map_ok(|()| read.filled().len())
    });
    match tokio::time::timeout(timeout, first).await {
        // A slow server is not a refusal: the call itself will tell.
        Ok(Ok(_)) | Err(_) => Ok(()),
        Ok(Err(source)) => Err(TlsError::Handshake { addr, source }),
    }
}

/// Like [`channel`], for an [`Endpoint`] the caller has configured (HTTP/2
/// keep-alive, a per-request timeout, and so on).
pub fn channel_from_endpoint(
    endpoint: Endpoint,
    tls: ClientTls,
    expected_role: Option<Role>,
) -> Result<Channel, TlsError> {
    let uri = endpoint.uri();
    let url_error = |reason: &str| TlsError::Url {
        url: uri.to_string(),
        reason: reason.to_owned(),
    };
    if uri.scheme_str() != Some("https") {
        return Err(url_error("scheme must be https"));
    }
    let host = uri.host().ok_or_else(|| url_error("no host"))?;
    // Checked now so that a bad host is a configuration error at start,
    // not a connection error at the first request.
    ServerName::try_from(unbracket(host).to_owned())
        .map_err(|_| url_error("host is neither an IP address nor a DNS name"))?;
    Ok(endpoint.connect_with_connector_lazy(Connector { tls, expected_role }))
}

/// The tower service tonic calls to open each connection.
#[derive(Clone)]
struct Connector {
    tls: ClientTls,
    expected_role: Option<Role>,
}

type Conn = TokioIo<TlsStream<TcpStream>>;

impl tower_service::Service<Uri> for Connector {
    type Response = Conn;
    type Error = TlsError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, TlsError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), TlsError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        // Taken here, so each new connection uses the latest certificates.
        let config = self.tls.current();
        let expected_role = self.expected_role;
        Box::pin(async move {
            let host = unbracket(uri.host().unwrap_or_default()).to_owned();
            let port = uri.port_u16().unwrap_or(443);
            let addr = format!("{}:{port}", uri.host().unwrap_or_default());
            let url_error = |reason: &str| TlsError::Url {
                url: uri.to_string(),
                reason: reason.to_owned(),
            };
            let server_name = ServerName::try_from(host.clone())
                .map_err(|_| url_error("host is neither an IP address nor a DNS name"))?;
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|source| TlsError::Connect {
                    addr: addr.clone(),
                    source,
                })?;
            // gRPC sends small frames that should not wait for Nagle.
            let _ = tcp.set_nodelay(true);
            let stream = TlsConnector::from(config)
                .connect(server_name, tcp)
                .await
                .map_err(|source| TlsError::Handshake {
                    addr: addr.clone(),
                    source,
                })?;
            if let Some(expected) = expected_role {
                let cert = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .ok_or_else(|| TlsError::Handshake {
                        addr: addr.clone(),
                        source: std::io::Error::other("server sent no certificate"),
                    })?;
                let presented = identity_from_cert(cert)
                    .map_err(|source| TlsError::ServerIdentity {
                        addr: addr.clone(),
                        source,
                    })?
                    .role;
                if presented != expected {
                    tracing::warn!(%addr, %expected, %presented, "server has the wrong role");
                    return Err(TlsError::RoleMismatch {
                        addr,
                        expected,
                        presented,
                    });
                }
            }
            Ok(TokioIo::new(stream))
        })
    }
}

/// `[::1]` in a URL is `::1` to a resolver and in a certificate.
fn unbracket(host: &str) -> &str {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}
