//! The real `hedui adapter` binary: `adapter check` fails on what would
//! make every query fail or be flagged (a column of the wrong type, a
//! snapshot never imported or too old), and a served adapter answers
//! health on its plaintext probe port, serves `/metrics`, and goes
//! NOT_SERVING on SIGTERM before it stops.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_LOG").env_remove("LC_ALL").env_remove("LANG");
    c
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn check(config: &Path) -> (bool, String, String) {
    let out: Output = hedui()
        .args(["adapter", "check", "--config"])
        .arg(config)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A tax register on SQLite as a county system might keep it: the month as
/// a DATE and the amounts in yuan as REAL. Read as they are, every answer
/// would fail; `check` says so before serving, naming the query and the
/// column, and passes once the query casts them.
#[test]
fn adapter_check_compares_column_types_and_prepares_every_query() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tax.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::{Connection as _, Executor as _};
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", db.display()))
            .await
            .unwrap();
        c.execute(
            "CREATE TABLE dj_nsr (sfzh TEXT, xm TEXT);
             CREATE TABLE dj_grsds (sfzh TEXT, ssyf DATE, sdxm TEXT, sre REAL, ynse INTEGER);",
        )
        .await
        .unwrap();
    });
    let config = |tax_query: &str| {
        write(
            dir.path(),
            "tax.toml",
            &format!(
                "department = \"tax\"\n[sql]\nurl = \"sqlite://{}\"\n\
                 [sql.queries.identity]\nquery = \"SELECT xm AS name FROM dj_nsr WHERE sfzh = :id_number\"\n\
                 [sql.queries.tax_records]\nquery = \"\"\"{tax_query}\"\"\"\n",
                db.display()
            ),
        )
    };
    let uncast = "SELECT ssyf AS period, sdxm AS category, sre AS taxable_income_fen, ynse AS tax_paid_fen \
                  FROM dj_grsds WHERE sfzh = :id_number";
    let (ok, _, stderr) = check(&config(uncast));
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("tax.toml: sql.queries.tax_records: "), "{stderr}");
    assert!(
        stderr.contains("column period has the database type DATE, but must be a month YYYY-MM"),
        "{stderr}"
    );
    assert!(
        stderr.contains("column taxable_income_fen has the database type REAL, but must be a whole number"),
        "{stderr}"
    );
    assert!(!stderr.contains("tax_paid_fen has"), "an INTEGER amount fits: {stderr}");

    // A query the database refuses is named too: every query is prepared.
    let (ok, _, stderr) = check(&config(&uncast.replace("FROM dj_grsds", "FROM dj_grsds_missing")));
    assert!(!ok);
    assert!(
        stderr.contains("sql.queries.tax_records: the database refused the query"),
        "{stderr}"
    );

    let cast = "SELECT strftime('%Y-%m', ssyf) AS period, sdxm AS category, \
                CAST(round(sre * 100) AS INTEGER) AS taxable_income_fen, ynse AS tax_paid_fen \
                FROM dj_grsds WHERE sfzh = :id_number";
    let (ok, stdout, stderr) = check(&config(cast));
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("sql.queries.identity: prepared; column names and types OK"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sql.queries.tax_records: prepared; column names and types OK"),
        "{stdout}"
    );
}

/// `check` of a snapshot exits non-zero while a category was never
/// imported and while one is older than `max_age_days`, and zero once all
/// are fresh.
#[test]
fn adapter_check_fails_on_a_snapshot_never_imported_or_stale() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "tax.toml",
        "department = \"tax\"\n[snapshot]\ndrop_dir = \"drop\"\nstore = \"tax.db\"\nmax_age_days = 35\npoll_seconds = 0\n",
    );
    let (ok, stdout, stderr) = check(&config);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("not ready to serve: no snapshot of identity has been imported"),
        "{stderr}"
    );
    let today = chrono::Utc::now().date_naive();
    let import = |name: &str, text: &str, as_of: chrono::NaiveDate| {
        let file = write(dir.path(), name, text);
        let out = hedui()
            .args(["adapter", "import", "--config"])
            .arg(&config)
            .arg(&file)
            .args(["--as-of", &as_of.format("%Y-%m-%d").to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let old = today - chrono::Duration::days(40);
    import("identity.csv", "id_number,name\n520626198801093011,安国强\n", old);
    let (ok, _, stderr) = check(&config);
    assert!(!ok);
    assert!(
        stderr.contains("not ready to serve: no snapshot of tax_records has been imported"),
        "{stderr}"
    );
    import(
        "tax_records.csv",
        "id_number,period,category,taxable_income_fen,tax_paid_fen\n",
        today,
    );
    let (ok, _, stderr) = check(&config);
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "not ready to serve: snapshot of identity dated {old} is 40 days old (at most 35 allowed)"
        )),
        "{stderr}"
    );
    import("identity.csv", "id_number,name\n520626198801093011,安国强\n", today);
    let (ok, stdout, stderr) = check(&config);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("(at most 35 days old allowed): OK"), "{stdout}");
}

/// A served adapter process, killed when dropped.
struct Served {
    child: std::process::Child,
    health: SocketAddr,
    metrics: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the sandbox tax adapter with its probe and metrics ports on
/// free ports, from the command line or from `config`.
fn serve(dir: &Path, extra: &[&str]) -> Served {
    let hub_key =
        hedui_audit::checkpoint::format_public_key(&hedui_trust::SigningKey::from_bytes(&[5; 32]).verifying_key());
    let mut child = hedui()
        .args([
            "adapter",
            "--department",
            "tax",
            "--insecure-dev",
            "--listen",
            "127.0.0.1:0",
            "--hub-key",
            &hub_key,
            "--query-log",
        ])
        .arg(dir.join("tax.jsonl"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    let (mut health, mut metrics) = (None, None);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if let Some(a) = line.strip_prefix("health_listen: ") {
            health = Some(a.parse().unwrap());
        }
        if let Some(a) = line.strip_prefix("metrics_listen: ") {
            metrics = Some(a.parse().unwrap());
        }
        if line.starts_with("query log: ") {
            break;
        }
    }
    // Keep reading what it writes later, or its writes would fail.
    std::thread::spawn(move || lines.for_each(drop));
    Served {
        child,
        health: health.unwrap_or_else(|| panic!("no health port in\n{seen}")),
        metrics: metrics.unwrap_or_else(|| panic!("no metrics port in\n{seen}")),
    }
}

async fn health(addr: SocketAddr, service: &str) -> Result<HealthCheckResponse, tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

/// The probe port answers health as soon as the adapter says it listens,
/// `/metrics` names the build and counts queries, and SIGTERM turns health
/// NOT_SERVING for the drain before the adapter stops.
#[tokio::test]
async fn the_adapter_binary_serves_health_and_metrics_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let a = serve(
        dir.path(),
        &[
            "--health-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--drain-seconds",
            "300",
        ],
    );
    let ok = health(a.health, "hedui.v1.SourceService").await.unwrap();
    assert_eq!(ok.status(), ServingStatus::Serving);
    let mut c = tokio::net::TcpStream::connect(a.metrics).await.unwrap();
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    c.write_all(b"GET /metrics HTTP/1.1\r\nHost: adapter\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    c.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("\nhedui_build_info{version=\""), "{text}");
    assert!(text.contains("# TYPE hedui_adapter_queries_total counter"), "{text}");

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", a.health))
        .unwrap()
        .connect_lazy();
    let mut watch = HealthClient::new(channel)
        .watch(HealthCheckRequest { service: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().status(), ServingStatus::Serving);
    let term = Command::new("kill")
        .args(["-TERM", &a.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert_eq!(
        watch.message().await.unwrap().unwrap().status(),
        ServingStatus::NotServing
    );
}

/// The probe and metrics ports can come from the configuration file
/// (`health_listen`, `metrics_listen`), and a bad address there is refused
/// by name.
#[test]
fn the_probe_and_metrics_ports_come_from_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "pboc.toml",
        "department = \"pboc\"\nhealth_listen = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"\n\
         [snapshot]\ndrop_dir = \"drop\"\nstore = \"pboc.db\"\npoll_seconds = 0\n",
    );
    let hub_key =
        hedui_audit::checkpoint::format_public_key(&hedui_trust::SigningKey::from_bytes(&[5; 32]).verifying_key());
    let mut child = hedui()
        .args([
            "adapter",
            "--insecure-dev",
            "--listen",
            "127.0.0.1:0",
            "--hub-key",
            &hub_key,
            "--query-log",
        ])
        .arg(dir.path().join("q.jsonl"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("query log: ") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("health_listen: 127.0.0.1:"), "{seen}");
    assert!(seen.contains("metrics_listen: 127.0.0.1:"), "{seen}");

    let bad = write(
        dir.path(),
        "bad.toml",
        "department = \"pboc\"\nhealth_listen = \"probe:7411\"\n\
         [snapshot]\ndrop_dir = \"drop\"\nstore = \"pboc.db\"\n",
    );
    let out = hedui()
        .args(["adapter", "check", "--offline", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bad.toml: health_listen: \"probe:7411\" is not an address"),
        "{stderr}"
    );
}

/// An adapter does not start with a private key file its group or others
/// may read (its TLS key, its log-signing key), and says which file and
/// the `chmod` to run.
#[cfg(unix)]
#[test]
fn an_adapter_refuses_key_files_others_may_read_naming_the_chmod() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let loose = write(dir.path(), "tax-01.key", "-----BEGIN PRIVATE KEY-----\n");
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let hub_key =
        hedui_audit::checkpoint::format_public_key(&hedui_trust::SigningKey::from_bytes(&[5; 32]).verifying_key());
    let base = |c: &mut Command| {
        c.args([
            "adapter",
            "--department",
            "tax",
            "--listen",
            "127.0.0.1:0",
            "--hub-key",
            &hub_key,
        ])
        .arg("--query-log")
        .arg(dir.path().join("tax.jsonl"));
    };
    let mut tls = hedui();
    base(&mut tls);
    let out = tls
        .args(["--ca", "ca.crt", "--cert", "tax-01.crt", "--key"])
        .arg(&loose)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains(&format!("--key: {} is a private key", loose.display())),
        "{said}"
    );
    assert!(said.contains(&format!("chmod 600 {}", loose.display())), "{said}");

    let log_key = write(
        dir.path(),
        "tax-log.key",
        &hedui_audit::checkpoint::format_signing_key(&hedui_trust::SigningKey::from_bytes(&[6; 32])),
    );
    std::fs::set_permissions(&log_key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut dev = hedui();
    base(&mut dev);
    let out = dev
        .arg("--insecure-dev")
        .arg("--log-key")
        .arg(&log_key)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains("log.signing_key: "), "{said}");
    assert!(said.contains(&format!("chmod 600 {}", log_key.display())), "{said}");
}
