//! Key rotation survives a kill (issue #15 item 2): a real `hedui hub`
//! runs a batch while `hedui keys rotate` re-wraps every data key under a
//! new KEK; the rotation is killed with SIGKILL after its first chunk,
//! refused when started afresh, finished with `--resume`, and then every
//! record reads and verifies, `hedui audit verify` passes and no row is
//! left under the old KEK, which can then be retired. Run on SQLite and on
//! PostgreSQL. The bad inputs (no key, the wrong key file, a key file
//! others may read) are refused with nothing changed.

#[path = "hub/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "hub/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use hedui_domain::department::slug;
use hedui_proto::v1::batch_service_client::BatchServiceClient;
use hedui_proto::v1::{BatchState, GetBatchRequest};
use hedui_store::batch::{NewBatch, NewItem};
use hedui_store::{DataKeys, KeyProvider as _, Store};
use hedui_tls::Role;
use helpers::{Behaviour, TestSystem};

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_HUB")
        .env_remove("HEDUI_LOG")
        .env_remove("HEDUI_DATABASE_URL");
    c
}

fn run(args: &[&str]) -> Output {
    hedui().args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A `hedui hub` process, killed and reaped when dropped.
struct Hub(Child);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kek_ids(path: &Path) -> Vec<String> {
    DataKeys::load(path).unwrap().kek_ids()
}

fn status_json(database: &str, key: &str) -> serde_json::Value {
    let out = run(&[
        "keys",
        "status",
        "--database",
        database,
        "--data-key",
        key,
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Rows under `kek` in a `keys status --output json`.
fn rows_under(status: &serde_json::Value, kek: &str) -> u64 {
    status["keks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kekId"] == kek)
        .map(|k| {
            ["records", "batchItems", "reviews"]
                .iter()
                .map(|f| k[f].as_u64().unwrap())
                .sum::<u64>()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_midway_resumes_while_a_batch_runs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
    rotation_during_a_batch(dir, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_midway_resumes_while_a_batch_runs_on_postgres() {
    let Some(db) = helpers::fresh_postgres().await else {
        return;
    };
    rotation_during_a_batch(tempfile::tempdir().unwrap(), &db.url).await;
    db.drop_database().await;
}

async fn rotation_during_a_batch(dir: tempfile::TempDir, url: &str) {
    let n = 150;
    let adapters = TestSystem::with(|_| Behaviour::Slow(Duration::from_millis(5)), Duration::from_secs(10)).await;
    let today = chrono::Utc::now().date_naive();
    let roster = dir.path().join("roster.csv");
    hedui_roster::write_example_csv(&roster, n, today).unwrap();
    let hub_files = adapters.pki.files(&Role::Hub, "hub-real");
    let cw = adapters.pki.files(&Role::Caseworker, "wang.wu");
    std::fs::write(dir.path().join("policy.toml"), helpers::EXAMPLE_POLICY).unwrap();
    helpers::write_hub_key(dir.path());
    let key_path = helpers::write_data_key(dir.path());
    let key = key_path.to_str().unwrap().to_owned();
    let old_kek = kek_ids(&key_path)[0].clone();
    let listen: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = format!(
        "listen = \"{listen}\"\ndatabase_url = \"{url}\"\npolicy = \"policy.toml\"\nhub_key = \"hub.key\"\ndata_key = \"data.key\"\n\
         checkpoint_interval_s = 1\n\
         [tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n\
         [batch]\nin_flight = 4\n",
        hub_files.ca.display(),
        hub_files.cert.display(),
        hub_files.key.display(),
    );
    for a in &adapters.adapters {
        config.push_str(&format!("[adapters.{}]\nurl = \"{}\"\n", slug(a.department), a.url));
    }
    let config_path = dir.path().join("hub.toml");
    std::fs::write(&config_path, config).unwrap();
    let log = std::fs::File::create(dir.path().join("hub.log")).unwrap();
    let hub = Hub(hedui()
        .args(["hub", "--config", config_path.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap());
    let mut listening = false;
    for _ in 0..600 {
        if std::net::TcpStream::connect(listen).is_ok() {
            listening = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listening, "the hub never listened");
    let hub_url = format!("https://{listen}");
    let out = hedui()
        .args([
            "batch",
            "submit",
            roster.to_str().unwrap(),
            "--purpose",
            "minimum-living",
        ])
        .args(["--window", "12", "--label", "rotation test", "--hub", &hub_url])
        .args(["--ca", cw.ca.to_str().unwrap(), "--cert", cw.cert.to_str().unwrap()])
        .args(["--key", cw.key.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut c = BatchServiceClient::new(adapters.pki.channel(listen, &Role::Caseworker, "wang.wu"));
    let state = |c: &mut BatchServiceClient<tonic::transport::Channel>| {
        let id = id.clone();
        let mut c = c.clone();
        async move {
            let b = c
                .get_batch(GetBatchRequest { batch_id: id })
                .await
                .ok()?
                .into_inner()
                .batch?;
            Some((b.state, b.done))
        }
    };
    // Some records exist under the old KEK before the rotation starts.
    let mut started = false;
    for _ in 0..6000 {
        if state(&mut c).await.is_some_and(|(_, done)| done >= 30) {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started, "the batch made no progress");

    // The rotation, one row of each table per transaction, killed with
    // SIGKILL as soon as it reports its first chunk.
    let mut rotate = hedui()
        .args(["keys", "rotate", "--database", url, "--data-key", &key, "--chunk", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first_line = tokio::task::spawn_blocking(move || {
        let stderr = rotate.stderr.take().unwrap();
        let mut seen = String::new();
        let mut progress = None;
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.starts_with("re-wrapped ") {
                rotate.kill().unwrap(); // SIGKILL on Unix
                progress = Some(line);
                break;
            }
            seen.push_str(&line);
        }
        let status = rotate.wait().unwrap();
        progress.unwrap_or_else(|| panic!("the rotation ended ({status}) without a progress line: {seen}"))
    })
    .await
    .unwrap();
    eprintln!("killed the rotation after: {first_line}");
    let keks = kek_ids(&key_path);
    assert_eq!(keks.len(), 2, "the new KEK is in the file, the old one stays");
    let new_kek = keks[1].clone();
    assert_eq!(DataKeys::load(&key_path).unwrap().current_kek_id(), new_kek);
    let midway = status_json(url, &key);
    assert_eq!(midway["primaryKek"], new_kek.as_str());
    assert!(rows_under(&midway, &old_kek) > 0, "killed midway: {midway}");
    assert!(rows_under(&midway, &new_kek) > 0, "killed midway: {midway}");

    // Started afresh, it refuses rather than add a third KEK.
    let out = run(&["keys", "rotate", "--database", url, "--data-key", &key]);
    assert!(!out.status.success());
    assert!(text(&out).contains("keys rotate --resume"), "{}", text(&out));
    assert_eq!(kek_ids(&key_path).len(), 2);

    // --resume finishes it while the batch still runs.
    let out = run(&[
        "keys",
        "rotate",
        "--resume",
        "--database",
        url,
        "--data-key",
        &key,
        "--chunk",
        "50",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("rotation done"), "{}", text(&out));
    assert_eq!(kek_ids(&key_path).len(), 2);

    let mut finished = false;
    for _ in 0..12000 {
        if state(&mut c).await.is_some_and(|(s, _)| s == BatchState::Done as i32) {
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(finished, "the batch did not finish");
    drop(hub);
    // The hub read rows under both KEKs throughout, and switched to the new
    // one without a restart.
    let hub_log = std::fs::read_to_string(dir.path().join("hub.log")).unwrap();
    assert!(!hub_log.contains("does not hold"), "{hub_log}");
    assert!(hub_log.contains("data key file changed; keys reloaded"), "{hub_log}");

    // Nothing is left under the old KEK: the hub wrote under the new one
    // from the moment it reloaded its key file.
    let after = status_json(url, &key);
    assert_eq!(rows_under(&after, &old_kek), 0, "{after}");
    assert_eq!(after["rowsUnderOlderKeks"], 0, "{after}");
    assert_eq!(after["plaintext"]["records"], 0, "{after}");

    // Every record reads with the rotated file and matches its digest.
    let store = Store::open(url)
        .await
        .unwrap()
        .with_data_keys(DataKeys::load(&key_path).unwrap().into_provider());
    let all = store
        .list_records(&hedui_store::ListFilter {
            limit: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), n);
    for summary in &all {
        let record = store.get_record(&summary.record_id).await.unwrap().expect("it reads");
        assert!(hedui_domain::digest::verify(&record), "{} verifies", record.record_id);
    }
    store.close().await;
    let hub_public = hedui_audit::checkpoint::format_public_key(&helpers::hub_key().verifying_key());
    let out = run(&[
        "audit",
        "verify",
        "--database",
        url,
        "--key",
        &hub_public,
        "--data-key",
        &key,
    ]);
    assert!(out.status.success(), "{}", text(&out));

    // The old KEK may go now, and everything still reads without it.
    let out = run(&[
        "keys",
        "retire",
        "--kek",
        &old_kek,
        "--database",
        url,
        "--data-key",
        &key,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(kek_ids(&key_path), std::slice::from_ref(&new_kek));
    let out = run(&[
        "audit",
        "verify",
        "--database",
        url,
        "--key",
        &hub_public,
        "--data-key",
        &key,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    eprintln!(
        "rotation test: {n} households; after the kill {} row(s) under the old KEK and {} under the new; after --resume {} under the new, 0 under the old",
        rows_under(&midway, &old_kek),
        rows_under(&midway, &new_kek),
        rows_under(&after, &new_kek)
    );
}

/// A database holding a batch of `items` rows sealed under the key file
/// at `key`: the rows a rotation must re-wrap.
async fn database_with_items(dir: &Path, key: &Path, items: usize) -> String {
    let url = format!("sqlite://{}", dir.join("hedui.db").display());
    let store = Store::open(&url)
        .await
        .unwrap()
        .with_data_keys(DataKeys::load(key).unwrap().into_provider());
    store
        .create_batch(&NewBatch {
            batch_id: "b1".into(),
            label: "bad input".into(),
            purpose: "PURPOSE_MINIMUM_LIVING".into(),
            window_from: "2025-01".into(),
            window_to: "2025-12".into(),
            asset_date: String::new(),
            created_by_role: "caseworker".into(),
            created_by_name: "zhang.san".into(),
            created_by_serial: "01ab".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        })
        .await
        .unwrap();
    let rows: Vec<NewItem> = (0..items)
        .map(|i| NewItem {
            first_row: 2 + i as i64,
            household_ref: format!("H-{i}"),
            request: format!("request {i}").into_bytes(),
        })
        .collect();
    store.add_batch_items("b1", &rows).await.unwrap().unwrap();
    store.close().await;
    url
}

#[test]
fn bad_keys_are_refused_by_name_and_nothing_is_changed() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = helpers::write_data_key(dir.path());
    let key = key_path.to_str().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(database_with_items(dir.path(), &key_path, 5));
    let before = std::fs::read(&key_path).unwrap();
    let kek = kek_ids(&key_path)[0].clone();

    // No data key configured (and none beside the database).
    let out = run(&["keys", "rotate", "--database", &url]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no data key is configured"), "{}", text(&out));

    // A key file others may read: named, with the chmod to run.
    let loose = dir.path().join("loose.key");
    std::fs::write(&loose, &before).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = run(&[
        "keys",
        "rotate",
        "--database",
        &url,
        "--data-key",
        loose.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!("chmod 600 {}", loose.display())),
        "{}",
        text(&out)
    );
    assert_eq!(kek_ids(&loose).len(), 1);

    // Another hub's key file: the KEK the rows name is missing; the file
    // gets no new KEK and no row changes.
    let other = tempfile::tempdir().unwrap();
    let other_key = other.path().join("data.key");
    let out = run(&["keygen", "--kind", "data", "-o", other_key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let other_before = std::fs::read(&other_key).unwrap();
    let out = run(&[
        "keys",
        "rotate",
        "--database",
        &url,
        "--data-key",
        other_key.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains(&format!("KEK {kek}")), "{said}");
    assert!(
        said.contains("does not hold") && said.contains("nothing was changed"),
        "{said}"
    );
    assert_eq!(std::fs::read(&other_key).unwrap(), other_before);
    let out = run(&[
        "keys",
        "status",
        "--database",
        &url,
        "--data-key",
        other_key.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("NOT IN THE KEY FILE"), "{}", text(&out));

    // Not a key file at all: the line is named.
    let hub_key = helpers::write_hub_key(other.path());
    let out = run(&[
        "keys",
        "rotate",
        "--database",
        &url,
        "--data-key",
        hub_key.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not a hedui data key file"), "{}", text(&out));
    assert_eq!(std::fs::read(&key_path).unwrap(), before);

    // The primary KEK cannot be retired, nor a KEK no file holds.
    let out = run(&["keys", "retire", "--kek", &kek, "--database", &url, "--data-key", key]);
    assert!(!out.status.success());
    assert!(text(&out).contains("is the primary KEK"), "{}", text(&out));
    let out = run(&[
        "keys",
        "retire",
        "--kek",
        "kek-none",
        "--database",
        &url,
        "--data-key",
        key,
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("holds no such KEK"), "{}", text(&out));
    assert_eq!(std::fs::read(&key_path).unwrap(), before);

    // A rotation stopped right after the new KEK was written (as a kill
    // would leave it): the old KEK still wraps every row and cannot be
    // retired until --resume has finished.
    let mut keys = DataKeys::load(&key_path).unwrap();
    let new = keys.add_kek().unwrap();
    hedui_store::key_file::write_atomically(&key_path, &keys).unwrap();
    let out = run(&["keys", "retire", "--kek", &kek, "--database", &url, "--data-key", key]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("still wraps the data keys of 0 record(s), 5 batch item(s)"),
        "{}",
        text(&out)
    );
    let out = run(&["keys", "rotate", "--resume", "--database", &url, "--data-key", key]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("wrapped by KEK {new}")), "{}", text(&out));
    let out = run(&["keys", "retire", "--kek", &kek, "--database", &url, "--data-key", key]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(kek_ids(&key_path), [new]);
    let out = run(&["keys", "status", "--database", &url, "--data-key", key]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("every sealed row is wrapped by the primary KEK"),
        "{}",
        text(&out)
    );
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the rewritten key file stays private");
    }
}
