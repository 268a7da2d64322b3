//! The `hedui` command as a caseworker runs it: a real process, real exit
//! codes, real messages.

use std::process::Command;

fn hedui() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hedui"));
    c.env_remove("HEDUI_HUB")
        .env_remove("HEDUI_LOG")
        .env_remove("LC_ALL")
        .env_remove("LANG");
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect to the hub"));
}

#[test]
fn the_demo_runs_end_to_end_and_shows_every_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let households = dir.path().join("households");
    let out = hedui()
        .args(["demo", "--data-dir", dir.path().to_str().unwrap(), "--write-households"])
        .arg(&households)
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

    // The households it used, as files `hedui verify` accepts: each passes
    // every local check and gets as far as the (unreachable) hub.
    let files: Vec<_> = std::fs::read_dir(&households)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.len() >= 10, "{files:?}");
    assert!(
        stdout.contains(&format!("{} household files written to", files.len())),
        "{stdout}"
    );
    assert!(households.join("DJ-0001.toml").exists());
    for f in &files {
        let out = hedui()
            .arg("verify")
            .arg(f)
            .args(["--hub", "http://127.0.0.1:9"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot connect to the hub"), "{}: {err}", f.display());
    }

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
    // A list is a JSON array.
    let id = json[0]["recordId"].as_str().unwrap().to_owned();
    // The same list asked for in Chinese.
    let in_chinese = hedui()
        .args([
            "record",
            "list",
            "--verdict",
            "需人工复核",
            "--limit",
            "1",
            "--output",
            "json",
            "--database",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        in_chinese.status.success(),
        "{}",
        String::from_utf8_lossy(&in_chinese.stderr)
    );
    assert_eq!(in_chinese.stdout, list.stdout);
    // JSON Lines: one object per line, the same objects as the array.
    let array = hedui()
        .args(["record", "list", "--limit", "3", "--output", "json", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let lines = hedui()
        .args(["record", "list", "--limit", "3", "--output", "jsonl", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let array: Vec<serde_json::Value> = serde_json::from_slice(&array.stdout).unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(lines.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!((array.len(), &array), (3, &lines));
    let show = hedui()
        .args(["record", "show", &id, "--output", "jsonl", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8(show.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(record["recordId"], id.as_str());
    // A list says when more match, and the next page shows the next ones.
    let page = |n: &str| {
        let out = hedui()
            .args([
                "record",
                "list",
                "--limit",
                "2",
                "--page",
                n,
                "--output",
                "json",
                "--database",
            ])
            .arg(&db)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ids: Vec<String> = json
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["recordId"].as_str().unwrap().to_owned())
            .collect();
        (ids, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (first, hint) = page("1");
    assert_eq!(first.len(), 2);
    assert!(hint.contains("showing records 1–2; more match: add --page 2"), "{hint}");
    let (second, hint) = page("2");
    assert_eq!(second.len(), 2);
    assert!(hint.contains("add --page 3"), "{hint}");
    assert!(first.iter().all(|id| !second.contains(id)));
    let show = hedui()
        .args(["record", "show", &id, "--database"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(show.status.success());
    assert!(String::from_utf8_lossy(&show.stdout).contains("VERDICT: NEEDS_REVIEW"));
    // In Chinese with --lang zh, or with a zh_CN locale.
    for (flag, env) in [(Some("zh"), None), (None, Some(("LANG", "zh_CN.UTF-8")))] {
        let mut cmd = hedui();
        if let Some(lang) = flag {
            cmd.args(["--lang", lang]);
        }
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let show = cmd
            .args(["record", "show", &id, "--database"])
            .arg(&db)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&show.stdout);
        assert!(show.status.success() && text.contains("核对结论：需人工复核"), "{text}");
        assert!(text.contains("依据：") && !text.contains("VERDICT:"), "{text}");
    }
    let out = hedui().args(["--lang", "fr", "record", "show", &id]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected zh or en"));

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
        text.contains("居民家庭经济状况核对报告") && text.contains("需人工复核"),
        "{text}"
    );
    assert!(text.contains("复核人"));

    // The same report as a PDF, made in-process; -o x.pdf says so alone.
    let pdf = dir.path().join("report.pdf");
    let out = hedui()
        .args(["record", "report", &id, "-o"])
        .arg(&pdf)
        .arg("--database")
        .arg(&db)
        .output()
        .unwrap();
    let font_missing = hedui_report_fonts().is_none();
    if font_missing && std::env::var_os("CI").is_none() {
        eprintln!("NOTICE: PDF part skipped, no CJK font installed (apt-get install fonts-noto-cjk)");
        assert!(String::from_utf8_lossy(&out.stderr).contains("no CJK font found"));
    } else {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let bytes = std::fs::read(&pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "a real PDF, not HTML");
        match std::process::Command::new("pdftotext")
            .arg("-layout")
            .arg(&pdf)
            .arg("-")
            .output()
        {
            Ok(t) => {
                let text = String::from_utf8_lossy(&t.stdout);
                assert!(text.contains("核对结论：需人工复核"), "{text}");
                let json: serde_json::Value = serde_json::from_slice(
                    &hedui()
                        .args(["record", "show", &id, "--output", "json", "--database"])
                        .arg(&db)
                        .output()
                        .unwrap()
                        .stdout,
                )
                .unwrap();
                let household = json["household"]["householdRef"].as_str().unwrap();
                assert!(text.contains(household), "{household}: {text}");
                for d in hedui_domain::department::ALL {
                    let name = hedui_domain::department::name_zh(d);
                    assert!(text.lines().any(|l| l.contains(name)), "{name}: {text}");
                }
            }
            Err(_) => {
                assert!(std::env::var_os("CI").is_none(), "pdftotext is missing in CI");
                eprintln!("NOTICE: PDF text not checked, pdftotext is not installed (apt-get install poppler-utils)");
            }
        }
    }
    // A format and an extension that disagree, or a record that does not
    // exist, are clear errors, and no file is left behind.
    for (args, expected) in [
        (vec!["--format", "html", "-o", "x.pdf"], "--format is html"),
        (vec!["-o", "x.txt"], ".html, .pdf or .json"),
    ] {
        let out = hedui()
            .args(["record", "report", &id])
            .args(&args)
            .arg("--database")
            .arg(&db)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{expected}: {err}");
    }
    let missing = "0193f4a2-0000-7000-8000-00000000dead";
    let out = hedui()
        .args(["record", "report", missing, "-o", "missing.pdf", "--database"])
        .arg(&db)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("no record with id {missing}")));
    assert!(!dir.path().join("missing.pdf").exists() && !dir.path().join("x.pdf").exists());

    // A version a re-check replaced says which version replaces it, in
    // record show and in the report.
    let next = replace_with_a_new_version(&db, &id);
    let show = hedui()
        .args(["--lang", "zh", "record", "show", &id, "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(
        text.contains(&format!("本记录已被第 2 版（记录 {next}）替代")),
        "{text}"
    );
    let show = hedui()
        .args(["record", "show", &id, "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(text.contains(&format!("Replaced by version 2 ({next})")), "{text}");
    let report = hedui()
        .args(["record", "report", &id, "--format", "html", "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&report.stdout);
    assert!(
        html.contains("本记录已被第 2 版") && html.contains(&next),
        "the report names its successor"
    );

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
    let records = json.as_array().unwrap();
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
            &["confirmed (确认)", "corrected (更正)", "objection (异议)"],
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
        assert!(
            !err.contains("cannot connect to the hub"),
            "{args:?} made a call: {err}"
        );
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

/// A database as the release before encryption at rest left it: schema
/// 0005 and two records stored in plaintext, with their person index.
fn pre_encryption_database(path: &std::path::Path) -> Vec<hedui_proto::v1::VerificationRecord> {
    use prost::Message as _;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = format!("sqlite://{}", path.display());
        let store = hedui_store::Store::open_without_migrating(&db).await.unwrap();
        store.migrate_to_for_tests(5).await.unwrap();
        let mut records = Vec::new();
        for (i, id_number) in ["520626194701205831", "522226199001011234"].iter().enumerate() {
            let mut r = hedui_proto::v1::VerificationRecord {
                record_id: format!("01930000-0000-7000-8000-00000000000{i}"),
                created_at: format!("2026-11-01T10:00:0{i}.000Z"),
                household: Some(hedui_proto::v1::Household {
                    household_ref: format!("DJ-{i}"),
                    members: vec![hedui_proto::v1::Member {
                        name: "旧记录".into(),
                        id_number: (*id_number).into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            };
            hedui_domain::digest::seal(&mut r);
            store
                .execute_raw_for_tests(&format!(
                    "INSERT INTO records (record_id, created_at, household_ref, verdict, purpose, member_count,
                                          digest, idempotency_key, request_hash, body, root_record_id)
                     VALUES ('{id}', '{at}', 'DJ-{i}', 'VERDICT_UNSPECIFIED', 'PURPOSE_UNSPECIFIED', 1, '{d}',
                             'k{i}', 'h', X'{body}', '{id}');
                     INSERT INTO record_persons (record_id, id_number) VALUES ('{id}', '{id_number}');",
                    id = r.record_id,
                    at = r.created_at,
                    d = r.digest,
                    body = r.encode_to_vec().iter().map(|b| format!("{b:02x}")).collect::<String>(),
                ))
                .await
                .unwrap();
            records.push(r);
        }
        store.close().await;
        records
    })
}

#[test]
fn migrate_encrypts_a_database_written_before_encryption_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let records = pre_encryption_database(&path);
    let db = format!("sqlite://{}", path.display());
    let status = || {
        let out = hedui()
            .args(["migrate", "--status", "--database", &db])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(status().contains("every row is plaintext"), "{}", status());
    // Without the data keys the schema is brought up to date, and the
    // encryption is refused, saying what to give.
    let out = hedui().args(["migrate", "--database", &db]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 row(s)") && err.contains("--data-key"), "{err}");
    assert!(status().contains("2 row(s) still plaintext (2 records"), "{}", status());
    // With them, one row per transaction.
    let key = dir.path().join("data.key");
    assert!(
        hedui()
            .args(["keygen", "--kind", "data", "-o"])
            .arg(&key)
            .status()
            .unwrap()
            .success()
    );
    let out = hedui()
        .args(["migrate", "--chunk", "1", "--database", &db, "--data-key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("encrypted 2 row(s)"));
    let now = status();
    assert!(
        now.contains("0 row(s) still plaintext") && now.contains("2 record(s) under KEK kek-"),
        "{now}"
    );
    let bytes = std::fs::read(&path).unwrap();
    for r in &records {
        let id = &r.household.as_ref().unwrap().members[0].id_number;
        assert!(
            !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
            "{id} is still in the file"
        );
    }
    // And the records read back, with the key.
    let out = hedui()
        .args(["record", "list", "--output", "json", "--database", &db, "--data-key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&records[1].record_id));
}

#[test]
fn migrate_applies_the_schema_then_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fresh.db").display());
    // --status on a file that does not exist is an error, not a new database.
    let out = hedui()
        .args(["migrate", "--status", "--database", &db])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
    let out = hedui().args(["migrate", "--database", &db]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let known = hedui_store::Store::known_schema_version();
    assert!(stdout.contains(&format!("applied {known} migration(s)")), "{stdout}");
    let out = hedui()
        .args(["migrate", "--status", "--database", &db])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains(&format!("schema version {known} of {known}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("0001_records") && !stdout.contains("PENDING"),
        "{stdout}"
    );
    // Running it again applies nothing.
    let out = hedui().args(["migrate", "--database", &db]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied 0 migration(s)"));
}

#[test]
fn config_default_prints_the_annotated_default_and_check_names_bad_keys() {
    let out = hedui().args(["config", "default"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("# ") && text.contains("metrics_listen = \"\""), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let bad = write(&dir, "hub.toml", "listen = \"127.0.0.1:7300\"\nlisten_adress = \"x\"\n");
    let out = hedui()
        .args(["config", "check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listen_adress") && err.contains("line 2"), "{err}");
    let broken = write(&dir, "broken.toml", "listen = \"127.0.0.1:7300\n");
    let out = hedui()
        .args(["config", "check", "--config"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));
    // An unknown environment key is named too.
    let out = hedui()
        .args(["config", "check", "--config"])
        .arg(&bad)
        .env("HEDUI__NO_SUCH_KEY", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// A hub configuration in `dir` with a fresh key, one adapter that is not
/// running, and an SQLite database; returns the file and the public key.
fn hub_config(dir: &tempfile::TempDir, extra: &str) -> (std::path::PathBuf, String) {
    let key = dir.path().join("hub.key");
    let out = hedui().args(["keygen", "-o"]).arg(&key).output().unwrap();
    assert!(out.status.success());
    let public = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let data_key = dir.path().join("data.key");
    let out = hedui()
        .args(["keygen", "--kind", "data", "-o"])
        .arg(&data_key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let policy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/policies/example.toml");
    let text = format!(
        "{extra}listen = \"127.0.0.1:0\"\ndatabase_url = \"sqlite://{}\"\npolicy = \"{}\"\nhub_key = \"{}\"\ndata_key = \"{}\"\n[adapters.tax]\nurl = \"http://127.0.0.1:9\"\n",
        dir.path().join("hub.db").display(),
        policy.display(),
        key.display(),
        data_key.display()
    );
    (write(dir, "hub.toml", &text), public)
}

#[cfg(unix)]
#[test]
fn the_hub_stops_cleanly_on_sigterm_and_its_audit_log_verifies() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let (config, public) = hub_config(&dir, "");
    let mut child = hedui()
        .args(["hub", "--insecure-dev", "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(a) = line.trim().strip_prefix("hedui hub listening on ") {
            addr = Some(a.to_owned());
            break;
        }
        line.clear();
    }
    let addr = addr.expect("the hub printed its address");
    // Keep draining stderr so the hub never blocks on a full pipe.
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    // One call, so the audit log has an entry to commit to.
    let out = hedui()
        .args(["record", "list", "--hub", &format!("http://{addr}")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let logs = drain.join().unwrap();
    assert!(status.success(), "exit {status:?}\n{logs}");
    assert!(logs.contains("hub stopped"), "{logs}");
    // The final checkpoint covers the call: the log verifies offline.
    let db = dir.path().join("hub.db");
    let out = hedui()
        .args(["audit", "verify", "--key", &public, "--database"])
        .arg(&db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("OK: 1 entries: 1 verified against"), "{stdout}");
}

#[test]
fn a_hub_on_a_schema_it_does_not_know_or_an_unmigrated_database_says_so_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = hub_config(&dir, "migrate_on_start = false\n");
    let out = hedui()
        .args(["hub", "--insecure-dev", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hedui migrate") && err.contains("schema version 0"),
        "{err}"
    );
    // Migrated by a newer hedui: refused with the words to act on.
    let db = format!("sqlite://{}", dir.path().join("hub.db").display());
    assert!(
        hedui()
            .args(["migrate", "--database", &db])
            .output()
            .unwrap()
            .status
            .success()
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = hedui_store::Store::open(&db).await.unwrap();
        store
            .execute_raw_for_tests(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'now')",
            )
            .await
            .unwrap();
        store.close().await;
    });
    let out = hedui()
        .args(["hub", "--insecure-dev", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("upgrade hedui") && !err.contains("panicked"), "{err}");
}

#[test]
fn an_unreachable_database_is_retried_then_a_plain_error_without_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = hub_config(&dir, "database_connect_timeout_s = 1\n");
    let out = hedui()
        .args(["hub", "--insecure-dev", "--config"])
        .arg(&config)
        .env("HEDUI__DATABASE_URL", "postgres://hedui:s3cret@127.0.0.1:1/hedui")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gave up on the database"), "{err}");
    assert!(err.contains("database not reachable; retrying"), "{err}");
    assert!(!err.contains("s3cret") && !err.contains("panicked"), "{err}");
}

#[test]
fn config_check_prints_the_effective_layers_with_the_password_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = hub_config(&dir, "checkpoint_interval_s = 30\n");
    let out = hedui()
        .args(["config", "check", "--config"])
        .arg(&config)
        .env("HEDUI__DATABASE_URL", "postgres://hedui:s3cret@db/hedui")
        .env("HEDUI__CHECKPOINT_INTERVAL_S", "15")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("database_url = \"postgres://hedui:***@db/hedui\""),
        "{stdout}"
    );
    assert!(stdout.contains("checkpoint_interval_s = 15"), "{stdout}");
    assert!(stdout.contains("[adapters.tax]"), "{stdout}");
    assert!(!stdout.contains("s3cret") && !stderr.contains("s3cret"));
    assert!(stderr.contains("no [tls]") && stderr.contains("OK"), "{stderr}");
}

/// `config check` opens every file the configuration names and refuses
/// keys that the group or others may read, naming each file and the
/// `chmod` that fixes it, all problems at once.
#[cfg(unix)]
#[test]
fn config_check_names_missing_files_and_keys_others_can_read() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let ca = write(&dir, "ca.crt", "not checked here");
    let cert = write(&dir, "hub.crt", "not checked here");
    let key = write(&dir, "hub-tls.key", "not checked here");
    let missing_ca = dir.path().join("no-such-ca.crt");
    let tls = |ca: &std::path::Path| {
        format!(
            "\n[tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            ca.display(),
            cert.display(),
            key.display()
        )
    };
    let (config, _) = hub_config(&dir, "");
    let base = std::fs::read_to_string(&config).unwrap();
    let hub_key = dir.path().join("hub.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&hub_key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let data_key = dir.path().join("data.key");
    std::fs::set_permissions(&data_key, std::fs::Permissions::from_mode(0o604)).unwrap();
    std::fs::write(&config, format!("{base}{}", tls(&missing_ca))).unwrap();
    let out = hedui()
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("tls.ca: {}: no such file", missing_ca.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("run `chmod 600 {}`", key.display())) && err.contains("tls.key"),
        "{err}"
    );
    assert!(
        err.contains(&format!("run `chmod 600 {}`", hub_key.display())) && err.contains("mode 640"),
        "{err}"
    );
    assert!(
        err.contains(&format!("data_key: {} is a private key", data_key.display()))
            && err.contains(&format!("run `chmod 600 {}`", data_key.display())),
        "{err}"
    );
    // The certificates are public: 0644 is fine for them.
    assert!(!err.contains(&format!("chmod 600 {}", cert.display())), "{err}");

    // Fixed as told, the same configuration passes.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&hub_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&data_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&config, format!("{base}{}", tls(&ca))).unwrap();
    let out = hedui()
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("OK"), "{err}");

    // A directory where a file belongs is named too.
    std::fs::write(&config, format!("{base}{}", tls(dir.path()))).unwrap();
    let out = hedui()
        .args(["config", "check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tls.ca:"));
}

#[test]
fn adapter_check_and_import_report_problems_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/adapters");
    // An example passes the offline check and lists its categories.
    let out = hedui()
        .args(["adapter", "check", "--offline", "--config"])
        .arg(format!("{examples}/tax.toml"))
        .env("HEDUI_TAX_DB_URL", "postgres://hedui_ro:secret@127.0.0.1:5432/grsds")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("tax_records          period, category, taxable_income_fen, tax_paid_fen"),
        "{stdout}"
    );
    assert!(!stdout.contains("secret") && !String::from_utf8_lossy(&out.stderr).contains("secret"));

    // A query without the person's ID number is refused before any connection.
    let bad = write(
        &dir,
        "tax.toml",
        "department = \"tax\"\n[sql]\nurl = \"sqlite://x.db\"\n\
         [sql.queries.identity]\nquery = \"SELECT xm AS name FROM dj_nsr\"\n\
         [sql.queries.tax_records]\nquery = \"SELECT 1 AS period FROM t WHERE id = :id_number\"\n",
    );
    let out = hedui()
        .args(["adapter", "check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tax.toml: sql.queries.identity.query: must use :id_number"),
        "{stderr}"
    );

    // A snapshot file with a wrong type: non-zero, the line and column named.
    let config = write(
        &dir,
        "pboc.toml",
        "department = \"pboc\"\n[snapshot]\ndrop_dir = \"drop\"\nstore = \"pboc.db\"\npoll_seconds = 0\n",
    );
    let csv = write(
        &dir,
        "bank_accounts_2026-11-01.csv",
        "id_number,bank,account_type,balance_fen,masked_account_number\n\
         520626198801093011,农行,demand,12.5,****0931\n",
    );
    let out = hedui()
        .args(["adapter", "import", "--config"])
        .arg(&config)
        .arg(&csv)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2, column balance_fen: must be a whole number, not negative"),
        "{stderr}"
    );
    let good = write(
        &dir,
        "identity_2026-11-01.csv",
        "id_number,name\n520626198801093011,安国强\n",
    );
    let out = hedui()
        .args(["adapter", "import", "--config"])
        .arg(&config)
        .arg(&good)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("imported 1 rows of identity"), "{stdout}");
    assert!(
        stdout.contains("no snapshot of bank_accounts has been imported"),
        "{stdout}"
    );
}

/// `hedui adapter --config FILE` takes its backend from the file (as the
/// systemd unit `hedui-adapter@.service` runs it, with no `--backend`), and
/// its paths from the file's `[log]`; a `--backend` that disagrees with the
/// file, or sandbox with a file, is refused by name.
#[test]
fn the_adapter_takes_its_backend_and_paths_from_the_config_file() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir,
        "pboc.toml",
        "department = \"pboc\"\n[snapshot]\ndrop_dir = \"drop\"\nstore = \"pboc.db\"\npoll_seconds = 0\n\
         [log]\nquery_log = \"state/pboc-queries.jsonl\"\n",
    );
    std::fs::create_dir(dir.path().join("state")).unwrap();
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
            "--config",
        ])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        // Printed after "listening on", before serving.
        if line.starts_with("query log: ") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.contains("hedui adapter for pboc (snapshot) listening on 127.0.0.1:"),
        "{seen}"
    );
    let log = dir.path().join("state/pboc-queries.jsonl");
    assert!(seen.contains(&format!("query log: {}", log.display())), "{seen}");

    for (backend, expected) in [
        (
            "sql",
            "pboc.toml: the file configures the snapshot backend, but --backend is sql",
        ),
        ("sandbox", "--config: the sandbox backend takes no configuration file"),
    ] {
        let out = hedui()
            .args([
                "adapter",
                "--insecure-dev",
                "--hub-key",
                &hub_key,
                "--backend",
                backend,
                "--config",
            ])
            .arg(&config)
            .output()
            .unwrap();
        assert!(!out.status.success(), "--backend {backend}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "--backend {backend}: {stderr}");
    }
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
    assert!(!err.contains("cannot connect to the hub"), "{err}");
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

/// The first Debian CJK font that is installed, if any.
fn hedui_report_fonts() -> Option<&'static str> {
    [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
}

/// Stores a second version of record `id` in the demo's database, as a
/// re-check would, and returns its id.
fn replace_with_a_new_version(db: &std::path::Path, id: &str) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // The demo leaves its data key file beside its database.
        let keys = hedui_store::DataKeys::load(&db.parent().unwrap().join("keys/data.key")).unwrap();
        let store = hedui_store::Store::open(db.to_str().unwrap())
            .await
            .unwrap()
            .with_data_keys(keys.into_provider());
        let mut next = store.get_record(id).await.unwrap().unwrap();
        next.record_id = uuid::Uuid::now_v7().to_string();
        next.previous_record_id = id.to_owned();
        next.version = 2;
        hedui_domain::digest::seal(&mut next);
        store
            .put_version(&next, &format!("test-{}", next.record_id), "h")
            .await
            .unwrap();
        next.record_id
    })
}

/// `hedui … | head`: the reader goes away first; hedui stops quietly, with
/// no panic and no exit 101.
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let mut child = hedui()
        .args(["config", "default"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

/// An address without a scheme is taken as mutual TLS, and what is missing
/// for that is named.
#[test]
fn a_hub_address_without_a_scheme_means_mutual_tls() {
    let out = hedui()
        .args(["record", "list", "--hub", "127.0.0.1:1"])
        .env_remove("HEDUI_CA")
        .env_remove("HEDUI_CERT")
        .env_remove("HEDUI_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--ca") && !err.to_lowercase().contains("invalid uri"),
        "{err}"
    );
}

#[test]
fn completions_are_printed_for_every_shell() {
    for (shell, marker) in [
        ("bash", "_hedui()"),
        ("zsh", "#compdef hedui"),
        ("fish", "complete -c hedui"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = hedui().args(["completions", shell]).output().unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        // The script knows the subcommands and their flags.
        for word in ["batch", "record", "skip-invalid", "idempotency-key"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
        if shell == "bash" {
            // bash itself accepts the script.
            let dir = tempfile::tempdir().unwrap();
            let f = write(&dir, "hedui.bash", &script);
            let check = Command::new("bash").arg("-n").arg(&f).output().unwrap();
            assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
        }
    }
    let out = hedui().args(["completions", "tcsh"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("zsh"));
}

#[test]
fn chinese_words_are_accepted_wherever_a_word_is_asked_for() {
    let id = "0199c0de-0000-7000-8000-000000000001";
    let dir = tempfile::tempdir().unwrap();
    let household = write(
        &dir,
        "h.toml",
        &GOOD
            .replace("\"minimum-living\"", "\"低保\"")
            .replace("\"rural\"", "\"农村\"")
            .replace("\"applicant\"", "\"本人\""),
    );
    let roster = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/examples/roster.csv");
    // Each is understood, so each gets as far as the (unreachable) hub.
    let understood: [&[&str]; 5] = [
        &["record", "recheck", id, "--departments", "税务,人行"],
        &[
            "record",
            "recheck",
            id,
            "--departments",
            "人民银行，住房公积金管理中心、公安",
        ],
        &["verify", household.to_str().unwrap()],
        &["batch", "submit", roster, "--purpose", "最低生活保障"],
        &["batch", "submit", roster, "--purpose", "低保"],
    ];
    for args in understood {
        let out = hedui()
            .args(args)
            .args(["--hub", "http://127.0.0.1:9"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("cannot connect to the hub"), "{args:?}: {err}");
    }
    // A review's outcome in Chinese: an objection without a note is refused
    // for the note, not for the word.
    let out = hedui()
        .args([
            "record",
            "review",
            id,
            "--outcome",
            "异议",
            "--hub",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--note"), "{err}");
    for (args, expected) in [
        (
            vec!["batch", "submit", roster, "--purpose", "扶贫"],
            "unknown purpose \"扶贫\"; expected one of minimum-living (低保)",
        ),
        (
            vec!["record", "list", "--verdict", "合格", "--limit", "1"],
            "unknown verdict \"合格\"; expected one of meets-criteria (符合)",
        ),
        (
            vec!["record", "recheck", id, "--departments", "税务,警察"],
            "unknown department \"警察\"",
        ),
    ] {
        let out = hedui()
            .args(&args)
            .args(["--hub", "http://127.0.0.1:9"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(expected), "{args:?}: {err}");
    }
}

/// Starts `hedui hub` with `config` and returns it with its address; its
/// stderr is drained by a thread so it never blocks.
fn spawn_hub(config: &std::path::Path, extra: &[&str]) -> (KillOnDrop, String) {
    use std::io::BufRead as _;
    let mut child = KillOnDrop(
        hedui()
            .arg("hub")
            .args(extra)
            .arg("--config")
            .arg(config)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = std::io::BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    let mut seen = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(a) = line.trim().strip_prefix("hedui hub listening on ") {
            let addr = a.to_owned();
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return (child, addr);
        }
        seen.push_str(&line);
        line.clear();
    }
    drop(child);
    panic!("the hub did not start:\n{seen}");
}

/// A county CA in `dir/name` with a certificate for `role` named `holder`.
fn pki(dir: &tempfile::TempDir, name: &str, issue: &[(&str, &str)]) -> std::path::PathBuf {
    let pki = dir.path().join(name);
    let out = hedui()
        .args(["pki", "init", "--county", name, "--dir"])
        .arg(&pki)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (role, holder) in issue {
        let out = hedui()
            .args(["pki", "issue", "--role", role, "--name", holder, "--dir"])
            .arg(&pki)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    pki
}

/// Connection errors say what happened: nothing listening, a hub whose
/// certificate is from another CA, a hub that refuses our certificate.
/// Only the last is "the hub refused": there the hub itself answered.
#[test]
fn connection_errors_say_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ours = pki(&dir, "dejiang", &[("hub", "hub-01"), ("caseworker", "zhang.san")]);
    let other = pki(&dir, "elsewhere", &[("caseworker", "li.si")]);
    let tls = |pki: &std::path::Path, who: &str| -> Vec<String> {
        vec![
            format!("--ca={}", pki.join("ca.crt").display()),
            format!("--cert={}", pki.join(format!("{who}.crt")).display()),
            format!("--key={}", pki.join(format!("{who}.key")).display()),
        ]
    };
    for hub in [format!("http://127.0.0.1:{port}"), format!("127.0.0.1:{port}")] {
        let out = hedui()
            .args(["record", "list", "--hub", &hub])
            .args(tls(&ours, "zhang.san"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            err.contains(&format!(
                "cannot connect to the hub at {}: connection refused (is `hedui hub` running?)",
                if hub.contains("://") {
                    hub.clone()
                } else {
                    format!("https://{hub}")
                }
            )),
            "{err}"
        );
    }

    // A real hub with a certificate from our CA.
    let (config, _) = hub_config(&dir, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("http://127.0.0.1:9", "https://127.0.0.1:9");
    let text = format!(
        "{text}[tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
        ours.join("ca.crt").display(),
        ours.join("hub-01.crt").display(),
        ours.join("hub-01.key").display()
    );
    std::fs::write(&config, text).unwrap();
    let (_hub, addr) = spawn_hub(&config, &[]);
    let list = |args: Vec<String>| {
        let out = hedui()
            .args(["record", "list", "--hub", &addr])
            .args(args)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = list(tls(&ours, "zhang.san"));
    assert!(ok, "{err}");
    // Our trust is in another CA: the hub's certificate is not signed by it.
    let mut wrong_ca = tls(&ours, "zhang.san");
    wrong_ca[0] = format!("--ca={}", other.join("ca.crt").display());
    let (ok, err) = list(wrong_ca);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "the hub's certificate is not signed by the CA in {}",
            other.join("ca.crt").display()
        )) && !err.contains("the hub refused"),
        "{err}"
    );
    // Our certificate is from another CA: the hub refuses it.
    let mut foreign = tls(&other, "li.si");
    foreign[0] = format!("--ca={}", ours.join("ca.crt").display());
    let (ok, err) = list(foreign);
    assert!(!ok);
    assert!(
        err.contains("the hub refused the connection: our certificate is not signed by the CA it trusts"),
        "{err}"
    );
}

/// A child process killed when the test ends, failed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn pki_issue_writes_a_p12_with_a_generated_or_given_password() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let pki_arg = pki.to_str().unwrap();
    let ok = |args: &[&str]| {
        let out = hedui().args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&["pki", "init", "--dir", pki_arg, "--county", "dejiang"]);

    // Without a password file, a password is generated and shown once.
    let p12 = dir.path().join("zhang.san.p12");
    let stdout = ok(&[
        "pki",
        "issue",
        "--dir",
        pki_arg,
        "--role",
        "caseworker",
        "--name",
        "zhang.san",
        "--p12",
        p12.to_str().unwrap(),
    ]);
    assert!(stdout.contains("not stored"), "{stdout}");
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("p12 password: "))
        .expect("the generated password is printed")
        .to_owned();
    let der = std::fs::read(&p12).unwrap();
    let store = p12_keystore::KeyStore::from_pkcs12(&der, &password).unwrap();
    let (alias, chain) = store.private_key_chain().unwrap();
    assert_eq!(alias, "zhang.san");
    assert_eq!(chain.chain().len(), 2);
    assert!(p12_keystore::KeyStore::from_pkcs12(&der, "wrong").is_err());

    // With a password file, its first line is the password and nothing is printed.
    let pass_file = write(&dir, "pass.txt", "hunter2 but longer\r\n");
    let p12 = dir.path().join("li.si.pfx");
    let stdout = ok(&[
        "pki",
        "issue",
        "--dir",
        pki_arg,
        "--role",
        "auditor",
        "--name",
        "li.si",
        "--p12",
        p12.to_str().unwrap(),
        "--p12-password-file",
        pass_file.to_str().unwrap(),
    ]);
    assert!(!stdout.contains("p12 password"), "{stdout}");
    let store = p12_keystore::KeyStore::from_pkcs12(&std::fs::read(&p12).unwrap(), "hunter2 but longer").unwrap();
    assert_eq!(store.private_key_chain().unwrap().0, "li.si");
}

#[test]
fn a_bad_p12_password_file_or_path_names_the_flag_and_issues_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let pki_arg = pki.to_str().unwrap();
    assert!(
        hedui()
            .args(["pki", "init", "--dir", pki_arg, "--county", "dejiang"])
            .status()
            .unwrap()
            .success()
    );
    let empty = write(&dir, "empty.txt", "");
    let blank_line = write(&dir, "blank.txt", "\nsecret\n");
    let missing = dir.path().join("missing.txt");
    let p12 = dir.path().join("wang.wu.p12");
    let cases: [(&[&str], &str); 5] = [
        (&["--p12-password-file", empty.to_str().unwrap()], "--p12-password-file"),
        (
            &["--p12-password-file", blank_line.to_str().unwrap()],
            "--p12-password-file",
        ),
        (
            &["--p12-password-file", missing.to_str().unwrap()],
            "--p12-password-file",
        ),
        (&["--p12", "wang.wu.key"], "--p12: wang.wu.key must end in .p12 or .pfx"),
        (&["--p12", "wang.wu"], "--p12: wang.wu must end in .p12 or .pfx"),
    ];
    for (i, (extra, flag)) in cases.iter().enumerate() {
        let mut args = vec![
            "pki",
            "issue",
            "--dir",
            pki_arg,
            "--role",
            "caseworker",
            "--name",
            "wang.wu",
        ];
        if !extra.contains(&"--p12") {
            args.extend(["--p12", p12.to_str().unwrap()]);
        }
        args.extend(extra.iter());
        let out = hedui().args(&args).output().unwrap();
        assert!(!out.status.success(), "case {i} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "case {i}: expected {flag:?} in {err}");
        assert!(!pki.join("wang.wu.crt").exists(), "case {i} issued a certificate");
        assert!(!p12.exists(), "case {i} wrote a .p12");
    }
    // A password file without --p12 is a usage error from clap.
    let out = hedui()
        .args([
            "pki",
            "issue",
            "--dir",
            pki_arg,
            "--role",
            "caseworker",
            "--name",
            "wang.wu",
        ])
        .args(["--p12-password-file", empty.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--p12"));
}

/// The bench still runs (a tiny configuration, repeated twice; no figure
/// is asserted): the floor first, the overhead with the hub's stage clocks
/// off and on with its stage breakdown and the audit appender's group
/// commits, a third overhead run with the floor timed beside it, the
/// throughput, and the audit part,
/// which compares the log's append rate with raw durable inserts into a
/// scratch table of the bench's own, which the store never sees; then the
/// medians with their spread, and the targets judged against the floor.
#[test]
fn the_bench_runs_in_a_tiny_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let out = hedui()
        .args([
            "bench",
            "--only",
            "floor,overhead,throughput,audit,at-rest",
            "--repeat",
            "2",
        ])
        .args(["--floor-samples", "5", "--requests", "8", "--rate", "40"])
        .args(["--throughput-requests", "8", "--concurrency", "4"])
        .args(["--audit-entries", "40", "--audit-writers", "4"])
        .args(["--database-url", &db.display().to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let floor = stdout.find("floor: ").expect("the floor");
    let overhead = stdout.find("overhead:").expect("the overhead run");
    assert!(floor < overhead, "the floor is printed first: {stdout}");
    for part in [
        "median of 2 repeats",
        "database commit of a trivial INSERT",
        "hub overhead p50 (breakdown off)",
        "hub overhead p50 (breakdown on)",
        "the clock's own cost per request",
        "intent + claim commit (incl. group wait) p50",
        "result commit (incl. group wait) p99",
        "hub / direct",
        "appends",
        "raw durable inserts",
        "targets",
        "1 ms + 2 × fsync",
        "seal p50",
        "encryption's share of one core",
        "appends per group, mean",
        "store transaction (connection, lock, statements, commit) p50",
        "begin: a pooled connection and the log's lock p50",
        "commit (with its sync) p99",
        "the appender busy writing, share of the run",
        "[the floor during a third run, breakdown off] writes timed",
        "fsync of a 4 KiB append during the run p99",
        "commit of a trivial INSERT during the run p99",
        "hub overhead of that run p50",
    ] {
        assert!(stdout.contains(part), "{part}: {stdout}");
    }
    // The run with the clocks on timed the audit appender's group commits
    // (its households' intents and results go through them).
    let groups: f64 = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("[audit group commits, breakdown on] groups"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("the group commits' count: {stdout}"));
    assert!(groups >= 1.0, "{stdout}");
}

/// The audit-scale part on a log of a few chunks: it builds the log through
/// the hub's appender, indexes it and times the three queries. Figures are
/// printed, not judged.
#[test]
fn the_audit_scale_bench_runs_on_a_small_log() {
    let out = hedui()
        .args(["bench", "--only", "audit-scale", "--audit-log-entries", "1300"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for part in [
        "audit-scale: build 1300 entries",
        "proof index (first catch-up)",
        "5 chunks in",
        "who (200 persons",
        "one inclusion proof",
        "export one person",
    ] {
        assert!(stdout.contains(part), "{part}: {stdout}");
    }
}

#[test]
fn pki_revoke_crl_and_renew_check_their_input() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let pki_arg = pki.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = hedui().args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let ok = |args: &[&str]| {
        let (success, stdout, stderr) = run(args);
        assert!(success, "{args:?}: {stderr}");
        stdout
    };
    let fails = |args: &[&str], expected: &str| {
        let (success, _, stderr) = run(args);
        assert!(!success, "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    };
    ok(&["pki", "init", "--dir", pki_arg, "--county", "dejiang"]);
    let serial_of = |stdout: &str| {
        stdout
            .split("(serial ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap()
            .to_owned()
    };
    let until = |stdout: &str| {
        let t = stdout
            .split("valid until ")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .unwrap();
        chrono::DateTime::parse_from_rfc3339(t).unwrap()
    };
    let days_left = |stdout: &str| (until(stdout).with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days();

    // Default lifetimes: 90 days for people, a year for services.
    let zhang = ok(&[
        "pki",
        "issue",
        "--dir",
        pki_arg,
        "--role",
        "caseworker",
        "--name",
        "zhang.san",
    ]);
    assert!((89..=90).contains(&days_left(&zhang)), "{zhang}");
    let tax = ok(&[
        "pki",
        "issue",
        "--dir",
        pki_arg,
        "--role",
        "adapter:tax",
        "--name",
        "tax-01",
        "--host",
        "tax.example",
    ]);
    assert!((364..=365).contains(&days_left(&tax)), "{tax}");

    // revoke: bad serial, bad reason, a serial this CA never issued, twice.
    let serial = serial_of(&zhang);
    let revoke = |serial: &str, reason: &str| {
        [
            "pki", "revoke", "--dir", pki_arg, "--serial", serial, "--reason", reason,
        ]
        .map(str::to_owned)
    };
    fn args(v: &[String; 8]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    fails(
        &args(&revoke("xyz", "keyCompromise")),
        "--serial: \"xyz\" is not hexadecimal",
    );
    fails(
        &args(&revoke(&serial, "lost")),
        "--reason: \"lost\" is not one of keyCompromise",
    );
    fails(
        &args(&revoke("1234abcd", "keyCompromise")),
        "--serial: 1234abcd was not issued by the CA",
    );
    let out = ok(&args(&revoke(&serial.to_uppercase(), "keyCompromise")));
    assert!(out.contains("caseworker certificate of zhang.san"), "{out}");
    fails(
        &args(&revoke(&serial, "superseded")),
        "is already revoked (keyCompromise",
    );

    // crl: bad days; then a list that names the serial, signed by the CA.
    fails(
        &["pki", "crl", "--dir", pki_arg, "--days", "0"],
        "--days: must be at least 1",
    );
    let out = ok(&["pki", "crl", "--dir", pki_arg]);
    assert!(out.contains("listing 1 revoked"), "{out}");
    let crl = std::fs::read_to_string(pki.join("ca.crl")).unwrap();
    assert!(crl.starts_with("-----BEGIN X509 CRL-----"), "{crl}");
    // A damaged revocations file stops the list from being signed.
    let revoked = pki.join("revoked.tsv");
    let good = std::fs::read_to_string(&revoked).unwrap();
    std::fs::write(&revoked, format!("{good}zz\tkeyCompromise\t2026-01-01T00:00:00Z\n")).unwrap();
    fails(&["pki", "crl", "--dir", pki_arg], "revoked.tsv: line 3: serial:");
    std::fs::write(&revoked, good).unwrap();

    // renew: keeps role, name and hosts; refuses a certificate of another CA.
    let out = ok(&[
        "pki",
        "renew",
        "--dir",
        pki_arg,
        "--cert",
        pki.join("tax-01.crt").to_str().unwrap(),
    ]);
    assert!(out.contains("issued adapter:tax certificate for tax-01"), "{out}");
    assert_ne!(serial_of(&out), serial_of(&tax));
    assert!(
        out.contains(&format!("--serial {} --reason superseded", serial_of(&tax))),
        "{out}"
    );
    let pem = std::fs::read(pki.join("tax-01.crt")).unwrap();
    let der: rustls_pki_types::CertificateDer<'_> = rustls_pki_types::pem::PemObject::from_pem_slice(&pem).unwrap();
    let id = hedui_tls::identity_from_cert(&der).unwrap();
    assert_eq!(
        (id.role.as_string(), id.name.as_str()),
        ("adapter:tax".to_owned(), "tax-01")
    );
    // The host name is in the DER as it is (an IA5String).
    let der_bytes: &[u8] = der.as_ref();
    assert!(
        der_bytes.windows(11).any(|w| w == b"tax.example"),
        "the host name was not kept"
    );
    let other = dir.path().join("other");
    ok(&["pki", "init", "--dir", other.to_str().unwrap(), "--county", "dejiang"]);
    fails(
        &[
            "pki",
            "renew",
            "--dir",
            other.to_str().unwrap(),
            "--cert",
            pki.join("tax-01.crt").to_str().unwrap(),
        ],
        "--cert:",
    );
    fails(
        &[
            "pki",
            "renew",
            "--dir",
            pki_arg,
            "--cert",
            pki.join("ca.crt").to_str().unwrap(),
        ],
        "no urn:hedui: URI",
    );

    // A person's renewal can come with a new .p12 for the browser.
    let zhang_crt = pki.join("zhang.san.crt");
    let bad_p12 = dir.path().join("zhang.san.crt.txt");
    fails(
        &[
            "pki",
            "renew",
            "--dir",
            pki_arg,
            "--cert",
            zhang_crt.to_str().unwrap(),
            "--p12",
            bad_p12.to_str().unwrap(),
        ],
        "--p12:",
    );
    let p12 = dir.path().join("zhang.san.p12");
    let out = ok(&[
        "pki",
        "renew",
        "--dir",
        pki_arg,
        "--cert",
        zhang_crt.to_str().unwrap(),
        "--p12",
        p12.to_str().unwrap(),
    ]);
    assert!((89..=90).contains(&days_left(&out)), "{out}");
    let password = out.lines().find_map(|l| l.strip_prefix("p12 password: ")).unwrap();
    let store = p12_keystore::KeyStore::from_pkcs12(&std::fs::read(&p12).unwrap(), password).unwrap();
    assert_eq!(store.private_key_chain().unwrap().0, "zhang.san");
}

/// A running adapter whose certificate expires in 5 days says so in its
/// log at start, as a WARN naming the certificate, not the holder's data;
/// and it refuses a revoked hub certificate at the handshake, with a WARN
/// saying why.
#[test]
fn an_adapter_warns_of_its_expiry_and_refuses_a_revoked_hub() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let pki_arg = pki.to_str().unwrap();
    let run = |args: &[&str]| {
        let out = hedui().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&["pki", "init", "--dir", pki_arg, "--county", "dejiang"]);
    run(&[
        "pki",
        "issue",
        "--dir",
        pki_arg,
        "--role",
        "adapter:tax",
        "--name",
        "tax-01",
        "--days",
        "5",
    ]);
    let hub = run(&[
        "pki",
        "issue",
        "--dir",
        pki_arg,
        "--role",
        "hub",
        "--name",
        "hub-stolen",
    ]);
    let serial = hub.split("(serial ").nth(1).and_then(|s| s.split(',').next()).unwrap();
    run(&[
        "pki",
        "revoke",
        "--dir",
        pki_arg,
        "--serial",
        serial,
        "--reason",
        "keyCompromise",
    ]);
    run(&["pki", "crl", "--dir", pki_arg]);
    let hub_key = run(&["keygen", "-o", dir.path().join("hub.key").to_str().unwrap()]);
    let hub_key = hub_key.lines().find(|l| l.starts_with("ed25519:")).unwrap().to_owned();
    let child = hedui()
        .args([
            "adapter",
            "--department",
            "tax",
            "--listen",
            "127.0.0.1:0",
            "--hub-key",
            &hub_key,
        ])
        .arg("--ca")
        .arg(pki.join("ca.crt"))
        .arg("--cert")
        .arg(pki.join("tax-01.crt"))
        .arg("--key")
        .arg(pki.join("tax-01.key"))
        .arg("--crl")
        .arg(pki.join("ca.crl"))
        .arg("--query-log")
        .arg(dir.path().join("q.jsonl"))
        .env("HEDUI_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // A guard against hanging for ever, not a measurement.
    let next_line_with = |needle: &str| loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no line with {needle:?} logged"));
        if line.contains(needle) {
            break line;
        }
    };
    let listening = next_line_with("listening on ");
    let addr = listening.rsplit(' ').next().unwrap().to_owned();
    let warning = next_line_with("expires within 14 days");
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        warning.contains("hedui pki renew")
            // 5 days less the seconds since issuing, rounded down.
            && (warning.contains("days_left=4") || warning.contains("days_left=5")),
        "{warning}"
    );

    // The revoked hub certificate is refused, and the hub side is told why.
    let files = hedui_tls::TlsFiles {
        ca: pki.join("ca.crt"),
        cert: pki.join("hub-stolen.crt"),
        key: pki.join("hub-stolen.key"),
        crl: None,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let err = runtime
        .block_on(hedui_tls::probe(
            &format!("https://{addr}"),
            &hedui_tls::ClientTls::load(files).unwrap(),
            None,
            std::time::Duration::from_secs(10),
        ))
        .unwrap_err();
    assert_eq!(
        hedui_tls::connect_failure(&err),
        Some(hedui_tls::ConnectFailure::OurCertificateRefused(
            "our certificate is revoked".into()
        )),
        "{err}"
    );
    let refused = next_line_with("handshake refused");
    assert!(
        refused.contains("WARN") && refused.contains("reason=certificate revoked"),
        "{refused}"
    );
}

/// `hedui report departments --quarter` asks the hub over mutual TLS, with
/// an admin's certificate and no database password: the table, proto3
/// JSON, CSV and the printable page; a caseworker is refused by the hub and
/// a bad quarter is named before any call.
#[test]
fn the_department_report_comes_from_the_hub_for_admins_only() {
    let dir = tempfile::tempdir().unwrap();
    let ours = pki(
        &dir,
        "dejiang",
        &[("hub", "hub-01"), ("admin", "wang.wu"), ("caseworker", "zhang.san")],
    );
    let (config, _) = hub_config(&dir, "");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("http://127.0.0.1:9", "https://127.0.0.1:9");
    let text = format!(
        "{text}[tls]\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
        ours.join("ca.crt").display(),
        ours.join("hub-01.crt").display(),
        ours.join("hub-01.key").display()
    );
    std::fs::write(&config, text).unwrap();
    let (_hub, addr) = spawn_hub(&config, &[]);
    let tls = |who: &str| -> Vec<String> {
        vec![
            format!("--hub={addr}"),
            format!("--ca={}", ours.join("ca.crt").display()),
            format!("--cert={}", ours.join(format!("{who}.crt")).display()),
            format!("--key={}", ours.join(format!("{who}.key")).display()),
        ]
    };
    // One household, asked of the one configured department, which is
    // down: the query left the hub, so it counts, as unavailable.
    let today = chrono::Utc::now().date_naive();
    let month = |d: chrono::NaiveDate| d.format("%Y-%m").to_string();
    let household = write(
        &dir,
        "DJ-0001.toml",
        &format!(
            "household_ref = \"DJ-0001\"\nresidence = \"rural\"\npurpose = \"minimum-living\"\nauthorization_ref = \"SQ-2026-0001\"\n\
             [income_window]\nfrom = \"{}\"\nto = \"{}\"\n\
             [[members]]\nname = \"冉明\"\nid_number = \"522226199402096957\"\nrelation = \"applicant\"\n\
             [authorization]\nsigned_date = \"{today}\"\nvalid_until = \"{}\"\nscan_sha256 = \"{}\"\n\
             [[authorization.signers]]\nname = \"冉明\"\nid_number = \"522226199402096957\"\n",
            month(today - chrono::Months::new(12)),
            month(today - chrono::Months::new(1)),
            today + chrono::Days::new(365),
            "53".repeat(32),
        ),
    );
    let out = hedui()
        .arg("verify")
        .arg(&household)
        .args(tls("zhang.san"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("INCOMPLETE"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let quarter = hedui_domain::quarter::Quarter::containing(chrono::Utc::now());
    let report = |who: &str, extra: &[&str]| {
        let out = hedui()
            .args(["report", "departments", "--quarter", &quarter.to_string()])
            .args(extra)
            .args(tls(who))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, table, err) = report("wang.wu", &[]);
    assert!(ok, "{err}");
    assert!(
        table.contains(&format!("{quarter}")) && table.contains(&format!("compared with {}", quarter.previous())),
        "{table}"
    );
    let tax: Vec<&str> = table
        .lines()
        .find(|l| l.starts_with("tax "))
        .unwrap()
        .split_whitespace()
        .collect();
    // department, queries, previous, change, answered, previous, change,
    // timeout, unavailable.
    assert_eq!(
        &tax[..9],
        ["tax", "1", "0", "+1", "0.0%", "-", "-", "0", "1"],
        "{table}"
    );
    for d in hedui_domain::department::ALL {
        let slug = hedui_domain::department::slug(d);
        assert!(
            table.lines().any(|l| l.starts_with(&format!("{slug} "))),
            "{slug}:\n{table}"
        );
    }

    let (ok, json, err) = report("wang.wu", &["--output", "json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["current"]["quarter"], quarter.to_string(), "{json}");
    assert_eq!(v["previous"]["quarter"], quarter.previous().to_string(), "{json}");
    let tax = v["current"]["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["department"] == "DEPARTMENT_TAX")
        .unwrap();
    assert_eq!(
        (&tax["queries"], &tax["unavailable"]),
        (&"1".into(), &"1".into()),
        "{json}"
    );

    let csv = dir.path().join("departments.csv");
    let (ok, _, err) = report("wang.wu", &["-o", csv.to_str().unwrap()]);
    assert!(ok, "{err}");
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert!(csv.starts_with('\u{feff}') && csv.lines().count() == 9, "{csv}");
    assert!(csv.contains(&format!("\r\n{quarter},tax,税务局,1,0,0.0,")), "{csv}");
    let html = dir.path().join("departments.html");
    let (ok, _, err) = report("wang.wu", &["-o", html.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.contains("written to"), "{err}");
    let html = std::fs::read_to_string(&html).unwrap();
    assert!(
        html.contains("部门数据服务情况报告") && html.contains("北京时间"),
        "{html}"
    );

    // The hub refuses a caseworker.
    let (ok, _, err) = report("zhang.san", &[]);
    assert!(!ok);
    assert!(err.contains("the hub refused"), "{err}");
    // Bad input is named, before any call; the database is not an option.
    for (args, expected) in [
        (vec!["--quarter", "2026Q5"], "--quarter"),
        (vec!["--quarter", "2026-10"], "--quarter"),
        (vec![], "--quarter"),
        (vec!["--quarter", "2026Q4", "-o", "x.pdf"], ".html or .csv"),
        (vec!["--quarter", "2026Q4", "--database", "hub.db"], "--database"),
    ] {
        let out = hedui()
            .args(["report", "departments"])
            .args(&args)
            .args(tls("wang.wu"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{expected}: {err}");
    }
}
