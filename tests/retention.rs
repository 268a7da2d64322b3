//! `hedui retention apply` end to end (issue #15 item 3), run as an
//! administrator beside a serving hub: the dry run changes nothing; the run
//! erases the record past retention (its ciphertext and wrapped key are no
//! longer in the database file), leaves the others readable, and `hedui
//! audit verify` and `hedui audit who` still pass; zero or negative periods
//! are refused naming the field.

#[path = "hub/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "hub/proxy.rs"]
#[allow(dead_code)]
mod proxy;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use hedui_proto::v1::GetRecordRequest;
use hedui_tls::Role;
use helpers::{Behaviour, TestSystem};
use tonic::Code;

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_HUB")
        .env_remove("HEDUI_LOG")
        .env_remove("HEDUI_DATABASE_URL")
        .env_remove("LC_ALL")
        .env_remove("LANG");
    c
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A hub configuration for the administrator's command: the database, the
/// hub key and data key beside it, the log's name, and `retention`.
fn config(dir: &Path, url: &str, retention: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let key = dir.join("hub.key");
    std::fs::write(&key, hedui_audit::checkpoint::format_signing_key(&helpers::hub_key())).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    helpers::write_data_key(dir);
    let path = dir.join(format!("hub-{}.toml", retention.len()));
    std::fs::write(
        &path,
        format!(
            "database_url = \"{url}\"\nhub_key = \"hub.key\"\ndata_key = \"data.key\"\naudit_origin = \"hedui.test/audit\"\n{retention}"
        ),
    )
    .unwrap();
    path
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The database file and its WAL, as `strings hedui.db` would read them.
fn file_bytes(db: &Path) -> Vec<u8> {
    let mut all = std::fs::read(db).unwrap();
    all.extend(std::fs::read(format!("{}-wal", db.display())).unwrap_or_default());
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_apply_erases_what_is_past_the_period_and_the_log_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hedui.db");
    let url = format!("sqlite://{}", db.display());
    let sys = TestSystem::on_database(|_| Behaviour::Sandbox, Duration::from_secs(10), &url).await;
    let mut hub = sys.hub.clone();
    let h = helpers::household("qualifies");
    let new = hub
        .submit_verification(helpers::request(&h, "retention-cli-new"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    // A record the hub stored in 2019, and a caseworker's read of it.
    let mut old = new.clone();
    old.record_id = uuid::Uuid::now_v7().to_string();
    old.created_at = "2019-03-01T10:00:00.000Z".into();
    hedui_domain::digest::seal(&mut old);
    helpers::store_as_hub(&sys, &mut old, "retention-cli-old").await;
    let read = |id: &str| GetRecordRequest { record_id: id.into() };
    hub.get_record(read(&old.record_id)).await.unwrap();
    let sealed = sys
        .state
        .store
        .fetch_bytes_for_tests(&format!(
            "SELECT body FROM records WHERE record_id = '{0}' UNION ALL SELECT wrapped_key FROM records WHERE record_id = '{0}'",
            old.record_id
        ))
        .await
        .unwrap();
    assert_eq!(sealed.len(), 2);
    let (body, wrapped) = (&sealed[0], &sealed[1]);
    let conf = config(dir.path(), &url, "[retention]\nkeep_records = \"5y\"\n");
    let apply = |extra: &[&str]| {
        let mut c = hedui();
        c.args(["retention", "apply", "--config"]).arg(&conf).args(extra);
        c.output().unwrap()
    };

    // The dry run says what would go and changes nothing.
    let out = apply(&["--dry-run"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("dry run, nothing changed: would erase 1 record(s), created 2019-03-01T10:00:00.000Z"),
        "{stdout}"
    );
    assert_eq!(
        hub.get_record(read(&old.record_id)).await.unwrap().into_inner().record,
        Some(old.clone())
    );

    // The run erases it, beside the serving hub.
    let out = apply(&["--chunk", "1"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("erased 1 record(s)"), "{stdout}");
    let err = hub.get_record(read(&old.record_id)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(
        hub.get_record(read(&new.record_id)).await.unwrap().into_inner().record,
        Some(new.clone())
    );
    let bytes = file_bytes(&db);
    assert!(
        !holds(&bytes, &body[body.len() / 2..body.len() / 2 + 32]),
        "the ciphertext is still in the file"
    );
    assert!(!holds(&bytes, wrapped), "the wrapped data key is still in the file");

    // The auditor still finds who read the erased household's records.
    let auditor = sys.pki.files(&Role::Auditor, "li.si");
    let out = hedui()
        .args(["audit", "who", "--id-number", &h.household.members[0].id_number])
        .args(["--hub", &format!("https://{}", sys.hub_addr)])
        .arg("--ca")
        .arg(&auditor.ca)
        .arg("--cert")
        .arg(&auditor.cert)
        .arg("--key")
        .arg(&auditor.key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("GetRecord"),
        "{}",
        text(&out)
    );
    sys.stop().await;

    // The CLI reading the file says what happened, in English.
    let data_key = dir.path().join("data.key");
    let out = hedui()
        .args(["record", "show", &old.record_id, "--database", &url, "--data-key"])
        .arg(&data_key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("was erased under the retention period on"),
        "{}",
        text(&out)
    );
    let out = hedui()
        .args(["record", "list", "--database", &url, "--data-key"])
        .arg(&data_key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("(erased under retention on"), "{}", text(&out));

    // The log verifies, with the run's entry in it.
    let public = hedui_audit::checkpoint::format_public_key(&helpers::hub_key().verifying_key());
    let out = hedui()
        .args(["audit", "verify", "--key", &public, "--database"])
        .arg(&db)
        .arg("--data-key")
        .arg(&data_key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_period_of_zero_or_less_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hedui.db");
    std::fs::write(&db, b"").unwrap();
    let url = format!("sqlite://{}", db.display());
    for (retention, field) in [
        ("[retention]\nkeep_records = \"0y\"\n", "retention.keep_records"),
        ("[retention]\nkeep_records = \"-5y\"\n", "retention.keep_records"),
        ("[retention]\nkeep_records = \"five years\"\n", "retention.keep_records"),
        (
            "[retention]\nkeep_records = \"5y\"\napply_every = \"0s\"\n",
            "retention.apply_every",
        ),
    ] {
        let conf = config(dir.path(), &url, retention);
        let out = hedui()
            .args(["retention", "apply", "--config"])
            .arg(&conf)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{retention}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(field),
            "{retention}: {}",
            text(&out)
        );
        let out = hedui()
            .args(["config", "check", "--config"])
            .arg(&conf)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{retention}: {}", text(&out));
    }
    let conf = config(dir.path(), &url, "[retention]\nkeep_records = \"5y\"\n");
    let out = hedui()
        .args(["retention", "apply", "--keep", "-1d", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!out.status.success() && text(&out).contains("--keep"), "{}", text(&out));
    // Without a [retention] table, retention is off and the command says so.
    let conf = config(dir.path(), &url, "");
    let out = hedui()
        .args(["retention", "apply", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        !out.status.success() && text(&out).contains("retention is off"),
        "{}",
        text(&out)
    );
}
