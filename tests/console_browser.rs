//! The caseworkers' console in a real browser: `hedui demo --console` is
//! started as a caseworker would start it, and headless Chromium, driven by
//! Playwright (tests/browser/console_e2e.py), presents the demo's client
//! certificates and does the whole round: a household through the form,
//! its verdict, the report printed to PDF and checked with pdftotext, the
//! hub's PDF, a review, a re-check, a roster to 100 %, the results, the
//! refusals, and the auditor finding those reads in 个人查询记录.
//!
//! Needs /usr/bin/chromium, Python's playwright package and pdftotext
//! (`.ci/run` installs them). Without them the test prints a notice and
//! passes, unless HEDUI_REQUIRE_BROWSER=1 (set by CI), when it fails.
//! With HEDUI_SCREENSHOTS=DIR the screenshots go to DIR (docs/console/
//! holds the committed ones); otherwise to a temporary folder.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hedui_adapter::sandbox::Sandbox;
use hedui_proto::v1::Purpose;
use serde_json::json;

fn browser_ready() -> Result<(), String> {
    if !Path::new("/usr/bin/chromium").exists() {
        return Err("/usr/bin/chromium is missing (apt-get install chromium)".into());
    }
    let py = Command::new("python3")
        .args(["-c", "import playwright"])
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !py.status.success() {
        return Err("Python's playwright package is missing (pip install playwright)".into());
    }
    if Command::new("pdftotext").arg("-v").output().is_err() {
        return Err("pdftotext is missing (apt-get install poppler-utils)".into());
    }
    Ok(())
}

/// Kills the demo when the test ends, however it ends.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A household of the sandbox with a guardian, as the form wants it.
fn household_case() -> serde_json::Value {
    let today = chrono::Utc::now().date_naive();
    let sandbox = Sandbox::dejiang(today);
    let h = sandbox
        .households()
        .iter()
        .find(|h| {
            h.scenario == "qualifies"
                && h.household.members.len() >= 3
                && hedui_trust::authorization::complete_for(&h.household, Purpose::MinimumLiving, "x", today, today)
                    .signers
                    .iter()
                    .any(|s| s.as_guardian)
        })
        .or_else(|| sandbox.households().first())
        .expect("the sandbox has households");
    let household = &h.household;
    let form = "SQ-BROWSER-0001";
    let valid_until = today + chrono::Days::new(365);
    let auth = hedui_trust::authorization::complete_for(household, Purpose::MinimumLiving, form, today, valid_until);
    let position = |id: &str| household.members.iter().position(|m| m.id_number == id).map(|i| i + 1);
    let members: Vec<_> = household
        .members
        .iter()
        .map(|m| {
            let signs = auth
                .signers
                .iter()
                .any(|s| !s.as_guardian && s.id_number == m.id_number);
            json!({
                "name": m.name, "id_number": m.id_number, "relation": m.relation,
                "lacks_capacity": m.lacks_capacity, "signs": signs,
            })
        })
        .collect();
    let guardians: Vec<_> = auth
        .signers
        .iter()
        .filter(|s| s.as_guardian)
        .map(|s| {
            json!({
                "name": s.name, "id_number": s.id_number,
                "positions": s.on_behalf_of.iter().filter_map(|id| position(id)).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "household_ref": household.household_ref,
        "residence": household.residence,
        "form_number": form,
        "valid_until": valid_until.to_string(),
        "scan_sha256": auth.scan_sha256,
        "members": members,
        "guardians": guardians,
    })
}

/// The households DJ-0001 to DJ-0005 of the shipped example roster, whole.
fn small_roster(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/examples/roster.csv"))
        .expect("the example roster");
    let mut lines = text.lines();
    let mut out = String::from(lines.next().expect("a header"));
    out.push('\n');
    for l in lines {
        if ["DJ-0001,", "DJ-0002,", "DJ-0003,", "DJ-0004,", "DJ-0005,"]
            .iter()
            .any(|p| l.starts_with(p))
        {
            out.push_str(l);
            out.push('\n');
        }
    }
    let path = dir.join("roster.csv");
    std::fs::write(&path, out).expect("write the roster");
    path
}

#[test]
fn a_caseworker_and_an_auditor_use_the_console_in_chromium() {
    if let Err(why) = browser_ready() {
        if std::env::var("HEDUI_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("HEDUI_REQUIRE_BROWSER=1 but {why}");
        }
        eprintln!("NOTICE: the console browser test is skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("demo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args(["demo", "--console", "--console-listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hedui demo --console");
    let stdout = child.stdout.take().expect("piped stdout");
    let demo = Demo(child);
    let started = Instant::now();
    let mut url = None;
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("demo output");
        if let Some(u) = line.strip_prefix("console: ") {
            url = Some(u.trim().to_owned());
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the demo did not start its console"
        );
    }
    let url = url.expect("the demo printed its console address");
    // The .p12 files' password, printed on the next line.
    let mut password = String::new();
    for line in lines.by_ref() {
        let line = line.expect("demo output");
        if let Some((_, rest)) = line.split_once("(password: ") {
            password = rest.split_once(')').map(|(p, _)| p.to_owned()).unwrap_or_default();
            break;
        }
    }
    assert!(!password.is_empty(), "the demo printed the .p12 password");
    // Keep reading: a closed pipe would end the demo at its next line.
    std::thread::spawn(move || for _ in lines {});
    let shots = std::env::var("HEDUI_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("shots"));
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("output folder");
    let case = json!({
        "url": url,
        "pki": data.join("pki"),
        "p12_password": password,
        "household": household_case(),
        "roster": small_roster(dir.path()),
        "screenshots": shots,
        "out": out,
    });
    let case_path = dir.path().join("case.json");
    std::fs::write(&case_path, case.to_string()).expect("write the case");
    let run = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/console_e2e.py"))
        .arg(&case_path)
        .output()
        .expect("run the browser script");
    let said = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    println!("{said}");
    assert!(run.status.success(), "the browser script failed:\n{said}\n{err}");
    assert!(said.trim_end().ends_with("ok"), "{said}");
    drop(demo);
}
