//! mTLS at the hub: identities come from certificates, and every RPC has an
//! allow-list that is enforced for every role.

use std::time::Duration;

use hedui_proto::v1::verification_service_client::VerificationServiceClient;
use hedui_proto::v1::{
    GetRecordHistoryRequest, GetRecordRequest, ListRecordsRequest, RecheckRecordRequest, ReviewRecordRequest,
};
use hedui_tls::{ClientTls, Role};
use tonic::Code;
use tonic::transport::Channel;

use crate::helpers::{Pki, TestSystem, household, request};

/// Calls the hub RPC `method` with a harmless request and returns the code.
async fn call(client: &mut VerificationServiceClient<Channel>, method: &str) -> Code {
    let result = match method {
        "SubmitVerification" => client
            .submit_verification(request(&household("qualifies"), "access"))
            .await
            .map(|_| ()),
        "GetRecord" => client
            .get_record(GetRecordRequest {
                record_id: uuid::Uuid::new_v4().to_string(),
            })
            .await
            .map(|_| ()),
        "ListRecords" => client.list_records(ListRecordsRequest::default()).await.map(|_| ()),
        // A missing record: allowed callers get NOT_FOUND, the others
        // PERMISSION_DENIED before the record is looked for.
        "ReviewRecord" => client
            .review_record(ReviewRecordRequest {
                record_id: uuid::Uuid::new_v4().to_string(),
                outcome: hedui_proto::v1::ReviewOutcome::Confirmed as i32,
                note: String::new(),
            })
            .await
            .map(|_| ()),
        "RecheckRecord" => client
            .recheck_record(RecheckRecordRequest {
                record_id: uuid::Uuid::new_v4().to_string(),
                departments: Vec::new(),
                idempotency_key: uuid::Uuid::new_v4().to_string(),
            })
            .await
            .map(|_| ()),
        "GetRecordHistory" => client
            .get_record_history(GetRecordHistoryRequest {
                record_id: uuid::Uuid::new_v4().to_string(),
            })
            .await
            .map(|_| ()),
        other => panic!("the access test does not know how to call {other}; add it"),
    };
    match result {
        Ok(()) => Code::Ok,
        Err(s) => s.code(),
    }
}

#[tokio::test]
async fn every_rpc_is_denied_to_every_role_not_on_its_allow_list() {
    let sys = TestSystem::start().await;
    let roles = [
        Role::Caseworker,
        Role::Auditor,
        Role::Admin,
        Role::Hub,
        Role::Adapter(hedui_proto::v1::Department::Tax),
    ];
    // The RPCs come from the service descriptors, so a new RPC without a
    // rule (or without a case in `call`) fails here.
    let pool = hedui_proto::descriptor_pool();
    let service = pool.get_service_by_name("hedui.v1.VerificationService").unwrap();
    for method in service.methods() {
        let path = format!("/{}/{}", service.full_name(), method.name());
        let allowed = hedui_hub::access::allowed(&path).unwrap_or_else(|| panic!("{path} has no rule"));
        for role in &roles {
            let mut client = sys.pki.client(sys.hub_addr, role, "someone");
            let code = call(&mut client, method.name()).await;
            let person = match role {
                Role::Caseworker => Some(hedui_hub::access::PersonRole::Caseworker),
                Role::Auditor => Some(hedui_hub::access::PersonRole::Auditor),
                Role::Admin => Some(hedui_hub::access::PersonRole::Admin),
                _ => None,
            };
            if person.is_some_and(|p| allowed.contains(&p)) {
                assert_ne!(code, Code::PermissionDenied, "{role} should be allowed {path}");
            } else {
                assert_eq!(code, Code::PermissionDenied, "{role} must be denied {path}");
            }
        }
    }
}

#[tokio::test]
async fn a_certificate_from_another_county_gets_nowhere() {
    let sys = TestSystem::start().await;
    let other = Pki::new();
    let tls = ClientTls::load(other.files(&Role::Caseworker, "intruder")).unwrap();
    // The intruder trusts its own CA, so it also refuses the hub's certificate;
    // either way no call goes through.
    let channel = hedui_tls::channel(&format!("https://{}", sys.hub_addr), tls, None, Duration::from_secs(5)).unwrap();
    let mut client = VerificationServiceClient::new(channel);
    let err = client.list_records(ListRecordsRequest::default()).await.unwrap_err();
    assert!(matches!(err.code(), Code::Unavailable | Code::Unknown), "{err:?}");
}

#[tokio::test]
async fn a_plaintext_client_cannot_talk_to_the_hub() {
    let sys = TestSystem::start().await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", sys.hub_addr))
        .unwrap()
        .connect_lazy();
    let mut client = VerificationServiceClient::new(channel);
    assert!(client.list_records(ListRecordsRequest::default()).await.is_err());
}

/// Both reflection versions answer over mutual TLS (grpcurl speaks v1,
/// Python's grpcio-reflection v1alpha) and list exactly what the hub
/// serves: not `SourceService`, which is the adapters'.
#[tokio::test]
async fn reflection_v1_and_v1alpha_list_exactly_the_services_served() {
    let sys = TestSystem::start().await;
    let mut want: Vec<String> = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "hedui.v1.AuditService",
        "hedui.v1.BatchService",
        "hedui.v1.VerificationService",
    ]
    .map(String::from)
    .to_vec();
    want.sort();

    let v1 = {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut client = ServerReflectionClient::new(sys.pki.channel(sys.hub_addr, &Role::Admin, "ops"));
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .unwrap()
            .into_inner();
        let resp = stream.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
            panic!("{resp:?}")
        };
        let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        names.sort();
        names
    };
    let v1alpha = {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut client = ServerReflectionClient::new(sys.pki.channel(sys.hub_addr, &Role::Caseworker, "zhang.san"));
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .unwrap()
            .into_inner();
        let resp = stream.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
            panic!("{resp:?}")
        };
        let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        names.sort();
        names
    };
    assert_eq!(v1, want);
    assert_eq!(v1alpha, want);
    assert!(!v1.iter().any(|n| n == "hedui.v1.SourceService"));
}

/// A certificate from another CA is refused at the handshake, before any
/// RPC; the refusal is still in the audit log, counted per peer and reason.
#[tokio::test]
async fn a_handshake_refused_for_another_ca_is_audited_with_a_count() {
    let sys = TestSystem::start().await;
    let other = Pki::new();
    let mut files = other.files(&Role::Caseworker, "intruder");
    // It trusts the county CA, so the hub is the one that refuses.
    files.ca = sys.pki.files(&Role::Caseworker, "zhang.san").ca;
    for _ in 0..3 {
        let tls = ClientTls::load(files.clone()).unwrap();
        let channel =
            hedui_tls::channel(&format!("https://{}", sys.hub_addr), tls, None, Duration::from_secs(5)).unwrap();
        let mut client = VerificationServiceClient::new(channel);
        assert!(client.list_records(ListRecordsRequest::default()).await.is_err());
    }
    let url = sys.database_url.clone();
    let _dir = sys.stop().await.unwrap();
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
    assert_eq!(refused.len(), 1, "one entry per peer and reason: {refused:?}");
    let e = &refused[0];
    assert_eq!(e.status, "UNAUTHENTICATED");
    assert_eq!(e.actor, "unidentified:peer=127.0.0.1");
    assert!(
        e.detail.starts_with("3 handshake(s) refused") && e.detail.contains("county CA"),
        "{}",
        e.detail
    );
}
