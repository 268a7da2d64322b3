//! Roles and the identity a certificate carries.
//!
//! The one authoritative place is a URI subject alternative name
//! `urn:hedui:<role>:<name>`; see the crate documentation for the full
//! encoding and why it was chosen.

use std::fmt;

use hedui_domain::department::{parse_slug, slug};
use hedui_proto::v1::Department;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The prefix of every hedui identity URI.
pub const URI_PREFIX: &str = "urn:hedui:";

/// The longest name a certificate may carry, in characters.
pub const MAX_NAME_LEN: usize = 64;

/// What a certificate's holder is allowed to be in hedui.
///
/// Authorization decisions are taken on the role alone; the name is for the
/// audit log and for people reading a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A civil-affairs caseworker who submits verifications.
    Caseworker,
    /// A reviewer who reads records and the audit log but submits nothing.
    Auditor,
    /// An operator of the hub.
    Admin,
    /// The hub itself, as a server to caseworkers and as a client of adapters.
    Hub,
    /// The adapter of one partner department.
    Adapter(Department),
}

impl Role {
    /// Parses the form written by [`Role::as_string`], such as `caseworker` or
    /// `adapter:tax`. Errors name the accepted values.
    pub fn parse(s: &str) -> Result<Role, String> {
        match s {
            "caseworker" => Ok(Role::Caseworker),
            "auditor" => Ok(Role::Auditor),
            "admin" => Ok(Role::Admin),
            "hub" => Ok(Role::Hub),
            other => match other.strip_prefix("adapter:") {
                Some(dept) => parse_slug(dept).map(Role::Adapter),
                None => Err(format!(
                    "unknown role {other:?}; expected caseworker, auditor, admin, hub or adapter:<department>"
                )),
            },
        }
    }

    /// The role as it is written in certificates, configuration and logs,
    /// for example `caseworker` or `adapter:tax`.
    pub fn as_string(&self) -> String {
        self.to_string()
    }

    /// Whether certificates of this role are used to serve, so that they need
    /// DNS and IP names a client can verify.
    pub fn is_server(&self) -> bool {
        matches!(self, Role::Hub | Role::Adapter(_))
    }

    /// Rejects the one value the type can hold that no certificate may carry:
    /// an adapter of the unspecified department.
    pub(crate) fn check_issuable(&self) -> Result<(), String> {
        match self {
            Role::Adapter(Department::Unspecified) => Err("role: an adapter must name a department".to_owned()),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Caseworker => f.write_str("caseworker"),
            Role::Auditor => f.write_str("auditor"),
            Role::Admin => f.write_str("admin"),
            Role::Hub => f.write_str("hub"),
            Role::Adapter(d) => write!(f, "adapter:{}", slug(*d)),
        }
    }
}

/// Who is at the other end of a verified connection, as its certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// What the peer may do.
    pub role: Role,
    /// The holder's name: a login such as `zhang.san` or a host such as
    /// `dejiang-tax-01`.
    pub name: String,
    /// The certificate's serial number in lower-case hex, for the audit log
    /// and for revocation lists.
    pub serial: String,
    /// When the certificate expires, RFC 3339 in UTC.
    pub not_after: String,
}

/// Why a certificate does not carry a usable hedui identity.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    /// The bytes are not one DER-encoded X.509 certificate.
    #[error("certificate: not a valid DER X.509 certificate: {0}")]
    NotACertificate(String),
    /// The subject-alternative-name extension could not be read.
    #[error("certificate: unreadable subject alternative names: {0}")]
    BadExtension(String),
    /// No `urn:hedui:` URI is present.
    #[error("certificate: no {URI_PREFIX} URI subject alternative name")]
    Missing,
    /// More than one `urn:hedui:` URI is present, so the identity is ambiguous.
    #[error("certificate: {0} {URI_PREFIX} URI subject alternative names, expected exactly one")]
    Ambiguous(usize),
    /// The `urn:hedui:` URI is malformed.
    #[error("certificate: malformed identity URI: {0}")]
    Malformed(String),
    /// The validity period could not be expressed as a date.
    #[error("certificate: expiry date out of range")]
    BadValidity,
}

/// Checks a certificate holder's name: 1 to 64 characters of
/// `[A-Za-z0-9._@-]`. The set leaves out `:` so the name is always the last
/// segment of the identity URI, and everything a shell or a log would need
/// to quote.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("name: must not be empty".to_owned());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!("name: longer than {MAX_NAME_LEN} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-')))
    {
        return Err(format!(
            "name: character {c:?} not allowed; use letters, digits, '.', '_', '@' or '-'"
        ));
    }
    Ok(())
}

/// The identity URI for a role and name, for example
/// `urn:hedui:adapter:tax:dejiang-tax-01`.
pub fn identity_uri(role: &Role, name: &str) -> String {
    format!("{URI_PREFIX}{role}:{name}")
}

/// Parses an identity URI back into its role and name.
pub fn parse_identity_uri(uri: &str) -> Result<(Role, String), String> {
    let rest = uri
        .strip_prefix(URI_PREFIX)
        .ok_or_else(|| format!("does not start with {URI_PREFIX}"))?;
    // Names contain no ':', so the last ':' separates the role, which may
    // itself contain one (`adapter:tax`), from the name.
    let (role, name) = rest
        .rsplit_once(':')
        .ok_or_else(|| "expected <role>:<name> after the prefix".to_owned())?;
    let role = Role::parse(role)?;
    check_name(name)?;
    Ok((role, name.to_owned()))
}

/// Reads the hedui identity from a DER certificate.
///
/// This does not verify the certificate: call it only on a certificate that
/// rustls has already verified against the county CA, such as a peer's
/// certificate after a completed handshake.
pub fn identity_from_cert(der: &[u8]) -> Result<PeerIdentity, IdentityError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| IdentityError::NotACertificate(e.to_string()))?;
    if !rest.is_empty() {
        return Err(IdentityError::NotACertificate(
            "trailing bytes after the certificate".to_owned(),
        ));
    }
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::BadExtension(e.to_string()))?;
    let uris: Vec<&str> = san
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::URI(u) if u.starts_with(URI_PREFIX) => Some(*u),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let uri = match uris.as_slice() {
        [] => return Err(IdentityError::Missing),
        [one] => *one,
        many => return Err(IdentityError::Ambiguous(many.len())),
    };
    let (role, name) = parse_identity_uri(uri).map_err(IdentityError::Malformed)?;
    let not_after = rfc3339(cert.validity().not_after.timestamp()).ok_or(IdentityError::BadValidity)?;
    Ok(PeerIdentity {
        role,
        name,
        serial: hex::encode(cert.raw_serial()),
        not_after,
    })
}

/// Formats seconds since the Unix epoch as RFC 3339 in UTC, to the second.
pub(crate) fn rfc3339(unix_seconds: i64) -> Option<String> {
    chrono::DateTime::from_timestamp(unix_seconds, 0).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        let mut roles = vec![Role::Caseworker, Role::Auditor, Role::Admin, Role::Hub];
        roles.extend(hedui_domain::department::ALL.map(Role::Adapter));
        for r in roles {
            assert_eq!(Role::parse(&r.as_string()), Ok(r));
        }
        assert_eq!(Role::Adapter(Department::Tax).as_string(), "adapter:tax");
        assert!(Role::parse("adapter:police").is_err());
        assert!(Role::parse("adapter:unspecified").is_err());
        assert!(Role::parse("root").unwrap_err().contains("expected caseworker"));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("zhang.san").is_ok());
        assert!(check_name("dejiang-tax-01").is_ok());
        assert!(check_name("a_b@c.d").is_ok());
        assert!(check_name(&"x".repeat(64)).is_ok());
        assert!(check_name(&"x".repeat(65)).is_err());
        assert!(check_name("").is_err());
        assert!(check_name("a:b").is_err());
        assert!(check_name("张三").is_err());
        assert!(check_name("a b").is_err());
    }

    #[test]
    fn uris_round_trip() {
        let tax = Role::Adapter(Department::Tax);
        let uri = identity_uri(&tax, "dejiang-tax-01");
        assert_eq!(uri, "urn:hedui:adapter:tax:dejiang-tax-01");
        assert_eq!(parse_identity_uri(&uri), Ok((tax, "dejiang-tax-01".to_owned())));
        assert_eq!(
            parse_identity_uri("urn:hedui:caseworker:zhang.san"),
            Ok((Role::Caseworker, "zhang.san".to_owned()))
        );
        assert!(parse_identity_uri("urn:hedui:caseworker").is_err());
        assert!(parse_identity_uri("urn:hedui:adapter:tax").is_err());
        assert!(parse_identity_uri("urn:other:hub:x").is_err());
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(matches!(
            identity_from_cert(b"not a certificate"),
            Err(IdentityError::NotACertificate(_))
        ));
    }
}
