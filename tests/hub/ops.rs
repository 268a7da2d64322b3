//! Operations: Prometheus metrics scraped over real HTTP, and health going
//! NOT_SERVING when the database stops.

use std::time::Duration;

use hedui_proto::v1::ListRecordsRequest;
use hedui_tls::Role;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{Behaviour, TestSystem, household, request};

/// `GET path` over plain HTTP/1.1; the status line and the body.
pub(crate) async fn http_get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: hub\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = String::new();
    c.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// The value of the sample `series` (name with labels) in an exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn metrics_count_calls_departments_and_audit_appends() {
    let sys = TestSystem::with(
        |d| match d {
            hedui_proto::v1::Department::Pboc => Behaviour::Down,
            _ => Behaviour::Sandbox,
        },
        Duration::from_secs(10),
    )
    .await;
    let (status, before) = http_get(sys.metrics_addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(sample(&before, "hedui_audit_appends_total"), Some(0.0));
    assert_eq!(sample(&before, "hedui_batch_queue_depth"), Some(0.0));

    let h = household("qualifies");
    sys.hub.clone().submit_verification(request(&h, "m-1")).await.unwrap();
    // A replay and a denied call are counted too.
    sys.hub.clone().submit_verification(request(&h, "m-1")).await.unwrap();
    let mut auditor = sys.pki.client(sys.hub_addr, &Role::Auditor, "li.si");
    let denied = auditor.submit_verification(request(&h, "m-2")).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    sys.hub
        .clone()
        .list_records(ListRecordsRequest::default())
        .await
        .unwrap();

    let (_, text) = http_get(sys.metrics_addr, "/metrics").await;
    assert_eq!(
        sample(
            &text,
            "hedui_rpc_requests_total{rpc=\"SubmitVerification\",code=\"OK\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "hedui_rpc_requests_total{rpc=\"SubmitVerification\",code=\"PERMISSION_DENIED\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "hedui_rpc_requests_total{rpc=\"ListRecords\",code=\"OK\"}"),
        Some(1.0)
    );
    // One query per department (the replay asked nobody); pboc was down.
    assert_eq!(
        sample(
            &text,
            "hedui_source_outcomes_total{department=\"pboc\",outcome=\"UNAVAILABLE\"}"
        ),
        Some(1.0),
        "{text}"
    );
    for d in hedui_domain::department::ALL {
        let slug = hedui_domain::department::slug(d);
        assert_eq!(
            sample(
                &text,
                &format!("hedui_source_latency_seconds_count{{department=\"{slug}\"}}")
            ),
            Some(1.0),
            "{slug}: {text}"
        );
        let outcomes: f64 = ["OK", "NO_RECORD", "TIMEOUT", "UNAVAILABLE", "ERROR", "REFUSED"]
            .iter()
            .filter_map(|o| {
                sample(
                    &text,
                    &format!("hedui_source_outcomes_total{{department=\"{slug}\",outcome=\"{o}\"}}"),
                )
            })
            .sum();
        assert_eq!(outcomes, 1.0, "{slug}");
    }
    // verification.begin, 8 source.query and the final entry; the replay,
    // the denial and the list: 13 entries in all.
    assert_eq!(sample(&text, "hedui_audit_appends_total"), Some(13.0), "{text}");
    // No personal data in any label or value.
    for m in &h.household.members {
        assert!(!text.contains(&m.id_number) && !text.contains(&m.name));
    }
    let (status, _) = http_get(sys.metrics_addr, "/other").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

/// Every call on the hub's port is timed by service, method and the code
/// the caller got; a path the hub does not serve is `other`, so callers
/// cannot grow the label set; and the build is named.
#[tokio::test]
async fn metrics_time_every_call_by_service_method_and_code_and_name_the_build() {
    let sys = TestSystem::start().await;
    let h = household("qualifies");
    sys.hub.clone().submit_verification(request(&h, "lat-1")).await.unwrap();
    let mut auditor = sys.pki.client(sys.hub_addr, &Role::Auditor, "li.si");
    let denied = auditor.submit_verification(request(&h, "lat-2")).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    for _ in 0..2 {
        sys.hub
            .clone()
            .list_records(ListRecordsRequest::default())
            .await
            .unwrap();
    }
    // The adapters' service is not served here.
    let mut source = hedui_proto::v1::source_service_client::SourceServiceClient::new(sys.pki.channel(
        sys.hub_addr,
        &Role::Admin,
        "ops",
    ));
    let err = source.describe(hedui_proto::v1::DescribeRequest {}).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);

    let (_, text) = http_get(sys.metrics_addr, "/metrics").await;
    let series =
        |service: &str, method: &str, code: &str| format!("service=\"{service}\",method=\"{method}\",code=\"{code}\"");
    let v = "hedui.v1.VerificationService";
    for (labels, n) in [
        (series(v, "SubmitVerification", "OK"), 1.0),
        (series(v, "SubmitVerification", "PERMISSION_DENIED"), 1.0),
        (series(v, "ListRecords", "OK"), 2.0),
        (series("other", "other", "UNIMPLEMENTED"), 1.0),
    ] {
        assert_eq!(
            sample(&text, &format!("hedui_rpc_duration_seconds_count{{{labels}}}")),
            Some(n),
            "{labels}: {text}"
        );
        assert_eq!(
            sample(
                &text,
                &format!("hedui_rpc_duration_seconds_bucket{{{labels},le=\"+Inf\"}}")
            ),
            Some(n),
            "{labels}"
        );
        let sum = sample(&text, &format!("hedui_rpc_duration_seconds_sum{{{labels}}}")).unwrap();
        assert!(sum > 0.0, "{labels}: {sum}");
    }
    assert!(!text.contains("SourceService"), "{text}");
    assert!(text.contains("# TYPE hedui_rpc_duration_seconds histogram\n"));
    let build = text
        .lines()
        .find(|l| l.starts_with("hedui_build_info{"))
        .expect("hedui_build_info");
    assert!(
        build.starts_with(&format!("hedui_build_info{{version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{build}"
    );
    assert!(build.ends_with("} 1"), "{build}");
    // The process, on Linux, where the tests run.
    if cfg!(target_os = "linux") {
        assert!(sample(&text, "process_resident_memory_bytes").unwrap() > 1_000_000.0);
        assert!(sample(&text, "process_cpu_seconds_total").unwrap() > 0.0);
        assert!(sample(&text, "process_open_fds").unwrap() >= 3.0);
        assert!(sample(&text, "process_threads").unwrap() >= 1.0);
    }
}

/// Asks the health service about the verification service until it reports
/// `want`, at most 50 times.
async fn wait_for_health(sys: &TestSystem, want: ServingStatus) -> i32 {
    let mut health =
        tonic_health::pb::health_client::HealthClient::new(sys.pki.channel(sys.hub_addr, &Role::Admin, "ops"));
    let mut last = -1;
    for _ in 0..50 {
        if let Ok(r) = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "hedui.v1.VerificationService".into(),
            })
            .await
        {
            last = r.into_inner().status;
            if last == want as i32 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    last
}

#[tokio::test]
async fn health_goes_not_serving_when_the_sqlite_database_closes() {
    let sys = TestSystem::start().await;
    assert_eq!(
        wait_for_health(&sys, ServingStatus::Serving).await,
        ServingStatus::Serving as i32
    );
    // The plaintext probe port answers without a certificate.
    let mut probe = tonic_health::pb::health_client::HealthClient::new(
        tonic::transport::Endpoint::from_shared(format!("http://{}", sys.health_addr))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let check = |service: &str| tonic_health::pb::HealthCheckRequest {
        service: service.to_owned(),
    };
    // An entry for the whole server and for every service the hub serves.
    let every = [
        "",
        "hedui.v1.VerificationService",
        "hedui.v1.AuditService",
        "hedui.v1.BatchService",
    ];
    for service in every {
        let r = probe.check(check(service)).await.unwrap().into_inner();
        assert_eq!(r.status, ServingStatus::Serving as i32, "{service:?}");
    }
    // The adapters' service is not the hub's: no entry.
    let err = probe.check(check("hedui.v1.SourceService")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    // The database goes away under the running hub.
    sys.state.store.close().await;
    let err = sys
        .hub
        .clone()
        .submit_verification(request(&household("qualifies"), "db-gone"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(
        wait_for_health(&sys, ServingStatus::NotServing).await,
        ServingStatus::NotServing as i32
    );
    // The probe port says the same, for the whole server and every service.
    for service in every {
        let r = probe.check(check(service)).await.unwrap().into_inner();
        assert_eq!(r.status, ServingStatus::NotServing as i32, "{service:?}");
    }
    // It serves nothing but health: the hub's services are not there.
    let mut plain = hedui_proto::v1::verification_service_client::VerificationServiceClient::new(
        tonic::transport::Endpoint::from_shared(format!("http://{}", sys.health_addr))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let err = plain.list_records(ListRecordsRequest::default()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
}

/// The PostgreSQL server for tests, as the store suite finds it; `None`
/// (with a notice) when there is none and it is not required.
async fn postgres_admin_url() -> Option<String> {
    use sqlx::Connection as _;
    let candidates = match std::env::var("HEDUI_TEST_POSTGRES_URL") {
        Ok(u) => vec![u],
        Err(_) => vec![
            "postgres://postgres@127.0.0.1:5432/test".to_owned(),
            "postgres://root@127.0.0.1:5432/test".to_owned(),
        ],
    };
    for url in &candidates {
        if let Ok(c) = sqlx::PgConnection::connect(url).await {
            let _ = c.close().await;
            return Some(url.clone());
        }
    }
    assert!(
        std::env::var("HEDUI_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "PostgreSQL not reachable at {candidates:?}; HEDUI_REQUIRE_POSTGRES=1 makes this an error"
    );
    eprintln!("note: PostgreSQL not reachable; skipping the PostgreSQL health test");
    None
}

#[tokio::test]
async fn health_goes_not_serving_when_the_postgres_database_is_dropped() {
    use sqlx::{AssertSqlSafe, Connection as _, Executor as _};
    let Some(admin) = postgres_admin_url().await else {
        return;
    };
    let name = format!("hedui_test_{}", uuid::Uuid::new_v4().simple());
    let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
    // Names made here, from a UUID.
    c.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{base}/{name}");
    let sys = TestSystem::on_database(|_| Behaviour::Sandbox, Duration::from_secs(10), &url).await;
    assert_eq!(
        wait_for_health(&sys, ServingStatus::Serving).await,
        ServingStatus::Serving as i32
    );
    sys.hub
        .clone()
        .submit_verification(request(&household("qualifies"), "pg-1"))
        .await
        .unwrap();
    // The database stops: every session is cut and the database is gone.
    c.execute(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
        .await
        .unwrap();
    let err = sys
        .hub
        .clone()
        .submit_verification(request(&household("qualifies"), "pg-2"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(
        wait_for_health(&sys, ServingStatus::NotServing).await,
        ServingStatus::NotServing as i32
    );
    drop(sys);
    let _ = c
        .execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .await;
}

/// Shutdown lets a verification in flight finish, stores its record, and
/// signs a last checkpoint over the whole audit log.
#[tokio::test]
async fn shutdown_finishes_the_verification_in_flight_and_checkpoints_the_log() {
    use hedui_proto::v1::Department;
    let sys = TestSystem::with(
        |d| match d {
            Department::Tax => Behaviour::Slow(Duration::from_millis(800)),
            _ => Behaviour::Sandbox,
        },
        Duration::from_secs(10),
    )
    .await;
    let tax_calls = sys.calls[crate::helpers::index_of(Department::Tax)].clone();
    let mut hub = sys.hub.clone();
    let call = tokio::spawn(async move {
        hub.submit_verification(request(&household("qualifies"), "in-flight"))
            .await
    });
    // Wait until the slow department has the query, then stop the hub.
    for _ in 0..200 {
        if tax_calls.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(tax_calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    let url = sys.database_url.clone();
    let dir = sys.stop().await;
    let record = call.await.unwrap().unwrap().into_inner().record.unwrap();
    let store = hedui_store::Store::open(&url)
        .await
        .unwrap()
        .with_data_keys(crate::helpers::data_keys());
    assert_eq!(
        store.get_record(&record.record_id).await.unwrap().as_ref(),
        Some(&record)
    );
    let size = store.audit_size().await.unwrap();
    assert!(size >= 10, "{size}");
    let cp = store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(
        cp.checkpoint.tree_size, size as u64,
        "the last checkpoint covers every entry"
    );
    store.close().await;
    drop(dir);
}
