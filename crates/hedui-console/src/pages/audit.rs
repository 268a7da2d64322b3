//! The auditors' pages: 查询日志, 个人查询记录 with its printable
//! 告知书, the export bundle, and the age of the latest checkpoint.
//!
//! Each page calls the hub's own `AuditService` handler, which allows
//! auditors and admins and refuses (and logs) everybody else.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use hedui_proto::v1::audit_service_server::AuditService as _;
use hedui_proto::v1::{
    AuditEntryView, AuditFilter, ExportAuditRequest, GetCheckpointRequest, ListAuditEntriesRequest, WhoAccessedRequest,
};
use http::{HeaderValue, StatusCode, header};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use crate::form::{Errors, Fields};
use crate::layout::status_page;
use crate::state::{App, Who};
use crate::{layout, words};

/// Entries per page of the log.
const LOG_PAGE: u32 = 200;

/// One entry as the pages show it.
struct Row {
    seq: u64,
    time: String,
    actor: String,
    action: String,
    purpose: String,
    persons: String,
    departments: String,
    status: String,
    detail: String,
}

fn row(v: &AuditEntryView) -> Row {
    let e: Value = serde_json::from_str(&v.canonical_json).unwrap_or(Value::Null);
    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let list = |k: &str, inner: Option<&str>| {
        e.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| match inner {
                        Some(i) => x.get(i).and_then(Value::as_str),
                        None => x.as_str(),
                    })
                    .collect::<Vec<_>>()
                    .join("、")
            })
            .unwrap_or_default()
    };
    let purpose = s("purpose");
    Row {
        seq: v.seq,
        time: layout::local_time(&s("time")),
        actor: s("actor"),
        action: words::action(&s("action")),
        purpose: if purpose.is_empty() {
            String::new()
        } else {
            hedui_domain::purpose::parse_purpose_slug(&purpose)
                .map(hedui_domain::purpose::purpose_zh)
                .unwrap_or("")
                .to_owned()
        },
        persons: list("persons", Some("masked")),
        departments: e
            .get("departments")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|d| {
                        hedui_domain::department::parse_slug(d)
                            .map(|d| hedui_domain::department::name_zh(d).to_owned())
                            .unwrap_or_else(|_| d.to_owned())
                    })
                    .collect::<Vec<_>>()
                    .join("、")
            })
            .unwrap_or_default(),
        status: words::status(&s("status")).to_owned(),
        detail: s("detail"),
    }
}

fn table(rows: &[Row]) -> Markup {
    html! {
        @if rows.is_empty() { p.empty { "没有符合条件的日志。" } } @else {
            table.list.audit {
                thead { tr { th { "序号" } th { "时间" } th { "操作人" } th { "操作" } th { "用途" } th { "涉及人员" } th { "部门" } th { "结果" } th { "说明" } } }
                tbody { @for r in rows {
                    tr { td { (r.seq) } td { (r.time) } td { (r.actor) } td { (r.action) } td { (r.purpose) }
                         td { (r.persons) } td { (r.departments) } td { (r.status) } td.detail { (r.detail) } }
                } }
            }
        }
    }
}

fn filter_of(q: &Fields) -> AuditFilter {
    AuditFilter {
        from: q.get("from"),
        to: q.get("to"),
        actor: q.get("actor"),
        id_number: q.get("id_number"),
        department: q.get("department"),
        action: q.get("action"),
        after_seq: q.get("after").parse().unwrap_or(0),
        limit: LOG_PAGE,
    }
}

/// The age of the newest signed checkpoint, in words.
async fn checkpoint_age(app: &App, who: &Who) -> Result<String, tonic::Status> {
    let c = app
        .audit
        .get_checkpoint(who.req(GetCheckpointRequest { fresh: false }))
        .await?
        .into_inner();
    let v: Value = serde_json::from_str(&c.checkpoint_json).unwrap_or(Value::Null);
    let time = find_str(&v, "time");
    let size = find_u64(&v, "tree_size");
    Ok(match time.and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok()) {
        Some(t) => {
            let age = chrono::Utc::now().signed_duration_since(t).num_seconds().max(0);
            let words = if age < 120 {
                format!("{age} 秒前")
            } else if age < 7200 {
                format!("{} 分钟前", age / 60)
            } else {
                format!("{} 小时前", age / 3600)
            };
            format!(
                "最新检查点签于 {}（{}），覆盖前 {} 条日志。",
                layout::local_time(&t.to_rfc3339()),
                words,
                size.unwrap_or(0)
            )
        }
        None => "尚无签名检查点。".to_owned(),
    })
}

fn find_str(v: &Value, key: &str) -> Option<String> {
    match v {
        Value::Object(m) => m
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| m.values().find_map(|x| find_str(x, key))),
        _ => None,
    }
}

fn find_u64(v: &Value, key: &str) -> Option<u64> {
    match v {
        Value::Object(m) => m
            .get(key)
            .and_then(Value::as_u64)
            .or_else(|| m.values().find_map(|x| find_u64(x, key))),
        _ => None,
    }
}

/// 查询日志.
pub async fn log(State(app): State<Arc<App>>, who: Who, uri: http::Uri) -> Response {
    let q = Fields::query(&uri);
    let mut filter = filter_of(&q);
    let (entries, tree_size, errors) = match list(&app, &who, filter.clone()).await {
        Ok((e, n)) => (e, n, Errors::default()),
        Err(s) if s.code() == tonic::Code::InvalidArgument => (Vec::new(), 0, Errors::from_status(&s)),
        Err(s) => return status_page(&s),
    };
    // With no filter and no page asked, show the newest page.
    let unfiltered = q.pairs().iter().all(|(_, v)| v.trim().is_empty());
    let entries = if unfiltered && tree_size > u64::from(LOG_PAGE) {
        filter.after_seq = tree_size - u64::from(LOG_PAGE) - 1;
        match list(&app, &who, filter.clone()).await {
            Ok((e, _)) => e,
            Err(s) => return status_page(&s),
        }
    } else {
        entries
    };
    let age = match checkpoint_age(&app, &who).await {
        Ok(a) => a,
        Err(s) => return status_page(&s),
    };
    let rows: Vec<Row> = entries.iter().map(row).collect();
    let next = rows.last().map(|r| r.seq).filter(|_| rows.len() == LOG_PAGE as usize);
    let export_link = {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.pairs() {
            if k != "after" {
                s.append_pair(k, v);
            }
        }
        format!("/audit/export?{}", s.finish())
    };
    let next_link = next.map(|n| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.pairs() {
            if k != "after" {
                s.append_pair(k, v);
            }
        }
        s.append_pair("after", &n.to_string());
        format!("/audit?{}", s.finish())
    });
    let body = html! {
        h1 { "查询日志" }
        p.notice { (age) " 日志共 " (tree_size) " 条。" }
        form.filters method="get" action="/audit" {
            div.grid {
                div.field { label for="f-from" { "时间自" } input id="f-from" name="from" value=(q.get("from")) placeholder="2026-12-01 或 2026-12-01T08:00:00Z"; }
                div.field { label for="f-to" { "至" } input id="f-to" name="to" value=(q.get("to")) placeholder="2026-12-31"; }
                div.field { label for="f-actor" { "操作人" } input id="f-actor" name="actor" value=(q.get("actor")) placeholder="caseworker:zhang.san"; }
                div.field { label for="f-action" { "操作" } input id="f-action" name="action" value=(q.get("action")) placeholder="GetRecord"; }
                div.field { label for="f-dept" { "部门" } input id="f-dept" name="department" value=(q.get("department")) placeholder="tax"; }
                div.field { label for="f-id" { "涉及人员身份证号" } input id="f-id" name="id_number" value=(q.get("id_number")) maxlength="18"; }
            }
            button type="submit" { "查询" }
            " "
            a.button href=(export_link) { "导出（可由 hedui audit verify 验证）" }
        }
        @if !errors.is_empty() { section.errors-summary role="alert" { ul { @for m in errors.all() { li { (m) } } } } }
        (table(&rows))
        @if let Some(l) = next_link { p { a href=(l) { "下一页" } } }
    };
    layout::respond(StatusCode::OK, layout::page(Some(&who), "查询日志", "audit", body))
}

async fn list(app: &App, who: &Who, filter: AuditFilter) -> Result<(Vec<AuditEntryView>, u64), tonic::Status> {
    let r = app
        .audit
        .list_audit_entries(who.req(ListAuditEntriesRequest { filter: Some(filter) }))
        .await?
        .into_inner();
    Ok((r.entries, r.tree_size))
}

async fn who_accessed(app: &App, who: &Who, id: &str) -> Result<Vec<Row>, tonic::Status> {
    let r = app
        .audit
        .who_accessed(who.req(WhoAccessedRequest {
            id_number: id.to_owned(),
        }))
        .await?
        .into_inner();
    Ok(r.entries.iter().map(row).collect())
}

/// 个人查询记录: every access to one person's data.
pub async fn who(State(app): State<Arc<App>>, who: Who, uri: http::Uri) -> Response {
    let q = Fields::query(&uri);
    let id = q.get("id_number");
    let (rows, errors) = if id.is_empty() {
        // Opening the page is already an auditor's act: check the role
        // through the handler with an empty question.
        match app
            .audit
            .get_checkpoint(who.req(GetCheckpointRequest { fresh: false }))
            .await
        {
            Ok(_) => (None, Errors::default()),
            Err(s) => return status_page(&s),
        }
    } else {
        match who_accessed(&app, &who, &id).await {
            Ok(r) => (Some(r), Errors::default()),
            Err(s) if s.code() == tonic::Code::InvalidArgument => (None, Errors::from_status(&s)),
            Err(s) => return status_page(&s),
        }
    };
    let body = html! {
        h1 { "个人查询记录" }
        p.lead { "居民询问谁查询过本人信息时，输入其身份证号，列出对其信息的每一次查询和查看。" }
        form.filters method="get" action="/audit/who" {
            div.field { label for="f-id" { "身份证号" } input id="f-id" name="id_number" value=(id) maxlength="18";
                @for m in errors.all() { span.field-error role="alert" { (m) } } }
            button type="submit" { "查询" }
        }
        @if let Some(rows) = rows {
            p { "共 " (rows.len()) " 次。" a.button href={"/audit/notice?id_number=" (id)} target="_blank" { "打印个人信息查询记录告知书" } }
            (table(&rows))
        }
    };
    layout::respond(StatusCode::OK, layout::page(Some(&who), "个人查询记录", "who", body))
}

/// The printable 个人信息查询记录告知书 for a resident.
pub async fn notice(State(app): State<Arc<App>>, who: Who, uri: http::Uri) -> Response {
    let q = Fields::query(&uri);
    let id = q.get("id_number");
    let rows = match who_accessed(&app, &who, &id).await {
        Ok(r) => r,
        Err(s) => return status_page(&s),
    };
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset"))
        .format("%Y年%m月%d日")
        .to_string();
    let page: Markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head { meta charset="utf-8"; title { "个人信息查询记录告知书" } link rel="stylesheet" href="/static/console.css"; }
            body.print {
                h1 { "个人信息查询记录告知书" }
                p { "身份证号为 " (layout::masked(&id)) " 的居民：" }
                p { "根据《中华人民共和国个人信息保护法》，现将居民家庭经济状况核对平台记录的、涉及您个人信息的全部查询和查看告知如下，共 " (rows.len()) " 次。" }
                table.list {
                    thead { tr { th { "时间" } th { "操作人" } th { "操作" } th { "用途" } th { "部门" } th { "结果" } } }
                    tbody { @for r in &rows { tr { td { (r.time) } td { (r.actor) } td { (r.action) } td { (r.purpose) } td { (r.departments) } td { (r.status) } } } }
                }
                p { "以上记录取自防篡改的查询日志，可由审计机关独立验证。如对查询有异议，可向本局提出。" }
                p.sign { "出具人：" (who.name()) "　　日期：" (today) }
            }
        }
    };
    layout::respond(StatusCode::OK, page)
}

/// The export bundle, as `hedui audit export` writes it.
pub async fn export(State(app): State<Arc<App>>, who: Who, uri: http::Uri) -> Response {
    let q = Fields::query(&uri);
    let mut filter = filter_of(&q);
    filter.limit = 0;
    filter.after_seq = 0;
    match app
        .audit
        .export_audit(who.req(ExportAuditRequest { filter: Some(filter) }))
        .await
    {
        Ok(r) => {
            let r = r.into_inner();
            let mut res = Response::new(Body::from(r.bundle_json));
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            res.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"hedui-audit-export.json\""),
            );
            res
        }
        Err(s) => status_page(&s),
    }
}
