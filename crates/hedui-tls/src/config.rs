//! rustls configurations built from PEM files and reloaded when the files
//! change, so a certificate can be renewed or a CA replaced without
//! restarting the hub or an adapter.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{CertRevocationListError, CertificateError, ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};

use crate::identity::{IdentityError, PeerIdentity, Role, identity_from_cert};

/// How often, at most, the files' modification times are looked at. The
/// check runs on use (an accepted connection, a new outgoing connection), so
/// an idle process does no work and a busy one stats three files a second.
pub const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The ALPN protocol both sides offer: gRPC runs over HTTP/2 only.
const ALPN_H2: &[u8] = b"h2";

/// The PEM files of one party's TLS setup: the CA, its own certificate and
/// key, and optionally the county CA's revocation list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsFiles {
    /// The county CA certificate(s) that peers must chain to.
    pub ca: PathBuf,
    /// This party's leaf certificate (further PEM certificates after it are
    /// sent as its chain).
    pub cert: PathBuf,
    /// This party's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// The county CA's certificate revocation list, PEM (`hedui pki crl`
    /// writes it); several lists may be concatenated, one per CA, while a CA
    /// is being replaced. `None`: revocation is not checked.
    ///
    /// With a list, a peer certificate that it names is refused at the
    /// handshake, and so is one whose CA has no list in the file (its
    /// status is unknown, and unknown is refused). The file is checked when
    /// loaded: it must parse, be signed by the CA that issued this party's
    /// own certificate, and not be past its next update. A list that fails
    /// this stops a start; on a reload the last good configuration is kept
    /// and an error is logged (see [`ServerTls::current`]). A list that was
    /// good when loaded keeps being used after its next update, with an
    /// error logged, so that a late republication is an alert and not an
    /// outage: every certificate it names stays refused.
    pub crl: Option<PathBuf>,
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
    /// The revocation list is unreadable, not signed by the CA, or expired.
    #[error("{}: {reason}", path.display())]
    Crl {
        /// The CRL file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// This party's own certificate is on the revocation list: it must be
    /// renewed (`hedui pki renew`) before the process can start.
    #[error("{}: this certificate (serial {serial}) is revoked by {}; issue a new one with `hedui pki renew`", cert.display(), crl.display())]
    OwnRevoked {
        /// The certificate file.
        cert: PathBuf,
        /// The CRL file that names it.
        crl: PathBuf,
        /// Its serial, hex.
        serial: String,
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

    /// Whether the certificate with this serial (lower-case hex, as
    /// [`crate::CertificateId::serial`]) is on the revocation list as it is
    /// now (the files are checked for changes first). The handshake already
    /// refuses revoked certificates; this lets a server refuse requests on
    /// a connection made before the certificate was revoked.
    pub fn is_revoked(&self, serial: &str) -> bool {
        self.inner.is_revoked(serial)
    }

    /// The loaded revocation list's next update, Unix seconds (the
    /// earliest if the file holds several); `None` without a list.
    pub fn crl_next_update(&self) -> Option<i64> {
        self.inner.crl_next_update()
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

    /// See [`ServerTls::crl_next_update`].
    pub fn crl_next_update(&self) -> Option<i64> {
        self.inner.crl_next_update()
    }

    /// How many times the files have been reloaded, after checking them for
    /// changes as [`ClientTls::current`] does. A long-lived channel compares
    /// it with the value it was made at to know when to connect anew, so
    /// that a new revocation list or certificate applies to it too.
    pub fn generation(&self) -> u64 {
        self.inner.generation()
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
    /// The revocation list's next update (Unix seconds), if one is loaded.
    crl_next_update: Option<i64>,
    /// This party's own certificate is on the loaded revocation list.
    own_revoked: bool,
    /// The serials (lower-case hex of the DER integer, as
    /// [`crate::CertificateId`] has them) on the loaded revocation lists.
    revoked: Arc<std::collections::HashSet<String>>,
}

/// Modification time and length of each of the files (CA, certificate, key,
/// CRL); `None` for a file that could not be looked at (for example
/// mid-rename) or that is not configured.
type Stamps = [Option<(SystemTime, u64)>; 4];

struct State<C> {
    loaded: Loaded<C>,
    stamps: Stamps,
    checked: Instant,
    /// The stamps of the last failed reload, so that a file left broken is
    /// reported once, not every second, while it is still retried.
    failed: Option<Stamps>,
    /// Whether the loaded revocation list's going stale was logged.
    stale_logged: bool,
    /// How many times the files were reloaded.
    generation: u64,
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
        if loaded.own_revoked {
            return Err(TlsError::OwnRevoked {
                cert: files.cert.clone(),
                crl: files.crl.clone().unwrap_or_default(),
                serial: loaded.identity.serial.clone(),
            });
        }
        Ok(Reloader {
            state: Mutex::new(State {
                loaded,
                stamps,
                checked: Instant::now(),
                failed: None,
                stale_logged: false,
                generation: 0,
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
            if let Some(next_update) = state.loaded.crl_next_update
                && !state.stale_logged
                && next_update < unix_now()
            {
                tracing::error!(
                    side = self.side,
                    crl = %self.files.crl.as_deref().unwrap_or(Path::new("")).display(),
                    next_update = %crate::identity::rfc3339(next_update).unwrap_or_default(),
                    "the revocation list is past its next update; it is still enforced, but publish a new one with `hedui pki crl`"
                );
                state.stale_logged = true;
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
                if loaded.own_revoked {
                    // The new list is applied all the same: keeping the
                    // old one would let the other certificates it revokes
                    // in.
                    tracing::error!(
                        side = self.side,
                        serial = %loaded.identity.serial,
                        "this process's own certificate is on the revocation list; renew it with `hedui pki renew`"
                    );
                }
                state.loaded = loaded;
                state.stamps = now;
                state.failed = None;
                state.stale_logged = false;
                state.generation += 1;
            }
            Err(error) => {
                // The stamps stay as they were, so the next check tries
                // again: a half-written file is usually complete a moment
                // later.
                if state.failed != Some(now) {
                    if matches!(error, TlsError::Crl { .. }) {
                        tracing::error!(
                            side = self.side,
                            %error,
                            "the revocation list changed but is not usable; keeping the last good configuration"
                        );
                    } else {
                        tracing::warn!(
                            side = self.side,
                            %error,
                            "tls files changed but could not be loaded; keeping the previous configuration"
                        );
                    }
                    state.failed = Some(now);
                }
            }
        }
    }

    fn identity(&self) -> PeerIdentity {
        self.lock().loaded.identity.clone()
    }

    fn is_revoked(&self, serial: &str) -> bool {
        let _ = self.current();
        self.lock().loaded.revoked.contains(serial)
    }

    fn generation(&self) -> u64 {
        let _ = self.current();
        self.lock().generation
    }

    fn crl_next_update(&self) -> Option<i64> {
        self.lock().loaded.crl_next_update
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn stamps(files: &TlsFiles) -> Stamps {
    [Some(&files.ca), Some(&files.cert), Some(&files.key), files.crl.as_ref()].map(|p| {
        p.and_then(|p| fs::metadata(p).ok())
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
    })
}

/// The revocation lists of `files`, checked against this party's own
/// certificate `chain`: see [`TlsFiles::crl`].
struct Crls {
    ders: Vec<CertificateRevocationListDer<'static>>,
    next_update: i64,
    own_revoked: bool,
    revoked: std::collections::HashSet<String>,
}

fn load_crls(
    files: &TlsFiles,
    roots: &RootCertStore,
    chain: &[CertificateDer<'static>],
) -> Result<Option<Crls>, TlsError> {
    let Some(path) = &files.crl else {
        return Ok(None);
    };
    let crl_error = |reason: String| TlsError::Crl {
        path: path.clone(),
        reason,
    };
    let ders = CertificateRevocationListDer::pem_file_iter(path)
        .map_err(|e| crl_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| crl_error(format!("not PEM: {e}")))?;
    if ders.is_empty() {
        return Err(crl_error("no PEM revocation list (X509 CRL) found".to_owned()));
    }
    let mut next_update = i64::MAX;
    let mut revoked = std::collections::HashSet::new();
    for der in &ders {
        use x509_parser::prelude::FromDer as _;
        let (_, crl) = x509_parser::revocation_list::CertificateRevocationList::from_der(der)
            .map_err(|e| crl_error(format!("not a revocation list: {e}")))?;
        let next = crl
            .next_update()
            .ok_or_else(|| crl_error("the list has no next update".to_owned()))?;
        next_update = next_update.min(next.timestamp());
        revoked.extend(crl.iter_revoked_certificates().map(|r| hex::encode(r.raw_serial())));
    }
    // rustls verifies a list's signature only when it checks a certificate
    // of the list's CA, so the list is tried on this party's own
    // certificate now: a list from another CA, a forged one or an expired
    // one fails here, at load, rather than at every handshake.
    let checker = WebPkiClientVerifier::builder_with_provider(Arc::new(roots.clone()), crypto_provider())
        .with_crls(ders.clone())
        .only_check_end_entity_revocation()
        .enforce_revocation_expiration()
        .build()
        .map_err(|e| crl_error(e.to_string()))?;
    let own_revoked = match checker.verify_client_cert(&chain[0], &chain[1..], UnixTime::now()) {
        Ok(_) => false,
        Err(rustls::Error::InvalidCertificate(CertificateError::Revoked)) => true,
        Err(rustls::Error::InvalidCertificate(
            CertificateError::ExpiredRevocationList | CertificateError::ExpiredRevocationListContext { .. },
        )) => {
            return Err(crl_error(format!(
                "expired: its next update ({}) has passed; publish a new one with `hedui pki crl`",
                crate::identity::rfc3339(next_update).unwrap_or_default()
            )));
        }
        Err(rustls::Error::InvalidCertificate(CertificateError::UnknownRevocationStatus)) => {
            return Err(crl_error(format!(
                "no list in it is issued by the CA of {}",
                files.cert.display()
            )));
        }
        Err(rustls::Error::InvalidCertRevocationList(CertRevocationListError::BadSignature)) => {
            return Err(crl_error(format!("not signed by the CA in {}", files.ca.display())));
        }
        Err(rustls::Error::InvalidCertRevocationList(e)) => {
            return Err(crl_error(format!("not usable: {e:?}")));
        }
        Err(e) => {
            return Err(crl_error(format!(
                "cannot be checked against this party's own certificate {}: {e}",
                files.cert.display()
            )));
        }
    };
    Ok(Some(Crls {
        ders,
        next_update,
        own_revoked,
        revoked,
    }))
}

fn build_server(files: &TlsFiles) -> Result<Loaded<ServerConfig>, TlsError> {
    let roots = load_roots(&files.ca)?;
    let (chain, key, identity) = load_own(files)?;
    let crls = load_crls(files, &roots, &chain)?;
    let provider = crypto_provider();
    let mut builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if let Some(crls) = &crls {
        // Only the leaf is checked: the CA is the trust anchor, and hedui
        // has no intermediates. A leaf whose CA has no list is refused.
        builder = builder.with_crls(crls.ders.clone()).only_check_end_entity_revocation();
    }
    let verifier = builder.build().map_err(|source| TlsError::Verifier {
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
        crl_next_update: crls.as_ref().map(|c| c.next_update),
        own_revoked: crls.as_ref().is_some_and(|c| c.own_revoked),
        revoked: Arc::new(crls.map(|c| c.revoked).unwrap_or_default()),
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
        crl_next_update: loaded.crl_next_update,
        own_revoked: loaded.own_revoked,
        revoked: loaded.revoked,
    })
}

fn build_client(files: &TlsFiles) -> Result<Loaded<ClientConfig>, TlsError> {
    let roots = load_roots(&files.ca)?;
    let (chain, key, identity) = load_own(files)?;
    let crls = load_crls(files, &roots, &chain)?;
    let provider = crypto_provider();
    let mut builder = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    if let Some(crls) = &crls {
        builder = builder.with_crls(crls.ders.clone()).only_check_end_entity_revocation();
    }
    let verifier = builder.build().map_err(|source| TlsError::Verifier {
        path: files.ca.clone(),
        source,
    })?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|source| cert_key_error(files, source))?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(chain, key)
        .map_err(|source| cert_key_error(files, source))?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    // Servers do not resume sessions (see `build_server`), so the client
    // does not keep any.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Loaded {
        config: Arc::new(config),
        identity,
        crl_next_update: crls.as_ref().map(|c| c.next_update),
        own_revoked: crls.as_ref().is_some_and(|c| c.own_revoked),
        revoked: Arc::new(crls.map(|c| c.revoked).unwrap_or_default()),
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
