//! Authorizations at the hub, grants at the adapters, and the adapters'
//! own query logs.

use std::sync::Arc;
use std::time::Duration;

use hedui_adapter::{AdapterOptions, SandboxSource};
use hedui_domain::department::ALL;
use hedui_proto::status::{field_violations, precondition_violations};
use hedui_proto::v1::source_service_client::SourceServiceClient;
use hedui_proto::v1::{Department, ListRecordsRequest, Person, Purpose, QueryRequest, SourceOutcome, Verdict};
use tonic::Code;

use hedui_tls::{ClientTls, Role, ServerTls};

use crate::helpers::{Behaviour, Pki, TestSystem, household, hub_key, index_of, request};

/// Asserts that no sandbox adapter received anything and nothing was stored.
async fn nothing_left_the_hub(sys: &TestSystem) {
    for d in ALL {
        assert!(sys.query_log(d).is_empty(), "{d:?} was asked");
    }
    let mut hub = sys.hub.clone();
    let list = hub
        .list_records(ListRecordsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(list.records.is_empty());
}

#[tokio::test]
async fn a_minor_without_a_guardian_stops_the_query_at_the_hub() {
    let sys = TestSystem::start().await;
    let h = household("large-household");
    let mut req = request(&h, "auth-minor");
    let auth = req.authorization.as_mut().unwrap();
    let before = auth.signers.len();
    auth.signers.retain(|s| !s.as_guardian);
    assert!(auth.signers.len() < before, "the household has dependants");
    let err = sys.hub.clone().submit_verification(req).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let v = precondition_violations(&err);
    assert!(!v.is_empty());
    assert!(
        v.iter().all(|(subject, _)| subject.starts_with("household.members[")),
        "{v:?}"
    );
    assert!(v.iter().any(|(_, d)| d.contains("guardian")), "{v:?}");
    nothing_left_the_hub(&sys).await;
}

#[tokio::test]
async fn a_missing_expired_or_mismatched_authorization_is_refused() {
    let sys = TestSystem::start().await;
    let h = household("qualifies");

    let mut missing = request(&h, "auth-1");
    missing.authorization = None;
    let err = sys.hub.clone().submit_verification(missing).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(field_violations(&err)[0].0, "authorization");

    let mut expired = request(&h, "auth-2");
    {
        let a = expired.authorization.as_mut().unwrap();
        a.signed_date = "2024-01-01".into();
        a.valid_until = "2025-01-01".into();
    }
    let err = sys.hub.clone().submit_verification(expired).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        precondition_violations(&err)
            .iter()
            .any(|(s, _)| s == "authorization.valid_until")
    );

    let mut other_purpose = request(&h, "auth-3");
    other_purpose.authorization.as_mut().unwrap().purpose = Purpose::Medical as i32;
    let err = sys.hub.clone().submit_verification(other_purpose).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(
        precondition_violations(&err)
            .iter()
            .any(|(s, _)| s == "authorization.purpose")
    );

    let mut other_form = request(&h, "auth-4");
    other_form.authorization.as_mut().unwrap().form_number = "SQ-OTHER".into();
    let err = sys.hub.clone().submit_verification(other_form).await.unwrap_err();
    assert_eq!(field_violations(&err)[0].0, "authorization.form_number");

    nothing_left_the_hub(&sys).await;
}

#[tokio::test]
async fn an_adapter_that_does_not_trust_the_hub_refuses_and_logs_it() {
    let sys = TestSystem::with(
        |d| {
            if d == Department::Pboc {
                Behaviour::ForeignKey
            } else {
                Behaviour::Sandbox
            }
        },
        Duration::from_secs(10),
    )
    .await;
    let h = household("qualifies");
    let record = sys
        .hub
        .clone()
        .submit_verification(request(&h, "foreign"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    let pboc = &record.sources[index_of(Department::Pboc)];
    assert_eq!(pboc.outcome, SourceOutcome::Refused as i32, "{pboc:?}");
    assert_eq!(record.verdict, Verdict::Incomplete as i32);
    let log = sys.query_log(Department::Pboc);
    assert_eq!(log.len(), 1);
    assert!(log[0]["outcome"].as_str().unwrap().starts_with("refused"), "{log:?}");
    assert_eq!(log[0]["request_id"], record.request_id);
}

#[tokio::test]
async fn each_adapter_logs_the_queries_it_answered_without_full_id_numbers() {
    let sys = TestSystem::start().await;
    let h = household("qualifies");
    let record = sys
        .hub
        .clone()
        .submit_verification(request(&h, "logged"))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap();
    for d in ALL {
        let log = sys.query_log(d);
        assert_eq!(log.len(), 1, "{d:?}");
        assert_eq!(log[0]["request_id"], record.request_id);
        assert_eq!(log[0]["outcome"], "received");
        let text = log[0].to_string();
        for m in &h.household.members {
            assert!(!text.contains(&m.id_number), "a full ID number is in the {d:?} log");
            assert!(!text.contains(&m.name), "a name is in the {d:?} log");
        }
    }
}

/// An SDK adapter for the tax department trusting the test hub key, over
/// mutual TLS, and a client of it holding a certificate with `role`.
async fn tax_adapter(pki: &Pki, role: Role) -> SourceServiceClient<tonic::transport::Channel> {
    let options = AdapterOptions {
        trusted_hub_keys: vec![hub_key().verifying_key()],
        query_log: None,
        tls: Some(ServerTls::load(pki.files(&Role::Adapter(Department::Tax), "tax-direct")).unwrap()),
        ..Default::default()
    };
    let source = Arc::new(SandboxSource::new(crate::helpers::sandbox(), Department::Tax));
    let (addr, _) = hedui_adapter::spawn(source, "127.0.0.1:0".parse().unwrap(), options, std::future::pending())
        .await
        .unwrap();
    let tls = ClientTls::load(pki.files(&role, "direct-caller")).unwrap();
    let channel = hedui_tls::channel(
        &format!("https://{addr}"),
        tls,
        Some(Role::Adapter(Department::Tax)),
        Duration::from_secs(5),
    )
    .unwrap();
    SourceServiceClient::new(channel)
}

fn query(grant: Vec<u8>) -> QueryRequest {
    let h = household("qualifies");
    let m = &h.household.members[0];
    QueryRequest {
        request_id: "0195a2f0-0000-4000-8000-000000000001".into(),
        purpose: Purpose::MinimumLiving as i32,
        persons: vec![Person {
            name: m.name.clone(),
            id_number: m.id_number.clone(),
        }],
        income_window: Some(
            hedui_domain::window::IncomeWindow::last_months(chrono::Utc::now().date_naive(), 12).to_proto(),
        ),
        asset_reference_date: chrono::Utc::now().date_naive().to_string(),
        authorization_ref: "SQ-1".into(),
        grant,
    }
}

fn grant_for(q: &QueryRequest, issued_ms: i64, lifetime_ms: i64, key: &hedui_trust::SigningKey) -> Vec<u8> {
    let ids: Vec<String> = q.persons.iter().map(|p| p.id_number.clone()).collect();
    let g = hedui_trust::grant::issue(
        &q.request_id,
        Purpose::MinimumLiving,
        &ids,
        q.income_window.as_ref().unwrap(),
        &q.authorization_ref,
        Department::Tax,
        issued_ms,
        lifetime_ms,
        key,
    );
    hedui_trust::grant::encode(&g)
}

#[tokio::test]
async fn forged_expired_replayed_or_missing_grants_are_refused_by_the_adapter() {
    // The caller even holds a hub certificate: the grant is what is tested.
    let pki = Pki::new();
    let mut tax = tax_adapter(&pki, Role::Hub).await;
    let now = chrono::Utc::now().timestamp_millis();

    // No grant at all.
    let err = tax.query(query(Vec::new())).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    // Signed by another key.
    let mut q = query(Vec::new());
    q.grant = grant_for(&q, now, 60_000, &hedui_trust::SigningKey::from_bytes(&[1; 32]));
    assert_eq!(tax.query(q).await.unwrap_err().code(), Code::PermissionDenied);

    // A flipped bit.
    let mut q = query(Vec::new());
    q.grant = grant_for(&q, now, 60_000, &hub_key());
    let last = q.grant.len() - 1;
    q.grant[last] ^= 1;
    assert_eq!(tax.query(q).await.unwrap_err().code(), Code::PermissionDenied);

    // Expired.
    let mut q = query(Vec::new());
    q.grant = grant_for(&q, now - 600_000, 60_000, &hub_key());
    let err = tax.query(q).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("expired"), "{err:?}");

    // A grant for someone else than the person asked about.
    let mut q = query(Vec::new());
    q.grant = grant_for(&q, now, 60_000, &hub_key());
    q.persons[0] = Person {
        name: "冉某".into(),
        id_number: "520626194701205831".into(),
    };
    assert_eq!(tax.query(q).await.unwrap_err().code(), Code::PermissionDenied);

    // A good grant works once, and a replay is refused.
    let mut q = query(Vec::new());
    q.grant = grant_for(&q, now, 60_000, &hub_key());
    assert!(tax.query(q.clone()).await.is_ok());
    let err = tax.query(q).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("already been used"), "{err:?}");
}

#[tokio::test]
async fn only_the_hub_may_query_an_adapter() {
    let pki = Pki::new();
    let now = chrono::Utc::now().timestamp_millis();
    for role in [
        Role::Caseworker,
        Role::Auditor,
        Role::Admin,
        Role::Adapter(Department::Pboc),
    ] {
        let mut adapter = tax_adapter(&pki, role).await;
        let mut q = query(Vec::new());
        q.grant = grant_for(&q, now, 60_000, &hub_key());
        let err = adapter.query(q).await.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{role}: {err:?}");
    }
}
