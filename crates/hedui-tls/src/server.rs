//! Serving tonic over mutual TLS: a stream of verified connections for
//! `Server::serve_with_incoming`, each carrying the peer's identity.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use crate::config::ServerTls;
use crate::identity::{PeerIdentity, identity_from_cert};

/// How long a client has to complete the TLS handshake. A slow or bogus
/// client only holds its own task, never the accept loop.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many handshakes may run at once. Beyond that, new connections wait
/// in the kernel's backlog, which bounds the memory a flood can take.
const MAX_HANDSHAKES: usize = 256;

/// How long to pause after a failed `accept`, which is usually "too many
/// open files": retrying at once would spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// What a service knows about the caller of a request: tonic's connect info
/// for [`TlsConn`], read with [`peer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The client's address, if the socket could tell.
    pub remote_addr: Option<SocketAddr>,
    /// The identity in the client's verified certificate; `None` if the
    /// certificate carries no valid hedui identity, in which case every
    /// service must deny the request.
    pub identity: Option<PeerIdentity>,
    /// The client certificate's serial (hex) and SHA-256 fingerprint (hex,
    /// over its DER), so that a certificate without a hedui identity can
    /// still be named in the audit log.
    pub certificate: Option<CertificateId>,
}

/// Names a certificate without trusting anything in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateId {
    /// The serial number in lower-case hex, or empty if it does not parse.
    pub serial: String,
    /// SHA-256 of the DER encoding, lower-case hex.
    pub sha256: String,
}

impl CertificateId {
    /// The serial and fingerprint of the DER certificate `der`.
    pub fn of(der: &[u8]) -> CertificateId {
        use sha2::Digest as _;
        use x509_parser::prelude::FromDer as _;
        let serial = x509_parser::certificate::X509Certificate::from_der(der)
            .map(|(_, c)| hex::encode(c.raw_serial()))
            .unwrap_or_default();
        CertificateId {
            serial,
            sha256: hex::encode(sha2::Sha256::digest(der)),
        }
    }
}

/// The connect info of the request's connection, or `None` if the request
/// did not arrive through [`incoming`] (for example in a unit test that
/// calls the service directly).
///
/// tonic puts a custom `Connected::ConnectInfo` into the request's
/// extensions as is, so it is found by its own type.
pub fn peer<T>(req: &tonic::Request<T>) -> Option<&PeerInfo> {
    req.extensions().get::<PeerInfo>()
}

/// One accepted connection whose mutual-TLS handshake has completed: the
/// client presented a certificate that chains to the county CA.
#[derive(Debug)]
pub struct TlsConn {
    stream: TlsStream<TcpStream>,
    info: PeerInfo,
}

impl TlsConn {
    fn new(stream: TlsStream<TcpStream>, remote_addr: Option<SocketAddr>) -> TlsConn {
        let leaf = stream.get_ref().1.peer_certificates().and_then(|c| c.first());
        let certificate = leaf.map(|c| CertificateId::of(c.as_ref()));
        let identity = match leaf {
            Some(cert) => match identity_from_cert(cert) {
                Ok(id) => Some(id),
                Err(error) => {
                    tracing::info!(
                        remote = ?remote_addr,
                        %error,
                        "client certificate is verified but has no hedui identity"
                    );
                    None
                }
            },
            // Unreachable while client certificates are required, but a
            // missing certificate must still mean no identity.
            None => None,
        };
        TlsConn {
            stream,
            info: PeerInfo {
                remote_addr,
                identity,
                certificate,
            },
        }
    }

    /// Who is at the other end.
    pub fn peer_info(&self) -> &PeerInfo {
        &self.info
    }

    /// The underlying TLS stream.
    pub fn get_ref(&self) -> &TlsStream<TcpStream> {
        &self.stream
    }
}

impl Connected for TlsConn {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.info.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Accepts TCP connections on `listener` and yields those whose mutual-TLS
/// handshake succeeds, for `tonic::transport::Server::serve_with_incoming`.
///
/// Each handshake runs in its own task under [`HANDSHAKE_TIMEOUT`]; a
/// failed or timed-out handshake is logged and skipped, so the stream never
/// yields an error that would stop the server. The TLS files are checked for
/// changes on each accept (at most once a second). When the stream is
/// dropped, the listener is closed.
///
/// Must be called within a tokio runtime, since it spawns the accept loop.
pub fn incoming(
    listener: TcpListener,
    tls: ServerTls,
) -> impl Stream<Item = Result<TlsConn, io::Error>> + Send + 'static {
    incoming_reporting(listener, tls, None)
}

/// A connection refused during the TLS handshake: no certificate, one not
/// issued by the county CA, an expired or revoked one, or no handshake in
/// time. The reason is rustls' own words, which carry no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The peer's address.
    pub remote: SocketAddr,
    /// Why, in a few words.
    pub reason: String,
}

/// [`incoming`], also sending every refused handshake to `refusals`. The
/// send never waits: when the receiver lags, refusals beyond its buffer are
/// dropped (and so counted by nobody), so a flood cannot stall accepting.
pub fn incoming_reporting(
    listener: TcpListener,
    tls: ServerTls,
    refusals: Option<mpsc::Sender<Refusal>>,
) -> impl Stream<Item = Result<TlsConn, io::Error>> + Send + 'static {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(accept_loop(listener, tls, tx, refusals));
    ReceiverStream::new(rx)
}

/// The reason of a failed handshake in a few words.
fn refusal_reason(error: &io::Error) -> String {
    let text = error.to_string();
    let words = if text.contains("UnknownIssuer") || text.contains("BadSignature") {
        "certificate not issued by the county CA"
    } else if text.contains("Expired") {
        "certificate expired"
    } else if text.contains("Revoked") {
        "certificate revoked"
    } else if text.contains("NotValidYet") {
        "certificate not valid yet"
    } else if text.contains("no certificate") || text.contains("NoCertificatesPresented") {
        "no client certificate"
    } else {
        return format!("handshake failed: {}", text.chars().take(120).collect::<String>());
    };
    words.to_owned()
}

async fn accept_loop(
    listener: TcpListener,
    tls: ServerTls,
    tx: mpsc::Sender<Result<TlsConn, io::Error>>,
    refusals: Option<mpsc::Sender<Refusal>>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let permit = tokio::select! {
            _ = tx.closed() => return,
            permit = handshakes.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                // The semaphore is never closed.
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = tx.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let acceptor = TlsAcceptor::from(tls.current());
        let tx = tx.clone();
        let refusals = refusals.clone();
        let refuse = move |reason: String| {
            if let Some(r) = &refusals {
                let _ = r.try_send(Refusal { remote, reason });
            }
        };
        tokio::spawn(async move {
            let _permit = permit;
            // gRPC sends small frames that should not wait for Nagle.
            let _ = tcp.set_nodelay(true);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Err(_) => {
                    tracing::info!(%remote, "tls handshake timed out");
                    refuse("handshake timed out".to_owned());
                }
                Ok(Err(error)) => {
                    tracing::info!(%remote, %error, "tls handshake failed");
                    refuse(refusal_reason(&error));
                }
                Ok(Ok(stream)) => {
                    let conn = TlsConn::new(stream, Some(remote));
                    if let Some(id) = &conn.info.identity {
                        tracing::debug!(%remote, role = %id.role, serial = %id.serial, "tls connection accepted");
                    }
                    // An error means the server has stopped; the connection
                    // is then dropped, which closes it.
                    let _ = tx.send(Ok(conn)).await;
                }
            }
        });
    }
}
