//! Section: the household's figures against the policy's standards.

use super::*;

// ---------------------------------------------------------------------------
// Household summary against the policy
// ---------------------------------------------------------------------------

/// The result of the rules `rule` in words, in bold when the rule does not
/// simply pass; `None` when the record has no such rule.
pub(super) fn rule_cell(r: &VerificationRecord, rule: &str) -> Option<(String, bool)> {
    let v = rule_result(r, rule)?;
    let bold = match Verdict::try_from(v) {
        Ok(Verdict::MeetsCriteria | Verdict::Unspecified) | Err(_) => false,
        Ok(Verdict::DoesNotMeet | Verdict::NeedsReview | Verdict::Incomplete) => true,
    };
    Some((hedui_i18n::rule_result(ZH, v), bold))
}

/// One row of the summary table.
struct SummaryRow {
    /// What the row is about.
    label: &'static str,
    /// A note under the label.
    note: Option<&'static str>,
    /// The household's figure.
    value: Markup,
    /// The policy's standard; `—` when `None`.
    standard: Option<Markup>,
    /// The rules' result (see [`rule_cell`]); `—` when `None`.
    result: Option<(String, bool)>,
}

impl SummaryRow {
    fn plain(label: &'static str, value: Markup) -> Self {
        SummaryRow {
            label,
            note: None,
            value,
            standard: None,
            result: None,
        }
    }

    fn noted(label: &'static str, note: &'static str, value: Markup) -> Self {
        SummaryRow {
            note: Some(note),
            ..SummaryRow::plain(label, value)
        }
    }

    /// A row whose standard is stated in the reasons (判定依据).
    fn by_rule(r: &VerificationRecord, label: &'static str, value: Markup, rule: &str) -> Self {
        SummaryRow {
            standard: Some(html! { "见判定依据" }),
            result: rule_cell(r, rule),
            ..SummaryRow::plain(label, value)
        }
    }
}

pub(super) fn summary(r: &VerificationRecord, ctx: &ReportContext<'_>, numeral: &str) -> Markup {
    let s: HouseholdSummary = r.summary.clone().unwrap_or_default();
    let policy = crate::matching_policy(r, ctx);
    let res = residence(r);
    let which = match res {
        Residence::Urban => "城市",
        Residence::Rural => "农村",
        Residence::Unspecified => "城乡类别未定，取较低的",
    };
    let income_standard = match policy {
        Some(p) => html! {
            (which) "低保标准 " (yuan(p.monthly_standard_fen(res))) " 元/人·月" br;
            span.muted {
                "（城市 " (yuan(p.monthly_standard_fen(Residence::Urban))) " 元，农村 "
                (yuan(p.monthly_standard_fen(Residence::Rural))) " 元）"
            }
        },
        None => html! { "见判定依据" },
    };
    let assets_standard = match (policy, assets_months(r)) {
        (Some(p), Some(n)) => html! {
            "不超过 " (n) " 个月" (which) "低保标准" br;
            "（" (yuan(p.monthly_standard_fen(res).saturating_mul(i64::from(n)))) " 元/人）"
        },
        (None, Some(n)) => html! { "不超过 " (n) " 个月低保标准" },
        (_, None) => html! { "见判定依据" },
    };
    let vehicles: Vec<String> = s
        .vehicles
        .iter()
        .map(|v| format!("{} {} 辆", words::vehicle_type_zh(v.vehicle_type), v.count))
        .collect();
    let vehicles = if vehicles.is_empty() {
        "无".to_owned()
    } else {
        vehicles.join("，")
    };
    let rows = [
        SummaryRow::plain("家庭人口", html! { (s.member_count) " 人" }),
        SummaryRow::noted(
            "核对期内家庭收入合计",
            "应纳税所得额，加按月计入的养老金等待遇",
            html! { (yuan(s.window_income_fen)) " 元（" (s.window_months) " 个月）" },
        ),
        SummaryRow::plain("人均年收入", html! { (yuan(s.yearly_income_per_capita_fen)) " 元" }),
        SummaryRow {
            standard: Some(income_standard),
            result: rule_cell(r, "income.per_capita"),
            ..SummaryRow::plain(
                "人均月收入",
                html! { b { (yuan(s.monthly_income_per_capita_fen)) " 元" } },
            )
        },
        SummaryRow::noted(
            "家庭金融资产合计",
            "存款、证券资金账户和金融产品",
            html! { (yuan(s.financial_assets_fen)) " 元" },
        ),
        SummaryRow {
            standard: Some(assets_standard),
            result: rule_cell(r, "assets.per_capita"),
            ..SummaryRow::plain(
                "人均金融资产",
                html! { b { (yuan(s.financial_assets_per_capita_fen)) " 元" } },
            )
        },
        SummaryRow::by_rule(r, "在用机动车", html! { (vehicles) }, "vehicles.count"),
        SummaryRow::by_rule(
            r,
            "住宅及宅基地",
            html! { (s.residential_properties) " 处" },
            "real_estate.residential_count",
        ),
        SummaryRow::by_rule(
            r,
            "商业、工业用房",
            html! { (s.commercial_properties) " 处" },
            "real_estate.commercial",
        ),
        SummaryRow::by_rule(
            r,
            "商品房网签合同",
            html! { (s.housing_purchases) " 份" },
            "recent_purchase",
        ),
        SummaryRow::by_rule(
            r,
            "在营市场主体任职",
            html! { (s.active_business_roles) " 项" },
            "business.role",
        ),
        SummaryRow::by_rule(
            r,
            "在营市场主体认缴出资",
            html! { (yuan(s.subscribed_capital_fen)) " 元" },
            "business.subscribed_capital",
        ),
        SummaryRow::plain(
            "住房公积金",
            html! {
                "余额 " (yuan(s.housing_fund_balance_fen)) " 元；月缴存 "
                (yuan(s.housing_fund_monthly_contribution_fen)) " 元"
            },
        ),
        SummaryRow::plain(
            "社会保险",
            html! {
                "参保缴费 " (s.insured_contributing) " 人；领取待遇 " (s.insured_receiving) " 人，月领取合计 "
                (yuan(s.monthly_benefits_fen)) " 元"
            },
        ),
    ];
    html! {
        (heading(numeral, "家庭汇总与政策标准"))
        @if !recheck_departments(r).is_empty() {
            p { b { "注意：" } "有部门未答复，以下汇总只包含已答复部门的数据。" }
        }
        table {
            (colgroup(&[Some(26), Some(26), Some(30), None]))
            thead { tr { th { "项目" } th { "本户情况" } th { "政策标准" } th { "规则结论" } } }
            tbody {
                @for row in rows {
                    @let bold = row.result.as_ref().is_some_and(|(_, bold)| *bold);
                    tr class=[attention(bold)] {
                        th {
                            (row.label)
                            @if let Some(note) = row.note { br; span.muted { (note) } }
                        }
                        td { (row.value) }
                        td { @if let Some(standard) = row.standard { (standard) } @else { "—" } }
                        td {
                            @match row.result {
                                Some((text, true)) => { b { (text) } }
                                Some((text, false)) => { (text) }
                                None => { "—" }
                            }
                        }
                    }
                }
            }
        }
        @match (ctx.policy, policy) {
            (_, Some(p)) => {
                p.muted {
                    "适用政策版本：" span.mono { (r.policy_version) }
                    @if !p.description_zh().is_empty() { "；政策说明：" (p.description_zh()) }
                    "。"
                }
            }
            (Some(other), None) => {
                p.muted {
                    "适用政策版本：" span.mono { (r.policy_version) }
                    "。所提供的政策文件版本为 " span.mono { (other.version()) }
                    "，与记录不符，因此未显示标准；标准以第六部分判定依据为准。"
                }
            }
            (None, None) => {
                p.muted {
                    "适用政策版本：" span.mono { (r.policy_version) }
                    "。未随报告提供该版本的政策文件，标准以第六部分判定依据为准。"
                }
            }
        }
    }
}
