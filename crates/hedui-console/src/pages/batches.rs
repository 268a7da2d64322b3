//! 批量核对: upload a roster, watch it run, cancel it, download results.
//!
//! The roster is read on the hub by the same reader as `hedui batch
//! submit` (hedui-roster: encodings, Excel dates, whole households), every
//! row error is shown before anything starts, and the households go to the
//! hub's own `CreateBatch` / `AddBatchHouseholds` / `StartBatch` handlers.

use std::io::Write as _;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use hedui_proto::v1::batch_service_server::BatchService as _;
use hedui_proto::v1::{
    AddBatchHouseholdsRequest, Batch, BatchHousehold, BatchState, CancelBatchRequest, CreateBatchRequest,
    GetBatchRequest, IncomeWindow, ListBatchesRequest, StartBatchRequest, StreamBatchResultsRequest,
};
use hedui_roster::RosterReader;
use hedui_roster::check::Check;
use hedui_roster::results::ResultRow;
use http::{HeaderValue, StatusCode, header};
use maud::{Markup, html};
use prost::Message as _;
use tokio_stream::StreamExt as _;

use crate::form::{Errors, Fields};
use crate::layout::status_page;
use crate::state::{App, Who};
use crate::{csrf, layout, words};

/// Households per `AddBatchHouseholds` call, as the command line sends.
const CHUNK_ITEMS: usize = 500;
/// Bytes per `AddBatchHouseholds` call, under the hub's limit.
const CHUNK_BYTES: usize = 3 * 1024 * 1024;

/// A table of batches with their progress.
pub fn batch_table(rows: &[Batch]) -> Markup {
    html! {
        @if rows.is_empty() { p.empty { "没有批次。" } } @else {
            table.list {
                thead { tr { th { "批次" } th { "救助类型" } th { "状态" } th { "进度" } th { "创建人" } th { "创建时间" } } }
                tbody { @for b in rows {
                    tr {
                        td { a href={"/batches/" (b.batch_id)} { @if b.label.is_empty() { (short(&b.batch_id)) } @else { (b.label) } } }
                        td { (words::purpose(b.purpose)) }
                        td { (words::batch_state(b.state)) }
                        td { (b.done) " / " (b.total) }
                        td { (b.created_by) }
                        td { (layout::local_time(&b.created_at)) }
                    }
                } }
            }
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The list and the upload form.
pub async fn list(State(app): State<Arc<App>>, who: Who) -> Response {
    render_list(&app, &who, &Fields::default(), &Errors::default(), &[], StatusCode::OK).await
}

async fn render_list(app: &App, who: &Who, f: &Fields, errors: &Errors, rows: &[String], code: StatusCode) -> Response {
    let batches = match app
        .batches
        .list_batches(who.req(ListBatchesRequest { limit: 100 }))
        .await
    {
        Ok(r) => r.into_inner().batches,
        Err(s) => return status_page(&s),
    };
    let today = chrono::Utc::now().date_naive();
    let body = html! {
        h1 { "批量核对" }
        @if who.is(hedui_tls::Role::Caseworker) {
            section.panel {
                h2 { "上传花名册" }
                p.hint { "支持 Excel（.xlsx、.xls、.xlsb）、.ods 和 CSV（UTF-8 或 Excel 中文版默认的 GBK）。同一户的成员可以在任意行，按户编号合并。文件最大 100 MiB。" }
                @if !errors.is_empty() || !rows.is_empty() {
                    section.errors-summary role="alert" {
                        h3 { "花名册有问题，未开始核对" }
                        ul { @for m in errors.all() { li { (m) } } }
                        @if !rows.is_empty() { ul.rows { @for l in rows { li { (l) } } } }
                    }
                }
                form method="post" action="/batches" enctype="multipart/form-data" {
                    (layout::csrf_field(who))
                    div.grid {
                        div.field { label for="f-roster" { "花名册文件" } input id="f-roster" type="file" name="roster" accept=".xlsx,.xls,.xlsb,.ods,.csv,.txt"; }
                        div.field { label for="f-purpose" { "救助类型" }
                            select id="f-purpose" name="purpose" {
                                option value="" { "请选择" }
                                @for (v, w) in words::purposes() { option value=(v) selected[f.get("purpose") == v.to_string()] { (w) } }
                            }
                            @for m in errors.for_field("purpose") { span.field-error role="alert" { (m) } }
                        }
                        div.field { label for="f-from" { "收入区间起（年-月）" } input id="f-from" name="window_from" value=(or(f.get("window_from"), default_from(today))) placeholder="YYYY-MM"; }
                        div.field { label for="f-to" { "收入区间止（年-月）" } input id="f-to" name="window_to" value=(or(f.get("window_to"), default_to(today))) placeholder="YYYY-MM"; }
                        div.field { label for="f-asset" { "资产基准日" } input id="f-asset" name="asset_date" value=(or(f.get("asset_date"), today.to_string())) placeholder="YYYY-MM-DD"; }
                        div.field { label for="f-label" { "批次名称（可选）" } input id="f-label" name="label" value=(f.get("label")) maxlength="100"; }
                        div.field { label { input type="checkbox" name="skip_invalid" value="1" checked[f.get("skip_invalid") == "1"]; " 跳过有问题的户（整户跳过，只核对其余各户）" } }
                    }
                    button type="submit" class="primary" { "检查并开始核对" }
                }
            }
        }
        h2 { "批次" }
        (batch_table(&batches))
    };
    layout::respond(code, layout::page(Some(who), "批量核对", "batches", body))
}

fn or(v: String, d: String) -> String {
    if v.is_empty() { d } else { v }
}

fn month_index(d: chrono::NaiveDate) -> i32 {
    use chrono::Datelike as _;
    d.year() * 12 + d.month() as i32 - 1
}

fn ym(n: i32) -> String {
    format!("{:04}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1)
}

fn default_from(today: chrono::NaiveDate) -> String {
    ym(month_index(today) - 12)
}

fn default_to(today: chrono::NaiveDate) -> String {
    ym(month_index(today) - 1)
}

/// The upload: read, check every row, and only then create, fill and
/// start the batch; a failure on the way cancels the draft.
pub async fn upload(State(app): State<Arc<App>>, who: Who, mut parts: Multipart) -> Response {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut file: Option<(String, tempfile::NamedTempFile)> = None;
    let mut errors = Errors::default();
    loop {
        let field = match parts.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let too_big = e.status() == StatusCode::PAYLOAD_TOO_LARGE;
                return layout::error_page(
                    if too_big {
                        StatusCode::PAYLOAD_TOO_LARGE
                    } else {
                        StatusCode::BAD_REQUEST
                    },
                    "上传失败",
                    if too_big {
                        "花名册文件超过 100 MiB 上限，请拆分后分批上传。"
                    } else {
                        "上传的内容不完整或格式不对，请重新选择文件上传。"
                    },
                );
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "roster" {
            let original = field.file_name().unwrap_or("").to_owned();
            let data = match field.bytes().await {
                Ok(d) => d,
                Err(_) => {
                    return layout::error_page(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "上传失败",
                        "花名册文件超过 100 MiB 上限，或上传中断。",
                    );
                }
            };
            if original.is_empty() || data.is_empty() {
                continue;
            }
            match spool(&original, &data) {
                Ok(tmp) => file = Some((original, tmp)),
                Err(_) => {
                    return layout::error_page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "上传失败",
                        "服务器无法暂存上传的文件，请联系管理员。",
                    );
                }
            }
        } else {
            let value = field.text().await.unwrap_or_default();
            pairs.push((name, value));
        }
    }
    let f = Fields::from_pairs(pairs);
    if !app.csrf.check(&who.peer, &f.get(csrf::FIELD)) {
        app.log_refusal(&who, "upload without a valid token").await;
        return layout::error_page(
            StatusCode::FORBIDDEN,
            "请求被拒绝",
            "表单缺少有效的安全令牌。请重新打开“批量核对”页面再上传。",
        );
    }
    let purpose = f.get("purpose").parse::<i32>().unwrap_or(0);
    if purpose <= 0 {
        errors.field("purpose", "救助类型：请选择");
    }
    let Some((original, tmp)) = file else {
        errors.general.push("花名册文件：请选择要上传的文件".to_owned());
        return render_list(&app, &who, &f, &errors, &[], StatusCode::BAD_REQUEST).await;
    };
    if !errors.is_empty() {
        return render_list(&app, &who, &f, &errors, &[], StatusCode::BAD_REQUEST).await;
    }
    let today = chrono::Utc::now().date_naive();
    let purpose_enum = hedui_proto::v1::Purpose::try_from(purpose).unwrap_or_default();
    // Reading a workbook is CPU and file work: off the async threads.
    let path = tmp.path().to_owned();
    let read = tokio::task::spawn_blocking(move || -> Result<Read, String> {
        let mut reader = RosterReader::open(&path, today)
            .map_err(|e| e.to_string())?
            .with_purpose(purpose_enum);
        let mut check = Check::new(&reader);
        let mut items = Vec::new();
        for h in reader.by_ref() {
            check.add(&h);
            if let Ok(h) = h {
                items.push(BatchHousehold {
                    row: u32::try_from(h.first_row).unwrap_or(u32::MAX),
                    authorization_ref: h.authorization.form_number.clone(),
                    household: Some(h.household),
                    authorization: Some(h.authorization),
                });
            }
        }
        Ok((
            check.summary(),
            check.details_in(hedui_i18n::Lang::Zh),
            check.valid(),
            check.invalid(),
            items,
        ))
    })
    .await;
    drop(tmp);
    let (summary, details, valid, invalid, items) = match read {
        Ok(Ok(x)) => x,
        Ok(Err(message)) => {
            errors.general.push(format!("{original}：{message}"));
            return render_list(&app, &who, &f, &errors, &[], StatusCode::BAD_REQUEST).await;
        }
        Err(_) => {
            errors.general.push(format!(
                "{original}：无法读取此文件（文件内容有误）。请另存为 .xlsx 后重新上传。"
            ));
            return render_list(&app, &who, &f, &errors, &[], StatusCode::BAD_REQUEST).await;
        }
    };
    let skip = f.get("skip_invalid") == "1";
    if invalid > 0 && !skip || valid == 0 {
        errors.general.push(format!("{original}：{summary}"));
        if valid == 0 {
            errors.general.push("没有可以核对的户。".to_owned());
        } else {
            errors
                .general
                .push("请修改后重新上传，或勾选“跳过有问题的户”只核对其余各户。".to_owned());
        }
        return render_list(&app, &who, &f, &errors, &details, StatusCode::BAD_REQUEST).await;
    }
    match start(&app, &who, &f, purpose, items).await {
        Ok(id) => Redirect::to(&format!("/batches/{id}")).into_response(),
        Err(Ok(errs)) => render_list(&app, &who, &f, &errs, &details, StatusCode::BAD_REQUEST).await,
        Err(Err(page)) => page,
    }
}

fn spool(original: &str, data: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    // The reader picks the format from the extension, as the CLI does.
    let ext = std::path::Path::new(original)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut tmp = tempfile::Builder::new()
        .prefix("hedui-roster-")
        .suffix(&format!(".{ext}"))
        .tempfile()?;
    tmp.write_all(data)?;
    tmp.flush()?;
    Ok(tmp)
}

type StartError = Result<Errors, Response>;

/// What reading a roster gave: the summary line, the row errors, the
/// valid and invalid household counts, and the valid households.
type Read = (String, Vec<String>, usize, usize, Vec<BatchHousehold>);

async fn start(
    app: &App,
    who: &Who,
    f: &Fields,
    purpose: i32,
    items: Vec<BatchHousehold>,
) -> Result<String, StartError> {
    let create = CreateBatchRequest {
        purpose,
        income_window: Some(IncomeWindow {
            from_month: f.get("window_from"),
            to_month: f.get("window_to"),
        }),
        asset_reference_date: f.get("asset_date"),
        label: f.get("label"),
    };
    let batch = match app.batches.create_batch(who.req(create)).await {
        Ok(r) => r.into_inner().batch.unwrap_or_default(),
        Err(s) if s.code() == tonic::Code::InvalidArgument => return Err(Ok(Errors::from_status(&s))),
        Err(s) => return Err(Err(status_page(&s))),
    };
    let id = batch.batch_id;
    let mut chunk = Vec::new();
    let mut bytes = 0;
    let mut chunks = Vec::new();
    for item in items {
        let len = item.encoded_len() + 8;
        if !chunk.is_empty() && (chunk.len() == CHUNK_ITEMS || bytes + len > CHUNK_BYTES) {
            chunks.push(std::mem::take(&mut chunk));
            bytes = 0;
        }
        bytes += len;
        chunk.push(item);
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    for items in chunks {
        let rows: Vec<u32> = items.iter().map(|i| i.row).collect();
        let add = AddBatchHouseholdsRequest {
            batch_id: id.clone(),
            items,
        };
        if let Err(s) = app.batches.add_batch_households(who.req(add)).await {
            let _ = app
                .batches
                .cancel_batch(who.req(CancelBatchRequest { batch_id: id.clone() }))
                .await;
            let mut e = Errors::from_status(&s);
            // Name the roster row of each refused household.
            for (path, msg) in &mut e.fields {
                let row = path
                    .strip_prefix("items[")
                    .and_then(|r| r.split_once(']'))
                    .and_then(|(i, _)| i.parse::<usize>().ok())
                    .and_then(|i| rows.get(i));
                if let Some(r) = row {
                    *msg = format!("第 {r} 行：{msg}");
                }
            }
            e.general
                .push("平台拒绝了花名册中的部分户，批次已取消，未开始核对。".to_owned());
            return Err(Ok(e));
        }
    }
    match app
        .batches
        .start_batch(who.req(StartBatchRequest { batch_id: id.clone() }))
        .await
    {
        Ok(_) => Ok(id),
        Err(s) => Err(Err(status_page(&s))),
    }
}

async fn get(app: &App, who: &Who, id: &str) -> Result<Batch, Response> {
    match app
        .batches
        .get_batch(who.req(GetBatchRequest {
            batch_id: id.to_owned(),
        }))
        .await
    {
        Ok(r) => Ok(r.into_inner().batch.unwrap_or_default()),
        Err(s) if s.code() == tonic::Code::InvalidArgument => Err(layout::error_page(
            StatusCode::NOT_FOUND,
            "未找到",
            "批次编号格式不对，没有这个批次。",
        )),
        Err(s) => Err(status_page(&s)),
    }
}

fn time_left(b: &Batch) -> String {
    let left = b.total.saturating_sub(b.done);
    if left == 0 {
        return "—".into();
    }
    if b.rate_per_s <= 0.0 {
        return "正在估算".into();
    }
    let secs = (f64::from(left) / b.rate_per_s).ceil().max(1.0) as u64;
    if secs >= 3600 {
        format!("约 {} 小时 {} 分", secs / 3600, secs / 60 % 60)
    } else if secs >= 60 {
        format!("约 {} 分 {} 秒", secs / 60, secs % 60)
    } else {
        format!("约 {secs} 秒")
    }
}

fn percent(b: &Batch) -> u32 {
    (b.done * 100).checked_div(b.total).unwrap_or(0)
}

/// One batch: live progress, cancel, downloads.
pub async fn detail(State(app): State<Arc<App>>, who: Who, Path(id): Path<String>) -> Response {
    let b = match get(&app, &who, &id).await {
        Ok(b) => b,
        Err(p) => return p,
    };
    let running = b.state == BatchState::Running as i32 || b.state == BatchState::Draft as i32;
    let body = html! {
        h1 { "批量核对 · " @if b.label.is_empty() { (short(&b.batch_id)) } @else { (b.label) } }
        section.panel id="progress" data-batch=(b.batch_id) data-running=(if running { "1" } else { "0" }) {
            div.progress role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=(percent(&b)) {
                div.bar style={"width:" (percent(&b)) "%"} {}
            }
            p {
                span id="p-state" { (words::batch_state(b.state)) } " · 已完成 "
                span id="p-done" { (b.done) } " / " span id="p-total" { (b.total) } " 户（"
                span id="p-percent" { (percent(&b)) } "%） · 速度 "
                span id="p-rate" { (format!("{:.1}", b.rate_per_s)) } " 户/秒 · 剩余时间 "
                span id="p-left" { (time_left(&b)) }
            }
        }
        table.kv {
            tr { th { "救助类型" } td { (words::purpose(b.purpose)) } }
            tr { th { "收入区间" } td { @if let Some(w) = &b.income_window { (w.from_month) " 至 " (w.to_month) } } }
            tr { th { "符合条件" } td { (b.meets_criteria) } }
            tr { th { "不符合条件" } td { (b.does_not_meet) } }
            tr { th { "需人工复核" } td { (b.needs_review) } }
            tr { th { "核对不完整" } td { (b.incomplete) } }
            tr { th { "需入户调查（有提示）" } td { (b.flagged) } }
            tr { th { "创建人" } td { (b.created_by) } }
        }
        p.actions {
            a.button href={"/batches/" (b.batch_id) "/results?format=xlsx"} { "下载结果（Excel）" }
            " "
            a.button href={"/batches/" (b.batch_id) "/results?format=csv"} { "下载结果（CSV）" }
        }
        // A batch is its creator's to cancel, or an admin's (the hub
        // refuses anyone else); others are not offered the button.
        @if running && (who.is(hedui_tls::Role::Admin) || (who.is(hedui_tls::Role::Caseworker) && who.caller.actor() == b.created_by)) {
            form method="post" action={"/batches/" (b.batch_id) "/cancel"} {
                (layout::csrf_field(&who))
                button type="submit" class="danger" { "取消批次" }
                span.hint { "已完成的户保留结果，其余各户不再核对。" }
            }
        }
    };
    layout::respond(StatusCode::OK, layout::page(Some(&who), "批量核对", "batches", body))
}

/// Progress as JSON, polled by the page's script every two seconds.
pub async fn progress(State(app): State<Arc<App>>, who: Who, Path(id): Path<String>) -> Response {
    let b = match get(&app, &who, &id).await {
        Ok(b) => b,
        Err(p) => return p,
    };
    let running = b.state == BatchState::Running as i32 || b.state == BatchState::Draft as i32;
    let json = serde_json::json!({
        "state": words::batch_state(b.state),
        "running": running,
        "done": b.done,
        "total": b.total,
        "percent": percent(&b),
        "rate": format!("{:.1}", b.rate_per_s),
        "left": time_left(&b),
    });
    let mut res = Response::new(Body::from(json.to_string()));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// 取消批次.
pub async fn cancel(State(app): State<Arc<App>>, who: Who, Path(id): Path<String>, body: Bytes) -> Response {
    let f = Fields::parse(&body);
    if !app.csrf.check(&who.peer, &f.get(csrf::FIELD)) {
        app.log_refusal(&who, "form without a valid token").await;
        return layout::error_page(
            StatusCode::FORBIDDEN,
            "请求被拒绝",
            "表单缺少有效的安全令牌。请重新打开页面再提交。",
        );
    }
    match app
        .batches
        .cancel_batch(who.req(CancelBatchRequest { batch_id: id.clone() }))
        .await
    {
        Ok(_) => Redirect::to(&format!("/batches/{id}")).into_response(),
        Err(s) => status_page(&s),
    }
}

/// The results file, `.xlsx` or `.csv`, as `hedui batch results` writes
/// it. Households not finished yet are listed as 未完成 rows, so that the
/// file is never silently partial.
pub async fn results(State(app): State<Arc<App>>, who: Who, Path(id): Path<String>, uri: http::Uri) -> Response {
    let q = Fields::query(&uri);
    let ext = match q.get("format").as_str() {
        "csv" => "csv",
        "" | "xlsx" => "xlsx",
        _ => {
            return layout::error_page(
                StatusCode::BAD_REQUEST,
                "格式不对",
                "结果只能下载为 Excel（xlsx）或 CSV。",
            );
        }
    };
    let b = match get(&app, &who, &id).await {
        Ok(b) => b,
        Err(p) => return p,
    };
    let req = StreamBatchResultsRequest {
        batch_id: id.clone(),
        only_flagged: false,
    };
    let mut stream = match app.batches.stream_batch_results(who.req(req)).await {
        Ok(s) => s.into_inner(),
        Err(s) => return status_page(&s),
    };
    let mut rows = Vec::new();
    while let Some(r) = stream.next().await {
        let r = match r {
            Ok(r) => r,
            Err(s) => return status_page(&s),
        };
        rows.push(match &r.record {
            Some(record) => {
                let mut row = ResultRow::from_record(r.row as usize, record);
                row.reasons = hedui_report::words::reasons_zh(record);
                row.flags = hedui_report::words::flags_zh(record);
                row
            }
            None => ResultRow {
                household_ref: r.household_ref.clone(),
                first_row: r.row as usize,
                record_id: String::new(),
                verdict: "无记录".into(),
                reasons: r.error.clone(),
                flags: String::new(),
                missing_sources: String::new(),
                flagged: true,
            },
        });
    }
    let unfinished = b.total.saturating_sub(rows.len() as u32);
    if unfinished > 0 {
        rows.push(ResultRow {
            household_ref: format!("（另有 {unfinished} 户）"),
            first_row: 0,
            record_id: String::new(),
            verdict: "未完成".into(),
            reasons: "批次尚未完成或已取消，这些户还没有核对结果".into(),
            flags: String::new(),
            missing_sources: String::new(),
            flagged: true,
        });
    }
    let written = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join(format!("results.{ext}"));
        let mut sink = hedui_roster::results::create(&path).map_err(|e| e.to_string())?;
        for row in &rows {
            sink.write(row).map_err(|e| e.to_string())?;
        }
        sink.finish().map_err(|e| e.to_string())?;
        std::fs::read(&path).map_err(|e| e.to_string())
    })
    .await;
    match written {
        Ok(Ok(bytes)) => {
            let mut res = Response::new(Body::from(bytes));
            let kind = if ext == "csv" {
                "text/csv; charset=utf-8"
            } else {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            };
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"batch-{}.{ext}\"", short(&id))) {
                res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        _ => layout::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "无法生成结果文件",
            "生成结果文件时出错，请稍后重试。",
        ),
    }
}
