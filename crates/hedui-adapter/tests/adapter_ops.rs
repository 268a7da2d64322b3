//! An adapter is as observable as the hub, over real sockets and real
//! mutual TLS: `grpc.health.v1` on its query port and alone in plaintext on
//! the probe port, reflection v1 and v1alpha listing exactly what it
//! serves, `GET /metrics` counting queries, refusals and the backend's
//! errors, and a drain that reports NOT_SERVING while still answering.

mod common;

use common::{hub_key, query};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hedui_adapter::ops::OpsListeners;
use hedui_adapter::{AdapterOptions, GrantStoreOption, SandboxSource, Source, SourceError, ValidatedQuery};
use hedui_proto::v1::source_service_client::SourceServiceClient;
use hedui_proto::v1::{Department, DescribeResponse, QueryResponse};
use hedui_tls::{ClientTls, Role, ServerTls, TlsFiles};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// A county CA in a temporary directory, issuing certificates.
struct Pki {
    ca: hedui_tls::pki::Ca,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let ca = hedui_tls::pki::Ca::new("dejiang-test", 30).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.crt"), ca.cert_pem()).unwrap();
        Self { ca, dir }
    }

    fn files(&self, role: &Role, name: &str) -> TlsFiles {
        let f = self
            .ca
            .issue(role, name, 30, &[])
            .unwrap()
            .save(self.dir.path())
            .unwrap();
        TlsFiles {
            ca: self.dir.path().join("ca.crt"),
            cert: f.cert,
            key: f.key,
            crl: None,
        }
    }

    fn hub_channel(&self, addr: SocketAddr) -> tonic::transport::Channel {
        hedui_tls::channel(
            &format!("https://{addr}"),
            ClientTls::load(self.files(&Role::Hub, "hub-01")).unwrap(),
            Some(Role::Adapter(Department::Tax)),
            Duration::from_secs(5),
        )
        .unwrap()
    }
}

/// A running tax adapter over mutual TLS, with its probe and metrics ports.
struct Running {
    addr: SocketAddr,
    health: SocketAddr,
    metrics: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start<S: Source>(pki: &Pki, source: S, drain: Duration) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let bind = || TcpListener::bind("127.0.0.1:0");
    let (listener, health, metrics) = (bind().await.unwrap(), bind().await.unwrap(), bind().await.unwrap());
    let addr = listener.local_addr().unwrap();
    let (health_addr, metrics_addr) = (health.local_addr().unwrap(), metrics.local_addr().unwrap());
    let options = AdapterOptions {
        tls: Some(ServerTls::load(pki.files(&Role::Adapter(Department::Tax), "tax-01")).unwrap()),
        trusted_hub_keys: vec![hub_key().verifying_key()],
        query_log: Some(dir.path().join("tax.jsonl")),
        grant_store: GrantStoreOption::Memory,
        drain_delay: drain,
        ..Default::default()
    };
    let (stop, mut stopped) = watch::channel(false);
    let ops = OpsListeners {
        health: Some(health),
        metrics: Some(metrics),
    };
    let task = tokio::spawn(async move {
        hedui_adapter::serve_with_ops(Arc::new(source), listener, &options, ops, async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await
        .unwrap();
    });
    Running {
        addr,
        health: health_addr,
        metrics: metrics_addr,
        stop,
        task,
        _dir: dir,
    }
}

fn sandbox() -> SandboxSource {
    let today = chrono::Utc::now().date_naive();
    SandboxSource::new(
        Arc::new(hedui_adapter::sandbox::Sandbox::dejiang(today)),
        Department::Tax,
    )
}

async fn check(channel: tonic::transport::Channel, service: &str) -> Result<HealthCheckResponse, tonic::Status> {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

fn plaintext(addr: SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

async fn http_get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: adapter\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = String::new();
    c.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn health_is_served_over_mutual_tls_and_alone_on_the_plaintext_probe_port() {
    let pki = Pki::new();
    let a = start(&pki, sandbox(), Duration::ZERO).await;
    for service in ["", "hedui.v1.SourceService"] {
        let over_tls = check(pki.hub_channel(a.addr), service).await.unwrap();
        assert_eq!(over_tls.status(), ServingStatus::Serving, "{service:?} over mTLS");
        let probe = check(plaintext(a.health), service).await.unwrap();
        assert_eq!(probe.status(), ServingStatus::Serving, "{service:?} on the probe port");
    }
    let unknown = check(plaintext(a.health), "hedui.v1.VerificationService")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    // The probe port serves health alone: no queries, no reflection.
    let err = SourceServiceClient::new(plaintext(a.health))
        .describe(hedui_proto::v1::DescribeRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented, "{err:?}");
    // The query port speaks only mutual TLS.
    assert!(check(plaintext(a.addr), "").await.is_err());
    let _ = a.stop.send(true);
    a.task.await.unwrap();
}

/// Both reflection versions answer over mutual TLS and list exactly what
/// the adapter serves: its SourceService, health and reflection, never the
/// hub's services.
#[tokio::test]
async fn reflection_v1_and_v1alpha_list_exactly_the_services_served() {
    let pki = Pki::new();
    let a = start(&pki, sandbox(), Duration::ZERO).await;
    let mut want: Vec<String> = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "hedui.v1.SourceService",
    ]
    .map(String::from)
    .to_vec();
    want.sort();
    let v1alpha = {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = ServerReflectionClient::new(pki.hub_channel(a.addr))
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
    let v1 = {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = ServerReflectionClient::new(pki.hub_channel(a.addr))
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
    assert_eq!(v1alpha, want);
    assert_eq!(v1, want);
    let _ = a.stop.send(true);
}

/// `/metrics` counts an answered query, a replayed grant (refused, with its
/// reason) and times both; it names the build and the process, and never a
/// person.
#[tokio::test]
async fn metrics_count_a_query_and_a_refusal() {
    let pki = Pki::new();
    let a = start(&pki, sandbox(), Duration::ZERO).await;
    let (status, before) = http_get(a.metrics, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        sample(
            &before,
            "hedui_adapter_query_duration_seconds_count{department=\"tax\"}"
        ),
        Some(0.0)
    );
    let mut client = SourceServiceClient::new(pki.hub_channel(a.addr));
    let q = query();
    client.query(q.clone()).await.unwrap();
    let err = client.query(q.clone()).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let (_, text) = http_get(a.metrics, "/metrics").await;
    for (series, want) in [
        ("hedui_adapter_queries_total{department=\"tax\",outcome=\"OK\"}", 1.0),
        (
            "hedui_adapter_queries_total{department=\"tax\",outcome=\"PERMISSION_DENIED\"}",
            1.0,
        ),
        (
            "hedui_adapter_grant_refusals_total{department=\"tax\",reason=\"replayed\"}",
            1.0,
        ),
        ("hedui_adapter_query_duration_seconds_count{department=\"tax\"}", 2.0),
        ("hedui_adapter_handshake_refusals_total", 0.0),
    ] {
        assert_eq!(sample(&text, series), Some(want), "{series} in\n{text}");
    }
    assert!(text.contains("\nhedui_build_info{version=\""), "{text}");
    assert!(text.contains("\nprocess_open_fds "), "{text}");
    assert!(
        text.contains("\nhedui_certificate_expiry_seconds{role=\"adapter:tax\""),
        "{text}"
    );
    // The sandbox's data is live: no snapshot families.
    assert!(!text.contains("hedui_adapter_snapshot"), "{text}");
    for p in &q.persons {
        assert!(!text.contains(&p.id_number) && !text.contains(&p.name));
    }
    let (status, _) = http_get(a.metrics, "/other").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    let _ = a.stop.send(true);
}

/// A source whose system is down.
struct Down;

impl Source for Down {
    fn describe(&self) -> DescribeResponse {
        DescribeResponse {
            department: Department::Tax as i32,
            backend: "down".into(),
            ..Default::default()
        }
    }

    async fn query(&self, _: &ValidatedQuery) -> Result<QueryResponse, SourceError> {
        Err(SourceError::Unavailable("connection refused".into()))
    }
}

/// A backend that cannot be reached: the hub gets UNAVAILABLE, and the
/// error is counted as the backend's.
#[tokio::test]
async fn an_unreachable_backend_answers_unavailable_and_is_counted() {
    let pki = Pki::new();
    let a = start(&pki, Down, Duration::ZERO).await;
    let err = SourceServiceClient::new(pki.hub_channel(a.addr))
        .query(query())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    let (_, text) = http_get(a.metrics, "/metrics").await;
    assert_eq!(
        sample(
            &text,
            "hedui_adapter_backend_errors_total{department=\"tax\",kind=\"unavailable\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "hedui_adapter_queries_total{department=\"tax\",outcome=\"UNAVAILABLE\"}"
        ),
        Some(1.0),
        "{text}"
    );
    let _ = a.stop.send(true);
}

/// At shutdown health goes NOT_SERVING first, on both ports, while the
/// adapter still answers queries for the drain delay.
#[tokio::test]
async fn shutdown_reports_not_serving_while_still_answering() {
    let pki = Pki::new();
    // Longer than the test takes: the test never waits for it to end.
    let a = start(&pki, sandbox(), Duration::from_secs(600)).await;
    let mut watch = HealthClient::new(plaintext(a.health))
        .watch(HealthCheckRequest {
            service: "hedui.v1.SourceService".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().status(), ServingStatus::Serving);
    let _ = a.stop.send(true);
    assert_eq!(
        watch.message().await.unwrap().unwrap().status(),
        ServingStatus::NotServing
    );
    let over_tls = check(pki.hub_channel(a.addr), "").await.unwrap();
    assert_eq!(over_tls.status(), ServingStatus::NotServing);
    SourceServiceClient::new(pki.hub_channel(a.addr))
        .query(query())
        .await
        .expect("still answering during the drain");
    a.task.abort();
}

/// `serve` (no probe or metrics port, as the demo and the hub's tests
/// start adapters) still has health on the query port.
#[tokio::test]
async fn serve_alone_has_health_on_the_query_port() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let options = AdapterOptions {
        tls: Some(ServerTls::load(pki.files(&Role::Adapter(Department::Tax), "tax-01")).unwrap()),
        trusted_hub_keys: vec![hub_key().verifying_key()],
        query_log: Some(dir.path().join("tax.jsonl")),
        grant_store: GrantStoreOption::Memory,
        ..Default::default()
    };
    let (stop, mut stopped) = watch::channel(false);
    let (addr, task) = hedui_adapter::spawn(
        Arc::new(sandbox()),
        "127.0.0.1:0".parse().unwrap(),
        options,
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        },
    )
    .await
    .unwrap();
    let ok = check(pki.hub_channel(addr), "hedui.v1.SourceService").await.unwrap();
    assert_eq!(ok.status(), ServingStatus::Serving);
    let _ = stop.send(true);
    task.await.unwrap();
}
