//! The fault matrix: every fault, at every department in turn.
//!
//! All eight sandbox adapters sit behind fault proxies (`proxy.rs`), so the
//! hub talks real mutual TLS over real sockets and the faults are the ones
//! a network or a broken partner produces. For every department and every
//! fault this checks that:
//! - the affected source ends with the expected outcome;
//! - every other source ends as it does without the fault;
//! - the verdict is never MEETS_CRITERIA while that source is missing;
//! - the hub goes on serving (the next call, without the fault, is whole);
//! - the audit log holds the department's query with its outcome.
//!
//! The matrix is printed (run with `--nocapture`) for the closing notes and
//! docs/PERFORMANCE.md.

use std::time::Duration;

use hedui_adapter::sandbox::SandboxHousehold;
use hedui_domain::department::{ALL, slug};
use hedui_proto::v1::person_result::Findings;
use hedui_proto::v1::{
    Department, Person, Purpose, QueryRequest, QueryResponse, SourceOutcome, Verdict, VerificationRecord,
};
use hedui_store::Store;
use hedui_store::audit::AuditFilter;

use crate::helpers::{Behaviour, TestSystem, household, index_of, request, sandbox, spawn_fake};
use crate::proxy::Fault;

/// Short enough to keep the suite quick, long enough for a loaded 2-core
/// machine to answer a healthy call well within it.
const DEADLINE: Duration = Duration::from_millis(1500);

/// A way to break a well-formed reply.
type Corruption = fn(&mut QueryResponse);

/// A reply with a person the hub did not ask about.
fn unknown_person(r: &mut QueryResponse) {
    if let Some(first) = r.results.first_mut() {
        first.id_number = "520626195711191204".into();
        if r.results.len() > 1 {
            r.results[1].id_number = "520626195711191204".into();
        }
    }
}

/// A reply with a negative amount of money, wherever the department has one.
fn negative_money(r: &mut QueryResponse) {
    for result in &mut r.results {
        let done = match &mut result.findings {
            Some(Findings::Housing(f)) => f
                .purchases
                .first_mut()
                .map(|p| p.price_fen = -100)
                .or_else(|| f.leases.first_mut().map(|l| l.monthly_rent_fen = -100)),
            Some(Findings::Tax(f)) => f.records.first_mut().map(|t| t.taxable_income_fen = -100),
            Some(Findings::MarketSupervision(f)) => f.roles.first_mut().map(|b| b.subscribed_capital_fen = -100),
            Some(Findings::HousingFund(f)) => f.accounts.first_mut().map(|a| a.balance_fen = -100),
            Some(Findings::Pboc(f)) => f.accounts.first_mut().map(|a| a.balance_fen = -100),
            Some(Findings::Hrss(f)) => f.insurance.first_mut().map(|i| i.monthly_base_fen = -100),
            _ => None,
        };
        if done.is_some() {
            return;
        }
    }
}

/// A reply naming a business by a code that is not a USCC.
fn bad_uscc(r: &mut QueryResponse) {
    for result in &mut r.results {
        if let Some(Findings::MarketSupervision(f)) = &mut result.findings
            && let Some(role) = f.roles.first_mut()
        {
            role.uscc = "91520626MA6DL2XX3!".into();
            return;
        }
    }
}

/// The query a department gets for `h`, to see what a corruption does.
fn query_for(h: &SandboxHousehold) -> QueryRequest {
    let today = chrono::Utc::now().date_naive();
    QueryRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        purpose: Purpose::MinimumLiving as i32,
        persons: h
            .household
            .members
            .iter()
            .map(|m| Person {
                name: m.name.clone(),
                id_number: m.id_number.clone(),
            })
            .collect(),
        income_window: Some(hedui_domain::window::IncomeWindow::last_months(today, 12).to_proto()),
        asset_reference_date: today.to_string(),
        authorization_ref: "SQ-TEST-0001".into(),
        grant: Vec::new(),
    }
}

/// The first sandbox household whose answer from `d` the corruption
/// changes, or `None` when the department never has such a field.
fn household_for(d: Department, corrupt: Corruption) -> Option<SandboxHousehold> {
    sandbox().households().iter().find_map(|h| {
        let answer = sandbox().answer(d, &query_for(h));
        let mut broken = answer.clone();
        corrupt(&mut broken);
        (broken != answer).then(|| h.clone())
    })
}

fn outcome(r: &VerificationRecord, d: Department) -> SourceOutcome {
    r.sources[index_of(d)].outcome()
}

fn name(o: SourceOutcome) -> &'static str {
    o.as_str_name().trim_start_matches("SOURCE_OUTCOME_")
}

async fn submit(sys: &TestSystem, h: &SandboxHousehold) -> VerificationRecord {
    let key = uuid::Uuid::new_v4().to_string();
    sys.hub
        .clone()
        .submit_verification(request(h, &key))
        .await
        .expect("the hub answers whatever the departments do")
        .into_inner()
        .record
        .unwrap()
}

/// Checks one faulty call against the same household's healthy record.
async fn check(
    sys: &TestSystem,
    store: &Store,
    d: Department,
    fault: &str,
    faulty: &VerificationRecord,
    healthy: &VerificationRecord,
) -> SourceOutcome {
    let got = outcome(faulty, d);
    for other in ALL.iter().filter(|o| **o != d) {
        assert_eq!(
            outcome(faulty, *other),
            outcome(healthy, *other),
            "{fault} at {}: {} must be unaffected",
            slug(d),
            slug(*other)
        );
    }
    if !matches!(got, SourceOutcome::Ok | SourceOutcome::NoRecord) {
        assert_ne!(
            faulty.verdict(),
            Verdict::MeetsCriteria,
            "{fault} at {}: a missing source never meets the criteria",
            slug(d)
        );
    }
    // The audit log holds the query to the department with its outcome.
    let logged = store
        .audit_entries(&AuditFilter {
            action: Some("source.query".into()),
            department: Some(slug(d).into()),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let entry = logged
        .iter()
        .find(|e| e.request_id == faulty.request_id)
        .unwrap_or_else(|| panic!("{fault} at {}: the query is in the audit log", slug(d)));
    assert_eq!(
        entry.status,
        name(got),
        "{fault} at {}: the log has the outcome",
        slug(d)
    );
    let _ = sys;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_at_every_department() {
    let sys = TestSystem::with(|_| Behaviour::Faulty, DEADLINE).await;
    let store = Store::open(&sys.database_url)
        .await
        .unwrap()
        .with_data_keys(crate::helpers::data_keys());
    let plain = household("qualifies");
    let baseline = submit(&sys, &plain).await;
    assert_eq!(
        baseline.verdict(),
        Verdict::MeetsCriteria,
        "the baseline household qualifies"
    );
    let (stop_fakes, fakes_stopped) = tokio::sync::watch::channel(false);
    let mut matrix: Vec<(Department, Vec<(&'static str, String)>)> = Vec::new();

    for d in ALL {
        let proxy = sys.proxies[index_of(d)].as_ref().unwrap();
        let mut row = Vec::new();
        let network_faults = [
            ("no answer", Fault::Blackhole, SourceOutcome::Timeout),
            ("refused", Fault::Refuse, SourceOutcome::Unavailable),
            ("reset mid-call", Fault::ResetMidCall, SourceOutcome::Unavailable),
            ("not gRPC", Fault::NotGrpc, SourceOutcome::Unavailable),
            ("trickle", Fault::Trickle, SourceOutcome::Timeout),
        ];
        for (label, fault, expected) in network_faults {
            // A healthy call first, so that the hub holds an open connection
            // for faults that strike a call already under way.
            proxy.set(Fault::Pass).await;
            let _ = submit(&sys, &plain).await;
            proxy.set(fault).await;
            let record = submit(&sys, &plain).await;
            let got = check(&sys, &store, d, label, &record, &baseline).await;
            proxy.set(Fault::Pass).await;
            assert_eq!(got, expected, "{label} at {}: {}", slug(d), sources_detail(&record, d));
            row.push((label, name(got).to_owned()));
        }
        let corruptions: [(&'static str, Corruption); 3] = [
            ("unknown person", unknown_person),
            ("negative money", negative_money),
            ("bad USCC", bad_uscc),
        ];
        for (label, corrupt) in corruptions {
            // `None`: the department has no such field (not applicable).
            let Some(h) = household_for(d, corrupt) else {
                row.push((label, "n/a".to_owned()));
                continue;
            };
            let fake = spawn_fake(&sys.pki, d, Behaviour::Corrupt(corrupt), Default::default(), {
                let mut rx = fakes_stopped.clone();
                async move {
                    let _ = rx.wait_for(|s| *s).await;
                }
            })
            .await;
            proxy.set(Fault::Pass).await;
            let healthy = submit(&sys, &h).await;
            proxy.set(Fault::Reroute(fake)).await;
            let record = submit(&sys, &h).await;
            let got = check(&sys, &store, d, label, &record, &healthy).await;
            proxy.set(Fault::Pass).await;
            assert_eq!(
                got,
                SourceOutcome::Error,
                "{label} at {}: {}",
                slug(d),
                sources_detail(&record, d)
            );
            assert!(
                !sources_detail(&record, d).is_empty(),
                "{label} at {}: the record says what was wrong",
                slug(d)
            );
            row.push((label, name(got).to_owned()));
        }
        // An adapter that restarts between calls: the next call is whole.
        proxy.set(Fault::Pass).await;
        let _ = submit(&sys, &plain).await;
        proxy.set(Fault::Refuse).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        proxy.set(Fault::Pass).await;
        let after = submit(&sys, &plain).await;
        let got = check(&sys, &store, d, "restart", &after, &baseline).await;
        assert_eq!(
            got,
            outcome(&baseline, d),
            "restart at {}: the call after it is whole",
            slug(d)
        );
        row.push(("restart between calls", name(got).to_owned()));
        // The hub goes on serving: a healthy call is whole again.
        let whole = submit(&sys, &plain).await;
        assert_eq!(whole.verdict(), baseline.verdict(), "after the faults at {}", slug(d));
        matrix.push((d, row));
    }
    let _ = stop_fakes.send(true);
    print_matrix(&matrix);
}

fn sources_detail(r: &VerificationRecord, d: Department) -> String {
    r.sources[index_of(d)].detail.clone()
}

fn print_matrix(matrix: &[(Department, Vec<(&'static str, String)>)]) {
    let Some((_, first)) = matrix.first() else {
        return;
    };
    let mut out = String::from("| department |");
    for (label, _) in first {
        out.push_str(&format!(" {label} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(first.len()));
    out.push('\n');
    for (d, row) in matrix {
        out.push_str(&format!("| {} |", slug(*d)));
        for (_, got) in row {
            out.push_str(&format!(" {got} |"));
        }
        out.push('\n');
    }
    eprintln!("fault matrix (department x fault -> source outcome):\n{out}");
}

/// A department that keeps failing trips its circuit breaker: the hub
/// stops asking it, fails fast with a record that says why, shows it in the
/// metrics, and lets one probe through after the cool-down, which closes
/// the breaker when the department is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_department_that_keeps_failing_trips_its_breaker_and_recovers_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
    let tuning = crate::helpers::Tuning {
        breaker: Some(hedui_hub::breaker::BreakerSettings {
            failures_to_open: 3,
            cool_down: Duration::from_millis(800),
            max_cool_down: Duration::from_secs(5),
        }),
        ..Default::default()
    };
    let tax = Department::Tax;
    let behaviour = |d| {
        if d == tax {
            Behaviour::Faulty
        } else {
            Behaviour::Sandbox
        }
    };
    let sys = TestSystem::tuned(behaviour, DEADLINE, &url, tuning).await;
    let h = household("qualifies");
    let healthy = submit(&sys, &h).await;
    let proxy = sys.proxies[index_of(tax)].as_ref().unwrap();
    proxy.set(Fault::Refuse).await;
    for n in 0..3 {
        let r = submit(&sys, &h).await;
        assert_eq!(outcome(&r, tax), SourceOutcome::Unavailable, "failure {n}");
        assert!(
            !sources_detail(&r, tax).contains("circuit breaker"),
            "failure {n} was asked"
        );
    }
    // Tripped: the fourth household is not asked about at all.
    let r = submit(&sys, &h).await;
    assert_eq!(outcome(&r, tax), SourceOutcome::Unavailable);
    assert!(
        sources_detail(&r, tax).contains("circuit breaker is open"),
        "{}",
        sources_detail(&r, tax)
    );
    assert_eq!(r.sources[index_of(tax)].latency_ms, 0, "it fails fast");
    assert_ne!(r.verdict(), Verdict::MeetsCriteria);
    for other in ALL.iter().filter(|d| **d != tax) {
        assert_eq!(
            outcome(&r, *other),
            outcome(&healthy, *other),
            "{} is unaffected",
            slug(*other)
        );
    }
    let (_, metrics) = crate::ops::http_get(sys.metrics_addr, "/metrics").await;
    assert!(
        metrics.contains("hedui_breaker_open{department=\"tax\"} 1"),
        "{metrics}"
    );
    // The department comes back; after the cool-down one probe goes through
    // and closes the breaker, with nobody restarting anything.
    proxy.set(Fault::Pass).await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    let r = submit(&sys, &h).await;
    assert_eq!(outcome(&r, tax), outcome(&healthy, tax), "{}", sources_detail(&r, tax));
    assert_eq!(r.verdict(), healthy.verdict());
    let (_, metrics) = crate::ops::http_get(sys.metrics_addr, "/metrics").await;
    assert!(
        metrics.contains("hedui_breaker_open{department=\"tax\"} 0"),
        "{metrics}"
    );
}
