//! 核对记录: the list, one record, its report, review and re-check.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use hedui_i18n::Lang;
use hedui_proto::v1::verification_service_server::VerificationService as _;
use hedui_proto::v1::{
    Department, GetRecordHistoryRequest, GetRecordHistoryResponse, GetRecordRequest, ListRecordsRequest,
    RecheckRecordRequest, ReviewRecordRequest, SourceOutcome, VerificationRecord,
};
use http::{HeaderValue, StatusCode, header};
use maud::{Markup, html};

use crate::form::{Errors, Fields};
use crate::layout::status_page;
use crate::state::{App, Who};
use crate::{csrf, layout, words};

/// Rows per page of the list.
pub const PAGE_SIZE: u32 = 50;

/// The list, with its filters: verdict, purpose, dates, household number,
/// a member's ID number (an audited access, as in the hub's `ListRecords`)
/// and "latest only", all applied by the hub, a page at a time.
pub async fn list(State(app): State<Arc<App>>, who: Who, uri: http::Uri) -> Response {
    let q = Fields::query(&uri);
    let verdict = q.get("verdict").parse::<i32>().unwrap_or(0);
    let purpose = q.get("purpose").parse::<i32>().unwrap_or(0);
    let household = q.get("household");
    let latest = q.get("latest") != "0";
    let req = ListRecordsRequest {
        verdict,
        created_from: q.get("from"),
        created_to: q.get("to"),
        id_number: q.get("id_number"),
        limit: PAGE_SIZE,
        latest_only: latest,
        purpose,
        household_ref: household.clone(),
        page_token: q.get("page"),
    };
    let (rows, next, errors) = match app.verification.list_records(who.req(req)).await {
        Ok(r) => {
            let r = r.into_inner();
            (r.records, r.next_page_token, Errors::default())
        }
        Err(s) if s.code() == tonic::Code::InvalidArgument => (Vec::new(), String::new(), Errors::from_status(&s)),
        Err(s) => return status_page(&s),
    };
    let paged = !q.get("page").is_empty();
    let link = |token: Option<&str>| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.pairs() {
            if k != "page" {
                s.append_pair(k, v);
            }
        }
        if let Some(t) = token {
            s.append_pair("page", t);
        }
        format!("/records?{}", s.finish())
    };
    let body = html! {
        h1 { "核对记录" }
        form.filters method="get" action="/records" {
            div.grid {
                div.field { label for="f-verdict" { "核对结论" }
                    select id="f-verdict" name="verdict" {
                        option value="0" { "全部" }
                        @for (v, w) in words::verdicts() { option value=(v) selected[verdict == v] { (w) } }
                    } }
                div.field { label for="f-purpose" { "救助类型" }
                    select id="f-purpose" name="purpose" {
                        option value="0" { "全部" }
                        @for (v, w) in words::purposes() { option value=(v) selected[purpose == v] { (w) } }
                    } }
                div.field { label for="f-from" { "核对日期自" } input id="f-from" name="from" value=(q.get("from")) placeholder="YYYY-MM-DD"; }
                div.field { label for="f-to" { "至" } input id="f-to" name="to" value=(q.get("to")) placeholder="YYYY-MM-DD"; }
                div.field { label for="f-household" { "户编号" } input id="f-household" name="household" value=(household); }
                div.field { label for="f-id" { "成员身份证号" } input id="f-id" name="id_number" value=(q.get("id_number")) maxlength="18"; }
                div.field { label for="f-latest" { "版本" }
                    select id="f-latest" name="latest" {
                        option value="1" selected[latest] { "只看最新版本" }
                        option value="0" selected[!latest] { "全部版本" }
                    } }
            }
            p.hint { "按身份证号查询属于查询个人信息，将记入查询日志。" }
            button type="submit" { "查询" }
        }
        @if !errors.is_empty() {
            section.errors-summary role="alert" { ul { @for m in errors.all() { li { (m) } } } }
        }
        p.count { "本页 " (rows.len()) " 条" @if !next.is_empty() { "，还有更多" } }
        (summary_table(&rows))
        @if paged || !next.is_empty() {
            nav.pager aria-label="分页" {
                @if paged { a href=(link(None)) { "第一页" } }
                @if !next.is_empty() { a href=(link(Some(&next))) { "下一页" } }
            }
        }
    };
    layout::respond(StatusCode::OK, layout::page(Some(&who), "核对记录", "records", body))
}

/// A table of record summaries (also on the home page).
pub fn summary_table(rows: &[hedui_proto::v1::RecordSummary]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { "没有符合条件的记录。" }
        } @else {
            table.list {
                thead { tr { th { "核对时间" } th { "户编号" } th { "救助类型" } th { "人数" } th { "核对结论" } th { "版本" } } }
                tbody {
                    @for r in rows {
                        tr {
                            td { a href={"/records/" (r.record_id)} { (layout::local_time(&r.created_at)) } }
                            td { (r.household_ref) }
                            td { (words::purpose(r.purpose)) }
                            td { (r.member_count) }
                            td { span class={"badge " (words::verdict_class(r.verdict))} { (words::verdict(r.verdict)) } }
                            td {
                                "第 " (r.version) " 版" @if !r.superseded_by.is_empty() { "（已被新版本替代）" }
                                @if !r.erased_at.is_empty() { "（已超过保存期限，内容已于 " (erased_day(&r.erased_at)) " 删除）" }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn fetch(app: &App, who: &Who, id: &str) -> Result<VerificationRecord, Response> {
    match app
        .verification
        .get_record(who.req(GetRecordRequest {
            record_id: id.to_owned(),
        }))
        .await
    {
        Ok(r) => r
            .into_inner()
            .record
            .ok_or_else(|| layout::error_page(StatusCode::NOT_FOUND, "未找到", "没有这条核对记录。")),
        Err(s) if hedui_proto::status::retention_expired(&s).is_some() => {
            let at = hedui_proto::status::retention_expired(&s).unwrap_or_default();
            Err(layout::error_page(
                StatusCode::GONE,
                "记录已超过保存期限",
                &format!(
                    "这条核对记录已于 {} 按保存期限删除：记录内容和加密密钥已销毁，无法再查看。记录编号、核对日期、结论和摘要仍保留在核对记录列表中，查询日志不受影响。",
                    erased_day(&at)
                ),
            ))
        }
        Err(s) if s.code() == tonic::Code::InvalidArgument => Err(layout::error_page(
            StatusCode::NOT_FOUND,
            "未找到",
            "记录编号格式不对，没有这条核对记录。",
        )),
        Err(s) => Err(status_page(&s)),
    }
}

/// The day (YYYY-MM-DD, UTC) of an RFC 3339 time.
fn erased_day(at: &str) -> &str {
    at.get(..10).unwrap_or(at)
}

async fn history(app: &App, who: &Who, id: &str) -> Result<GetRecordHistoryResponse, Response> {
    app.verification
        .get_record_history(who.req(GetRecordHistoryRequest {
            record_id: id.to_owned(),
        }))
        .await
        .map(|r| r.into_inner())
        .map_err(|s| status_page(&s))
}

/// One record: verdict and reasons, each department, members, summary,
/// flags, digest; its versions with a diff, its reviews, and the actions.
pub async fn detail(State(app): State<Arc<App>>, who: Who, Path(id): Path<String>, uri: http::Uri) -> Response {
    let record = match fetch(&app, &who, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let hist = match history(&app, &who, &id).await {
        Ok(h) => h,
        Err(page) => return page,
    };
    let q = Fields::query(&uri);
    let diff = match (q.get("a"), q.get("b")) {
        (a, b) if !a.is_empty() && !b.is_empty() => {
            let (ra, rb) = match (fetch(&app, &who, &a).await, fetch(&app, &who, &b).await) {
                (Ok(x), Ok(y)) => (x, y),
                (Err(p), _) | (_, Err(p)) => return p,
            };
            Some((ra.version, rb.version, hedui_domain::recheck::changes(&ra, &rb)))
        }
        _ => None,
    };
    let latest = hist
        .versions
        .iter()
        .all(|v| v.record_id != id || v.superseded_by.is_empty());
    let body = render_detail(&who, &record, &hist, diff, latest, &Errors::default(), None);
    layout::respond(StatusCode::OK, body)
}

type Diff = Option<(u32, u32, Vec<hedui_proto::v1::RecordChange>)>;

fn render_detail(
    who: &Who,
    r: &VerificationRecord,
    hist: &GetRecordHistoryResponse,
    diff: Diff,
    latest: bool,
    errors: &Errors,
    note: Option<&str>,
) -> Markup {
    let household = r.household.clone().unwrap_or_default();
    let s = r.summary.clone().unwrap_or_default();
    let unanswered: Vec<i32> = r
        .sources
        .iter()
        .filter(|x| x.outcome != SourceOutcome::Ok as i32 && x.outcome != SourceOutcome::NoRecord as i32)
        .map(|x| x.department)
        .collect();
    let caseworker = who.is(hedui_tls::Role::Caseworker);
    let body = html! {
        h1 { "核对记录 · " (household.household_ref) }
        @if let Some(n) = note { p.notice role="status" { (n) } }
        @if !errors.is_empty() {
            section.errors-summary role="alert" { ul { @for m in errors.all() { li { (m) } } } }
        }
        section.verdict {
            span class={"badge big " (words::verdict_class(r.verdict))} { (words::verdict(r.verdict)) }
            span { (words::purpose(r.purpose)) " · 第 " (r.version) " 版 · " (layout::local_time(&r.created_at)) }
            @if !latest { p.notice { "此版本已被重新核对的新版本替代，请查看最新版本。" } }
            h2 { "结论依据" }
            ul { @for reason in &r.reasons { li { (hedui_i18n::reason(Lang::Zh, reason)) } } }
        }
        p.actions {
            a.button href={"/records/" (r.record_id) "/report"} target="_blank" { "打印核对报告" }
            a.button href={"/records/" (r.record_id) "/report.pdf"} { "下载 PDF" }
        }
        h2 { "各部门核对情况" }
        table.list {
            thead { tr { th { "部门" } th { "结果" } th { "用时" } th { "数据截至" } th { "说明" } } }
            tbody { @for x in &r.sources {
                tr {
                    td { (hedui_i18n::department(Lang::Zh, x.department)) }
                    td { (hedui_i18n::outcome(Lang::Zh, x.outcome)) }
                    td { (x.latency_ms) " 毫秒" }
                    td { (x.data_as_of) }
                    td { (hedui_i18n::source_note(Lang::Zh, x)) }
                }
            } }
        }
        h2 { "家庭成员" }
        table.list {
            thead { tr { th { "序号" } th { "姓名" } th { "身份证号" } th { "与申请人关系" } th { "有记录的部门" } } }
            tbody { @for (i, m) in r.members.iter().enumerate() {
                @let member = m.member.clone().unwrap_or_default();
                tr {
                    td { (i + 1) }
                    td { (member.name) }
                    td { (layout::masked(&member.id_number)) }
                    td { (hedui_domain::purpose::relation_zh(hedui_proto::v1::Relation::try_from(member.relation).unwrap_or_default())) }
                    td { @for d in &m.result_departments { (hedui_i18n::department(Lang::Zh, *d)) " " } }
                }
            } }
        }
        p.hint { "各成员的收入、资产明细见核对报告。" }
        h2 { "家庭汇总" }
        table.kv {
            tr { th { "家庭人数" } td { (s.member_count) } }
            tr { th { "收入区间月数" } td { (s.window_months) } }
            tr { th { "区间内家庭收入" } td { (yuan(s.window_income_fen)) } }
            tr { th { "人均月收入" } td { (yuan(s.monthly_income_per_capita_fen)) } }
            tr { th { "金融资产" } td { (yuan(s.financial_assets_fen)) } }
            tr { th { "人均金融资产" } td { (yuan(s.financial_assets_per_capita_fen)) } }
            tr { th { "住房套数" } td { (s.residential_properties) } }
        }
        @if !r.flags.is_empty() {
            h2 { "需要注意" }
            ul { @for f in &r.flags { li { (hedui_i18n::flag(Lang::Zh, f.kind)) "：" (hedui_i18n::flag_detail(Lang::Zh, f)) } } }
        }
        h2 { "版本" }
        form.diff method="get" action={"/records/" (r.record_id)} {
            table.list {
                thead { tr { th { "版本" } th { "核对时间" } th { "结论" } th { "比较" } } }
                tbody { @for v in &hist.versions {
                    tr {
                        td { a href={"/records/" (v.record_id)} { "第 " (v.version) " 版" } }
                        td { (layout::local_time(&v.created_at)) }
                        td { (words::verdict(v.verdict)) }
                        td {
                            label { input type="radio" name="a" value=(v.record_id); " 旧" }
                            " "
                            label { input type="radio" name="b" value=(v.record_id); " 新" }
                        }
                    }
                } }
            }
            @if hist.versions.len() > 1 { button type="submit" { "比较所选两个版本" } }
        }
        @if let Some((va, vb, changes)) = diff {
            h3 { "第 " (va) " 版与第 " (vb) " 版的差异" }
            @if changes.is_empty() { p { "两个版本内容相同。" } } @else {
                table.list {
                    thead { tr { th { "项目" } th { "原来" } th { "现在" } } }
                    tbody { @for c in &changes { tr { td { (words::change_what(&c.what)) } td { (c.before) } td { (c.after) } } } }
                }
            }
        }
        h2 { "复核记录" }
        @if hist.reviews.is_empty() { p.empty { "尚无复核。" } } @else {
            table.list {
                thead { tr { th { "时间" } th { "复核人" } th { "结果" } th { "备注" } } }
                tbody { @for v in &hist.reviews {
                    tr { td { (layout::local_time(&v.created_at)) } td { (v.reviewer) } td { (words::review_outcome(v.outcome)) } td { (v.note) } }
                } }
            }
        }
        @if caseworker && latest {
            section.forms {
                form.review method="post" action={"/records/" (r.record_id) "/review"} {
                    h2 { "复核" }
                    (layout::csrf_field(who))
                    div.field { label for="f-outcome" { "复核结果" }
                        select id="f-outcome" name="outcome" {
                            option value="" { "请选择" }
                            @for (v, w) in words::review_outcomes() { option value=(v) { (w) } }
                        }
                        @for m in errors.for_field("outcome") { span.field-error role="alert" { (m) } }
                    }
                    div.field { label for="f-note" { "备注（更正、异议时必填，最多 2000 字）" }
                        textarea id="f-note" name="note" rows="3" maxlength="2000" {}
                        @for m in errors.for_field("note") { span.field-error role="alert" { (m) } }
                    }
                    button type="submit" { "保存复核" }
                }
                form.recheck method="post" action={"/records/" (r.record_id) "/recheck"} {
                    h2 { "重新核对" }
                    (layout::csrf_field(who))
                    input type="hidden" name="idempotency_key" value=(uuid::Uuid::new_v4().to_string());
                    p.hint { "勾选要重新查询的部门（默认勾选未答复的部门）。其余部门沿用本版本的结果。" }
                    div.checks {
                        @for d in &r.sources {
                            label { input type="checkbox" name="department" value=(d.department) checked[unanswered.contains(&d.department)]; " " (hedui_i18n::department(Lang::Zh, d.department)) }
                        }
                    }
                    @for m in errors.for_field("departments") { span.field-error role="alert" { (m) } }
                    button type="submit" { "重新核对" }
                }
            }
        }
        p.digest { "完整性摘要（SHA-256）：" code { (r.digest) } }
    };
    layout::page(
        Some(who),
        &format!("核对记录 {}", household.household_ref),
        "records",
        body,
    )
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.unsigned_abs();
    format!("{sign}{}.{:02} 元", f / 100, f % 100)
}

/// The 核对报告, as the command line prints it: an A4 page for the
/// browser's print dialog.
pub async fn report(State(app): State<Arc<App>>, who: Who, Path(id): Path<String>) -> Response {
    let record = match fetch(&app, &who, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let hist = match history(&app, &who, &id).await {
        Ok(h) => h,
        Err(page) => return page,
    };
    let printed_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let successor = successor(&hist, &id);
    let ctx = report_context(&app, &printed_at, successor.as_deref());
    let html = hedui_report::render_html_with_reviews(&record, &ctx, &reviews_of(&hist, &id));
    let mut res = Response::new(Body::from(html));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

fn successor(hist: &GetRecordHistoryResponse, id: &str) -> Option<String> {
    hist.versions
        .iter()
        .find(|v| v.record_id == id)
        .map(|v| v.superseded_by.clone())
        .filter(|s| !s.is_empty())
}

fn reviews_of(hist: &GetRecordHistoryResponse, id: &str) -> Vec<hedui_proto::v1::Review> {
    hist.reviews.iter().filter(|r| r.record_id == id).cloned().collect()
}

fn report_context<'a>(
    app: &'a App,
    printed_at: &'a str,
    superseded_by: Option<&'a str>,
) -> hedui_report::ReportContext<'a> {
    hedui_report::ReportContext {
        bureau: &app.settings.bureau,
        county: &app.settings.county,
        policy: Some(&app.state.policy),
        printed_at,
        superseded_by,
    }
}

/// The report as a PDF, made in-process.
pub async fn report_pdf(State(app): State<Arc<App>>, who: Who, Path(id): Path<String>) -> Response {
    let record = match fetch(&app, &who, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let hist = match history(&app, &who, &id).await {
        Ok(h) => h,
        Err(page) => return page,
    };
    pdf(&app, &record, &hist, &id).await
}

#[cfg(feature = "pdf")]
async fn pdf(app: &Arc<App>, record: &VerificationRecord, hist: &GetRecordHistoryResponse, id: &str) -> Response {
    let font = app
        .font
        .get_or_init(|| crate::state::load_font(app.settings.font.as_deref()));
    let Ok(_) = font else {
        return layout::error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "无法生成 PDF",
            "服务器上没有中文字体。请管理员安装 fonts-noto-cjk，或在配置中指定字体文件；也可以用“打印核对报告”在浏览器中另存为 PDF。",
        );
    };
    let printed_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let successor = successor(hist, id);
    let reviews = reviews_of(hist, id);
    let app2 = app.clone();
    let record = record.clone();
    // Laying out and subsetting a font is CPU work: off the async threads.
    let made = tokio::task::spawn_blocking(move || {
        let ctx = report_context(&app2, &printed_at, successor.as_deref());
        let Some(Ok(font)) = app2.font.get() else {
            unreachable!("loaded above")
        };
        hedui_report::render_pdf(&record, &ctx, Some(&reviews), font)
    })
    .await;
    match made {
        Ok(Ok(bytes)) => {
            let mut res = Response::new(Body::from(bytes));
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
            let name = format!("attachment; filename=\"report-{id}.pdf\"");
            if let Ok(v) = HeaderValue::from_str(&name) {
                res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        _ => layout::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "无法生成 PDF",
            "生成 PDF 时出错，请改用“打印核对报告”。",
        ),
    }
}

#[cfg(not(feature = "pdf"))]
async fn pdf(_: &Arc<App>, _: &VerificationRecord, _: &GetRecordHistoryResponse, _: &str) -> Response {
    layout::error_page(
        StatusCode::NOT_IMPLEMENTED,
        "无法生成 PDF",
        "此版本的平台未包含 PDF 功能；请用“打印核对报告”在浏览器中另存为 PDF。",
    )
}

/// 复核: the hub's `ReviewRecord`.
pub async fn review(State(app): State<Arc<App>>, who: Who, Path(id): Path<String>, body: Bytes) -> Response {
    let f = Fields::parse(&body);
    if let Err(page) = check_token(&app, &who, &f).await {
        return page;
    }
    let outcome = f.get("outcome").parse::<i32>().unwrap_or(0);
    let req = ReviewRecordRequest {
        record_id: id.clone(),
        outcome,
        note: f.get("note"),
    };
    match app.verification.review_record(who.req(req)).await {
        Ok(_) => Redirect::to(&format!("/records/{id}")).into_response(),
        Err(s) if s.code() == tonic::Code::InvalidArgument => rerender(&app, &who, &id, Errors::from_status(&s)).await,
        Err(s) => status_page(&s),
    }
}

/// 重新核对: the hub's `RecheckRecord`, for the departments ticked.
pub async fn recheck(State(app): State<Arc<App>>, who: Who, Path(id): Path<String>, body: Bytes) -> Response {
    let f = Fields::parse(&body);
    if let Err(page) = check_token(&app, &who, &f).await {
        return page;
    }
    let mut errors = Errors::default();
    let mut departments = Vec::new();
    for d in f.all("department") {
        match d.parse::<i32>().ok().filter(|v| Department::try_from(*v).is_ok()) {
            Some(v) => departments.push(v),
            None => errors.field("departments", "重新核对的部门：不认识的部门"),
        }
    }
    if departments.is_empty() && errors.is_empty() {
        errors.field("departments", "重新核对的部门：请至少勾选一个部门");
    }
    if !errors.is_empty() {
        return rerender(&app, &who, &id, errors).await;
    }
    let req = RecheckRecordRequest {
        record_id: id.clone(),
        departments,
        idempotency_key: f.get("idempotency_key"),
    };
    match app.verification.recheck_record(who.req(req)).await {
        Ok(r) => match r.into_inner().record {
            Some(rec) => Redirect::to(&format!("/records/{}", rec.record_id)).into_response(),
            None => Redirect::to(&format!("/records/{id}")).into_response(),
        },
        Err(s) if matches!(s.code(), tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition) => {
            rerender(&app, &who, &id, Errors::from_status(&s)).await
        }
        Err(s) => status_page(&s),
    }
}

async fn check_token(app: &App, who: &Who, f: &Fields) -> Result<(), Response> {
    if app.csrf.check(&who.peer, &f.get(csrf::FIELD)) {
        return Ok(());
    }
    app.log_refusal(who, "form without a valid token").await;
    Err(layout::error_page(
        StatusCode::FORBIDDEN,
        "请求被拒绝",
        "表单缺少有效的安全令牌（可能来自其他网站，或平台已重启）。请重新打开页面再提交。",
    ))
}

async fn rerender(app: &App, who: &Who, id: &str, errors: Errors) -> Response {
    let record = match fetch(app, who, id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let hist = match history(app, who, id).await {
        Ok(h) => h,
        Err(page) => return page,
    };
    let latest = hist
        .versions
        .iter()
        .all(|v| v.record_id != id || v.superseded_by.is_empty());
    layout::respond(
        StatusCode::BAD_REQUEST,
        render_detail(who, &record, &hist, None, latest, &errors, None),
    )
}
