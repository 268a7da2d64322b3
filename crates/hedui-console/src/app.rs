//! The router: routes, the guard every request passes (size, token,
//! where a POST comes from), security headers, assets, and how a request
//! becomes the signed-in person ([`Who`]).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use hedui_hub::access::Caller;
use hedui_tls::PeerInfo;
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

use crate::state::{App, MAX_FORM_BYTES, MAX_UPLOAD_BYTES, Who, human_bytes};
use crate::{csrf, layout, pages};

impl FromRequestParts<Arc<App>> for Who {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Who, Response> {
        // Every connection that reaches a page has passed the mutual-TLS
        // handshake; the server put its PeerInfo on the request.
        let Some(peer) = parts.extensions.get::<PeerInfo>().cloned() else {
            return Err(layout::error_page(
                StatusCode::UNAUTHORIZED,
                "未能识别证书",
                "请使用县级证书机构签发的个人证书访问核对工作台。",
            ));
        };
        let caller = match &peer.identity {
            Some(id) => Caller::Certified(id.clone()),
            None => Caller::Unidentified(peer.certificate.clone()),
        };
        let token = app.csrf.token(&peer);
        Ok(Who { peer, caller, token })
    }
}

pub fn router(app: Arc<App>) -> Router {
    let forms = Router::new()
        .route("/verify", post(pages::verify::submit))
        .route("/records/{id}/review", post(pages::records::review))
        .route("/records/{id}/recheck", post(pages::records::recheck))
        .route("/batches/{id}/cancel", post(pages::batches::cancel))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES));
    let upload = Router::new()
        .route("/batches", post(pages::batches::upload))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES));
    Router::new()
        .route("/", get(pages::home::page))
        .route("/verify/new", get(pages::verify::form))
        .route("/records", get(pages::records::list))
        .route("/records/{id}", get(pages::records::detail))
        .route("/records/{id}/report", get(pages::records::report))
        .route("/records/{id}/report.pdf", get(pages::records::report_pdf))
        .route("/batches", get(pages::batches::list))
        .route("/batches/{id}", get(pages::batches::detail))
        .route("/batches/{id}/progress", get(pages::batches::progress))
        .route("/batches/{id}/results", get(pages::batches::results))
        .route("/audit", get(pages::audit::log))
        .route("/audit/who", get(pages::audit::who))
        .route("/audit/notice", get(pages::audit::notice))
        .route("/audit/export", get(pages::audit::export))
        .route("/admin/departments", get(pages::admin::departments))
        .route("/admin/service-report", get(pages::admin::service_report))
        .route("/static/console.css", get(static_css))
        .route("/static/console.js", get(static_js))
        .merge(forms)
        .merge(upload)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .layer(middleware::from_fn(headers))
        .with_state(app)
}

/// Refuses, before the body is read: a body over its route's limit (by its
/// declared length), and a POST that does not come from a page of the
/// console (cross-site, or without this certificate's token — the token is
/// checked by each form handler, which has read the body).
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if req.method() == http::Method::POST {
        let limit = if req.uri().path() == "/batches" {
            MAX_UPLOAD_BYTES
        } else {
            MAX_FORM_BYTES
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return layout::error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "文件或表单过大",
                &format!("提交的内容超过上限（{}）。花名册请拆分后分批上传。", human_bytes(limit)),
            );
        }
        if !csrf::same_origin(req.headers()) {
            let (parts, _) = req.into_parts();
            let mut parts = parts;
            let who = Who::from_request_parts(&mut parts, &app).await;
            if let Ok(who) = who {
                app.log_refusal(&who, "cross-site request").await;
            }
            return layout::error_page(
                StatusCode::FORBIDDEN,
                "请求被拒绝",
                "该请求不是从核对工作台的页面发出的（跨站请求），已拒绝并记录。",
            );
        }
    }
    next.run(req).await
}

/// The headers of every answer: no framing, a strict content policy, and
/// no caching (every page may hold personal data).
async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

async fn not_found() -> Response {
    layout::error_page(
        StatusCode::NOT_FOUND,
        "页面不存在",
        "没有这个页面。请从上方菜单重新进入。",
    )
}

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");

async fn static_css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

async fn static_js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    r
}
