//! The Chinese words of the report: protobuf enums, rule ids and flags, and
//! what to check on the home visit for each flag. The words a caseworker
//! also reads elsewhere (verdicts, outcomes, departments, flags, rules) come
//! from the message catalog (`hedui-i18n`); the detail words of findings
//! are only in the report and stay here.
//!
//! Every function takes the raw `i32` of the record, because a record may
//! come from a newer build with values this one does not know; those print
//! as "未知" instead of failing.

use hedui_i18n::Lang;
use hedui_proto::v1::{
    AccountType, BusinessRole, EntityStatus, EntityType, FundAccountStatus, HukouType, IdentityStatus, IncomeCategory,
    InsuranceState, InsuranceType, LifeStatus, PropertyUse, SourceOutcome, VehicleStatus, VehicleType,
    VerificationRecord,
};

const ZH: Lang = Lang::Zh;

/// The Chinese name of a department, from the catalog.
pub fn department_zh(v: i32) -> String {
    hedui_i18n::department(ZH, v)
}

/// A department's outcome: 已答复 / 无记录 / 超时 / 无法连接 / 出错 / 拒绝.
pub fn outcome_zh(v: i32) -> String {
    hedui_i18n::outcome(ZH, v)
}

/// True when the department answered (OK or NO_RECORD); anything else is a
/// department to re-check.
pub fn answered(outcome: i32) -> bool {
    outcome == SourceOutcome::Ok as i32 || outcome == SourceOutcome::NoRecord as i32
}

/// The verdict in plain Chinese: 符合条件 / 不符合条件 / 需人工复核 / 核对不完整.
pub fn verdict_zh(v: i32) -> String {
    hedui_i18n::verdict(ZH, v)
}

/// One sentence under the verdict saying what it means for the caseworker.
pub fn verdict_explained(v: i32) -> String {
    hedui_i18n::verdict_explained(ZH, v)
}

/// The Chinese name of a rule id, by its group.
pub fn rule_zh(rule: &str) -> String {
    hedui_i18n::rule(ZH, rule)
}

/// The Chinese name of a flag kind.
pub fn flag_zh(v: i32) -> String {
    hedui_i18n::flag(ZH, v)
}

/// What to check on the home visit (入户核查要点) for a flag.
pub fn flag_advice_zh(v: i32) -> String {
    hedui_i18n::flag_advice(ZH, v)
}

/// The reasons of a record on one line, `规则：说明；规则：说明`, in Chinese:
/// what a results file's 主要依据 column holds.
pub fn reasons_zh(record: &VerificationRecord) -> String {
    let reasons: Vec<String> = record
        .reasons
        .iter()
        .map(|r| format!("{}：{}", rule_zh(&r.rule), hedui_i18n::reason(ZH, r)))
        .collect();
    reasons.join("；")
}

/// The flags of a record on one line, `提示（成员 n）：说明；…`, in Chinese:
/// what a results file's 核查提示 column holds.
pub fn flags_zh(record: &VerificationRecord) -> String {
    let flags: Vec<String> = record
        .flags
        .iter()
        .map(|f| {
            let detail = hedui_i18n::flag_detail(ZH, f);
            match f.member_index {
                Some(i) => format!("{}（成员 {}）：{detail}", flag_zh(f.kind), i + 1),
                None => format!("{}：{detail}", flag_zh(f.kind)),
            }
        })
        .collect();
    flags.join("；")
}

/// Whether a department knows the person.
pub fn identity_zh(v: i32) -> &'static str {
    match IdentityStatus::try_from(v) {
        Ok(IdentityStatus::Found) => "已查到",
        Ok(IdentityStatus::NotFound) => "无记录",
        Ok(IdentityStatus::NameMismatch) => "姓名与身份证号不符",
        Ok(IdentityStatus::Unspecified) | Err(_) => "未知",
    }
}

pub fn life_zh(v: i32) -> &'static str {
    match LifeStatus::try_from(v) {
        Ok(LifeStatus::Alive) => "正常",
        Ok(LifeStatus::Deceased) => "已死亡",
        Ok(LifeStatus::Unspecified) | Err(_) => "未知",
    }
}

pub fn hukou_zh(v: i32) -> &'static str {
    match HukouType::try_from(v) {
        Ok(HukouType::Urban) => "城镇户口",
        Ok(HukouType::Rural) => "农村户口",
        Ok(HukouType::Unspecified) | Err(_) => "户口类别未知",
    }
}

pub fn vehicle_type_zh(v: i32) -> &'static str {
    match VehicleType::try_from(v) {
        Ok(VehicleType::Car) => "小型汽车",
        Ok(VehicleType::Truck) => "货车",
        Ok(VehicleType::Motorcycle) => "摩托车",
        Ok(VehicleType::Tricycle) => "三轮车",
        Ok(VehicleType::Agricultural) => "农用车",
        Ok(VehicleType::Disability) => "残疾人专用车",
        Ok(VehicleType::Unspecified) | Err(_) => "类型未知",
    }
}

pub fn vehicle_status_zh(v: i32) -> &'static str {
    match VehicleStatus::try_from(v) {
        Ok(VehicleStatus::Active) => "正常",
        Ok(VehicleStatus::Deregistered) => "注销/报废",
        Ok(VehicleStatus::Restricted) => "查封/抵押",
        Ok(VehicleStatus::Unspecified) | Err(_) => "状态未知",
    }
}

pub fn property_use_zh(v: i32) -> &'static str {
    match PropertyUse::try_from(v) {
        Ok(PropertyUse::Residential) => "住宅",
        Ok(PropertyUse::Commercial) => "商业",
        Ok(PropertyUse::Industrial) => "工业",
        Ok(PropertyUse::Homestead) => "宅基地",
        Ok(PropertyUse::Unspecified) | Err(_) => "用途未知",
    }
}

pub fn income_category_zh(v: i32) -> &'static str {
    match IncomeCategory::try_from(v) {
        Ok(IncomeCategory::Wages) => "工资薪金",
        Ok(IncomeCategory::Business) => "经营所得",
        Ok(IncomeCategory::Property) => "财产所得",
        Ok(IncomeCategory::Other) => "其他所得",
        Ok(IncomeCategory::Unspecified) | Err(_) => "类别未知",
    }
}

pub fn entity_type_zh(v: i32) -> &'static str {
    match EntityType::try_from(v) {
        Ok(EntityType::Company) => "公司",
        Ok(EntityType::IndividualBusiness) => "个体工商户",
        Ok(EntityType::Partnership) => "合伙企业",
        Ok(EntityType::Cooperative) => "农民专业合作社",
        Ok(EntityType::Unspecified) | Err(_) => "类型未知",
    }
}

pub fn business_role_zh(v: i32) -> &'static str {
    match BusinessRole::try_from(v) {
        Ok(BusinessRole::LegalRepresentative) => "法定代表人",
        Ok(BusinessRole::Director) => "董事",
        Ok(BusinessRole::Supervisor) => "监事",
        Ok(BusinessRole::SeniorManager) => "高级管理人员",
        Ok(BusinessRole::Investor) => "投资人/股东",
        Ok(BusinessRole::Operator) => "经营者",
        Ok(BusinessRole::Unspecified) | Err(_) => "职务未知",
    }
}

pub fn entity_status_zh(v: i32) -> &'static str {
    match EntityStatus::try_from(v) {
        Ok(EntityStatus::Active) => "存续/在营",
        Ok(EntityStatus::Revoked) => "吊销",
        Ok(EntityStatus::Deregistered) => "注销",
        Ok(EntityStatus::Unspecified) | Err(_) => "状态未知",
    }
}

pub fn fund_status_zh(v: i32) -> &'static str {
    match FundAccountStatus::try_from(v) {
        Ok(FundAccountStatus::Contributing) => "正常缴存",
        Ok(FundAccountStatus::Suspended) => "封存",
        Ok(FundAccountStatus::Closed) => "销户",
        Ok(FundAccountStatus::Unspecified) | Err(_) => "状态未知",
    }
}

pub fn account_type_zh(v: i32) -> &'static str {
    match AccountType::try_from(v) {
        Ok(AccountType::Demand) => "活期",
        Ok(AccountType::Time) => "定期",
        Ok(AccountType::Securities) => "证券资金账户",
        Ok(AccountType::Unspecified) | Err(_) => "类型未知",
    }
}

pub fn insurance_type_zh(v: i32) -> &'static str {
    match InsuranceType::try_from(v) {
        Ok(InsuranceType::Pension) => "基本养老保险",
        Ok(InsuranceType::Unemployment) => "失业保险",
        Ok(InsuranceType::Medical) => "医疗保险",
        Ok(InsuranceType::WorkInjury) => "工伤保险",
        Ok(InsuranceType::Unspecified) | Err(_) => "险种未知",
    }
}

pub fn insurance_state_zh(v: i32) -> &'static str {
    match InsuranceState::try_from(v) {
        Ok(InsuranceState::Contributing) => "参保缴费",
        Ok(InsuranceState::Receiving) => "领取待遇",
        Ok(InsuranceState::Suspended) => "中断/暂停",
        Ok(InsuranceState::Unspecified) | Err(_) => "状态未知",
    }
}

/// The proto name of an enum value for the JSON report, or `"UNKNOWN_<n>"`
/// for a value this build does not know.
pub fn proto_name<E: TryFrom<i32>>(v: i32, name: impl Fn(E) -> &'static str) -> String {
    match E::try_from(v) {
        Ok(e) => name(e).to_owned(),
        Err(_) => format!("UNKNOWN_{v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hedui_proto::v1::Verdict;

    #[test]
    fn rules_map_to_chinese_names() {
        assert_eq!(rule_zh("income.per_capita"), "收入");
        assert_eq!(rule_zh("assets.per_capita"), "金融资产");
        assert_eq!(rule_zh("vehicles.count"), "车辆");
        assert_eq!(rule_zh("real_estate.residential_count"), "房产");
        assert_eq!(rule_zh("real_estate.commercial"), "房产");
        assert_eq!(rule_zh("recent_purchase"), "近期购房");
        assert_eq!(rule_zh("business.role"), "经营情况");
        assert_eq!(rule_zh("business.subscribed_capital"), "经营情况");
        assert_eq!(rule_zh("flags.deceased-member"), "核查提示");
        assert_eq!(rule_zh("flags"), "核查提示");
        assert_eq!(rule_zh("sources.required"), "数据来源");
        assert_eq!(rule_zh("something.new"), "其他规则");
    }

    #[test]
    fn unknown_enum_values_do_not_panic() {
        assert_eq!(outcome_zh(99), "未知");
        assert_eq!(verdict_zh(-1), "未作结论");
        assert_eq!(verdict_zh(3), "需人工复核");
        assert_eq!(department_zh(42), "未知部门");
        assert_eq!(flag_zh(7), "其他提示");
        assert_eq!(proto_name(99, |v: Verdict| v.as_str_name()), "UNKNOWN_99");
        assert_eq!(proto_name(4, |v: Verdict| v.as_str_name()), "VERDICT_INCOMPLETE");
    }
}
