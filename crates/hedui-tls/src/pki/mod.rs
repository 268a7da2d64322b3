//! The county PKI: one self-signed CA per county and the leaf certificates
//! it issues to caseworkers, auditors, admins, the hub and the adapters.
//!
//! This backs `hedui pki init` and `hedui pki issue`, and `hedui demo`,
//! which makes a throwaway PKI in a temporary directory. Keys are ECDSA
//! P-256, made with ring, the one crypto provider of the workspace.

pub mod revocation;

use std::fs;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, DnsName};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::identity::{IdentityError, PeerIdentity, Role, check_name, identity_from_cert, identity_uri};

/// The CA certificate's file name inside a CA directory.
pub const CA_CERT_FILE: &str = "ca.crt";
/// The CA private key's file name inside a CA directory.
pub const CA_KEY_FILE: &str = "ca.key";

/// The longest county name accepted for a CA, in characters.
const MAX_COUNTY_LEN: usize = 64;

/// How far `not_before` is set in the past, so that a certificate issued on
/// one machine is already valid on a partner's machine whose clock is a
/// little behind.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// What went wrong making, loading or saving certificates.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file that would be overwritten already exists.
    #[error("{}: already exists; refusing to overwrite it", path.display())]
    Exists {
        /// The file that exists.
        path: PathBuf,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// An argument is invalid; the message starts with the field's name.
    #[error("{0}")]
    Invalid(String),
    /// A CA file on disk is not a usable CA certificate or key.
    #[error("{}: {reason}", path.display())]
    BadCa {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rcgen could not make a key or a certificate.
    #[error("{what}: {source}")]
    Generate {
        /// What was being made.
        what: &'static str,
        /// The underlying error.
        source: rcgen::Error,
    },
    /// A certificate just issued does not read back as the identity it was
    /// issued for, which would be a bug in this crate.
    #[error("issued certificate: {0}")]
    Identity(#[from] IdentityError),
    /// The PKCS#12 file could not be built.
    #[error("p12: {0}")]
    Pkcs12(#[from] p12_keystore::error::Error),
}

/// The files written by [`init_ca`] or [`Ca::save`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaFiles {
    /// The CA certificate, PEM. Every hub, adapter and client trusts it.
    pub cert: PathBuf,
    /// The CA private key, PEM, mode 0600. It stays with the civil-affairs
    /// bureau's operator and is needed only to issue certificates.
    pub key: PathBuf,
}

/// The files written by [`issue`] or [`Issued::save`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedFiles {
    /// The leaf certificate alone, PEM (`<name>.crt`).
    pub cert: PathBuf,
    /// Its private key, PEM, mode 0600 (`<name>.key`).
    pub key: PathBuf,
    /// The certificate's serial number in lower-case hex.
    pub serial: String,
    /// When the certificate expires, RFC 3339 in UTC.
    pub not_after: String,
}

/// A leaf certificate and key, in memory.
#[derive(Clone)]
pub struct Issued {
    /// The leaf certificate, PEM.
    pub cert_pem: String,
    /// Its private key (PKCS#8), PEM.
    pub key_pem: String,
    /// The identity the certificate carries, read back from it.
    pub identity: PeerIdentity,
}

impl std::fmt::Debug for Issued {
    // The private key is left out so it can never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Issued {
    /// Writes `<name>.crt` and `<name>.key` (mode 0600) into `out_dir`,
    /// creating the directory if needed.
    ///
    /// Existing files are replaced, each by an atomic rename, because this is
    /// how a certificate is renewed: a running hub or adapter picks the new
    /// pair up without a restart.
    pub fn save(&self, out_dir: &Path) -> Result<IssuedFiles, PkiError> {
        fs::create_dir_all(out_dir).map_err(|source| PkiError::Io {
            path: out_dir.to_owned(),
            source,
        })?;
        let name = &self.identity.name;
        let cert = out_dir.join(format!("{name}.crt"));
        let key = out_dir.join(format!("{name}.key"));
        // Each file is replaced atomically, but the pair is not: a reloader
        // that sees the new key with the old certificate fails rustls's
        // key/certificate consistency check and keeps the previous pair until
        // both files are in place.
        replace_file(&key, self.key_pem.as_bytes(), true)?;
        replace_file(&cert, self.cert_pem.as_bytes(), false)?;
        Ok(IssuedFiles {
            cert,
            key,
            serial: self.identity.serial.clone(),
            not_after: self.identity.not_after.clone(),
        })
    }
}

/// A county's certificate authority, able to issue leaf certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    key_pem: String,
    county: String,
    not_after: SystemTime,
}

impl std::fmt::Debug for Ca {
    // The private key is left out so it can never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("county", &self.county)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// Makes a new self-signed CA for one county, valid from now (backdated
    /// five minutes for clock skew) for `valid_days` days. It can sign leaf
    /// certificates only (path length 0).
    pub fn new(county: &str, valid_days: u32) -> Result<Ca, PkiError> {
        check_county(county)?;
        let now = SystemTime::now();
        let not_after = now + days(valid_days)?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(|source| PkiError::Generate { what: "ca key", source })?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("hedui CA {county}"));
        dn.push(DnType::OrganizationName, county);
        dn.push(DnType::OrganizationalUnitName, "hedui");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = to_offset(now - CLOCK_SKEW, "valid_days")?;
        params.not_after = to_offset(not_after, "valid_days")?;
        let cert = params.self_signed(&key).map_err(|source| PkiError::Generate {
            what: "ca certificate",
            source,
        })?;
        let key_pem = key.serialize_pem();
        Ok(Ca {
            cert_pem: cert.pem(),
            key_pem,
            county: county.to_owned(),
            not_after: truncate_to_seconds(not_after),
            issuer: Issuer::new(params, key),
        })
    }

    /// Loads the CA saved in `dir` (`ca.crt` and `ca.key`), checking that
    /// the certificate is a CA and that the key belongs to it.
    pub fn load(dir: &Path) -> Result<Ca, PkiError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        let cert_pem = read_to_string(&cert_path)?;
        let key_pem = read_to_string(&key_path)?;
        let bad_cert = |reason: String| PkiError::BadCa {
            path: cert_path.clone(),
            reason,
        };
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| bad_cert(format!("no PEM certificate: {e}")))?;
        let (_, x509) =
            X509Certificate::from_der(&der).map_err(|e| bad_cert(format!("not an X.509 certificate: {e}")))?;
        if !x509.is_ca() {
            return Err(bad_cert("not a CA certificate".to_owned()));
        }
        let key = KeyPair::from_pem(&key_pem).map_err(|e| PkiError::BadCa {
            path: key_path.clone(),
            reason: format!("not a PEM private key: {e}"),
        })?;
        if key.subject_public_key_info() != x509.public_key().raw {
            return Err(PkiError::BadCa {
                path: key_path,
                reason: format!("does not belong to {}", cert_path.display()),
            });
        }
        let county = x509
            .subject()
            .iter_organization()
            .next()
            .and_then(|o| o.as_str().ok())
            .unwrap_or_default()
            .to_owned();
        let expires = x509.validity().not_after.timestamp();
        let not_after = UNIX_EPOCH
            + Duration::from_secs(u64::try_from(expires).map_err(|_| bad_cert("expiry before 1970".to_owned()))?);
        let issuer =
            Issuer::from_ca_cert_der(&der, key).map_err(|e| bad_cert(format!("unusable as an issuer: {e}")))?;
        Ok(Ca {
            issuer,
            cert_pem,
            key_pem,
            county,
            not_after,
        })
    }

    /// Writes `ca.crt` and `ca.key` (mode 0600) into `dir`, creating it if
    /// needed. Refuses to overwrite an existing CA: replacing it would
    /// silently invalidate every certificate in the county.
    pub fn save(&self, dir: &Path) -> Result<CaFiles, PkiError> {
        let cert = dir.join(CA_CERT_FILE);
        let key = dir.join(CA_KEY_FILE);
        for path in [&cert, &key] {
            if path.exists() {
                return Err(PkiError::Exists { path: path.clone() });
            }
        }
        fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.to_owned(),
            source,
        })?;
        write_new(&key, self.key_pem.as_bytes(), true)?;
        write_new(&cert, self.cert_pem.as_bytes(), false)?;
        Ok(CaFiles { cert, key })
    }

    /// The CA certificate, PEM: what every party trusts.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Signs a certificate revocation list and returns it as PEM.
    pub(crate) fn sign_crl(&self, params: &rcgen::CertificateRevocationListParams) -> Result<String, PkiError> {
        let crl = params.signed_by(&self.issuer).map_err(|source| PkiError::Generate {
            what: "revocation list",
            source,
        })?;
        crl.pem().map_err(|source| PkiError::Generate {
            what: "revocation list",
            source,
        })
    }

    /// The county this CA serves, from its subject's organization.
    pub fn county(&self) -> &str {
        &self.county
    }

    /// Issues a leaf certificate valid from now (backdated five minutes for
    /// clock skew between machines) for `valid_days` days, or until the CA
    /// expires if that is sooner.
    ///
    /// The certificate carries the identity URI, `CN = name`, `OU = role`,
    /// EKU serverAuth and clientAuth, and DNS or IP names from `hosts`. Server
    /// roles (hub, adapter) always also get `localhost`, `127.0.0.1` and `::1`
    /// so that a single-machine setup works without extra flags.
    pub fn issue(&self, role: &Role, name: &str, valid_days: u32, hosts: &[String]) -> Result<Issued, PkiError> {
        let now = SystemTime::now();
        self.issue_with_validity(role, name, now - CLOCK_SKEW, now + days(valid_days)?, hosts)
    }

    /// Like [`Ca::issue`] with an explicit validity period, so that tests can
    /// make a certificate that is already expired or not yet valid.
    pub fn issue_with_validity(
        &self,
        role: &Role,
        name: &str,
        not_before: SystemTime,
        not_after: SystemTime,
        hosts: &[String],
    ) -> Result<Issued, PkiError> {
        role.check_issuable().map_err(PkiError::Invalid)?;
        check_name(name).map_err(PkiError::Invalid)?;
        if not_after <= not_before {
            return Err(PkiError::Invalid("not_after: must be later than not_before".to_owned()));
        }
        // A certificate that outlived its CA would stop verifying with it
        // anyway, so its expiry is capped at the CA's, and the returned
        // identity shows the real date.
        let not_after = not_after.min(self.not_after);
        if not_after <= not_before {
            return Err(PkiError::Invalid("not_before: the CA has expired by then".to_owned()));
        }

        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationalUnitName, role.as_string());
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = to_offset(not_before, "not_before")?;
        params.not_after = to_offset(not_after, "not_after")?;
        params.subject_alt_names = subject_alt_names(role, name, hosts)?;

        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .map_err(|source| PkiError::Generate { what: "key", source })?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|source| PkiError::Generate {
                what: "certificate",
                source,
            })?;
        let identity = identity_from_cert(cert.der())?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            identity,
        })
    }
}

/// Makes a new CA for `county` and saves it as `dir/ca.crt` and `dir/ca.key`
/// (mode 0600). Refuses to overwrite an existing CA.
pub fn init_ca(dir: &Path, county: &str, valid_days: u32) -> Result<CaFiles, PkiError> {
    // Checked before the key is generated so the error is about the files.
    for file in [CA_CERT_FILE, CA_KEY_FILE] {
        let path = dir.join(file);
        if path.exists() {
            return Err(PkiError::Exists { path });
        }
    }
    let files = Ca::new(county, valid_days)?.save(dir)?;
    revocation::create_register(dir)?;
    Ok(files)
}

/// How long a leaf certificate is valid when no `--days` is given: 90 days
/// for people (caseworker, auditor, admin), whose certificates travel on
/// laptops and UKeys, and a year for services (hub, adapters), which live on
/// managed servers and are renewed by an operator.
pub fn default_days(role: &Role) -> u32 {
    if role.is_server() { 365 } else { 90 }
}

/// Writes a file that everyone may read (a revocation list) atomically.
pub(crate) fn replace_public_file(path: &Path, contents: &[u8]) -> Result<(), PkiError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    replace_file(path, contents, false)
}

fn record(ca_dir: &Path, role: &Role, files: &IssuedFiles, name: &str) -> Result<(), PkiError> {
    revocation::record_issued(ca_dir, &files.serial, &role.as_string(), name, &files.not_after)
}

/// What [`renew`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renewed {
    /// The role kept from the old certificate.
    pub role: Role,
    /// The name kept from the old certificate.
    pub name: String,
    /// The old certificate's serial, for `hedui pki revoke`.
    pub old_serial: String,
    /// The new files.
    pub files: IssuedFiles,
}

/// Issues a new certificate and key for the holder of `old_cert`, keeping
/// its role, name and host names, valid for `valid_days` days (or
/// [`default_days`] of the role), and writes them to `out_dir` (by default
/// beside the old certificate, replacing it, so that a running hub or
/// adapter picks it up without a restart). The old certificate must be
/// issued by the CA in `ca_dir`; it may have expired.
pub fn renew(
    ca_dir: &Path,
    old_cert: &Path,
    valid_days: Option<u32>,
    out_dir: Option<&Path>,
) -> Result<Renewed, PkiError> {
    renew_with_p12(ca_dir, old_cert, valid_days, out_dir, None)
}

/// Like [`renew`], and with `p12` also writes the new certificate, its key
/// and the CA certificate as a password-protected PKCS#12 file (see
/// [`write_p12`]), for a person to import into a browser again.
pub fn renew_with_p12(
    ca_dir: &Path,
    old_cert: &Path,
    valid_days: Option<u32>,
    out_dir: Option<&Path>,
    p12: Option<(&Path, &P12Password)>,
) -> Result<Renewed, PkiError> {
    // Checked before anything is written, so a bad path leaves no new files.
    if let Some((path, _)) = p12 {
        check_p12_path(path)?;
    }
    let ca = Ca::load(ca_dir)?;
    let pem = read_to_string(old_cert)?;
    let bad = |reason: String| PkiError::Invalid(format!("cert: {}: {reason}", old_cert.display()));
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| bad(format!("no PEM certificate: {e}")))?;
    let identity = identity_from_cert(&der).map_err(|e| bad(e.to_string()))?;
    let (_, x509) = X509Certificate::from_der(&der).map_err(|e| bad(format!("not an X.509 certificate: {e}")))?;
    let ca_der =
        CertificateDer::from_pem_slice(ca.cert_pem.as_bytes()).map_err(|e| bad(format!("CA certificate: {e}")))?;
    let (_, ca_x509) = X509Certificate::from_der(&ca_der).map_err(|e| bad(format!("CA certificate: {e}")))?;
    if x509.issuer() != ca_x509.subject() || verify_signed_by(&der, &ca_der).is_err() {
        return Err(bad(format!("not issued by the CA in {}", ca_dir.display())));
    }
    let loopback = ["localhost", "127.0.0.1", "::1"];
    let mut hosts = Vec::new();
    if let Ok(Some(san)) = x509.subject_alternative_name() {
        for n in &san.value.general_names {
            let host = match n {
                x509_parser::extensions::GeneralName::DNSName(d) => d.to_string(),
                x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(*ip).unwrap_or_default()).to_string(),
                    16 => IpAddr::from(<[u8; 16]>::try_from(*ip).unwrap_or_default()).to_string(),
                    _ => continue,
                },
                _ => continue,
            };
            if !loopback.contains(&host.as_str()) {
                hosts.push(host);
            }
        }
    }
    let days = valid_days.unwrap_or_else(|| default_days(&identity.role));
    let out = match out_dir {
        Some(d) => d.to_owned(),
        None => old_cert
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_owned),
    };
    check_not_the_ca(ca_dir, &identity.name, &out)?;
    let issued = ca.issue(&identity.role, &identity.name, days, &hosts)?;
    let files = issued.save(&out)?;
    record(ca_dir, &identity.role, &files, &identity.name)?;
    if let Some((path, password)) = p12 {
        write_p12(path, &issued, ca.cert_pem(), password)?;
    }
    Ok(Renewed {
        role: identity.role,
        name: identity.name,
        old_serial: identity.serial,
        files,
    })
}

/// Checks the signature of `cert` with the public key of `ca`, whatever
/// the dates: a certificate is renewed after it has expired, too.
fn verify_signed_by(cert: &[u8], ca: &[u8]) -> Result<(), ()> {
    let (_, cert) = X509Certificate::from_der(cert).map_err(|_| ())?;
    let (_, ca) = X509Certificate::from_der(ca).map_err(|_| ())?;
    // hedui CAs sign with ECDSA P-256 and SHA-256 only.
    if cert.signature_algorithm.algorithm != x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA256 {
        return Err(());
    }
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        ca.public_key().subject_public_key.data.as_ref(),
    );
    key.verify(cert.tbs_certificate.as_ref(), cert.signature_value.data.as_ref())
        .map_err(|_| ())
}

/// Issues a leaf certificate with the CA in `ca_dir`, valid from now for
/// `valid_days` days, and writes `out_dir/<name>.crt` and `out_dir/<name>.key`
/// (mode 0600). See [`Ca::issue`] for what the certificate contains.
pub fn issue(
    ca_dir: &Path,
    role: &Role,
    name: &str,
    valid_days: u32,
    hosts: &[String],
    out_dir: &Path,
) -> Result<IssuedFiles, PkiError> {
    check_not_the_ca(ca_dir, name, out_dir)?;
    let files = Ca::load(ca_dir)?.issue(role, name, valid_days, hosts)?.save(out_dir)?;
    record(ca_dir, role, &files, name)?;
    Ok(files)
}

/// Like [`issue`] with an explicit validity period, for tests that need an
/// expired or not-yet-valid certificate on disk.
pub fn issue_with_validity(
    ca_dir: &Path,
    role: &Role,
    name: &str,
    not_before: SystemTime,
    not_after: SystemTime,
    hosts: &[String],
    out_dir: &Path,
) -> Result<IssuedFiles, PkiError> {
    check_not_the_ca(ca_dir, name, out_dir)?;
    let files = Ca::load(ca_dir)?
        .issue_with_validity(role, name, not_before, not_after, hosts)?
        .save(out_dir)?;
    record(ca_dir, role, &files, name)?;
    Ok(files)
}

/// PBKDF2 iterations for both the encryption keys and the MAC key of a
/// `.p12` file. OpenSSL 3 writes 2048; this is higher because an operator may
/// choose a weak password in `--p12-password-file`, and importing the file
/// once into a browser can afford a fraction of a second. The generated
/// passwords have about 99 bits of entropy and would not need it.
const P12_ITERATIONS: u64 = 100_000;

/// Characters of a generated `.p12` password: lower-case letters and digits
/// without the ones easily confused when read off a screen (0 o 1 l i).
const P12_PASSWORD_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The password of a `.p12` file. Its `Debug` output is redacted so that it
/// can never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct P12Password(String);

impl std::fmt::Debug for P12Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("P12Password(<redacted>)")
    }
}

impl P12Password {
    /// A password chosen by the operator. It must not be empty and must not
    /// hold control characters, which no browser's import dialog can type.
    pub fn new(password: impl Into<String>) -> Result<P12Password, PkiError> {
        let password = password.into();
        if password.is_empty() {
            return Err(PkiError::Invalid("password: must not be empty".to_owned()));
        }
        if password.chars().any(char::is_control) {
            return Err(PkiError::Invalid(
                "password: control characters are not allowed".to_owned(),
            ));
        }
        Ok(P12Password(password))
    }

    /// A random password of four groups of five characters, such as
    /// `k7m2q-x9bfn-3hwpa-t6rz4`, easy to type into an import dialog and
    /// about 99 bits strong.
    pub fn generate() -> Result<P12Password, PkiError> {
        use ring::rand::{SecureRandom as _, SystemRandom};
        let rng = SystemRandom::new();
        let alphabet_len = P12_PASSWORD_ALPHABET.len();
        // Bytes at or above the largest multiple of the alphabet's length are
        // dropped, so every character is equally likely.
        let limit = 256 - 256 % alphabet_len;
        let mut chars = Vec::with_capacity(20);
        let mut buf = [0u8; 32];
        while chars.len() < 20 {
            rng.fill(&mut buf)
                .map_err(|_| PkiError::Invalid("password: the system random generator failed".to_owned()))?;
            for &b in &buf {
                if usize::from(b) < limit && chars.len() < 20 {
                    chars.push(char::from(P12_PASSWORD_ALPHABET[usize::from(b) % alphabet_len]));
                }
            }
        }
        let groups: Vec<String> = chars.chunks(5).map(|g| g.iter().collect()).collect();
        Ok(P12Password(groups.join("-")))
    }

    /// The password itself, to show the person who imports the file.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Builds a PKCS#12 file that holds the leaf key, the leaf certificate and
/// the county CA certificate, under the holder's name as friendly name.
///
/// Keys and certificates are encrypted with PBES2 (PBKDF2-HMAC-SHA256,
/// AES-256-CBC) and the file is sealed with an HMAC-SHA256 MAC: what current
/// Chrome, Firefox, Windows and OpenSSL 3 import. The legacy RC2-40 and 3DES
/// schemes are never written.
pub fn p12_der(issued: &Issued, ca_cert_pem: &str, password: &P12Password) -> Result<Vec<u8>, PkiError> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKeyChain};
    use rustls_pki_types::PrivatePkcs8KeyDer;
    use sha2::Digest as _;

    let leaf = CertificateDer::from_pem_slice(issued.cert_pem.as_bytes())
        .map_err(|e| PkiError::Invalid(format!("cert_pem: no PEM certificate: {e}")))?;
    let key = PrivatePkcs8KeyDer::from_pem_slice(issued.key_pem.as_bytes())
        .map_err(|e| PkiError::Invalid(format!("key_pem: no PKCS#8 PEM private key: {e}")))?;
    let ca = CertificateDer::from_pem_slice(ca_cert_pem.as_bytes())
        .map_err(|e| PkiError::Invalid(format!("ca_cert_pem: no PEM certificate: {e}")))?;
    let certs = [leaf.as_ref(), ca.as_ref()]
        .into_iter()
        .map(Certificate::from_der)
        .collect::<Result<Vec<_>, _>>()?;
    // The local key ID ties the key to its certificate inside the file; any
    // value unique within the file does, and the certificate's hash is one.
    let local_key_id = sha2::Sha256::digest(leaf.as_ref());
    let chain = PrivateKeyChain::new(key.secret_pkcs8_der(), local_key_id, certs);
    let mut store = KeyStore::new();
    store.add_entry(&issued.identity.name, KeyStoreEntry::PrivateKeyChain(chain));
    Ok(store
        .writer(password.expose())
        .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .encryption_iterations(P12_ITERATIONS)
        .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha256)
        .mac_iterations(P12_ITERATIONS)
        .write()?)
}

/// Writes [`p12_der`] to `path` (mode 0600), creating its directory if
/// needed. The file name must end in `.p12` or `.pfx`, which browsers'
/// import dialogs look for and which keeps a slip from overwriting a `.crt`
/// or `.key`. An existing file is replaced atomically, as on renewal.
pub fn write_p12(path: &Path, issued: &Issued, ca_cert_pem: &str, password: &P12Password) -> Result<(), PkiError> {
    check_p12_path(path)?;
    let der = p12_der(issued, ca_cert_pem, password)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    replace_file(path, &der, true)
}

/// Like [`issue`], and also writes the new certificate, its key and the CA
/// certificate as a password-protected PKCS#12 file at `p12` (see
/// [`write_p12`]), for a person to import into a browser.
pub fn issue_with_p12(
    ca_dir: &Path,
    role: &Role,
    name: &str,
    valid_days: u32,
    hosts: &[String],
    out_dir: &Path,
    p12: (&Path, &P12Password),
) -> Result<IssuedFiles, PkiError> {
    let (p12_path, password) = p12;
    // Checked before anything is written, so a bad path leaves no new files.
    check_p12_path(p12_path)?;
    check_not_the_ca(ca_dir, name, out_dir)?;
    let ca = Ca::load(ca_dir)?;
    let issued = ca.issue(role, name, valid_days, hosts)?;
    let files = issued.save(out_dir)?;
    record(ca_dir, role, &files, name)?;
    write_p12(p12_path, &issued, ca.cert_pem(), password)?;
    Ok(files)
}

fn check_p12_path(path: &Path) -> Result<(), PkiError> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("p12" | "pfx")) {
        return Err(PkiError::Invalid(format!(
            "p12: {} must end in .p12 or .pfx",
            path.display()
        )));
    }
    Ok(())
}

/// Refuses a leaf named `ca` in the CA's own directory, whose files would
/// replace `ca.crt` and `ca.key` and so destroy the county's CA.
fn check_not_the_ca(ca_dir: &Path, name: &str, out_dir: &Path) -> Result<(), PkiError> {
    let same_dir = match (fs::canonicalize(ca_dir), fs::canonicalize(out_dir)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_dir && format!("{name}.crt") == CA_CERT_FILE {
        return Err(PkiError::Invalid(format!(
            "name: {name:?} would overwrite the CA in {}",
            ca_dir.display()
        )));
    }
    Ok(())
}

fn check_county(county: &str) -> Result<(), PkiError> {
    if county.trim().is_empty() {
        return Err(PkiError::Invalid("county: must not be empty".to_owned()));
    }
    if county.chars().count() > MAX_COUNTY_LEN {
        return Err(PkiError::Invalid(format!(
            "county: longer than {MAX_COUNTY_LEN} characters"
        )));
    }
    if county.chars().any(char::is_control) {
        return Err(PkiError::Invalid(
            "county: control characters are not allowed".to_owned(),
        ));
    }
    Ok(())
}

/// The identity URI first, then the hosts, then the loopback names for
/// server roles, without duplicates.
fn subject_alt_names(role: &Role, name: &str, hosts: &[String]) -> Result<Vec<SanType>, PkiError> {
    let uri = identity_uri(role, name)
        .try_into()
        .map_err(|e| PkiError::Invalid(format!("name: {e}")))?;
    let mut sans = vec![SanType::URI(uri)];
    let mut all: Vec<String> = hosts.iter().map(|h| h.trim().to_owned()).collect();
    if role.is_server() {
        all.extend([
            "localhost".to_owned(),
            Ipv4Addr::LOCALHOST.to_string(),
            Ipv6Addr::LOCALHOST.to_string(),
        ]);
    }
    for host in all {
        let san = match host.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => {
                DnsName::try_from(host.as_str()).map_err(|_| {
                    PkiError::Invalid(format!("hosts: {host:?} is neither an IP address nor a DNS name"))
                })?;
                SanType::DnsName(
                    host.to_ascii_lowercase()
                        .try_into()
                        .map_err(|e| PkiError::Invalid(format!("hosts: {host:?}: {e}")))?,
                )
            }
        };
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    Ok(sans)
}

fn days(n: u32) -> Result<Duration, PkiError> {
    if n == 0 {
        return Err(PkiError::Invalid("valid_days: must be at least 1".to_owned()));
    }
    Ok(Duration::from_secs(u64::from(n) * 24 * 60 * 60))
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Certificates store whole seconds, so comparisons with a certificate's
/// dates are made at that precision.
fn truncate_to_seconds(t: SystemTime) -> SystemTime {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => t,
    }
}

fn to_offset(t: SystemTime, field: &str) -> Result<OffsetDateTime, PkiError> {
    OffsetDateTime::from_unix_timestamp(unix_seconds(t))
        .map_err(|_| PkiError::Invalid(format!("{field}: date out of range")))
}

fn read_to_string(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

fn open_options(private: bool) -> fs::OpenOptions {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    opts
}

/// Creates `path`, failing if it exists. A private file is created with mode
/// 0600 from the start, so the key is never readable by others, not even
/// for a moment.
fn write_new(path: &Path, contents: &[u8], private: bool) -> Result<(), PkiError> {
    let io_err = |source| PkiError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = open_options(private).open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            PkiError::Exists { path: path.to_owned() }
        } else {
            io_err(e)
        }
    })?;
    file.write_all(contents).map_err(io_err)?;
    file.sync_all().map_err(io_err)
}

/// Replaces `path` atomically: writes a temporary file beside it and renames
/// it over, so that a process reloading the file never reads half of it.
fn replace_file(path: &Path, contents: &[u8], private: bool) -> Result<(), PkiError> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    // A temporary file left by a crash may have other permissions; removing
    // it lets `create_new` apply the right mode.
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, contents, private)?;
    fs::rename(&tmp, path).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        PkiError::Io {
            path: path.to_owned(),
            source,
        }
    })
}

#[cfg(test)]
mod tests;
