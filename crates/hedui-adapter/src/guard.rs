//! What the SDK checks before a source sees a query, and what it writes down.
//!
//! - The hub's grant: signed by a trusted hub key, not expired, for this
//!   department, matching the query, covering every queried person, and not
//!   used before. A query that fails any of these is refused with
//!   `PERMISSION_DENIED`, which the hub records as `REFUSED`.
//! - The department's own query log: one JSON line per query received, with
//!   the request id, purpose, authorization reference, masked ID numbers and
//!   what the adapter did. It is append-only (opened for appending, synced
//!   after every line), so the department can reconcile it with the hub's
//!   audit log by request id.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hedui_proto::v1::{Department, QueryRequest};
use hedui_trust::VerifyingKey;
use hedui_trust::grant::{GrantError, GrantExpectation, ReplayGuard, verify};

use crate::ValidatedQuery;

/// How an adapter decides whether to answer.
#[derive(Clone, Default)]
pub struct AdapterOptions {
    /// Public keys of the hubs whose grants are accepted. Several keys may
    /// be trusted at once, so the hub's key can be rotated without downtime.
    pub trusted_hub_keys: Vec<VerifyingKey>,
    /// Where the department's query log is appended; `None` keeps no log.
    pub query_log: Option<PathBuf>,
    /// The adapter's certificate, key and the county CA. `None` only with
    /// `--insecure-dev`: plaintext, and callers are not identified.
    pub tls: Option<hedui_tls::ServerTls>,
}

impl std::fmt::Debug for AdapterOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterOptions")
            .field("trusted_hub_keys", &self.trusted_hub_keys.len())
            .field("query_log", &self.query_log)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The grant check and the query log of one adapter.
pub struct Guard {
    department: Department,
    trusted: Vec<VerifyingKey>,
    replay: Mutex<ReplayGuard>,
    log: Option<Mutex<std::fs::File>>,
}

impl Guard {
    /// Opens the query log (creating it) and prepares the checks.
    pub fn new(department: Department, options: &AdapterOptions) -> std::io::Result<Self> {
        let log = match &options.query_log {
            Some(p) => Some(Mutex::new(open_log(p)?)),
            None => None,
        };
        Ok(Self {
            department,
            trusted: options.trusted_hub_keys.clone(),
            replay: Mutex::new(ReplayGuard::new()),
            log,
        })
    }

    /// Checks the grant carried by `query`. The error text names no person.
    pub fn check(&self, query: &ValidatedQuery, now_unix_ms: i64) -> Result<(), GrantError> {
        let raw = &query.raw;
        let ids: Vec<String> = query.persons.iter().map(|(_, id)| id.as_str().to_owned()).collect();
        let window = query.window.to_proto();
        let expected = GrantExpectation {
            department: self.department,
            request_id: &raw.request_id,
            purpose: query.purpose,
            id_numbers: &ids,
            income_window: &window,
            authorization_ref: &raw.authorization_ref,
        };
        if raw.grant.is_empty() {
            return Err(GrantError::Missing);
        }
        let grant = verify(&raw.grant, &self.trusted, &expected, now_unix_ms)?;
        self.replay
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .check_and_remember(
                &grant.request_id,
                self.department,
                grant.expires_at_unix_ms,
                now_unix_ms,
            )
    }

    /// Appends one line to the query log. A failure to write is returned so
    /// the adapter can refuse to answer unlogged.
    pub fn record(&self, raw: &QueryRequest, masked_persons: &[String], outcome: &str) -> std::io::Result<()> {
        let Some(log) = &self.log else { return Ok(()) };
        let line = serde_json::json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "department": hedui_domain::department::slug(self.department),
            "request_id": raw.request_id,
            "purpose": raw.purpose,
            "authorization_ref": raw.authorization_ref,
            "persons": masked_persons,
            "outcome": outcome,
        });
        let mut f = log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        writeln!(f, "{line}")?;
        f.sync_data()
    }
}

fn open_log(p: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new().create(true).append(true).open(p)
}
