//! Why a connection to a server failed, read from an error's source chain,
//! so that a command line can say what happened in words a person can act
//! on instead of printing `transport error`.

use std::error::Error as StdError;
use std::io;

use rustls::{AlertDescription, CertificateError};

use crate::{Role, TlsError};

/// What went wrong on the way to a server. The edge turns it into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Nothing listens at the address: the connection was refused.
    Refused,
    /// No answer within the connect timeout.
    TimedOut,
    /// The host name could not be resolved.
    Unresolved,
    /// The server's certificate does not chain to our CA file.
    UnknownIssuer,
    /// The server's certificate does not name the host we dialled.
    WrongName,
    /// The server's certificate has expired (or is not valid yet).
    Expired,
    /// The server's certificate is on our revocation list.
    Revoked,
    /// Another problem with the server's certificate.
    BadServerCertificate(String),
    /// The server refused our certificate during the handshake (a TLS
    /// alert from the server): the server itself answered.
    OurCertificateRefused(String),
    /// The server is a hedui party, but not the role expected.
    WrongRole {
        /// The role asked for.
        expected: Role,
        /// The role in the server's certificate.
        presented: Role,
    },
    /// The server's certificate carries no hedui identity.
    NoIdentity(String),
    /// The connection broke after it was made (reset, closed).
    Broken(String),
}

/// The first [`ConnectFailure`] found in the source chain of `err`, or
/// `None` when the chain holds nothing recognised.
pub fn connect_failure(err: &(dyn StdError + 'static)) -> Option<ConnectFailure> {
    // A wrapper (an `io::Error` of kind Other, say) may stand before the
    // real cause: a specific finding deeper in the chain wins over a
    // generic one nearer the top.
    let mut generic = None;
    let mut next: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = next {
        match one(e) {
            Some(ConnectFailure::Broken(why)) => {
                generic.get_or_insert(ConnectFailure::Broken(why));
            }
            Some(f) => return Some(f),
            None => {}
        }
        next = e.source();
    }
    generic
}

fn one(e: &(dyn StdError + 'static)) -> Option<ConnectFailure> {
    if let Some(t) = e.downcast_ref::<TlsError>() {
        return match t {
            TlsError::Connect { source, .. } => Some(io_failure(source)),
            TlsError::Handshake { source, .. } => Some(
                source
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                    .map_or_else(|| io_failure(source), rustls_failure),
            ),
            TlsError::RoleMismatch {
                expected, presented, ..
            } => Some(ConnectFailure::WrongRole {
                expected: *expected,
                presented: *presented,
            }),
            TlsError::ServerIdentity { source, .. } => Some(ConnectFailure::NoIdentity(source.to_string())),
            _ => None,
        };
    }
    if let Some(r) = e.downcast_ref::<rustls::Error>() {
        return Some(rustls_failure(r));
    }
    if let Some(io) = e.downcast_ref::<io::Error>() {
        // `io::Error::source` skips the error it wraps: look inside.
        if let Some(inner) = io.get_ref() {
            match connect_failure(inner) {
                Some(ConnectFailure::Broken(_)) | None => {}
                Some(f) => return Some(f),
            }
        }
        return Some(io_failure(io));
    }
    None
}

fn io_failure(e: &io::Error) -> ConnectFailure {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
        io::ErrorKind::TimedOut => ConnectFailure::TimedOut,
        // The resolver reports an unknown name as an uncategorised error
        // whose text says so.
        _ if e.to_string().contains("failed to lookup address")
            || e.to_string().contains("Name or service not known") =>
        {
            ConnectFailure::Unresolved
        }
        _ => ConnectFailure::Broken(e.to_string()),
    }
}

fn rustls_failure(e: &rustls::Error) -> ConnectFailure {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => ConnectFailure::UnknownIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                ConnectFailure::WrongName
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => ConnectFailure::Expired,
            CertificateError::Revoked => ConnectFailure::Revoked,
            other => ConnectFailure::BadServerCertificate(format!("{other:?}")),
        },
        rustls::Error::AlertReceived(alert) => ConnectFailure::OurCertificateRefused(alert_words(*alert)),
        other => ConnectFailure::Broken(other.to_string()),
    }
}

fn alert_words(a: AlertDescription) -> String {
    match a {
        AlertDescription::UnknownCA => "our certificate is not signed by the CA it trusts".into(),
        AlertDescription::CertificateExpired => "our certificate has expired".into(),
        AlertDescription::CertificateRevoked => "our certificate is revoked".into(),
        AlertDescription::CertificateRequired => "it requires a certificate (--cert/--key)".into(),
        AlertDescription::BadCertificate | AlertDescription::UnsupportedCertificate => {
            "it does not accept our certificate".into()
        }
        AlertDescription::AccessDenied => "access denied".into(),
        other => format!("TLS alert {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_are_read_to_the_cause() {
        let refused = TlsError::Connect {
            addr: "127.0.0.1:9".into(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(connect_failure(&refused), Some(ConnectFailure::Refused));
        let unknown = TlsError::Handshake {
            addr: "127.0.0.1:9".into(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            ),
        };
        assert_eq!(connect_failure(&unknown), Some(ConnectFailure::UnknownIssuer));
        let wrapped = io::Error::other(unknown);
        assert_eq!(connect_failure(&wrapped), Some(ConnectFailure::UnknownIssuer));
        let alert = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::UnknownCA),
        );
        assert!(matches!(
            connect_failure(&alert),
            Some(ConnectFailure::OurCertificateRefused(w)) if w.contains("not signed")
        ));
        assert_eq!(connect_failure(&std::fmt::Error), None);
    }
}
