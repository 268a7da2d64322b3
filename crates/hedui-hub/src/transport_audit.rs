//! Requests refused before any handler reads them, in the audit log.
//!
//! tonic decodes a request before it calls the hub's handler: a message
//! over the size limit (OUT_OF_RANGE; `max_request_bytes`, the one request
//! limit), or one that does not decode, for
//! example a string that is not UTF-8 or bytes that are not protobuf
//! (INTERNAL), is refused without the hub knowing. This layer sits around
//! every hedui.v1 service. It marks each request ([`Admitted`]); a handler
//! that runs sets the mark when it admits the call, and logs the call itself.
//! When an error comes back and the mark is not set, the request was refused
//! by the transport: the layer logs it (method, caller, status, tonic's
//! message, which names no value) and answers INVALID_ARGUMENT with a
//! `BadRequest` naming the field `request`, as the hub's own size check
//! does, instead of OUT_OF_RANGE or INTERNAL. Health and reflection are
//! outside it, and what the HTTP/2 layer refuses never reaches it (see
//! ARCHITECTURE.md, "Oversized and undecodable requests"). If the entry cannot be
//! written, the caller gets UNAVAILABLE.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::access::{Admitted, Caller};
use crate::service::{HubState, audit_entry};

/// The layer: wraps every service of the router.
#[derive(Clone)]
pub struct TransportAuditLayer {
    state: Arc<HubState>,
}

impl TransportAuditLayer {
    /// A layer that logs through `state`'s audit log.
    pub fn new(state: Arc<HubState>) -> Self {
        Self { state }
    }
}

impl<S> tower_layer::Layer<S> for TransportAuditLayer {
    type Service = TransportAudit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TransportAudit {
            inner,
            state: self.state.clone(),
        }
    }
}

/// The service the layer makes.
#[derive(Clone)]
pub struct TransportAudit<S> {
    inner: S,
    state: Arc<HubState>,
}

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for TransportAudit<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqBody>) -> Self::Future {
        let path = req.uri().path().to_owned();
        if !path.starts_with("/hedui.v1.") {
            return Box::pin(self.inner.call(req));
        }
        let admitted = Admitted::default();
        req.extensions_mut().insert(admitted.clone());
        let caller = match req.extensions().get::<hedui_tls::PeerInfo>() {
            _ if self.state.insecure => Caller::InsecureDev,
            Some(p) => match &p.identity {
                Some(id) => Caller::Certified(id.clone()),
                None => Caller::Unidentified(p.certificate.clone()),
            },
            None => Caller::Unidentified(None),
        };
        let state = self.state.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut resp = fut.await?;
            let code = resp
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
                .map(tonic::Code::from_i32);
            let Some(code) = code.filter(|c| *c != tonic::Code::Ok) else {
                return Ok(resp);
            };
            if admitted.is_set() {
                return Ok(resp);
            }
            let message = resp
                .headers()
                .get("grpc-message")
                .and_then(|v| v.to_str().ok())
                .map(percent_decode)
                .unwrap_or_default();
            let action = path.rsplit('/').next().unwrap_or(&path).to_owned();
            // What the caller gets, which is also what the entry records.
            let answer = matches!(code, tonic::Code::OutOfRange | tonic::Code::Internal).then(|| {
                hedui_proto::status::invalid_argument([(
                    "request",
                    format!("the request could not be read: {message}").as_str(),
                )])
            });
            let logged = answer.as_ref().map_or(code, |s| s.code());
            let mut e = audit_entry(&caller, &action, crate::codes::code_name(logged));
            e.detail = format!(
                "refused before the hub read it ({}): {}",
                crate::codes::code_name(code),
                message.chars().take(200).collect::<String>()
            );
            let status = match (state.audit.append(vec![e]).await, answer) {
                (Err(_), _) => {
                    tonic::Status::unavailable("the audit log cannot be written; the hub does not answer unlogged")
                }
                (Ok(_), Some(answer)) => answer,
                (Ok(_), None) => return Ok(resp),
            };
            state.metrics.rpc(&action, status.code());
            // A refusal before the handler is a trailers-only response: its
            // status is in the headers, which are replaced.
            let replacement: http::Response<()> = status.into_http();
            for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
                resp.headers_mut().remove(name);
                if let Some(v) = replacement.headers().get(name) {
                    resp.headers_mut().insert(name, v.clone());
                }
            }
            Ok(resp)
        })
    }
}

/// grpc-message is percent-encoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
