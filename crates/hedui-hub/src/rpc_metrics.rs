//! The latency of every call on the hub's port, by service, method and
//! gRPC status code: `hedui_rpc_duration_seconds`.
//!
//! A layer around the whole router, outside `transport_audit`, so it sees
//! the code the caller gets, also for calls no handler read, and for health
//! and reflection. The time runs from the request's arrival until the
//! status is known: the response headers of a trailers-only answer (every
//! refusal), otherwise the trailers at the end of the body, so a stream is
//! timed to its end. A body dropped before its status (the caller went
//! away) is counted as CANCELLED.
//!
//! When the bench turns stage clocks on ([`crate::stages`]), this layer
//! also starts each SubmitVerification's clock at its arrival and finishes
//! it when an OK status goes by.
//!
//! Label values come from fixed lists only: a path that names no service
//! and method the hub serves is counted as `other`/`other`, so a caller
//! cannot grow the label set.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::metrics::Metrics;

/// The layer.
#[derive(Clone)]
pub struct RpcMetricsLayer {
    metrics: Metrics,
}

impl RpcMetricsLayer {
    /// A layer that records into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> tower_layer::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service the layer makes.
#[derive(Clone)]
pub struct RpcMetrics<S> {
    inner: S,
    metrics: Metrics,
}

/// `(service, method)` as labels: the path's own names when the hub serves
/// that method, `other` otherwise.
pub fn labels(path: &str) -> (&'static str, &'static str) {
    const OTHER: (&str, &str) = ("other", "other");
    let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
        return OTHER;
    };
    let Some(service) = crate::health::LISTED.iter().find(|s| **s == service) else {
        return OTHER;
    };
    let fixed: &[&'static str] = match *service {
        "grpc.health.v1.Health" => &["Check", "Watch", "List"],
        "grpc.reflection.v1.ServerReflection" | "grpc.reflection.v1alpha.ServerReflection" => &["ServerReflectionInfo"],
        _ => {
            return hub_methods()
                .iter()
                .find(|(s, m)| *s == *service && *m == method)
                .copied()
                .unwrap_or(OTHER);
        }
    };
    fixed.iter().find(|m| **m == method).map_or(OTHER, |m| (*service, *m))
}

/// Every `(service, method)` of the hedui.v1 services the hub serves, from
/// the descriptors, made `'static` once.
fn hub_methods() -> &'static [(&'static str, &'static str)] {
    static METHODS: std::sync::OnceLock<Vec<(&'static str, &'static str)>> = std::sync::OnceLock::new();
    METHODS.get_or_init(|| {
        let pool = hedui_proto::descriptor_pool();
        crate::health::SERVICES
            .iter()
            .filter_map(|s| pool.get_service_by_name(s).map(|d| (*s, d)))
            .flat_map(|(s, d)| {
                d.methods()
                    .map(|m| (s, &*Box::leak(m.name().to_owned().into_boxed_str())))
                    .collect::<Vec<_>>()
            })
            .collect()
    })
}

fn status_of(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from_i32)
}

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for RpcMetrics<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = http::Response<Timed<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqBody>) -> Self::Future {
        let (service, method) = labels(req.uri().path());
        let started = Instant::now();
        let clock = (crate::stages::enabled() && method == "SubmitVerification").then(|| {
            let clock = Arc::new(crate::stages::StageClock::new(started));
            req.extensions_mut().insert(clock.clone());
            clock
        });
        let metrics = self.metrics.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            let mut timer = Timer {
                metrics,
                service,
                method,
                started,
                done: false,
                clock,
            };
            // A trailers-only answer: the status is already here.
            if let Some(code) = status_of(resp.headers()) {
                timer.finish(code);
            }
            Ok(resp.map(|inner| Timed { inner, timer }))
        })
    }
}

struct Timer {
    metrics: Metrics,
    service: &'static str,
    method: &'static str,
    started: Instant,
    done: bool,
    clock: Option<Arc<crate::stages::StageClock>>,
}

impl Timer {
    fn finish(&mut self, code: tonic::Code) {
        if !self.done {
            self.done = true;
            self.metrics
                .rpc_duration(self.service, self.method, code, self.started.elapsed());
            if let Some(clock) = self.clock.take().filter(|_| code == tonic::Code::Ok) {
                clock.finish();
            }
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // The body ended without a status, or was dropped before its end.
        self.finish(tonic::Code::Cancelled);
    }
}

/// A response body that records the call when its status goes by.
pub struct Timed<B> {
    inner: B,
    timer: Timer,
}

impl<B> http_body::Body for Timed<B>
where
    B: http_body::Body + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_of) {
                    this.timer.finish(code);
                }
            }
            Poll::Ready(Some(Err(_))) => this.timer.finish(tonic::Code::Internal),
            Poll::Ready(None) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::labels;

    #[test]
    fn labels_come_only_from_what_the_hub_serves() {
        assert_eq!(
            labels("/hedui.v1.VerificationService/SubmitVerification"),
            ("hedui.v1.VerificationService", "SubmitVerification")
        );
        assert_eq!(
            labels("/hedui.v1.BatchService/StreamBatchResults"),
            ("hedui.v1.BatchService", "StreamBatchResults")
        );
        assert_eq!(
            labels("/grpc.health.v1.Health/Check"),
            ("grpc.health.v1.Health", "Check")
        );
        for junk in [
            "/hedui.v1.SourceService/Query",
            "/hedui.v1.VerificationService/NoSuchMethod",
            "/grpc.health.v1.Health/Whatever",
            "/x/y/z",
            "/",
            "",
        ] {
            assert_eq!(labels(junk), ("other", "other"), "{junk}");
        }
    }
}
