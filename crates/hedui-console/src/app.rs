//! The router, the signed-in person, and the glue from a page to the hub's
//! own handlers.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hedui_hub::HubState;
use hedui_hub::access::Caller;
use hedui_hub::audit_service::Audit;
use hedui_hub::batch_service::BatchApi;
use hedui_hub::service::Verification;
use hedui_tls::PeerInfo;
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};

use crate::{csrf, layout, pages};

/// The largest form body (a household of 30 members fits many times over).
pub const MAX_FORM_BYTES: usize = 256 * 1024;
/// The largest roster upload: the command line's limit, and the multipart
/// envelope around it.
pub const MAX_UPLOAD_BYTES: usize = 100 * 1024 * 1024 + 64 * 1024;

/// What the console holds: the hub's handlers and its own secrets.
pub struct App {
    pub state: Arc<HubState>,
    pub verification: Verification,
    pub audit: Audit,
    pub batches: BatchApi,
    pub csrf: csrf::Key,
    pub settings: Settings,
    /// The CJK font for PDFs, loaded at the first PDF.
    #[cfg(feature = "pdf")]
    pub font: OnceLock<Result<hedui_report::pdf::CjkFont, String>>,
    #[cfg(not(feature = "pdf"))]
    pub font: OnceLock<()>,
}

/// What the console shows that is not in the hub: the bureau's names on
/// reports, and the font for PDFs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The bureau that prints reports, e.g. "德江县民政局".
    pub bureau: String,
    /// The county, e.g. "德江县".
    pub county: String,
    /// The CJK font file for PDFs; the Debian font packages when `None`.
    pub font: Option<std::path::PathBuf>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            bureau: "县民政局".to_owned(),
            county: "本县".to_owned(),
            font: None,
        }
    }
}

/// The CJK font: the configured file, else the first Debian font that is
/// installed.
#[cfg(feature = "pdf")]
pub fn load_font(explicit: Option<&std::path::Path>) -> Result<hedui_report::pdf::CjkFont, String> {
    let candidates: Vec<std::path::PathBuf> = match explicit {
        Some(p) => vec![p.to_owned()],
        None => hedui_report::pdf::DEBIAN_CJK_FONTS
            .iter()
            .map(std::path::PathBuf::from)
            .collect(),
    };
    for p in candidates {
        if let Ok(data) = std::fs::read(&p) {
            return hedui_report::pdf::CjkFont::from_bytes(data).map_err(|e| format!("{}: {e}", p.display()));
        }
    }
    Err("no CJK font".to_owned())
}

impl App {
    pub fn new(state: Arc<HubState>, settings: Settings) -> App {
        App {
            settings,
            verification: Verification::new(state.clone()),
            audit: Audit::new(state.clone()),
            batches: BatchApi::new(state.clone()),
            state,
            csrf: csrf::Key::generate(),
            font: OnceLock::new(),
        }
    }
}

/// The person at the browser: their certificate's identity, as the gRPC
/// handlers see it.
#[derive(Clone)]
pub struct Who {
    pub peer: PeerInfo,
    pub caller: Caller,
    /// The CSRF token of this certificate, for the forms of the page.
    pub token: String,
}

impl Who {
    /// A request to a hub handler, carrying this person's certificate as a
    /// gRPC call over the other listener would.
    pub fn req<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.extensions_mut().insert(self.peer.clone());
        r
    }

    /// The name shown in the header: the certificate's holder.
    pub fn name(&self) -> String {
        match &self.caller {
            Caller::Certified(id) => id.name.clone(),
            _ => "未识别的证书".to_owned(),
        }
    }

    /// The role's Chinese name.
    pub fn role_zh(&self) -> &'static str {
        match &self.caller {
            Caller::Certified(id) => match id.role {
                hedui_tls::Role::Caseworker => "核对员",
                hedui_tls::Role::Auditor => "审计员",
                hedui_tls::Role::Admin => "管理员",
                _ => "其他",
            },
            _ => "未识别",
        }
    }

    pub fn is(&self, role: hedui_tls::Role) -> bool {
        matches!(&self.caller, Caller::Certified(id) if id.role == role)
    }
}

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
                csrf::log_refusal(&app, &who, "cross-site request").await;
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

pub fn human_bytes(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{} MiB", n / (1024 * 1024))
    } else {
        format!("{} KiB", n / 1024)
    }
}

/// A tonic status from a hub handler, as a page: 403 for a refusal, 404
/// for a missing record or batch, 503 when the hub cannot log, else the
/// hub's errors listed in Chinese.
pub fn status_page(status: &tonic::Status) -> Response {
    use tonic::Code;
    match status.code() {
        Code::PermissionDenied | Code::Unauthenticated => layout::error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "您的证书角色无权使用此功能。此次访问已记入查询日志。如需使用，请联系管理员。",
        ),
        Code::NotFound => layout::error_page(
            StatusCode::NOT_FOUND,
            "未找到",
            "没有找到这条核对记录或批次。请检查编号，或从列表重新打开。",
        ),
        Code::Unavailable => layout::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "暂时无法服务",
            "核对平台暂时无法完成此操作（可能正在重启或数据库不可用），请稍后重试。",
        ),
        Code::DataLoss => layout::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "数据完整性校验失败",
            "存储的记录未通过完整性校验，平台拒绝显示。请立即联系管理员和审计员。",
        ),
        _ => {
            let lines = crate::form::Errors::from_status(status).all();
            layout::error_list_page(StatusCode::BAD_REQUEST, "请求未被受理", &lines)
        }
    }
}

impl IntoResponse for crate::form::Errors {
    fn into_response(self) -> Response {
        layout::error_list_page(StatusCode::BAD_REQUEST, "请求未被受理", &self.all())
    }
}
