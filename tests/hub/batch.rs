//! Batches end to end: the hub, its worker and eight adapters over mTLS.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hedui_domain::department::ALL;
use hedui_domain::window::IncomeWindow;
use hedui_hub::{BatchSettings, DepartmentLimits};
use hedui_proto::status::field_violations;
use hedui_proto::v1::batch_service_client::BatchServiceClient;
use hedui_proto::v1::{
    AddBatchHouseholdsRequest, Batch, BatchHousehold, BatchState, CancelBatchRequest, CreateBatchRequest, Department,
    GetBatchRequest, ListBatchesRequest, Purpose, SourceOutcome, StartBatchRequest, StreamBatchResultsRequest, Verdict,
};
use hedui_store::Store;
use hedui_store::batch::item_key;
use hedui_tls::Role;
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::{Behaviour, InFlight, TestSystem, Tuning, authorization, index_of, sandbox};

fn client(sys: &TestSystem) -> BatchServiceClient<Channel> {
    BatchServiceClient::new(sys.pki.channel(sys.hub_addr, &Role::Caseworker, "zhang.san"))
}

/// The first `n` sandbox households as roster items, rows from 2.
pub fn items(n: usize) -> Vec<BatchHousehold> {
    sandbox()
        .households()
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, h)| {
            let form = format!("SQ-B-{i:05}");
            BatchHousehold {
                row: i as u32 + 2,
                household: Some(h.household.clone()),
                authorization_ref: form.clone(),
                authorization: Some(authorization(&h.household, &form)),
            }
        })
        .collect()
}

fn create() -> CreateBatchRequest {
    CreateBatchRequest {
        purpose: Purpose::MinimumLiving as i32,
        income_window: Some(IncomeWindow::last_months(chrono::Utc::now().date_naive(), 12).to_proto()),
        asset_reference_date: String::new(),
        label: "年度复核".into(),
    }
}

/// Creates, fills and starts a batch of `n` households.
async fn start_batch(c: &mut BatchServiceClient<Channel>, n: usize) -> String {
    let id = c
        .create_batch(create())
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap()
        .batch_id;
    for chunk in items(n).chunks(100) {
        c.add_batch_households(AddBatchHouseholdsRequest {
            batch_id: id.clone(),
            items: chunk.to_vec(),
        })
        .await
        .unwrap();
    }
    let b = c
        .start_batch(StartBatchRequest { batch_id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    assert_eq!(b.state, BatchState::Running as i32);
    assert_eq!(b.total as usize, n);
    id
}

/// Polls until the batch is DONE (a liveness bound, not a timing claim).
async fn wait_done(c: &mut BatchServiceClient<Channel>, id: &str) -> Batch {
    for _ in 0..3000 {
        let b = c
            .get_batch(GetBatchRequest { batch_id: id.into() })
            .await
            .unwrap()
            .into_inner()
            .batch
            .unwrap();
        if b.state == BatchState::Done as i32 {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("batch {id} did not finish");
}

/// Every item has exactly one record, stored under its own key, and the
/// database holds no other record.
pub async fn assert_exactly_one_record_each(url: &str, id: &str, n: usize) -> Vec<hedui_proto::v1::VerificationRecord> {
    let store = Store::open(url)
        .await
        .unwrap()
        .with_data_keys(crate::helpers::data_keys());
    let rows = store.batch_results(id, 0, 1_000_000, false).await.unwrap();
    assert_eq!(rows.len(), n, "every household is done");
    let mut ids = HashSet::new();
    let mut records = Vec::new();
    for r in rows {
        let record = r.record.expect("a record for every household");
        let (by_key, _) = store
            .get_by_idempotency_key(&item_key(id, r.seq))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(by_key.record_id, record.record_id);
        assert!(ids.insert(record.record_id.clone()), "one record for two households");
        records.push(record);
    }
    let all = store
        .list_records(&hedui_store::ListFilter {
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), n, "no record without an item, none doubled");
    store.close().await;
    records
}

#[tokio::test]
async fn a_batch_runs_to_done_with_exactly_one_record_per_household() {
    let tuning = Tuning {
        batch: BatchSettings {
            in_flight: 6,
            poll: Duration::from_millis(20),
            ..Default::default()
        },
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
    let sys = TestSystem::tuned(|_| Behaviour::Sandbox, Duration::from_secs(10), &url, tuning).await;
    let mut c = client(&sys);
    let n = 40;
    let id = start_batch(&mut c, n).await;
    let b = wait_done(&mut c, &id).await;
    assert_eq!((b.done, b.pending, b.running), (n as u32, 0, 0));
    assert_eq!(
        b.meets_criteria + b.does_not_meet + b.needs_review + b.incomplete,
        n as u32
    );
    assert!(!b.finished_at.is_empty());
    let records = assert_exactly_one_record_each(&url, &id, n).await;
    // The sandbox's roll shows more than one verdict, and some flags.
    let verdicts: HashSet<i32> = records.iter().map(|r| r.verdict).collect();
    assert!(verdicts.len() > 1, "{verdicts:?}");

    // The results stream in roster order; the flagged filter keeps the
    // home-visit list.
    let mut s = c
        .stream_batch_results(StreamBatchResultsRequest {
            batch_id: id.clone(),
            only_flagged: false,
        })
        .await
        .unwrap()
        .into_inner();
    let mut rows = Vec::new();
    while let Some(r) = s.message().await.unwrap() {
        rows.push(r.row);
    }
    assert_eq!(rows, (2..2 + n as u32).collect::<Vec<_>>());
    let mut s = c
        .stream_batch_results(StreamBatchResultsRequest {
            batch_id: id.clone(),
            only_flagged: true,
        })
        .await
        .unwrap()
        .into_inner();
    let mut flagged = 0;
    while let Some(r) = s.message().await.unwrap() {
        let record = r.record.unwrap();
        assert!(!record.flags.is_empty() || record.verdict == Verdict::NeedsReview as i32);
        flagged += 1;
    }
    assert_eq!(flagged, b.flagged);
    let list = c
        .list_batches(ListBatchesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.batches.len(), 1);
    sys.stop().await;
}

#[tokio::test]
async fn an_invalid_household_refuses_the_chunk_and_a_draft_never_runs() {
    let sys = TestSystem::start().await;
    let mut c = client(&sys);
    let id = c
        .create_batch(create())
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap()
        .batch_id;
    // An empty batch cannot start.
    let err = c
        .start_batch(StartBatchRequest { batch_id: id.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let mut chunk = items(3);
    {
        let m = &mut chunk[1].household.as_mut().unwrap().members[0];
        let last = m.id_number.pop().unwrap();
        m.id_number.push(if last == '0' { '1' } else { '0' });
    }
    chunk[2].authorization.as_mut().unwrap().signers.clear();
    let err = c
        .add_batch_households(AddBatchHouseholdsRequest {
            batch_id: id.clone(),
            items: chunk,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let fields: Vec<String> = field_violations(&err).into_iter().map(|(f, _)| f).collect();
    assert!(
        fields.contains(&"items[1].household.members[0].id_number".to_owned()),
        "{fields:?}"
    );
    assert!(fields.iter().any(|f| f.starts_with("items[2].")), "{fields:?}");
    assert!(!fields.iter().any(|f| f.starts_with("items[0].")), "{fields:?}");
    // Nothing from that call was stored.
    let b = c
        .get_batch(GetBatchRequest { batch_id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    assert_eq!((b.total, b.state), (0, BatchState::Draft as i32));
    // Bad input at the edges is named.
    let err = c
        .add_batch_households(AddBatchHouseholdsRequest {
            batch_id: "nope".into(),
            items: items(1),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&err)[0].0, "batch_id");
    let err = c
        .add_batch_households(AddBatchHouseholdsRequest {
            batch_id: id.clone(),
            items: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&err)[0].0, "items");
    let mut bad = create();
    bad.income_window.as_mut().unwrap().to_month = "2099-12".into();
    let err = c.create_batch(bad).await.unwrap_err();
    assert_eq!(field_violations(&err)[0].0, "income_window.to_month");
    // A filled draft is not run: no department is asked.
    c.add_batch_households(AddBatchHouseholdsRequest {
        batch_id: id.clone(),
        items: items(2),
    })
    .await
    .unwrap();
    let again = c
        .get_batch(GetBatchRequest { batch_id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    assert_eq!((again.total, again.pending, again.done), (2, 2, 0));
    assert!(ALL.iter().all(|d| sys.query_log(*d).is_empty()));
    // An auditor may read batches but not make them.
    let mut auditor = BatchServiceClient::new(sys.pki.channel(sys.hub_addr, &Role::Auditor, "li.si"));
    assert!(
        auditor
            .get_batch(GetBatchRequest { batch_id: id.clone() })
            .await
            .is_ok()
    );
    let err = auditor.create_batch(create()).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn per_department_concurrency_is_held_at_the_adapter() {
    let counted = Arc::new(InFlight {
        delay: Duration::from_millis(30),
        ..Default::default()
    });
    let tuning = Tuning {
        limits: vec![(
            Department::Tax,
            DepartmentLimits {
                max_concurrency: 3,
                max_rate_per_s: 10_000.0,
            },
        )],
        batch: BatchSettings {
            in_flight: 12,
            poll: Duration::from_millis(20),
            ..Default::default()
        },
        breaker: None,
        crl: false,
        retention: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
    let c2 = counted.clone();
    let sys = TestSystem::tuned(
        move |d| {
            if d == Department::Tax {
                Behaviour::Counted(c2.clone())
            } else {
                Behaviour::Sandbox
            }
        },
        Duration::from_secs(10),
        &url,
        tuning,
    )
    .await;
    let mut c = client(&sys);
    let n = 40;
    let id = start_batch(&mut c, n).await;
    wait_done(&mut c, &id).await;
    // Twelve households in flight, but tax never saw more than its limit
    // less the one slot kept free for caseworkers at the counter, and it
    // did see that many.
    assert_eq!(counted.high_water.load(Ordering::SeqCst), 2);
    assert_eq!(sys.calls[index_of(Department::Tax)].load(Ordering::SeqCst), n);
    assert_exactly_one_record_each(&url, &id, n).await;
    sys.stop().await;
}

#[tokio::test]
async fn a_department_that_is_down_makes_households_wait_and_end_incomplete() {
    let max_attempts = 3;
    let tuning = Tuning {
        batch: BatchSettings {
            in_flight: 4,
            max_attempts,
            backoff: Duration::from_millis(30),
            max_backoff: Duration::from_millis(100),
            poll: Duration::from_millis(20),
            ..Default::default()
        },
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
    let sys = TestSystem::tuned(
        |d| {
            if d == Department::HousingFund {
                Behaviour::Down
            } else {
                Behaviour::Sandbox
            }
        },
        Duration::from_secs(5),
        &url,
        tuning,
    )
    .await;
    let mut c = client(&sys);
    let n = 12;
    let id = start_batch(&mut c, n).await;
    let b = wait_done(&mut c, &id).await;
    assert_eq!(b.retried, n as u32, "every household was retried");
    assert_eq!(b.incomplete, n as u32);
    assert_eq!(b.meets_criteria, 0);
    let records = assert_exactly_one_record_each(&url, &id, n).await;
    for r in &records {
        assert_eq!(r.verdict, Verdict::Incomplete as i32);
        assert_eq!(
            SourceOutcome::try_from(r.sources[index_of(Department::HousingFund)].outcome).unwrap(),
            SourceOutcome::Unavailable
        );
    }
    // Each attempt asked the departments that were up once: the tax
    // adapter's log holds one query per household per attempt.
    assert_eq!(sys.query_log(Department::Tax).len(), n * max_attempts as usize);
    sys.stop().await;
}

#[tokio::test]
async fn a_hub_stopped_cleanly_hands_its_households_back_and_the_next_resumes_at_once() {
    // A lease far longer than the wait below: only handing the leases back
    // at shutdown lets the restarted hub go on in time.
    let tuning = Tuning {
        batch: BatchSettings {
            in_flight: 4,
            lease: Duration::from_secs(3600),
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(100),
            poll: Duration::from_millis(20),
            ..Default::default()
        },
        ..Default::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
    let slow = |_| Behaviour::Slow(Duration::from_millis(40));
    let sys = TestSystem::tuned(slow, Duration::from_secs(10), &url, tuning.clone()).await;
    let mut c = client(&sys);
    let n = 60;
    let id = start_batch(&mut c, n).await;
    let mut done = 0;
    for _ in 0..3000 {
        done = c
            .get_batch(GetBatchRequest { batch_id: id.clone() })
            .await
            .unwrap()
            .into_inner()
            .batch
            .unwrap()
            .done;
        if done >= 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(done >= 8 && (done as usize) < n, "{done}");
    sys.stop().await;
    let store = Store::open(&url)
        .await
        .unwrap()
        .with_data_keys(crate::helpers::data_keys());
    let info = store.get_batch(&id).await.unwrap().unwrap();
    assert_eq!(info.running, 0, "every lease was handed back");
    store.close().await;
    let sys = TestSystem::tuned(|_| Behaviour::Sandbox, Duration::from_secs(10), &url, tuning).await;
    let mut c = client(&sys);
    let b = wait_done(&mut c, &id).await;
    assert_eq!(b.done as usize, n);
    assert_exactly_one_record_each(&url, &id, n).await;
    sys.stop().await;
}

/// Two hubs on one PostgreSQL database share a batch and an audit log: both
/// workers take households (claims skip what the other holds), every
/// household ends with exactly one record, and the one audit log, written by
/// both hubs at once, verifies against every checkpoint either signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hubs_on_one_postgres_share_a_batch_and_an_audit_log() {
    let Some(db) = crate::helpers::fresh_postgres().await else {
        return;
    };
    let tuning = || Tuning {
        batch: BatchSettings {
            in_flight: 4,
            poll: Duration::from_millis(50),
            ..BatchSettings::default()
        },
        ..Default::default()
    };
    let slow = |_| Behaviour::Slow(Duration::from_millis(20));
    let a = TestSystem::tuned(slow, Duration::from_secs(10), &db.url, tuning()).await;
    let b = TestSystem::tuned(slow, Duration::from_secs(10), &db.url, tuning()).await;
    let n = 120;
    let mut c = client(&a);
    let id = start_batch(&mut c, n).await;
    // The second hub's worker may not have heard of the batch: its poll
    // finds it.
    let done = wait_done(&mut c, &id).await;
    assert_eq!(done.done as usize, n);
    assert_exactly_one_record_each(&db.url, &id, n).await;
    let asked = |sys: &TestSystem| sys.calls.iter().map(|c| c.load(Ordering::SeqCst)).sum::<usize>();
    assert!(
        asked(&a) > 0 && asked(&b) > 0,
        "both hubs worked: {} and {}",
        asked(&a),
        asked(&b)
    );
    assert_eq!(
        asked(&a) + asked(&b),
        n * ALL.len(),
        "every household asked once of each department"
    );
    // Both hubs sign checkpoints over the shared log; all of them verify.
    a.state.audit.checkpoint().await.unwrap();
    b.state.audit.checkpoint().await.unwrap();
    let store = Store::open(&db.url)
        .await
        .unwrap()
        .with_data_keys(crate::helpers::data_keys());
    let entries = store.audit_all().await.unwrap();
    let checkpoints = store.checkpoints().await.unwrap();
    let report =
        hedui_audit::export::verify_full_log(&entries, &checkpoints, &crate::helpers::hub_key().verifying_key())
            .expect("the shared audit log verifies");
    assert_eq!(report.entries_verified, entries.len());
    let households: usize = entries
        .iter()
        .filter(|e| e.action == "batch.household" && e.status == "OK")
        .count();
    assert_eq!(households, n, "one result entry per household");
    store.close().await;
    a.stop().await;
    b.stop().await;
    db.drop_database().await;
}

/// The last audit entry of `action` in the hub's store: (actor, status, detail).
async fn last_entry(sys: &TestSystem, action: &str) -> (String, String, String) {
    let entries = sys
        .state
        .store
        .audit_entries(&hedui_store::audit::AuditFilter {
            action: Some(action.into()),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let e = entries.last().expect("an entry");
    (e.actor.clone(), e.status.clone(), e.detail.clone())
}

/// A batch belongs to the caseworker who created it: another caseworker may
/// not add to it, start it or cancel it (PERMISSION_DENIED, each refusal
/// in the audit log); an admin may cancel it, and may read any batch's
/// results, as batch.proto and the README say.
#[tokio::test]
async fn a_batch_belongs_to_its_creator_and_an_admin_may_cancel_and_read_it() {
    let sys = TestSystem::start().await;
    let mut owner = client(&sys);
    let mut other = BatchServiceClient::new(sys.pki.channel(sys.hub_addr, &Role::Caseworker, "wang.wu"));
    let mut admin = BatchServiceClient::new(sys.pki.channel(sys.hub_addr, &Role::Admin, "ops"));
    let id = owner
        .create_batch(create())
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap()
        .batch_id;

    let err = other
        .add_batch_households(AddBatchHouseholdsRequest {
            batch_id: id.clone(),
            items: items(1),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("caseworker:zhang.san"), "{err:?}");
    assert_eq!(
        last_entry(&sys, "AddBatchHouseholds").await,
        (
            "caseworker:wang.wu".into(),
            "PERMISSION_DENIED".into(),
            format!("batch {id} belongs to caseworker:zhang.san")
        )
    );
    owner
        .add_batch_households(AddBatchHouseholdsRequest {
            batch_id: id.clone(),
            items: items(2),
        })
        .await
        .unwrap();
    let err = other
        .start_batch(StartBatchRequest { batch_id: id.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(last_entry(&sys, "StartBatch").await.1, "PERMISSION_DENIED");
    let err = other
        .cancel_batch(CancelBatchRequest { batch_id: id.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert_eq!(
        last_entry(&sys, "CancelBatch").await,
        (
            "caseworker:wang.wu".into(),
            "PERMISSION_DENIED".into(),
            format!("batch {id} belongs to caseworker:zhang.san")
        )
    );
    // An admin may neither fill nor start it, by role.
    let err = admin
        .start_batch(StartBatchRequest { batch_id: id.clone() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    // Nothing the others tried changed it.
    let b = owner
        .get_batch(GetBatchRequest { batch_id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    assert_eq!((b.total, b.state), (2, BatchState::Draft as i32));
    // An admin cancels it, in the log under the admin's name.
    let b = admin
        .cancel_batch(CancelBatchRequest { batch_id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    assert_eq!(b.state, BatchState::Cancelled as i32);
    let (actor, status, _) = last_entry(&sys, "CancelBatch").await;
    assert_eq!((actor.as_str(), status.as_str()), ("admin:ops", "OK"));

    // An admin reads a finished batch's results.
    let done = start_batch(&mut owner, 2).await;
    wait_done(&mut owner, &done).await;
    let mut stream = admin
        .stream_batch_results(StreamBatchResultsRequest {
            batch_id: done.clone(),
            only_flagged: false,
        })
        .await
        .unwrap()
        .into_inner();
    let mut n = 0;
    while let Some(r) = stream.message().await.unwrap() {
        assert!(r.record.is_some(), "{r:?}");
        n += 1;
    }
    assert_eq!(n, 2);
    let (actor, status, _) = last_entry(&sys, "StreamBatchResults").await;
    assert_eq!((actor.as_str(), status.as_str()), ("admin:ops", "OK"));
}

/// A consent gap (a minor without a guardian's signature) is
/// FAILED_PRECONDITION with an AUTHORIZATION violation on
/// AddBatchHouseholds, as on SubmitVerification
/// (`a_minor_without_a_guardian_stops_the_query_at_the_hub`).
#[tokio::test]
async fn a_consent_gap_in_a_batch_is_failed_precondition_as_on_submit() {
    let sys = TestSystem::start().await;
    let mut c = client(&sys);
    let id = c
        .create_batch(create())
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap()
        .batch_id;
    let mut chunk = items(sandbox().households().len().min(500));
    let i = chunk
        .iter()
        .position(|item| {
            item.authorization
                .as_ref()
                .unwrap()
                .signers
                .iter()
                .any(|s| s.as_guardian)
        })
        .expect("a household with a minor");
    chunk[i]
        .authorization
        .as_mut()
        .unwrap()
        .signers
        .retain(|s| !s.as_guardian);
    let err = c
        .add_batch_households(AddBatchHouseholdsRequest {
            batch_id: id.clone(),
            items: chunk,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let v = hedui_proto::status::precondition_violations(&err);
    assert!(!v.is_empty());
    let prefix = format!("items[{i}].household.members[");
    assert!(v.iter().all(|(s, _)| s.starts_with(&prefix)), "{v:?}");
    assert!(v.iter().any(|(_, d)| d.contains("guardian")), "{v:?}");
    assert_eq!(last_entry(&sys, "AddBatchHouseholds").await.1, "FAILED_PRECONDITION");
    // Nothing was added.
    let b = c
        .get_batch(GetBatchRequest { batch_id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    assert_eq!(b.total, 0);
}
