//! The report's content as JSON: the same facts as the HTML page, without
//! the Chinese labels except the home-visit advice, which is content.
//!
//! Enums are their proto names (`VERDICT_INCOMPLETE`), departments also get
//! their command-line slug, money is integer fen, areas are hundredths of a
//! square metre, and every resident ID number is masked with
//! [`crate::mask_id`]. `format_version` changes when a field is removed or
//! changes meaning; new fields may be added without a change.

use hedui_domain::department::{ALL, slug};
use hedui_proto::v1::person_result::Findings;
use hedui_proto::v1::{
    AccountType, BusinessRole, Department, EntityStatus, EntityType, FlagKind, FundAccountStatus, HukouType,
    IdentityStatus, IncomeCategory, InsuranceState, InsuranceType, LifeStatus, PersonResult, PropertyUse, Purpose,
    Relation, Residence, Review, ReviewOutcome, SourceOutcome, VehicleStatus, VehicleType, Verdict, VerificationRecord,
};
use serde_json::{Value, json};

use crate::words::{self, proto_name};
use crate::{ReportContext, assets_months, mask_id, matching_policy, recheck_command, recheck_departments, residence};

/// The version of this document's shape.
const FORMAT_VERSION: u32 = 1;

pub fn render(r: &VerificationRecord, ctx: &ReportContext<'_>, reviews: Option<&[Review]>) -> String {
    let mut doc = document(r, ctx);
    if let Some(reviews) = reviews {
        doc["reviews"] = reviews
            .iter()
            .map(|v| {
                json!({
                    "review_id": v.review_id,
                    "record_id": v.record_id,
                    "outcome": proto_name(v.outcome, |o: ReviewOutcome| o.as_str_name()),
                    "note": v.note,
                    "reviewer": v.reviewer,
                    "reviewer_role": v.reviewer_role,
                    "created_at": v.created_at,
                })
            })
            .collect();
    }
    // A Value always serializes.
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn department(v: i32) -> Value {
    let d = Department::try_from(v).ok();
    json!({
        "department": proto_name(v, |d: Department| d.as_str_name()),
        "slug": d.map(slug),
    })
}

fn document(r: &VerificationRecord, ctx: &ReportContext<'_>) -> Value {
    let h = r.household.clone().unwrap_or_default();
    let w = r.income_window.clone().unwrap_or_default();
    let recheck = recheck_departments(r);
    let incomplete = r.verdict == Verdict::Incomplete as i32;
    json!({
        "format_version": FORMAT_VERSION,
        "report": "household-economic-status-verification",
        "bureau": ctx.bureau,
        "county": ctx.county,
        "printed_at": ctx.printed_at,
        "record": {
            "record_id": r.record_id,
            "request_id": r.request_id,
            "created_at": r.created_at,
            "household_ref": h.household_ref,
            "residence": proto_name(h.residence, |v: Residence| v.as_str_name()),
            "purpose": proto_name(r.purpose, |v: Purpose| v.as_str_name()),
            "income_window": { "from_month": w.from_month, "to_month": w.to_month },
            "asset_reference_date": r.asset_reference_date,
            "authorization_ref": r.authorization_ref,
            "policy_version": r.policy_version,
            "version": r.version.max(1),
            "previous_record_id": r.previous_record_id,
            "superseded_by": ctx.superseded_by,
        },
        "authorization": authorization(r),
        "members": h.members.iter().enumerate().map(|(i, m)| json!({
            "number": i + 1,
            "name": m.name,
            "id_number_masked": mask_id(&m.id_number),
            "relation": proto_name(m.relation, |v: Relation| v.as_str_name()),
            "lacks_capacity": m.lacks_capacity,
        })).collect::<Vec<_>>(),
        "sources": sources(r),
        "findings": r.members.iter().enumerate().map(|(i, m)| json!({
            "member_number": i + 1,
            "results": m.result_departments.iter().zip(&m.results).map(|(d, res)| {
                let mut v = department(*d);
                v["identity_status"] = json!(proto_name(res.identity_status, |v: IdentityStatus| v.as_str_name()));
                v["findings"] = findings(res);
                v
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "summary": summary(r, ctx),
        "verdict": proto_name(r.verdict, |v: Verdict| v.as_str_name()),
        "reasons": r.reasons.iter().map(|x| json!({
            "rule": x.rule,
            "leads_to": proto_name(x.leads_to, |v: Verdict| v.as_str_name()),
            "detail": x.detail,
            "detail_zh": hedui_i18n::reason(hedui_i18n::Lang::Zh, x),
        })).collect::<Vec<_>>(),
        "flags": r.flags.iter().map(|f| json!({
            "kind": proto_name(f.kind, |v: FlagKind| v.as_str_name()),
            "member_number": f.member_index.map(|i| i + 1),
            "departments": f.departments.iter().map(|d| department(*d)).collect::<Vec<_>>(),
            "detail": f.detail,
            "detail_zh": hedui_i18n::flag_detail(hedui_i18n::Lang::Zh, f),
            "home_visit_advice_zh": words::flag_advice_zh(f.kind),
        })).collect::<Vec<_>>(),
        "recheck": if incomplete {
            json!({
                "departments": recheck.iter().map(|d| department(*d as i32)).collect::<Vec<_>>(),
                "command": recheck_command(r, &recheck),
            })
        } else {
            Value::Null
        },
        "integrity": {
            "algorithm": "SHA-256 over the protobuf encoding of hedui.v1.VerificationRecord with digest set to the empty string",
            "digest": r.digest,
            "digest_matches": hedui_domain::digest::verify(r),
        },
    })
}

fn authorization(r: &VerificationRecord) -> Value {
    let Some(a) = &r.authorization else {
        return Value::Null;
    };
    json!({
        "form_number": a.form_number,
        "purpose": proto_name(a.purpose, |v: Purpose| v.as_str_name()),
        "signed_date": a.signed_date,
        "valid_until": a.valid_until,
        "scan_sha256": a.scan_sha256,
        "signers": a.signers.iter().map(|s| json!({
            "name": s.name,
            "id_number_masked": mask_id(&s.id_number),
            "as_guardian": s.as_guardian,
            "on_behalf_of": s.on_behalf_of.iter().map(|id| json!({
                "member_number": crate::member_by_id(r, id).map(|i| i + 1),
                "id_number_masked": mask_id(id),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn sources(r: &VerificationRecord) -> Vec<Value> {
    let mut out: Vec<Value> = r
        .sources
        .iter()
        .map(|s| {
            let mut v = department(s.department);
            v["outcome"] = json!(proto_name(s.outcome, |v: SourceOutcome| v.as_str_name()));
            v["latency_ms"] = json!(s.latency_ms);
            v["data_as_of"] = json!(s.data_as_of);
            v["detail"] = json!(s.detail);
            v["note_zh"] = json!(hedui_i18n::source_note(hedui_i18n::Lang::Zh, s));
            v
        })
        .collect();
    for d in ALL {
        if !r.sources.iter().any(|s| s.department == d as i32) {
            let mut v = department(d as i32);
            v["outcome"] = Value::Null;
            out.push(v);
        }
    }
    out
}

fn summary(r: &VerificationRecord, ctx: &ReportContext<'_>) -> Value {
    let s = r.summary.clone().unwrap_or_default();
    let policy = matching_policy(r, ctx);
    let res = residence(r);
    let months = assets_months(r);
    let thresholds = match policy {
        Some(p) => json!({
            "policy_version": p.version(),
            "monthly_standard_fen": p.monthly_standard_fen(res),
            "urban_monthly_standard_fen": p.monthly_standard_fen(Residence::Urban),
            "rural_monthly_standard_fen": p.monthly_standard_fen(Residence::Rural),
            "assets_max_months_of_standard": months,
            "assets_max_per_capita_fen": months.map(|n| p.monthly_standard_fen(res).saturating_mul(i64::from(n))),
        }),
        None => Value::Null,
    };
    json!({
        "member_count": s.member_count,
        "window_months": s.window_months,
        "window_income_fen": s.window_income_fen,
        "yearly_income_per_capita_fen": s.yearly_income_per_capita_fen,
        "monthly_income_per_capita_fen": s.monthly_income_per_capita_fen,
        "financial_assets_fen": s.financial_assets_fen,
        "financial_assets_per_capita_fen": s.financial_assets_per_capita_fen,
        "vehicles": s.vehicles.iter().map(|v| json!({
            "vehicle_type": proto_name(v.vehicle_type, |t: VehicleType| t.as_str_name()),
            "count": v.count,
        })).collect::<Vec<_>>(),
        "residential_properties": s.residential_properties,
        "commercial_properties": s.commercial_properties,
        "active_business_roles": s.active_business_roles,
        "subscribed_capital_fen": s.subscribed_capital_fen,
        "housing_fund_balance_fen": s.housing_fund_balance_fen,
        "housing_fund_monthly_contribution_fen": s.housing_fund_monthly_contribution_fen,
        "insured_contributing": s.insured_contributing,
        "insured_receiving": s.insured_receiving,
        "monthly_benefits_fen": s.monthly_benefits_fen,
        "housing_purchases": s.housing_purchases,
        "thresholds": thresholds,
        "policy_supplied_version": ctx.policy.map(|p| p.version()),
    })
}

fn findings(res: &PersonResult) -> Value {
    let Some(f) = &res.findings else {
        return Value::Null;
    };
    match f {
        Findings::PublicSecurity(ps) => json!({
            "public_security": {
                "life_status": proto_name(ps.life_status, |v: LifeStatus| v.as_str_name()),
                "death_date": ps.death_date,
                "hukou": ps.hukou.as_ref().map(|h| json!({
                    "address": h.address,
                    "hukou_type": proto_name(h.hukou_type, |v: HukouType| v.as_str_name()),
                    "relation_to_head": h.relation_to_head,
                })),
                "vehicles": ps.vehicles.iter().map(|v| json!({
                    "plate": v.plate,
                    "vehicle_type": proto_name(v.vehicle_type, |t: VehicleType| t.as_str_name()),
                    "registration_date": v.registration_date,
                    "status": proto_name(v.status, |t: VehicleStatus| t.as_str_name()),
                })).collect::<Vec<_>>(),
            }
        }),
        Findings::NaturalResources(nr) => json!({
            "natural_resources": {
                "properties": nr.properties.iter().map(|p| json!({
                    "certificate_number": p.certificate_number,
                    "location": p.location,
                    "use": proto_name(p.r#use, |v: PropertyUse| v.as_str_name()),
                    "floor_area_centi_m2": p.floor_area_centi_m2,
                    "share_percent": p.share_percent,
                    "acquired_date": p.acquired_date,
                })).collect::<Vec<_>>(),
            }
        }),
        Findings::Housing(h) => json!({
            "housing": {
                "purchases": h.purchases.iter().map(|p| json!({
                    "contract_number": p.contract_number,
                    "location": p.location,
                    "floor_area_centi_m2": p.floor_area_centi_m2,
                    "price_fen": p.price_fen,
                    "signed_date": p.signed_date,
                })).collect::<Vec<_>>(),
                "leases": h.leases.iter().map(|l| json!({
                    "location": l.location,
                    "monthly_rent_fen": l.monthly_rent_fen,
                    "start_date": l.start_date,
                    "end_date": l.end_date,
                })).collect::<Vec<_>>(),
                "public_rentals": h.public_rentals.iter().map(|p| json!({
                    "location": p.location,
                    "allocated_date": p.allocated_date,
                })).collect::<Vec<_>>(),
                "self_built": h.self_built.iter().map(|s| json!({
                    "location": s.location,
                    "danger_house_renovation": s.danger_house_renovation,
                    "record_date": s.record_date,
                })).collect::<Vec<_>>(),
            }
        }),
        Findings::Tax(t) => {
            // The records, and the same sums by category as the HTML shows.
            let mut by: std::collections::BTreeMap<i32, (i64, i64, Vec<&str>)> = Default::default();
            for rec in &t.records {
                let e = by.entry(rec.category).or_default();
                e.0 = e.0.saturating_add(rec.taxable_income_fen);
                e.1 = e.1.saturating_add(rec.tax_paid_fen);
                e.2.push(rec.period.as_str());
            }
            json!({
                "tax": {
                    "by_category": by.iter().map(|(c, (income, tax, months))| {
                        let mut months: Vec<&str> = months.clone();
                        months.sort_unstable();
                        months.dedup();
                        json!({
                            "category": proto_name(*c, |v: IncomeCategory| v.as_str_name()),
                            "taxable_income_fen": income,
                            "tax_paid_fen": tax,
                            "months": months,
                        })
                    }).collect::<Vec<_>>(),
                    "records": t.records.iter().map(|rec| json!({
                        "period": rec.period,
                        "category": proto_name(rec.category, |v: IncomeCategory| v.as_str_name()),
                        "taxable_income_fen": rec.taxable_income_fen,
                        "tax_paid_fen": rec.tax_paid_fen,
                    })).collect::<Vec<_>>(),
                }
            })
        }
        Findings::MarketSupervision(ms) => json!({
            "market_supervision": {
                "roles": ms.roles.iter().map(|b| json!({
                    "entity_name": b.entity_name,
                    "uscc": b.uscc,
                    "entity_type": proto_name(b.entity_type, |v: EntityType| v.as_str_name()),
                    "role": proto_name(b.role, |v: BusinessRole| v.as_str_name()),
                    "subscribed_capital_fen": b.subscribed_capital_fen,
                    "status": proto_name(b.status, |v: EntityStatus| v.as_str_name()),
                    "established_date": b.established_date,
                })).collect::<Vec<_>>(),
            }
        }),
        Findings::HousingFund(hf) => json!({
            "housing_fund": {
                "accounts": hf.accounts.iter().map(|a| json!({
                    "status": proto_name(a.status, |v: FundAccountStatus| v.as_str_name()),
                    "balance_fen": a.balance_fen,
                    "monthly_contribution_fen": a.monthly_contribution_fen,
                    "employer": a.employer,
                    "withdrawals_in_window_fen": a.withdrawals_in_window_fen,
                })).collect::<Vec<_>>(),
            }
        }),
        Findings::Pboc(p) => json!({
            "pboc": {
                "accounts": p.accounts.iter().map(|a| json!({
                    "bank": a.bank,
                    "account_type": proto_name(a.account_type, |v: AccountType| v.as_str_name()),
                    "balance_fen": a.balance_fen,
                    "masked_account_number": a.masked_account_number,
                })).collect::<Vec<_>>(),
                "products": p.products.iter().map(|x| json!({
                    "issuer": x.issuer,
                    "kind": x.kind,
                    "value_fen": x.value_fen,
                })).collect::<Vec<_>>(),
            }
        }),
        Findings::Hrss(h) => json!({
            "hrss": {
                "insurance": h.insurance.iter().map(|i| json!({
                    "insurance_type": proto_name(i.insurance_type, |v: InsuranceType| v.as_str_name()),
                    "state": proto_name(i.state, |v: InsuranceState| v.as_str_name()),
                    "monthly_base_fen": i.monthly_base_fen,
                    "monthly_benefit_fen": i.monthly_benefit_fen,
                    "employer": i.employer,
                })).collect::<Vec<_>>(),
            }
        }),
    }
}
