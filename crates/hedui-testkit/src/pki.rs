//! A county PKI for one run, with its files on disk as production has them.
//!
//! One directory holds the CA (`ca.crt`, `ca.key`), every certificate
//! issued (`<name>.crt`, `<name>.key`) and the published revocation list
//! (`ca.crl`), so a person can point `curl` or `hedui` at it and revocations
//! are signed as `hedui pki crl` signs them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use hedui_proto::v1::verification_service_client::VerificationServiceClient;
use hedui_tls::pki::{CA_CERT_FILE, Ca};
use hedui_tls::{ClientTls, Role, TlsFiles};
use tonic::transport::Channel;

/// How long the CA, its certificates and its revocation lists are valid.
const DAYS: u32 = 30;

/// A county CA and the certificates it issued, in one directory.
pub struct Pki {
    ca: Ca,
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Pki {
    /// A county CA named `county` in `dir`, which must hold no CA yet.
    pub fn create(dir: &Path, county: &str) -> anyhow::Result<Pki> {
        let ca = Ca::new(county, DAYS)?;
        ca.save(dir)?;
        Ok(Pki {
            ca,
            dir: dir.to_owned(),
            _temp: None,
        })
    }

    /// A county CA named `county` in a temporary directory, removed with it.
    pub fn temporary(county: &str) -> anyhow::Result<Pki> {
        let temp = tempfile::tempdir().context("cannot make a temporary directory")?;
        let mut pki = Pki::create(temp.path(), county)?;
        pki._temp = Some(temp);
        Ok(pki)
    }

    /// The tests' county PKI ("dejiang-test") in a temporary directory.
    ///
    /// # Panics
    /// When the directory cannot be written: for tests.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Pki {
        Pki::temporary("dejiang-test").expect("a test PKI")
    }

    /// Where the CA and the certificates are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate's file, which every party trusts.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join(CA_CERT_FILE)
    }

    /// The CA itself, for what the files above do not cover (a `.p12`).
    pub fn ca(&self) -> &Ca {
        &self.ca
    }

    /// Issues a certificate for `role`/`name` and returns its files (no
    /// revocation list).
    pub fn issue(&self, role: &Role, name: &str) -> anyhow::Result<TlsFiles> {
        let f = self
            .ca
            .issue(role, name, DAYS, &[])?
            .save(&self.dir)
            .with_context(|| format!("cannot save the certificate of {name}"))?;
        Ok(TlsFiles {
            ca: self.ca_file(),
            cert: f.cert,
            key: f.key,
            crl: None,
        })
    }

    /// [`Pki::issue`] for tests.
    ///
    /// # Panics
    /// When the certificate cannot be issued or saved.
    pub fn files(&self, role: &Role, name: &str) -> TlsFiles {
        self.issue(role, name).expect("the test PKI issues a certificate")
    }

    /// The files of the certificate last issued to `name` (the adapters'
    /// are `<department>-01`, the hub's `hub-01`).
    pub fn issued(&self, name: &str) -> TlsFiles {
        TlsFiles {
            ca: self.ca_file(),
            cert: self.dir.join(format!("{name}.crt")),
            key: self.dir.join(format!("{name}.key")),
            crl: None,
        }
    }

    /// Where the signed revocation list is published.
    pub fn crl(&self) -> PathBuf {
        self.dir.join(hedui_tls::revocation::CRL_FILE)
    }

    /// Signs the revocation list anew and publishes it at [`Pki::crl`].
    ///
    /// # Panics
    /// When the list cannot be signed or written: for tests.
    pub fn publish_crl(&self) {
        hedui_tls::revocation::write_crl(&self.dir, DAYS, &self.crl()).expect("the test PKI signs its list");
    }

    /// Revokes the certificate in `files` and publishes the new list.
    ///
    /// # Panics
    /// When the certificate cannot be read or revoked: for tests.
    pub fn revoke(&self, files: &TlsFiles) {
        let pem = std::fs::read(&files.cert).expect("the certificate to revoke is readable");
        let der: rustls_pki_types::CertificateDer<'_> =
            rustls_pki_types::pem::PemObject::from_pem_slice(&pem).expect("a PEM certificate");
        let serial = hedui_tls::identity_from_cert(&der).expect("a hedui certificate").serial;
        hedui_tls::revocation::revoke(&self.dir, &serial, hedui_tls::revocation::Reason::KeyCompromise)
            .expect("the test PKI revokes it");
        self.publish_crl();
    }

    /// A mutual-TLS channel to the hub at `addr` holding a new `role`
    /// certificate for `name`, connecting within `timeout`.
    pub fn hub_channel(&self, addr: SocketAddr, role: &Role, name: &str, timeout: Duration) -> anyhow::Result<Channel> {
        let tls = ClientTls::load(self.issue(role, name)?)?;
        Ok(hedui_tls::channel(
            &format!("https://{addr}"),
            tls,
            Some(Role::Hub),
            timeout,
        )?)
    }

    /// [`Pki::hub_channel`] for tests, connecting within 5 s.
    ///
    /// # Panics
    /// When the certificate cannot be issued or loaded.
    pub fn channel(&self, addr: SocketAddr, role: &Role, name: &str) -> Channel {
        self.hub_channel(addr, role, name, Duration::from_secs(5))
            .expect("a channel to the test hub")
    }

    /// A caseworker-service client of the hub at `addr` holding a `role`
    /// certificate, for tests.
    pub fn client(&self, addr: SocketAddr, role: &Role, name: &str) -> VerificationServiceClient<Channel> {
        VerificationServiceClient::new(self.channel(addr, role, name))
    }
}
