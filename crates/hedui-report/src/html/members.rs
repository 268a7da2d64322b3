//! Section: each member's findings, department by department.

use super::*;

// ---------------------------------------------------------------------------
// Each member's findings
// ---------------------------------------------------------------------------

pub(super) fn findings(r: &VerificationRecord, numeral: &str) -> Markup {
    html! {
        (heading(numeral, "成员核对明细"))
        @if r.members.is_empty() {
            p { "记录中没有成员核对明细。" }
        }
        @for (i, m) in r.members.iter().enumerate() {
            (member_findings(r, i, m))
        }
    }
}

pub(super) fn member_findings(r: &VerificationRecord, i: usize, m: &MemberFindings) -> Markup {
    let member = m.member.clone().unwrap_or_default();
    let relation = Relation::try_from(member.relation).map(relation_zh).unwrap_or("未知");
    // A row for every result that says something (found, name mismatch),
    // in the record's order; then one row naming the departments that know
    // nothing of this member, and one naming those that gave no answer.
    let mut no_record: Vec<String> = Vec::new();
    let mut no_data: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut said: Vec<(i32, &PersonResult)> = Vec::new();
    for (d, res) in m.result_departments.iter().zip(&m.results) {
        seen.push(*d);
        if res.identity_status == IdentityStatus::NotFound as i32 {
            no_record.push(department_zh(*d));
        } else {
            said.push((*d, res));
        }
    }
    for d in ALL {
        if seen.contains(&(d as i32)) {
            continue;
        }
        match r.sources.iter().find(|s| s.department == d as i32).map(|s| s.outcome) {
            Some(o) if words::answered(o) => no_record.push(name_zh(d).to_owned()),
            Some(o) => no_data.push(format!("{}（{}）", name_zh(d), outcome_zh(o))),
            None => no_data.push(format!("{}（未记录结果）", name_zh(d))),
        }
    }
    html! {
        h3 {
            "成员 " (i + 1) "　" (member.name) "　"
            span.muted { (relation) "，身份证号 " span.mono { (mask_id(&member.id_number)) } }
        }
        table {
            (colgroup(&[Some(19), Some(14), None]))
            thead { tr { th { "部门" } th { "核对结果" } th { "明细" } } }
            tbody {
                @for (d, res) in said {
                    @let found = res.identity_status == IdentityStatus::Found as i32;
                    @let status = words::identity_zh(res.identity_status);
                    tr class=[attention(!found)] {
                        td { (department_zh(d)) }
                        td { @if found { (status) } @else { b { (status) } } }
                        td { (result_detail(res)) }
                    }
                }
                @if let [only] = no_record.as_slice() {
                    tr { td { (only) } td { "无记录" } td { "该部门没有该成员的记录" } }
                } @else if !no_record.is_empty() {
                    tr { td { "其他部门" } td { "无记录" } td { (no_record.join("、")) " 均没有该成员的记录" } }
                }
                @if !no_data.is_empty() {
                    tr.attention { td { "未答复的部门" } td { b { "未取得数据" } } td { (no_data.join("、")) } }
                }
            }
        }
    }
}

/// The readable detail of one department's result for one member: what
/// was found, one item a line, or a sentence saying why there is nothing.
pub(super) fn result_detail(res: &PersonResult) -> Markup {
    let text = |s: &str| html! { (s) };
    match IdentityStatus::try_from(res.identity_status) {
        Ok(IdentityStatus::NotFound) => return text("无记录"),
        Ok(IdentityStatus::NameMismatch) => {
            return text("该部门登记的姓名与所报身份证号不符，未返回该成员的数据");
        }
        Ok(IdentityStatus::Found) => {}
        Ok(IdentityStatus::Unspecified) | Err(_) => return text("核对结果未知"),
    }
    let Some(f) = &res.findings else {
        return text("已查到本人，未返回明细");
    };
    let mut items: Vec<Markup> = Vec::new();
    let none = |items: &mut Vec<Markup>, s: &str| {
        if items.is_empty() {
            items.push(text(s));
        }
    };
    match f {
        Findings::PublicSecurity(ps) => {
            let life = words::life_zh(ps.life_status);
            items.push(if ps.life_status == LifeStatus::Deceased as i32 {
                html! {
                    b { "生存状态：" (life) }
                    @if !ps.death_date.is_empty() { "，死亡日期 " (ps.death_date) }
                }
            } else {
                html! { "生存状态：" (life) }
            });
            if let Some(h) = &ps.hukou {
                items.push(html! {
                    "户籍：" (h.address) "，" (words::hukou_zh(h.hukou_type)) "，与户主关系：" (h.relation_to_head)
                });
            }
            for v in &ps.vehicles {
                items.push(html! {
                    "车辆：号牌 " span.mono { (v.plate) } "，" (words::vehicle_type_zh(v.vehicle_type)) "，"
                    (v.registration_date) " 登记，" (words::vehicle_status_zh(v.status))
                });
            }
            if ps.vehicles.is_empty() {
                items.push(text("无机动车登记"));
            }
        }
        Findings::NaturalResources(nr) => {
            for p in &nr.properties {
                items.push(html! {
                    "不动产权证号 " span.wrap { (p.certificate_number) } "；坐落：" (p.location)
                    "；用途：" (words::property_use_zh(p.r#use)) "；面积 " (area_m2(p.floor_area_centi_m2))
                    " 平方米；份额 " (p.share_percent) "%；取得日期 " (p.acquired_date)
                });
            }
            none(&mut items, "无不动产登记");
        }
        Findings::Housing(h) => {
            for p in &h.purchases {
                items.push(html! {
                    "商品房网签合同 " span.wrap { (p.contract_number) } "；" (p.location)
                    "；面积 " (area_m2(p.floor_area_centi_m2)) " 平方米；总价 " (yuan(p.price_fen))
                    " 元；签约日期 " (p.signed_date)
                });
            }
            for l in &h.leases {
                items.push(html! {
                    "租赁登记：" (l.location) "；月租金 " (yuan(l.monthly_rent_fen)) " 元；" (l.start_date) " 至 "
                    @if l.end_date.is_empty() { "未约定" } @else { (l.end_date) }
                });
            }
            for p in &h.public_rentals {
                items.push(html! { "公租房：" (p.location) "；配租日期 " (p.allocated_date) });
            }
            for s in &h.self_built {
                items.push(html! {
                    (if s.danger_house_renovation { "危房改造" } else { "自建房" })
                    "：" (s.location) "；日期 " (s.record_date)
                });
            }
            none(&mut items, "无商品房网签、租赁、公租房或自建房记录");
        }
        Findings::Tax(t) => {
            // Summed by category, with the months each category covers.
            let mut by: BTreeMap<i32, (i64, i64, Vec<&str>)> = BTreeMap::new();
            for rec in &t.records {
                let e = by.entry(rec.category).or_default();
                e.0 = e.0.saturating_add(rec.taxable_income_fen);
                e.1 = e.1.saturating_add(rec.tax_paid_fen);
                e.2.push(rec.period.as_str());
            }
            for (cat, (income, tax, months)) in &by {
                let runs = month_runs(months);
                let distinct = months.iter().collect::<std::collections::BTreeSet<_>>().len();
                items.push(html! {
                    (words::income_category_zh(*cat)) "：应纳税所得额合计 " (yuan(*income)) " 元，已缴税额 "
                    (yuan(*tax)) " 元；" (distinct) " 个月（" (runs.join("、")) "）"
                });
            }
            none(&mut items, "核对期内无纳税记录");
        }
        Findings::MarketSupervision(ms) => {
            for b in &ms.roles {
                items.push(html! {
                    (b.entity_name) "（" (words::entity_type_zh(b.entity_type)) "）；统一社会信用代码 "
                    span.mono { (b.uscc) } "；职务：" (words::business_role_zh(b.role)) "；认缴出资 "
                    (yuan(b.subscribed_capital_fen)) " 元；" (words::entity_status_zh(b.status)) "；成立日期 "
                    (b.established_date)
                });
            }
            none(&mut items, "无市场主体任职或出资记录");
        }
        Findings::HousingFund(hf) => {
            for a in &hf.accounts {
                items.push(html! {
                    (words::fund_status_zh(a.status)) "；余额 " (yuan(a.balance_fen)) " 元；月缴存额 "
                    (yuan(a.monthly_contribution_fen)) " 元；单位："
                    @if a.employer.is_empty() { "—" } @else { (a.employer) }
                    "；核对期内提取 " (yuan(a.withdrawals_in_window_fen)) " 元"
                });
            }
            none(&mut items, "无住房公积金账户");
        }
        Findings::Pboc(p) => {
            for a in &p.accounts {
                items.push(html! {
                    (a.bank) "，" (words::account_type_zh(a.account_type)) "，账号 "
                    span.mono { (a.masked_account_number) } "，余额 " (yuan(a.balance_fen)) " 元"
                });
            }
            for x in &p.products {
                items.push(html! { "金融产品：" (x.issuer) "，" (x.kind) "，市值 " (yuan(x.value_fen)) " 元" });
            }
            if items.is_empty() {
                items.push(text("无银行账户或金融产品"));
            } else {
                let total = p
                    .accounts
                    .iter()
                    .map(|a| a.balance_fen)
                    .chain(p.products.iter().map(|x| x.value_fen))
                    .fold(0i64, i64::saturating_add);
                items.push(html! { b { "合计 " (yuan(total)) " 元" } });
            }
        }
        Findings::Hrss(h) => {
            for i in &h.insurance {
                items.push(html! {
                    (words::insurance_type_zh(i.insurance_type)) "：" (words::insurance_state_zh(i.state))
                    @if i.monthly_base_fen > 0 { "；月缴费基数 " (yuan(i.monthly_base_fen)) " 元" }
                    @if i.monthly_benefit_fen > 0 { "；月领取 " (yuan(i.monthly_benefit_fen)) " 元" }
                    @if !i.employer.is_empty() { "；单位：" (i.employer) }
                });
            }
            none(&mut items, "无社会保险记录");
        }
    }
    html! { @for item in items { div.item { (item) } } }
}
