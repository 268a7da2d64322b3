//! The hub's configuration, written in one place: as a [`HubConfig`] for a
//! hub in this process, and as a `hub.toml` (with its key file) for a
//! `hedui hub` child process. A new setting of the test hub is added here,
//! to both.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use hedui_domain::department::slug;
use hedui_domain::policy::Policy;
use hedui_hub::{AdapterEndpoint, BatchSettings, HubConfig};
use hedui_proto::v1::Department;
use hedui_tls::TlsFiles;
use hedui_trust::SigningKey;

/// The example policy the hub applies unless told otherwise.
pub const EXAMPLE_POLICY: &str = include_str!("../../../deploy/policies/example.toml");

/// Where [`EXAMPLE_POLICY`] is, for a configuration file.
pub fn example_policy_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/policies/example.toml")
}

/// The hub's data key file in tests: fixed, like the tests' hub key, so a
/// test can open the hub's database itself and read what the hub stored.
pub const DATA_KEY_FILE: &str = "hedui-data-keys v1
index-key 1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b
kek kek-test 2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c
";

/// The data keys of [`DATA_KEY_FILE`].
pub fn test_data_keys() -> std::sync::Arc<dyn hedui_store::KeyProvider> {
    hedui_store::DataKeys::parse(DATA_KEY_FILE)
        .expect("the tests' data key file parses")
        .into_provider()
}

/// The files a `hedui hub` child process is started with.
#[derive(Debug, Clone)]
pub struct HubFiles {
    /// `hub.toml`, for `hedui hub --config`.
    pub config: PathBuf,
    /// The hub's signing key, which `hub.toml` names.
    pub key: PathBuf,
    /// The hub's data key file (mode 0600), which `hub.toml` names.
    pub data_key: PathBuf,
}

/// How the hub of the system is configured.
pub(crate) struct HubSettings {
    pub(crate) database_url: Option<String>,
    pub(crate) policy: Policy,
    pub(crate) audit_origin: String,
    pub(crate) checkpoint_interval: Duration,
    pub(crate) ops_ports: bool,
    pub(crate) batch: BatchSettings,
    pub(crate) retention: Option<hedui_hub::retention::RetentionSettings>,
    /// The text of the hub's data key file.
    pub(crate) data_key: String,
}

impl Default for HubSettings {
    fn default() -> Self {
        HubSettings {
            database_url: None,
            policy: Policy::from_toml(EXAMPLE_POLICY).expect("the example policy is valid"),
            audit_origin: "hedui.test/audit".to_owned(),
            checkpoint_interval: Duration::from_secs(3600),
            ops_ports: false,
            batch: BatchSettings::default(),
            retention: None,
            data_key: DATA_KEY_FILE.to_owned(),
        }
    }
}

impl HubSettings {
    /// The in-process hub's configuration, listening on `listen`.
    pub(crate) fn hub_config(
        &self,
        listen: SocketAddr,
        grant_key: &SigningKey,
        tls: TlsFiles,
        adapters: Vec<AdapterEndpoint>,
    ) -> HubConfig {
        HubConfig {
            listen,
            database_url: self.database_url.clone().unwrap_or_default(),
            policy: self.policy.clone(),
            adapters,
            grant_key: grant_key.clone(),
            data_keys: hedui_store::DataKeys::parse(&self.data_key)
                .expect("the data key file parses")
                .into_provider(),
            tls: Some(tls),
            audit_origin: self.audit_origin.clone(),
            checkpoint_interval: self.checkpoint_interval,
            ops: hedui_hub::OpsOptions {
                metrics_listen: self.ops_ports.then_some(listen_any()),
                health_listen: self.ops_ports.then_some(listen_any()),
                // No load balancer to wait for when the run stops.
                drain_delay: Duration::ZERO,
                ..hedui_hub::OpsOptions::default()
            },
            batch: self.batch.clone(),
            retention: self.retention,
        }
    }

    /// Writes `hub.toml` and `hub.key` into `dir` for a `hedui hub` process
    /// listening on `listen`, storing into `database_url`, with the example
    /// policy, asking `adapters` within `deadline`. Per-department limits,
    /// breakers and the batch settings are the hub's defaults.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_files(
        &self,
        dir: &Path,
        listen: SocketAddr,
        database_url: &str,
        grant_key: &SigningKey,
        tls: &TlsFiles,
        deadline: Duration,
        adapters: &[(Department, SocketAddr)],
    ) -> anyhow::Result<HubFiles> {
        let key = dir.join("hub.key");
        std::fs::write(&key, hedui_audit::checkpoint::format_signing_key(grant_key))
            .with_context(|| format!("cannot write {}", key.display()))?;
        let data_key = dir.join("data.key");
        std::fs::write(&data_key, &self.data_key).with_context(|| format!("cannot write {}", data_key.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
            std::fs::set_permissions(&data_key, std::fs::Permissions::from_mode(0o600))?;
        }
        let mut text = format!(
            "listen = \"{listen}\"\ndatabase_url = \"{database_url}\"\npolicy = \"{}\"\nhub_key = \"{}\"\ndata_key = \"{}\"\n\
             audit_origin = \"{}\"\ncheckpoint_interval_s = {}\ndeadline_ms = {}\n\
             [tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            example_policy_file().display(),
            key.display(),
            data_key.display(),
            self.audit_origin,
            self.checkpoint_interval.as_secs(),
            deadline.as_millis(),
            tls.ca.display(),
            tls.cert.display(),
            tls.key.display(),
        );
        if let Some(crl) = &tls.crl {
            text.push_str(&format!("crl = \"{}\"\n", crl.display()));
        }
        for (d, addr) in adapters {
            text.push_str(&format!("[adapters.{}]\nurl = \"https://{addr}\"\n", slug(*d)));
        }
        let config = dir.join("hub.toml");
        std::fs::write(&config, text).with_context(|| format!("cannot write {}", config.display()))?;
        Ok(HubFiles { config, key, data_key })
    }
}

/// Any free port on loopback.
pub(crate) fn listen_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}
