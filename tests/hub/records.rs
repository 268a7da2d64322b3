//! Reviews, re-checks and history of records (复核), over real gRPC.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hedui_proto::status::field_violations;
use hedui_proto::v1::{
    Department, GetRecordHistoryRequest, GetRecordRequest, ListRecordsRequest, RecheckRecordRequest, ReviewOutcome,
    ReviewRecordRequest, SourceOutcome, Verdict, VerificationRecord,
};
use hedui_store::Store;
use hedui_tls::Role;
use tonic::Code;

use crate::helpers::{Behaviour, TestSystem, household, index_of, request, store_as_hub};

fn review(record_id: &str, outcome: ReviewOutcome, note: &str) -> ReviewRecordRequest {
    ReviewRecordRequest {
        record_id: record_id.to_owned(),
        outcome: outcome as i32,
        note: note.to_owned(),
    }
}

fn recheck(record_id: &str, key: &str, departments: &[Department]) -> RecheckRecordRequest {
    RecheckRecordRequest {
        record_id: record_id.to_owned(),
        departments: departments.iter().map(|d| *d as i32).collect(),
        idempotency_key: key.to_owned(),
    }
}

/// A system whose tax bureau is down until the returned switch is turned on.
async fn with_tax_down() -> (TestSystem, Arc<AtomicBool>) {
    let on = Arc::new(AtomicBool::new(false));
    let switch = on.clone();
    let sys = TestSystem::with(
        move |d| {
            if d == Department::Tax {
                Behaviour::Switch(switch.clone())
            } else {
                Behaviour::Sandbox
            }
        },
        Duration::from_secs(10),
    )
    .await;
    (sys, on)
}

fn tax_calls(sys: &TestSystem) -> usize {
    sys.calls[index_of(Department::Tax)].load(Ordering::SeqCst)
}

async fn get(sys: &TestSystem, id: &str) -> VerificationRecord {
    sys.hub
        .clone()
        .get_record(GetRecordRequest {
            record_id: id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap()
}

#[tokio::test]
async fn reviews_are_kept_in_order_and_never_change_the_record() {
    let sys = TestSystem::start().await;
    let mut hub = sys.hub.clone();
    let record = hub
        .submit_verification(request(&household("car-owner"), "review-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    let id = record.record_id.clone();
    let steps = [
        (ReviewOutcome::Objection, "户主称车辆已于上月出售"),
        (ReviewOutcome::Corrected, "入户核查：车辆已过户，见过户凭证"),
        (ReviewOutcome::Confirmed, ""),
    ];
    let mut made = Vec::new();
    for (outcome, note) in steps {
        let r = hub
            .review_record(review(&id, outcome, note))
            .await
            .unwrap()
            .into_inner()
            .review
            .unwrap();
        assert_eq!(r.record_id, id);
        assert_eq!(r.reviewer, "caseworker:zhang.san");
        assert_eq!(r.reviewer_role, "caseworker");
        assert!(!r.created_at.is_empty());
        made.push(r);
    }

    // An auditor reads the history; the reviews come back in the order made.
    let mut auditor = sys.pki.client(sys.hub_addr, &Role::Auditor, "li.si");
    let history = auditor
        .get_record_history(GetRecordHistoryRequest { record_id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.reviews, made);
    let outcomes: Vec<i32> = history.reviews.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, steps.map(|(o, _)| o as i32));
    assert_eq!(history.reviews[1].note, steps[1].1);
    assert_eq!(history.versions.len(), 1);
    assert_eq!(history.versions[0].record_id, id);
    assert_eq!(history.versions[0].version, 1);

    // The record is exactly as it was.
    assert_eq!(get(&sys, &id).await, record);

    // Only a caseworker may review.
    let err = auditor
        .review_record(review(&id, ReviewOutcome::Confirmed, ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // A correction without a note, a control character, an unset outcome:
    // each is named, and nothing more is stored.
    for (req, field) in [
        (review(&id, ReviewOutcome::Corrected, "  "), "note"),
        (review(&id, ReviewOutcome::Objection, "a\u{1b}b"), "note"),
        (review(&id, ReviewOutcome::Unspecified, "x"), "outcome"),
        (review(&id, ReviewOutcome::Objection, &"字".repeat(2001)), "note"),
        (review("nope", ReviewOutcome::Confirmed, ""), "record_id"),
    ] {
        let err = hub.review_record(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}");
        assert_eq!(field_violations(&err)[0].0, field);
    }
    let history = hub
        .get_record_history(GetRecordHistoryRequest { record_id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.reviews.len(), 3);
}

#[tokio::test]
async fn a_review_of_a_missing_record_is_not_found_and_nothing_is_stored() {
    let sys = TestSystem::start().await;
    let mut hub = sys.hub.clone();
    let missing = uuid::Uuid::now_v7().to_string();
    let err = hub
        .review_record(review(&missing, ReviewOutcome::Objection, "户主不认可"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains(&missing), "{}", err.message());
    let err = hub
        .get_record_history(GetRecordHistoryRequest {
            record_id: missing.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = hub
        .recheck_record(recheck(&missing, "rc-missing", &[]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let store = Store::open(&sys.database_url)
        .await
        .unwrap()
        .with_data_keys(crate::helpers::data_keys());
    assert!(store.reviews(&missing).await.unwrap().is_empty());
    assert!(store.lineage(&missing).await.unwrap().is_empty());
    let list = hub
        .list_records(ListRecordsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(list.records.is_empty());
}

#[tokio::test]
async fn a_recheck_after_a_department_comes_back_makes_a_linked_version() {
    let (sys, tax_on) = with_tax_down().await;
    let mut hub = sys.hub.clone();
    let v1 = hub
        .submit_verification(request(&household("qualifies"), "rc-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    assert_eq!(v1.version, 1);
    assert!(v1.previous_record_id.is_empty());
    assert_eq!(
        v1.sources[index_of(Department::Tax)].outcome,
        SourceOutcome::Unavailable as i32
    );
    assert_eq!(v1.verdict, Verdict::Incomplete as i32);
    assert_eq!(tax_calls(&sys), 1);
    let pboc_queries = sys.query_log(Department::Pboc).len();

    // The INCOMPLETE record is found by the verdict filter.
    let incomplete = hub
        .list_records(ListRecordsRequest {
            verdict: Verdict::Incomplete as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(incomplete.records.len(), 1);
    assert_eq!(incomplete.records[0].record_id, v1.record_id);

    // The tax bureau is back; re-check what did not answer.
    tax_on.store(true, Ordering::SeqCst);
    let resp = hub
        .recheck_record(recheck(&v1.record_id, "rc-2", &[]))
        .await
        .unwrap()
        .into_inner();
    assert!(!resp.replayed);
    assert_eq!(resp.asked, [Department::Tax as i32]);
    let v2 = resp.record.clone().unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.previous_record_id, v1.record_id);
    assert_ne!(v2.record_id, v1.record_id);
    assert!(hedui_domain::digest::verify(&v2));
    assert!(matches!(
        SourceOutcome::try_from(v2.sources[index_of(Department::Tax)].outcome).unwrap(),
        SourceOutcome::Ok | SourceOutcome::NoRecord
    ));
    assert_eq!(v2.verdict, Verdict::MeetsCriteria as i32, "{:#?}", v2.reasons);
    // Same household, purpose, window, asset date and authorization.
    assert_eq!(v2.household, v1.household);
    assert_eq!(v2.income_window, v1.income_window);
    assert_eq!(v2.asset_reference_date, v1.asset_reference_date);
    assert_eq!(v2.authorization, v1.authorization);
    // Only the tax bureau was asked; the others' answers were kept.
    assert_eq!(tax_calls(&sys), 2);
    assert_eq!(sys.query_log(Department::Pboc).len(), pboc_queries);
    assert_eq!(
        v2.sources[index_of(Department::Pboc)],
        v1.sources[index_of(Department::Pboc)]
    );

    // The diff names the department's outcome change and the verdict change.
    let change = |what: &str| resp.changes.iter().find(|c| c.what == what);
    let tax = change("source tax").expect("the tax outcome changed");
    assert_eq!(tax.before, "unavailable");
    assert!(tax.after == "ok" || tax.after == "no record", "{tax:?}");
    let verdict = change("verdict").expect("the verdict changed");
    assert_eq!(
        (verdict.before.as_str(), verdict.after.as_str()),
        ("INCOMPLETE", "MEETS_CRITERIA")
    );
    assert!(change("source pboc").is_none());

    // Version 1 is still readable and unchanged.
    let old = get(&sys, &v1.record_id).await;
    assert_eq!(old, v1);
    assert_eq!(old.digest, v1.digest);
    assert_eq!(get(&sys, &v2.record_id).await, v2);

    // The history lists both versions, oldest first, from either one.
    for id in [&v1.record_id, &v2.record_id] {
        let h = hub
            .get_record_history(GetRecordHistoryRequest { record_id: id.clone() })
            .await
            .unwrap()
            .into_inner();
        let versions: Vec<(&str, u32, &str)> = h
            .versions
            .iter()
            .map(|s| (s.record_id.as_str(), s.version, s.previous_record_id.as_str()))
            .collect();
        assert_eq!(
            versions,
            [
                (v1.record_id.as_str(), 1, ""),
                (v2.record_id.as_str(), 2, v1.record_id.as_str())
            ]
        );
    }

    // v1 is still listed as INCOMPLETE, marked as replaced; nothing is left
    // to complete among the latest versions.
    let incomplete = hub
        .list_records(ListRecordsRequest {
            verdict: Verdict::Incomplete as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(incomplete.records.len(), 1);
    assert_eq!(incomplete.records[0].superseded_by, v2.record_id);
    let to_complete = hub
        .list_records(ListRecordsRequest {
            verdict: Verdict::Incomplete as i32,
            latest_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(to_complete.records.is_empty(), "{:?}", to_complete.records);

    // The same key again replays the version and asks nobody.
    let again = hub
        .recheck_record(recheck(&v1.record_id, "rc-2", &[]))
        .await
        .unwrap()
        .into_inner();
    assert!(again.replayed);
    assert_eq!(again.record, resp.record);
    assert_eq!(again.changes, resp.changes);
    assert_eq!(tax_calls(&sys), 2);

    // Version 1 is no longer the latest: the refusal names version 2.
    let err = hub
        .recheck_record(recheck(&v1.record_id, "rc-3", &[Department::Tax]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains(&v2.record_id), "{}", err.message());
    // Version 2 has nothing left to ask unless departments are named.
    let err = hub
        .recheck_record(recheck(&v2.record_id, "rc-4", &[]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = field_violations(&err);
    assert_eq!(v[0].0, "departments");
    assert!(v[0].1.contains("every department answered"), "{v:?}");
    // An unknown department is named by position.
    let mut bad = recheck(&v2.record_id, "rc-5", &[Department::Tax]);
    bad.departments.push(42);
    let err = hub.recheck_record(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&err)[0].0, "departments[1]");
    assert_eq!(tax_calls(&sys), 2);

    // Naming a department asks it again even though it answered.
    let v3 = hub
        .recheck_record(recheck(&v2.record_id, "rc-6", &[Department::Tax]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v3.record.as_ref().unwrap().version, 3);
    assert_eq!(v3.asked, [Department::Tax as i32]);
    assert_eq!(tax_calls(&sys), 3);
    assert!(v3.changes.iter().all(|c| c.what != "verdict"), "{:#?}", v3.changes);

    let store = Store::open(&sys.database_url)
        .await
        .unwrap()
        .with_data_keys(crate::helpers::data_keys());
    assert_eq!(store.lineage(&v1.record_id).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_recheck_is_logged_like_a_verification() {
    let (sys, tax_on) = with_tax_down().await;
    let mut hub = sys.hub.clone();
    let v1 = hub
        .submit_verification(request(&household("qualifies"), "rc-audit-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    tax_on.store(true, Ordering::SeqCst);
    let v2 = hub
        .recheck_record(recheck(&v1.record_id, "rc-audit-2", &[]))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    let mut auditor = hedui_proto::v1::audit_service_client::AuditServiceClient::new(sys.pki.channel(
        sys.hub_addr,
        &Role::Auditor,
        "li.si",
    ));
    let entries: Vec<hedui_audit::entry::AuditEntry> = auditor
        .list_audit_entries(hedui_proto::v1::ListAuditEntriesRequest {
            filter: Some(hedui_proto::v1::AuditFilter {
                limit: 10_000,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .entries
        .iter()
        .map(|v| serde_json::from_str(&v.canonical_json).unwrap())
        .collect();
    let of_v2: Vec<_> = entries.iter().filter(|e| e.request_id == v2.request_id).collect();
    let actions: Vec<(&str, &str)> = of_v2.iter().map(|e| (e.action.as_str(), e.status.as_str())).collect();
    assert_eq!(actions[0], ("verification.begin", "STARTED"));
    assert_eq!(of_v2[0].departments, ["tax"]);
    assert_eq!(of_v2.iter().filter(|e| e.action == "source.query").count(), 1);
    let done = of_v2
        .iter()
        .find(|e| e.action == "RecheckRecord")
        .expect("a RecheckRecord entry");
    assert_eq!(done.record_digest, v2.digest);
    assert_eq!(done.actor, "caseworker:zhang.san");
    assert!(!done.persons.is_empty());
}

#[tokio::test]
async fn a_recheck_under_an_authorization_that_no_longer_covers_asks_nobody() {
    let (sys, tax_on) = with_tax_down().await;
    let mut hub = sys.hub.clone();
    let h = household("qualifies");
    let v1 = hub
        .submit_verification(request(&h, "rc-auth-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    assert_eq!(tax_calls(&sys), 1);
    tax_on.store(true, Ordering::SeqCst);
    let today = chrono::Utc::now().date_naive();

    // Records made under an authorization that has since expired, or that
    // lacks a member's signature. Such records cannot be made through the
    // hub today, so they are stored as the hub would: sealed, with an entry.
    let expired = |r: &mut VerificationRecord| {
        let a = r.authorization.as_mut().unwrap();
        a.signed_date = (today - chrono::Days::new(60)).to_string();
        a.valid_until = (today - chrono::Days::new(1)).to_string();
    };
    let unsigned = |r: &mut VerificationRecord| {
        r.authorization.as_mut().unwrap().signers.pop();
    };
    let store = Store::open(&sys.database_url)
        .await
        .unwrap()
        .with_data_keys(crate::helpers::data_keys());
    type Forge<'a> = &'a dyn Fn(&mut VerificationRecord);
    let forgeries: [(&str, Forge); 2] = [("expired", &expired), ("unsigned", &unsigned)];
    for (name, forge) in forgeries {
        let mut r = v1.clone();
        r.record_id = uuid::Uuid::now_v7().to_string();
        forge(&mut r);
        store_as_hub(&sys, &mut r, &format!("forged-{name}")).await;

        let err = hub
            .recheck_record(recheck(&r.record_id, &format!("rc-auth-{name}"), &[]))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{name}: {err:?}");
        assert!(
            err.message().contains("a new authorization is needed"),
            "{}",
            err.message()
        );
        assert!(err.message().contains("no department was asked"), "{}", err.message());
        // No department was asked and no version was stored.
        assert_eq!(tax_calls(&sys), 1, "{name}");
        assert_eq!(store.lineage(&r.record_id).await.unwrap().len(), 1, "{name}");
        assert!(
            store
                .get_by_idempotency_key(&format!("rc-auth-{name}"))
                .await
                .unwrap()
                .is_none()
        );
    }
}

/// Two re-checks of one version at once: one new version, one refusal that
/// names it, and no audit entry naming a record that was not stored. The
/// whole database still verifies row by row.
#[tokio::test]
async fn concurrent_rechecks_of_one_version_store_one_and_log_no_phantom() {
    let (sys, tax_on) = with_tax_down().await;
    let h = household("qualifies");
    let v1 = sys
        .hub
        .clone()
        .submit_verification(request(&h, "rc-race-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    tax_on.store(true, Ordering::SeqCst);
    let (mut hub_a, mut hub_b) = (sys.hub.clone(), sys.hub.clone());
    let (a, b) = tokio::join!(
        hub_a.recheck_record(recheck(&v1.record_id, "rc-race-a", &[])),
        hub_b.recheck_record(recheck(&v1.record_id, "rc-race-b", &[])),
    );
    let (won, lost) = match (a, b) {
        (Ok(w), Err(l)) | (Err(l), Ok(w)) => (w.into_inner().record.unwrap(), l),
        (a, b) => panic!("expected one version and one refusal, got {a:?} and {b:?}"),
    };
    assert_eq!(lost.code(), Code::FailedPrecondition, "{lost:?}");
    assert!(lost.message().contains(&won.record_id), "{}", lost.message());
    sys.state.audit.checkpoint().await.unwrap();
    let store = sys.state.store.clone();
    let lineage = store.lineage(&v1.record_id).await.unwrap();
    assert_eq!(lineage.len(), 2, "one new version");
    let report = store
        .check_integrity(&crate::helpers::hub_key().verifying_key())
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let entries = store.audit_all().await.unwrap();
    let stored_versions = entries
        .iter()
        .filter(|e| e.action == "RecheckRecord" && e.status == "OK" && !e.record_digest.is_empty())
        .count();
    assert_eq!(
        stored_versions, 1,
        "only the stored version is named by a RecheckRecord entry"
    );
}

/// A record whose body was edited and re-sealed with a recomputed digest is
/// refused by the hub with DATA_LOSS, and never shown.
#[tokio::test]
async fn a_resealed_record_is_refused_by_the_hub() {
    let sys = TestSystem::start().await;
    let v1 = sys
        .hub
        .clone()
        .submit_verification(request(&household("qualifies"), "reseal-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    let mut forged = v1.clone();
    forged.household.as_mut().unwrap().members[0].name = "王伪造".into();
    hedui_domain::digest::seal(&mut forged);
    use prost::Message as _;
    let sql = format!(
        "UPDATE records SET body = X'{}', digest = '{}' WHERE record_id = '{}'",
        forged
            .encode_to_vec()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        forged.digest,
        forged.record_id
    );
    assert_eq!(sys.state.store.execute_raw_for_tests(&sql).await.unwrap(), 1);
    let err = sys
        .hub
        .clone()
        .get_record(GetRecordRequest {
            record_id: v1.record_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DataLoss, "{err:?}");
    assert!(!err.message().contains("王伪造"));

    // Offline: the record as exported verifies with the hub's public key;
    // the forgery does not.
    let dir = tempfile::tempdir().unwrap();
    let key = format!(
        "ed25519:{}",
        crate::helpers::hub_key()
            .verifying_key()
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let verify = |record: &VerificationRecord, name: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, hedui_proto::to_json(record, "hedui.v1.VerificationRecord")).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_hedui"))
            .args(["record", "verify", "--key", &key])
            .arg(&path)
            .output()
            .unwrap()
    };
    let good = verify(&v1, "good.json");
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    assert!(String::from_utf8_lossy(&good.stdout).contains("carries the hub's seal"));
    let bad = verify(&forged, "forged.json");
    assert!(!bad.status.success());
    let text = String::from_utf8_lossy(&bad.stderr);
    assert!(text.contains("VERIFICATION FAILED") && text.contains("seal"), "{text}");
}
