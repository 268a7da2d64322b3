//! Retention on the hub's schedule (issue #15 item 3): a hub configured to
//! apply it runs it at start and then every interval, each run an audit
//! entry; a record past the period is unreadable afterwards and says why,
//! the rest are untouched, and the audit log still verifies and still
//! lists the accesses to the erased household's members.

use std::time::Duration;

use hedui_hub::retention::{Keep, RetentionSettings};
use hedui_proto::v1::{GetRecordRequest, ListRecordsRequest};
use hedui_store::audit::AuditFilter;
use tonic::Code;

use crate::helpers::{Behaviour, TestSystem, Tuning, household, request, store_as_hub};

#[tokio::test]
async fn a_scheduled_run_erases_what_is_past_retention_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());

    // A hub without retention stores a record today and one made in 2019
    // (through its own appender, as it stored records then), and a
    // caseworker reads the old one.
    let sys = TestSystem::on_database(|_| Behaviour::Sandbox, Duration::from_secs(10), &url).await;
    let mut hub = sys.hub.clone();
    let h = household("qualifies");
    let new = hub
        .submit_verification(request(&h, "retention-new"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    let mut old = new.clone();
    old.record_id = uuid::Uuid::now_v7().to_string();
    old.created_at = "2019-03-01T10:00:00.000Z".into();
    hedui_domain::digest::seal(&mut old);
    store_as_hub(&sys, &mut old, "retention-old").await;
    let read = |id: &str| GetRecordRequest { record_id: id.into() };
    hub.get_record(read(&old.record_id)).await.unwrap();
    let member = h.household.members[0].id_number.clone();
    let person = sys.state.audit.person_key_hash(&member);
    sys.stop().await;

    // The same database under a hub that keeps records five years and
    // applies that every 100 ms (a day, in production).
    let tuning = Tuning {
        retention: Some(RetentionSettings {
            keep: Keep::Years(5),
            apply_every: Some(Duration::from_millis(100)),
        }),
        ..Default::default()
    };
    let sys = TestSystem::tuned(|_| Behaviour::Sandbox, Duration::from_secs(10), &url, tuning).await;
    let store = sys.state.store.clone();
    let runs = AuditFilter {
        action: Some(hedui_hub::retention::ACTION.into()),
        limit: 100,
        ..Default::default()
    };
    // Two runs: the one at start and one on the schedule.
    let mut entries = Vec::new();
    for _ in 0..600 {
        entries = store.audit_entries(&runs).await.unwrap();
        if entries.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        entries.len() >= 2,
        "only {} scheduled run(s): {entries:?}",
        entries.len()
    );
    assert!(
        entries[0].detail.contains("erased 1 record(s)"),
        "{}",
        entries[0].detail
    );
    assert!(
        entries[1].detail.contains("erased 0 record(s)"),
        "{}",
        entries[1].detail
    );
    assert!(entries.iter().all(|e| e.role == "hub" && e.status == "OK"));

    // The old record is gone and says so; today's is untouched.
    let mut hub = sys.hub.clone();
    let err = hub.get_record(read(&old.record_id)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains("erased under the retention period"),
        "{}",
        err.message()
    );
    assert!(hedui_proto::status::retention_expired(&err).is_some());
    let again = hub
        .get_record(read(&new.record_id))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    assert_eq!(again, new);
    let listed = hub
        .list_records(ListRecordsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .records;
    let tomb = listed.iter().find(|s| s.record_id == old.record_id).unwrap();
    assert!(!tomb.erased_at.is_empty());
    assert_eq!((tomb.verdict, tomb.digest.as_str()), (old.verdict, old.digest.as_str()));

    // The log still verifies, and still lists who read the old record.
    let report = store.check_integrity(&sys.grant_key.verifying_key()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let about = store
        .audit_entries(&AuditFilter {
            person_key_hash: Some(person),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        about
            .iter()
            .any(|e| e.action == "GetRecord" && e.record_digest == old.digest),
        "{about:?}"
    );
    sys.stop().await;
}
