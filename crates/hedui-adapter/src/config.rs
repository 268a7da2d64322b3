//! The adapter configuration file: one TOML file per department, naming the
//! backend (`sql` or `snapshot`) and how each category is found.
//!
//! ```toml
//! department = "tax"
//!
//! [sql]
//! url_env = "HEDUI_TAX_DB_URL"        # or url = "postgres://…"
//!
//! [sql.queries.identity]
//! query = "SELECT nsrmc AS name FROM nsr WHERE sfzh = :id_number"
//!
//! [sql.queries.tax_records]
//! query = "SELECT … WHERE sfzh = :id_number AND ssq BETWEEN :from_month AND :to_month"
//! ```
//!
//! An optional `[log]` section says where the adapter keeps its own
//! records (paths relative to the file):
//!
//! ```toml
//! [log]
//! query_log = "/var/lib/hedui/tax-queries.jsonl"     # the query log
//! signing_key = "/etc/hedui/tax-log.key"            # signs its checkpoints
//! grant_store = "/var/lib/hedui/tax-grants.sqlite"   # or "database" (sql backend)
//! checkpoint_seconds = 60
//! ```
//!
//! Three optional keys at the top say what the adapter serves besides its
//! query port, as the hub's do:
//!
//! ```toml
//! health_listen = "0.0.0.0:7411"     # plaintext grpc.health.v1 alone, for probes
//! metrics_listen = "127.0.0.1:9401"  # GET /metrics for Prometheus
//! drain_seconds = 5                  # NOT_SERVING this long after SIGTERM
//! ```
//!
//! [`AdapterConfig::load`] checks everything that can be checked without the
//! database: keys, department, that every category of the department has a
//! query and no unknown one does, each query's parameters, and that each is
//! a single `SELECT`. Relative paths are relative to the file's directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hedui_proto::v1::Department;
use serde::Deserialize;

use crate::mapping;
use crate::statement::{Dialect, Statement};

/// A problem with the configuration; the message names the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    /// The configuration file.
    pub file: String,
    /// What is wrong, naming the key.
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    department: String,
    health_listen: Option<String>,
    metrics_listen: Option<String>,
    drain_seconds: Option<u64>,
    sql: Option<RawSql>,
    snapshot: Option<RawSnapshot>,
    #[serde(default)]
    log: RawLog,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    query_log: Option<PathBuf>,
    signing_key: Option<PathBuf>,
    grant_store: Option<String>,
    checkpoint_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSql {
    url: Option<String>,
    url_env: Option<String>,
    max_connections: Option<u32>,
    #[serde(default)]
    queries: BTreeMap<String, RawQuery>,
}

impl std::fmt::Debug for RawSql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSql")
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("url_env", &self.url_env)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    query: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSnapshot {
    drop_dir: PathBuf,
    store: PathBuf,
    max_age_days: Option<u32>,
    poll_seconds: Option<u64>,
}

/// A loaded and statically checked adapter configuration.
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    /// The file it came from, for messages.
    pub file: PathBuf,
    /// The department.
    pub department: Department,
    /// The backend.
    pub backend: BackendConfig,
    /// The `[log]` section: the adapter's own records.
    pub log: LogConfig,
    /// The listeners beside the query port and the drain.
    pub serve: ServeConfig,
}

/// `health_listen`, `metrics_listen` and `drain_seconds`, at the top of
/// the file. Every key is optional; the command line may override each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeConfig {
    /// A plaintext port serving `grpc.health.v1` alone, for probes; off
    /// when absent.
    pub health_listen: Option<std::net::SocketAddr>,
    /// Plain HTTP `GET /metrics`; off when absent.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Seconds of NOT_SERVING before stopping, once SIGTERM came; default
    /// [`DEFAULT_DRAIN_SECONDS`].
    pub drain_seconds: Option<u64>,
}

/// Default `drain_seconds`, as the hub's.
pub const DEFAULT_DRAIN_SECONDS: u64 = 5;

/// The `[log]` section. Every key is optional; the command line may
/// override each one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogConfig {
    /// The query log (`log.query_log`); default
    /// `hedui-adapter-<department>-queries.jsonl` in the working directory.
    pub query_log: Option<PathBuf>,
    /// The file holding the department's log-signing key
    /// (`ed25519-secret:<hex>`, made by `hedui keygen`).
    pub signing_key: Option<PathBuf>,
    /// Where accepted grants are remembered; default a SQLite file beside
    /// the query log.
    pub grant_store: Option<GrantStoreConfig>,
    /// How often a checkpoint is signed, in seconds; default 60.
    pub checkpoint_seconds: Option<u64>,
}

/// `log.grant_store`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantStoreConfig {
    /// The adapter's own SQLite file.
    File(PathBuf),
    /// The table `hedui_grant_seen` in the department's database (`sql`
    /// backend only).
    Database,
}

/// Which backend, with its settings.
#[derive(Debug, Clone)]
pub enum BackendConfig {
    /// The department's own database.
    Sql(SqlConfig),
    /// CSV exports imported into a local store.
    Snapshot(SnapshotConfig),
}

/// The `[sql]` section.
#[derive(Clone)]
pub struct SqlConfig {
    /// The connection URL. Holds a password: never printed.
    pub url: String,
    /// The SQL dialect, from the URL scheme.
    pub dialect: Dialect,
    /// Largest number of connections the adapter opens.
    pub max_connections: u32,
    /// One statement per category, every category of the department.
    pub queries: Vec<(&'static mapping::Category, Statement)>,
}

impl std::fmt::Debug for SqlConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlConfig")
            .field("url", &"<redacted>")
            .field("dialect", &self.dialect)
            .field("max_connections", &self.max_connections)
            .field("queries", &self.queries.len())
            .finish()
    }
}

/// The `[snapshot]` section.
#[derive(Debug, Clone)]
pub struct SnapshotConfig {
    /// Where exports are dropped.
    pub drop_dir: PathBuf,
    /// The adapter's own SQLite file holding the imported snapshot.
    pub store: PathBuf,
    /// Older data is reported as stale. Default 35 days (a monthly export
    /// with a few days' slack).
    pub max_age_days: u32,
    /// How often the drop directory is checked while serving; 0 turns the
    /// watching off (imports then go through `hedui adapter import`).
    pub poll_seconds: u64,
}

/// Default `max_age_days`.
pub const DEFAULT_MAX_AGE_DAYS: u32 = 35;
/// Default `poll_seconds`.
pub const DEFAULT_POLL_SECONDS: u64 = 60;

impl AdapterConfig {
    /// Reads and checks `path`. Environment variables named by `url_env`
    /// are read here.
    pub fn load(path: &Path) -> Result<AdapterConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, path, |k| std::env::var(k).ok())
    }

    /// Checks the text of a configuration file. `env` looks up environment
    /// variables (a parameter so tests need not touch the process's).
    pub fn parse(text: &str, path: &Path, env: impl Fn(&str) -> Option<String>) -> Result<AdapterConfig, ConfigError> {
        let err = |message: String| ConfigError {
            file: path.display().to_string(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let department =
            hedui_domain::department::parse_slug(&raw.department).map_err(|e| err(format!("department: {e}")))?;
        let base = path.parent().unwrap_or(Path::new(""));
        let backend = match (raw.sql, raw.snapshot) {
            (Some(_), Some(_)) => return Err(err("give either [sql] or [snapshot], not both".into())),
            (None, None) => return Err(err("a [sql] or a [snapshot] section is required".into())),
            (Some(sql), None) => BackendConfig::Sql(sql_config(sql, department, &env).map_err(err)?),
            (None, Some(s)) => {
                if s.max_age_days == Some(0) {
                    return Err(err("snapshot.max_age_days: must be at least 1".into()));
                }
                BackendConfig::Snapshot(SnapshotConfig {
                    drop_dir: base.join(s.drop_dir),
                    store: base.join(s.store),
                    max_age_days: s.max_age_days.unwrap_or(DEFAULT_MAX_AGE_DAYS),
                    poll_seconds: s.poll_seconds.unwrap_or(DEFAULT_POLL_SECONDS),
                })
            }
        };
        let log = log_config(raw.log, base, matches!(backend, BackendConfig::Sql(_))).map_err(err)?;
        let address = |key: &str, v: Option<String>, example: &str| match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(a) => a
                .parse()
                .map(Some)
                .map_err(|e| err(format!("{key}: {a:?} is not an address such as {example}: {e}"))),
        };
        let serve = ServeConfig {
            health_listen: address("health_listen", raw.health_listen, "0.0.0.0:7411")?,
            metrics_listen: address("metrics_listen", raw.metrics_listen, "127.0.0.1:9401")?,
            drain_seconds: raw.drain_seconds,
        };
        if serve.drain_seconds.is_some_and(|s| s > 300) {
            return Err(err("drain_seconds: at most 300".into()));
        }
        Ok(AdapterConfig {
            file: path.to_owned(),
            department,
            backend,
            log,
            serve,
        })
    }

    /// "sql" or "snapshot".
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            BackendConfig::Sql(_) => "sql",
            BackendConfig::Snapshot(_) => "snapshot",
        }
    }
}

/// The grant store and the log-signing key to serve with: the command
/// line's values first, then the `[log]` section, then the defaults (a
/// SQLite file beside the query log; no key). `in_db` is the store in the
/// department's database, opened by the caller when `log.grant_store =
/// "database"`. Reads the key file; the message names the file, never the
/// key.
pub fn resolve_log(
    cli_grant_store: Option<PathBuf>,
    cli_log_key: Option<PathBuf>,
    log: &LogConfig,
    in_db: Option<std::sync::Arc<dyn crate::grants::GrantStore>>,
) -> Result<(crate::GrantStoreOption, Option<hedui_trust::SigningKey>), String> {
    let grants = match (cli_grant_store, in_db, &log.grant_store) {
        (Some(p), _, _) => crate::GrantStoreOption::File(p),
        (None, Some(store), _) => crate::GrantStoreOption::Shared(store),
        (None, None, Some(GrantStoreConfig::File(p))) => crate::GrantStoreOption::File(p.clone()),
        (None, None, Some(GrantStoreConfig::Database)) => {
            return Err("log.grant_store = \"database\": the department's database is not open".into());
        }
        (None, None, None) => crate::GrantStoreOption::BesideQueryLog,
    };
    Ok((grants, load_log_key(cli_log_key.as_deref(), log)?))
}

/// Reads the log-signing key named by `cli` or else by `log.signing_key`;
/// `None` when neither names one. The message names the file, never the
/// key.
pub fn load_log_key(cli: Option<&Path>, log: &LogConfig) -> Result<Option<hedui_trust::SigningKey>, String> {
    let Some(p) = cli.or(log.signing_key.as_deref()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(p).map_err(|e| format!("log signing key {}: {e}", p.display()))?;
    hedui_audit::checkpoint::parse_signing_key(&text)
        .map(Some)
        .map_err(|e| format!("log signing key {}: {e}", p.display()))
}

fn log_config(raw: RawLog, base: &Path, is_sql: bool) -> Result<LogConfig, String> {
    let grant_store = match raw.grant_store.as_deref().map(str::trim) {
        None => None,
        Some("") => return Err("log.grant_store: give a file path, or \"database\" for the sql backend".into()),
        Some("database") if !is_sql => {
            return Err("log.grant_store: \"database\" keeps grants in the department's database and needs the [sql] backend; give a file path".into());
        }
        Some("database") => Some(GrantStoreConfig::Database),
        Some(p) => Some(GrantStoreConfig::File(base.join(p))),
    };
    if raw.checkpoint_seconds == Some(0) {
        return Err("log.checkpoint_seconds: must be at least 1".into());
    }
    Ok(LogConfig {
        query_log: raw.query_log.map(|p| base.join(p)),
        signing_key: raw.signing_key.map(|p| base.join(p)),
        grant_store,
        checkpoint_seconds: raw.checkpoint_seconds,
    })
}

fn sql_config(raw: RawSql, department: Department, env: &impl Fn(&str) -> Option<String>) -> Result<SqlConfig, String> {
    let url = match (raw.url, raw.url_env) {
        (Some(_), Some(_)) => return Err("sql: give either url or url_env, not both".into()),
        (None, None) => return Err("sql: url or url_env is required".into()),
        (Some(u), None) => u,
        (None, Some(var)) => env(&var)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| format!("sql.url_env: the environment variable {var} is not set"))?,
    };
    let dialect = Dialect::of_url(&url).map_err(|e| format!("sql.url: {e}"))?;
    let max_connections = raw.max_connections.unwrap_or(4);
    if !(1..=64).contains(&max_connections) {
        return Err("sql.max_connections: must be 1 to 64".into());
    }
    let wanted = mapping::categories(department);
    for name in raw.queries.keys() {
        if !wanted.iter().any(|c| c.name == name) {
            return Err(format!(
                "sql.queries.{name}: {}",
                mapping::category(department, name).err().unwrap_or_default()
            ));
        }
    }
    let mut queries = Vec::new();
    for c in wanted {
        let Some(q) = raw.queries.get(c.name) else {
            return Err(format!(
                "sql.queries.{}: missing; {} needs a query for every category ({}), with columns {}",
                c.name,
                hedui_domain::department::slug(department),
                mapping::categories(department)
                    .iter()
                    .map(|c| c.name)
                    .collect::<Vec<_>>()
                    .join(", "),
                c.column_list()
            ));
        };
        let stmt = Statement::parse(&q.query, dialect).map_err(|e| format!("sql.queries.{}.query: {e}", c.name))?;
        queries.push((c, stmt));
    }
    Ok(SqlConfig {
        url,
        dialect,
        max_connections,
        queries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = "department = \"tax\"\n[snapshot]\ndrop_dir = \"drop\"\nstore = \"s.sqlite\"\n";

    fn parse(text: &str) -> Result<AdapterConfig, ConfigError> {
        AdapterConfig::parse(text, Path::new("/etc/hedui/tax.toml"), |_| {
            Some("postgres://u:p@h/db".to_owned())
        })
    }

    #[test]
    fn the_log_section_is_optional_and_paths_are_relative_to_the_file() {
        assert_eq!(parse(SNAPSHOT).unwrap().log, LogConfig::default());
        let c = parse(&format!(
            "{SNAPSHOT}[log]\nquery_log = \"q.jsonl\"\nsigning_key = \"/k/log.key\"\ngrant_store = \"g.sqlite\"\ncheckpoint_seconds = 30\n"
        ))
        .unwrap();
        assert_eq!(
            c.log,
            LogConfig {
                query_log: Some("/etc/hedui/q.jsonl".into()),
                signing_key: Some("/k/log.key".into()),
                grant_store: Some(GrantStoreConfig::File("/etc/hedui/g.sqlite".into())),
                checkpoint_seconds: Some(30),
            }
        );
    }

    #[test]
    fn the_probe_and_metrics_ports_are_optional_addresses() {
        assert_eq!(parse(SNAPSHOT).unwrap().serve, ServeConfig::default());
        let c = parse(&format!(
            "health_listen = \"0.0.0.0:7411\"\nmetrics_listen = \"127.0.0.1:9401\"\ndrain_seconds = 3\n{SNAPSHOT}"
        ))
        .unwrap();
        assert_eq!(
            c.serve,
            ServeConfig {
                health_listen: Some("0.0.0.0:7411".parse().unwrap()),
                metrics_listen: Some("127.0.0.1:9401".parse().unwrap()),
                drain_seconds: Some(3),
            }
        );
        let err = parse(&format!("metrics_listen = \"localhost\"\n{SNAPSHOT}")).unwrap_err();
        assert!(
            err.message
                .starts_with("metrics_listen: \"localhost\" is not an address"),
            "{err}"
        );
        let err = parse(&format!("drain_seconds = 9000\n{SNAPSHOT}")).unwrap_err();
        assert!(err.message.starts_with("drain_seconds:"), "{err}");
    }

    #[test]
    fn grants_in_the_database_need_the_sql_backend() {
        let err = parse(&format!("{SNAPSHOT}[log]\ngrant_store = \"database\"\n")).unwrap_err();
        assert!(err.message.starts_with("log.grant_store:"), "{err}");
        assert!(err.message.contains("[sql]"), "{err}");
        let err = parse(&format!("{SNAPSHOT}[log]\ncheckpoint_seconds = 0\n")).unwrap_err();
        assert!(err.message.starts_with("log.checkpoint_seconds:"), "{err}");
        let err = parse(&format!("{SNAPSHOT}[log]\nsigning_keys = \"x\"\n")).unwrap_err();
        assert!(err.message.contains("signing_keys"), "{err}");
    }

    #[test]
    fn the_command_line_overrides_the_log_section() {
        let log = LogConfig {
            grant_store: Some(GrantStoreConfig::File("/a.sqlite".into())),
            ..Default::default()
        };
        let (g, k) = resolve_log(Some("/b.sqlite".into()), None, &log, None).unwrap();
        assert!(matches!(g, crate::GrantStoreOption::File(p) if p == Path::new("/b.sqlite")));
        assert!(k.is_none());
        let (g, _) = resolve_log(None, None, &log, None).unwrap();
        assert!(matches!(g, crate::GrantStoreOption::File(p) if p == Path::new("/a.sqlite")));
        let (g, _) = resolve_log(None, None, &LogConfig::default(), None).unwrap();
        assert!(matches!(g, crate::GrantStoreOption::BesideQueryLog));
        let err = resolve_log(None, Some("/nonexistent/log.key".into()), &log, None).unwrap_err();
        assert!(err.starts_with("log signing key /nonexistent/log.key:"), "{err}");
    }
}
