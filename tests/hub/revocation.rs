//! Revoked certificates over real sockets: the hub refuses a revoked
//! caseworker, and an adapter refuses a revoked hub, within one reload
//! interval of the list being published and without a restart, while
//! everyone else keeps working. The refusal is in the audit log.

use std::error::Error as _;
use std::time::Duration;

use hedui_proto::v1::source_service_client::SourceServiceClient;
use hedui_proto::v1::verification_service_client::VerificationServiceClient;
use hedui_proto::v1::{Department, DescribeRequest, ListRecordsRequest};
use hedui_tls::{ClientTls, Role, TlsFiles};

use hedui_proto::v1::{SourceOutcome, VerificationRecord};

use crate::helpers::{Behaviour, TestSystem, Tuning, household, index_of, request};

/// Long enough for the next connection to see a list published now.
const RELOAD: Duration = Duration::from_millis(1200);

async fn start() -> (TestSystem, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hedui.db").display());
    let tuning = Tuning {
        crl: true,
        ..Tuning::default()
    };
    let sys = TestSystem::tuned(|_| Behaviour::Sandbox, Duration::from_secs(10), &url, tuning).await;
    (sys, dir)
}

/// A new connection to the hub with `files` lists records; the error
/// with its sources on failure.
async fn list_records(sys: &TestSystem, files: &TlsFiles) -> Result<(), String> {
    let tls = ClientTls::load(files.clone()).unwrap();
    let channel = hedui_tls::channel(
        &format!("https://{}", sys.hub_addr),
        tls,
        Some(Role::Hub),
        Duration::from_secs(5),
    )
    .unwrap();
    VerificationServiceClient::new(channel)
        .list_records(ListRecordsRequest::default())
        .await
        .map(|_| ())
        .map_err(|status| chain(&status))
}

fn chain(status: &tonic::Status) -> String {
    let mut out = status.to_string();
    let mut source = status.source();
    while let Some(e) = source {
        out.push_str(" / ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

#[tokio::test]
async fn a_revoked_caseworker_is_refused_within_one_reload_interval_without_a_restart() {
    let (sys, _dir) = start().await;
    let zhang = sys.pki.files(&Role::Caseworker, "zhang.revoked");
    let li = sys.pki.files(&Role::Caseworker, "li.kept");
    list_records(&sys, &zhang).await.unwrap();
    list_records(&sys, &li).await.unwrap();

    sys.pki.revoke(&zhang);
    tokio::time::sleep(RELOAD).await;
    let err = list_records(&sys, &zhang).await.unwrap_err();
    assert!(err.contains("CertificateRevoked"), "{err}");
    list_records(&sys, &li).await.unwrap();

    let url = sys.database_url.clone();
    let _keep = sys.stop().await;
    let store = hedui_store::Store::open(&url)
        .await
        .unwrap()
        .with_data_keys(crate::helpers::data_keys());
    let refused = store
        .audit_entries(&hedui_store::audit::AuditFilter {
            action: Some("connection.refused".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].status, "UNAUTHENTICATED");
    assert_eq!(refused[0].detail, "1 handshake(s) refused: certificate revoked");
}

#[tokio::test]
async fn an_adapter_refuses_a_revoked_hub_within_one_reload_interval() {
    let (sys, _dir) = start().await;
    let tax = sys
        .adapters
        .iter()
        .find(|a| a.department == Department::Tax)
        .unwrap()
        .url
        .clone();
    let describe = |files: TlsFiles| {
        let tax = tax.clone();
        async move {
            let tls = ClientTls::load(files).unwrap();
            let channel =
                hedui_tls::channel(&tax, tls, Some(Role::Adapter(Department::Tax)), Duration::from_secs(5)).unwrap();
            SourceServiceClient::new(channel)
                .describe(DescribeRequest {})
                .await
                .map(|_| ())
                .map_err(|s| chain(&s))
        }
    };
    // A second hub certificate, as a replica or a stolen copy would hold.
    let stolen = sys.pki.files(&Role::Hub, "hub-stolen");
    let kept = sys.pki.files(&Role::Hub, "hub-kept");
    describe(stolen.clone()).await.unwrap();

    sys.pki.revoke(&stolen);
    tokio::time::sleep(RELOAD).await;
    let err = describe(stolen).await.unwrap_err();
    assert!(err.contains("CertificateRevoked"), "{err}");
    describe(kept).await.unwrap();
    // The running hub, whose certificate is not revoked, still reaches it.
    let mut hub = sys.hub.clone();
    hub.list_records(ListRecordsRequest::default()).await.unwrap();
    sys.stop().await;
}

async fn submit(sys: &TestSystem) -> VerificationRecord {
    let key = uuid::Uuid::new_v4().to_string();
    sys.hub
        .clone()
        .submit_verification(request(&household("qualifies"), &key))
        .await
        .unwrap()
        .into_inner()
        .record
        .unwrap()
}

/// The hub, as the adapters' client, refuses a revoked adapter at the next
/// call after the list is published: its channels connect anew when the
/// hub's TLS files are reloaded, so the old connection does not carry on.
#[tokio::test]
async fn the_hub_refuses_a_revoked_adapter_within_one_reload_interval() {
    let (sys, _dir) = start().await;
    let tax = index_of(Department::Tax);
    let pboc = index_of(Department::Pboc);
    let before = submit(&sys).await;
    // The tax department answers (this household has no tax record).
    assert_eq!(
        before.sources[tax].outcome(),
        SourceOutcome::NoRecord,
        "{:?}",
        before.sources[tax]
    );

    sys.pki.revoke(&sys.pki.issued("tax-01"));
    tokio::time::sleep(RELOAD).await;
    let after = submit(&sys).await;
    let answer = &after.sources[tax];
    assert_eq!(answer.outcome(), SourceOutcome::Unavailable, "{answer:?}");
    assert!(answer.detail.contains("Revoked"), "{answer:?}");
    assert_eq!(after.sources[pboc].outcome(), before.sources[pboc].outcome());
    sys.stop().await;
}

/// A connection made before the certificate was revoked carries on at the
/// TLS level, so the hub checks every request against the list as well.
#[tokio::test]
async fn a_revoked_caseworker_on_an_open_connection_is_refused_at_the_next_request() {
    let (sys, _dir) = start().await;
    let zhang = sys.pki.files(&Role::Caseworker, "zhang.open");
    let tls = ClientTls::load(zhang.clone()).unwrap();
    let channel = hedui_tls::channel(
        &format!("https://{}", sys.hub_addr),
        tls,
        Some(Role::Hub),
        Duration::from_secs(5),
    )
    .unwrap();
    let mut client = VerificationServiceClient::new(channel);
    client.list_records(ListRecordsRequest::default()).await.unwrap();

    sys.pki.revoke(&zhang);
    tokio::time::sleep(RELOAD).await;
    let err = client.list_records(ListRecordsRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated, "{err:?}");
    assert_eq!(err.message(), "certificate revoked");
    // Another caseworker is not affected.
    list_records(&sys, &sys.pki.files(&Role::Caseworker, "li.open"))
        .await
        .unwrap();
    sys.stop().await;
}
