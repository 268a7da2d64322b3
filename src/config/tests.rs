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
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let data_path = write_data_key(dir, 0o600);
    let text = std::fs::read_to_string(base().join("hub.example.toml")).unwrap();
    text.replace("keys/hub.key", &key_path.display().to_string())
        .replace("keys/data.key", &data_path.display().to_string())
}

/// A fresh data key file in `dir` with `mode`, as `hedui keygen --kind
/// data` writes one (but for the mode).
fn write_data_key(dir: &tempfile::TempDir, mode: u32) -> PathBuf {
    let path = dir.path().join("data.key");
    let keys = hedui_store::DataKeys::generate().unwrap();
    std::fs::write(&path, keys.to_file_text().as_bytes()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
    path
}

#[cfg(unix)]
#[test]
fn a_data_key_file_others_may_read_is_refused_naming_the_chmod() {
    let dir = tempfile::tempdir().unwrap();
    let text = example_with_key(&dir);
    let path = write_data_key_again(&dir, 0o640);
    let err = format!("{:#}", parse_hub(&text, &base()).unwrap_err());
    assert!(err.contains("data_key"), "{err}");
    assert!(err.contains(&format!("chmod 600 {}", path.display())), "{err}");
    assert!(err.contains("mode 640"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_hub_key_or_tls_key_others_may_read_is_refused_naming_the_chmod() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let text = example_with_key(&dir);
    let hub_key = dir.path().join("hub.key");
    std::fs::set_permissions(&hub_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = format!("{:#}", parse_hub(&text, &base()).unwrap_err());
    assert!(err.starts_with("hub_key: "), "{err}");
    assert!(err.contains(&format!("chmod 600 {}", hub_key.display())), "{err}");
    std::fs::set_permissions(&hub_key, std::fs::Permissions::from_mode(0o600)).unwrap();

    let tls_key = dir.path().join("tls.key");
    std::fs::write(&tls_key, "-----BEGIN PRIVATE KEY-----\n").unwrap();
    std::fs::set_permissions(&tls_key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let with_tls = text.replace("\"pki/hub-01.key\"", &format!("\"{}\"", tls_key.display()));
    let err = format!("{:#}", parse_hub(&with_tls, &base()).unwrap_err());
    assert!(err.starts_with("tls.key: "), "{err}");
    assert!(err.contains(&format!("chmod 600 {}", tls_key.display())), "{err}");
    assert!(err.contains("mode 640"), "{err}");
}

/// Loosens the data key file `example_with_key` made.
#[cfg(unix)]
fn write_data_key_again(dir: &tempfile::TempDir, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.path().join("data.key");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn a_missing_or_bad_data_key_file_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let text = example_with_key(&dir);
    let missing = dir.path().join("none.key");
    let err = format!(
        "{:#}",
        parse_hub(
            &text.replace(
                &dir.path().join("data.key").display().to_string(),
                &missing.display().to_string()
            ),
            &base()
        )
        .unwrap_err()
    );
    assert!(err.contains("hedui keygen --kind data"), "{err}");
    // A hub key given as the data key file is refused by line.
    let hub_key = std::fs::read(dir.path().join("hub.key")).unwrap();
    std::fs::write(dir.path().join("data.key"), hub_key).unwrap();
    let err = format!("{:#}", parse_hub(&text, &base()).unwrap_err());
    assert!(err.contains("not a hedui data key file"), "{err}");
}

#[test]
fn no_key_material_in_debug_or_the_effective_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let text = example_with_key(&dir);
    let key_text = std::fs::read_to_string(dir.path().join("data.key")).unwrap();
    let secrets: Vec<&str> = key_text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().last())
        .filter(|w| w.len() == 64)
        .collect();
    assert_eq!(secrets.len(), 2, "an index key and a KEK");
    let cfg = parse_hub(&text, &base()).unwrap();
    let file = parse_layers(&text, []).unwrap();
    let shown = format!(
        "{cfg:?} {file:?} {:?} {}",
        cfg.data_keys.kek_ids(),
        render_effective(&file).unwrap()
    );
    for s in secrets {
        assert!(!shown.contains(s), "key material printed");
    }
    assert!(
        !DEFAULT_TOML
            .lines()
            .any(|l| l.split_whitespace().any(|w| w.len() == 64))
    );
}

#[test]
fn the_shipped_example_loads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = parse_hub(&example_with_key(&dir), &base()).unwrap();
    assert_eq!(cfg.adapters.len(), 8);
    assert!(cfg.adapters.iter().all(|a| a.deadline == Duration::from_secs(10)));
}

#[test]
fn the_tls_crl_is_optional_and_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let example = example_with_key(&dir);
    let cfg = parse_hub(&example, &base()).unwrap();
    assert_eq!(cfg.tls.unwrap().crl, None);
    let with = example.replace("# crl = \"pki/ca.crl\"", "crl = \"pki/ca.crl\"");
    assert_ne!(with, example, "the example shows the crl key");
    let cfg = parse_hub(&with, &base()).unwrap();
    assert_eq!(cfg.tls.unwrap().crl, Some(base().join("pki/ca.crl")));
}

#[test]
fn the_shipped_example_serves_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.toml");
    std::fs::write(&path, example_with_key(&dir)).unwrap();
    let console = load_console(&path).unwrap().expect("the example has [console]");
    assert_eq!(console.listen, "127.0.0.1:7443".parse().unwrap());
    assert_eq!(console.settings.county, "德江县");
    // A typo in the table is named.
    std::fs::write(&path, example_with_key(&dir).replace("county =", "countee =")).unwrap();
    let err = load_console(&path).unwrap_err();
    assert!(format!("{err:#}").contains("countee"), "{err:#}");
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

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn the_annotated_default_is_the_default() {
    let parsed: HubFile = toml::from_str(DEFAULT_TOML).unwrap();
    assert_eq!(parsed, HubFile::default());
    // And an empty file means the defaults too.
    assert_eq!(parse_layers("", []).unwrap(), HubFile::default());
    // Every key of the struct is written out (not only commented) or is
    // an optional one shown commented.
    let table: toml::Table = toml::from_str(DEFAULT_TOML).unwrap();
    let all = toml::Table::try_from(HubFile::default()).unwrap();
    for (key, value) in &all {
        if value.as_table().is_some_and(toml::Table::is_empty) {
            continue; // [adapters]: none by default, an example is shown
        }
        assert!(table.contains_key(key), "{key} is missing from hub.default.toml");
    }
    for optional in ["deadline_ms", "[tls]", "[adapters."] {
        assert!(DEFAULT_TOML.contains(&format!("# {optional}")), "{optional}");
    }
}

#[test]
fn layers_apply_in_order_defaults_file_environment() {
    let file = "listen = \"0.0.0.0:7300\"\ncheckpoint_interval_s = 30\naudit_origin = \"file\"\n[adapters.tax]\nurl = \"https://tax:7404\"\n";
    let cfg = parse_layers(
        file,
        env(&[
            ("HEDUI__CHECKPOINT_INTERVAL_S", "5"),
            ("HEDUI__DATABASE_URL", "postgres://hedui:pw@db/hedui"),
            ("HEDUI__AUDIT_ORIGIN", "12345"),
            ("HEDUI__MIGRATE_ON_START", "false"),
            ("HEDUI__TLS__CA", "ca.crt"),
            ("HEDUI__TLS__CERT", "hub.crt"),
            ("HEDUI__TLS__KEY", "hub.key"),
            ("HEDUI__ADAPTERS__TAX__DEADLINE_MS", "2500"),
            ("HEDUI__ADAPTERS__HOUSING_FUND__URL", "https://hf:7406"),
            ("HEDUI_DATABASE_URL", "not a layer: one underscore"),
            ("PATH", "/usr/bin"),
        ]),
    )
    .unwrap();
    // The file beat the default, the environment beat the file, and an
    // untouched key kept its default.
    assert_eq!(cfg.listen, "0.0.0.0:7300".parse().unwrap());
    assert_eq!(cfg.checkpoint_interval_s, 5);
    assert_eq!(cfg.audit_origin, "12345", "a string key stays a string");
    assert_eq!(cfg.database_url.expose(), "postgres://hedui:pw@db/hedui");
    assert!(!cfg.migrate_on_start);
    assert_eq!(cfg.database_connect_timeout_s, 60);
    assert_eq!(cfg.tls.as_ref().unwrap().cert, PathBuf::from("hub.crt"));
    assert_eq!(cfg.adapters["tax"].url, "https://tax:7404");
    assert_eq!(cfg.adapters["tax"].deadline_ms, Some(2500));
    assert_eq!(cfg.adapters["housing-fund"].url, "https://hf:7406");
}

#[test]
fn an_unknown_key_is_named_with_its_place() {
    let err = parse_layers(
        "listen = \"127.0.0.1:1\"\n[tls]\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\nkye = \"d\"\n",
        [],
    )
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("kye") && text.contains("line 6"), "{text}");
    let err = parse_layers("", env(&[("HEDUI__LISTEN_ADDR", "1.2.3.4:5")])).unwrap_err();
    assert!(format!("{err:#}").contains("HEDUI__LISTEN_ADDR"), "{err:#}");
    assert!(format!("{err:#}").contains("listen_addr"), "{err:#}");
    let err = parse_layers("", env(&[("HEDUI__TLS__CAFILE", "x")])).unwrap_err();
    assert!(format!("{err:#}").contains("HEDUI__TLS__CAFILE"), "{err:#}");
    let err = parse_layers("", env(&[("HEDUI__CHECKPOINT_INTERVAL_S", "soon")])).unwrap_err();
    assert!(format!("{err:#}").contains("HEDUI__CHECKPOINT_INTERVAL_S"), "{err:#}");
    let err = parse_layers("", env(&[("HEDUI__", "x")])).unwrap_err();
    assert!(format!("{err:#}").contains("empty key"), "{err:#}");
}

#[test]
fn a_file_that_is_not_toml_says_where() {
    let err = parse_layers("listen = \"127.0.0.1:7300\"\npolicy = [unclosed\n", []).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("line 2"), "{text}");
}

#[test]
fn secrets_never_show_in_debug_or_the_effective_config() {
    let cfg = parse_layers("", env(&[("HEDUI__DATABASE_URL", "postgres://hedui:s3cret@db/hedui")])).unwrap();
    let debug = format!("{cfg:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
    let shown = render_effective(&cfg).unwrap();
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("postgres://hedui:***@db/hedui"), "{shown}");
    assert_eq!(format!("{:?}", Secret::new("x")), "[redacted]");
}

#[test]
fn operations_settings_reach_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    // Top-level keys go before the first table.
    let text = format!(
        "migrate_on_start = false\ndatabase_connect_timeout_s = 7\n{}",
        example_with_key(&dir)
    );
    let cfg = parse_hub(&text, &base()).unwrap();
    assert!(!cfg.ops.migrate_on_start);
    assert_eq!(cfg.ops.database_connect_timeout, Duration::from_secs(7));
    assert_eq!(cfg.ops.metrics_listen, Some("127.0.0.1:9300".parse().unwrap()));
    let err = parse_hub(&text.replace("127.0.0.1:9300", "nine-three"), &base()).unwrap_err();
    assert!(format!("{err:#}").contains("metrics_listen"), "{err:#}");
    // One request limit, transport and hub alike, within bounds.
    assert_eq!(cfg.ops.max_request_bytes, 64 * 1024);
    let cfg = parse_hub(&format!("max_request_bytes = 131072\n{text}"), &base()).unwrap();
    assert_eq!(cfg.ops.max_request_bytes, 131_072);
    for bad in [1024, 5 * 1024 * 1024] {
        let err = parse_hub(&format!("max_request_bytes = {bad}\n{text}"), &base()).unwrap_err();
        assert!(format!("{err:#}").contains("max_request_bytes"), "{err:#}");
    }
}

/// The hub.toml inside the Kubernetes ConfigMap, taken out of its YAML
/// block by indentation (no YAML crate is in the tree; CI validates the
/// manifests themselves with kubernetes-validate).
fn configmap_hub_toml() -> String {
    let yaml = std::fs::read_to_string(base().join("k8s/hub-configmap.yaml")).unwrap();
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "hub.toml: |").skip(1);
    let mut out = String::new();
    for l in lines.by_ref() {
        if !l.is_empty() && !l.starts_with("    ") {
            break;
        }
        out.push_str(l.strip_prefix("    ").unwrap_or(""));
        out.push('\n');
    }
    assert!(out.contains("[adapters.tax]"), "{out}");
    out
}

#[test]
fn the_kubernetes_configmap_is_a_valid_hub_configuration() {
    let cfg = parse_layers(
        &configmap_hub_toml(),
        env(&[(
            "HEDUI__DATABASE_URL",
            "postgres://hedui:pw@postgres.hedui-db.svc:5432/hedui",
        )]),
    )
    .unwrap();
    assert_eq!(cfg.adapters.len(), 8);
    assert!(!cfg.migrate_on_start, "the Job migrates before a rollout");
    assert_eq!(cfg.health_listen, "0.0.0.0:7310");
    assert_eq!(cfg.metrics_listen, "0.0.0.0:9300");
    // The ports the manifests probe and scrape are the configured ones.
    let deployment = std::fs::read_to_string(base().join("k8s/hub-deployment.yaml")).unwrap();
    assert!(deployment.contains("containerPort: 7310") && deployment.contains("port: 7310"));
    assert!(deployment.contains("containerPort: 9300") && deployment.contains("containerPort: 7300"));
    // The preStop sleep matches drain_seconds, and the pod is given time
    // for it, the drain, the grace and the rest of the stop.
    let number_after = |text: &str, key: &str| -> u64 {
        let at = text.find(key).unwrap_or_else(|| panic!("{key} is missing")) + key.len();
        let digits: String = text[at..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    let pre_stop = &deployment[deployment.find("preStop:").expect("a preStop hook")..];
    let sleep = number_after(pre_stop, "seconds:");
    assert_eq!(sleep, cfg.drain_seconds);
    let budget = number_after(&deployment, "terminationGracePeriodSeconds:");
    assert!(
        budget >= sleep + cfg.drain_seconds + cfg.drain_grace_seconds + 15,
        "{budget}"
    );
    let tls = cfg.tls.unwrap();
    for (path, key) in [(&tls.ca, "ca.crt"), (&tls.cert, "hub.crt"), (&tls.key, "hub.key.pem")] {
        assert_eq!(path, &PathBuf::from(format!("../secret/{key}")));
        let secret = std::fs::read_to_string(base().join("k8s/hub-secret.yaml")).unwrap();
        assert!(secret.contains(&format!("  {key}:")), "{key} is not in the Secret");
    }
}

/// A YAML block scalar `key: |` of `file`, taken out by indentation.
fn yaml_block(file: &str, key: &str, indent: &str) -> String {
    let yaml = std::fs::read_to_string(base().join(file)).unwrap();
    let mut out = String::new();
    for l in yaml.lines().skip_while(|l| l.trim() != key).skip(1) {
        if !l.is_empty() && !l.starts_with(indent) {
            break;
        }
        out.push_str(l.strip_prefix(indent).unwrap_or(""));
        out.push('\n');
    }
    assert!(!out.is_empty(), "{file}: no {key}");
    out
}

/// Any database URL an example's `url_env` names, of the right dialect.
fn example_db_url(var: &str) -> Option<String> {
    Some(if var.contains("ZRZY") || var.contains("SCJG") {
        "mysql://hedui_ro:pw@127.0.0.1:3306/db".into()
    } else {
        "postgres://hedui_ro:pw@127.0.0.1:5432/db".into()
    })
}

/// Every file an adapter configuration makes the adapter write.
fn adapter_writes(cfg: &hedui_adapter::config::AdapterConfig) -> Vec<PathBuf> {
    let mut paths = vec![cfg.log.query_log.clone().expect("log.query_log is set")];
    if let Some(hedui_adapter::config::GrantStoreConfig::File(p)) = &cfg.log.grant_store {
        paths.push(p.clone());
    }
    if let hedui_adapter::config::BackendConfig::Snapshot(s) = &cfg.backend {
        paths.push(s.drop_dir.clone());
        paths.push(s.store.clone());
    }
    paths
}

/// The templated unit runs `hedui adapter --config
/// /etc/hedui/adapters/%i.toml` without `--backend`, and every example
/// configuration in deploy/adapters/ writes only under
/// /var/lib/hedui-adapter/<department>/, which is the unit's
/// StateDirectory (the rest of the system is read-only to it).
#[test]
fn the_adapter_unit_and_the_example_configurations_agree_on_paths() {
    let unit = std::fs::read_to_string(base().join("systemd/hedui-adapter@.service")).unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(
        exec.contains(" adapter --config /etc/hedui/adapters/%i.toml "),
        "{exec}"
    );
    assert!(!exec.contains("--backend") && !exec.contains("--query-log"), "{exec}");
    assert!(unit.contains("\nStateDirectory=hedui-adapter/%i\n"), "{unit}");
    assert!(unit.contains("\nProtectSystem=strict\n"));
    let mut seen = 0;
    for entry in std::fs::read_dir(base().join("adapters")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let cfg = hedui_adapter::config::AdapterConfig::parse(&text, &path, example_db_url)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let dept = hedui_domain::department::slug(cfg.department);
        assert_eq!(path.file_stem().unwrap().to_str().unwrap(), dept);
        let state = PathBuf::from(format!("/var/lib/hedui-adapter/{dept}"));
        for p in adapter_writes(&cfg) {
            assert!(
                p.starts_with(&state),
                "{}: {} is outside {}",
                path.display(),
                p.display(),
                state.display()
            );
        }
        seen += 1;
    }
    assert_eq!(seen, 8, "one configuration per department");
}

/// The adapter's Kubernetes example: its ConfigMap is a valid sql
/// configuration, and everything it writes is on the
/// PersistentVolumeClaim, not in the pod.
#[test]
fn the_kubernetes_adapter_keeps_its_records_on_a_persistent_volume() {
    let text = yaml_block("k8s/adapter-tax.yaml", "tax.toml: |", "    ");
    let file = PathBuf::from("/etc/hedui/adapter/tax.toml");
    let cfg = hedui_adapter::config::AdapterConfig::parse(&text, &file, example_db_url).unwrap();
    assert_eq!(cfg.backend_name(), "sql");
    let manifest = std::fs::read_to_string(base().join("k8s/adapter-tax.yaml")).unwrap();
    assert!(manifest.contains("- --config=/etc/hedui/adapter/tax.toml"));
    assert!(!manifest.contains("--backend") && !manifest.contains("emptyDir"));
    assert!(manifest.contains("claimName: hedui-adapter-tax-state"));
    assert!(manifest.contains("kind: PersistentVolumeClaim\nmetadata:\n  name: hedui-adapter-tax-state\n"));
    assert!(manifest.contains("- name: state\n              mountPath: /var/lib/hedui-adapter/tax\n"));
    for p in adapter_writes(&cfg) {
        assert!(p.starts_with("/var/lib/hedui-adapter/tax"), "{}", p.display());
    }
    assert_eq!(
        cfg.log.signing_key.as_deref(),
        Some(std::path::Path::new("/etc/hedui/secret/log.key"))
    );
    assert!(manifest.contains("  log.key:") && manifest.contains("  database-url:"));
    // The kubelet probes the plaintext health port the ConfigMap opens,
    // with gRPC health, not TCP; metrics are on the port it declares.
    let health = cfg.serve.health_listen.expect("health_listen is set").port();
    let metrics = cfg.serve.metrics_listen.expect("metrics_listen is set").port();
    for probe in ["readinessProbe", "livenessProbe"] {
        assert!(
            manifest.contains(&format!("{probe}:\n            grpc:\n              port: {health}\n")),
            "{probe} is not a gRPC probe on {health}"
        );
    }
    assert!(!manifest.contains("tcpSocket"));
    assert!(manifest.contains(&format!("containerPort: {metrics}\n")));
    let policy = std::fs::read_to_string(base().join("k8s/networkpolicy.yaml")).unwrap();
    assert!(
        policy.contains(&format!("port: {metrics}\n")),
        "metrics are not let in from monitoring"
    );
}

/// The migration Job is named after the version of the image it runs,
/// so each release is a new Job (a Job's template cannot be changed).
#[test]
fn the_migration_job_is_named_after_its_version() {
    let version = env!("CARGO_PKG_VERSION");
    let job = std::fs::read_to_string(base().join("k8s/migrate-job.yaml")).unwrap();
    let name = format!("hedui-migrate-{}", version.replace('.', "-"));
    assert!(job.contains(&format!("metadata:\n  name: {name}\n")), "{job}");
    assert!(job.contains(&format!("image: registry.example.gov.cn/hedui/hedui:{version}\n")));
    let readme = std::fs::read_to_string(base().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("job/{name} ")),
        "deploy/README.md waits for another Job"
    );
}

/// The Dockerfile builds with the toolchain of rust-toolchain.toml, from
/// an image of that exact version, without downloading another.
#[test]
fn the_dockerfile_builds_with_the_pinned_toolchain() {
    let toolchain = std::fs::read_to_string(base().join("../rust-toolchain.toml")).unwrap();
    let channel = toolchain
        .lines()
        .find_map(|l| l.strip_prefix("channel = "))
        .unwrap()
        .trim_matches('"');
    let docker = std::fs::read_to_string(base().join("Dockerfile")).unwrap();
    assert!(
        docker.contains(&format!("\nFROM rust:{channel}-slim-bookworm")),
        "{docker}"
    );
    assert!(docker.contains(&format!("ENV RUSTUP_TOOLCHAIN={channel} RUSTUP_AUTO_INSTALL=0\n")));
}

#[test]
fn retention_is_off_by_default_and_the_example_keeps_five_years_applied_daily() {
    assert_eq!(retention_settings(&HubFile::default()).unwrap(), None);
    let dir = tempfile::tempdir().unwrap();
    let file: HubFile = toml::from_str(&example_with_key(&dir)).unwrap();
    let r = retention_settings(&file).unwrap().unwrap();
    assert_eq!(r.keep, hedui_hub::retention::Keep::Years(5));
    assert_eq!(r.apply_every, Some(Duration::from_secs(86_400)));
    for (table, field) in [
        ("keep_records = \"0d\"", "retention.keep_records"),
        ("keep_records = \"-1y\"", "retention.keep_records"),
        ("keep_records = \"5y\"\napply_every = \"-1d\"", "retention.apply_every"),
    ] {
        let file: HubFile = toml::from_str(&format!("[retention]\n{table}\n")).unwrap();
        let e = retention_settings(&file).unwrap_err().to_string();
        assert!(e.starts_with(field), "{table}: {e}");
    }
    // A key the table does not have is refused by name.
    let e = toml::from_str::<HubFile>("[retention]\nkeep_records = \"5y\"\nkeep = \"1y\"\n").unwrap_err();
    assert!(e.to_string().contains("keep"), "{e}");
}
