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

#[test]
fn batch_submit_reports_every_invalid_row_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    hedui_roster::write_example_csv(&roster, 5, chrono::Utc::now().date_naive()).unwrap();
    // Break the ID number on row 3 (its check character).
    let text = std::fs::read_to_string(&roster).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let cells: Vec<String> = lines[2]
        .split(',')
        .map(|c| {
            if c.len() == 18 && c[..17].bytes().all(|b| b.is_ascii_digit()) {
                let last = if c.ends_with('0') { '1' } else { '0' };
                format!("{}{last}", &c[..17])
            } else {
                c.to_owned()
            }
        })
        .collect();
    lines[2] = cells.join(",");
    std::fs::write(&roster, lines.join("\n") + "\n").unwrap();
    // The hub address is unreachable on purpose: nothing may be sent.
    let out = hedui()
        .args([
            "batch",
            "submit",
            roster.to_str().unwrap(),
            "--purpose",
            "minimum-living",
        ])
        .args(["--hub", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("row 3"), "{err}");
    assert!(err.contains("nothing was started"), "{err}");
    assert!(err.contains("--skip-invalid"), "{err}");
    assert!(!err.contains("cannot reach the hub"), "{err}");
    // Bad flags are named.
    for (args, expected) in [
        (vec!["--purpose", "groceries"], "--purpose"),
        (vec!["--purpose", "minimum-living", "--window", "30"], "--window"),
        (
            vec!["--purpose", "minimum-living", "--window", "2020-01..2099-01"],
            "--window",
        ),
    ] {
        let out = hedui()
            .args(["batch", "submit", roster.to_str().unwrap()])
            .args(&args)
            .args(["--hub", "http://127.0.0.1:1"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
