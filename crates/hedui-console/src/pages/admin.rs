//! The admins' pages: each department's state (breaker, latency and
//! availability over the last hour and day, as SVG charts) and the
//! quarterly department service report.
//!
//! These read figures, not people. The department status reads latencies
//! and outcomes from the records' source results and writes its own audit
//! entry; the service report is the hub's `GetDepartmentReport`, which
//! logs itself. Only an admin's certificate opens them; anyone else gets a
//! 403, logged.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use hedui_domain::department::{ALL, name_zh};
use hedui_proto::v1::SourceOutcome;
use http::StatusCode;
use maud::{Markup, html};

use crate::form::Fields;
use crate::layout;
use crate::state::{App, Who};

/// Admins only; anyone else is refused, and the attempt logged.
async fn admit(app: &App, who: &Who, action: &str) -> Result<(), Response> {
    let ok = who.is(hedui_tls::Role::Admin);
    let status = if ok { "OK" } else { "PERMISSION_DENIED" };
    let e = hedui_hub::service::audit_entry(&who.caller, action, status);
    if app.state.audit.append(vec![e]).await.is_err() {
        return Err(layout::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "暂时无法服务",
            "查询日志无法写入，平台拒绝在不记录的情况下提供数据。",
        ));
    }
    if ok {
        Ok(())
    } else {
        Err(layout::error_page(
            StatusCode::FORBIDDEN,
            "无权访问",
            "此页面仅限管理员。此次访问已记入查询日志。",
        ))
    }
}

/// Figures of one department over a span.
#[derive(Default, Clone)]
struct Figures {
    queries: u64,
    answered: u64,
    latencies: Vec<u32>,
}

impl Figures {
    fn p(&self, q: f64) -> Option<u32> {
        if self.latencies.is_empty() {
            return None;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        self.latencies.get(i).copied()
    }

    fn availability(&self) -> Option<f64> {
        (self.queries > 0).then(|| self.answered as f64 / self.queries as f64)
    }
}

/// 部门状态.
pub async fn departments(State(app): State<Arc<App>>, who: Who) -> Response {
    if let Err(p) = admit(&app, &who, "console.department_status").await {
        return p;
    }
    let now = chrono::Utc::now();
    let hour_ago = now - chrono::Duration::hours(1);
    let day_ago = now - chrono::Duration::days(1);
    let mut hour = vec![Figures::default(); ALL.len()];
    let mut day = vec![Figures::default(); ALL.len()];
    let from = day_ago.date_naive();
    let before = now.date_naive() + chrono::Duration::days(1);
    let read = app
        .state
        .store
        .for_each_record_created(from, before, |r| {
            let Ok(made) = chrono::DateTime::parse_from_rfc3339(&r.created_at) else {
                return;
            };
            let made = made.with_timezone(&chrono::Utc);
            if made < day_ago {
                return;
            }
            for s in &r.sources {
                let Some(i) = ALL.iter().position(|d| *d as i32 == s.department) else {
                    continue;
                };
                let answered = s.outcome == SourceOutcome::Ok as i32 || s.outcome == SourceOutcome::NoRecord as i32;
                for f in [Some(&mut day[i]), (made >= hour_ago).then_some(&mut hour[i])]
                    .into_iter()
                    .flatten()
                {
                    f.queries += 1;
                    f.answered += u64::from(answered);
                    f.latencies.push(s.latency_ms);
                }
            }
        })
        .await;
    if read.is_err() {
        return layout::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "暂时无法服务",
            "无法读取记录，请稍后重试。",
        );
    }
    for f in hour.iter_mut().chain(day.iter_mut()) {
        f.latencies.sort_unstable();
    }
    let breaker = |d: hedui_proto::v1::Department| {
        app.state
            .clients
            .iter()
            .find(|c| c.department() == d)
            .map(|c| {
                if c.breaker_open() {
                    "熔断中（快速失败）"
                } else {
                    "正常"
                }
            })
            .unwrap_or("未配置")
    };
    let body = html! {
        h1 { "部门状态" }
        p.lead { "各部门接口的熔断状态，以及最近一小时、一天的响应时间（中位数 p50、p99）和可用率（有答复的查询占比）。" }
        table.list {
            thead { tr { th { "部门" } th { "熔断器" } th { "近1小时查询" } th { "p50 / p99" } th { "可用率" } th { "近1天查询" } th { "p50 / p99" } th { "可用率" } } }
            tbody { @for (i, d) in ALL.iter().enumerate() {
                tr {
                    td { (name_zh(*d)) } td { (breaker(*d)) }
                    td { (hour[i].queries) } td { (ms(hour[i].p(0.5))) " / " (ms(hour[i].p(0.99))) } td { (share(&hour[i])) }
                    td { (day[i].queries) } td { (ms(day[i].p(0.5))) " / " (ms(day[i].p(0.99))) } td { (share(&day[i])) }
                }
            } }
        }
        h2 { "近1天响应时间（毫秒）" }
        (latency_chart(&day))
        h2 { "近1天可用率" }
        (availability_chart(&day))
        h2 { "近1小时响应时间（毫秒）" }
        (latency_chart(&hour))
    };
    layout::respond(
        StatusCode::OK,
        layout::page(Some(&who), "部门状态", "departments", body),
    )
}

fn ms(v: Option<u32>) -> String {
    v.map(|v| format!("{v} 毫秒")).unwrap_or_else(|| "—".into())
}

/// The share answered, never shown as 100.0 % when a query failed nor as
/// 0.0 % when one was answered ([`hedui_report::percent`]).
fn share(f: &Figures) -> String {
    hedui_report::percent::percent(f.answered, f.queries).unwrap_or_else(|| "—".into())
}

const CHART_W: u32 = 900;
const ROW_H: u32 = 28;
const LABEL_W: u32 = 150;

/// Horizontal bars: p50 dark, p99 light behind it.
fn latency_chart(figs: &[Figures]) -> Markup {
    let max = figs.iter().filter_map(|f| f.p(0.99)).max().unwrap_or(0).max(1);
    let scale = |v: u32| (f64::from(v) / f64::from(max) * f64::from(CHART_W - LABEL_W - 120)) as u32;
    let h = ROW_H * ALL.len() as u32 + 10;
    html! {
        svg.chart width=(CHART_W) height=(h) viewBox={"0 0 " (CHART_W) " " (h)} role="img" aria-label="各部门响应时间" {
            @for (i, d) in ALL.iter().enumerate() {
                @let y = i as u32 * ROW_H + 5;
                @let f = &figs[i];
                text x="0" y=(y + 18) { (name_zh(*d)) }
                @if let (Some(p50), Some(p99)) = (f.p(0.5), f.p(0.99)) {
                    rect x=(LABEL_W) y=(y + 4) width=(scale(p99).max(1)) height="18" class="bar-light" {}
                    rect x=(LABEL_W) y=(y + 4) width=(scale(p50).max(1)) height="18" class="bar-dark" {}
                    text x=(LABEL_W + scale(p99) + 6) y=(y + 18) { (p50) " / " (p99) }
                } @else {
                    text x=(LABEL_W) y=(y + 18) class="muted" { "无查询" }
                }
            }
        }
    }
}

fn availability_chart(figs: &[Figures]) -> Markup {
    let width = CHART_W - LABEL_W - 120;
    let h = ROW_H * ALL.len() as u32 + 10;
    html! {
        svg.chart width=(CHART_W) height=(h) viewBox={"0 0 " (CHART_W) " " (h)} role="img" aria-label="各部门可用率" {
            @for (i, d) in ALL.iter().enumerate() {
                @let y = i as u32 * ROW_H + 5;
                text x="0" y=(y + 18) { (name_zh(*d)) }
                @if let Some(a) = figs[i].availability() {
                    rect x=(LABEL_W) y=(y + 4) width=(width) height="18" class="bar-light" {}
                    rect x=(LABEL_W) y=(y + 4) width=((a * f64::from(width)) as u32) height="18" class=(if a >= 0.99 { "bar-ok" } else { "bar-warn" }) {}
                    text x=(LABEL_W + width + 6) y=(y + 18) { (share(&figs[i])) }
                } @else {
                    text x=(LABEL_W) y=(y + 18) class="muted" { "无查询" }
                }
            }
        }
    }
}

/// The quarterly department service report, as a page: the quarter of
/// `?quarter=2026Q4` (China Standard Time), the current one by default,
/// against the quarter before. It calls the hub's own
/// `AuditService/GetDepartmentReport` handler, so the page and `hedui report
/// departments` show the same figures; the handler admits admins only and
/// logs the call (a refusal is a 403 page, a bad quarter a 400 naming it).
pub async fn service_report(State(app): State<Arc<App>>, who: Who, uri: http::Uri) -> Response {
    use hedui_proto::v1::audit_service_server::AuditService as _;
    let q = Fields::query(&uri);
    let quarter = match q.get("quarter") {
        s if s.is_empty() => hedui_domain::quarter::Quarter::containing(chrono::Utc::now()).to_string(),
        s => s,
    };
    let report = match app
        .audit
        .get_department_report(who.req(hedui_proto::v1::GetDepartmentReportRequest { quarter }))
        .await
    {
        Ok(r) => r.into_inner(),
        Err(status) => return layout::status_page(&status),
    };
    let html = hedui_report::departments::render_html(&report, &app.settings.county);
    let mut res = axum::response::IntoResponse::into_response(axum::response::Html(html));
    res.headers_mut()
        .insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_never_rounded_up_to_a_whole() {
        let f = |queries, answered| Figures {
            queries,
            answered,
            latencies: Vec::new(),
        };
        assert_eq!(share(&f(3814, 3813)), "99.9%");
        assert_eq!(share(&f(3814, 3814)), "100.0%");
        assert_eq!(share(&f(3814, 1)), "0.1%");
        assert_eq!(share(&f(0, 0)), "—");
    }
}
