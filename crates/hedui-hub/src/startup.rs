//! Start-up and shutdown settings and steps that operators tune: waiting
//! for the database, applying migrations or not, the metrics port, and the
//! drain at shutdown.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hedui_store::{Store, StoreError};

/// Operations settings of a hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsOptions {
    /// Apply pending migrations when the hub starts. When false, the hub
    /// refuses a database whose schema is behind and asks for
    /// `hedui migrate`.
    pub migrate_on_start: bool,
    /// How long to keep retrying a database that cannot be reached at
    /// start-up, with exponential backoff, before giving up. Zero tries once.
    pub database_connect_timeout: Duration,
    /// Where to serve Prometheus metrics (plain HTTP, `GET /metrics`);
    /// `None` serves none.
    pub metrics_listen: Option<SocketAddr>,
    /// Where to serve a second, plaintext copy of `grpc.health.v1` and
    /// nothing else, for the kubelet's gRPC probes (which cannot present a
    /// client certificate); `None` serves none.
    pub health_listen: Option<SocketAddr>,
    /// At shutdown, how long the hub reports NOT_SERVING while it still
    /// serves, so load balancers move away before it stops starting work.
    pub drain_delay: Duration,
    /// After the drain delay, how long verifications in flight may take to
    /// finish; those still waiting for a department are then abandoned,
    /// and their `source.query` entries say so.
    pub drain_grace: Duration,
    /// The largest caseworker or auditor request, in bytes: tonic refuses a
    /// bigger message before any handler reads it, and the hub checks the
    /// households of a batch against the same number, so there is one
    /// limit, not a transport limit and a smaller request limit. Between
    /// [`MIN_REQUEST_BYTES`] and [`crate::batch_service::MAX_ADD_BYTES`].
    pub max_request_bytes: usize,
}

impl Default for OpsOptions {
    fn default() -> Self {
        OpsOptions {
            migrate_on_start: true,
            database_connect_timeout: Duration::from_secs(60),
            metrics_listen: None,
            health_listen: None,
            drain_delay: DEFAULT_DRAIN_DELAY,
            drain_grace: DEFAULT_DRAIN_GRACE,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        }
    }
}

/// The default request limit. A 30-member household is about 3 KiB;
/// anything far larger is a mistake or an attack.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 64 * 1024;
/// The smallest request limit a hub accepts: room for the largest valid
/// household (30 members, their authorization) with a margin.
pub const MIN_REQUEST_BYTES: usize = 16 * 1024;

/// The default drain delay: a few load-balancer health checks.
pub const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(5);
/// The default grace for verifications in flight at shutdown: longer than
/// the default department deadline (10 s), so that normally none is
/// abandoned.
pub const DEFAULT_DRAIN_GRACE: Duration = Duration::from_secs(15);

/// First pause between attempts; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const MAX_PAUSE: Duration = Duration::from_secs(8);

/// Why the store could not be opened at start-up.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The database could not be reached for the whole retry budget.
    #[error("gave up on the database {url} after {attempts} attempts over {waited_s} s: {source}")]
    Unreachable {
        /// The URL, password hidden.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Seconds spent.
        waited_s: u64,
        /// The last error.
        source: StoreError,
    },
    /// The store refused (bad URL, schema too new, …): retrying cannot help.
    #[error("cannot open the database {url}: {source}")]
    Refused {
        /// The URL, password hidden.
        url: String,
        /// Why.
        source: StoreError,
    },
    /// The schema is behind and the hub's database role may not change it:
    /// it is (as it should be) a runtime role that owns nothing.
    #[error(
        "the database {url} is at schema version {found}, but this hub needs version {known}, and its role may not migrate ({source}); \
         run `hedui migrate --database <url of the owner role> --grant-runtime <this hub's role>` as the owner, then start the hub again"
    )]
    CannotMigrate {
        /// The URL, password hidden.
        url: String,
        /// Version found.
        found: i64,
        /// Version this binary knows.
        known: i64,
        /// The refusal.
        source: StoreError,
    },
    /// `migrate_on_start = false` and the schema is behind this binary.
    #[error(
        "the database {url} is at schema version {found}, but this hub needs version {known}; run `hedui migrate --database <url>` first (or set migrate_on_start = true)"
    )]
    SchemaBehind {
        /// The URL, password hidden.
        url: String,
        /// Version found.
        found: i64,
        /// Version this binary knows.
        known: i64,
    },
}

/// True when `e` means "could not reach the server", which may pass.
fn is_transient(e: &StoreError) -> bool {
    e.is_unreachable()
}

/// Opens the store at `url`, retrying an unreachable server with exponential
/// backoff for up to `opts.database_connect_timeout`, then migrates (or
/// checks the schema version) as `opts` says. Each failed attempt is logged
/// with the URL's password hidden.
pub async fn open_store(url: &str, opts: &OpsOptions) -> Result<Store, OpenError> {
    let shown = hedui_store::redact_url(url);
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut attempts = 0;
    let store = loop {
        attempts += 1;
        match Store::open_without_migrating(url).await {
            Ok(store) => break store,
            Err(e) if is_transient(&e) && started.elapsed() + pause <= opts.database_connect_timeout => {
                tracing::warn!(
                    attempt = attempts,
                    database = %shown,
                    error = %e,
                    retry_in_ms = pause.as_millis() as u64,
                    "database not reachable; retrying"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
            Err(e) if is_transient(&e) => {
                return Err(OpenError::Unreachable {
                    url: shown,
                    attempts,
                    waited_s: started.elapsed().as_secs(),
                    source: e,
                });
            }
            Err(source) => return Err(OpenError::Refused { url: shown, source }),
        }
    };
    let refused = |source| OpenError::Refused {
        url: shown.clone(),
        source,
    };
    // The version is read first: a hub running as the runtime role, which
    // may read the schema but not change it, starts on a current schema
    // whatever `migrate_on_start` says.
    let found = store.schema_version().await.map_err(refused)?;
    let known = Store::known_schema_version();
    if opts.migrate_on_start && found != known {
        let applied = match store.migrate().await {
            Ok(applied) => applied,
            Err(source) if source.is_permission_denied() => {
                return Err(OpenError::CannotMigrate {
                    url: shown,
                    found,
                    known,
                    source,
                });
            }
            Err(e) => return Err(refused(e)),
        };
        if applied > 0 {
            tracing::info!(applied, "migrations applied at start-up");
        }
    } else if found != known {
        return Err(OpenError::SchemaBehind {
            url: shown,
            found,
            known,
        });
    }
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unreachable_database_is_retried_then_reported_without_the_password() {
        let opts = OpsOptions {
            database_connect_timeout: Duration::from_millis(1600),
            ..OpsOptions::default()
        };
        let err = open_store("postgres://hedui:s3cret@127.0.0.1:1/hedui", &opts)
            .await
            .unwrap_err();
        let text = err.to_string();
        // 500 ms + 1000 ms of pauses fit in the budget: three attempts.
        assert!(matches!(err, OpenError::Unreachable { attempts: 3, .. }), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("postgres://hedui:***@127.0.0.1:1/hedui"), "{text}");
    }

    #[tokio::test]
    async fn a_refusal_is_not_retried() {
        let err = open_store("mysql://h/db", &OpsOptions::default()).await.unwrap_err();
        assert!(matches!(err, OpenError::Refused { .. }), "{err}");
    }

    #[tokio::test]
    async fn without_migrating_an_old_schema_is_refused_with_the_command_to_run() {
        let dir = std::env::temp_dir().join(format!("hedui-startup-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("h.db").display());
        let opts = OpsOptions {
            migrate_on_start: false,
            ..OpsOptions::default()
        };
        let err = open_store(&url, &opts).await.unwrap_err();
        assert!(matches!(err, OpenError::SchemaBehind { found: 0, .. }), "{err}");
        assert!(err.to_string().contains("hedui migrate"), "{err}");
        let store = open_store(
            &url,
            &OpsOptions {
                migrate_on_start: true,
                ..opts.clone()
            },
        )
        .await
        .unwrap();
        store.close().await;
        open_store(&url, &opts).await.unwrap().close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
