//! The frame of every page: title, header with the person and their role,
//! the menu for that role, and the error pages.

use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use maud::{DOCTYPE, Markup, html};

use crate::state::Who;

/// A whole page: `<title>` in Chinese, the menu of the person's role.
pub fn page(who: Option<&Who>, title: &str, active: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 核对工作台" }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "居民家庭经济状况核对 · 核对工作台" }
                    @if let Some(who) = who {
                        nav aria-label="主菜单" {
                            @for (href, label, key) in menu(who) {
                                a href=(href) class=[(key == active).then_some("active")] { (label) }
                            }
                        }
                        span.who { (who.name()) "（" (who.role_zh()) "）" }
                    }
                }
                main { (body) }
                footer.bottom { "每一次查看与查询均记入查询日志。" }
            }
        }
    }
}

fn menu(who: &Who) -> Vec<(&'static str, &'static str, &'static str)> {
    use hedui_tls::Role;
    let mut m = vec![("/", "工作台", "home")];
    if who.is(Role::Caseworker) {
        m.push(("/verify/new", "新建核对", "verify"));
    }
    m.push(("/records", "核对记录", "records"));
    m.push(("/batches", "批量核对", "batches"));
    if who.is(Role::Auditor) || who.is(Role::Admin) {
        m.push(("/audit", "查询日志", "audit"));
        m.push(("/audit/who", "个人查询记录", "who"));
    }
    if who.is(Role::Admin) {
        m.push(("/admin/departments", "部门状态", "departments"));
        m.push(("/admin/service-report", "服务报告", "service"));
    }
    m
}

/// An HTML answer with a status.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// A page that says what went wrong and what to do.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    respond(
        status,
        page(
            None,
            title,
            "",
            html! {
                section.error {
                    h1 { (title) }
                    p { (message) }
                    p { a href="/" { "返回工作台" } }
                }
            },
        ),
    )
}

/// A page listing several errors.
pub fn error_list_page(status: StatusCode, title: &str, lines: &[String]) -> Response {
    respond(
        status,
        page(
            None,
            title,
            "",
            html! {
                section.error {
                    h1 { (title) }
                    ul.errors { @for l in lines { li { (l) } } }
                    p { "请用浏览器的“后退”返回修改。" a href="/" { "返回工作台" } }
                }
            },
        ),
    )
}

/// The hidden CSRF field of a form.
pub fn csrf_field(who: &Who) -> Markup {
    html! { input type="hidden" name=(crate::csrf::FIELD) value=(who.token); }
}

/// A masked ID number for lists.
pub fn masked(id: &str) -> String {
    hedui_report::mask_id(id)
}

/// `2026-12-04T10:11:12Z` as `2026-12-04 18:11`, China Standard Time.
pub fn local_time(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => {
            let cst = chrono::FixedOffset::east_opt(8 * 3600).expect("a valid offset");
            t.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string()
        }
        Err(_) => rfc3339.to_owned(),
    }
}

/// A tonic status from a hub handler, as a page: 403 for a refusal, 404
/// for a missing record or batch, 503 when the hub cannot log, else the
/// hub's errors listed in Chinese.
pub fn status_page(status: &tonic::Status) -> Response {
    use tonic::Code;
    match status.code() {
        Code::PermissionDenied | Code::Unauthenticated => error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "您的证书角色无权使用此功能。此次访问已记入查询日志。如需使用，请联系管理员。",
        ),
        Code::NotFound => error_page(
            StatusCode::NOT_FOUND,
            "未找到",
            "没有找到这条核对记录或批次。请检查编号，或从列表重新打开。",
        ),
        Code::Unavailable => error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "暂时无法服务",
            "核对平台暂时无法完成此操作（可能正在重启或数据库不可用），请稍后重试。",
        ),
        Code::DataLoss => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "数据完整性校验失败",
            "存储的记录未通过完整性校验，平台拒绝显示。请立即联系管理员和审计员。",
        ),
        _ => {
            let lines = crate::form::Errors::from_status(status).all();
            error_list_page(StatusCode::BAD_REQUEST, "请求未被受理", &lines)
        }
    }
}

impl IntoResponse for crate::form::Errors {
    fn into_response(self) -> Response {
        error_list_page(StatusCode::BAD_REQUEST, "请求未被受理", &self.all())
    }
}
