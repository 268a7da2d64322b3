//! The hub's runtime role cannot change the rules (issue 10, item 10).
//!
//! On a fresh PostgreSQL database owned by a fresh owner role, `hedui
//! migrate --grant-runtime` makes a second fresh role the hub's runtime
//! role. Connected as that role, this checks that every way of switching the
//! append-only rules off or rewriting the log is refused by the database
//! itself (DISABLE TRIGGER, DROP, UPDATE, DELETE, TRUNCATE), and that what
//! the hub does (start without migrating, store a record, append to the
//! audit log, run a batch household) works.
//!
//! Skipped with a notice when PostgreSQL cannot be reached, unless
//! `HEDUI_REQUIRE_POSTGRES=1` (as in CI), which makes that a failure. The
//! server is `HEDUI_TEST_POSTGRES_URL`, or 127.0.0.1:5432 as postgres or
//! root; it must let that user create databases and roles.

use std::process::Command;

use hedui_audit::entry::{AuditEntry, PersonRef};
use hedui_proto::v1::{Purpose, Verdict, VerificationRecord};
use hedui_store::batch::{NewBatch, NewItem};
use hedui_store::runtime_role::RUNTIME_PRIVILEGES;
use hedui_store::{PutOutcome, Store};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection as _, Executor as _, PgConnection};

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_DATABASE_URL").env_remove("HEDUI_LOG");
    c
}

/// A superuser connection URL, or `None` (with a notice) when no server
/// answers and PostgreSQL is not required.
async fn admin_url() -> Option<String> {
    let candidates: Vec<String> = match std::env::var("HEDUI_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => vec![url],
        _ => vec![
            "postgres://postgres@127.0.0.1:5432/test".into(),
            "postgres://root@127.0.0.1:5432/test".into(),
        ],
    };
    let mut last = String::new();
    for url in candidates {
        match PgConnection::connect(&url).await {
            Ok(conn) => {
                let _ = conn.close().await;
                return Some(url);
            }
            Err(e) => last = e.to_string(),
        }
    }
    if std::env::var("HEDUI_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("PostgreSQL is required (HEDUI_REQUIRE_POSTGRES=1) but cannot be reached: {last}");
    }
    eprintln!("NOTICE: PostgreSQL cannot be reached ({last}); skipping the runtime-role test");
    None
}

/// The URL of `database` on the admin URL's server, as `user`.
fn url_as(admin: &str, user: &str, password: &str, database: &str) -> String {
    let opts: PgConnectOptions = admin.parse().unwrap();
    format!(
        "postgres://{user}:{password}@{}:{}/{database}",
        opts.get_host(),
        opts.get_port()
    )
}

/// A fresh database owned by a fresh owner role, and a fresh runtime role;
/// everything is removed by [`Rig::remove`].
struct Rig {
    admin: String,
    database: String,
    owner: String,
    runtime: String,
}

const PASSWORD: &str = "test-only";

impl Rig {
    async fn create(admin: String) -> Rig {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let rig = Rig {
            admin,
            database: format!("hedui_test_{id}"),
            owner: format!("hedui_owner_{}", &id[..12]),
            runtime: format!("hedui_hub_{}", &id[..12]),
        };
        let mut conn = PgConnection::connect(&rig.admin).await.unwrap();
        for sql in [
            format!("CREATE ROLE {} LOGIN PASSWORD '{PASSWORD}'", rig.owner),
            format!("CREATE ROLE {} LOGIN PASSWORD '{PASSWORD}'", rig.runtime),
            format!("CREATE DATABASE {} OWNER {}", rig.database, rig.owner),
        ] {
            // The test's own names, made above.
            conn.execute(AssertSqlSafe(sql)).await.unwrap();
        }
        let _ = conn.close().await;
        // PostgreSQL before 15 lets PUBLIC create in `public`; take that away
        // so the test means the same on every version.
        let mut conn = PgConnection::connect(&url_as(&rig.admin, &rig.owner, PASSWORD, &rig.database))
            .await
            .unwrap();
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            .await
            .unwrap();
        let _ = conn.close().await;
        rig
    }

    fn owner_url(&self) -> String {
        url_as(&self.admin, &self.owner, PASSWORD, &self.database)
    }

    fn runtime_url(&self) -> String {
        url_as(&self.admin, &self.runtime, PASSWORD, &self.database)
    }

    async fn remove(&self) {
        let mut conn = PgConnection::connect(&self.admin).await.unwrap();
        for sql in [
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
            format!("DROP ROLE IF EXISTS {}", self.runtime),
            format!("DROP ROLE IF EXISTS {}", self.owner),
        ] {
            if let Err(e) = conn.execute(AssertSqlSafe(sql.as_str())).await {
                eprintln!("cleaning up: {sql}: {e}");
            }
        }
        let _ = conn.close().await;
    }
}

fn record(id: &str) -> VerificationRecord {
    let mut r = VerificationRecord {
        record_id: id.into(),
        request_id: format!("req-{id}"),
        created_at: "2026-11-26T10:00:00.000Z".into(),
        purpose: Purpose::MinimumLiving as i32,
        verdict: Verdict::DoesNotMeet as i32,
        policy_version: "test".into(),
        ..Default::default()
    };
    hedui_domain::digest::seal(&mut r);
    r
}

fn entry(seq: u64) -> AuditEntry {
    AuditEntry {
        seq,
        time: format!("2026-11-26T10:00:{seq:02}.000Z"),
        actor: "caseworker:wang.wu".into(),
        role: "caseworker".into(),
        action: "SubmitVerification".into(),
        purpose: "minimum-living".into(),
        request_id: String::new(),
        persons: vec![PersonRef::new(b"k", "520626194701205831")],
        departments: vec!["tax".into()],
        status: "OK".into(),
        record_digest: String::new(),
        detail: String::new(),
    }
}

/// `sql`, run as the runtime role, is refused for lack of a privilege.
async fn refused(store: &Store, sql: &str) {
    match store.execute_raw_for_tests(sql).await {
        Ok(n) => panic!("the runtime role was allowed: {sql} ({n} rows)"),
        Err(e) => assert!(
            e.is_permission_denied(),
            "{sql}: refused, but not for lack of privilege: {e}"
        ),
    }
}

#[tokio::test]
async fn the_runtime_role_cannot_switch_the_rules_off_and_the_hub_still_works() {
    let Some(admin) = admin_url().await else {
        return;
    };
    let rig = std::sync::Arc::new(Rig::create(admin).await);
    let outcome = tokio::spawn({
        let rig = rig.clone();
        async move { runtime_role_case(&rig).await }
    })
    .await;
    rig.remove().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn runtime_role_case(rig: &Rig) {
    // A hub told to migrate, as the runtime role on an empty database, is
    // refused with the command to run instead.
    let as_hub = |migrate_on_start| hedui_hub::OpsOptions {
        migrate_on_start,
        database_connect_timeout: std::time::Duration::ZERO,
        ..hedui_hub::OpsOptions::default()
    };
    let err = hedui_hub::startup::open_store(&rig.runtime_url(), &as_hub(true))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, hedui_hub::startup::OpenError::CannotMigrate { found: 0, .. }),
        "{text}"
    );
    assert!(text.contains("--grant-runtime"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");

    // The owner migrates and grants, with the real command, twice: the
    // second run changes nothing and says the same.
    let mut printed = Vec::new();
    for _ in 0..2 {
        let out = hedui()
            .args([
                "migrate",
                "--database",
                &rig.owner_url(),
                "--grant-runtime",
                &rig.runtime,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("audit_entries        SELECT, INSERT"), "{stdout}");
        assert!(
            stdout.contains("batch_items          SELECT, INSERT, UPDATE"),
            "{stdout}"
        );
        assert!(!stdout.contains("not a table of hedui"), "{stdout}");
        printed.push(stdout.lines().skip(1).collect::<Vec<_>>().join("\n"));
    }
    assert_eq!(printed[0], printed[1]);

    // Every table the migrations made is one the grant knows, and the other
    // way round: a migration that adds a table must say what the hub needs.
    let owner = Store::open_without_migrating(&rig.owner_url()).await.unwrap();
    let grant = owner.grant_runtime(&rig.runtime).await.unwrap();
    assert!(grant.unknown_tables.is_empty(), "{:?}", grant.unknown_tables);
    let mut granted: Vec<&str> = grant.granted.iter().map(|(t, _)| t.as_str()).collect();
    let mut known: Vec<&str> = RUNTIME_PRIVILEGES.iter().map(|(t, _)| *t).collect();
    granted.sort_unstable();
    known.sort_unstable();
    assert_eq!(granted, known);
    assert!(!grant.may_create_in_schema);

    // Roles that no grant can limit are refused, and a missing role is
    // named with the statement that makes it.
    for (role, says) in [
        (rig.owner.as_str(), "is the role running this command"),
        ("hedui_no_such_role", "CREATE ROLE \"hedui_no_such_role\" LOGIN"),
    ] {
        let out = hedui()
            .args(["migrate", "--database", &rig.owner_url(), "--grant-runtime", role])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains(PASSWORD), "{stderr}");
    }

    // A role that may act as the owner (a member of it) is refused too, and
    // so is a role with more than the list through PUBLIC; neither run
    // changes what the runtime role holds.
    let mut as_owner = PgConnection::connect(&url_as(&rig.admin, &rig.owner, PASSWORD, &rig.database))
        .await
        .unwrap();
    let mut superuser = PgConnection::connect(&rig.admin).await.unwrap();
    superuser
        .execute(AssertSqlSafe(format!("GRANT {} TO {}", rig.owner, rig.runtime)))
        .await
        .unwrap();
    let err = owner.grant_runtime(&rig.runtime).await.unwrap_err().to_string();
    assert!(err.contains("may act as the owner of audit_checkpoints"), "{err}");
    assert!(err.contains("REASSIGN OWNED BY"), "{err}");
    superuser
        .execute(AssertSqlSafe(format!("REVOKE {} FROM {}", rig.owner, rig.runtime)))
        .await
        .unwrap();
    let _ = superuser.close().await;
    as_owner
        .execute("GRANT DELETE ON audit_persons TO PUBLIC")
        .await
        .unwrap();
    let err = owner.grant_runtime(&rig.runtime).await.unwrap_err().to_string();
    assert!(err.contains("would still hold DELETE on audit_persons"), "{err}");
    as_owner
        .execute("REVOKE DELETE ON audit_persons FROM PUBLIC")
        .await
        .unwrap();
    let _ = as_owner.close().await;
    assert_eq!(owner.grant_runtime(&rig.runtime).await.unwrap(), grant);

    // The hub starts as the runtime role, told to migrate or not: the
    // schema is current, and reading its version is all it needs.
    for migrate_on_start in [false, true] {
        let store = hedui_hub::startup::open_store(&rig.runtime_url(), &as_hub(migrate_on_start))
            .await
            .unwrap();
        assert_eq!(store.schema_version().await.unwrap(), Store::known_schema_version());
        assert_eq!(
            store.applied_migrations().await.unwrap().len(),
            Store::known_migrations().len()
        );
        store.close().await;
    }
    let hub = Store::open_without_migrating(&rig.runtime_url())
        .await
        .unwrap()
        .with_data_keys(hedui_store::DataKeys::generate().unwrap().into_provider());

    // What the hub does works: a record, audit entries, a batch household.
    let r = record("0193a3a0-0000-7000-8000-000000000001");
    assert!(matches!(
        hub.put_record(&r, "key-1", "hash-1").await.unwrap(),
        PutOutcome::Inserted
    ));
    assert_eq!(hub.get_record(&r.record_id).await.unwrap().unwrap(), r);
    let entries: Vec<_> = (0..3)
        .map(|seq| {
            let e = entry(seq);
            let leaf = e.leaf();
            (e, leaf)
        })
        .collect();
    hub.append_audit(&entries).await.unwrap();
    assert_eq!(hub.audit_size().await.unwrap(), 3);
    let batch = NewBatch {
        batch_id: uuid::Uuid::new_v4().to_string(),
        label: "runtime role".into(),
        purpose: "MINIMUM_LIVING".into(),
        window_from: "2025-11".into(),
        window_to: "2026-10".into(),
        asset_date: String::new(),
        created_by_role: "caseworker".into(),
        created_by_name: "wang.wu".into(),
        created_by_serial: "01".into(),
        created_at: "2026-11-26T10:00:00.000Z".into(),
    };
    hub.create_batch(&batch).await.unwrap();
    let item = NewItem {
        first_row: 2,
        household_ref: "H-1".into(),
        request: vec![1, 2, 3],
    };
    hub.add_batch_items(&batch.batch_id, &[item]).await.unwrap().unwrap();
    hub.start_batch(&batch.batch_id, "2026-11-26T10:00:01.000Z")
        .await
        .unwrap();
    let now = hedui_store::batch::now_ms();
    let claimed = hub.claim_batch_items("hub-a", now, now + 60_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(hub.release_batch_leases("hub-a").await.unwrap(), 1);

    // And nothing that would change the rules or the log is allowed.
    for sql in [
        "ALTER TABLE audit_entries DISABLE TRIGGER ALL",
        "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only",
        "ALTER TABLE audit_persons DISABLE TRIGGER ALL",
        "ALTER TABLE audit_checkpoints DISABLE TRIGGER ALL",
        "ALTER TABLE record_reviews DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_entries_append_only ON audit_entries",
        "DROP TABLE audit_entries CASCADE",
        "DROP TABLE record_reviews",
        "DROP FUNCTION audit_append_only() CASCADE",
        "UPDATE audit_entries SET actor = 'caseworker:someone.else' WHERE seq = 1",
        "DELETE FROM audit_entries WHERE seq = 2",
        "DELETE FROM audit_persons",
        "UPDATE audit_checkpoints SET checkpoint = ''",
        "TRUNCATE audit_entries CASCADE",
        "UPDATE records SET verdict = 'MEETS_CRITERIA'",
        "DELETE FROM record_persons",
        "DELETE FROM records",
        "DELETE FROM batch_items",
        "DELETE FROM schema_migrations",
        "CREATE TABLE forged (x TEXT)",
        "ALTER TABLE records OWNER TO CURRENT_USER",
    ] {
        refused(&hub, sql).await;
    }
    // The log is as it was written.
    assert_eq!(hub.audit_size().await.unwrap(), 3);
    let stored = hub.audit_all().await.unwrap();
    assert_eq!(stored[1].actor, "caseworker:wang.wu");
    hub.close().await;
    owner.close().await;
}

#[test]
fn on_sqlite_the_command_says_what_protects_the_file_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hedui.db");
    let url = format!("sqlite://{}", db.display());
    let out = hedui()
        .args(["migrate", "--database", &url, "--grant-runtime", "hedui_hub"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("SQLite has no database roles"), "{stderr}");
    assert!(stderr.contains("permissions"), "{stderr}");
    assert!(stderr.contains("signed checkpoints"), "{stderr}");
    // Nothing was migrated: the command did nothing rather than half.
    let out = hedui()
        .args(["migrate", "--database", &url, "--status"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("schema version 0"), "{stdout}");
}
