//! Backups and restores (issue #15 item 5).
//!
//! - A backup taken with `hedui backup` while a real `hedui hub` process
//!   (mutual TLS, eight adapters) runs a batch restores with `hedui
//!   restore`, and every record acknowledged before the backup began is
//!   in the restored database and verifies.
//! - PostgreSQL: `pg_dump --format=custom` then `pg_restore` into a new
//!   database keeps the audit log verifiable and every record readable.
//! - Bad input: files that are not backups, a directory that is not empty,
//!   a backup that does not verify; each a plain error, nothing written.
//!
//! The batch's size is `HEDUI_BACKUP_TEST_HOUSEHOLDS` (default 400, so that
//! a debug build stays well under a minute; the 2,000 by hand).
//! `HEDUI_BACKUP_BENCH_RECORDS` sizes the ignored benchmark
//! `backup_and_restore_time_per_ten_thousand_records`, which prints figures
//! and asserts no time.

#[path = "hub/helpers.rs"]
#[allow(dead_code)]
mod helpers;
/// The tests' data key file (the hub's in every test here), written once.
fn data_key_file() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    let path = dir.path().join("data.key");
    if !path.exists() {
        helpers::write_data_key(dir.path());
    }
    path
}

#[path = "hub/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hedui_domain::department::slug;
use hedui_proto::v1::batch_service_client::BatchServiceClient;
use hedui_proto::v1::{BatchState, GetBatchRequest, RecordSummary};
use hedui_store::{ListFilter, Store};
use hedui_tls::Role;
use helpers::{Behaviour, TestSystem};

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_HUB")
        .env_remove("HEDUI_LOG")
        .env_remove("HEDUI_DATABASE_URL")
        .env_remove("LC_ALL")
        .env_remove("LANG");
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("hedui runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The hub's public key as `--key` takes it.
fn public_key() -> String {
    hedui_audit::checkpoint::format_public_key(&helpers::hub_key().verifying_key())
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A `hedui hub` process, killed and reaped when dropped.
struct Hub(Child);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every record of the store, every version, newest first.
async fn all_records(store: &Store) -> Vec<RecordSummary> {
    store
        .list_records(&ListFilter {
            limit: u32::MAX,
            ..ListFilter::default()
        })
        .await
        .unwrap()
}

/// Every file under `dir`, recursively, sorted: to see that a failed
/// command wrote nothing.
fn tree(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            let len = std::fs::metadata(&p).unwrap().len();
            out.push((p, len));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_a_batch_runs_restores_every_record_acknowledged_before_it() {
    let n: usize = std::env::var("HEDUI_BACKUP_TEST_HOUSEHOLDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    // Eight slow adapters in this process; a real hub process asks them.
    let adapters = TestSystem::with(|_| Behaviour::Slow(Duration::from_millis(5)), Duration::from_secs(10)).await;
    let dir = tempfile::tempdir().unwrap();
    let today = chrono::Utc::now().date_naive();
    let roster = dir.path().join("roster.csv");
    hedui_roster::write_example_csv(&roster, n, today).unwrap();
    let hub_files = adapters.pki.files(&Role::Hub, "hub-real");
    let cw = adapters.pki.files(&Role::Caseworker, "wang.wu");
    std::fs::write(dir.path().join("policy.toml"), helpers::EXAMPLE_POLICY).unwrap();
    let key_file = dir.path().join("hub.key");
    std::fs::write(
        &key_file,
        hedui_audit::checkpoint::format_signing_key(&helpers::hub_key()),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    helpers::write_data_key(dir.path());
    let listen = free_port();
    let db = dir.path().join("live").join("hedui.db");
    std::fs::create_dir(db.parent().unwrap()).unwrap();
    let mut config = format!(
        "listen = \"{listen}\"\ndatabase_url = \"{}\"\npolicy = \"policy.toml\"\nhub_key = \"hub.key\"\ndata_key = \"data.key\"\n\
         checkpoint_interval_s = 1\n\
         [tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n\
         [batch]\nin_flight = 8\n",
        sqlite_url(&db),
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
    let _hub = Hub(hedui()
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
    let out = run(hedui()
        .args([
            "batch",
            "submit",
            roster.to_str().unwrap(),
            "--purpose",
            "minimum-living",
        ])
        .args(["--window", "12", "--label", "backup test"])
        .args(["--hub", &hub_url])
        .args(["--ca", cw.ca.to_str().unwrap()])
        .args(["--cert", cw.cert.to_str().unwrap()])
        .args(["--key", cw.key.to_str().unwrap()]));
    assert!(out.status.success(), "{}", text(&out));
    let batch_id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut batches = BatchServiceClient::new(adapters.pki.channel(listen, &Role::Caseworker, "wang.wu"));
    // A quarter of the way in, note every record acknowledged so far, then
    // back up while the batch goes on.
    let mut started = false;
    for _ in 0..6000 {
        if batch_state(&mut batches, &batch_id).await.1 >= n / 4 {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(started, "the batch made no progress");
    let live = Store::open_without_migrating(&sqlite_url(&db))
        .await
        .unwrap()
        .with_data_keys(helpers::data_keys());
    let acknowledged = all_records(&live).await;
    live.close().await;
    let (_, done_before) = batch_state(&mut batches, &batch_id).await;
    let backup = dir.path().join("backups").join("hedui-backup.db");
    std::fs::create_dir(backup.parent().unwrap()).unwrap();
    let began = Instant::now();
    let child = hedui()
        .args(["backup", "--config", config_path.to_str().unwrap()])
        .args(["--out", backup.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The batch's progress while the backup runs, for the figures (how
    // much the hub did meanwhile depends on the machine, so it is printed,
    // not asserted).
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    let mut during = Vec::new();
    while !waiting.is_finished() {
        during.push(batch_state(&mut batches, &batch_id).await.1);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = waiting.await.unwrap();
    let backup_time = began.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    let (_, done_after) = batch_state(&mut batches, &batch_id).await;
    assert!(
        done_before < n,
        "the batch ended before the backup began ({done_before} of {n} done)"
    );
    assert!(
        std::fs::read_dir(backup.parent().unwrap()).unwrap().count() == 1,
        "only the backup is left beside it"
    );

    // The hub goes on and finishes the batch.
    let mut finished = false;
    for _ in 0..12000 {
        if batch_state(&mut batches, &batch_id).await.0 == BatchState::Done as i32 {
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(finished, "the batch did not finish after the backup");

    // Restore with the hub's configuration (its hub_key gives the public
    // key) into a new directory.
    let restored_dir = dir.path().join("restored");
    let out = run(hedui()
        .args(["restore", backup.to_str().unwrap()])
        .args(["--data-dir", restored_dir.to_str().unwrap()])
        .args(["--config", config_path.to_str().unwrap()]));
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("OK: ") && said.contains("read back"), "{said}");
    let restored_db = restored_dir.join("hedui.db");
    {
        // Personal data: only the hub's user may read either file.
        use std::os::unix::fs::PermissionsExt as _;
        for f in [&backup, &restored_db] {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} has mode {mode:o}", f.display());
        }
    }
    assert_eq!(
        tree(&restored_dir),
        vec![(restored_db.clone(), std::fs::metadata(&restored_db).unwrap().len())],
        "the restore leaves exactly the database"
    );

    // Every record acknowledged before the backup began is there and
    // verifies (digest, seal, binding to its audit entry).
    let restored = Store::open_without_migrating(&sqlite_url(&restored_db))
        .await
        .unwrap()
        .with_data_keys(helpers::data_keys())
        .with_seal_key(helpers::hub_key().verifying_key());
    for s in &acknowledged {
        let record = restored.get_record(&s.record_id).await.unwrap().unwrap_or_else(|| {
            panic!(
                "record {} was acknowledged before the backup but is not restored",
                s.record_id
            )
        });
        assert_eq!(record.digest, s.digest);
    }
    let in_restore = all_records(&restored).await.len();
    let report = restored
        .check_integrity(&helpers::hub_key().verifying_key())
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    restored.close().await;
    assert!(in_restore >= acknowledged.len() && in_restore <= n);
    // And an auditor's own check agrees.
    let out = run(hedui()
        .args(["audit", "verify", "--database", &sqlite_url(&restored_db)])
        .arg("--data-key")
        .arg(data_key_file())
        .args(["--key", &public_key()]));
    assert!(out.status.success(), "{}", text(&out));
    eprintln!(
        "backup under load: {n} households; {} records acknowledged before the backup ({done_before} done), {in_restore} in the backup, {done_after} done when it returned (seen meanwhile: {during:?}); backup took {:.2} s; {} entries verified in the restore",
        acknowledged.len(),
        backup_time.as_secs_f64(),
        report.entries
    );
}

/// The batch's state and how many of its households are done.
async fn batch_state(c: &mut BatchServiceClient<tonic::transport::Channel>, id: &str) -> (i32, usize) {
    let b = c
        .get_batch(GetBatchRequest { batch_id: id.into() })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    (b.state, b.done as usize)
}

/// A stopped test hub's database (SQLite) holding `households` sandbox
/// verifications, its log closed with a final checkpoint.
async fn small_database(dir: &Path, households: usize) -> PathBuf {
    let db = dir.join("live.db");
    let mut sys = TestSystem::on_database(|_| Behaviour::Sandbox, Duration::from_secs(10), &sqlite_url(&db)).await;
    submit(&mut sys, households).await;
    sys.stop().await;
    db
}

async fn submit(sys: &mut TestSystem, households: usize) {
    let all = helpers::sandbox().households().to_vec();
    for (i, h) in all.iter().take(households).enumerate() {
        sys.hub
            .submit_verification(helpers::request(h, &format!("backup-{i}")))
            .await
            .unwrap();
    }
}

/// `hedui restore FILE --data-dir DIR --key KEY` with the tests' data key.
fn restore(file: &Path, data_dir: &Path, key: &str) -> Output {
    run(hedui()
        .args(["restore", file.to_str().unwrap()])
        .arg("--data-key")
        .arg(data_key_file())
        .args(["--data-dir", data_dir.to_str().unwrap()])
        .args(["--key", key]))
}

fn backup_of(db: &Path, out: &Path) {
    let o = run(hedui().args(["backup", "--database", &sqlite_url(db), "--out", out.to_str().unwrap()]));
    assert!(o.status.success(), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_a_backup_is_refused_by_name_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_database(dir.path(), 3).await;
    let good = dir.path().join("good.hedb");
    backup_of(&db, &good);
    let key = public_key();

    // Files that are not backups, each with its reason.
    let bad = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let empty = bad("empty.hedb", b"");
    let words = bad("notes.txt", "核对报告 not a database\n".as_bytes());
    let header_only = bad("header.hedb", b"SQLite format 3\0 and then nothing");
    let mut cut = std::fs::read(&good).unwrap();
    cut.truncate(cut.len() / 2);
    let truncated = bad("truncated.hedb", &cut);
    let other_app = dir.path().join("other.db");
    {
        let o = Command::new("sqlite3")
            .arg(&other_app)
            .arg("PRAGMA application_id = 1234; CREATE TABLE t (x);")
            .output();
        if !o.is_ok_and(|o| o.status.success()) {
            // No sqlite3 here: a marked file with the right header made by
            // hand is enough to stand for it.
            let mut bytes = std::fs::read(&good).unwrap();
            bytes[68..72].copy_from_slice(&1234i32.to_be_bytes());
            std::fs::write(&other_app, bytes).unwrap();
        }
    }
    // A live database copied by hand, and a backup whose migration was
    // changed, or that a newer hedui wrote.
    let live_copy = dir.path().join("copied.db");
    std::fs::copy(&db, &live_copy).unwrap();
    let edited = dir.path().join("edited.hedb");
    std::fs::copy(&good, &edited).unwrap();
    sqlite_exec(
        &edited,
        "UPDATE schema_migrations SET checksum = 'abc' WHERE version = 2",
    )
    .await;
    let newer = dir.path().join("newer.hedb");
    std::fs::copy(&good, &newer).unwrap();
    sqlite_exec(
        &newer,
        "INSERT INTO schema_migrations (version, name, applied_at, checksum) \
         SELECT MAX(version) + 1, '9999_future', '2030-01-01T00:00:00.000Z', 'x' FROM schema_migrations",
    )
    .await;
    let cases: Vec<(&Path, &str)> = vec![
        (&empty, "not an SQLite database"),
        (&words, "not an SQLite database"),
        (&header_only, "not an SQLite database"),
        (&truncated, "not a hedui backup"),
        (&other_app, "another application's SQLite database"),
        (&live_copy, "`hedui backup` did not write"),
        (&edited, "migration 2 (0002_audit) was applied from a different file"),
        (&newer, "a newer hedui wrote it"),
        (dir.path(), "it is a directory"),
    ];
    for (file, reason) in cases {
        let target = dir
            .path()
            .join(format!("restore-{}", file.file_name().unwrap().to_string_lossy()));
        let out = restore(file, &target, &key);
        let said = text(&out);
        assert!(!out.status.success(), "{}: {said}", file.display());
        assert!(
            said.contains(&file.display().to_string()),
            "the message names the file: {said}"
        );
        assert!(
            said.contains(reason),
            "{}: expected {reason:?} in {said}",
            file.display()
        );
        assert!(
            !target.exists(),
            "{}: a refused restore made {}",
            file.display(),
            target.display()
        );
    }
    let missing = dir.path().join("no-such.hedb");
    let out = restore(&missing, &dir.path().join("r-missing"), &key);
    assert!(
        !out.status.success() && text(&out).contains("no-such.hedb"),
        "{}",
        text(&out)
    );

    // A directory that is not empty is refused naming what is in it, and
    // left as it was; so is a path that is a file.
    let occupied = dir.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("hedui.db"), b"the county's live database").unwrap();
    std::fs::write(occupied.join("notes.txt"), b"x").unwrap();
    let before = tree(&occupied);
    let out = restore(&good, &occupied, &key);
    let said = text(&out);
    assert!(!out.status.success());
    assert!(
        said.contains("--data-dir")
            && said.contains("not empty")
            && said.contains(&occupied.join("hedui.db").display().to_string())
            && said.contains("1 other"),
        "{said}"
    );
    assert_eq!(tree(&occupied), before, "a refused restore changed nothing");
    let hidden = dir.path().join("hidden");
    std::fs::create_dir(&hidden).unwrap();
    std::fs::write(hidden.join(".leftover"), b"").unwrap();
    let out = restore(&good, &hidden, &key);
    assert!(
        !out.status.success() && text(&out).contains(".leftover"),
        "{}",
        text(&out)
    );
    let out = restore(&good, &words, &key);
    assert!(
        !out.status.success() && text(&out).contains("not a directory"),
        "{}",
        text(&out)
    );

    // A backup that does not verify: under another hub's key, or with an
    // edited record. Nothing is left, not even the directory.
    let foreign =
        hedui_audit::checkpoint::format_public_key(&hedui_trust::SigningKey::from_bytes(&[7; 32]).verifying_key());
    let target = dir.path().join("foreign");
    let out = restore(&good, &target, &foreign);
    let said = text(&out);
    assert!(
        !out.status.success() && said.contains("does not verify") && said.contains("nothing was restored"),
        "{said}"
    );
    assert!(!target.exists());
    let forged = dir.path().join("forged.hedb");
    std::fs::copy(&good, &forged).unwrap();
    sqlite_exec(&forged, "UPDATE records SET household_ref = household_ref || '-edited'").await;
    let empty_dir = dir.path().join("empty-dir");
    std::fs::create_dir(&empty_dir).unwrap();
    let out = restore(&forged, &empty_dir, &key);
    let said = text(&out);
    assert!(!out.status.success() && said.contains("household_ref"), "{said}");
    assert!(
        tree(&empty_dir).is_empty(),
        "a failed restore left {:?}",
        tree(&empty_dir)
    );

    // The good one restores into the (still) empty directory.
    let out = restore(&good, &empty_dir, &key);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("3 records"), "{}", text(&out));

    // `hedui backup` never overwrites, and says what it needs.
    let before = std::fs::read(&words).unwrap();
    let out = run(hedui().args([
        "backup",
        "--database",
        &sqlite_url(&db),
        "--out",
        words.to_str().unwrap(),
    ]));
    assert!(
        !out.status.success() && text(&out).contains("--out") && text(&out).contains("already exists"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read(&words).unwrap(), before);
    let x = dir.path().join("x.hedb");
    let x = x.to_str().unwrap();
    let out = run(hedui().args(["backup", "--database", "/nowhere/hedui.db", "--out", x]));
    assert!(
        !out.status.success() && text(&out).contains("--database /nowhere/hedui.db: no such database file"),
        "{}",
        text(&out)
    );
    let out = run(hedui().args(["backup", "--out", x]));
    assert!(
        !out.status.success() && text(&out).contains("--database"),
        "{}",
        text(&out)
    );
    let out = run(hedui().args(["backup", "--database", &sqlite_url(&db), "--out", "/nowhere/x.hedb"]));
    assert!(
        !out.status.success() && text(&out).contains("/nowhere"),
        "{}",
        text(&out)
    );
    let out = run(hedui().args([
        "backup",
        "--database",
        "postgres://u:secret@127.0.0.1:9/hedui",
        "--out",
        x,
    ]));
    let said = text(&out);
    assert!(
        !out.status.success() && said.contains("pg_dump") && !said.contains("secret"),
        "{said}"
    );
    assert!(!Path::new(x).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_before_the_first_checkpoint_restores_and_says_no_signature_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("young.db");
    // The test hub signs checkpoints hourly: none yet while it runs.
    let mut sys = TestSystem::on_database(|_| Behaviour::Sandbox, Duration::from_secs(10), &sqlite_url(&db)).await;
    submit(&mut sys, 2).await;
    let backup = dir.path().join("young.hedb");
    backup_of(&db, &backup);
    sys.stop().await;
    let out = restore(&backup, &dir.path().join("restored"), &public_key());
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("0 signed checkpoint(s)") && said.contains("before the hub signed its first checkpoint"),
        "{said}"
    );
    // A hub starts on the restored database and goes on with the same log;
    // its last checkpoint at shutdown then covers the restored entries, so
    // an auditor's check passes, as the note says.
    let restored = dir.path().join("restored").join("hedui.db");
    let mut sys =
        TestSystem::on_database(|_| Behaviour::Sandbox, Duration::from_secs(10), &sqlite_url(&restored)).await;
    let h = helpers::sandbox().households()[5].clone();
    sys.hub
        .submit_verification(helpers::request(&h, "after-restore"))
        .await
        .unwrap();
    sys.stop().await;
    let out = run(hedui()
        .args(["audit", "verify", "--database", &sqlite_url(&restored)])
        .arg("--data-key")
        .arg(data_key_file())
        .args(["--key", &public_key()]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("OK: 3 records"), "{}", text(&out));
    // Every other check still holds: an edited record is refused.
    let forged = dir.path().join("forged.hedb");
    std::fs::copy(&backup, &forged).unwrap();
    sqlite_exec(&forged, "UPDATE records SET household_ref = household_ref || '-edited'").await;
    let out = restore(&forged, &dir.path().join("restored-forged"), &public_key());
    assert!(
        !out.status.success() && text(&out).contains("household_ref"),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("restored-forged").exists());
}

/// Runs `sql` on the SQLite file at `path` as it is (journal as found).
async fn sqlite_exec(path: &Path, sql: &str) {
    use sqlx::Connection as _;
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts).await.unwrap();
    // The test's own SQL.
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dump_and_restore_keep_the_audit_log_and_every_record() {
    let required = std::env::var("HEDUI_REQUIRE_POSTGRES").as_deref() == Ok("1");
    let tools = ["pg_dump", "pg_restore"].map(|t| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if tools.contains(&false) {
        assert!(
            !required,
            "HEDUI_REQUIRE_POSTGRES=1 but pg_dump or pg_restore is not on the PATH"
        );
        eprintln!("NOTICE: pg_dump or pg_restore is missing; skipping the PostgreSQL backup test");
        return;
    }
    let Some(source) = helpers::fresh_postgres().await else {
        return;
    };
    let Some(target) = helpers::fresh_postgres().await else {
        source.drop_database().await;
        return;
    };
    let result = pg_round_trip(&source.url, &target.url).await;
    source.drop_database().await;
    target.drop_database().await;
    result.unwrap();
}

async fn pg_round_trip(source: &str, target: &str) -> Result<(), String> {
    let mut sys = TestSystem::on_database(|_| Behaviour::Sandbox, Duration::from_secs(10), source).await;
    submit(&mut sys, 5).await;
    sys.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("hedui.dump");
    // As deploy/README.md says to.
    let out = Command::new("pg_dump")
        .args(["--format=custom", "--file", dump.to_str().unwrap(), source])
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(format!("pg_dump: {}", text(&out)));
    }
    let out = Command::new("pg_restore")
        .args([
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            target,
            dump.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(format!("pg_restore: {}", text(&out)));
    }
    let key = helpers::hub_key().verifying_key();
    let restored = Store::open_without_migrating(target)
        .await
        .unwrap()
        .with_data_keys(helpers::data_keys())
        .with_seal_key(key);
    let report = restored.check_integrity(&key).await.unwrap();
    let read = restored.read_every_record().await.unwrap();
    let original = Store::open_without_migrating(source)
        .await
        .unwrap()
        .with_data_keys(helpers::data_keys());
    let expected = all_records(&original).await;
    original.close().await;
    for s in &expected {
        let r = restored.get_record(&s.record_id).await.unwrap();
        if r.map(|r| r.digest) != Some(s.digest.clone()) {
            return Err(format!("record {} did not come back", s.record_id));
        }
    }
    restored.close().await;
    if !report.problems.is_empty() {
        return Err(format!("{:?}", report.problems));
    }
    if read != 5 || expected.len() != 5 || report.entries == 0 || report.checkpoints == 0 {
        return Err(format!("read {read} of {}; {report:?}", expected.len()));
    }
    let out = run(hedui()
        .args(["audit", "verify", "--database", target, "--key", &public_key()])
        .arg("--data-key")
        .arg(data_key_file()));
    if !out.status.success() {
        return Err(text(&out));
    }
    eprintln!(
        "pg_dump/pg_restore: {} entries and {read} records verified in the restored database",
        report.entries
    );
    Ok(())
}

/// Backup and restore time for `HEDUI_BACKUP_BENCH_RECORDS` records
/// (default 10,000), made through a test hub. Prints figures; run it with
/// `cargo test --release --test backup -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: prints figures, asserts no time"]
async fn backup_and_restore_time_per_ten_thousand_records() {
    use futures::StreamExt as _;
    let n: usize = std::env::var("HEDUI_BACKUP_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let sys = TestSystem::on_database(|_| Behaviour::Sandbox, Duration::from_secs(10), &sqlite_url(&db)).await;
    let households = helpers::sandbox().households().to_vec();
    let filled = Instant::now();
    let failures = futures::stream::iter(0..n)
        .map(|i| {
            let mut c = sys.hub.clone();
            let req = helpers::request(&households[i % households.len()], &format!("bench-{i}"));
            async move { c.submit_verification(req).await.is_err() }
        })
        .buffer_unordered(32)
        .filter(|failed| futures::future::ready(*failed))
        .count()
        .await;
    assert_eq!(failures, 0);
    let fill = filled.elapsed();
    // A checkpoint now, as a production hub signs one each minute; then
    // back up while the hub still runs (idle), and restore.
    hedui_proto::v1::audit_service_client::AuditServiceClient::new(sys.pki.channel(
        sys.hub_addr,
        &Role::Auditor,
        "li.si",
    ))
    .get_checkpoint(hedui_proto::v1::GetCheckpointRequest { fresh: true })
    .await
    .unwrap();
    let backup = dir.path().join("b.hedb");
    let began = Instant::now();
    backup_of(&db, &backup);
    let backup_time = began.elapsed();
    sys.stop().await;
    let began = Instant::now();
    let out = restore(&backup, &dir.path().join("restored"), &public_key());
    let restore_time = began.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    let bytes = std::fs::metadata(&backup).unwrap().len();
    let per = |d: Duration| d.as_secs_f64() * 10_000.0 / n as f64;
    println!(
        "backup bench: {n} records ({} filled in {:.1} s); backup {:.2} s ({:.2} s per 10,000 records), {:.1} MB; restore with verification {:.2} s ({:.2} s per 10,000 records)",
        n,
        fill.as_secs_f64(),
        backup_time.as_secs_f64(),
        per(backup_time),
        bytes as f64 / 1e6,
        restore_time.as_secs_f64(),
        per(restore_time)
    );
}

/// The data key is in no backup: the backup file holds no name or ID number
/// of the households verified, and a restore without the key, or with
/// another county's key, is refused and leaves nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_without_its_data_key_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let households = 3;
    let db = small_database(dir.path(), households).await;
    let backup = dir.path().join("county.hedb");
    backup_of(&db, &backup);
    let bytes = std::fs::read(&backup).unwrap();
    for h in helpers::sandbox().households().iter().take(households) {
        for m in &h.household.members {
            for needle in [&m.name, &m.id_number] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "the backup holds a household's name or ID number in plaintext"
                );
            }
        }
    }
    let key = public_key();

    // No data key at all.
    let target = dir.path().join("no-key");
    let out = run(hedui()
        .args(["restore", backup.to_str().unwrap()])
        .args(["--data-dir", target.to_str().unwrap()])
        .args(["--key", &key]));
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("data key"), "{said}");
    assert!(!target.exists(), "a refused restore leaves nothing: {said}");

    // Another county's data key (a new one from `hedui keygen`).
    let other = dir.path().join("other-data.key");
    let made = run(hedui().args(["keygen", "--kind", "data", "-o", other.to_str().unwrap()]));
    assert!(made.status.success(), "{}", text(&made));
    let target = dir.path().join("wrong-key");
    let out = run(hedui()
        .args(["restore", backup.to_str().unwrap()])
        .arg("--data-key")
        .arg(&other)
        .args(["--data-dir", target.to_str().unwrap()])
        .args(["--key", &key]));
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(!target.exists(), "a refused restore leaves nothing: {said}");

    // With its own key it restores.
    let target = dir.path().join("restored");
    let out = restore(&backup, &target, &key);
    assert!(out.status.success(), "{}", text(&out));
}
