//! The Chinese words of the console's own choices (the record's words come
//! from `hedui-i18n` and `hedui-domain`).

use hedui_proto::v1::{BatchState, Purpose, Relation, Residence, ReviewOutcome, Verdict};

/// Every purpose a caseworker may choose, with its Chinese name.
pub fn purposes() -> Vec<(i32, &'static str)> {
    (1..=8)
        .filter_map(|v| Purpose::try_from(v).ok())
        .map(|p| (p as i32, hedui_domain::purpose::purpose_zh(p)))
        .collect()
}

/// Every relation to the applicant, with its Chinese name.
pub fn relations() -> Vec<(i32, &'static str)> {
    (1..=9)
        .filter_map(|v| Relation::try_from(v).ok())
        .map(|r| (r as i32, hedui_domain::purpose::relation_zh(r)))
        .collect()
}

/// 城市 / 农村.
pub fn residences() -> Vec<(i32, &'static str)> {
    [Residence::Urban, Residence::Rural]
        .into_iter()
        .map(|r| (r as i32, hedui_domain::purpose::residence_zh(r)))
        .collect()
}

/// The verdicts a list can be filtered by.
pub fn verdicts() -> Vec<(i32, String)> {
    [
        Verdict::MeetsCriteria,
        Verdict::DoesNotMeet,
        Verdict::NeedsReview,
        Verdict::Incomplete,
    ]
    .into_iter()
    .map(|v| (v as i32, verdict(v as i32)))
    .collect()
}

/// A verdict in Chinese (符合条件 …).
pub fn verdict(v: i32) -> String {
    hedui_i18n::verdict(hedui_i18n::Lang::Zh, v)
}

/// The CSS class of a verdict's badge.
pub fn verdict_class(v: i32) -> &'static str {
    match Verdict::try_from(v) {
        Ok(Verdict::MeetsCriteria) => "v-meets",
        Ok(Verdict::DoesNotMeet) => "v-not",
        Ok(Verdict::NeedsReview) => "v-review",
        _ => "v-incomplete",
    }
}

/// A purpose in Chinese.
pub fn purpose(v: i32) -> &'static str {
    hedui_domain::purpose::purpose_zh(Purpose::try_from(v).unwrap_or_default())
}

/// The outcomes of a review.
pub fn review_outcomes() -> Vec<(i32, &'static str)> {
    [
        (ReviewOutcome::Confirmed as i32, "确认（核对结果属实）"),
        (ReviewOutcome::Corrected as i32, "更正（须在备注中说明）"),
        (ReviewOutcome::Objection as i32, "异议（申请人提出异议，须说明）"),
    ]
    .to_vec()
}

/// A review outcome in Chinese: its name in domain's table of words.
pub fn review_outcome(v: i32) -> &'static str {
    ReviewOutcome::try_from(v)
        .ok()
        .and_then(hedui_domain::words::words)
        .map_or("未指定", |w| w.name)
}

/// A batch's state in Chinese.
pub fn batch_state(v: i32) -> &'static str {
    match BatchState::try_from(v) {
        Ok(BatchState::Draft) => "草稿",
        Ok(BatchState::Running) => "进行中",
        Ok(BatchState::Done) => "已完成",
        Ok(BatchState::Cancelled) => "已取消",
        _ => "未知",
    }
}

/// An audit action in Chinese, for the auditors' pages.
pub fn action(a: &str) -> String {
    let known = match a {
        "SubmitVerification" => "提交核对",
        "GetRecord" => "查看核对记录",
        "ListRecords" => "查询记录列表",
        "ReviewRecord" => "复核",
        "RecheckRecord" => "重新核对",
        "GetRecordHistory" => "查看记录版本",
        "source.query" => "向部门查询",
        "batch.household" => "批量核对一户",
        "console.csrf" => "拒绝跨站请求",
        "connection.refused" => "拒绝连接",
        "audit.ListAuditEntries" => "查看查询日志",
        "audit.WhoAccessed" => "查询个人被查记录",
        "audit.GetCheckpoint" => "查看检查点",
        "audit.ExportAudit" => "导出查询日志",
        "console.department_status" => "查看部门服务状态",
        "console.service_report" => "查看部门服务报告",
        _ => "",
    };
    if known.is_empty() {
        if let Some(rest) = a.strip_prefix("batch.") {
            return format!("批量核对（{rest}）");
        }
        return a.to_owned();
    }
    known.to_owned()
}

/// A status code name in Chinese.
pub fn status(s: &str) -> &'static str {
    match s {
        "OK" => "成功",
        "PERMISSION_DENIED" => "无权限，已拒绝",
        "UNAUTHENTICATED" => "未识别身份，已拒绝",
        "INVALID_ARGUMENT" => "内容有误",
        "FAILED_PRECONDITION" => "条件不符",
        "NOT_FOUND" => "未找到",
        "UNAVAILABLE" => "不可用",
        "TIMEOUT" => "超时",
        "NO_RECORD" => "无记录",
        "ERROR" => "出错",
        "REFUSED" => "拒绝",
        "DATA_LOSS" => "完整性校验失败",
        _ => "其他",
    }
}

/// What a change between two versions concerns, in Chinese (the
/// record's diff names it in English words, see
/// `hedui_domain::recheck::changes`).
pub fn change_what(what: &str) -> String {
    let dept = |slug: &str| {
        hedui_domain::department::parse_slug(slug)
            .map(|d| hedui_domain::department::name_zh(d).to_owned())
            .unwrap_or_else(|_| slug.to_owned())
    };
    if what == "verdict" {
        return "核对结论".into();
    }
    if what == "flag" {
        return "提示".into();
    }
    if what.starts_with("policy") {
        return "政策版本".into();
    }
    if let Some(rest) = what.strip_prefix("source ") {
        if let Some(slug) = rest.strip_suffix(" data date") {
            return format!("{}·数据日期", dept(slug));
        }
        return format!("{}·查询结果", dept(rest));
    }
    if let Some(rest) = what.strip_prefix("member ")
        && let Some((n, d)) = rest.split_once(" findings from ")
    {
        return format!("第{n}位成员·{}的查询结果", dept(d));
    }
    if let Some(field) = what.strip_prefix("summary.") {
        let zh = match field {
            "member_count" => "家庭人数",
            "window_months" => "收入区间月数",
            "window_income_fen" => "区间内家庭收入（分）",
            "yearly_income_per_capita_fen" => "人均年收入（分）",
            "monthly_income_per_capita_fen" => "人均月收入（分）",
            "financial_assets_fen" => "金融资产（分）",
            "financial_assets_per_capita_fen" => "人均金融资产（分）",
            "vehicles" => "车辆",
            "residential_properties" => "住房套数",
            _ => "家庭汇总",
        };
        return zh.into();
    }
    what.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_has_a_chinese_word() {
        assert_eq!(purposes().len(), 8);
        assert_eq!(relations().len(), 9);
        for (_, w) in purposes().into_iter().chain(relations()).chain(residences()) {
            assert!(!w.is_empty() && !w.is_ascii(), "{w}");
        }
        for (_, w) in verdicts() {
            assert!(!w.is_ascii(), "{w}");
        }
    }
}
