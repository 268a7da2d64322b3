//! The Chinese words of the report: protobuf enums, rule ids and flags, and
//! what to check on the home visit for each flag.
//!
//! Every function takes the raw `i32` of the record, because a record may
//! come from a newer build with values this one does not know; those print
//! as "未知" instead of failing.

use hedui_proto::v1::{
    AccountType, BusinessRole, Department, EntityStatus, EntityType, FlagKind, FundAccountStatus, HukouType,
    IdentityStatus, IncomeCategory, InsuranceState, InsuranceType, LifeStatus, PropertyUse, SourceOutcome,
    VehicleStatus, VehicleType, Verdict,
};

/// The Chinese name of a department (via `hedui_domain::department::name_zh`).
pub fn department_zh(v: i32) -> &'static str {
    match Department::try_from(v) {
        Ok(d) => hedui_domain::department::name_zh(d),
        Err(_) => "未知部门",
    }
}

/// A department's outcome: 已答复 / 无记录 / 超时 / 无法连接 / 出错 / 拒绝.
pub fn outcome_zh(v: i32) -> &'static str {
    match SourceOutcome::try_from(v) {
        Ok(SourceOutcome::Ok) => "已答复",
        Ok(SourceOutcome::NoRecord) => "无记录",
        Ok(SourceOutcome::Timeout) => "超时",
        Ok(SourceOutcome::Unavailable) => "无法连接",
        Ok(SourceOutcome::Error) => "出错",
        Ok(SourceOutcome::Refused) => "拒绝",
        Ok(SourceOutcome::Unspecified) | Err(_) => "未知",
    }
}

/// True when the department answered (OK or NO_RECORD); anything else is a
/// department to re-check.
pub fn answered(outcome: i32) -> bool {
    outcome == SourceOutcome::Ok as i32 || outcome == SourceOutcome::NoRecord as i32
}

/// The verdict in plain Chinese.
pub fn verdict_zh(v: i32) -> &'static str {
    match Verdict::try_from(v) {
        Ok(Verdict::MeetsCriteria) => "符合条件",
        Ok(Verdict::DoesNotMeet) => "不符合条件",
        Ok(Verdict::NeedsReview) => "需入户核查",
        Ok(Verdict::Incomplete) => "核对不完整",
        Ok(Verdict::Unspecified) | Err(_) => "未作结论",
    }
}

/// One sentence under the verdict saying what it means for the caseworker.
pub fn verdict_explained(v: i32) -> &'static str {
    match Verdict::try_from(v) {
        Ok(Verdict::MeetsCriteria) => "各必需部门均已答复，按所适用的政策未发现不符合条件的情况。",
        Ok(Verdict::DoesNotMeet) => "至少有一项规则判定为不符合条件，见下列依据。",
        Ok(Verdict::NeedsReview) => "有事项需要入户核查后再作决定，见下列依据和核查要点。",
        Ok(Verdict::Incomplete) => {
            "有必需部门未答复，不能作出结论，更不得视为符合条件；请对未答复的部门复核后再作决定。"
        }
        Ok(Verdict::Unspecified) | Err(_) => "记录中没有可识别的结论，请人工审核。",
    }
}

/// The Chinese name of a rule id, by its prefix.
pub fn rule_zh(rule: &str) -> &'static str {
    let group = rule.split('.').next().unwrap_or(rule);
    match (rule, group) {
        ("income.per_capita", _) => "收入",
        ("assets.per_capita", _) => "金融资产",
        ("vehicles.count", _) => "车辆",
        ("recent_purchase", _) => "近期购房",
        ("sources.required", _) => "数据来源",
        ("residence", _) => "城乡类别",
        (_, "real_estate") => "房产",
        (_, "business") => "经营情况",
        (_, "flags") => "核查提示",
        (_, "income") => "收入",
        (_, "assets") => "金融资产",
        (_, "vehicles") => "车辆",
        (_, "sources") => "数据来源",
        _ => "其他规则",
    }
}

/// The Chinese name of a flag kind.
pub fn flag_zh(v: i32) -> &'static str {
    match FlagKind::try_from(v) {
        Ok(FlagKind::IdentityMismatch) => "姓名与身份证号不符",
        Ok(FlagKind::DeceasedMember) => "成员已登记死亡",
        Ok(FlagKind::DepartmentsDisagree) => "部门信息不一致",
        Ok(FlagKind::RecentAcquisition) => "核对期内新增车辆或房产",
        Ok(FlagKind::IdentityNotFound) => "公安无此身份证号",
        Ok(FlagKind::Unspecified) | Err(_) => "其他提示",
    }
}

/// What to check on the home visit (入户核查要点) for a flag.
pub fn flag_advice_zh(v: i32) -> &'static str {
    match FlagKind::try_from(v) {
        Ok(FlagKind::IdentityMismatch) => {
            "当面核验该成员的居民身份证原件和户口簿，核对姓名（含曾用名、同音字、少数民族姓名译写）；\
             属登记错误的，请其到有关部门更正后重新核对"
        }
        Ok(FlagKind::DeceasedMember) => {
            "核实该成员是否已死亡、是否仍在领取养老金，必要时调取死亡证明；确已死亡的，应从家庭成员中减员后重新核对"
        }
        Ok(FlagKind::DepartmentsDisagree) => {
            "对照各部门记录逐项核实（例如死亡后仍有缴费、领取待遇或纳税记录，或各部门对姓名的核验结果不同），\
             查看相关凭证，问明原因并记录"
        }
        Ok(FlagKind::RecentAcquisition) => {
            "核实该车辆或房产的取得时间、方式（购买、继承、赠与）、资金来源和实际使用情况，\
             查看购车或购房合同、登记证书"
        }
        Ok(FlagKind::IdentityNotFound) => {
            "当面核验居民身份证原件和户口簿，核实身份证号码是否填错、户口是否已注销或迁出；更正后重新核对"
        }
        Ok(FlagKind::Unspecified) | Err(_) => "按提示所述情况入户核实，并记录核实结果",
    }
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
        assert_eq!(department_zh(42), "未知部门");
        assert_eq!(flag_zh(7), "其他提示");
        assert_eq!(proto_name(99, |v: Verdict| v.as_str_name()), "UNKNOWN_99");
        assert_eq!(proto_name(4, |v: Verdict| v.as_str_name()), "VERDICT_INCOMPLETE");
    }
}
