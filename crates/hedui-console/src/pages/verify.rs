//! 新建核对: one household, its members and its signed authorization.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use hedui_proto::v1::verification_service_server::VerificationService as _;
use hedui_proto::v1::{Authorization, Household, IncomeWindow, Member, Signer, SubmitVerificationRequest};
use http::StatusCode;
use maud::{Markup, html};

use crate::form::{Errors, Fields};
use crate::state::{App, Who};
use crate::{csrf, layout, words};

/// Member rows shown on an empty form; the page's script adds more.
const EMPTY_MEMBER_ROWS: usize = 3;
/// Guardian rows shown on an empty form.
const EMPTY_GUARDIAN_ROWS: usize = 1;

/// The empty form.
pub async fn form(who: Who) -> Response {
    let today = chrono::Utc::now().date_naive();
    let mut f = Fields::default();
    let defaults = Defaults::for_today(today);
    f = f.with_defaults(&defaults);
    layout::respond(StatusCode::OK, render(&who, &f, &Errors::default(), &Layout::of(&f)))
}

/// The form's submission: built into a `SubmitVerificationRequest` and
/// given to the hub's own `SubmitVerification` handler.
pub async fn submit(State(app): State<Arc<App>>, who: Who, body: Bytes) -> Response {
    let f = Fields::parse(&body);
    if !app.csrf.check(&who.peer, &f.get(csrf::FIELD)) {
        app.log_refusal(&who, "form without a valid token").await;
        return layout::error_page(
            StatusCode::FORBIDDEN,
            "请求被拒绝",
            "表单缺少有效的安全令牌（可能来自其他网站，或平台已重启）。请重新打开“新建核对”页面再提交。",
        );
    }
    let lay = Layout::of(&f);
    let (req, mut errors) = build(&f, &lay);
    // Say everything at once, before anyone is asked: the hub's own (pure)
    // validation of the request and its authorization. The handler runs it
    // again; this only spares the caseworker a round trip per mistake.
    let today = chrono::Utc::now().date_naive();
    if let Err(e) = hedui_trust::submission::parse(&req, today) {
        let more = Errors::from_status(&tonic::Status::from(hedui_hub::service::HubError::from(e)));
        for (path, message) in more.fields {
            if !errors.fields.iter().any(|(p, _)| p == &path) {
                errors.fields.push((path, message));
            }
        }
        errors.general.extend(more.general);
    }
    if !errors.is_empty() {
        return layout::respond(StatusCode::BAD_REQUEST, render(&who, &f, &errors, &lay));
    }
    match app.verification.submit_verification(who.req(req)).await {
        Ok(res) => match res.into_inner().record {
            Some(r) => Redirect::to(&format!("/records/{}", r.record_id)).into_response(),
            None => layout::error_page(
                StatusCode::BAD_GATEWAY,
                "未返回记录",
                "核对平台没有返回记录，请到核对记录中查找。",
            ),
        },
        Err(status)
            if matches!(
                status.code(),
                tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition
            ) =>
        {
            errors = Errors::from_status(&status);
            layout::respond(StatusCode::BAD_REQUEST, render(&who, &f, &errors, &lay))
        }
        Err(status) => crate::layout::status_page(&status),
    }
}

/// Today's defaults: the last twelve whole months, assets as of today.
struct Defaults {
    from: String,
    to: String,
    today: String,
}

impl Defaults {
    fn for_today(today: chrono::NaiveDate) -> Defaults {
        use chrono::Datelike as _;
        let (y, m) = (today.year(), today.month() as i32);
        // The last whole month, and eleven before it.
        let last = y * 12 + (m - 1) - 1;
        let first = last - 11;
        let ym = |n: i32| format!("{:04}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1);
        Defaults {
            from: ym(first),
            to: ym(last),
            today: today.format("%Y-%m-%d").to_string(),
        }
    }
}

impl Fields {
    fn with_defaults(self, d: &Defaults) -> Fields {
        let mut pairs = self.pairs().to_vec();
        pairs.push(("window_from".into(), d.from.clone()));
        pairs.push(("window_to".into(), d.to.clone()));
        pairs.push(("asset_date".into(), d.today.clone()));
        pairs.push(("signed_date".into(), d.today.clone()));
        pairs.push(("idempotency_key".into(), uuid::Uuid::new_v4().to_string()));
        let mut bytes = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            bytes.append_pair(k, v);
        }
        Fields::parse(bytes.finish().as_bytes())
    }
}

/// The rows of the form as sent: which member rows were filled in (their
/// positions in the hub's request), and the signers' origins.
struct Layout {
    members: Vec<MemberRow>,
    guardians: Vec<GuardianRow>,
}

struct MemberRow {
    name: String,
    id: String,
    relation: String,
    incapable: bool,
    signs: bool,
    /// Position among the filled-in members (the hub's index), if filled.
    index: Option<usize>,
    /// The hub's signer index of this member's own signature.
    signer: Option<usize>,
}

struct GuardianRow {
    name: String,
    id: String,
    for_positions: String,
    signer: Option<usize>,
}

impl Layout {
    fn of(f: &Fields) -> Layout {
        let names = f.all("m_name");
        let ids = f.all("m_id");
        let relations = f.all("m_relation");
        let incapable = f.all("m_incapable");
        let signs = f.all("m_signs");
        let rows = names.len().max(ids.len()).max(EMPTY_MEMBER_ROWS);
        let mut members = Vec::new();
        let mut index = 0;
        let mut signer = 0;
        for i in 0..rows {
            let at = |v: &Vec<String>| v.get(i).cloned().unwrap_or_default();
            let (name, id) = (at(&names), at(&ids));
            let filled = !name.is_empty() || !id.is_empty();
            let signs_self = filled && at(&signs) != "0";
            members.push(MemberRow {
                name,
                id,
                relation: at(&relations),
                incapable: at(&incapable) == "1",
                signs: at(&signs) != "0",
                index: filled.then(|| {
                    index += 1;
                    index - 1
                }),
                signer: signs_self.then(|| {
                    signer += 1;
                    signer - 1
                }),
            });
        }
        let g_names = f.all("g_name");
        let g_ids = f.all("g_id");
        let g_for = f.all("g_for");
        let rows = g_names.len().max(g_ids.len()).max(EMPTY_GUARDIAN_ROWS);
        let mut guardians = Vec::new();
        for i in 0..rows {
            let at = |v: &Vec<String>| v.get(i).cloned().unwrap_or_default();
            let (name, id, for_positions) = (at(&g_names), at(&g_ids), at(&g_for));
            let filled = !name.is_empty() || !id.is_empty() || !for_positions.is_empty();
            guardians.push(GuardianRow {
                name,
                id,
                for_positions,
                signer: filled.then(|| {
                    signer += 1;
                    signer - 1
                }),
            });
        }
        Layout { members, guardians }
    }
}

/// A choice of a select; 0 (unset) when none was made, which the hub's
/// validation names.
fn number(f: &Fields, name: &str) -> i32 {
    f.get(name).parse::<i32>().unwrap_or(0)
}

/// The request the form describes, or the errors that keep it from being
/// one. Everything the hub checks (ID numbers, dates, the authorization's
/// cover) is left to the hub, so that the form and gRPC agree by
/// construction.
fn build(f: &Fields, lay: &Layout) -> (SubmitVerificationRequest, Errors) {
    let mut errors = Errors::default();
    let residence = number(f, "residence");
    let purpose = number(f, "purpose");
    let filled: Vec<&MemberRow> = lay.members.iter().filter(|m| m.index.is_some()).collect();
    if filled.is_empty() {
        errors.field("household.members", "家庭成员：至少填写一位成员（申请人）");
    }
    let mut members = Vec::new();
    let mut signers = Vec::new();
    for m in &filled {
        let relation = m.relation.parse::<i32>().unwrap_or(0);
        members.push(Member {
            name: m.name.clone(),
            id_number: m.id.clone(),
            relation,
            lacks_capacity: m.incapable,
        });
        if m.signer.is_some() {
            signers.push(Signer {
                name: m.name.clone(),
                id_number: m.id.clone(),
                as_guardian: false,
                on_behalf_of: Vec::new(),
            });
        }
    }
    for g in &lay.guardians {
        let Some(k) = g.signer else { continue };
        let mut on_behalf_of = Vec::new();
        for part in g.for_positions.split(['，', ',', '、', ' ']).filter(|p| !p.is_empty()) {
            let position = part.trim().parse::<usize>().ok();
            match position.and_then(|p| p.checked_sub(1)).and_then(|i| filled.get(i)) {
                Some(m) => on_behalf_of.push(m.id.clone()),
                None => errors.field(
                    &format!("authorization.signers[{k}].on_behalf_of"),
                    format!("监护人“代签成员”：没有第 {part} 位成员（请填写成员序号，如 3,4）"),
                ),
            }
        }
        signers.push(Signer {
            name: g.name.clone(),
            id_number: g.id.clone(),
            as_guardian: true,
            on_behalf_of,
        });
    }
    let authorization_ref = f.get("authorization_ref");
    let req = SubmitVerificationRequest {
        idempotency_key: f.get("idempotency_key"),
        household: Some(Household {
            household_ref: f.get("household_ref"),
            residence,
            members,
        }),
        purpose,
        income_window: Some(IncomeWindow {
            from_month: f.get("window_from"),
            to_month: f.get("window_to"),
        }),
        asset_reference_date: f.get("asset_date"),
        authorization_ref: authorization_ref.clone(),
        authorization: Some(Authorization {
            form_number: authorization_ref,
            signers,
            signed_date: f.get("signed_date"),
            scan_sha256: f.get("scan_sha256").to_ascii_lowercase(),
            purpose,
            valid_until: f.get("valid_until"),
        }),
    };
    (req, errors)
}

fn field_errors(errors: &Errors, path: &str) -> Markup {
    let list = errors.for_field(path);
    html! {
        @for m in list { span.field-error role="alert" { (m) } }
    }
}

fn text_input(f: &Fields, name: &str, label: &str, path: &str, hint: &str, errors: &Errors) -> Markup {
    let id = format!("f-{name}");
    let bad = !errors.for_field(path).is_empty();
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) value=(f.get(name)) aria-invalid=[bad.then_some("true")] placeholder=(hint);
            (field_errors(errors, path))
        }
    }
}

fn select(f: &Fields, name: &str, label: &str, path: &str, options: &[(i32, &str)], errors: &Errors) -> Markup {
    let id = format!("f-{name}");
    let current = f.get(name);
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                option value="" { "请选择" }
                @for (v, w) in options {
                    option value=(v) selected[current == v.to_string()] { (w) }
                }
            }
            (field_errors(errors, path))
        }
    }
}

fn render(who: &Who, f: &Fields, errors: &Errors, lay: &Layout) -> Markup {
    let relations = words::relations();
    let body = html! {
        h1 { "新建核对" }
        p.lead { "填写一户家庭的全部成员和已签字的授权书。提交后平台同时向八个部门查询，结果页面随即打开。" }
        @if !errors.is_empty() {
            section.errors-summary role="alert" {
                h2 { "请修改以下内容后再提交" }
                ul { @for m in errors.all() { li { (m) } } }
            }
        }
        form method="post" action="/verify" id="verify-form" {
            (layout::csrf_field(who))
            input type="hidden" name="idempotency_key" value=(f.get("idempotency_key"));
            fieldset {
                legend { "家庭" }
                div.grid {
                    (text_input(f, "household_ref", "户编号", "household.household_ref", "如 DJ-2026-0001", errors))
                    (select(f, "residence", "城乡类别", "household.residence", &words::residences(), errors))
                    (select(f, "purpose", "救助类型", "purpose", &words::purposes(), errors))
                    (text_input(f, "authorization_ref", "授权书编号", "authorization_ref", "授权书上印的编号", errors))
                    (text_input(f, "window_from", "收入区间起（年-月）", "income_window.from_month", "YYYY-MM", errors))
                    (text_input(f, "window_to", "收入区间止（年-月）", "income_window.to_month", "YYYY-MM", errors))
                    (text_input(f, "asset_date", "资产基准日", "asset_reference_date", "YYYY-MM-DD", errors))
                }
                (field_errors(errors, "income_window"))
            }
            fieldset {
                legend { "家庭成员" }
                (field_errors(errors, "household.members"))
                table.rows id="members" {
                    thead { tr {
                        th { "序号" } th { "姓名" } th { "身份证号" } th { "与申请人关系" }
                        th { "无民事行为能力" } th { "本人在授权书上签字" } th {}
                    } }
                    tbody {
                        @for (i, m) in lay.members.iter().enumerate() {
                            @let path = m.index.map(|k| format!("household.members[{k}]")).unwrap_or_default();
                            @let spath = m.signer.map(|k| format!("authorization.signers[{k}]")).unwrap_or_default();
                            tr.member {
                                td.pos { (i + 1) }
                                td { input name="m_name" value=(m.name) aria-label={"第" (i + 1) "位成员·姓名"}; }
                                td { input name="m_id" value=(m.id) aria-label={"第" (i + 1) "位成员·身份证号"} maxlength="18" size="20"; }
                                td {
                                    select name="m_relation" aria-label={"第" (i + 1) "位成员·与申请人关系"} {
                                        option value="" { "请选择" }
                                        @for (v, w) in &relations {
                                            option value=(v) selected[m.relation == v.to_string()] { (w) }
                                        }
                                    }
                                }
                                td { select name="m_incapable" aria-label={"第" (i + 1) "位成员·无民事行为能力"} {
                                    option value="0" selected[!m.incapable] { "否" }
                                    option value="1" selected[m.incapable] { "是" }
                                } }
                                td { select name="m_signs" aria-label={"第" (i + 1) "位成员·本人签字"} {
                                    option value="1" selected[m.signs] { "是" }
                                    option value="0" selected[!m.signs] { "否（未成年或由监护人代签）" }
                                } }
                                td { button type="button" class="remove-row" { "删除" } }
                            }
                            @if !path.is_empty() || !spath.is_empty() {
                                @let msgs: Vec<&str> = errors.for_field(&path).into_iter().chain(if spath.is_empty() { Vec::new() } else { errors.for_field(&spath) }).collect();
                                @if !msgs.is_empty() {
                                    tr.row-errors { td colspan="7" { @for m in msgs { span.field-error role="alert" { (m) } } } }
                                }
                            }
                        }
                    }
                }
                button type="button" id="add-member" { "添加成员" }
            }
            fieldset {
                legend { "授权书" }
                div.grid {
                    (text_input(f, "signed_date", "签字日期", "authorization.signed_date", "YYYY-MM-DD", errors))
                    (text_input(f, "valid_until", "有效期至", "authorization.valid_until", "YYYY-MM-DD", errors))
                    (text_input(f, "scan_sha256", "授权书扫描件 SHA-256", "authorization.scan_sha256", "64 位十六进制，见扫描系统", errors))
                }
                (field_errors(errors, "authorization.signers"))
                (field_errors(errors, "authorization.purpose"))
                h3 { "监护人代签" }
                p.hint { "未成年成员和无民事行为能力的成员由监护人代签。“代签成员”填写上表中的序号，如 3,4。" }
                table.rows id="guardians" {
                    thead { tr { th { "监护人姓名" } th { "监护人身份证号" } th { "代签成员（序号）" } th {} } }
                    tbody {
                        @for (j, g) in lay.guardians.iter().enumerate() {
                            @let spath = g.signer.map(|k| format!("authorization.signers[{k}]")).unwrap_or_default();
                            tr.guardian {
                                td { input name="g_name" value=(g.name) aria-label={"第" (j + 1) "位监护人·姓名"}; }
                                td { input name="g_id" value=(g.id) maxlength="18" size="20" aria-label={"第" (j + 1) "位监护人·身份证号"}; }
                                td { input name="g_for" value=(g.for_positions) size="8" aria-label={"第" (j + 1) "位监护人·代签成员"}; }
                                td { button type="button" class="remove-row" { "删除" } }
                            }
                            @if !spath.is_empty() && !errors.for_field(&spath).is_empty() {
                                tr.row-errors { td colspan="4" { (field_errors(errors, &spath)) } }
                            }
                        }
                    }
                }
                button type="button" id="add-guardian" { "添加监护人" }
            }
            p.actions {
                button type="submit" class="primary" { "提交核对" }
                span.hint { "重复点击只会提交一次。" }
            }
        }
    };
    layout::page(Some(who), "新建核对", "verify", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_window_is_the_last_twelve_whole_months() {
        let d = Defaults::for_today(chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap());
        assert_eq!((d.from.as_str(), d.to.as_str()), ("2025-01", "2025-12"));
        let d = Defaults::for_today(chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap());
        assert_eq!((d.from.as_str(), d.to.as_str()), ("2025-12", "2026-11"));
    }

    #[test]
    fn blank_rows_are_skipped_and_positions_follow_the_filled_ones() {
        let f = Fields::parse(
            "m_name=A&m_id=1&m_relation=1&m_incapable=0&m_signs=1&m_name=&m_id=&m_relation=&m_incapable=0&m_signs=1\
             &m_name=C&m_id=3&m_relation=3&m_incapable=1&m_signs=0&g_name=G&g_id=9&g_for=2&residence=1&purpose=1"
                .as_bytes(),
        );
        let lay = Layout::of(&f);
        assert_eq!(lay.members[0].index, Some(0));
        assert_eq!(lay.members[1].index, None);
        assert_eq!(lay.members[2].index, Some(1));
        let (req, errors) = build(&f, &lay);
        assert!(errors.is_empty(), "{errors:?}");
        let a = req.authorization.unwrap();
        assert_eq!(a.signers.len(), 2);
        assert!(a.signers[1].as_guardian);
        assert_eq!(a.signers[1].on_behalf_of, vec!["3".to_owned()]);
        assert_eq!(req.household.unwrap().members.len(), 2);
    }

    #[test]
    fn a_guardian_for_a_member_that_is_not_there_is_named() {
        let f = Fields::parse("m_name=A&m_id=1&m_relation=1&g_name=G&g_id=9&g_for=5&residence=1&purpose=1".as_bytes());
        let (_, errors) = build(&f, &Layout::of(&f));
        assert_eq!(errors.fields.len(), 1);
        assert!(errors.fields[0].1.contains("没有第 5 位成员"), "{errors:?}");
    }
}
