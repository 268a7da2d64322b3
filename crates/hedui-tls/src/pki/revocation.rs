//! Revoking certificates: the CA directory's register of issued
//! certificates, its list of revocations, and the signed revocation list
//! (CRL) that hubs, adapters and the console load.
//!
//! Three small files live beside `ca.key`:
//!
//! - `issued.tsv`, one line per certificate issued (`serial`, `role`,
//!   `name`, `not_after`), so that `hedui pki revoke` can refuse a serial this
//!   CA never issued. `hedui pki init` creates it; a CA made before hedui
//!   kept a register has none, and its serials cannot be checked.
//! - `revoked.tsv`, one line per revocation (`serial`, `reason`, `time`),
//!   only ever appended to. It is read back whole and checked line by line
//!   before anything is added or a list is signed, so a hand-edited or
//!   damaged file stops the command with the line's number.
//! - `ca.crl`, the signed list in PEM (`-----BEGIN X509 CRL-----`), written
//!   by `hedui pki crl` from `revoked.tsv`. PEM rather than DER because every
//!   other hedui TLS file is PEM, and because lists of two CAs can then be
//!   concatenated into one file while a CA is being replaced.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber};

use super::{Ca, PkiError};

/// The register of issued certificates inside a CA directory.
pub const ISSUED_FILE: &str = "issued.tsv";
/// The list of revocations inside a CA directory.
pub const REVOKED_FILE: &str = "revoked.tsv";
/// The signed revocation list's usual file name inside a CA directory.
pub const CRL_FILE: &str = "ca.crl";

const ISSUED_HEADER: &str = "# hedui: certificates issued by this CA (serial, role, name, not_after); appended by `hedui pki issue` and `hedui pki renew`\n";
const REVOKED_HEADER: &str =
    "# hedui: revoked certificates (serial, reason, time); appended by `hedui pki revoke`, never edited\n";

/// Why a certificate is revoked: the RFC 5280 reasons that apply to hedui.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The key is lost or stolen: a lost UKey, a copied key file.
    KeyCompromise,
    /// The holder no longer does this work: a caseworker who left, an
    /// adapter that is retired.
    CessationOfOperation,
    /// A new certificate replaces it.
    Superseded,
    /// The holder moved to another office or role.
    AffiliationChanged,
    /// None of the above.
    Unspecified,
}

impl Reason {
    /// Every reason, in the order the command line lists them.
    pub const ALL: [Reason; 5] = [
        Reason::KeyCompromise,
        Reason::CessationOfOperation,
        Reason::Superseded,
        Reason::AffiliationChanged,
        Reason::Unspecified,
    ];

    /// The RFC 5280 name, as on the command line and in `revoked.tsv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::KeyCompromise => "keyCompromise",
            Reason::CessationOfOperation => "cessationOfOperation",
            Reason::Superseded => "superseded",
            Reason::AffiliationChanged => "affiliationChanged",
            Reason::Unspecified => "unspecified",
        }
    }

    /// Parses an RFC 5280 name; the error names the field and the choices.
    pub fn parse(s: &str) -> Result<Reason, PkiError> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
            PkiError::Invalid(format!("reason: {s:?} is not one of {}", names.join(", ")))
        })
    }

    fn rcgen(self) -> RevocationReason {
        match self {
            Reason::KeyCompromise => RevocationReason::KeyCompromise,
            Reason::CessationOfOperation => RevocationReason::CessationOfOperation,
            Reason::Superseded => RevocationReason::Superseded,
            Reason::AffiliationChanged => RevocationReason::AffiliationChanged,
            Reason::Unspecified => RevocationReason::Unspecified,
        }
    }
}

/// One line of `revoked.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The serial, canonical lower-case hex (see [`parse_serial`]).
    pub serial: String,
    /// Why.
    pub reason: Reason,
    /// When, RFC 3339 in UTC, whole seconds.
    pub time: String,
}

/// What [`revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    /// The revocation recorded.
    pub revocation: Revocation,
    /// The role and name from the register, when the CA keeps one.
    pub holder: Option<(String, String)>,
}

/// A serial number as typed: hex digits, optionally separated by colons
/// (as `openssl x509 -text` prints it), any case, with or without leading
/// zeros. Returns the canonical form that hedui prints and the audit log
/// holds: the bytes of the DER integer in lower-case hex, with exactly the
/// leading zero byte that DER needs when the first bit is set.
pub fn parse_serial(s: &str) -> Result<String, PkiError> {
    let digits: String = s.trim().chars().filter(|c| *c != ':').collect();
    if digits.is_empty() {
        return Err(PkiError::Invalid("serial: must not be empty".to_owned()));
    }
    if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(PkiError::Invalid(format!(
            "serial: {s:?} is not hexadecimal (such as 3f9a0c… as `hedui pki issue` prints it)"
        )));
    }
    if digits.len() > 42 {
        return Err(PkiError::Invalid(format!(
            "serial: {s:?} is longer than a certificate serial (at most 20 bytes)"
        )));
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits
    };
    let bytes =
        hex::decode(padded.to_ascii_lowercase()).map_err(|e| PkiError::Invalid(format!("serial: {s:?}: {e}")))?;
    let first = bytes.iter().position(|b| *b != 0);
    let Some(first) = first else {
        return Err(PkiError::Invalid("serial: zero is not a certificate serial".to_owned()));
    };
    let mut canonical = bytes[first..].to_vec();
    if canonical[0] & 0x80 != 0 {
        canonical.insert(0, 0);
    }
    Ok(hex::encode(canonical))
}

/// Creates an empty register of issued certificates in a new CA's
/// directory.
pub(crate) fn create_register(ca_dir: &Path) -> Result<(), PkiError> {
    let path = ca_dir.join(ISSUED_FILE);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|source| PkiError::Io {
            path: path.clone(),
            source,
        })?;
    file.write_all(ISSUED_HEADER.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| PkiError::Io { path, source })
}

/// Appends an issued certificate to the CA's register, if the CA keeps one.
pub(crate) fn record_issued(
    ca_dir: &Path,
    serial: &str,
    role: &str,
    name: &str,
    not_after: &str,
) -> Result<(), PkiError> {
    let path = ca_dir.join(ISSUED_FILE);
    if !path.exists() {
        return Ok(());
    }
    append_line(&path, &format!("{serial}\t{role}\t{name}\t{not_after}\n"))
}

fn append_line(path: &Path, line: &str) -> Result<(), PkiError> {
    let io = |source| PkiError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(io)?;
    // One write of one line: a crash leaves the line whole or absent, and
    // a half line is caught by the validation when the file is next read.
    file.write_all(line.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// One line of the register: serial, role, name.
type Registered = (String, String, String);

/// The register of `ca_dir`, or `None` when the CA keeps no register.
fn read_register(ca_dir: &Path) -> Result<Option<Vec<Registered>>, PkiError> {
    let path = ca_dir.join(ISSUED_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(PkiError::Io { path, source }),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 4 {
            return Err(PkiError::BadCa {
                path,
                reason: format!("line {}: expected 4 tab-separated fields", i + 1),
            });
        }
        out.push((fields[0].to_owned(), fields[1].to_owned(), fields[2].to_owned()));
    }
    Ok(Some(out))
}

/// Reads and checks `revoked.tsv` of `ca_dir`; a missing file is an empty
/// list. Every line must have a canonical serial, a known reason and an
/// RFC 3339 time, and no serial may appear twice.
pub fn read_revocations(ca_dir: &Path) -> Result<Vec<Revocation>, PkiError> {
    let path = ca_dir.join(REVOKED_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(PkiError::Io { path, source }),
    };
    let mut out: Vec<Revocation> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |reason: String| PkiError::BadCa {
            path: path.clone(),
            reason: format!("line {}: {reason}", i + 1),
        };
        let fields: Vec<&str> = line.split('\t').collect();
        let [serial, reason, time] = fields[..] else {
            return Err(bad("expected 3 tab-separated fields: serial, reason, time".to_owned()));
        };
        let canonical = parse_serial(serial).map_err(|e| bad(e.to_string()))?;
        if canonical != serial {
            return Err(bad(format!(
                "serial: {serial:?} is not in canonical form {canonical:?}"
            )));
        }
        let reason = Reason::parse(reason).map_err(|e| bad(e.to_string()))?;
        chrono::DateTime::parse_from_rfc3339(time).map_err(|e| bad(format!("time: {time:?}: {e}")))?;
        if out.iter().any(|r| r.serial == serial) {
            return Err(bad(format!("serial {serial} is listed twice")));
        }
        out.push(Revocation {
            serial: serial.to_owned(),
            reason,
            time: time.to_owned(),
        });
    }
    Ok(out)
}

/// Records the revocation of `serial` for `reason` in `ca_dir/revoked.tsv`.
///
/// Refuses a serial that is already revoked, and, when the CA keeps a
/// register of what it issued, a serial that is not in it. The revocation
/// reaches hubs and adapters only with the next [`write_crl`].
pub fn revoke(ca_dir: &Path, serial: &str, reason: Reason) -> Result<Revoked, PkiError> {
    // The CA must be there and whole: a revocation list for a directory
    // without a CA could never be signed.
    Ca::load(ca_dir)?;
    let serial = parse_serial(serial)?;
    let existing = read_revocations(ca_dir)?;
    if let Some(r) = existing.iter().find(|r| r.serial == serial) {
        return Err(PkiError::Invalid(format!(
            "serial: {serial} is already revoked ({}, {})",
            r.reason.as_str(),
            r.time
        )));
    }
    let holder = match read_register(ca_dir)? {
        Some(register) => {
            let Some((_, role, name)) = register.into_iter().find(|(s, _, _)| *s == serial) else {
                return Err(PkiError::Invalid(format!(
                    "serial: {serial} was not issued by the CA in {} (not in its {ISSUED_FILE})",
                    ca_dir.display()
                )));
            };
            Some((role, name))
        }
        None => None,
    };
    let time = crate::identity::rfc3339(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    )
    .unwrap_or_default();
    let path = ca_dir.join(REVOKED_FILE);
    if !path.exists() {
        append_line(&path, REVOKED_HEADER)?;
    }
    append_line(&path, &format!("{serial}\t{}\t{time}\n", reason.as_str()))?;
    Ok(Revoked {
        revocation: Revocation { serial, reason, time },
        holder,
    })
}

/// What [`write_crl`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlWritten {
    /// The file.
    pub path: PathBuf,
    /// How many certificates it lists.
    pub revoked: usize,
    /// Its next update, RFC 3339 in UTC: publish a new list before then.
    pub next_update: String,
}

/// Signs the revocations of `ca_dir` with its CA into a PEM CRL valid for
/// `valid_days` days, and writes it to `out` (atomically, so a process
/// reloading it never reads half a list). The CRL number is the Unix time
/// of signing, so later lists have larger numbers.
pub fn write_crl(ca_dir: &Path, valid_days: u32, out: &Path) -> Result<CrlWritten, PkiError> {
    if valid_days == 0 {
        return Err(PkiError::Invalid("days: must be at least 1".to_owned()));
    }
    let now = SystemTime::now();
    write_crl_between(
        ca_dir,
        now,
        now + Duration::from_secs(u64::from(valid_days) * 86_400),
        out,
    )
}

/// Like [`write_crl`] with explicit dates, so that tests can make a list
/// that has already expired.
pub fn write_crl_between(
    ca_dir: &Path,
    this_update: SystemTime,
    next_update: SystemTime,
    out: &Path,
) -> Result<CrlWritten, PkiError> {
    let ca = Ca::load(ca_dir)?;
    let revocations = read_revocations(ca_dir)?;
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let to_offset = |secs: u64, field: &str| {
        time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
            .map_err(|_| PkiError::Invalid(format!("{field}: date out of range")))
    };
    let unix = secs(this_update);
    let next_unix = secs(next_update);
    if next_unix <= unix {
        return Err(PkiError::Invalid(
            "days: the next update must be later than now".to_owned(),
        ));
    }
    let this_update = to_offset(unix, "days")?;
    let next_update = to_offset(next_unix, "days")?;
    let mut revoked_certs = Vec::with_capacity(revocations.len());
    for r in &revocations {
        let bytes = hex::decode(&r.serial).map_err(|e| PkiError::Invalid(format!("serial: {e}")))?;
        let at = chrono::DateTime::parse_from_rfc3339(&r.time)
            .map_err(|e| PkiError::Invalid(format!("time: {e}")))?
            .timestamp();
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&bytes),
            revocation_time: to_offset(u64::try_from(at).unwrap_or(0), "time")?,
            reason_code: Some(r.reason.rcgen()),
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from(unix),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let pem = ca.sign_crl(&params)?;
    crate::pki::replace_public_file(out, pem.as_bytes())?;
    Ok(CrlWritten {
        path: out.to_owned(),
        revoked: revocations.len(),
        next_update: crate::identity::rfc3339(i64::try_from(next_unix).unwrap_or(i64::MAX)).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_read_as_numbers() {
        assert_eq!(parse_serial("3F:9A").unwrap(), "3f9a");
        assert_eq!(parse_serial("0003f9a").unwrap(), "3f9a");
        assert_eq!(parse_serial("8a01").unwrap(), "008a01");
        assert_eq!(parse_serial("008A01").unwrap(), "008a01");
        for bad in ["", "xyz", "12-34", "00", &"1".repeat(43)] {
            assert!(
                parse_serial(bad).unwrap_err().to_string().starts_with("serial:"),
                "{bad}"
            );
        }
    }

    #[test]
    fn reasons_are_the_rfc_names() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()).unwrap(), r);
        }
        let err = Reason::parse("lost").unwrap_err().to_string();
        assert!(err.starts_with("reason:") && err.contains("keyCompromise"), "{err}");
    }
}
