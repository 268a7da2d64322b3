//! Crash and restart: the real `hedui hub` process is killed with SIGKILL
//! at random points while caseworkers' submits are in flight, and started
//! again on the same database, five times.
//!
//! After every restart each caseworker retries with the same idempotency
//! key, as the CLI tells them to, and this checks that:
//! - every household ends with exactly one record: a submit that was
//!   acknowledged before the kill is replayed with the same record, and one
//!   that was not is verified once, now;
//! - every acknowledged submit is in the audit log (its record digest is on
//!   a `SubmitVerification OK` entry);
//! - the hub accepts its own log on every restart (it refuses to start on a
//!   log that does not match its checkpoint), and at the end
//!   `hedui audit verify --database` verifies the whole log offline.
//!
//! The adapters run in this test process, slowed down so that kills land
//! while departments are being asked.
//!
//! The kill points and delays are random: each test prints its seed, and
//! `HEDUI_TEST_SEED=<n>` replays its choices (see `tests/seed/mod.rs`).

#[allow(dead_code)]
mod seed;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use hedui_adapter::sandbox::Sandbox;
use hedui_proto::v1::verification_service_client::VerificationServiceClient;
use hedui_proto::v1::{SubmitVerificationRequest, VerificationRecord};
use hedui_store::Store;
use hedui_store::audit::AuditFilter;
use hedui_testkit::requests::{answering, request};
use hedui_tls::Role;
use tonic::transport::Channel;

const ROUNDS: usize = 5;
const HOUSEHOLDS_PER_ROUND: usize = 40;

/// The hub's process; killed and reaped when dropped, so a failing test
/// leaves no hub behind.
struct HubProcess(Child);

impl HubProcess {
    fn kill_and_reap(&mut self) {
        let _ = self.0.kill(); // SIGKILL on Unix
        let _ = self.0.wait();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

struct Rig {
    dir: tempfile::TempDir,
    config: PathBuf,
    database: PathBuf,
    public_key: String,
    hub_addr: SocketAddr,
    /// The county: its adapters run as long as the rig.
    county: hedui_testkit::Builder,
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl Rig {
    /// A county PKI, a hub key, eight slow sandbox adapters in this process
    /// and a hub configuration file for them.
    async fn new(sandbox: Arc<Sandbox>) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let pki = hedui_testkit::Pki::create(&dir.path().join("pki"), "crashtest").unwrap();
        let mut county = hedui_testkit::Builder::new(pki)
            .sandbox(sandbox)
            // A department that takes a while, so that kills land mid-call.
            .delay(hedui_testkit::Delay::fixed(Duration::from_millis(150)))
            .deadline(Duration::from_millis(5000))
            .audit_origin("hedui.crashtest/audit")
            .checkpoint_interval(Duration::from_secs(1));
        county.add_sandboxes().await.unwrap();
        let public_key = hedui_audit::checkpoint::format_public_key(&county.grant_key().verifying_key());
        let hub_addr = free_port();
        let database = dir.path().join("hedui.db");
        let config = county
            .write_hub_files(dir.path(), hub_addr, &format!("sqlite://{}", database.display()))
            .unwrap()
            .config;
        Rig {
            dir,
            config,
            database,
            public_key,
            hub_addr,
            county,
        }
    }

    /// Starts `hedui hub` and waits until it answers.
    async fn start_hub(&self, client: &mut VerificationServiceClient<Channel>) -> HubProcess {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("hub.log"))
            .unwrap();
        let mut child = HubProcess(
            Command::new(env!("CARGO_BIN_EXE_hedui"))
                .args(["hub", "--config", self.config.to_str().unwrap()])
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        let started = Instant::now();
        loop {
            let probe = client
                .list_records(hedui_proto::v1::ListRecordsRequest {
                    limit: 1,
                    ..Default::default()
                })
                .await;
            if probe.is_ok() {
                return child;
            }
            if started.elapsed() > Duration::from_secs(60) {
                child.kill_and_reap();
                panic!(
                    "the hub did not come up: {}",
                    std::fs::read_to_string(self.dir.path().join("hub.log")).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn client(&self) -> VerificationServiceClient<Channel> {
        let channel = self
            .county
            .pki()
            .hub_channel(self.hub_addr, &Role::Caseworker, "zhang.san", Duration::from_secs(2))
            .unwrap();
        VerificationServiceClient::new(channel)
    }
}

/// A random delay of `min_ms..max_ms` milliseconds.
fn random_delay(rng: &mut seed::Rng, min_ms: u64, max_ms: u64) -> Duration {
    Duration::from_millis(min_ms + rng.below(max_ms - min_ms))
}

/// Submits every request, twelve at a time, counting answers in `answered`.
async fn submit_all(
    client: &VerificationServiceClient<Channel>,
    requests: &[SubmitVerificationRequest],
    answered: Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<Result<(VerificationRecord, bool), tonic::Status>> {
    futures::stream::iter(requests.iter().cloned())
        .map(|req| {
            let mut client = client.clone();
            let answered = answered.clone();
            async move {
                let result = client.submit_verification(req).await.map(|r| {
                    let r = r.into_inner();
                    (r.record.unwrap(), r.replayed)
                });
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                result
            }
        })
        .buffered(12)
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hub_killed_mid_submit_loses_nothing_and_doubles_nothing() {
    let mut rng = seed::Rng::for_test("crash mid-submit");
    let today = chrono::Utc::now().date_naive();
    let sandbox = Arc::new(Sandbox::dejiang(today));
    let rig = Rig::new(sandbox.clone()).await;
    let mut client = rig.client();
    let mut hub = rig.start_hub(&mut client).await;
    let mut acknowledged_total = 0;
    let mut all_keys = Vec::new();
    let mut acked_digests = Vec::new();

    for round in 0..ROUNDS {
        let requests: Vec<SubmitVerificationRequest> = answering(&sandbox)
            .skip(round * HOUSEHOLDS_PER_ROUND)
            .take(HOUSEHOLDS_PER_ROUND)
            .map(|h| {
                let r = &h.household.household_ref;
                request(
                    &h.household,
                    &format!("SQ-CRASH-{round}-{r}"),
                    &format!("crash-{round}-{r}"),
                    today,
                )
            })
            .collect();
        assert_eq!(
            requests.len(),
            HOUSEHOLDS_PER_ROUND,
            "the sandbox has enough households"
        );
        // Submits in flight; SIGKILL at a random point among them: after a
        // random number of answers (so that, however fast the machine, the
        // kill lands while at least half the round is still to come), plus
        // a random few milliseconds so it strikes calls at random stages.
        let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let in_flight = {
            let client = client.clone();
            let requests = requests.clone();
            let answered = answered.clone();
            tokio::spawn(async move { submit_all(&client, &requests, answered).await })
        };
        let kill_after = (rng.below((HOUSEHOLDS_PER_ROUND / 2) as u64) as usize).max(1);
        while answered.load(std::sync::atomic::Ordering::SeqCst) < kill_after {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(random_delay(&mut rng, 0, 40)).await;
        hub.kill_and_reap();
        let before = in_flight.await.unwrap();
        let acked: Vec<Option<VerificationRecord>> = before.into_iter().map(|r| r.ok().map(|(rec, _)| rec)).collect();
        let n_acked = acked.iter().flatten().count();
        assert!(
            n_acked < HOUSEHOLDS_PER_ROUND,
            "round {round}: the kill landed before every submit finished"
        );
        acknowledged_total += n_acked;

        // Restart on the same database; every caseworker retries.
        hub = rig.start_hub(&mut client).await;
        let after = submit_all(&client, &requests, Arc::default()).await;
        for ((req, earlier), now) in requests.iter().zip(&acked).zip(after) {
            let (record, replayed) =
                now.unwrap_or_else(|s| panic!("round {round}: retry of {} failed: {s}", req.idempotency_key));
            if let Some(earlier) = earlier {
                assert!(replayed, "an acknowledged submit is replayed, not verified again");
                assert_eq!(record.record_id, earlier.record_id, "the same record comes back");
                assert_eq!(record.digest, earlier.digest);
                acked_digests.push(earlier.digest.clone());
            }
            all_keys.push((req.idempotency_key.clone(), record.record_id.clone()));
        }
    }

    // Exactly one record per household, and nothing else.
    let store = Store::open(&format!("sqlite://{}", rig.database.display()))
        .await
        .unwrap()
        .with_data_keys(hedui_testkit::test_data_keys());
    for (key, record_id) in &all_keys {
        let (record, _) = store
            .get_by_idempotency_key(key)
            .await
            .unwrap()
            .expect("a record per key");
        assert_eq!(&record.record_id, record_id);
    }
    let stored = store
        .list_records(&hedui_store::ListFilter {
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        stored.len(),
        all_keys.len(),
        "no record without its household, none doubled"
    );
    // Every acknowledged submit is in the audit log.
    let logged: std::collections::HashSet<String> = store
        .audit_entries(&AuditFilter {
            action: Some("SubmitVerification".into()),
            limit: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.status == "OK")
        .map(|e| e.record_digest)
        .collect();
    for digest in &acked_digests {
        assert!(
            logged.contains(digest),
            "acknowledged record {digest} is in the audit log"
        );
    }
    store.close().await;
    // A clean stop, then the offline verification an auditor would run.
    let _ = Command::new("kill").args(["-TERM", &hub.0.id().to_string()]).status();
    let status = hub.0.wait().unwrap();
    assert!(status.success(), "the hub stops cleanly on SIGTERM: {status:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args([
            "audit",
            "verify",
            "--database",
            &format!("sqlite://{}", rig.database.display()),
            "--key",
            &rig.public_key,
        ])
        .arg("--data-key")
        .arg(rig.dir.path().join("data.key"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hedui audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "crash test: {ROUNDS} SIGKILLs, {} households, {acknowledged_total} acknowledged before a kill, all replayed; {}",
        all_keys.len(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
}

/// Re-checks every request, twelve at a time, counting answers.
async fn recheck_all(
    client: &VerificationServiceClient<Channel>,
    requests: &[hedui_proto::v1::RecheckRecordRequest],
    answered: Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<Result<VerificationRecord, tonic::Status>> {
    futures::stream::iter(requests.iter().cloned())
        .map(|req| {
            let mut client = client.clone();
            let answered = answered.clone();
            async move {
                let result = client.recheck_record(req).await.map(|r| r.into_inner().record.unwrap());
                answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                result
            }
        })
        .buffered(12)
        .collect()
        .await
}

/// The hub SIGKILLed at random points while re-checks are in flight, three
/// times. After each restart every caseworker retries with the same key.
/// At the end every lineage has exactly one version per round, every entry
/// that names a record names a stored one, and every version is bound to
/// its entry: `hedui audit verify --database` checks both, row by row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hub_killed_mid_recheck_leaves_every_version_with_its_entries() {
    let mut rng = seed::Rng::for_test("crash mid-recheck");
    const RECHECK_ROUNDS: usize = 3;
    const HOUSEHOLDS: usize = 24;
    let today = chrono::Utc::now().date_naive();
    let sandbox = Arc::new(Sandbox::dejiang(today));
    let rig = Rig::new(sandbox.clone()).await;
    let mut client = rig.client();
    let mut hub = rig.start_hub(&mut client).await;
    let requests: Vec<SubmitVerificationRequest> = answering(&sandbox)
        .take(HOUSEHOLDS)
        .map(|h| {
            let r = &h.household.household_ref;
            request(
                &h.household,
                &format!("SQ-RECHECK-{r}"),
                &format!("recheck-base-{r}"),
                today,
            )
        })
        .collect();
    let mut latest: Vec<String> = submit_all(&client, &requests, Arc::default())
        .await
        .into_iter()
        .map(|r| r.unwrap().0.record_id)
        .collect();
    let firsts = latest.clone();
    let mut kills = 0;
    for round in 0..RECHECK_ROUNDS {
        let rechecks: Vec<hedui_proto::v1::RecheckRecordRequest> = latest
            .iter()
            .enumerate()
            .map(|(i, id)| hedui_proto::v1::RecheckRecordRequest {
                record_id: id.clone(),
                departments: vec![hedui_proto::v1::Department::Tax as i32],
                idempotency_key: format!("recheck-{round}-{i}"),
            })
            .collect();
        let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let in_flight = {
            let (client, rechecks, answered) = (client.clone(), rechecks.clone(), answered.clone());
            tokio::spawn(async move { recheck_all(&client, &rechecks, answered).await })
        };
        let kill_after = (rng.below((HOUSEHOLDS / 2) as u64) as usize).max(1);
        while answered.load(std::sync::atomic::Ordering::SeqCst) < kill_after {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(random_delay(&mut rng, 0, 40)).await;
        hub.kill_and_reap();
        kills += 1;
        let before = in_flight.await.unwrap();
        hub = rig.start_hub(&mut client).await;
        let after = recheck_all(&client, &rechecks, Arc::default()).await;
        for (i, (earlier, now)) in before.into_iter().zip(after).enumerate() {
            let record = now.unwrap_or_else(|s| panic!("round {round}: retry of re-check {i} failed: {s}"));
            if let Ok(earlier) = earlier {
                assert_eq!(
                    record.record_id, earlier.record_id,
                    "an acknowledged re-check is replayed"
                );
            }
            assert_eq!(record.version as usize, round + 2);
            latest[i] = record.record_id;
        }
    }
    let store = Store::open(&format!("sqlite://{}", rig.database.display()))
        .await
        .unwrap()
        .with_data_keys(hedui_testkit::test_data_keys());
    for (first, last) in firsts.iter().zip(&latest) {
        let lineage = store.lineage(first).await.unwrap();
        assert_eq!(
            lineage.len(),
            RECHECK_ROUNDS + 1,
            "one version per round, none lost or doubled"
        );
        assert_eq!(&lineage.last().unwrap().record_id, last);
    }
    store.close().await;
    let _ = Command::new("kill").args(["-TERM", &hub.0.id().to_string()]).status();
    let status = hub.0.wait().unwrap();
    assert!(status.success(), "the hub stops cleanly on SIGTERM: {status:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args([
            "audit",
            "verify",
            "--database",
            &format!("sqlite://{}", rig.database.display()),
            "--key",
            &rig.public_key,
        ])
        .arg("--data-key")
        .arg(rig.dir.path().join("data.key"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hedui audit verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "re-check crash test: {kills} SIGKILLs, {HOUSEHOLDS} lineages of {} versions; {}",
        RECHECK_ROUNDS + 1,
        String::from_utf8_lossy(&out.stdout).trim()
    );
}
