//! Mutual TLS for hedui: every connection between a caseworker's client,
//! the hub and the departments' adapters is authenticated on both sides by
//! a certificate from the county's own CA, and each certificate says which
//! role its holder has.
//!
//! # Identity in a certificate
//!
//! A hedui certificate carries exactly one URI subject alternative name
//!
//! ```text
//! urn:hedui:<role>:<name>
//! ```
//!
//! for example `urn:hedui:adapter:tax:dejiang-tax-01` or
//! `urn:hedui:caseworker:zhang.san`. The role is `caseworker`, `auditor`,
//! `admin`, `hub` or `adapter:<department slug>`; the name is 1 to 64
//! characters of `[A-Za-z0-9._@-]`, so the last `:` always separates the two.
//! The subject also has `CN = <name>` and `OU = <role>`, but only for people
//! reading the certificate with `openssl x509`: authorization reads the URI
//! alone ([`identity_from_cert`]). A certificate with no hedui URI or more
//! than one is refused rather than guessed at.
//!
//! A URI SAN was chosen over the subject fields or a private extension
//! because it is what SPIFFE and service meshes use for workload identity,
//! every tool displays it, webpki leaves it alone during verification, and it
//! is unambiguous where a subject can hold several OUs.
//!
//! # PKI
//!
//! [`pki`] makes one self-signed ECDSA P-256 CA per county and issues leaf
//! certificates that are good for both serverAuth and clientAuth, because
//! the hub is a server to caseworkers and a client of adapters. Server roles
//! also get DNS and IP names so that clients can check the host they dialled.
//!
//! # Serving and connecting
//!
//! [`ServerTls`] and [`ClientTls`] hold rustls configurations (TLS 1.3, ALPN
//! `h2`, ring as the only crypto provider) and reload them from disk when a
//! file changes, so a renewed certificate or a new CA takes effect for the
//! next connection without a restart; existing connections keep the
//! certificates they were made with. [`incoming`] turns a `TcpListener`
//! into verified connections for tonic, and [`peer`] gives a service the
//! caller's [`PeerIdentity`]. [`channel`] makes a tonic `Channel` that can
//! also insist on the server's role.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use hedui_proto::v1::Department;
//! use hedui_tls::{ClientTls, Role, ServerTls, TlsFiles, channel, incoming};
//!
//! # async fn example(routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! let files = |name: &str| TlsFiles {
//!     ca: "pki/ca.crt".into(),
//!     cert: format!("pki/{name}.crt").into(),
//!     key: format!("pki/{name}.key").into(),
//!     // The county's revocation list, from `hedui pki crl`.
//!     crl: Some("pki/ca.crl".into()),
//! };
//!
//! // The tax department's adapter serves over mutual TLS; its handlers read
//! // the caller with `hedui_tls::peer(&request)`.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7401").await?;
//! let tls = ServerTls::load(files("dejiang-tax-01"))?;
//! tokio::spawn(
//!     tonic::transport::Server::builder()
//!         .add_routes(routes)
//!         .serve_with_incoming(incoming(listener, tls)),
//! );
//!
//! // The hub connects, insisting that the server is the tax adapter.
//! let tax = channel(
//!     "https://127.0.0.1:7401",
//!     ClientTls::load(files("hub-01"))?,
//!     Some(Role::Adapter(Department::Tax)),
//!     Duration::from_secs(3),
//! )?;
//! # let _ = tax;
//! # Ok(())
//! # }
//! ```
//!
//! # Revocation
//!
//! [`revocation`] keeps the CA directory's register of issued certificates
//! and its revocations, and signs them into a PEM revocation list
//! (`hedui pki revoke`, `hedui pki crl`). With [`TlsFiles::crl`] set, servers
//! refuse revoked clients and clients refuse revoked servers at the
//! handshake, and the list is reloaded on change like the certificates. A
//! list that is unreadable, not signed by the CA or expired stops a start and
//! is ignored (with an error logged) on a reload, keeping the last good one.
//! Leaf certificates are short-lived as well: 90 days for people and a year
//! for services by default ([`pki::default_days`]).

#![warn(missing_docs)]

mod client;
mod config;
mod expiry;
mod failure;
mod identity;
pub mod pki;
/// The CA's register of issued and revoked certificates and its CRL; part
/// of [`pki`], named here as well because servers and tests load CRLs.
pub use pki::revocation;
mod server;

pub use client::{channel, channel_from_endpoint, probe};
pub use config::{ClientTls, RELOAD_CHECK_INTERVAL, ServerTls, TlsError, TlsFiles, crypto_provider};
pub use expiry::{EXPIRY_CHECK_INTERVAL, EXPIRY_WARNING, check_expiry, seconds_until_expiry, watch_expiry};
pub use failure::{ConnectFailure, connect_failure};
pub use identity::{
    IdentityError, MAX_NAME_LEN, PeerIdentity, Role, URI_PREFIX, check_name, identity_from_cert, identity_uri,
    parse_identity_uri,
};
pub use server::{CertificateId, HANDSHAKE_TIMEOUT, PeerInfo, Refusal, TlsConn, incoming, incoming_reporting, peer};
