//! Integration tests: the hub and eight adapters in-process, over real gRPC
//! on loopback sockets.

mod access;
mod at_rest;
mod audit;
mod batch;
mod console;
mod faults;
mod helpers;
mod ops;
mod proxy;
mod reconcile;
mod records;
mod replicas;
mod report;
mod retention;
mod revocation;
mod snapshot;
mod trust;

use std::sync::Arc;
use std::time::Duration;

use hedui_proto::status::field_violations;
use hedui_proto::v1::{
    Department, GetRecordRequest, ListRecordsRequest, Relation, SourceOutcome, SubmitVerificationRequest, Verdict,
};
use helpers::{Behaviour, TestSystem, household, index_of, request};
use tonic::Code;

fn outcome(r: &hedui_proto::v1::VerificationRecord, d: Department) -> SourceOutcome {
    SourceOutcome::try_from(r.sources[index_of(d)].outcome).unwrap()
}

#[tokio::test]
async fn a_household_goes_end_to_end_and_is_read_back() {
    let sys = TestSystem::start().await;
    let mut hub = sys.hub.clone();
    let h = household("qualifies");
    let resp = hub
        .submit_verification(request(&h, "e2e-1"))
        .await
        .unwrap()
        .into_inner();
    assert!(!resp.replayed);
    let record = resp.record.unwrap();
    assert_eq!(record.sources.len(), 8);
    for s in &record.sources {
        let o = SourceOutcome::try_from(s.outcome).unwrap();
        assert!(matches!(o, SourceOutcome::Ok | SourceOutcome::NoRecord), "{s:?}");
        assert!(!s.data_as_of.is_empty());
    }
    assert_eq!(record.verdict, Verdict::MeetsCriteria as i32, "{:#?}", record.reasons);
    assert!(!record.reasons.is_empty());
    assert!(hedui_domain::digest::verify(&record));
    assert_eq!(record.members.len(), h.household.members.len());
    assert!(!record.policy_version.is_empty());

    let got = hub
        .get_record(GetRecordRequest {
            record_id: record.record_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.record.as_ref(), Some(&record));

    let applicant = &h.household.members[0].id_number;
    let list = hub
        .list_records(ListRecordsRequest {
            id_number: applicant.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.records.len(), 1);
    assert_eq!(list.records[0].record_id, record.record_id);
    assert_eq!(list.records[0].digest, record.digest);
}

#[tokio::test]
async fn records_survive_a_hub_restart() {
    let sys = TestSystem::start().await;
    let url = sys.database_url.clone();
    let mut hub = sys.hub.clone();
    let record = hub
        .submit_verification(request(&household("qualifies"), "restart-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    let dir = sys.stop().await;
    let sys = TestSystem::on_database(|_| Behaviour::Sandbox, Duration::from_secs(10), &url).await;
    let mut hub = sys.hub.clone();
    let got = hub
        .get_record(GetRecordRequest {
            record_id: record.record_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.record, Some(record));
    drop(dir);
}

#[tokio::test]
async fn all_departments_are_asked_at_the_same_time() {
    // Every department waits until all eight are inside a call. Asked one
    // after another, the first would wait past its deadline and time out.
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let sys = TestSystem::with(|_| Behaviour::Rendezvous(barrier.clone()), Duration::from_secs(20)).await;
    let mut hub = sys.hub.clone();
    let record = hub
        .submit_verification(request(&household("qualifies"), "parallel-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    for s in &record.sources {
        assert!(
            matches!(
                SourceOutcome::try_from(s.outcome).unwrap(),
                SourceOutcome::Ok | SourceOutcome::NoRecord
            ),
            "{s:?}"
        );
    }
}

#[tokio::test]
async fn a_slow_department_times_out_while_the_others_answer() {
    let sys = TestSystem::with(
        |d| {
            if d == Department::Tax {
                Behaviour::Slow(Duration::from_secs(30))
            } else {
                Behaviour::Sandbox
            }
        },
        Duration::from_millis(500),
    )
    .await;
    let mut hub = sys.hub.clone();
    let record = hub
        .submit_verification(request(&household("qualifies"), "slow-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    assert_eq!(outcome(&record, Department::Tax), SourceOutcome::Timeout);
    for d in hedui_domain::department::ALL
        .into_iter()
        .filter(|d| *d != Department::Tax)
    {
        assert!(
            matches!(outcome(&record, d), SourceOutcome::Ok | SourceOutcome::NoRecord),
            "{d:?}"
        );
    }
    // Fail closed: a missing required source never meets the criteria.
    assert_eq!(record.verdict, Verdict::Incomplete as i32);
    assert!(
        record
            .reasons
            .iter()
            .any(|r| r.rule == "sources.required" && r.detail.contains("tax"))
    );
}

fn negative_balance(r: &mut hedui_proto::v1::QueryResponse) {
    use hedui_proto::v1::person_result::Findings;
    for p in &mut r.results {
        if let Some(Findings::Pboc(f)) = &mut p.findings {
            for a in &mut f.accounts {
                a.balance_fen = -100;
            }
        }
    }
}

fn unknown_person(r: &mut hedui_proto::v1::QueryResponse) {
    if let Some(first) = r.results.first_mut() {
        first.id_number = "110101197310286235".into();
    }
}

fn no_data_date(r: &mut hedui_proto::v1::QueryResponse) {
    r.data_as_of = "yesterday".into();
}

#[tokio::test]
async fn malformed_replies_end_as_error_and_leave_the_rest_intact() {
    type Corruption = fn(&mut hedui_proto::v1::QueryResponse);
    let cases: [(Corruption, &str); 3] = [
        (negative_balance, "balance_fen"),
        (unknown_person, "not asked about"),
        (no_data_date, "data_as_of"),
    ];
    for (corrupt, expected) in cases {
        let sys = TestSystem::with(
            |d| {
                if d == Department::Pboc {
                    Behaviour::Corrupt(corrupt)
                } else {
                    Behaviour::Sandbox
                }
            },
            Duration::from_secs(10),
        )
        .await;
        let mut hub = sys.hub.clone();
        // A household with bank accounts, so the corruption has something to touch.
        let record = hub
            .submit_verification(request(&household("high-deposits"), "bad-1"))
            .await
            .unwrap()
            .into_inner()
            .record
            .unwrap();
        assert_eq!(outcome(&record, Department::Pboc), SourceOutcome::Error);
        let detail = &record.sources[index_of(Department::Pboc)].detail;
        assert!(detail.contains(expected), "{detail}");
        assert_eq!(record.verdict, Verdict::Incomplete as i32);
        assert!(
            record
                .members
                .iter()
                .all(|m| { m.result_departments.iter().all(|d| *d != Department::Pboc as i32) })
        );
        assert!(hedui_domain::digest::verify(&record));
        // The hub goes on serving.
        let again = hub.submit_verification(request(&household("qualifies"), "bad-2")).await;
        assert!(again.is_ok());
    }
}

#[tokio::test]
async fn a_department_that_is_down_is_unavailable() {
    let sys = TestSystem::with(
        |d| {
            if d == Department::HousingFund {
                Behaviour::Down
            } else {
                Behaviour::Sandbox
            }
        },
        Duration::from_secs(5),
    )
    .await;
    let mut hub = sys.hub.clone();
    let record = hub
        .submit_verification(request(&household("qualifies"), "down-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    assert_eq!(outcome(&record, Department::HousingFund), SourceOutcome::Unavailable);
    assert_eq!(record.verdict, Verdict::Incomplete as i32);
}

#[tokio::test]
async fn a_retried_submit_returns_the_same_record() {
    let sys = TestSystem::start().await;
    let mut hub = sys.hub.clone();
    let req = request(&household("car-owner"), "retry-1");
    let first = hub.submit_verification(req.clone()).await.unwrap().into_inner();
    let second = hub.submit_verification(req.clone()).await.unwrap().into_inner();
    assert!(!first.replayed);
    assert!(second.replayed);
    assert_eq!(first.record, second.record);
    // Only the first call reached the departments.
    assert!(
        sys.calls
            .iter()
            .all(|c| c.load(std::sync::atomic::Ordering::SeqCst) == 0)
    );
    let list = hub
        .list_records(ListRecordsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.records.len(), 1);

    // The same key for a different household is an error, not a replay.
    let other = request(&household("qualifies"), "retry-1");
    let err = hub.submit_verification(other).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&err)[0].0, "idempotency_key");
}

/// Sends `req`, expects INVALID_ARGUMENT with a violation on `field`.
async fn rejected(sys: &TestSystem, req: SubmitVerificationRequest, field: &str) {
    let mut hub = sys.hub.clone();
    let err = hub.submit_verification(req).await.expect_err(field);
    assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
    let v = field_violations(&err);
    assert!(
        v.iter().any(|(f, _)| f == field),
        "expected a violation on {field}, got {v:?}"
    );
}

#[tokio::test]
async fn every_bad_input_is_named_and_nothing_is_stored() {
    let sys = TestSystem::start().await;
    let good = request(&household("qualifies"), "bad-input");
    let with = |f: &dyn Fn(&mut SubmitVerificationRequest)| {
        let mut r = good.clone();
        f(&mut r);
        r
    };
    let m0 = "household.members[0].id_number";

    // A wrong check character.
    let bad_check = with(&|r| {
        let id = &mut r.household.as_mut().unwrap().members[0].id_number;
        let last = id.pop().unwrap();
        id.push(if last == '0' { '1' } else { '0' });
    });
    rejected(&sys, bad_check, m0).await;
    // 30 February.
    rejected(
        &sys,
        with(&|r| r.household.as_mut().unwrap().members[0].id_number = "520626197802301228".into()),
        m0,
    )
    .await;
    // A duplicate member.
    let dup = with(&|r| {
        let h = r.household.as_mut().unwrap();
        let mut copy = h.members[0].clone();
        copy.relation = Relation::Child as i32;
        h.members.push(copy);
    });
    let dup_field = format!(
        "household.members[{}].id_number",
        good.household.as_ref().unwrap().members.len()
    );
    rejected(&sys, dup, &dup_field).await;
    // An empty household, and 31 members.
    rejected(
        &sys,
        with(&|r| r.household.as_mut().unwrap().members.clear()),
        "household.members",
    )
    .await;
    let many = with(&|r| {
        let h = r.household.as_mut().unwrap();
        let template = h.members[0].clone();
        while h.members.len() < 31 {
            let mut m = template.clone();
            m.relation = Relation::Other as i32;
            h.members.push(m);
        }
    });
    rejected(&sys, many, "household.members").await;
    // A window longer than 24 months, and one in the future.
    rejected(
        &sys,
        with(&|r| r.income_window.as_mut().unwrap().from_month = "2020-01".into()),
        "income_window.from_month",
    )
    .await;
    rejected(
        &sys,
        with(&|r| r.income_window.as_mut().unwrap().to_month = "2099-12".into()),
        "income_window.to_month",
    )
    .await;
    // A control character in a name.
    rejected(
        &sys,
        with(&|r| r.household.as_mut().unwrap().members[0].name = "杨\u{7}光".into()),
        "household.members[0].name",
    )
    .await;
    // No purpose, no authorization, no key.
    rejected(&sys, with(&|r| r.purpose = 0), "purpose").await;
    rejected(&sys, with(&|r| r.authorization_ref.clear()), "authorization_ref").await;
    rejected(&sys, with(&|r| r.idempotency_key.clear()), "idempotency_key").await;
    // A message over the size limit.
    rejected(
        &sys,
        with(&|r| r.household.as_mut().unwrap().members[0].name = "名".repeat(40_000)),
        "request",
    )
    .await;

    // Nothing was stored and no department was asked.
    let mut hub = sys.hub.clone();
    let list = hub
        .list_records(ListRecordsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(list.records.is_empty());

    // Bad reads are named too.
    let err = hub
        .get_record(GetRecordRequest {
            record_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&err)[0].0, "record_id");
    let err = hub
        .get_record(GetRecordRequest {
            record_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = hub
        .list_records(ListRecordsRequest {
            created_from: "2026-02-30".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&err)[0].0, "created_from");
}

#[tokio::test]
async fn list_filters_by_verdict() {
    let sys = TestSystem::start().await;
    let mut hub = sys.hub.clone();
    for (i, s) in ["qualifies", "car-owner", "deceased-member"].iter().enumerate() {
        hub.submit_verification(request(&household(s), &format!("list-{i}")))
            .await
            .unwrap();
    }
    let all = hub
        .list_records(ListRecordsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.records.len(), 3);
    let meets = hub
        .list_records(ListRecordsRequest {
            verdict: Verdict::MeetsCriteria as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(meets.records.len(), 1);
    assert_eq!(meets.records[0].verdict, Verdict::MeetsCriteria as i32);
}

#[tokio::test]
async fn lists_page_by_token_and_filter_by_purpose_and_household() {
    let sys = TestSystem::start().await;
    let mut hub = sys.hub.clone();
    let mut refs = Vec::new();
    for (i, s) in ["qualifies", "car-owner", "deceased-member"].iter().enumerate() {
        let h = household(s);
        refs.push(h.household.household_ref.clone());
        hub.submit_verification(request(&h, &format!("page-{i}")))
            .await
            .unwrap();
    }
    let first = hub
        .list_records(ListRecordsRequest {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.records.len(), 2);
    assert!(!first.next_page_token.is_empty(), "a third record waits");
    let second = hub
        .list_records(ListRecordsRequest {
            limit: 2,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.records.len(), 1);
    assert!(second.next_page_token.is_empty(), "the last page says so");
    let mut seen: Vec<_> = first
        .records
        .iter()
        .chain(&second.records)
        .map(|r| r.household_ref.clone())
        .collect();
    seen.sort();
    refs.sort();
    assert_eq!(seen, refs, "every record once, across the pages");
    let one = hub
        .list_records(ListRecordsRequest {
            household_ref: refs[1].clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.records.len(), 1);
    assert_eq!(one.records[0].household_ref, refs[1]);
    let medical = hub
        .list_records(ListRecordsRequest {
            purpose: hedui_proto::v1::Purpose::Medical as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(medical.records.is_empty());
    let err = hub
        .list_records(ListRecordsRequest {
            page_token: "not-a-token".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&err)[0].0, "page_token");
}
