use super::*;
use hedui_proto::v1::{
    BankAccount, Household, IdentityStatus, LifeStatus, Member, PbocFindings, PublicSecurityFindings, Purpose,
    Relation, Residence,
};

const POLICY: &str = include_str!("../../../../deploy/policies/example.toml");
const A: &str = "520626194701205831";
const B: &str = "520626195711191204";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

fn policy() -> Policy {
    Policy::from_toml(POLICY).unwrap()
}

fn submission(key: &str) -> ValidatedSubmission {
    let req = SubmitVerificationRequest {
        idempotency_key: key.into(),
        household: Some(Household {
            household_ref: "H1".into(),
            residence: Residence::Rural as i32,
            members: vec![
                Member {
                    name: "杨光明".into(),
                    id_number: A.into(),
                    relation: Relation::Applicant as i32,
                    lacks_capacity: false,
                },
                Member {
                    name: "田秀英".into(),
                    id_number: B.into(),
                    relation: Relation::Spouse as i32,
                    lacks_capacity: false,
                },
            ],
        }),
        purpose: Purpose::MinimumLiving as i32,
        income_window: Some(hedui_proto::v1::IncomeWindow {
            from_month: "2025-11".into(),
            to_month: "2026-10".into(),
        }),
        asset_reference_date: "2026-11-26".into(),
        authorization_ref: "SQ-1".into(),
        authorization: None,
    };
    ValidatedSubmission::parse(&req, today()).unwrap()
}

fn header(id: &str) -> RecordHeader {
    RecordHeader {
        record_id: id.into(),
        request_id: format!("q-{id}"),
        created_at: "2026-11-26T00:00:00.000Z".into(),
    }
}

fn result(id: &str, status: IdentityStatus, findings: Option<Findings>) -> PersonResult {
    PersonResult {
        id_number: id.into(),
        identity_status: status as i32,
        findings,
    }
}

/// Public security knows both members; PBOC holds `balance_fen` for A; the
/// rest know nobody. Departments in `failed` did not answer.
fn answers(balance_fen: i64, failed: &[Department]) -> Vec<SourceAnswer> {
    ALL.iter()
        .map(|d| {
            if failed.contains(d) {
                return SourceAnswer::failed(*d, SourceOutcome::Unavailable, 0, "connection refused");
            }
            let results = match d {
                Department::PublicSecurity => [A, B]
                    .iter()
                    .map(|id| {
                        let ps = PublicSecurityFindings {
                            life_status: LifeStatus::Alive as i32,
                            ..Default::default()
                        };
                        result(id, IdentityStatus::Found, Some(Findings::PublicSecurity(ps)))
                    })
                    .collect(),
                Department::Pboc => vec![
                    result(
                        A,
                        IdentityStatus::Found,
                        Some(Findings::Pboc(PbocFindings {
                            accounts: vec![BankAccount {
                                bank: "农业银行".into(),
                                account_type: hedui_proto::v1::AccountType::Demand as i32,
                                balance_fen,
                                ..Default::default()
                            }],
                            products: Vec::new(),
                        })),
                    ),
                    result(B, IdentityStatus::NotFound, None),
                ],
                _ => vec![
                    result(A, IdentityStatus::NotFound, None),
                    result(B, IdentityStatus::NotFound, None),
                ],
            };
            SourceAnswer::answered(
                *d,
                7,
                ValidatedReply {
                    data_as_of: today(),
                    results,
                },
            )
        })
        .collect()
}

fn first(failed: &[Department]) -> VerificationRecord {
    build_record(
        header("v1"),
        &submission("k1"),
        None,
        answers(50_000, failed),
        &policy(),
    )
}

#[test]
fn a_first_record_is_version_one_and_links_nowhere() {
    let r = first(&[]);
    assert_eq!(r.version, 1);
    assert!(r.previous_record_id.is_empty());
    assert!(unanswered(&r).is_empty());
}

#[test]
fn the_digest_covers_version_and_link() {
    let r = first(&[]);
    let mut v = r.clone();
    v.version = 2;
    assert!(!crate::digest::verify(&v));
    let mut l = r.clone();
    l.previous_record_id = "elsewhere".into();
    assert!(!crate::digest::verify(&l));
}

#[test]
fn unanswered_departments_are_what_a_recheck_asks_by_default() {
    let r = first(&[Department::Tax, Department::Pboc]);
    assert_eq!(r.verdict, Verdict::Incomplete as i32);
    assert_eq!(unanswered(&r), vec![Department::Tax, Department::Pboc]);
    assert_eq!(departments_to_ask(&r, &[]), vec![Department::Tax, Department::Pboc]);
    // Named departments replace the default, in department order.
    assert_eq!(
        departments_to_ask(&r, &[Department::Hrss, Department::Housing]),
        vec![Department::Housing, Department::Hrss]
    );
    assert!(departments_to_ask(&first(&[]), &[]).is_empty());
}

#[test]
fn department_values_and_slugs_are_checked_by_position() {
    assert_eq!(
        parse_departments(&[Department::Pboc as i32, Department::Tax as i32, Department::Pboc as i32]).unwrap(),
        vec![Department::Tax, Department::Pboc]
    );
    let e = parse_departments(&[Department::Tax as i32, 0, 99]).unwrap_err();
    let fields: Vec<&str> = e.violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["departments[1]", "departments[2]"]);
    assert!(e.violations[1].description.contains("public-security"));
}

#[test]
fn kept_answers_rebuild_the_same_record() {
    // Rebuilding every department from a record and merging again gives the
    // same content: nothing is lost by keeping answers.
    let r = first(&[Department::Tax]);
    let kept = kept_answers(&r, &ALL).unwrap();
    assert_eq!(kept.len(), 8);
    assert_eq!(kept[3].outcome, SourceOutcome::Unavailable);
    assert_eq!(kept[3].detail, "connection refused");
    let again = build_record(header("v1"), &submission("k1"), None, kept, &policy());
    assert_eq!(again, r);
}

#[test]
fn kept_answers_refuse_a_record_missing_a_members_result() {
    let mut r = first(&[]);
    r.members[1].results.pop();
    r.members[1].result_departments.pop();
    let e = kept_answers(&r, &[Department::Hrss]).unwrap_err();
    assert!(e.contains("members[1]"), "{e}");
}

#[test]
fn the_next_version_links_back_and_the_diff_says_what_changed() {
    let v1 = first(&[Department::Pboc]);
    assert_eq!(v1.verdict, Verdict::Incomplete as i32);
    let ask = departments_to_ask(&v1, &[]);
    let keep: Vec<Department> = ALL.iter().copied().filter(|d| !ask.contains(d)).collect();
    let mut all = kept_answers(&v1, &keep).unwrap();
    all.extend(answers(50_000, &[]).into_iter().filter(|a| ask.contains(&a.department)));
    let sub = submission_of(&v1, "k2", today()).unwrap();
    assert_eq!(sub.household, submission("k1").household);
    assert_eq!(sub.idempotency_key, "k2");
    let v2 = build_next_version(header("v2"), &sub, None, all, &policy(), &v1);
    assert_eq!(v2.version, 2);
    assert_eq!(v2.previous_record_id, "v1");
    assert!(crate::digest::verify(&v2));
    assert_eq!(v2.verdict, Verdict::MeetsCriteria as i32, "{:#?}", v2.reasons);

    let c = changes(&v1, &v2);
    let find = |what: &str| c.iter().find(|x| x.what == what);
    let src = find("source pboc").expect("source change");
    assert_eq!((src.before.as_str(), src.after.as_str()), ("unavailable", "ok"));
    let f = find("member 1 findings from pboc").expect("findings change");
    assert_eq!(f.before, "no answer");
    assert!(f.after.contains("1 account(s)"), "{}", f.after);
    let b = find("member 2 findings from pboc").expect("findings change");
    assert_eq!(b.after, "not found");
    let fa = find("summary.financial_assets_fen").expect("summary change");
    assert_eq!(fa.before, yuan(0));
    assert_eq!(fa.after, yuan(50_000));
    let v = find("verdict").expect("verdict change");
    assert_eq!((v.before.as_str(), v.after.as_str()), ("INCOMPLETE", "MEETS_CRITERIA"));
    // Departments that did not change are not listed.
    assert!(find("source tax").is_none());
    assert!(find("member 1 findings from tax").is_none());

    // A third version from the second counts on.
    let v3 = build_next_version(
        header("v3"),
        &sub,
        None,
        kept_answers(&v2, &ALL).unwrap(),
        &policy(),
        &v2,
    );
    assert_eq!((v3.version, v3.previous_record_id.as_str()), (3, "v2"));
    assert!(changes(&v2, &v3).is_empty(), "{:#?}", changes(&v2, &v3));
}

#[test]
fn a_changed_balance_shows_in_findings_and_summary() {
    let v1 = first(&[]);
    let v2 = build_next_version(
        header("v2"),
        &submission("k2"),
        None,
        answers(2_000_000_000, &[]),
        &policy(),
        &v1,
    );
    let c = changes(&v1, &v2);
    assert!(c.iter().any(|x| x.what == "member 1 findings from pboc"));
    assert!(c.iter().any(|x| x.what == "summary.financial_assets_per_capita_fen"));
    assert!(c.iter().any(|x| x.what == "verdict"), "{c:#?}");
    assert!(!c.iter().any(|x| x.what.starts_with("source ")), "{c:#?}");
}

#[test]
fn old_records_without_a_version_count_as_version_one() {
    let mut r = first(&[]);
    r.version = 0;
    assert_eq!(version_of(&r), 1);
    let next = build_next_version(header("v2"), &submission("k2"), None, answers(0, &[]), &policy(), &r);
    assert_eq!(next.version, 2);
}
