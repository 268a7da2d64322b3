//! rustls configurations built from PEM files and reloaded when the files
//! change, so a certificate can be renewed or a CA replaced without
//! restarting the hub or an adapter.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::identity::{IdentityError, PeerIdentity, Role, identity_from_cert};

/// How often, at most, the files' modification times are looked at. The
/// check runs on use (an accepted connection, a new outgoing connection), so
/// an idle process does no work and a busy one stats three files a second.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The ALPN protocol both sides offer: gRPC runs over HTTP/2 only.
const ALPN_H2: &[u8] = b"h2";

/// The three PEM files of one party's TLS setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The county CA certificate(s) that peers must chain to.
    pub ca: PathBuf,
    /// This party's leaf certificate (further PEM certificates after it are
    /// sent as its chain).
    pub cert: PathBuf,
    /// This party's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// What went wrong loading TLS files or making a TLS connection.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{}: {source}", path.display())]
    Pem {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: rustls_pki_types::pem::Error,
    },
    /// A PEM file holds no certificate.
    #[error("{}: no PEM certificate found", path.display())]
    NoCertificate {
        /// The file concerned.
        path: PathBuf,
    },
    /// A CA file holds a certificate rustls cannot use as a trust anchor.
    #[error("{}: not a usable CA certificate: {source}", path.display())]
    BadCa {
        /// The CA file.
        path: PathBuf,
        /// The underlying error.
        source: rustls::Error,
    },
    /// The client-certificate verifier could not be built from the CA file.
    #[error("{}: {source}", path.display())]
    Verifier {
        /// The CA file.
        path: PathBuf,
        /// The underlying error.
        source: rustls::server::VerifierBuilderError,
    },
    /// The certificate and key do not make a usable pair (for example the
    /// key belongs to another certificate).
    #[error("{} with {}: {source}", cert.display(), key.display())]
    CertKey {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// The underlying error.
        source: rustls::Error,
    },
    /// This party's own certificate carries no hedui identity.
    #[error("{}: {source}", path.display())]
    OwnIdentity {
        /// The certificate file.
        path: PathBuf,
        /// Why the identity could not be read.
        source: IdentityError,
    },
    /// A server URL is not usable.
    #[error("url {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TCP connection to a server failed.
    #[error("connect to {addr}: {source}")]
    Connect {
        /// The server's `host:port`.
        addr: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The TLS handshake with a server failed, for example because its
    /// certificate does not chain to the county CA or does not name the host.
    #[error("tls handshake with {addr}: {source}")]
    Handshake {
        /// The server's `host:port`.
        addr: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The server's certificate carries no hedui identity.
    #[error("server at {addr}: {source}")]
    ServerIdentity {
        /// The server's `host:port`.
        addr: String,
        /// Why the identity could not be read.
        source: IdentityError,
    },
    /// The server is a genuine hedui party, but not the one expected at this
    /// address: for example the tax endpoint answered with the bank's adapter.
    #[error("server at {addr} presented role {presented}, expected {expected}")]
    RoleMismatch {
        /// The server's `host:port`.
        addr: String,
        /// The role the caller asked for.
        expected: Role,
        /// The role in the server's certificate.
        presented: Role,
    },
}

/// The rustls crypto provider used everywhere in hedui: ring. It is passed
/// explicitly rather than installed process-wide, so that nothing depends on
/// which provider another crate may have installed first.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server's TLS setup: its certificate and key, and the CA that client
/// certificates must chain to. Client certificates are required.
///
/// Cloning is cheap and clones share the reloading state.
#[derive(Clone)]
pub struct ServerTls {
    inner: Arc<Reloader<ServerConfig>>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("files", &self.inner.files)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Loads the three files. Unlike a later reload, a failure here is an
    /// error: a server must not start without a working configuration.
    pub fn load(files: TlsFiles) -> Result<ServerTls, TlsError> {
        Ok(ServerTls {
            inner: Arc::new(Reloader::load(files, "server", build_server)?),
        })
    }

    /// Loads the three files for a listener that browsers use (the hub's
    /// web console): the same CA, certificate and required client
    /// certificate as [`ServerTls::load`], offering HTTP/2 and HTTP/1.1.
    pub fn load_for_browsers(files: TlsFiles) -> Result<ServerTls, TlsError> {
        Ok(ServerTls {
            inner: Arc::new(Reloader::load(files, "console", build_browser_server)?),
        })
    }

    /// The configuration to use for the next handshake. If a file changed
    /// since the last check (at most once per [`RELOAD_CHECK_INTERVAL`]),
    /// the files are reloaded first; if that fails, for example because a
    /// file is half-written, the previous configuration is kept and a
    /// warning is logged.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.inner.current()
    }

    /// The identity in this server's own certificate, as last loaded.
    pub fn identity(&self) -> PeerIdentity {
        self.inner.identity()
    }

    /// The files this configuration is loaded from.
    pub fn files(&self) -> &TlsFiles {
        &self.inner.files
    }
}

/// A client's TLS setup: its certificate and key, presented to servers, and
/// the CA that server certificates must chain to. Server certificates are
/// also checked against the host name or IP address in the URL.
///
/// Cloning is cheap and clones share the reloading state.
#[derive(Clone)]
pub struct ClientTls {
    inner: Arc<Reloader<ClientConfig>>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("files", &self.inner.files)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Loads the three files. Unlike a later reload, a failure here is an
    /// error.
    pub fn load(files: TlsFiles) -> Result<ClientTls, TlsError> {
        Ok(ClientTls {
            inner: Arc::new(Reloader::load(files, "client", build_client)?),
        })
    }

    /// The configuration to use for the next connection, reloaded as
    /// described at [`ServerTls::current`].
    pub fn current(&self) -> Arc<ClientConfig> {
        self.inner.current()
    }

    /// The identity in this client's own certificate, as last loaded.
    pub fn identity(&self) -> PeerIdentity {
        self.inner.identity()
    }

    /// The files this configuration is loaded from.
    pub fn files(&self) -> &TlsFiles {
        &self.inner.files
    }
}

/// A configuration together with the identity of its own certificate.
struct Loaded<C> {
    config: Arc<C>,
    identity: PeerIdentity,
}

/// Modification time and length of each of the three files; `None` for a
/// file that could not be looked at (for example mid-rename).
type Stamps = [Option<(SystemTime, u64)>; 3];

struct State<C> {
    loaded: Loaded<C>,
    stamps: Stamps,
    checked: Instant,
    /// The stamps of the last failed reload, so that a file left broken is
    /// reported once, not every second, while it is still retried.
    failed: Option<Stamps>,
}

struct Reloader<C> {
    files: TlsFiles,
    side: &'static str,
    build: fn(&TlsFiles) -> Result<Loaded<C>, TlsError>,
    state: Mutex<State<C>>,
}

impl<C> Reloader<C> {
    fn load(
        files: TlsFiles,
        side: &'static str,
        build: fn(&TlsFiles) -> Result<Loaded<C>, TlsError>,
    ) -> Result<Self, TlsError> {
        // Stamps are taken before reading, so a write that lands in between
        // shows up as a change at the next check rather than being missed.
        let stamps = stamps(&files);
        let loaded = build(&files)?;
        Ok(Reloader {
            state: Mutex::new(State {
                loaded,
                stamps,
                checked: Instant::now(),
                failed: None,
            }),
            files,
            side,
            build,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<C>> {
        // The state is replaced whole or not at all, so it is consistent
        // even if a holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn current(&self) -> Arc<C> {
        let mut state = self.lock();
        if state.checked.elapsed() >= RELOAD_CHECK_INTERVAL {
            state.checked = Instant::now();
            let now = stamps(&self.files);
            if now != state.stamps {
                self.reload(&mut state, now);
            }
        }
        state.loaded.config.clone()
    }

    fn reload(&self, state: &mut State<C>, now: Stamps) {
        match (self.build)(&self.files) {
            Ok(loaded) => {
                tracing::info!(
                    side = self.side,
                    role = %loaded.identity.role,
                    serial = %loaded.identity.serial,
                    not_after = %loaded.identity.not_after,
                    "tls files changed; configuration reloaded"
                );
                state.loaded = loaded;
                state.stamps = now;
                state.failed = None;
            }
            Err(error) => {
                // The stamps stay as they were, so the next check tries
                // again: a half-written file is usually complete a moment
                // later.
                if state.failed != Some(now) {
                    tracing::warn!(
                        side = self.side,
                        %error,
                        "tls files changed but could not be loaded; keeping the previous configuration"
                    );
                    state.failed = Some(now);
                }
            }
        }
    }

    fn identity(&self) -> PeerIdentity {
        self.lock().loaded.identity.clone()
    }
}

fn stamps(files: &TlsFiles) -> Stamps {
    [&files.ca, &files.cert, &files.key].map(|p| {
        fs::metadata(p)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
    })
}

fn build_server(files: &TlsFiles) -> Result<Loaded<ServerConfig>, TlsError> {
    let roots = load_roots(&files.ca)?;
    let (chain, key, identity) = load_own(files)?;
    let provider = crypto_provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|source| TlsError::Verifier {
            path: files.ca.clone(),
            source,
        })?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|source| cert_key_error(files, source))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|source| cert_key_error(files, source))?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    // No session resumption: every connection presents and verifies a
    // client certificate against the CA as it is now, so an expired
    // certificate or a replaced CA cannot ride on an old session. gRPC
    // connections are long-lived, so the extra full handshakes cost little.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Loaded {
        config: Arc::new(config),
        identity,
    })
}

/// [`build_server`] with HTTP/1.1 offered beside HTTP/2, for browsers.
fn build_browser_server(files: &TlsFiles) -> Result<Loaded<ServerConfig>, TlsError> {
    let loaded = build_server(files)?;
    let mut config = (*loaded.config).clone();
    config.alpn_protocols = vec![ALPN_H2.to_vec(), b"http/1.1".to_vec()];
    Ok(Loaded {
        config: Arc::new(config),
        identity: loaded.identity,
    })
}

fn build_client(files: &TlsFiles) -> Result<Loaded<ClientConfig>, TlsError> {
    let roots = load_roots(&files.ca)?;
    let (chain, key, identity) = load_own(files)?;
    let mut config = ClientConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|source| cert_key_error(files, source))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|source| cert_key_error(files, source))?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    // Servers do not resume sessions (see `build_server`), so the client
    // does not keep any.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Loaded {
        config: Arc::new(config),
        identity,
    })
}

fn cert_key_error(files: &TlsFiles, source: rustls::Error) -> TlsError {
    TlsError::CertKey {
        cert: files.cert.clone(),
        key: files.key.clone(),
        source,
    }
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_error = |source| TlsError::Pem {
        path: path.to_owned(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_owned() });
    }
    Ok(certs)
}

fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|source| TlsError::BadCa {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(roots)
}

type Own = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, PeerIdentity);

/// Reads this party's certificate chain and key, and the identity of the
/// leaf, refusing a certificate without one: such a party could never be
/// authorized, so it is better to fail at start.
fn load_own(files: &TlsFiles) -> Result<Own, TlsError> {
    let chain = load_certs(&files.cert)?;
    let identity = identity_from_cert(&chain[0]).map_err(|source| TlsError::OwnIdentity {
        path: files.cert.clone(),
        source,
    })?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|source| TlsError::Pem {
        path: files.key.clone(),
        source,
    })?;
    Ok((chain, key, identity))
}
