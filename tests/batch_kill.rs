//! A batch survives `kill -9` of the hub: the real `hedui hub` process is
//! killed in the middle of a batch submitted with `hedui batch submit`,
//! started again on the same database, and the batch finishes with exactly
//! one record per household, none lost, none doubled.
//!
//! The kill points are random: each test prints its seed, and
//! `HEDUI_TEST_SEED=<n>` replays its choices (see `tests/seed/mod.rs`).

#[path = "hub/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "hub/proxy.rs"]
#[allow(dead_code)]
mod proxy;
#[allow(dead_code)]
mod seed;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hedui_domain::department::slug;
use hedui_proto::v1::batch_service_client::BatchServiceClient;
use hedui_proto::v1::{BatchState, GetBatchRequest, Purpose};
use hedui_store::Store;
use hedui_store::batch::item_key;
use hedui_tls::Role;
use helpers::{Behaviour, TestSystem};

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_HUB").env_remove("HEDUI_LOG");
    c
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A `hedui hub` process, killed (SIGKILL) and reaped when dropped, so a
/// failing test leaves no hub behind.
struct Hub(Child);

impl Hub {
    /// `kill -9`, then reap it.
    fn kill9(&mut self) {
        self.0.kill().unwrap(); // SIGKILL on Unix
        self.0.wait().unwrap();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_hub(config: &Path, dir: &Path, n: u32) -> Hub {
    let log = std::fs::File::create(dir.join(format!("hub-{n}.log"))).unwrap();
    Hub(hedui()
        .args(["hub", "--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap())
}

async fn batch_state(c: &mut BatchServiceClient<tonic::transport::Channel>, id: &str) -> Option<(i32, u32)> {
    let b = c
        .get_batch(GetBatchRequest { batch_id: id.into() })
        .await
        .ok()?
        .into_inner()
        .batch?;
    Some((b.state, b.done))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_resumes_after_the_hub_is_killed_with_exactly_one_record_each() {
    killed_batch("one kill", 240, 1, Duration::from_millis(60)).await;
}

/// The crash test of the benchmark issue: 2,000 households, the hub killed
/// with SIGKILL at five random points and restarted each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_two_thousand_survives_five_kills_at_random_points() {
    killed_batch("five kills", 2000, 5, Duration::from_millis(5)).await;
}

/// Submits a roster of `n` households with `hedui batch submit`, kills the
/// real hub `kills` times at random points of progress (restarting it on the
/// same database each time), and checks at the end: every household has
/// exactly one record, every record's household is done, every done
/// household is in the audit log, and the log verifies offline.
async fn killed_batch(test: &str, n: usize, kills: usize, adapter_delay: Duration) {
    let mut rng = seed::Rng::for_test(test);
    // Eight slow adapters (served in this process); their in-process hub
    // is not used.
    let adapters = TestSystem::with(|_| Behaviour::Slow(adapter_delay), Duration::from_secs(10)).await;
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    let roster = dir.path().join("roster.csv");
    hedui_roster::write_example_csv(&roster, n, today).unwrap();

    let hub_files = adapters.pki.files(&Role::Hub, "hub-real");
    let cw = adapters.pki.files(&Role::Caseworker, "wang.wu");
    std::fs::write(dir.path().join("policy.toml"), helpers::EXAMPLE_POLICY).unwrap();
    helpers::write_hub_key(dir.path());
    helpers::write_data_key(dir.path());
    let listen = free_port();
    let db = dir.path().join("hedui.db");
    let mut config = format!(
        "listen = \"{listen}\"\ndatabase_url = \"sqlite://{}\"\npolicy = \"policy.toml\"\nhub_key = \"hub.key\"\ndata_key = \"data.key\"\n\
         checkpoint_interval_s = 1\n\
         [tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n\
         [batch]\nin_flight = 8\nlease_s = 2\nbackoff_s = 1\n",
        db.display(),
        hub_files.ca.display(),
        hub_files.cert.display(),
        hub_files.key.display(),
    );
    for a in &adapters.adapters {
        config.push_str(&format!("[adapters.{}]\nurl = \"{}\"\n", slug(a.department), a.url));
    }
    let config_path = dir.path().join("hub.toml");
    std::fs::write(&config_path, config).unwrap();

    let mut hub = start_hub(&config_path, dir.path(), 0);
    let hub_url = format!("https://{listen}");
    let client_args = |c: &mut Command| {
        c.args(["--hub", &hub_url])
            .args(["--ca", cw.ca.to_str().unwrap()])
            .args(["--cert", cw.cert.to_str().unwrap()])
            .args(["--key", cw.key.to_str().unwrap()]);
    };
    // Submit with the CLI once the hub listens.
    let mut listening = false;
    for _ in 0..600 {
        if std::net::TcpStream::connect(listen).is_ok() {
            listening = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listening, "the hub never listened");
    let mut submit = hedui();
    submit.args([
        "batch",
        "submit",
        roster.to_str().unwrap(),
        "--purpose",
        "minimum-living",
    ]);
    submit.args(["--window", "12", "--label", "kill test"]);
    client_args(&mut submit);
    let out = submit.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let channel = adapters.pki.channel(listen, &Role::Caseworker, "wang.wu");
    let mut c = BatchServiceClient::new(channel);

    // Kill -9 at random points of progress, restarting each time.
    let step = (n / (kills + 1)) as u32;
    let mut last_kill = 0;
    let mut kill_points = Vec::new();
    for k in 0..kills {
        let target = last_kill + 1 + rng.below(u64::from(step)) as u32;
        let mut killed_at = None;
        for _ in 0..6000 {
            if let Some((_, done)) = batch_state(&mut c, &id).await
                && done >= target
            {
                hub.kill9();
                killed_at = Some(done);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let killed_at = killed_at.unwrap_or_else(|| panic!("kill {k}: the batch made no progress"));
        assert!((killed_at as usize) < n, "kill {k}: the batch ended before the kill");
        kill_points.push(killed_at);
        last_kill = killed_at;
        hub = start_hub(&config_path, dir.path(), k as u32 + 1);
    }

    // The last hub resumes and finishes.
    let mut finished = false;
    for _ in 0..12000 {
        if let Some((state, _)) = batch_state(&mut c, &id).await
            && state == BatchState::Done as i32
        {
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(finished, "the batch did not finish after the restarts");

    // The results download through the CLI, one line per household.
    let out_csv = dir.path().join("results.csv");
    let mut r = hedui();
    r.args(["batch", "results", &id, "-o", out_csv.to_str().unwrap()]);
    client_args(&mut r);
    let out = r.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&out_csv).unwrap();
    assert_eq!(text.lines().count(), n + 1);
    let mut s = hedui();
    s.args(["batch", "status", &id]);
    client_args(&mut s);
    let out = s.output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{n}/{n} done")));
    hub.kill9();

    // Exactly one record per household: each item DONE with the record
    // stored under its own key, and no record beyond them.
    let store = Store::open(&format!("sqlite://{}", db.display()))
        .await
        .unwrap()
        .with_data_keys(helpers::data_keys());
    let info = store.get_batch(&id).await.unwrap().unwrap();
    assert_eq!((info.total, info.done), (n as i64, n as i64));
    let rows = store.batch_results(&id, 0, 1_000_000, false).await.unwrap();
    assert_eq!(rows.len(), n);
    let mut records = HashSet::new();
    let mut digests = HashSet::new();
    for r in &rows {
        let record = r.record.as_ref().expect("every household has its record");
        let (by_key, _) = store
            .get_by_idempotency_key(&item_key(&id, r.seq))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_key.record_id, record.record_id);
        assert_eq!(record.purpose, Purpose::MinimumLiving as i32);
        assert!(records.insert(record.record_id.clone()));
        digests.insert(record.digest.clone());
    }
    let all = store
        .list_records(&hedui_store::ListFilter {
            limit: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), n, "no record without an item, none doubled");
    // Every household's record is in the audit log.
    let logged: HashSet<String> = store
        .audit_entries(&hedui_store::audit::AuditFilter {
            action: Some("batch.household".into()),
            limit: 10_000_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.status == "OK")
        .map(|e| e.record_digest)
        .collect();
    assert!(
        digests.is_subset(&logged),
        "every stored record is on a batch.household entry"
    );
    store.close().await;
    // And the log verifies offline, as an auditor would check it.
    let key = hedui_audit::checkpoint::format_public_key(&helpers::hub_key().verifying_key());
    let out = hedui()
        .args([
            "audit",
            "verify",
            "--database",
            &format!("sqlite://{}", db.display()),
            "--key",
            &key,
        ])
        .arg("--data-key")
        .arg(helpers::write_data_key(&tempfile::tempdir().unwrap().keep()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The hub logs at INFO by default; per-household lines are DEBUG, so
    // the whole batch, restarts included, stays well under 1 MB of logs.
    let log_bytes: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|f| f.to_string_lossy().starts_with("hub-")))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(
        log_bytes < 512 * 1024,
        "{n} households wrote {log_bytes} bytes of hub logs at INFO"
    );
    eprintln!(
        "batch crash test: {n} households, {kills} SIGKILL(s) at {kill_points:?} households done; {} records, all in the audit log; {}; hub logs {log_bytes} bytes",
        records.len(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
}
