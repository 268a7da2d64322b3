//! The hub's configuration, in layers: compiled-in defaults
//! ([`HubFile::default`]), then a TOML file, then `HEDUI__…` environment
//! variables (`HEDUI__SECTION__KEY=value`, a double underscore between
//! levels). Unknown keys are rejected by name at every layer, so a typo
//! never silently falls back to a default. The annotated default is
//! [`DEFAULT_TOML`] (`hedui config default`); a test keeps it equal to
//! [`HubFile::default`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use hedui_domain::policy::Policy;
use hedui_hub::breaker::BreakerSettings;
use hedui_hub::{AdapterEndpoint, BatchSettings, DEFAULT_DEADLINE, DepartmentLimits, HubConfig, OpsOptions};
use serde::{Deserialize, Serialize};

/// A value that must never be printed: its `Debug` shows `[redacted]` and it
/// has no `Display`. Serialised (for `hedui config check`) it is redacted
/// too; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> Serialize for Secret<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

/// The hub's configuration file. Every key is optional: a missing key takes
/// its value from [`HubFile::default`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HubFile {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Database URL or path. It may hold a password, so it is a secret.
    pub database_url: Secret<String>,
    /// Apply pending migrations at start-up; when false the hub refuses a
    /// database whose schema is behind and asks for `hedui migrate`.
    pub migrate_on_start: bool,
    /// Seconds to keep retrying an unreachable database at start-up.
    pub database_connect_timeout_s: u64,
    /// Address for Prometheus metrics (`GET /metrics`); empty serves none.
    pub metrics_listen: String,
    /// Address for a plaintext copy of the gRPC health service alone, for
    /// Kubernetes probes; empty serves none.
    pub health_listen: String,
    /// Path of the policy file, relative to the configuration file.
    pub policy: PathBuf,
    /// Path of the hub's ed25519 key (made by `hedui keygen`), relative to
    /// the configuration file. It signs every department's grant.
    pub hub_key: PathBuf,
    /// Path of the data key file (made by `hedui keygen --kind data`),
    /// relative to the configuration file: the KEK that wraps every stored
    /// record's data key and the index key of ID-number search. Only the
    /// path is configuration; the keys never appear in it.
    pub data_key: PathBuf,
    /// The name of this hub's audit log, written into every checkpoint.
    pub audit_origin: String,
    /// Seconds between checkpoints when the log has grown.
    pub checkpoint_interval_s: u64,
    /// Seconds the hub reports NOT_SERVING at shutdown while still serving,
    /// before it starts no new verification.
    pub drain_seconds: u64,
    /// Seconds verifications in flight at shutdown may take to finish
    /// before the hub stops waiting for their departments (and logs those
    /// queries as abandoned).
    pub drain_grace_seconds: u64,
    /// The one request limit, in bytes (transport and hub alike).
    pub max_request_bytes: usize,
    /// Default deadline for every department, in milliseconds.
    pub deadline_ms: Option<u64>,
    /// The hub's certificate, key and the county CA, relative to this file.
    pub tls: Option<TlsFile>,
    /// One table per department, keyed by its slug.
    pub adapters: BTreeMap<String, AdapterFile>,
    /// Batch settings.
    #[serde(default)]
    pub batch: BatchFile,
    /// The caseworkers' web console; absent serves none.
    pub console: Option<ConsoleFile>,
    /// How long records are kept; absent keeps them forever.
    pub retention: Option<RetentionFile>,
}

/// The `[console]` table: the caseworkers' web console (核对工作台), served
/// over HTTPS with the hub's certificate, to browsers that present a
/// person's certificate of the county CA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleFile {
    /// Address to listen on, such as `0.0.0.0:7443`.
    pub listen: SocketAddr,
    /// The bureau named on printed reports, such as 德江县民政局.
    #[serde(default)]
    pub bureau: Option<String>,
    /// The county named on printed reports, such as 德江县.
    #[serde(default)]
    pub county: Option<String>,
    /// A CJK font file for PDF reports, relative to this file; the Debian
    /// font packages' files when absent.
    #[serde(default)]
    pub font: Option<PathBuf>,
}

/// What `hedui hub` needs to serve the console.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Names and font.
    pub settings: hedui_console::Settings,
}

/// The `[console]` table of the hub configuration, if there is one.
pub fn load_console(path: &Path) -> anyhow::Result<Option<ConsoleConfig>> {
    let file = load_layers(Some(path), env_layer()?)?;
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(file.console.map(|c| {
        let d = hedui_console::Settings::default();
        ConsoleConfig {
            listen: c.listen,
            settings: hedui_console::Settings {
                bureau: c.bureau.unwrap_or(d.bureau),
                county: c.county.unwrap_or(d.county),
                font: c.font.map(|f| base.join(f)),
            },
        }
    }))
}

impl Default for HubFile {
    fn default() -> Self {
        HubFile {
            listen: SocketAddr::from(([127, 0, 0, 1], 7300)),
            database_url: Secret::new("sqlite://hedui.db".to_owned()),
            migrate_on_start: true,
            database_connect_timeout_s: 60,
            metrics_listen: String::new(),
            health_listen: String::new(),
            policy: PathBuf::from("policies/example.toml"),
            hub_key: PathBuf::from("keys/hub.key"),
            data_key: PathBuf::from("keys/data.key"),
            audit_origin: "hedui/audit".to_owned(),
            checkpoint_interval_s: 60,
            drain_seconds: 5,
            drain_grace_seconds: 15,
            max_request_bytes: hedui_hub::DEFAULT_MAX_REQUEST_BYTES,
            deadline_ms: None,
            tls: None,
            adapters: BTreeMap::new(),
            batch: BatchFile::default(),
            console: None,
            retention: None,
        }
    }
}

/// The `[tls]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// The county CA certificate.
    pub ca: PathBuf,
    /// The hub's certificate (role hub).
    pub cert: PathBuf,
    /// The hub's private key.
    pub key: PathBuf,
    /// The county CA's revocation list, PEM (`hedui pki crl`); absent: no
    /// revocation checking. Reloaded when it changes, like the others.
    #[serde(default)]
    pub crl: Option<PathBuf>,
}

/// One department's adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterFile {
    /// gRPC URL of the adapter.
    pub url: String,
    /// Deadline for this department, in milliseconds.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// Queries in flight at once to this department (default 16).
    #[serde(default)]
    pub max_concurrency: Option<usize>,
    /// Queries started per second to this department (default 50).
    #[serde(default)]
    pub max_rate_per_s: Option<f64>,
    /// Consecutive failures (timeouts, outages, broken answers) that open
    /// this department's circuit breaker (default 5; 0 turns it off).
    #[serde(default)]
    pub breaker_failures: Option<u32>,
    /// Seconds the breaker stays open before one probe call (default 10;
    /// doubled after each failed probe, up to 300).
    #[serde(default)]
    pub breaker_cool_down_s: Option<u64>,
}

/// The `[batch]` table: how this hub runs batch households.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchFile {
    /// Households run at once (default 16).
    pub in_flight: Option<usize>,
    /// Attempts before a household is stored with departments missing (default 5).
    pub max_attempts: Option<u32>,
    /// Seconds before the second attempt, doubled for each further one (default 30).
    pub backoff_s: Option<u64>,
    /// Seconds a claimed household stays this hub's (default 300).
    pub lease_s: Option<u64>,
}

/// The `[retention]` table: how long records are kept after their creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionFile {
    /// Whole years (`"5y"`) or days (`"1825d"`), more than zero.
    pub keep_records: String,
    /// How often the hub applies it (`"1d"`, `"6h"`); absent, only `hedui
    /// retention apply` does.
    pub apply_every: Option<String>,
}

/// Reads the `[retention]` table, each value refused naming its key.
pub fn retention_settings(file: &HubFile) -> anyhow::Result<Option<hedui_hub::retention::RetentionSettings>> {
    use hedui_hub::retention::{Keep, RetentionSettings, parse_interval};
    let Some(r) = &file.retention else {
        return Ok(None);
    };
    let keep = Keep::parse(&r.keep_records).map_err(|e| anyhow::anyhow!("retention.keep_records: {e}"))?;
    let apply_every = r
        .apply_every
        .as_deref()
        .map(parse_interval)
        .transpose()
        .map_err(|e| anyhow::anyhow!("retention.apply_every: {e}"))?;
    Ok(Some(RetentionSettings { keep, apply_every }))
}

/// The annotated default configuration, printed by `hedui config default`.
/// It must parse to exactly [`HubFile::default`]; a test checks that.
pub const DEFAULT_TOML: &str = include_str!("../deploy/hub.default.toml");

/// The prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "HEDUI__";

/// The process's `HEDUI__…` variables; one that is not UTF-8 is an error
/// naming it.
pub fn env_layer() -> anyhow::Result<Vec<(String, String)>> {
    let mut vars = Vec::new();
    for (k, v) in std::env::vars_os() {
        let Some(k) = k.to_str().filter(|k| k.starts_with(ENV_PREFIX)) else {
            continue;
        };
        let v = v
            .into_string()
            .map_err(|_| anyhow!("environment variable {k}: the value is not UTF-8"))?;
        vars.push((k.to_owned(), v));
    }
    Ok(vars)
}

/// Reads the layers: defaults, then the file at `path` (if any), then the
/// `HEDUI__…` variables among `env`.
pub fn load_layers(path: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<HubFile> {
    let text = match path {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read configuration file {}", p.display()))?
        }
        None => String::new(),
    };
    let shown = path.map_or_else(|| "the defaults".to_owned(), |p| p.display().to_string());
    parse_layers(&text, env).with_context(|| format!("configuration file {shown}"))
}

/// [`load_layers`] on the text of a file.
pub fn parse_layers(text: &str, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<HubFile> {
    // Parsing the text straight into the struct gives TOML syntax errors and
    // unknown keys with their line and column.
    let from_file: HubFile = toml::from_str(text).map_err(|e| anyhow!("{}", e.to_string().trim_end()))?;
    let vars: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
    if vars.is_empty() {
        return Ok(from_file);
    }
    let file_table: toml::Table = toml::from_str(text)?;
    let defaults = toml::Table::try_from(HubFile::default())?;
    let mut merged = file_table.clone();
    for (name, value) in &vars {
        set_from_env(&mut merged, &defaults, name, value)?;
    }
    match HubFile::deserialize(toml::Value::Table(merged)) {
        Ok(file) => Ok(file),
        Err(all) => {
            // Name the variable at fault: the first one that fails alone.
            for (name, value) in &vars {
                let mut one = file_table.clone();
                set_from_env(&mut one, &defaults, name, value)?;
                if let Err(e) = HubFile::deserialize(toml::Value::Table(one)) {
                    bail!("environment variable {name}: {}", e.to_string().trim_end());
                }
            }
            bail!("environment variables {ENV_PREFIX}*: {}", all.to_string().trim_end())
        }
    }
}

/// Sets the key that `name` (`HEDUI__A__B`) names in `table`. The value is
/// a string where the key holds a string (in the file or the defaults), and
/// otherwise read as a TOML value when it is one (`30`, `true`).
fn set_from_env(table: &mut toml::Table, defaults: &toml::Table, name: &str, raw: &str) -> anyhow::Result<()> {
    let path: Vec<String> = name[ENV_PREFIX.len()..]
        .split("__")
        .enumerate()
        .map(|(i, seg)| {
            let seg = seg.to_ascii_lowercase();
            // Department slugs use '-', which environment names cannot.
            if i == 1 && name[ENV_PREFIX.len()..].to_ascii_lowercase().starts_with("adapters__") {
                seg.replace('_', "-")
            } else {
                seg
            }
        })
        .collect();
    if path.iter().any(String::is_empty) {
        bail!("environment variable {name}: empty key; use {ENV_PREFIX}SECTION__KEY");
    }
    let (last, parents) = path.split_last().expect("split yields one item at least");
    let mut here = table;
    let mut default_here = Some(defaults);
    for p in parents {
        let entry = here
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        here = entry
            .as_table_mut()
            .ok_or_else(|| anyhow!("environment variable {name}: {p} is not a table"))?;
        default_here = default_here.and_then(|d| d.get(p)).and_then(|v| v.as_table());
    }
    let wants_string = here
        .get(last)
        .or_else(|| default_here.and_then(|d| d.get(last)))
        .is_some_and(toml::Value::is_str);
    let value = if wants_string {
        toml::Value::String(raw.to_owned())
    } else {
        toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
    };
    here.insert(last.clone(), value);
    Ok(())
}

/// The effective configuration as TOML, secrets redacted (the database
/// URL keeps everything but its password).
pub fn render_effective(file: &HubFile) -> anyhow::Result<String> {
    let mut table = toml::Table::try_from(file)?;
    table.insert(
        "database_url".to_owned(),
        toml::Value::String(hedui_store::redact_url(file.database_url.expose())),
    );
    Ok(toml::to_string_pretty(&table)?)
}

/// Reads an ed25519 secret key file (`ed25519-secret:<hex>`).
pub fn load_signing_key(path: &Path) -> anyhow::Result<hedui_trust::SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the hub key {}; make one with `hedui keygen -o {}`",
            path.display(),
            path.display()
        )
    })?;
    hedui_audit::checkpoint::parse_signing_key(text.trim())
        .map_err(|e| anyhow::anyhow!("hub key {}: {e}", path.display()))
}

/// Reads a public key given inline (`ed25519:<hex>`) or as a file holding one.
pub fn load_verifying_key(arg: &str) -> anyhow::Result<hedui_trust::VerifyingKey> {
    let text = if arg.starts_with("ed25519:") {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg).with_context(|| format!("--hub-key {arg}: not a key and not a readable file"))?
    };
    hedui_audit::checkpoint::parse_public_key(text.trim()).map_err(|e| anyhow::anyhow!("--hub-key {arg}: {e}"))
}

/// Reads a policy file.
pub fn load_policy(path: &Path) -> anyhow::Result<Policy> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read policy file {}", path.display()))?;
    Policy::from_toml(&text).with_context(|| format!("policy file {}", path.display()))
}

/// Reads the hub configuration (defaults, the file, the process's
/// `HEDUI__…` variables) and the policy it names.
pub fn load_hub(path: &Path) -> anyhow::Result<HubConfig> {
    let file = load_layers(Some(path), env_layer()?)?;
    to_hub_config(file, path.parent().unwrap_or(Path::new(".")))
        .with_context(|| format!("configuration file {}", path.display()))
}

/// Parses a hub configuration file (no environment layer); relative paths
/// are taken from `base`.
#[cfg(test)]
pub fn parse_hub(text: &str, base: &Path) -> anyhow::Result<HubConfig> {
    to_hub_config(parse_layers(text, [])?, base)
}

/// Every file a configuration names, as `(key, path, private)`, paths taken
/// from `base` (the configuration file's directory). Private files are keys
/// that nobody but the hub's user may read. The SQLite database is not
/// among them: the hub creates it.
pub fn named_files(file: &HubFile, base: &Path) -> Vec<(&'static str, PathBuf, bool)> {
    let mut files = vec![
        ("policy", base.join(&file.policy), false),
        ("hub_key", base.join(&file.hub_key), true),
        ("data_key", base.join(&file.data_key), true),
    ];
    if let Some(t) = &file.tls {
        files.push(("tls.ca", base.join(&t.ca), false));
        files.push(("tls.cert", base.join(&t.cert), false));
        files.push(("tls.key", base.join(&t.key), true));
    }
    if let Some(font) = file.console.as_ref().and_then(|c| c.font.as_ref()) {
        files.push(("console.font", base.join(font), false));
    }
    files
}

/// What is wrong with the files a configuration names: each one missing,
/// unreadable or a directory, and each private one that its group or
/// others may read, with the `chmod` that fixes it. Empty when all is well.
pub fn file_problems(file: &HubFile, base: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, path, private) in named_files(file, base) {
        let shown = path.display();
        let meta = match std::fs::File::open(&path).and_then(|f| f.metadata()) {
            Ok(m) => m,
            Err(e) => {
                let why = match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file".to_owned(),
                    std::io::ErrorKind::PermissionDenied => "not readable by this user (permission denied)".to_owned(),
                    _ => e.to_string(),
                };
                problems.push(format!("{key}: {shown}: {why}"));
                continue;
            }
        };
        if meta.is_dir() {
            problems.push(format!("{key}: {shown}: is a directory, not a file"));
            continue;
        }
        if private && let Some(problem) = exposed_key(key, &path, &meta) {
            problems.push(problem);
        }
    }
    problems
}

/// The problem with a private key file whose group or others may read or
/// write it, naming the file and the `chmod` that fixes it; `None` when
/// only its owner may (or on a system without Unix modes).
pub fn exposed_key(key: &str, path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        let shown = path.display();
        (mode & 0o077 != 0).then(|| {
            format!(
                "{key}: {shown} is a private key readable by its group or others (mode {mode:03o}); run `chmod 600 {shown}`"
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (key, path, meta);
        None
    }
}

/// Refuses a private key file (`key` names it as the configuration or the
/// command line does) that its group or others may read, naming the file
/// and the `chmod` that fixes it: the hub and the adapters do not start
/// with one. A file that cannot be looked at is left to the reader that
/// follows, which says why.
pub fn refuse_exposed(key: &str, path: &Path) -> anyhow::Result<()> {
    if let Ok(meta) = std::fs::metadata(path)
        && let Some(problem) = exposed_key(key, path, &meta)
    {
        bail!("{problem}");
    }
    Ok(())
}

/// Reads the data key file, refusing one that its group or others may read
/// (the hub does not start with it), naming the file and the `chmod`.
pub fn load_data_keys(path: &Path) -> anyhow::Result<hedui_store::DataKeys> {
    refuse_exposed("data_key", path)?;
    hedui_store::DataKeys::load(path).map_err(|e| anyhow!("data_key: {e}"))
}

/// The hub's data keys: the file at `path`, reloaded when it changes (a
/// rotation's new primary KEK is used without a restart), each version
/// checked as at start (private, well-formed, the same index key).
pub fn reloading_data_keys(path: &Path) -> anyhow::Result<std::sync::Arc<dyn hedui_store::KeyProvider>> {
    let keys = hedui_store::ReloadingKeys::load(
        path.to_owned(),
        Box::new(|p| load_data_keys(p).map_err(|e| format!("{e:#}"))),
    )
    .map_err(anyhow::Error::msg)?;
    Ok(keys.into_provider())
}

/// The data key file of a command that opens a database itself (`hedui
/// record … --database`, `hedui audit verify --database`, `hedui migrate`):
/// `--data-key` when given, else `keys/data.key` beside an SQLite database
/// file (the hub's default layout, and the demo's), when it exists.
pub fn local_data_key(arg: Option<&Path>, database: &str) -> Option<PathBuf> {
    if let Some(p) = arg {
        return Some(p.to_owned());
    }
    if database.contains("://") && !database.starts_with("sqlite://") {
        return None;
    }
    let path = Path::new(database.strip_prefix("sqlite://").unwrap_or(database));
    let beside = path.parent().unwrap_or(Path::new(".")).join("keys/data.key");
    beside.exists().then_some(beside)
}

/// `store` with the data keys of [`local_data_key`], when there are any
/// (without, it reads only what was stored before encryption, and says so
/// for anything else).
pub fn with_local_data_key(
    store: hedui_store::Store,
    arg: Option<&Path>,
    database: &str,
) -> anyhow::Result<hedui_store::Store> {
    Ok(match local_data_key(arg, database) {
        Some(path) => store.with_data_keys(load_data_keys(&path)?.into_provider()),
        None => store,
    })
}

/// Checks a layered configuration and loads the files it names.
pub fn to_hub_config(file: HubFile, base: &Path) -> anyhow::Result<HubConfig> {
    let default_deadline = file.deadline_ms.map(Duration::from_millis).unwrap_or(DEFAULT_DEADLINE);
    if file.deadline_ms == Some(0) {
        bail!("deadline_ms: must be more than 0");
    }
    let mut adapters = Vec::new();
    for (name, a) in &file.adapters {
        let department =
            hedui_domain::department::parse_slug(name).map_err(|e| anyhow::anyhow!("adapters.{name}: {e}"))?;
        if a.deadline_ms == Some(0) {
            bail!("adapters.{name}.deadline_ms: must be more than 0");
        }
        if a.max_concurrency == Some(0) {
            bail!("adapters.{name}.max_concurrency: must be at least 1");
        }
        if a.max_rate_per_s.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            bail!("adapters.{name}.max_rate_per_s: must be a number more than 0");
        }
        let defaults = DepartmentLimits::default();
        adapters.push(AdapterEndpoint {
            department,
            url: a.url.clone(),
            deadline: a.deadline_ms.map(Duration::from_millis).unwrap_or(default_deadline),
            limits: DepartmentLimits {
                max_concurrency: a.max_concurrency.unwrap_or(defaults.max_concurrency),
                max_rate_per_s: a.max_rate_per_s.unwrap_or(defaults.max_rate_per_s),
            },
            breaker: {
                let d = BreakerSettings::default();
                BreakerSettings {
                    failures_to_open: a.breaker_failures.unwrap_or(d.failures_to_open),
                    cool_down: a.breaker_cool_down_s.map(Duration::from_secs).unwrap_or(d.cool_down),
                    max_cool_down: d
                        .max_cool_down
                        .max(a.breaker_cool_down_s.map(Duration::from_secs).unwrap_or(d.cool_down)),
                }
            },
        });
    }
    let most = hedui_hub::batch_service::MAX_ADD_BYTES;
    if !(hedui_hub::MIN_REQUEST_BYTES..=most).contains(&file.max_request_bytes) {
        bail!(
            "max_request_bytes: {} is not between {} and {most}",
            file.max_request_bytes,
            hedui_hub::MIN_REQUEST_BYTES
        );
    }
    if file.checkpoint_interval_s == 0 {
        bail!("checkpoint_interval_s: must be at least 1");
    }
    let metrics_listen = match file.metrics_listen.trim() {
        "" => None,
        s => Some(
            s.parse::<SocketAddr>()
                .map_err(|e| anyhow!("metrics_listen: {s:?} is not an address such as 127.0.0.1:9300: {e}"))?,
        ),
    };
    let health_listen = match file.health_listen.trim() {
        "" => None,
        s => Some(
            s.parse::<SocketAddr>()
                .map_err(|e| anyhow!("health_listen: {s:?} is not an address such as 0.0.0.0:7310: {e}"))?,
        ),
    };
    let policy = load_policy(&base.join(&file.policy))?;
    refuse_exposed("hub_key", &base.join(&file.hub_key))?;
    let grant_key = load_signing_key(&base.join(&file.hub_key))?;
    let data_keys = reloading_data_keys(&base.join(&file.data_key))?;
    if let Some(t) = &file.tls {
        refuse_exposed("tls.key", &base.join(&t.key))?;
    }
    let tls = file.tls.as_ref().map(|t| hedui_tls::TlsFiles {
        ca: base.join(&t.ca),
        cert: base.join(&t.cert),
        key: base.join(&t.key),
        crl: t.crl.as_ref().map(|c| base.join(c)),
    });
    let b = &file.batch;
    let mut batch = BatchSettings::default();
    if b.in_flight == Some(0) || b.max_attempts == Some(0) || b.lease_s == Some(0) {
        bail!("batch: in_flight, max_attempts and lease_s must be at least 1");
    }
    batch.in_flight = b.in_flight.unwrap_or(batch.in_flight);
    batch.max_attempts = b.max_attempts.unwrap_or(batch.max_attempts);
    batch.backoff = b.backoff_s.map(Duration::from_secs).unwrap_or(batch.backoff);
    batch.lease = b.lease_s.map(Duration::from_secs).unwrap_or(batch.lease);
    let retention = retention_settings(&file)?;
    Ok(HubConfig {
        retention,
        batch,
        audit_origin: file.audit_origin.clone(),
        checkpoint_interval: Duration::from_secs(file.checkpoint_interval_s),
        tls,
        grant_key,
        data_keys,
        listen: file.listen,
        database_url: file.database_url.expose().clone(),
        policy,
        adapters,
        ops: OpsOptions {
            migrate_on_start: file.migrate_on_start,
            database_connect_timeout: Duration::from_secs(file.database_connect_timeout_s),
            metrics_listen,
            health_listen,
            drain_delay: Duration::from_secs(file.drain_seconds),
            drain_grace: Duration::from_secs(file.drain_grace_seconds),
            max_request_bytes: file.max_request_bytes,
        },
    })
}

#[cfg(test)]
mod tests;
