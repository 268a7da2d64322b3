//! The departments' service report (`AuditService/GetDepartmentReport`)
//! over real gRPC and mutual TLS: its counts are what each department
//! received, it is for admins only, and its quarters are China Standard
//! Time.

use std::time::Duration;

use hedui_domain::department::{ALL, slug};
use hedui_domain::quarter::Quarter;
use hedui_proto::status::field_violations;
use hedui_proto::v1::audit_service_client::AuditServiceClient;
use hedui_proto::v1::{
    Department, DepartmentFigures, GetDepartmentReportRequest, GetDepartmentReportResponse, QueryResponse,
    RecheckRecordRequest, SourceOutcome,
};
use hedui_tls::Role;
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::{Behaviour, TestSystem, Tuning, household, index_of, request};

fn audit(sys: &TestSystem, role: Role) -> AuditServiceClient<Channel> {
    AuditServiceClient::new(sys.pki.channel(sys.hub_addr, &role, "wang.wu"))
}

async fn report(sys: &TestSystem, quarter: &str) -> Result<GetDepartmentReportResponse, tonic::Status> {
    audit(sys, Role::Admin)
        .get_department_report(GetDepartmentReportRequest {
            quarter: quarter.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

fn row(p: &hedui_proto::v1::DepartmentReportPeriod, d: Department) -> &DepartmentFigures {
    &p.departments[index_of(d)]
}

fn break_reply(r: &mut QueryResponse) {
    r.results.clear();
}

/// What each department received, by its own count: the lines of a sandbox
/// adapter's query log, or the calls a fake answered.
fn received(sys: &TestSystem, d: Department) -> u64 {
    match d {
        Department::Tax | Department::Pboc | Department::Housing => {
            sys.calls[index_of(d)].load(std::sync::atomic::Ordering::SeqCst) as u64
        }
        _ => sys.query_log(d).len() as u64,
    }
}

/// Five households and a re-check, with the tax bureau too slow, the
/// central bank's replies broken and the housing bureau down for
/// maintenance, each tripping its breaker after two failures so the rest
/// of its queries are never sent: the report counts, per department,
/// exactly the queries that department received, and the ones never sent
/// apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_quarter_counts_exactly_what_each_department_received() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
    let tuning = Tuning {
        breaker: Some(hedui_hub::breaker::BreakerSettings {
            failures_to_open: 2,
            cool_down: Duration::from_secs(3600),
            max_cool_down: Duration::from_secs(3600),
        }),
        ..Default::default()
    };
    let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let behaviour = |d| match d {
        Department::Tax => Behaviour::Slow(Duration::from_secs(30)),
        Department::Pboc => Behaviour::Corrupt(break_reply),
        Department::Housing => Behaviour::Switch(down.clone()),
        _ => Behaviour::Sandbox,
    };
    let sys = TestSystem::tuned(behaviour, Duration::from_millis(400), &url, tuning).await;
    let mut hub = sys.hub.clone();
    let h = household("qualifies");
    let mut first = None;
    for n in 0..5 {
        let r = hub
            .submit_verification(request(&h, &format!("report-{n}")))
            .await
            .unwrap()
            .into_inner()
            .record
            .unwrap();
        first.get_or_insert(r);
    }
    let first = first.unwrap();
    assert_eq!(
        first.sources[index_of(Department::Tax)].outcome,
        SourceOutcome::Timeout as i32
    );
    // A re-check asks only the department named; the others keep their
    // answers and are not counted again.
    hub.recheck_record(RecheckRecordRequest {
        record_id: first.record_id.clone(),
        departments: vec![Department::Hrss as i32],
        idempotency_key: "report-recheck".to_owned(),
    })
    .await
    .unwrap();

    let quarter = Quarter::containing(chrono::Utc::now());
    let r = report(&sys, &quarter.to_string()).await.unwrap();
    let now = r.current.as_ref().unwrap();
    let before = r.previous.as_ref().unwrap();
    assert_eq!(now.quarter, quarter.to_string());
    assert_eq!(before.quarter, quarter.previous().to_string());
    assert_eq!(now.from, quarter.first_instant().to_rfc3339());
    assert_eq!(now.departments.len(), ALL.len());
    assert_eq!(now.requests, 6, "five households and one re-check");
    for d in ALL {
        let f = row(now, d);
        assert_eq!(f.queries, received(&sys, d), "{} received", slug(d));
        assert_eq!(
            f.queries,
            f.ok + f.no_record + f.timeouts + f.unavailable + f.errors + f.refused + f.abandoned,
            "{}",
            slug(d)
        );
        assert_eq!(row(before, d).queries, 0, "nothing in the quarter before");
    }
    let tax = row(now, Department::Tax);
    assert_eq!((tax.queries, tax.timeouts, tax.not_asked), (2, 2, 3), "{tax:?}");
    assert!(tax.p50_ms.unwrap() >= 400, "{tax:?}");
    let pboc = row(now, Department::Pboc);
    assert_eq!((pboc.queries, pboc.errors, pboc.not_asked), (2, 2, 3), "{pboc:?}");
    let housing = row(now, Department::Housing);
    assert_eq!(
        (housing.queries, housing.unavailable, housing.not_asked),
        (2, 2, 3),
        "{housing:?}"
    );
    let hrss = row(now, Department::Hrss);
    assert_eq!((hrss.queries, hrss.ok + hrss.no_record, hrss.not_asked), (6, 6, 0));
    let identity = row(now, Department::PublicSecurity);
    assert_eq!((identity.queries, identity.ok, identity.not_asked), (5, 5, 0));
    assert!(identity.p50_ms.is_some() && identity.p95_ms >= identity.p50_ms);

    // The log says which entries were never sent, and the call is logged.
    let entries = sys
        .state
        .store
        .audit_entries(&hedui_store::audit::AuditFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let not_asked = entries
        .iter()
        .filter(|e| e.action == "source.query" && e.detail.starts_with("not asked: the circuit breaker is open"))
        .count();
    assert_eq!(not_asked, 9);
    assert!(
        entries
            .iter()
            .any(|e| e.action == "audit.GetDepartmentReport" && e.status == "OK" && e.role == "admin")
    );
}

/// Caseworkers and auditors are refused, logged; a quarter that is not one
/// is INVALID_ARGUMENT naming `quarter`; the quarters are cut at midnight
/// in Beijing, and the previous one crosses the year.
#[tokio::test]
async fn admins_only_quarters_in_beijing_time_and_a_bad_quarter_named() {
    let sys = TestSystem::start().await;
    for role in [Role::Caseworker, Role::Auditor] {
        let err = audit(&sys, role)
            .get_department_report(GetDepartmentReportRequest {
                quarter: "2026Q4".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{role}");
    }
    for bad in ["2026Q5", "2026-Q4", "", "1999Q4"] {
        let err = report(&sys, bad).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{bad:?}");
        let v = field_violations(&err);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].0, "quarter");
    }
    let entries = sys
        .state
        .store
        .audit_entries(&hedui_store::audit::AuditFilter {
            action: Some("audit.GetDepartmentReport".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let statuses: Vec<&str> = entries.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "PERMISSION_DENIED",
            "PERMISSION_DENIED",
            "INVALID_ARGUMENT",
            "INVALID_ARGUMENT",
            "INVALID_ARGUMENT",
            "INVALID_ARGUMENT"
        ]
    );

    // source.query entries either side of the 2026Q1 boundaries, which are
    // 16:00 UTC on New Year's Eve and on 31 March.
    let caller = hedui_hub::access::Caller::InsecureDev;
    let at = |time: &str, dept: &str, detail: &str| {
        let mut e = hedui_hub::service::audit_entry(&caller, "source.query", "OK");
        e.time = time.to_owned();
        e.departments = vec![dept.to_owned()];
        e.request_id = uuid::Uuid::new_v4().to_string();
        e.detail = detail.to_owned();
        e
    };
    sys.state
        .audit
        .append(vec![
            at("2025-09-30T15:59:59.999Z", "tax", "10 ms"),
            at("2025-09-30T16:00:00.000Z", "tax", "10 ms"),
            at("2025-12-31T15:59:59.999Z", "tax", "20 ms"),
            at("2025-12-31T16:00:00.000Z", "tax", "30 ms"),
            at("2026-03-31T15:59:59.999Z", "tax", "40 ms"),
            at(
                "2026-03-31T15:59:59.999Z",
                "tax",
                "not asked: the circuit breaker is open",
            ),
            at("2026-03-31T16:00:00.000Z", "tax", "50 ms"),
        ])
        .await
        .unwrap();
    let r = report(&sys, "2026q1").await.unwrap();
    let (now, before) = (r.current.unwrap(), r.previous.unwrap());
    assert_eq!((now.quarter.as_str(), before.quarter.as_str()), ("2026Q1", "2025Q4"));
    assert_eq!(now.from, "2026-01-01T00:00:00+08:00");
    assert_eq!(now.to, "2026-04-01T00:00:00+08:00");
    let (t, b) = (row(&now, Department::Tax), row(&before, Department::Tax));
    assert_eq!((t.queries, t.not_asked, t.p50_ms, t.p95_ms), (2, 1, Some(30), Some(40)));
    assert_eq!((b.queries, b.p50_ms), (2, Some(10)));
}
