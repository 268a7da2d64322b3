//! `hedui bench --only console`: the console's record list and record
//! detail, rendered from a database of many records (10,000 by default),
//! measured from a browser's side of a kept-alive HTTP/2 connection with a
//! caseworker's certificate. The round trip on loopback is an upper bound
//! of the server's time. Each page is the real page: the hub's handlers,
//! the seal and row checks of every record read, and the audit entries a
//! read writes (durably, before the page is sent).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use hedui_proto::v1::ListRecordsRequest;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;

use super::{BenchArgs, Dist, System, met, ms};

/// The target of issue #12: p95 of each page's server time.
const PAGE_P95_TARGET: Duration = Duration::from_millis(50);

type Sender = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

async fn connect(addr: std::net::SocketAddr, files: hedui_tls::TlsFiles) -> anyhow::Result<Sender> {
    let tls = hedui_tls::ClientTls::load(files)?;
    let connector = tokio_rustls::TlsConnector::from(tls.current());
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1")?;
    let stream = connector.connect(name, tcp).await?;
    let (send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await?;
    tokio::spawn(conn);
    Ok(send)
}

async fn get(send: &mut Sender, addr: std::net::SocketAddr, path: &str) -> anyhow::Result<(Duration, usize)> {
    let req = http::Request::get(format!("https://{addr}{path}")).body(Full::new(Bytes::new()))?;
    let started = Instant::now();
    let res = send.send_request(req).await?;
    anyhow::ensure!(res.status() == 200, "GET {path}: {}", res.status());
    let body = res.into_body().collect().await?.to_bytes();
    Ok((started.elapsed(), body.len()))
}

pub async fn run(a: &BenchArgs, sys: &System, table: &mut Vec<(String, String)>) -> anyhow::Result<()> {
    // Fill the database to the asked size through the hub itself.
    sys.set_latency(Duration::ZERO, Duration::ZERO);
    let have = sys
        .state
        .store
        .list_records(&hedui_store::ListFilter {
            limit: 1000,
            ..Default::default()
        })
        .await?
        .len();
    let missing = a.console_records.saturating_sub(have);
    let started = Instant::now();
    let failures = futures::stream::iter(0..missing)
        .map(|n| {
            let mut c = sys.client.clone();
            let req = sys.request(n);
            async move { c.submit_verification(req).await.is_err() }
        })
        .buffer_unordered(a.concurrency.max(1))
        .filter(|failed| futures::future::ready(*failed))
        .count()
        .await;
    anyhow::ensure!(
        failures == 0,
        "{failures} submissions failed while filling the database"
    );
    println!(
        "console: {} records in the database ({missing} added in {:.1} s)",
        have + missing,
        started.elapsed().as_secs_f64()
    );
    let console = hedui_console::Console::bind(
        "127.0.0.1:0".parse()?,
        sys.hub_files.clone(),
        sys.state.clone(),
        hedui_console::Settings::default(),
    )
    .await?;
    let addr = console.local_addr();
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(console.serve_until(async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    let mut send = connect(addr, sys.caseworker_files.clone()).await?;
    // Records to open: the newest few thousand, spread over the list.
    let mut ids = Vec::new();
    let mut token = String::new();
    while ids.len() < 5000 {
        let page = sys
            .client
            .clone()
            .list_records(ListRecordsRequest {
                limit: 1000,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .context("listing record ids")?
            .into_inner();
        ids.extend(page.records.into_iter().map(|r| r.record_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    anyhow::ensure!(!ids.is_empty(), "no records to open");
    // Warm up.
    for i in 0..20 {
        get(&mut send, addr, "/records").await?;
        get(&mut send, addr, &format!("/records/{}", ids[i % ids.len()])).await?;
    }
    let n = a.console_pages.max(1);
    let mut list = Vec::with_capacity(n);
    let mut list_bytes = 0;
    for _ in 0..n {
        let (t, b) = get(&mut send, addr, "/records").await?;
        list.push(t);
        list_bytes = b;
    }
    let mut detail = Vec::with_capacity(n);
    let mut detail_bytes = 0;
    for i in 0..n {
        // Spread over the records, not the same one again.
        let id = &ids[(i * 7919) % ids.len()];
        let (t, b) = get(&mut send, addr, &format!("/records/{id}")).await?;
        detail.push(t);
        detail_bytes = b;
    }
    let _ = stop.send(true);
    let _ = task.await;
    let (list, detail) = (Dist::new(list), Dist::new(detail));
    table.push((
        format!("console list page (50 of {} records), p50 / p95", have + missing),
        format!(
            "{} / {}  target p95 <= {}: {}  ({} KiB)",
            ms(list.pct(50.0)),
            ms(list.pct(95.0)),
            ms(PAGE_P95_TARGET),
            met(list.pct(95.0) <= PAGE_P95_TARGET),
            list_bytes / 1024
        ),
    ));
    table.push((
        "console record detail, p50 / p95".into(),
        format!(
            "{} / {}  target p95 <= {}: {}  ({} KiB)",
            ms(detail.pct(50.0)),
            ms(detail.pct(95.0)),
            ms(PAGE_P95_TARGET),
            met(detail.pct(95.0) <= PAGE_P95_TARGET),
            detail_bytes / 1024
        ),
    ));
    Ok(())
}
