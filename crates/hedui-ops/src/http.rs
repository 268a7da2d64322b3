//! `GET /metrics` over plain HTTP/1.1, served by hyper: for a Prometheus
//! scraper on the bureau's network, not for the public.
//!
//! Like the TLS listeners (`hedui_tls::incoming`), the accept loop holds at
//! most [`MAX_CONNECTIONS`] connections at once (beyond that, new ones wait
//! in the kernel's backlog), gives each a deadline, and pauses after a
//! failed accept (usually "too many open files") instead of spinning.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 32;
/// How long one connection may take, from accept to the end of the answer.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to pause after a failed `accept`.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Renders the exposition at the time of a scrape.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Binds the metrics address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `GET /metrics` on `listener` until the task is dropped. Another
/// method on `/metrics` gets 405, another path 404. One request per
/// connection.
pub async fn serve(listener: TcpListener, render: Render) {
    let listener = &listener;
    serve_with(|| listener.accept(), render, MAX_CONNECTIONS, ACCEPT_ERROR_PAUSE).await;
}

/// [`serve`] over any source of connections, with its limit and pause (a
/// parameter so that the tests can feed it failing accepts).
pub async fn serve_with<A, F>(mut accept: A, render: Render, limit: usize, pause: Duration)
where
    A: FnMut() -> F,
    F: Future<Output = std::io::Result<(TcpStream, SocketAddr)>>,
{
    let slots = Arc::new(Semaphore::new(limit.max(1)));
    loop {
        // The semaphore is never closed.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (tcp, _) = match accept().await {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "metrics: accept failed");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let render = render.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let render = render.clone();
                async move { Ok::<_, Infallible>(answer(&req, &render)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service);
            match tokio::time::timeout(CONNECTION_TIMEOUT, conn).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::debug!(%error, "metrics connection ended with an error"),
                Err(_) => tracing::debug!("metrics connection timed out"),
            }
        });
    }
}

fn answer<B>(req: &http::Request<B>, render: &Render) -> http::Response<Full<Bytes>> {
    let (status, body) = match (req.method(), req.uri().path()) {
        (&http::Method::GET, "/metrics") => (http::StatusCode::OK, render()),
        (_, "/metrics") => (http::StatusCode::METHOD_NOT_ALLOWED, "only GET\n".to_owned()),
        _ => (http::StatusCode::NOT_FOUND, "metrics are at /metrics\n".to_owned()),
    };
    let mut resp = http::Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    async fn get(addr: SocketAddr, request: &str) -> String {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(request.as_bytes()).await.unwrap();
        let mut raw = String::new();
        c.read_to_string(&mut raw).await.unwrap();
        raw
    }

    fn render() -> Render {
        Arc::new(|| "up 1\n".to_owned())
    }

    #[tokio::test]
    async fn metrics_are_at_get_metrics_and_nowhere_else() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(serve(listener, render()));
        let ok = get(addr, "GET /metrics?x=1 HTTP/1.1\r\nHost: m\r\n\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("content-type: text/plain; version=0.0.4"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nup 1\n"), "{ok}");
        let post = get(addr, "POST /metrics HTTP/1.1\r\nHost: m\r\nContent-Length: 0\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{post}");
        let other = get(addr, "GET / HTTP/1.1\r\nHost: m\r\n\r\n").await;
        assert!(other.starts_with("HTTP/1.1 404 Not Found\r\n"), "{other}");
        // Garbage gets an error answer or a closed connection, and the
        // server goes on serving.
        let _ = get(addr, "\u{1}\u{2}garbage\r\n\r\n").await;
        assert!(
            get(addr, "GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n")
                .await
                .starts_with("HTTP/1.1 200")
        );
        task.abort();
    }

    /// Beyond the limit a connection is not served until another ends: the
    /// third scrape is answered only once one of the two idle connections
    /// holding the slots has closed.
    #[tokio::test]
    async fn connections_beyond_the_limit_wait_for_a_free_slot() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The task outlives this scope's borrow: the test leaks its listener.
        let listener: &'static TcpListener = Box::leak(Box::new(listener));
        let task = tokio::spawn(serve_with(|| listener.accept(), render(), 2, ACCEPT_ERROR_PAUSE));
        let idle1 = TcpStream::connect(addr).await.unwrap();
        let _idle2 = TcpStream::connect(addr).await.unwrap();
        let mut third = TcpStream::connect(addr).await.unwrap();
        third
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n")
            .await
            .unwrap();
        // Both slots are held: nothing comes back while they are. (A
        // server without the limit answers at once; waiting longer could
        // only let a broken limit pass, never fail a working one.)
        let mut buf = [0u8; 1];
        let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf)).await;
        assert!(early.is_err(), "the third connection was served beyond the limit");
        drop(idle1);
        let mut raw = String::new();
        third.read_to_string(&mut raw).await.unwrap();
        assert!(raw.starts_with("HTTP/1.1 200 OK"), "{raw}");
        task.abort();
    }

    /// A failed accept (EMFILE) is followed by a pause, not by another
    /// accept at once: the loop does not spin.
    #[tokio::test]
    async fn a_failed_accept_pauses_before_the_next() {
        let calls = Arc::new(std::sync::Mutex::new(Vec::<std::time::Instant>::new()));
        let seen = calls.clone();
        let pause = Duration::from_millis(50);
        let task = tokio::spawn(serve_with(
            move || {
                seen.lock().unwrap().push(std::time::Instant::now());
                std::future::ready(Err(std::io::Error::from_raw_os_error(24)))
            },
            render(),
            4,
            pause,
        ));
        loop {
            tokio::time::sleep(pause).await;
            if calls.lock().unwrap().len() >= 4 {
                break;
            }
        }
        task.abort();
        let calls = calls.lock().unwrap();
        for pair in calls.windows(2) {
            assert!(
                pair[1] - pair[0] >= pause,
                "accepted again after {:?}",
                pair[1] - pair[0]
            );
        }
    }
}
