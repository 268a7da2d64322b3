//! The `hedui` command as a caseworker runs it: a real process, real exit
//! codes, real messages.

use std::process::Command;

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_HUB").env_remove("HEDUI_LOG");
    c
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD: &str = r#"
household_ref = "DJ-T-1"
residence = "rural"
purpose = "minimum-living"
authorization_ref = "SQ-T-1"
[[members]]
name = "杨光明"
id_number = "520626194701205831"
relation = "applicant"

[authorization]
signed_date = "2026-11-20"
valid_until = "2027-11-19"
scan_sha256 = "9f2d5c1e7a4b3f60d8e1c2b7a9054f3e6d7c8b9a0f1e2d3c4b5a69788796a5b4"
[[authorization.signers]]
name = "杨光明"
id_number = "520626194701205831"
"#;

#[test]
fn a_bad_household_file_exits_non_zero_and_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            GOOD.replace("520626194701205831", "520626194701205832"),
            "members[0].id_number",
        ),
        (GOOD.replace("rural", "suburban"), "residence"),
        (GOOD.replace("杨光明", "杨\\u0007明"), "members[0].name"),
        (format!("{GOOD}colour = 1\n"), "colour"),
        (GOOD.replace("applicant", "spouse"), "applicant"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let f = write(&dir, &format!("h{i}.toml"), text);
        // The hub address is unreachable on purpose: a bad file must be
        // reported before any network call.
        let out = hedui()
            .args(["verify", f.to_str().unwrap(), "--hub", "http://127.0.0.1:9"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "case {i} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "case {i}: expected {expected:?} in {err}");
    }
}

#[test]
fn an_unknown_department_is_rejected_with_the_accepted_names() {
    let out = hedui().args(["adapter", "--department", "police"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown department") && err.contains("public-security"),
        "{err}"
    );
}

#[test]
fn an_unreachable_hub_is_a_plain_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(&dir, "h.toml", GOOD);
    let out = hedui()
        .args(["verify", f.to_str().unwrap(), "--hub", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the hub"));
}

#[test]
fn the_demo_runs_end_to_end_and_shows_every_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let out = hedui()
        .args(["demo", "--data-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    for verdict in ["MEETS_CRITERIA", "DOES_NOT_MEET", "NEEDS_REVIEW", "INCOMPLETE"] {
        assert!(stdout.contains(verdict), "the demo shows no {verdict}:\n{stdout}");
    }
    for flag in [
        "IDENTITY_MISMATCH",
        "IDENTITY_NOT_FOUND",
        "DECEASED_MEMBER",
        "DEPARTMENTS_DISAGREE",
        "RECENT_ACQUISITION",
    ] {
        assert!(stdout.contains(flag), "the demo shows no {flag}:\n{stdout}");
    }
    assert!(dir.path().join("hedui.db").exists());

    // The records the demo stored can be read back offline.
    let db = dir.path().join("hedui.db");
    let list = hedui()
        .args([
            "record",
            "list",
            "--verdict",
            "NEEDS_REVIEW",
            "--limit",
            "1",
            "--output",
            "json",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let json: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let id = json["records"][0]["recordId"].as_str().unwrap().to_owned();
    let show = hedui()
        .args(["record", "show", &id, "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(show.status.success());
    assert!(String::from_utf8_lossy(&show.stdout).contains("VERDICT: NEEDS_REVIEW"));

    // The printable report of the same record.
    let html = dir.path().join("report.html");
    let report = hedui()
        .args(["record", "report", &id, "-o"])
        .arg(&html)
        .arg("--database")
        .arg(&db)
        .output()
        .unwrap();
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        text.contains("居民家庭经济状况核对报告") && text.contains("需入户核查"),
        "{text}"
    );
    assert!(text.contains("复核人"));

    // An INCOMPLETE record is found by its verdict and says how to complete it.
    let list = hedui()
        .args([
            "record",
            "list",
            "--verdict",
            "INCOMPLETE",
            "--output",
            "json",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let json: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let records = json["records"].as_array().unwrap();
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| r["verdict"] == "VERDICT_INCOMPLETE"), "{json}");
    let id = records[0]["recordId"].as_str().unwrap().to_owned();
    let show = hedui()
        .args(["record", "show", &id, "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains("did not answer"), "{text}");
    assert!(
        text.contains(&format!("hedui record recheck {id} --departments ")),
        "{text}"
    );
}

#[test]
fn bad_review_and_recheck_arguments_fail_before_any_call() {
    let id = "0199c0de-0000-7000-8000-000000000001";
    // The hub address is unreachable on purpose: each must fail first.
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["record", "recheck", id, "--departments", "tax,tx"],
            &["\"tx\"", "public-security", "housing-fund"],
        ),
        (
            &["record", "review", id, "--outcome", "objection"],
            &["--note", "required"],
        ),
        (
            &["record", "review", id, "--outcome", "maybe"],
            &["confirmed, corrected or objection"],
        ),
        (
            &["record", "review", "not-an-id", "--outcome", "confirmed"],
            &["not a UUID"],
        ),
    ];
    for (args, expected) in cases {
        let out = hedui()
            .args(args)
            .args(["--hub", "http://127.0.0.1:9"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        for e in expected {
            assert!(err.contains(e), "{args:?}: expected {e:?} in {err}");
        }
        assert!(!err.contains("cannot reach the hub"), "{args:?} made a call: {err}");
    }
}

#[test]
fn a_full_run_logs_no_names_or_id_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let out = hedui()
        .args(["demo", "--data-dir", dir.path().to_str().unwrap()])
        .env("HEDUI_LOG", "debug")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.lines().count() > 100, "debug logging was not on:\n{logs}");
    let sandbox = hedui_adapter::sandbox::Sandbox::dejiang(chrono::Utc::now().date_naive());
    let mut checked = 0;
    for h in sandbox.households() {
        for m in &h.household.members {
            assert!(!logs.contains(&m.id_number), "an ID number is in the tracing output");
            assert!(!logs.contains(&m.name), "a name is in the tracing output");
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked}");
}
