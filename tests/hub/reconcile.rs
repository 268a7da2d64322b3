//! Two-sided reconciliation end to end: real hub entries against a real
//! adapter's query log, through `hedui audit reconcile`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hedui_audit::adapter_log::parse_checkpoints;
use hedui_audit::checkpoint::format_public_key;
use hedui_audit::export::ExportBundle;
use hedui_proto::v1::audit_service_client::AuditServiceClient;
use hedui_proto::v1::{AuditFilter, Department, ExportAuditRequest};
use hedui_tls::Role;

use crate::helpers::{TestSystem, adapter_log_key, household, hub_key, request};

/// Waits until the adapter has signed a checkpoint over every line of its
/// log (it signs every 250 ms in the test system).
async fn signed_log(path: &Path) -> (String, String) {
    let cp_path = hedui_adapter::guard::checkpoint_path(path);
    for _ in 0..200 {
        let log = std::fs::read_to_string(path).unwrap_or_default();
        let cps = std::fs::read_to_string(&cp_path).unwrap_or_default();
        let lines = log.lines().count() as u64;
        if let Some(last) = parse_checkpoints(&cps).unwrap().last()
            && last.checkpoint.lines == lines
        {
            return (log, cps);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the adapter never signed a checkpoint over its whole log");
}

fn reconcile(dir: &Path, bundle: &ExportBundle, log: &str, cps: &str) -> std::process::Output {
    std::fs::write(dir.join("hub.json"), serde_json::to_vec(bundle).unwrap()).unwrap();
    std::fs::write(dir.join("tax.jsonl"), log).unwrap();
    std::fs::write(dir.join("tax.checkpoints.jsonl"), cps).unwrap();
    Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args(["audit", "reconcile", "--hub-export"])
        .arg(dir.join("hub.json"))
        .args(["--key", &format_public_key(&hub_key().verifying_key())])
        .arg("--adapter-log")
        .arg(dir.join("tax.jsonl"))
        .args(["--adapter-key", &format_public_key(&adapter_log_key().verifying_key())])
        .args(["--from", "2000-01-01", "--to", "2100-01-01"])
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_hub_and_a_department_reconcile_and_a_deletion_on_either_side_is_named() {
    let sys = TestSystem::start().await;
    let mut request_ids = Vec::new();
    for (scenario, key) in [("qualifies", "rec-1"), ("car-owner", "rec-2"), ("qualifies", "rec-3")] {
        let record = sys
            .hub
            .clone()
            .submit_verification(request(&household(scenario), key))
            .await
            .unwrap()
            .into_inner()
            .record
            .unwrap();
        request_ids.push(record.request_id);
    }
    let (log, cps) = signed_log(&sys.query_log_path(Department::Tax)).await;
    assert_eq!(log.lines().count(), 3);
    let bundle = AuditServiceClient::new(sys.pki.channel(sys.hub_addr, &Role::Auditor, "li.si"))
        .export_audit(ExportAuditRequest {
            filter: Some(AuditFilter::default()),
        })
        .await
        .unwrap()
        .into_inner();
    let bundle: ExportBundle = serde_json::from_slice(&bundle.bundle_json).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Both sides agree.
    let out = reconcile(dir.path(), &bundle, &log, &cps);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("department tax"), "{stdout}");
    assert!(
        stdout.contains("received: 3; hub source.query entries: 3; matched: 3"),
        "{stdout}"
    );
    assert!(stdout.contains("3 lines signed by the department's key"), "{stdout}");
    assert!(
        stdout.starts_with("department tax") && stdout.contains("\nOK: "),
        "{stdout}"
    );

    // The hub's entry for the second request is gone (deleted before the
    // export, together with its proof).
    let mut cut = bundle.clone();
    let i = cut
        .entries
        .iter()
        .position(|e| e.action == "source.query" && e.request_id == request_ids[1] && e.departments == ["tax"])
        .unwrap();
    let seq = cut.entries.remove(i).seq;
    cut.inclusion.retain(|p| p.seq != seq);
    // The department's line for the third request is gone.
    let without_third: String = log
        .lines()
        .filter(|l| !l.contains(&request_ids[2]))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = reconcile(dir.path(), &cut, &without_third, &cps);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("DIFFERENCE: adapter log line 2 (")
            && stdout.contains(&format!(
                "request {} reached the department's data, but the hub export has no source.query entry for it",
                request_ids[1]
            )),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains(&format!("request {} is logged as ", request_ids[2]))
                && l.ends_with("but the adapter log has no received query for it")),
        "{stdout}"
    );
    assert!(stdout.contains("lines were cut off"), "{stdout}");
    assert!(stdout.contains("not that none is missing"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("difference(s)"));

    // An edited line breaks the chain.
    let edited = log.replacen("\"purpose\":\"", "\"purpose\":\"x", 1);
    let out = reconcile(dir.path(), &bundle, &edited, &cps);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stdout.contains("adapter log line 2: the hash chain is broken"),
        "{stdout}"
    );
    sys.stop().await;
}

#[test]
fn reconcile_names_bad_arguments_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hedui"))
            .args(["audit", "reconcile", "--hub-export"])
            .arg(dir.path().join("hub.json"))
            .args(["--key", &format_public_key(&hub_key().verifying_key())])
            .arg("--adapter-log")
            .arg(dir.path().join("tax.jsonl"))
            .args(extra)
            .output()
            .unwrap()
    };
    let public = format_public_key(&adapter_log_key().verifying_key());
    let secret = hedui_audit::checkpoint::format_signing_key(&adapter_log_key());
    for (extra, expected) in [
        (
            vec!["--adapter-key", secret.as_str()],
            "--adapter-key: this is a secret key",
        ),
        (vec!["--adapter-key", public.as_str()], "--hub-export "),
        (
            vec!["--adapter-key", public.as_str(), "--from", "2026-10-01"],
            "give both --from and --to",
        ),
        (
            vec![
                "--adapter-key",
                public.as_str(),
                "--from",
                "2026-10-01",
                "--to",
                "October",
            ],
            "--to \"October\": expected YYYY-MM-DD or an RFC 3339 time",
        ),
    ] {
        if expected != "--hub-export " {
            std::fs::write(dir.path().join("hub.json"), "{}").unwrap();
        } else {
            let _ = std::fs::remove_file(dir.path().join("hub.json"));
        }
        let out = run(&extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert!(!stderr.contains(&secret[15..]), "the secret is echoed: {stderr}");
    }
}
