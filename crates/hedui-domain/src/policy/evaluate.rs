//! Applying a policy to one checked record: one check per rule, each adding
//! its reason, and the overall verdict from the reasons.

use super::words::*;
use super::*;

impl Policy {
    /// Applies the policy to one checked record. Pure and deterministic: the
    /// same input gives the same verdict and the same reasons in the same
    /// order.
    pub fn evaluate(&self, input: &PolicyInput<'_>) -> Evaluation {
        let mut reasons = Vec::new();
        self.check_sources(input, &mut reasons);
        self.check_residence(input, &mut reasons);
        self.check_income(input, &mut reasons);
        self.check_assets(input, &mut reasons);
        self.check_vehicles(input, &mut reasons);
        self.check_real_estate(input, &mut reasons);
        self.check_recent_purchases(input, &mut reasons);
        self.check_business(input, &mut reasons);
        self.check_flags(input, &mut reasons);
        Evaluation {
            verdict: overall_verdict(&reasons),
            reasons,
        }
    }

    /// Fail closed: every required department must have answered.
    fn check_sources(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let mut answered = Vec::new();
        let before = reasons.len();
        for &dept in &self.required_departments {
            let slug = department::slug(dept);
            // A department may appear more than once in a malformed record;
            // every entry must be an answer, so one failure is enough.
            let results: Vec<&SourceResult> = input.sources.iter().filter(|s| s.department == dept as i32).collect();
            if results.is_empty() {
                reasons.push(reason(
                    "sources.required",
                    Verdict::Incomplete,
                    format!("required source {slug} has no recorded outcome"),
                ));
                continue;
            }
            for result in results {
                let outcome = SourceOutcome::try_from(result.outcome).unwrap_or(SourceOutcome::Unspecified);
                if matches!(outcome, SourceOutcome::Ok | SourceOutcome::NoRecord) {
                    answered.push(format!("{slug} {}", source_outcome_slug(outcome)));
                } else {
                    let mut detail = format!(
                        "required source {slug} did not answer: outcome {}",
                        source_outcome_slug(outcome)
                    );
                    if !result.detail.is_empty() {
                        detail.push_str(&format!(" ({})", result.detail));
                    }
                    reasons.push(reason("sources.required", Verdict::Incomplete, detail));
                }
            }
        }
        if reasons.len() == before {
            reasons.push(reason(
                "sources.required",
                Verdict::MeetsCriteria,
                format!(
                    "all {} required sources answered: {}",
                    self.required_departments.len(),
                    answered.join(", ")
                ),
            ));
        }
    }

    /// An unspecified residence is malformed input; the lower standard is
    /// used and a caseworker must look.
    fn check_residence(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        if input.residence == Residence::Unspecified {
            reasons.push(reason(
                "residence",
                Verdict::NeedsReview,
                format!(
                    "the household's residence is not set; the lower standard of {} yuan was applied",
                    yuan(self.monthly_standard_fen(Residence::Unspecified))
                ),
            ));
        }
    }

    fn check_income(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let income = input.summary.monthly_income_per_capita_fen;
        let standard = self.monthly_standard_fen(input.residence);
        let which = residence_word(input.residence);
        let figures = format!("per-capita monthly income {} yuan", yuan(income));
        let (leads_to, detail) = if income < standard {
            (
                Verdict::MeetsCriteria,
                format!("{figures} is below the {which} standard of {} yuan", yuan(standard)),
            )
        } else if income == standard && self.income.meets_when_equal {
            (
                Verdict::MeetsCriteria,
                format!(
                    "{figures} is equal to the {which} standard of {} yuan, which the policy accepts",
                    yuan(standard)
                ),
            )
        } else if income == standard {
            (
                self.income.outcome.verdict(),
                format!(
                    "{figures} is equal to the {which} standard of {} yuan; the policy requires it to be below",
                    yuan(standard)
                ),
            )
        } else {
            (
                self.income.outcome.verdict(),
                format!("{figures} is above the {which} standard of {} yuan", yuan(standard)),
            )
        };
        reasons.push(reason("income.per_capita", leads_to, detail));
    }

    fn check_assets(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let assets = input.summary.financial_assets_per_capita_fen;
        let months = self.assets.max_months_of_standard_per_capita;
        let standard = self.monthly_standard_fen(input.residence);
        let limit = standard.saturating_mul(i64::from(months));
        let which = residence_word(input.residence);
        let figures = format!("financial assets per person {} yuan", yuan(assets));
        let limit_text = format!("{months} months of the {which} standard ({} yuan)", yuan(limit));
        let (leads_to, detail) = if assets <= limit {
            (Verdict::MeetsCriteria, format!("{figures} are at most {limit_text}"))
        } else {
            (self.assets.outcome.verdict(), format!("{figures} exceed {limit_text}"))
        };
        reasons.push(reason("assets.per_capita", leads_to, detail));
    }

    /// Counts vehicles from the public-security detail rather than the
    /// summary, because which statuses count is the policy's decision.
    /// A vehicle of an unknown type is never exempt.
    fn check_vehicles(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        // Keyed by the enum's number so the listing follows enum order.
        let mut non_exempt: BTreeMap<i32, u32> = BTreeMap::new();
        let mut exempt = 0u32;
        for (_, findings) in findings_of(input.members) {
            let Findings::PublicSecurity(ps) = findings else {
                continue;
            };
            for v in &ps.vehicles {
                let status = VehicleStatus::try_from(v.status).unwrap_or(VehicleStatus::Unspecified);
                if !matches!(status, VehicleStatus::Active | VehicleStatus::Restricted) {
                    continue;
                }
                let kind = VehicleType::try_from(v.vehicle_type).unwrap_or(VehicleType::Unspecified);
                if kind != VehicleType::Unspecified && self.vehicles.exempt_types.contains(&kind) {
                    exempt += 1;
                } else {
                    *non_exempt.entry(kind as i32).or_default() += 1;
                }
            }
        }
        let total: u32 = non_exempt.values().sum();
        let by_type: Vec<String> = non_exempt
            .iter()
            .map(|(&k, n)| {
                format!(
                    "{} {n}",
                    vehicle_type_slug(VehicleType::try_from(k).unwrap_or(VehicleType::Unspecified))
                )
            })
            .collect();
        let mut detail = format!(
            "the household has {total} active non-exempt {}",
            plural(total == 1, "vehicle", "vehicles")
        );
        if !by_type.is_empty() {
            detail.push_str(&format!(" ({})", by_type.join(", ")));
        }
        detail.push_str(&format!("; the policy allows at most {}", self.vehicles.max_non_exempt));
        if exempt > 0 {
            detail.push_str(&format!(
                "; {exempt} active {} of an exempt type not counted",
                plural(exempt == 1, "vehicle", "vehicles")
            ));
        }
        let leads_to = if total > self.vehicles.max_non_exempt {
            self.vehicles.outcome.verdict()
        } else {
            Verdict::MeetsCriteria
        };
        reasons.push(reason("vehicles.count", leads_to, detail));
    }

    /// Uses the summary's counts, which the merge has already de-duplicated
    /// across members who share a property.
    fn check_real_estate(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let rule = &self.real_estate;
        let n = input.summary.residential_properties;
        let leads_to = if n > rule.max_residential {
            rule.residential_outcome.verdict()
        } else {
            Verdict::MeetsCriteria
        };
        reasons.push(reason(
            "real_estate.residential_count",
            leads_to,
            format!(
                "the household holds {n} residential {}; the policy allows at most {}",
                plural(n == 1, "property or homestead", "properties or homesteads"),
                rule.max_residential
            ),
        ));

        let n = input.summary.commercial_properties;
        let leads_to = if n > rule.max_commercial {
            rule.commercial_outcome.verdict()
        } else {
            Verdict::MeetsCriteria
        };
        reasons.push(reason(
            "real_estate.commercial",
            leads_to,
            format!(
                "the household holds {n} commercial or industrial {}; the policy allows at most {}",
                plural(n == 1, "property", "properties"),
                rule.max_commercial
            ),
        ));
    }

    /// A purchase contract or a property acquisition dated on or after the
    /// cut-off (N months before the reference date) counts. Dates after the
    /// reference date count too: they are even more recent. Records without
    /// a readable date cannot be placed and are reported, not counted.
    fn check_recent_purchases(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let rule = &self.recent_purchase;
        let cutoff = input
            .reference_date
            .checked_sub_months(Months::new(rule.months))
            .unwrap_or(NaiveDate::MIN);
        let window = format!(
            "within {} months before the reference date {} (on or after {})",
            rule.months, input.reference_date, cutoff
        );
        let mut fired = 0usize;
        let mut undated = 0usize;
        for (member, findings) in findings_of(input.members) {
            let dated: Vec<(&str, String)> = match findings {
                Findings::Housing(h) => h
                    .purchases
                    .iter()
                    .map(|p| {
                        (
                            p.signed_date.as_str(),
                            "a commercial-housing purchase contract signed".to_owned(),
                        )
                    })
                    .collect(),
                Findings::NaturalResources(nr) => nr
                    .properties
                    .iter()
                    .filter_map(|p| {
                        let use_ = PropertyUse::try_from(p.r#use).unwrap_or(PropertyUse::Unspecified);
                        // An unknown use is counted: the rule must not miss a
                        // purchase because the registration is incomplete.
                        (use_ == PropertyUse::Unspecified || rule.property_uses.contains(&use_))
                            .then(|| (p.acquired_date.as_str(), property_acquired_words(use_).to_owned()))
                    })
                    .collect(),
                _ => continue,
            };
            for (date, what) in dated {
                match parse_date(date) {
                    Some(d) if d >= cutoff => {
                        fired += 1;
                        reasons.push(reason(
                            "recent_purchase",
                            rule.outcome.verdict(),
                            format!("member {member} has {what} on {d}, {window}"),
                        ));
                    }
                    Some(_) => {}
                    None => undated += 1,
                }
            }
        }
        if fired == 0 {
            let mut detail = format!("no purchase contract or counted property acquisition is dated {window}");
            if undated > 0 {
                detail.push_str(&format!(
                    "; {undated} {} without a readable date could not be placed",
                    plural(undated == 1, "record", "records")
                ));
            }
            reasons.push(reason("recent_purchase", Verdict::MeetsCriteria, detail));
        }
    }

    fn check_business(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let rule = &self.business;
        let mut fired = 0usize;
        for (member, findings) in findings_of(input.members) {
            let Findings::MarketSupervision(ms) = findings else {
                continue;
            };
            for r in &ms.roles {
                if EntityStatus::try_from(r.status) != Ok(EntityStatus::Active) {
                    continue;
                }
                let Ok(role) = BusinessRole::try_from(r.role) else {
                    continue;
                };
                if !rule.roles.contains(&role) {
                    continue;
                }
                let entity = EntityType::try_from(r.entity_type).unwrap_or(EntityType::Unspecified);
                let outcome = if entity == EntityType::IndividualBusiness {
                    rule.individual_business_outcome
                } else {
                    rule.outcome
                };
                fired += 1;
                reasons.push(reason(
                    "business.role",
                    outcome.verdict(),
                    format!(
                        "member {member} is {} of an active {}",
                        business_role_slug(role),
                        entity_type_words(entity)
                    ),
                ));
            }
        }
        if fired == 0 {
            let roles: Vec<&str> = rule.roles.iter().map(|r| business_role_slug(*r)).collect();
            let detail = if roles.is_empty() {
                "the policy counts no business role".to_owned()
            } else {
                format!(
                    "no member holds a counted role ({}) in an active entity",
                    roles.join(", ")
                )
            };
            reasons.push(reason("business.role", Verdict::MeetsCriteria, detail));
        }

        let capital = input.summary.subscribed_capital_fen;
        let figures = format!("subscribed capital in active entities {} yuan", yuan(capital));
        let limit = yuan(rule.max_subscribed_capital_fen);
        let (leads_to, detail) = if capital > rule.max_subscribed_capital_fen {
            (
                rule.subscribed_capital_outcome.verdict(),
                format!("{figures} is above the limit of {limit} yuan"),
            )
        } else {
            (
                Verdict::MeetsCriteria,
                format!("{figures} is at most the limit of {limit} yuan"),
            )
        };
        reasons.push(reason("business.subscribed_capital", leads_to, detail));
    }

    /// Flags of a listed kind lead to review. A flag of a kind this code does
    /// not know also leads to review, since ignoring it could hide a problem.
    fn check_flags(&self, input: &PolicyInput<'_>, reasons: &mut Vec<Reason>) {
        let mut fired = 0usize;
        for flag in input.flags {
            let kind = FlagKind::try_from(flag.kind).unwrap_or(FlagKind::Unspecified);
            if kind == FlagKind::Unspecified || self.flags.needs_review.contains(&kind) {
                fired += 1;
                reasons.push(reason(
                    &format!("flags.{}", flag_kind_slug(kind)),
                    Verdict::NeedsReview,
                    flag.detail.clone(),
                ));
            }
        }
        if fired == 0 {
            let kinds: Vec<&str> = self.flags.needs_review.iter().map(|k| flag_kind_slug(*k)).collect();
            let detail = if kinds.is_empty() {
                "the policy sends no flag kind to review".to_owned()
            } else {
                format!("no flag of a kind that needs review ({}) was raised", kinds.join(", "))
            };
            reasons.push(reason("flags", Verdict::MeetsCriteria, detail));
        }
    }
}

/// INCOMPLETE beats everything (fail closed), then DOES_NOT_MEET, then
/// NEEDS_REVIEW; only a record with nothing else meets the criteria.
pub(super) fn overall_verdict(reasons: &[Reason]) -> Verdict {
    let has = |v: Verdict| reasons.iter().any(|r| r.leads_to == v as i32);
    if has(Verdict::Incomplete) {
        Verdict::Incomplete
    } else if has(Verdict::DoesNotMeet) {
        Verdict::DoesNotMeet
    } else if has(Verdict::NeedsReview) || has(Verdict::Unspecified) {
        // An unspecified verdict cannot come from the rules above; treating
        // it as review keeps a future mistake from turning into a pass.
        Verdict::NeedsReview
    } else {
        Verdict::MeetsCriteria
    }
}

pub(super) fn reason(rule: &str, leads_to: Verdict, detail: String) -> Reason {
    Reason {
        rule: rule.to_owned(),
        leads_to: leads_to as i32,
        detail,
    }
}

/// Every member's findings with the member's 1-based number, in member order
/// and then result order, which keeps the reasons deterministic.
pub(super) fn findings_of(members: &[MemberFindings]) -> impl Iterator<Item = (usize, &Findings)> {
    members.iter().enumerate().flat_map(|(i, m)| {
        m.results
            .iter()
            .filter_map(move |r| r.findings.as_ref().map(|f| (i + 1, f)))
    })
}

pub(super) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Picks the singular or plural noun; `is_one` is whether the count is 1.
pub(super) fn plural<'a>(is_one: bool, one: &'a str, many: &'a str) -> &'a str {
    if is_one { one } else { many }
}
