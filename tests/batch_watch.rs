//! `hedui batch results` and `hedui batch watch` on batches that are not
//! finished: the results file lists every household, the unfinished ones as
//! 未完成 rows, and a watch outlives a hub that is killed and started again.

#[path = "hub/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "hub/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hedui_domain::department::slug;
use hedui_proto::v1::batch_service_client::BatchServiceClient;
use hedui_proto::v1::{Batch, GetBatchRequest};
use hedui_tls::Role;
use helpers::{Behaviour, TestSystem};

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_HUB").env_remove("HEDUI_LOG");
    c
}

/// A child process killed (SIGKILL) and reaped when dropped.
struct Killed(Child);

impl Killed {
    fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Slow sandbox adapters in this process, a real `hedui hub` process in
/// front of them, and a submitted batch of `n` households.
struct Setup {
    _adapters: TestSystem,
    dir: tempfile::TempDir,
    config: PathBuf,
    listen: SocketAddr,
    hub: Killed,
    client_args: Vec<String>,
    batches: BatchServiceClient<tonic::transport::Channel>,
    id: String,
}

fn start_hub(config: &Path, dir: &Path, n: u32) -> Killed {
    let log = std::fs::File::create(dir.join(format!("hub-{n}.log"))).unwrap();
    Killed(
        hedui()
            .args(["hub", "--config", config.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

async fn wait_listening(listen: SocketAddr) {
    for _ in 0..600 {
        if std::net::TcpStream::connect(listen).is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the hub never listened");
}

async fn setup(n: usize, delay: Duration) -> Setup {
    let adapters = TestSystem::with(|_| Behaviour::Slow(delay), Duration::from_secs(10)).await;
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    let roster = dir.path().join("roster.csv");
    hedui_roster::write_example_csv(&roster, n, today).unwrap();
    let hub_files = adapters.pki.files(&Role::Hub, "hub-real");
    let cw = adapters.pki.files(&Role::Caseworker, "wang.wu");
    std::fs::write(dir.path().join("policy.toml"), helpers::EXAMPLE_POLICY).unwrap();
    helpers::write_hub_key(dir.path());
    helpers::write_data_key(dir.path());
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = format!(
        "listen = \"{listen}\"\ndatabase_url = \"sqlite://{}\"\npolicy = \"policy.toml\"\nhub_key = \"hub.key\"\ndata_key = \"data.key\"\n\
         [tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n\
         [batch]\nin_flight = 1\nlease_s = 2\nbackoff_s = 1\n",
        dir.path().join("hedui.db").display(),
        hub_files.ca.display(),
        hub_files.cert.display(),
        hub_files.key.display(),
    );
    for a in &adapters.adapters {
        config.push_str(&format!("[adapters.{}]\nurl = \"{}\"\n", slug(a.department), a.url));
    }
    let config_path = dir.path().join("hub.toml");
    std::fs::write(&config_path, config).unwrap();
    let hub = start_hub(&config_path, dir.path(), 0);
    wait_listening(listen).await;
    let client_args = vec![
        format!("--hub=https://{listen}"),
        format!("--ca={}", cw.ca.display()),
        format!("--cert={}", cw.cert.display()),
        format!("--key={}", cw.key.display()),
    ];
    let out = hedui()
        .args(["batch", "submit", roster.to_str().unwrap(), "--purpose", "低保"])
        .args(&client_args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let batches = BatchServiceClient::new(adapters.pki.channel(listen, &Role::Caseworker, "wang.wu"));
    Setup {
        _adapters: adapters,
        dir,
        config: config_path,
        listen,
        hub,
        client_args,
        batches,
        id,
    }
}

impl Setup {
    async fn batch(&mut self) -> Option<Batch> {
        self.batches
            .get_batch(GetBatchRequest {
                batch_id: self.id.clone(),
            })
            .await
            .ok()?
            .into_inner()
            .batch
    }

    /// Waits until `ready` holds of the batch.
    async fn until(&mut self, what: &str, ready: impl Fn(&Batch) -> bool) -> Batch {
        for _ in 0..6000 {
            if let Some(b) = self.batch().await
                && ready(&b)
            {
                return b;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the batch never reached: {what}");
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        hedui().args(args).args(&self.client_args).output().unwrap()
    }
}

/// A batch cancelled half-way: the results list every household, the
/// unchecked ones as 未完成, and stderr says how many; the home-visit list
/// ends with a row saying how many are missing from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_of_an_unfinished_batch_list_every_household() {
    let mut s = setup(12, Duration::from_millis(100)).await;
    s.until("two households done", |b| b.done >= 2).await;
    let out = s.cli(&["batch", "cancel", &s.id.clone()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let b = s.until("nothing running", |b| b.running == 0).await;
    assert!(b.done < 12, "the batch finished before it was cancelled");
    let left = 12 - b.done as usize;

    let csv = s.dir.path().join("results.csv");
    let out = s.cli(&["batch", "results", &s.id.clone(), "-o", csv.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("was cancelled: {left} of 12 household(s) are not done")),
        "{err}"
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 12, "{text}");
    let unfinished = rows.iter().filter(|r| r.contains(",未完成,")).count();
    assert_eq!(unfinished, left, "{text}");
    assert!(text.contains("批次已取消，此户未核对"), "{text}");

    // --output json: the list of batches is an array, one batch an object;
    // jsonl puts it on one line.
    let out = s.cli(&["batch", "list", "--output", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        list.as_array().unwrap().iter().any(|b| b["batchId"] == s.id.as_str()),
        "{list}"
    );
    let out = s.cli(&["batch", "status", &s.id.clone(), "--output", "jsonl"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let status: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status["state"], "BATCH_STATE_CANCELLED");
    assert_eq!(status["total"], 12);

    let visits = s.dir.path().join("visits.csv");
    let out = s.cli(&[
        "batch",
        "results",
        &s.id.clone(),
        // The old spelling of -o/--out still works.
        "--output-file",
        visits.to_str().unwrap(),
        "--only",
        "flagged",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&visits).unwrap();
    let last = text.lines().last().unwrap();
    assert!(
        last.contains("未完成") && last.contains(&format!("另有 {left} 户未核对")),
        "{text}"
    );
}

/// `batch watch` loses the hub (kill -9), says so, waits for it, and follows
/// the batch to the end when the hub is back; no line says no time is left
/// while households remain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_outlives_a_hub_restart() {
    let mut s = setup(16, Duration::from_millis(40)).await;
    let log = s.dir.path().join("watch.log");
    let mut watch = Killed(
        hedui()
            .args(["batch", "watch", &s.id])
            .args(&s.client_args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    s.until("three households done", |b| b.done >= 3).await;
    s.hub.kill9();
    // The watch notices on its next reading; the hub stays down until then.
    let mut noticed = false;
    for _ in 0..3000 {
        if std::fs::read_to_string(&log).unwrap().contains("trying again in") {
            noticed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(noticed, "{}", std::fs::read_to_string(&log).unwrap());
    s.hub = start_hub(&s.config, s.dir.path(), 1);
    wait_listening(s.listen).await;

    let mut status = None;
    for _ in 0..6000 {
        if let Some(st) = watch.0.try_wait().unwrap() {
            status = Some(st);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.expect("the watch never ended");
    let mut stdout = String::new();
    std::io::Read::read_to_string(watch.0.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{text}");
    assert!(
        text.contains("cannot connect to the hub") || text.contains("connection to the hub"),
        "{text}"
    );
    assert!(text.contains("the hub answers again"), "{text}");
    assert!(
        stdout.contains("state      DONE") && stdout.contains("16/16 done"),
        "{stdout}"
    );
    for line in text.lines().filter(|l| !l.contains(" 16/16 done")) {
        assert!(!line.contains(" 0s left") && !line.contains("0h00m00s"), "{line}");
    }
    eprintln!("what the watch said:\n{text}");
}
