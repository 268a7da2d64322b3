//! The audit log: what is logged, who may read it, offline verification, and
//! tampering with the database directly.

use std::time::Duration;

use hedui_audit::entry::AuditEntry;
use hedui_audit::export::{ExportBundle, verify_bundle};
use hedui_proto::v1::audit_service_client::AuditServiceClient;
use hedui_proto::v1::{
    AuditFilter, ExportAuditRequest, GetCheckpointRequest, ListAuditEntriesRequest, ListRecordsRequest,
    WhoAccessedRequest,
};
use hedui_tls::Role;
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::{Behaviour, TestSystem, household, hub_key, request};

fn auditor(sys: &TestSystem, role: Role) -> AuditServiceClient<Channel> {
    AuditServiceClient::new(sys.pki.channel(sys.hub_addr, &role, "li.si"))
}

async fn all_entries(sys: &TestSystem) -> Vec<AuditEntry> {
    let resp = auditor(sys, Role::Auditor)
        .list_audit_entries(ListAuditEntriesRequest {
            filter: Some(AuditFilter {
                limit: 10_000,
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    resp.entries
        .iter()
        .map(|v| serde_json::from_str(&v.canonical_json).unwrap())
        .collect()
}

#[tokio::test]
async fn a_verification_is_logged_per_department_and_the_export_verifies_offline() {
    let sys = TestSystem::start().await;
    let h = household("qualifies");
    let record = sys
        .hub
        .clone()
        .submit_verification(request(&h, "audit-1"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();

    let entries = all_entries(&sys).await;
    let begin = entries
        .iter()
        .find(|e| e.action == "verification.begin")
        .expect("a begin entry");
    assert_eq!(begin.actor, "caseworker:zhang.san");
    assert_eq!(begin.request_id, record.request_id);
    let queries: Vec<&AuditEntry> = entries.iter().filter(|e| e.action == "source.query").collect();
    assert_eq!(queries.len(), 8);
    assert!(
        queries
            .iter()
            .all(|e| e.request_id == record.request_id && e.departments.len() == 1)
    );
    let done = entries.iter().find(|e| e.action == "SubmitVerification").unwrap();
    assert_eq!(done.status, "OK");
    assert_eq!(done.record_digest, record.digest);
    assert_eq!(done.persons.len(), h.household.members.len());
    // Seqs are one sequence with no gaps.
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as u64);
    }
    // Persons are searchable but never stored in the clear.
    for e in &entries {
        let text = serde_json::to_string(e).unwrap();
        for m in &h.household.members {
            assert!(
                !text.contains(&m.id_number) && !text.contains(&m.name),
                "personal data in {text}"
            );
        }
    }

    // "Who looked at me" for one member.
    let who = auditor(&sys, Role::Auditor)
        .who_accessed(WhoAccessedRequest {
            id_number: h.household.members[0].id_number.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(who.entries.len() >= 10, "{}", who.entries.len());

    // The export verifies with only the hub's public key, and not with another.
    let bundle = auditor(&sys, Role::Auditor)
        .export_audit(ExportAuditRequest {
            filter: Some(AuditFilter::default()),
        })
        .await
        .unwrap()
        .into_inner();
    let bundle: ExportBundle = serde_json::from_slice(&bundle.bundle_json).unwrap();
    let report = verify_bundle(&bundle, &hub_key().verifying_key()).unwrap();
    assert!(report.entries_verified >= 10);
    let stranger = hedui_trust::SigningKey::from_bytes(&[3; 32]).verifying_key();
    assert!(verify_bundle(&bundle, &stranger).is_err());
}

#[tokio::test]
async fn denied_calls_and_audit_reads_are_logged_too() {
    let sys = TestSystem::start().await;
    // A caseworker may not read the audit log.
    let err = auditor(&sys, Role::Caseworker)
        .list_audit_entries(ListAuditEntriesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // An auditor may not submit.
    let err = sys
        .pki
        .client(sys.hub_addr, &Role::Auditor, "li.si")
        .submit_verification(request(&household("qualifies"), "nope"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let entries = all_entries(&sys).await;
    assert!(entries.iter().any(|e| e.action == "audit.ListAuditEntries"
        && e.status == "PERMISSION_DENIED"
        && e.actor.starts_with("caseworker:")));
    assert!(
        entries
            .iter()
            .any(|e| e.action == "SubmitVerification" && e.status == "PERMISSION_DENIED" && e.actor == "auditor:li.si")
    );
    // The auditor's own read was logged before it was answered... and shows
    // up in the next read.
    let again = all_entries(&sys).await;
    assert!(
        again
            .iter()
            .any(|e| e.action == "audit.ListAuditEntries" && e.status == "OK")
    );
}

/// Runs `hedui audit verify --database` and returns (success, output).
fn verify_database(url: &str) -> (bool, String) {
    let key = hedui_audit::checkpoint::format_public_key(&hub_key().verifying_key());
    let keys_dir = tempfile::tempdir().unwrap();
    let data_key = crate::helpers::write_data_key(keys_dir.path());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hedui"))
        .args(["audit", "verify", "--database", url, "--key", &key, "--data-key"])
        .arg(&data_key)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A system with some history and a signed checkpoint, stopped; returns its
/// database URL and the directory that holds it.
async fn history() -> (String, tempfile::TempDir) {
    let sys = TestSystem::start().await;
    for (i, s) in ["qualifies", "car-owner"].iter().enumerate() {
        sys.hub
            .clone()
            .submit_verification(request(&household(s), &format!("h-{i}")))
            .await
            .unwrap();
    }
    auditor(&sys, Role::Auditor)
        .get_checkpoint(GetCheckpointRequest { fresh: true })
        .await
        .unwrap();
    let url = sys.database_url.clone();
    let dir = sys.stop().await.unwrap();
    (url, dir)
}

async fn tamper(url: &str, sql: &str) {
    use sqlx::Connection as _;
    let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
    // The triggers and foreign keys stop the hub's own connection; someone
    // with the file can switch them off, which is what verification catches.
    sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut c).await.unwrap();
    for drop in [
        "DROP TRIGGER IF EXISTS audit_entries_append_only_update",
        "DROP TRIGGER IF EXISTS audit_entries_append_only_delete",
    ] {
        sqlx::query(drop).execute(&mut c).await.unwrap();
    }
    // The test's own SQL.
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn editing_deleting_or_reordering_rows_is_detected() {
    let (url, _dir) = history().await;
    let (ok, text) = verify_database(&url);
    assert!(ok, "an untouched log verifies: {text}");

    let cases = [
        (
            "edit",
            "UPDATE audit_entries SET entry = replace(entry, 'zhang.san', 'wang.wu') WHERE seq = 3",
        ),
        ("delete", "DELETE FROM audit_entries WHERE seq = 5"),
        (
            "reorder",
            "UPDATE audit_entries SET seq = -1 WHERE seq = 1; UPDATE audit_entries SET seq = 1 WHERE seq = 2; \
             UPDATE audit_entries SET seq = 2 WHERE seq = -1;",
        ),
    ];
    for (name, sql) in cases {
        let (fresh_url, dir) = history().await;
        tamper(&fresh_url, sql).await;
        let (ok, text) = verify_database(&fresh_url);
        assert!(!ok, "{name} was not detected: {text}");
        assert!(text.contains("VERIFICATION FAILED"), "{name}: {text}");
        // The hub itself refuses to start on a log that no longer matches
        // its signed checkpoint.
        let store = hedui_store::Store::open(&fresh_url)
            .await
            .unwrap()
            .with_data_keys(crate::helpers::data_keys());
        let opened = hedui_hub::audit::AuditLog::open(store, hub_key(), "t".into(), Duration::from_secs(60)).await;
        assert!(opened.is_err(), "{name}: the hub would start on a tampered log");
        drop(dir);
    }
}

#[tokio::test]
async fn the_hub_refuses_to_answer_when_the_audit_log_cannot_be_written() {
    let sys = TestSystem::with(|_| Behaviour::Sandbox, Duration::from_secs(10)).await;
    {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&sys.database_url).await.unwrap();
        sqlx::query(
            "CREATE TRIGGER break_audit BEFORE INSERT ON audit_entries BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        )
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    }
    let err = sys
        .hub
        .clone()
        .submit_verification(request(&household("qualifies"), "unlogged"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("audit log"));
    // No department was asked, and nothing was stored.
    for d in hedui_domain::department::ALL {
        assert!(sys.query_log(d).is_empty(), "{d:?} was asked without a log entry");
    }
    let err = sys
        .hub
        .clone()
        .list_records(ListRecordsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    // The health check reports it, so a load balancer stops sending work.
    let mut health =
        tonic_health::pb::health_client::HealthClient::new(sys.pki.channel(sys.hub_addr, &Role::Admin, "ops"));
    let mut status = None;
    for _ in 0..50 {
        let r = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "hedui.v1.VerificationService".into(),
            })
            .await
            .unwrap()
            .into_inner();
        status = Some(r.status);
        if r.status == tonic_health::pb::health_check_response::ServingStatus::NotServing as i32 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        status,
        Some(tonic_health::pb::health_check_response::ServingStatus::NotServing as i32)
    );
}

#[tokio::test]
async fn a_healthy_hub_reports_serving() {
    let sys = TestSystem::start().await;
    let mut health =
        tonic_health::pb::health_client::HealthClient::new(sys.pki.channel(sys.hub_addr, &Role::Admin, "ops"));
    let mut serving = false;
    for _ in 0..50 {
        let r = health
            .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
            .await;
        if r.is_ok_and(|r| {
            r.into_inner().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        }) {
            serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(serving);
}

/// An export says, signed by the hub, what it holds. An entry deleted from
/// a range export, or the export cut short, no longer verifies; a filtered
/// export verifies but its completeness is reported as not proven. No cap
/// cuts an export silently.
#[tokio::test]
async fn an_export_with_an_entry_deleted_or_cut_short_fails_verification() {
    let sys = TestSystem::start().await;
    let h = household("qualifies");
    for i in 0..3 {
        sys.hub
            .clone()
            .submit_verification(request(&h, &format!("export-{i}")))
            .await
            .unwrap();
    }
    let export = |filter: AuditFilter| {
        let mut c = auditor(&sys, Role::Auditor);
        async move {
            let r = c
                .export_audit(ExportAuditRequest { filter: Some(filter) })
                .await
                .unwrap()
                .into_inner();
            serde_json::from_slice::<ExportBundle>(&r.bundle_json).unwrap()
        }
    };
    let key = hub_key().verifying_key();
    let whole = export(AuditFilter::default()).await;
    let report = verify_bundle(&whole, &key).unwrap();
    let scope = report.scope.expect("a signed scope");
    assert!(scope.complete);
    assert_eq!(scope.entry_count as usize, whole.entries.len());
    assert_eq!((scope.first_seq, scope.last_seq), (0, whole.entries.len() as u64 - 1));
    assert_eq!(
        whole.entries.len() as u64,
        whole.checkpoint.checkpoint.tree_size,
        "every entry of the log"
    );

    // One entry deleted, with its proof, so that inclusion alone still holds.
    let mut deleted = whole.clone();
    let gone = deleted.entries.remove(5).seq;
    deleted.inclusion.retain(|p| p.seq != gone);
    let err = verify_bundle(&deleted, &key).unwrap_err().to_string();
    assert!(err.contains(&format!("entry {gone} is missing")), "{err}");

    // Cut to 10 entries.
    let mut cut = whole.clone();
    cut.entries.truncate(10);
    cut.inclusion.truncate(10);
    assert!(verify_bundle(&cut, &key).is_err());
    // ... and with the scope edited to match: the signature fails.
    let mut scope_edited = cut.clone();
    if let Some(s) = scope_edited.scope.as_mut() {
        s.statement.last_seq = 9;
        s.statement.entry_count = 10;
    }
    let err = verify_bundle(&scope_edited, &key).unwrap_err().to_string();
    assert!(err.contains("not signed"), "{err}");

    // A filtered export verifies, and says its completeness is not proven.
    let by_person = export(AuditFilter {
        id_number: h.household.members[0].id_number.clone(),
        ..Default::default()
    })
    .await;
    let scope = verify_bundle(&by_person, &key).unwrap().scope.unwrap();
    assert!(!scope.complete);
    assert!(
        scope.selection.starts_with("person=") && scope.selection.contains('*'),
        "{}",
        scope.selection
    );
    assert!(!scope.selection.contains(&h.household.members[0].id_number));
}

/// For every kind of error the caseworker and auditor RPCs return, the
/// audit entry of the call records the very status code the caller got:
/// NOT_FOUND is logged as NOT_FOUND, never as INTERNAL.
#[tokio::test]
async fn each_refused_call_is_logged_with_the_code_the_caller_got() {
    use hedui_proto::v1::batch_service_client::BatchServiceClient;
    use hedui_proto::v1::{CancelBatchRequest, GetBatchRequest, GetRecordRequest, RecheckRecordRequest};
    let sys = TestSystem::start().await;
    let mut hub = sys.hub.clone();
    let mut batches = BatchServiceClient::new(sys.pki.channel(sys.hub_addr, &Role::Caseworker, "zhang.san"));
    let store = sys.state.store.clone();
    let last_status = |action: &'static str| {
        let store = store.clone();
        async move {
            let entries = store
                .audit_entries(&hedui_store::audit::AuditFilter {
                    action: Some(action.into()),
                    limit: 10_000,
                    ..Default::default()
                })
                .await
                .unwrap();
            entries.last().map(|e| e.status.clone()).unwrap_or_default()
        }
    };
    let name = |c: Code| format!("{c:?}");
    let expect = |got: Code, logged: String, want: Code, what: &str| {
        assert_eq!(got, want, "{what}: the caller's code");
        let upper: String = name(want)
            .chars()
            .flat_map(|c| {
                if c.is_uppercase() {
                    vec!['_', c]
                } else {
                    vec![c.to_ascii_uppercase()]
                }
            })
            .collect();
        assert_eq!(logged, upper.trim_start_matches('_'), "{what}: the logged code");
    };

    let missing = uuid::Uuid::now_v7().to_string();
    let e = hub
        .get_record(GetRecordRequest {
            record_id: missing.clone(),
        })
        .await
        .unwrap_err();
    expect(
        e.code(),
        last_status("GetRecord").await,
        Code::NotFound,
        "a missing record",
    );
    let e = hub
        .get_record(GetRecordRequest {
            record_id: "not-a-uuid".into(),
        })
        .await
        .unwrap_err();
    expect(
        e.code(),
        last_status("GetRecord").await,
        Code::InvalidArgument,
        "a bad record id",
    );
    let e = hub
        .recheck_record(RecheckRecordRequest {
            record_id: missing.clone(),
            departments: vec![],
            idempotency_key: "codes-recheck".into(),
        })
        .await
        .unwrap_err();
    expect(
        e.code(),
        last_status("RecheckRecord").await,
        Code::NotFound,
        "a re-check of nothing",
    );
    let mut bad = request(&household("qualifies"), "codes-unauthorized");
    bad.authorization.as_mut().unwrap().signers.clear();
    let e = hub.submit_verification(bad).await.unwrap_err();
    expect(
        e.code(),
        last_status("SubmitVerification").await,
        Code::InvalidArgument,
        "no signers",
    );
    // The entry says why, by field path only.
    let refused = store
        .audit_entries(&hedui_store::audit::AuditFilter {
            action: Some("SubmitVerification".into()),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(
        refused.detail.starts_with("invalid: ") && refused.detail.contains("authorization"),
        "{}",
        refused.detail
    );
    let h = household("qualifies");
    for m in &h.household.members {
        assert!(!refused.detail.contains(&m.id_number) && !refused.detail.contains(&m.name));
    }
    let e = batches
        .get_batch(GetBatchRequest {
            batch_id: missing.clone(),
        })
        .await
        .unwrap_err();
    expect(
        e.code(),
        last_status("GetBatch").await,
        Code::NotFound,
        "a missing batch",
    );
    let e = batches
        .cancel_batch(CancelBatchRequest { batch_id: missing })
        .await
        .unwrap_err();
    expect(
        e.code(),
        last_status("CancelBatch").await,
        Code::NotFound,
        "cancelling a missing batch",
    );
    let e = auditor(&sys, Role::Caseworker)
        .export_audit(ExportAuditRequest::default())
        .await
        .unwrap_err();
    expect(
        e.code(),
        last_status("audit.ExportAudit").await,
        Code::PermissionDenied,
        "a caseworker exporting",
    );
    let e = auditor(&sys, Role::Auditor)
        .list_audit_entries(ListAuditEntriesRequest {
            filter: Some(AuditFilter {
                from: "yesterday".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    expect(
        e.code(),
        last_status("audit.ListAuditEntries").await,
        Code::InvalidArgument,
        "a bad time",
    );
}

/// A request over the one request limit (64 KiB by default, the
/// transport's and the hub's alike) never reaches a handler; it is still
/// logged, and the caller gets INVALID_ARGUMENT naming `request` with the
/// same code in the entry.
#[tokio::test]
async fn a_request_refused_by_the_transport_is_logged_and_named() {
    let sys = TestSystem::start().await;
    // Just over 64 KiB, and far over it.
    for (key, n) in [("over-64k", 22_000), ("too-big", 100_000)] {
        let mut req = request(&household("qualifies"), key);
        req.household.as_mut().unwrap().members[0].name = "张".repeat(n);
        let err = sys.hub.clone().submit_verification(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        let fields = hedui_proto::status::field_violations(&err);
        assert!(
            fields.iter().any(|(f, d)| f == "request" && d.contains("65536")),
            "{fields:?}"
        );
        let e = last_entry(&sys, "SubmitVerification").await;
        assert_eq!(e.status, "INVALID_ARGUMENT");
        assert!(
            e.detail.starts_with("refused before the hub read it (OUT_OF_RANGE)"),
            "{}",
            e.detail
        );
        assert!(!e.detail.contains("张张"), "{}", e.detail);
        assert_eq!(e.actor, "caseworker:zhang.san");
    }
}

async fn last_entry(sys: &TestSystem, action: &str) -> AuditEntry {
    let entries = sys
        .state
        .store
        .audit_entries(&hedui_store::audit::AuditFilter {
            action: Some(action.into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    entries.last().cloned().expect("the refusal is logged")
}

/// `GetRecordRequest` as a client that gets the types wrong would send it:
/// field 1 is a string there.
#[derive(Clone, PartialEq, prost::Message)]
struct NotUtf8 {
    #[prost(bytes = "vec", tag = "1")]
    record_id: Vec<u8>,
}

/// Field 1 with the wrong wire type: not a `GetRecordRequest` at all.
#[derive(Clone, PartialEq, prost::Message)]
struct WrongWireType {
    #[prost(fixed32, tag = "1")]
    record_id: u32,
}

/// Sends `msg` as the request of GetRecord.
async fn raw_get_record<M: prost::Message + Send + Sync + 'static>(sys: &TestSystem, msg: M) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(sys.pki.channel(sys.hub_addr, &Role::Auditor, "li.si"));
    grpc.ready().await.unwrap();
    let codec = tonic_prost::ProstCodec::<M, hedui_proto::v1::GetRecordResponse>::default();
    let path = http::uri::PathAndQuery::from_static("/hedui.v1.VerificationService/GetRecord");
    grpc.unary(tonic::Request::new(msg), path, codec).await.unwrap_err()
}

/// A request that does not decode (a string that is not UTF-8, bytes that
/// are not the request message) is refused by tonic before the handler;
/// the caller still gets INVALID_ARGUMENT with a BadRequest naming
/// `request`, not INTERNAL, and the refusal is logged.
#[tokio::test]
async fn an_undecodable_request_is_invalid_argument_and_logged() {
    let sys = TestSystem::start().await;
    let err = raw_get_record(
        &sys,
        NotUtf8 {
            record_id: vec![0xff, 0xfe, b'a'],
        },
    )
    .await;
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let fields = hedui_proto::status::field_violations(&err);
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].0, "request");
    assert!(fields[0].1.contains("UTF-8"), "{fields:?}");
    let e = last_entry(&sys, "GetRecord").await;
    assert_eq!(
        (e.status.as_str(), e.actor.as_str()),
        ("INVALID_ARGUMENT", "auditor:li.si")
    );
    assert!(
        e.detail.starts_with("refused before the hub read it (INTERNAL)"),
        "{}",
        e.detail
    );

    let err = raw_get_record(&sys, WrongWireType { record_id: 7 }).await;
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let fields = hedui_proto::status::field_violations(&err);
    assert_eq!(fields[0].0, "request", "{fields:?}");
    assert!(fields[0].1.contains("wire type"), "{fields:?}");
    let e = last_entry(&sys, "GetRecord").await;
    assert_eq!(e.status, "INVALID_ARGUMENT");
}

/// Time filters compare instants at full precision: `--from …T14:58:40Z`
/// includes an entry stamped `14:58:40.687Z`, an offset is converted, and
/// `to` is exclusive at the instant given.
#[tokio::test]
async fn time_filters_compare_at_full_precision() {
    let sys = TestSystem::start().await;
    let times = [
        "2026-11-30T14:58:39.999Z",
        "2026-11-30T14:58:40.687Z",
        "2026-11-30T14:58:41.000Z",
        "2026-11-30T14:58:41.500Z",
    ];
    let entries = times
        .iter()
        .map(|t| AuditEntry {
            seq: 0,
            time: (*t).into(),
            actor: "admin:ops".into(),
            role: "admin".into(),
            action: "test.time".into(),
            purpose: String::new(),
            request_id: String::new(),
            persons: Vec::new(),
            departments: Vec::new(),
            status: "OK".into(),
            record_digest: String::new(),
            detail: String::new(),
        })
        .collect();
    sys.state.audit.append(entries).await.unwrap();
    let list = |from: &'static str, to: &'static str| {
        let mut c = auditor(&sys, Role::Auditor);
        async move {
            let resp = c
                .list_audit_entries(ListAuditEntriesRequest {
                    filter: Some(AuditFilter {
                        from: from.into(),
                        to: to.into(),
                        action: "test.time".into(),
                        ..Default::default()
                    }),
                })
                .await
                .unwrap()
                .into_inner();
            resp.entries
                .iter()
                .map(|v| {
                    let e: serde_json::Value = serde_json::from_str(&v.canonical_json).unwrap();
                    e["time"].as_str().unwrap()[17..23].to_owned()
                })
                .collect::<Vec<String>>()
        }
    };
    assert_eq!(list("2026-11-30T14:58:40Z", "").await, ["40.687", "41.000", "41.500"]);
    assert_eq!(
        list("2026-11-30T22:58:40+08:00", "").await,
        ["40.687", "41.000", "41.500"]
    );
    assert_eq!(list("", "2026-11-30T14:58:41Z").await, ["39.999", "40.687"]);
    assert_eq!(list("2026-11-30T14:58:40Z", "2026-11-30T14:58:41Z").await, ["40.687"]);
    assert_eq!(list("2026-11-30T14:58:40.6875Z", "").await, ["41.000", "41.500"]);
    assert_eq!(list("", "2026-11-30T14:58:40.6875Z").await, ["39.999", "40.687"]);
    assert_eq!(list("2026-11-30", "2026-12-01").await.len(), 4);
    assert!(list("2026-12-01", "").await.is_empty());
}
