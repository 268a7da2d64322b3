//! The hub's configuration file (TOML). Unknown keys are rejected by name,
//! so a typo never silently falls back to a default.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use hedui_domain::policy::Policy;
use hedui_hub::{AdapterEndpoint, BatchSettings, DEFAULT_DEADLINE, DepartmentLimits, HubConfig};
use serde::Deserialize;

/// The hub's configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubFile {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Database URL or path.
    #[serde(default = "default_database")]
    pub database_url: String,
    /// Path of the policy file, relative to the configuration file.
    pub policy: PathBuf,
    /// Path of the hub's ed25519 key (made by `hedui keygen`), relative to
    /// the configuration file. It signs every department's grant.
    pub hub_key: PathBuf,
    /// The name of this hub's audit log, written into every checkpoint.
    #[serde(default = "default_origin")]
    pub audit_origin: String,
    /// Seconds between checkpoints when the log has grown.
    #[serde(default = "default_checkpoint_s")]
    pub checkpoint_interval_s: u64,
    /// Default deadline for every department, in milliseconds.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// The hub's certificate, key and the county CA, relative to this file.
    #[serde(default)]
    pub tls: Option<TlsFile>,
    /// One table per department, keyed by its slug.
    #[serde(default)]
    pub adapters: BTreeMap<String, AdapterFile>,
    /// Batch settings.
    #[serde(default)]
    pub batch: BatchFile,
}

/// The `[tls]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// The county CA certificate.
    pub ca: PathBuf,
    /// The hub's certificate (role hub).
    pub cert: PathBuf,
    /// The hub's private key.
    pub key: PathBuf,
}

/// One department's adapter.
#[derive(Debug, Deserialize)]
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
}

/// The `[batch]` table: how this hub runs batch households.
#[derive(Debug, Default, Deserialize)]
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

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 7300))
}

fn default_origin() -> String {
    "hedui/audit".to_owned()
}

fn default_checkpoint_s() -> u64 {
    60
}

fn default_database() -> String {
    "sqlite://hedui.db".to_owned()
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

/// Reads the hub configuration file and the policy it names.
pub fn load_hub(path: &Path) -> anyhow::Result<HubConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read configuration file {}", path.display()))?;
    parse_hub(&text, path.parent().unwrap_or(Path::new(".")))
        .with_context(|| format!("configuration file {}", path.display()))
}

/// Parses a hub configuration; relative paths are taken from `base`.
pub fn parse_hub(text: &str, base: &Path) -> anyhow::Result<HubConfig> {
    let file: HubFile = toml::from_str(text)?;
    let default_deadline = file.deadline_ms.map(Duration::from_millis).unwrap_or(DEFAULT_DEADLINE);
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
        });
    }
    let policy = load_policy(&base.join(&file.policy))?;
    let grant_key = load_signing_key(&base.join(&file.hub_key))?;
    let tls = file.tls.as_ref().map(|t| hedui_tls::TlsFiles {
        ca: base.join(&t.ca),
        cert: base.join(&t.cert),
        key: base.join(&t.key),
    });
    if file.checkpoint_interval_s == 0 {
        bail!("checkpoint_interval_s: must be at least 1");
    }
    let b = &file.batch;
    let mut batch = BatchSettings::default();
    if b.in_flight == Some(0) || b.max_attempts == Some(0) || b.lease_s == Some(0) {
        bail!("batch: in_flight, max_attempts and lease_s must be at least 1");
    }
    batch.in_flight = b.in_flight.unwrap_or(batch.in_flight);
    batch.max_attempts = b.max_attempts.unwrap_or(batch.max_attempts);
    batch.backoff = b.backoff_s.map(Duration::from_secs).unwrap_or(batch.backoff);
    batch.lease = b.lease_s.map(Duration::from_secs).unwrap_or(batch.lease);
    Ok(HubConfig {
        batch,
        audit_origin: file.audit_origin.clone(),
        checkpoint_interval: Duration::from_secs(file.checkpoint_interval_s),
        tls,
        grant_key,
        listen: file.listen,
        database_url: file.database_url,
        policy,
        adapters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy")
    }

    /// The shipped example with its key path pointed at a freshly made key,
    /// since no secret key is committed.
    fn example_with_key(dir: &tempfile::TempDir) -> String {
        let key = hedui_trust::SigningKey::from_bytes(&[7; 32]);
        let key_path = dir.path().join("hub.key");
        std::fs::write(&key_path, hedui_audit::checkpoint::format_signing_key(&key)).unwrap();
        let text = std::fs::read_to_string(base().join("hub.example.toml")).unwrap();
        text.replace("keys/hub.key", &key_path.display().to_string())
    }

    #[test]
    fn the_shipped_example_loads() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = parse_hub(&example_with_key(&dir), &base()).unwrap();
        assert_eq!(cfg.adapters.len(), 8);
        assert!(cfg.adapters.iter().all(|a| a.deadline == Duration::from_secs(10)));
    }

    #[test]
    fn a_missing_hub_key_says_how_to_make_one() {
        let text = std::fs::read_to_string(base().join("hub.example.toml")).unwrap();
        let err = parse_hub(&text.replace("keys/hub.key", "no/such.key"), &base()).unwrap_err();
        assert!(format!("{err:#}").contains("hedui keygen"), "{err:#}");
    }

    #[test]
    fn unknown_keys_and_departments_are_named() {
        let err = parse_hub("policy = \"p\"\nhub_key = \"k\"\nlisten_addr = \"x\"\n", &base()).unwrap_err();
        assert!(format!("{err:#}").contains("listen_addr"), "{err:#}");
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{}\n[adapters.police]\nurl = \"http://127.0.0.1:1\"\n",
            example_with_key(&dir)
        );
        let err = parse_hub(&text, &base()).unwrap_err();
        assert!(
            format!("{err:#}").contains("adapters.police: unknown department"),
            "{err:#}"
        );
    }
}
