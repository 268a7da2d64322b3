//! How a CLI command reaches the hub: the connection flags, mutual TLS, the
//! output format, and the words for a failure, shared by every client
//! subcommand.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use hedui_proto::v1::verification_service_client::VerificationServiceClient;
use tonic::transport::Channel;

/// Output format of client commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Readable text (default).
    #[value(alias = "text")]
    Human,
    /// proto3 JSON, for scripts: an object, or an array for a list.
    Json,
    /// JSON Lines: one compact object per line (each item of a list).
    Jsonl,
}

/// A certificate, its key and the county CA, for mutual TLS.
#[derive(Debug, Args)]
pub struct TlsArgs {
    /// The county CA certificate (made by `hedui pki init`).
    #[arg(long, env = "HEDUI_CA")]
    pub ca: Option<PathBuf>,
    /// This party's certificate (made by `hedui pki issue`).
    #[arg(long, env = "HEDUI_CERT")]
    pub cert: Option<PathBuf>,
    /// This party's private key.
    #[arg(long, env = "HEDUI_KEY")]
    pub key: Option<PathBuf>,
    /// The county CA's revocation list (PEM, written by `hedui pki crl`);
    /// peers whose certificates it names are refused. Reloaded when it
    /// changes. Without it, revocation is not checked.
    #[arg(long, env = "HEDUI_CRL")]
    pub crl: Option<PathBuf>,
}

impl TlsArgs {
    /// The three files, or an error naming the missing flag.
    pub fn files(&self) -> anyhow::Result<hedui_tls::TlsFiles> {
        let need = |p: &Option<PathBuf>, flag: &str, env: &str| {
            p.clone()
                .ok_or_else(|| anyhow!("--{flag} (or {env}) is required for mutual TLS"))
        };
        Ok(hedui_tls::TlsFiles {
            ca: need(&self.ca, "ca", "HEDUI_CA")?,
            cert: need(&self.cert, "cert", "HEDUI_CERT")?,
            key: need(&self.key, "key", "HEDUI_KEY")?,
            crl: self.crl.clone(),
        })
    }
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// The hub's address. `https://` uses mutual TLS with --ca/--cert/--key;
    /// `http://` only reaches a hub started with --insecure-dev.
    #[arg(long, env = "HEDUI_HUB", default_value = "https://127.0.0.1:7300")]
    pub hub: String,
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Output format: human (or text), json (proto3 JSON, camelCase; a
    /// list is an array) or jsonl (one object per line).
    #[arg(long, value_enum, default_value = "human")]
    pub output: Output,
}

pub async fn connect(client: &ClientArgs) -> anyhow::Result<VerificationServiceClient<Channel>> {
    let channel = channel_to_hub(&client.hub, &client.tls).await?;
    Ok(VerificationServiceClient::new(channel).max_decoding_message_size(16 * 1024 * 1024))
}

/// A connected channel to the hub, over mutual TLS for `https://` addresses.
pub async fn channel_to_hub(hub: &str, tls: &TlsArgs) -> anyhow::Result<Channel> {
    // An address without a scheme (`hub.dejiang:7300`) means mutual TLS.
    let with_scheme = if hub.contains("://") {
        hub.to_owned()
    } else {
        format!("https://{hub}")
    };
    let hub = with_scheme.as_str();
    if hub.starts_with("https://") {
        let files = tls.files()?;
        let ca = files.ca.clone();
        let cert = files.cert.clone();
        // A connection failure may show only at the first call (the channel
        // connects lazily): `explain` names the hub and files then.
        let _ = HUB.set(Hub {
            address: hub.to_owned(),
            files: Some((ca.clone(), cert.clone())),
        });
        let tls = hedui_tls::ClientTls::load(files)?;
        // Connect once now, so an unreachable hub, a certificate from
        // another CA or a refusal of ours is reported as such, by name.
        hedui_tls::probe(hub, &tls, Some(hedui_tls::Role::Hub), CONNECT_TIMEOUT)
            .await
            .map_err(|e| cannot_connect(hub, Some((&ca, &cert)), &e))?;
        Ok(hedui_tls::channel(
            hub,
            tls,
            Some(hedui_tls::Role::Hub),
            CONNECT_TIMEOUT,
        )?)
    } else {
        let _ = HUB.set(Hub {
            address: hub.to_owned(),
            files: None,
        });
        tonic::transport::Endpoint::from_shared(hub.to_owned())
            .map_err(|e| anyhow!("--hub {hub:?}: {e}"))?
            .connect_timeout(CONNECT_TIMEOUT)
            .connect()
            .await
            .map_err(|e| cannot_connect(hub, None, &e))
    }
}

/// The hub this process talks to (a command talks to one), for the words
/// of a connection failure reported by [`explain`].
struct Hub {
    address: String,
    /// The CA and certificate files of a TLS connection.
    files: Option<(PathBuf, PathBuf)>,
}

static HUB: std::sync::OnceLock<Hub> = std::sync::OnceLock::new();

/// How long a client waits for the hub to accept a connection.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Says why the hub at `hub` could not be reached, from the cause at the end
/// of the error's chain; `files` are the CA and certificate files of a TLS
/// connection, to name them.
fn cannot_connect(
    hub: &str,
    files: Option<(&std::path::Path, &std::path::Path)>,
    err: &(dyn std::error::Error + 'static),
) -> anyhow::Error {
    match hedui_tls::connect_failure(err) {
        Some(f) => anyhow!("{}", failure_words(Some(hub), files, &f)),
        None => anyhow!("cannot connect to the hub at {hub}: {}", chain(err)),
    }
}

/// An error and its causes on one line: `a: b: c`, without repeats.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Words for a connection failure. `hub` is the address when known;
/// `files` the CA and certificate files when known.
fn failure_words(
    hub: Option<&str>,
    files: Option<(&std::path::Path, &std::path::Path)>,
    f: &hedui_tls::ConnectFailure,
) -> String {
    use hedui_tls::ConnectFailure as F;
    let at = match hub {
        Some(h) => format!("cannot connect to the hub at {h}"),
        None => "the connection to the hub failed".to_owned(),
    };
    let ca = files.map_or_else(|| "--ca".to_owned(), |(ca, _)| ca.display().to_string());
    let cert = files.map_or_else(|| "--cert".to_owned(), |(_, cert)| cert.display().to_string());
    match f {
        F::Refused => format!("{at}: connection refused (is `hedui hub` running?)"),
        F::TimedOut => format!(
            "{at}: no answer within {} s (check the address, and that no firewall drops the port)",
            CONNECT_TIMEOUT.as_secs()
        ),
        F::Unresolved => format!("{at}: the host name cannot be resolved (check the address)"),
        F::UnknownIssuer => format!(
            "{at}: the hub's certificate is not signed by the CA in {ca} (is it the county's CA, the one the hub's certificate was issued by?)"
        ),
        F::WrongName => format!(
            "{at}: the hub's certificate is not issued for this host name; use a name it was issued for, or reissue it with `hedui pki issue --role hub --host NAME`"
        ),
        F::Expired => format!(
            "{at}: the hub's certificate has expired or is not valid yet (check this machine's clock, or renew the certificate)"
        ),
        F::Revoked => format!(
            "{at}: the hub's certificate is revoked (it is on the revocation list given with --crl); the hub must be given a new certificate"
        ),
        F::BadServerCertificate(why) => format!("{at}: the hub's certificate is not usable: {why}"),
        F::OurCertificateRefused(why) => format!("the hub refused the connection: {why} (certificate {cert})"),
        F::WrongRole { presented, .. } => {
            format!("{at}: the server there is not a hub; its certificate is for {presented}")
        }
        F::NoIdentity(why) => format!("{at}: the server there is not a hedui hub: {why}"),
        F::Broken(why) => format!("{at}: {why}"),
    }
}

/// Turns a gRPC error into a message a caseworker can act on. Only a status
/// the hub itself sent is "the hub refused"; one made on this side (the
/// connection failed or broke) says what happened to the connection.
pub fn explain(status: tonic::Status) -> anyhow::Error {
    if let Some(source) = std::error::Error::source(&status) {
        let hub = HUB.get();
        let address = hub.map(|h| h.address.as_str());
        let files = hub
            .and_then(|h| h.files.as_ref())
            .map(|(ca, cert)| (ca.as_path(), cert.as_path()));
        return match hedui_tls::connect_failure(source) {
            Some(f) => anyhow!("{}", failure_words(address, files, &f)),
            None => anyhow!(
                "the connection to the hub{} failed: {}",
                address.map(|a| format!(" at {a}")).unwrap_or_default(),
                chain(source)
            ),
        };
    }
    if let Some(erased_at) = hedui_proto::status::retention_expired(&status) {
        return anyhow!(
            "retention expired: {} (erased {erased_at})",
            status.message().split(';').next().unwrap_or("")
        );
    }
    let preconditions = hedui_proto::status::precondition_violations(&status);
    if !preconditions.is_empty() {
        let lines: Vec<String> = preconditions.iter().map(|(s, d)| format!("  {s}: {d}")).collect();
        return anyhow!(
            "the hub refused: {}:\n{}",
            status.message().split(';').next().unwrap_or(""),
            lines.join("\n")
        );
    }
    let violations = hedui_proto::status::field_violations(&status);
    if violations.is_empty() {
        return anyhow!("the hub refused: {} ({})", status.message(), code_words(status.code()));
    }
    let lines: Vec<String> = violations.iter().map(|(f, d)| format!("  {f}: {d}")).collect();
    anyhow!("the hub refused the request as invalid:\n{}", lines.join("\n"))
}

/// What a gRPC status code means, in words.
fn code_words(code: tonic::Code) -> &'static str {
    use tonic::Code as C;
    match code {
        C::Ok => "ok",
        C::Cancelled => "cancelled",
        C::Unknown => "unknown error",
        C::InvalidArgument => "invalid argument",
        C::DeadlineExceeded => "took too long",
        C::NotFound => "not found",
        C::AlreadyExists => "already exists",
        C::PermissionDenied => "not allowed for this certificate's role",
        C::ResourceExhausted => "too many requests; try again later",
        C::FailedPrecondition => "not possible in the current state",
        C::Aborted => "aborted",
        C::OutOfRange => "out of range",
        C::Unimplemented => "not supported by this hub",
        C::Internal => "internal error on the hub",
        C::Unavailable => "unavailable; try again later",
        C::DataLoss => "data loss",
        C::Unauthenticated => "no valid certificate",
    }
}
