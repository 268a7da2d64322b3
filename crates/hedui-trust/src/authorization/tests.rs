use chrono::NaiveDate;
use hedui_domain::household::ValidatedHousehold;
use hedui_domain::ids::resident_check_char;
use hedui_proto::v1::{Authorization, Household, Member, Purpose, Relation, Residence, Signer};
use proptest::prelude::*;

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A valid ID number born on `birth` (`YYYYMMDD`) with sequence `seq`.
fn id(birth: &str, seq: u32) -> String {
    let first17 = format!("520626{birth}{seq:03}");
    format!("{first17}{}", resident_check_char(&first17).unwrap())
}

const NAMES: [&str; 6] = ["王秀英", "李建国", "王小明", "王德福", "张桂兰", "刘志强"];

/// The household used by most tests: two adults, a minor, and an adult
/// grandfather who lacks legal capacity.
fn family_members() -> Vec<Member> {
    vec![
        member(NAMES[0], &id("19800101", 1), Relation::Applicant, false),
        member(NAMES[1], &id("19780505", 2), Relation::Spouse, false),
        member(NAMES[2], &id("20150601", 3), Relation::Child, false),
        member(NAMES[3], &id("19450303", 4), Relation::Parent, true),
    ]
}

fn member(name: &str, id_number: &str, relation: Relation, lacks_capacity: bool) -> Member {
    Member {
        name: name.into(),
        id_number: id_number.into(),
        relation: relation as i32,
        lacks_capacity,
    }
}

fn household(members: Vec<Member>) -> ValidatedHousehold {
    let h = Household {
        household_ref: "DJ-2026-0001".into(),
        residence: Residence::Rural as i32,
        members,
    };
    ValidatedHousehold::parse(&h, today(), "household").unwrap()
}

fn family() -> ValidatedHousehold {
    household(family_members())
}

fn own(name: &str, id_number: &str) -> Signer {
    Signer {
        name: name.into(),
        id_number: id_number.into(),
        as_guardian: false,
        on_behalf_of: vec![],
    }
}

fn guardian(name: &str, id_number: &str, wards: &[&str]) -> Signer {
    Signer {
        name: name.into(),
        id_number: id_number.into(),
        as_guardian: true,
        on_behalf_of: wards.iter().map(|w| (*w).to_owned()).collect(),
    }
}

const SCAN: &str = "3f9a6c1e0b2d4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c";

/// An authorization that covers `family()` completely.
fn auth_proto() -> Authorization {
    let m = family_members();
    Authorization {
        form_number: "SQ-2026-000123".into(),
        signers: vec![
            own(&m[0].name, &m[0].id_number),
            own(&m[1].name, &m[1].id_number),
            guardian(&m[0].name, &m[0].id_number, &[&m[2].id_number, &m[3].id_number]),
        ],
        signed_date: "2026-11-20".into(),
        scan_sha256: SCAN.into(),
        purpose: Purpose::MinimumLiving as i32,
        valid_until: "2027-11-19".into(),
    }
}

fn auth(a: &Authorization) -> ValidatedAuthorization {
    parse(a, today(), "authorization").unwrap()
}

fn violations(a: &Authorization) -> Vec<(String, String)> {
    parse(a, today(), "authorization")
        .unwrap_err()
        .violations
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}

fn fields(a: &Authorization) -> Vec<String> {
    violations(a).into_iter().map(|(f, _)| f).collect()
}

fn covers(a: &Authorization, h: &ValidatedHousehold) -> Result<(), Vec<AuthorizationProblem>> {
    check_covers(&auth(a), h, Purpose::MinimumLiving, today())
}

/// The problems as (member index, field, reason), for compact assertions.
fn problems(a: &Authorization, h: &ValidatedHousehold) -> Vec<(Option<usize>, String, String)> {
    covers(a, h)
        .unwrap_err()
        .into_iter()
        .map(|p| (p.member_index, p.field, p.reason))
        .collect()
}

// ---- parse -----------------------------------------------------------------

#[test]
fn parse_keeps_every_field() {
    let a = auth(&auth_proto());
    assert_eq!(a.form_number, "SQ-2026-000123");
    assert_eq!(a.signers.len(), 3);
    assert_eq!(a.signers[0].name, NAMES[0]);
    assert_eq!(a.signers[0].id.as_str(), id("19800101", 1));
    assert!(!a.signers[0].as_guardian);
    assert!(a.signers[0].on_behalf_of.is_empty());
    assert!(a.signers[2].as_guardian);
    assert_eq!(a.signers[2].on_behalf_of.len(), 2);
    assert_eq!(a.signed_date, date(2026, 11, 20));
    assert_eq!(a.valid_until, date(2027, 11, 19));
    assert_eq!(a.scan_sha256, SCAN);
    assert_eq!(a.purpose, Purpose::MinimumLiving);
}

#[test]
fn parse_normalises_lower_case_x() {
    let mut p = auth_proto();
    let upper = id("19900101", 18);
    assert!(upper.ends_with('X'), "fixture should end in X: {upper}");
    p.signers.push(own("赵六", &upper.to_lowercase()));
    assert_eq!(auth(&p).signers[3].id.as_str(), upper);
}

#[test]
fn parse_reports_every_violation_at_once() {
    let p = Authorization {
        form_number: String::new(),
        signers: vec![
            own("", "520626198001010010"),
            guardian("张三", &id("19800101", 1), &["12345"]),
        ],
        signed_date: "2026-12-01".into(),
        scan_sha256: "abc".into(),
        purpose: 0,
        valid_until: "2026-11-30".into(),
    };
    assert_eq!(
        fields(&p),
        [
            "authorization.form_number",
            "authorization.signers[0].name",
            "authorization.signers[0].id_number",
            "authorization.signers[1].on_behalf_of[0]",
            "authorization.signed_date",
            "authorization.valid_until",
            "authorization.scan_sha256",
            "authorization.purpose",
        ]
    );
}

#[test]
fn parse_uses_the_given_field_prefix() {
    let mut p = auth_proto();
    p.signers[1].id_number = "1".into();
    assert_eq!(
        parse(&p, today(), "request.authorization").unwrap_err().violations[0].field,
        "request.authorization.signers[1].id_number"
    );
}

#[test]
fn form_number_rules() {
    let mut p = auth_proto();
    p.form_number = "   ".into();
    assert_eq!(
        violations(&p),
        [("authorization.form_number".into(), "must not be blank".into())]
    );
    p.form_number = "SQ\u{7}1".into();
    assert!(violations(&p)[0].1.contains("control character U+0007"));
    p.form_number = "Q".repeat(65);
    assert_eq!(violations(&p)[0].1, "has 65 characters; at most 64 are allowed");
    p.form_number = "Q".repeat(64);
    assert!(parse(&p, today(), "authorization").is_ok());
}

#[test]
fn at_least_one_signer() {
    let mut p = auth_proto();
    p.signers.clear();
    assert_eq!(
        violations(&p),
        [("authorization.signers".into(), "at least one signer is required".into())]
    );
}

#[test]
fn too_many_signers() {
    let mut p = auth_proto();
    p.signers = (0..=MAX_SIGNERS as u32)
        .map(|i| own("某人", &id("19800101", 100 + i)))
        .collect();
    assert_eq!(
        violations(&p),
        [(
            "authorization.signers".into(),
            format!("has {} signers; at most {MAX_SIGNERS} are allowed", MAX_SIGNERS + 1)
        )]
    );
}

#[test]
fn signer_ids_are_checked() {
    let mut p = auth_proto();
    p.signers[0].id_number = String::new();
    p.signers[1].id_number = "520626780505002".into();
    let mut bad_check = id("19800101", 1);
    bad_check.replace_range(17.., if bad_check.ends_with('0') { "1" } else { "0" });
    p.signers[2].id_number = bad_check;
    let v = violations(&p);
    assert_eq!(
        v[0],
        ("authorization.signers[0].id_number".into(), "is required".into())
    );
    assert_eq!(v[1].0, "authorization.signers[1].id_number");
    assert!(v[1].1.starts_with("use the 18-character ID number"), "{}", v[1].1);
    assert_eq!(v[2].0, "authorization.signers[2].id_number");
    assert!(v[2].1.starts_with("check character should be"), "{}", v[2].1);
}

#[test]
fn signer_born_after_today_is_refused() {
    let mut p = auth_proto();
    p.signers[1].id_number = id("20261127", 5);
    let v = violations(&p);
    assert_eq!(v[0].0, "authorization.signers[1].id_number");
    assert!(v[0].1.contains("in the future"), "{}", v[0].1);
}

#[test]
fn signer_names_are_checked() {
    let mut p = auth_proto();
    p.signers[0].name = " 王秀英".into();
    p.signers[2].name = "王\u{200B}秀英".into();
    let v = violations(&p);
    assert_eq!(
        v[0],
        (
            "authorization.signers[0].name".into(),
            "must not start or end with whitespace".into()
        )
    );
    assert_eq!(v[1].0, "authorization.signers[2].name");
    assert!(v[1].1.contains("invisible formatting character U+200B"));
}

#[test]
fn on_behalf_of_only_for_guardians() {
    let mut p = auth_proto();
    p.signers[1].on_behalf_of = vec![id("20150601", 3)];
    assert_eq!(
        violations(&p),
        [(
            "authorization.signers[1].on_behalf_of".into(),
            "must be empty unless as_guardian is true".into()
        )]
    );
    let mut p = auth_proto();
    p.signers[2].on_behalf_of.clear();
    assert_eq!(
        violations(&p),
        [(
            "authorization.signers[2].on_behalf_of".into(),
            "a guardian must list the ID numbers of the members they sign for".into()
        )]
    );
}

#[test]
fn on_behalf_of_entries_are_checked() {
    let mut p = auth_proto();
    let child = id("20150601", 3);
    let own_id = p.signers[2].id_number.clone();
    p.signers[2].on_behalf_of = vec![child.clone(), "X".into(), child, own_id];
    let v = violations(&p);
    assert_eq!(
        v.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        [
            "authorization.signers[2].on_behalf_of[1]",
            "authorization.signers[2].on_behalf_of[2]",
            "authorization.signers[2].on_behalf_of[3]",
        ]
    );
    assert_eq!(v[0].1, "must have 18 characters, found 1");
    assert_eq!(v[1].1, "duplicate ID number; same as on_behalf_of[0]");
    assert!(v[2].1.starts_with("a guardian cannot sign on behalf of themselves"));
}

#[test]
fn on_behalf_of_is_bounded() {
    let mut p = auth_proto();
    p.signers[2].on_behalf_of = (0..=MAX_MEMBERS as u32).map(|i| id("20150601", 100 + i)).collect();
    assert_eq!(
        violations(&p),
        [(
            "authorization.signers[2].on_behalf_of".into(),
            format!(
                "lists {} ID numbers; at most {MAX_MEMBERS} are allowed",
                MAX_MEMBERS + 1
            )
        )]
    );
}

#[test]
fn a_person_signs_for_themselves_once() {
    let mut p = auth_proto();
    let first = p.signers[0].clone();
    p.signers.push(first);
    assert_eq!(
        violations(&p),
        [(
            "authorization.signers[3].id_number".into(),
            "duplicate signer; same as signers[0]".into()
        )]
    );
    // Two guardian entries of one person are two lines of the form, not a
    // duplicate.
    let mut p = auth_proto();
    let g = p.signers[2].clone();
    p.signers.push(g);
    assert!(parse(&p, today(), "authorization").is_ok());
}

#[test]
fn dates() {
    let mut p = auth_proto();
    p.signed_date = String::new();
    p.valid_until = "2027-02-30".into();
    assert_eq!(
        violations(&p),
        [
            ("authorization.signed_date".into(), "is required, as YYYY-MM-DD".into()),
            ("authorization.valid_until".into(), "no such date: 2027-02-30".into()),
        ]
    );

    let mut p = auth_proto();
    p.signed_date = "2026-11-27".into();
    assert_eq!(
        violations(&p),
        [(
            "authorization.signed_date".into(),
            "2026-11-27 is in the future; today is 2026-11-26".into()
        )]
    );
    p.signed_date = "2026-11-26".into();
    assert!(parse(&p, today(), "authorization").is_ok());

    let mut p = auth_proto();
    p.valid_until = "2026-11-19".into();
    assert_eq!(
        violations(&p),
        [(
            "authorization.valid_until".into(),
            "2026-11-19 is before signed_date 2026-11-20".into()
        )]
    );
    p.valid_until = "2026-11-20".into();
    assert!(parse(&p, today(), "authorization").is_ok());
}

#[test]
fn an_expired_authorization_still_parses() {
    let mut p = auth_proto();
    p.signed_date = "2024-01-01".into();
    p.valid_until = "2024-12-31".into();
    assert!(parse(&p, today(), "authorization").is_ok());
}

#[test]
fn scan_sha256_is_64_lower_case_hex() {
    let mut p = auth_proto();
    let check = |p: &Authorization| violations(p)[0].1.clone();
    p.scan_sha256 = String::new();
    assert_eq!(check(&p), "is required, as 64 lower-case hexadecimal characters");
    p.scan_sha256 = SCAN[..63].into();
    assert_eq!(check(&p), "must have 64 characters, found 63");
    p.scan_sha256 = format!("{SCAN}0");
    assert_eq!(check(&p), "must have 64 characters, found 65");
    p.scan_sha256 = SCAN.to_uppercase();
    assert_eq!(check(&p), "character 2 is upper case; use lower-case hexadecimal");
    p.scan_sha256 = format!("g{}", &SCAN[1..]);
    assert_eq!(check(&p), "character 1 should be a hexadecimal digit, found 'g'");
    p.scan_sha256 = format!("{}é", &SCAN[..63]);
    assert_eq!(check(&p), "character 64 should be a hexadecimal digit, found 'é'");
    assert_eq!(violations(&p)[0].0, "authorization.scan_sha256");
}

#[test]
fn purpose_is_required() {
    let mut p = auth_proto();
    p.purpose = 0;
    let v = violations(&p);
    assert_eq!(v[0].0, "authorization.purpose");
    assert!(v[0].1.starts_with("is required"));
    p.purpose = 99;
    assert!(violations(&p)[0].1.starts_with("unknown value 99"));
}

#[test]
fn signer_debug_hides_the_name_and_the_number() {
    let a = auth(&auth_proto());
    let debug = format!("{a:?}");
    for n in NAMES {
        assert!(!debug.contains(n), "{debug}");
    }
    assert!(!debug.contains(&id("19800101", 1)), "{debug}");
    assert!(debug.contains("<redacted>"));
}

// ---- check_covers ------------------------------------------------------------

#[test]
fn every_member_covered_is_ok() {
    assert_eq!(covers(&auth_proto(), &family()), Ok(()));
}

#[test]
fn a_missing_adult_signer_names_the_member() {
    let mut p = auth_proto();
    p.signers.remove(1);
    assert_eq!(
        problems(&p, &family()),
        [(
            Some(1),
            "authorization.signers".into(),
            "member 1 is an adult and did not sign for themselves".into()
        )]
    );
}

#[test]
fn signing_as_guardian_does_not_count_for_oneself() {
    let mut p = auth_proto();
    p.signers.remove(0);
    assert_eq!(
        problems(&p, &family()),
        [(
            Some(0),
            "authorization.signers".into(),
            "member 0 is an adult and did not sign for themselves".into()
        )]
    );
}

#[test]
fn signer_name_must_match_the_member() {
    let mut p = auth_proto();
    p.signers[1].name = "李建军".into();
    assert_eq!(
        problems(&p, &family()),
        [(
            Some(1),
            "authorization.signers[1].name".into(),
            "member 1 signed under a name that differs from the name in the household".into()
        )]
    );
}

#[test]
fn a_minor_without_a_guardian() {
    let mut p = auth_proto();
    p.signers[2].on_behalf_of.remove(0);
    assert_eq!(
        problems(&p, &family()),
        [(
            Some(2),
            "authorization.signers".into(),
            "member 2 is a minor and no guardian signed for them".into()
        )]
    );
}

#[test]
fn a_minor_guardian_does_not_count() {
    let mut members = family_members();
    members.push(member("王小华", &id("20100808", 6), Relation::Child, false));
    let h = household(members);
    let mut p = auth_proto();
    // The 16-year-old sibling signs for the 11-year-old.
    p.signers[2].on_behalf_of = vec![id("19450303", 4)];
    p.signers
        .push(guardian("王小华", &id("20100808", 6), &[&id("20150601", 3)]));
    assert_eq!(
        problems(&p, &h),
        [
            (
                Some(2),
                "authorization.signers[3]".into(),
                "member 2 is a minor and the guardian who signed for them is a minor".into()
            ),
            (
                Some(4),
                "authorization.signers".into(),
                "member 4 is a minor and no guardian signed for them".into()
            ),
        ]
    );
}

#[test]
fn a_minor_guardian_from_outside_the_household_does_not_count() {
    let mut p = auth_proto();
    p.signers[2].on_behalf_of = vec![id("19450303", 4)];
    p.signers
        .push(guardian("外人", &id("20100808", 9), &[&id("20150601", 3)]));
    assert_eq!(
        problems(&p, &family()),
        [(
            Some(2),
            "authorization.signers[3]".into(),
            "member 2 is a minor and the guardian who signed for them is a minor".into()
        )]
    );
}

#[test]
fn one_fit_guardian_is_enough() {
    let mut p = auth_proto();
    p.signers
        .push(guardian("外人", &id("20100808", 9), &[&id("20150601", 3)]));
    assert_eq!(covers(&p, &family()), Ok(()));
}

#[test]
fn an_adult_guardian_from_outside_the_household_counts() {
    let mut p = auth_proto();
    p.signers[2].on_behalf_of = vec![id("19450303", 4)];
    p.signers
        .push(guardian("张桂兰", &id("19700707", 8), &[&id("20150601", 3)]));
    assert_eq!(covers(&p, &family()), Ok(()));
}

#[test]
fn a_member_who_lacks_capacity_needs_a_guardian() {
    let mut p = auth_proto();
    p.signers[2].on_behalf_of = vec![id("20150601", 3)];
    // Signing for himself does not help: he lacks capacity.
    p.signers.push(own(NAMES[3], &id("19450303", 4)));
    assert_eq!(
        problems(&p, &family()),
        [(
            Some(3),
            "authorization.signers".into(),
            "member 3 lacks legal capacity and no guardian signed for them".into()
        )]
    );
}

#[test]
fn a_guardian_who_lacks_capacity_does_not_count() {
    let mut p = auth_proto();
    p.signers[2].on_behalf_of = vec![id("19450303", 4)];
    p.signers
        .push(guardian(NAMES[3], &id("19450303", 4), &[&id("20150601", 3)]));
    assert_eq!(
        problems(&p, &family()),
        [(
            Some(2),
            "authorization.signers[3]".into(),
            "member 2 is a minor and the guardian who signed for them is member 3, who lacks legal capacity".into()
        )]
    );
}

#[test]
fn a_member_guardian_must_sign_under_their_own_name() {
    let mut p = auth_proto();
    p.signers[2].name = "王秀兰".into();
    assert_eq!(
        problems(&p, &family()),
        [
            (
                Some(2),
                "authorization.signers[2]".into(),
                "member 2 is a minor and the guardian who signed for them is member 0 but signed under a name that differs from the name in the household".into()
            ),
            (
                Some(3),
                "authorization.signers[2]".into(),
                "member 3 lacks legal capacity and the guardian who signed for them is member 0 but signed under a name that differs from the name in the household".into()
            ),
        ]
    );
}

#[test]
fn coming_of_age_is_decided_on_today() {
    // Member 4 turns 18 on 2026-11-26, member 5 on 2026-11-27.
    let mut members = family_members();
    members.push(member("王小丽", &id("20081126", 6), Relation::Child, false));
    members.push(member("王小刚", &id("20081127", 7), Relation::Child, false));
    let h = household(members);
    let mut p = auth_proto();
    p.signers[2].on_behalf_of.push(id("20081126", 6));
    p.signers[2].on_behalf_of.push(id("20081127", 7));
    assert_eq!(
        problems(&p, &h),
        [(
            Some(4),
            "authorization.signers".into(),
            "member 4 is an adult and did not sign for themselves".into()
        )]
    );
    p.signers.push(own("王小丽", &id("20081126", 6)));
    assert_eq!(covers(&p, &h), Ok(()));
    // A day earlier, the older one was still a minor and the guardian's
    // signature covered them.
    let yesterday = date(2026, 11, 25);
    p.signers.pop();
    assert_eq!(check_covers(&auth(&p), &h, Purpose::MinimumLiving, yesterday), Ok(()));
}

#[test]
fn signers_outside_the_household_are_ignored() {
    let mut p = auth_proto();
    p.signers.push(own("刘志强", &id("19600101", 9)));
    assert_eq!(covers(&p, &family()), Ok(()));
}

#[test]
fn wrong_purpose() {
    let a = auth(&auth_proto());
    let problems = check_covers(&a, &family(), Purpose::Medical, today()).unwrap_err();
    assert_eq!(
        problems,
        [AuthorizationProblem {
            member_index: None,
            field: "authorization.purpose".into(),
            reason: "the authorization is for minimum-living but the request is for medical".into(),
        }]
    );
    assert_eq!(
        problems[0].to_string(),
        "authorization.purpose: the authorization is for minimum-living but the request is for medical"
    );
}

#[test]
fn expired() {
    let a = auth(&auth_proto());
    assert_eq!(
        check_covers(&a, &family(), Purpose::MinimumLiving, date(2027, 11, 19)),
        Ok(())
    );
    assert_eq!(
        check_covers(&a, &family(), Purpose::MinimumLiving, date(2027, 11, 20)).unwrap_err(),
        [AuthorizationProblem {
            member_index: None,
            field: "authorization.valid_until".into(),
            reason: "the authorization was valid until 2027-11-19 and has expired".into(),
        }]
    );
}

#[test]
fn signed_in_the_future() {
    // Parsed on one day, checked against an earlier one: the check does not
    // rely on parse having seen the same today.
    let a = auth(&auth_proto());
    assert_eq!(
        check_covers(&a, &family(), Purpose::MinimumLiving, date(2026, 11, 19)).unwrap_err(),
        [AuthorizationProblem {
            member_index: None,
            field: "authorization.signed_date".into(),
            reason: "the authorization is dated after today".into(),
        }]
    );
}

#[test]
fn every_problem_is_reported() {
    let mut p = auth_proto();
    p.signers = vec![own("别名", &id("19800101", 1))];
    let a = auth(&p);
    let got = check_covers(&a, &family(), Purpose::Housing, date(2028, 1, 1)).unwrap_err();
    assert_eq!(
        got.iter().map(|p| p.member_index).collect::<Vec<_>>(),
        [None, None, Some(0), Some(1), Some(2), Some(3)]
    );
    assert_personal_data_free(&got, &family(), &a);
}

/// Asserts that no reason or field contains a name or any six consecutive
/// characters of an ID number of the household or the signers.
fn assert_personal_data_free(problems: &[AuthorizationProblem], h: &ValidatedHousehold, a: &ValidatedAuthorization) {
    let mut names: Vec<&str> = h.members.iter().map(|m| m.name.as_str()).collect();
    names.extend(a.signers.iter().map(|s| s.name.as_str()));
    let mut ids: Vec<&str> = h.members.iter().map(|m| m.id.as_str()).collect();
    ids.extend(a.signers.iter().map(|s| s.id.as_str()));
    ids.extend(a.signers.iter().flat_map(|s| s.on_behalf_of.iter().map(|w| w.as_str())));
    for p in problems {
        for text in [&p.reason, &p.field] {
            for n in &names {
                assert!(!text.contains(n), "name in {text:?}");
            }
            for id in &ids {
                for w in id.as_bytes().windows(6) {
                    let w = std::str::from_utf8(w).unwrap();
                    assert!(!text.contains(w), "ID fragment {w} in {text:?}");
                }
            }
        }
        assert_eq!(p.reason, p.reason.to_lowercase(), "{}", p.reason);
        assert!(!p.reason.ends_with('.'), "{}", p.reason);
    }
}

// ---- properties --------------------------------------------------------------

/// One generated member: (birth year, lacks capacity, signs or is covered,
/// name matches).
type MemberSpec = (i32, bool, bool, bool);

fn member_spec() -> impl Strategy<Value = MemberSpec> {
    (1930i32..2026, any::<bool>(), any::<bool>(), any::<bool>())
}

/// A household and authorization built from the specs: the first member is
/// an adult guardian who signs for themselves; every other member who needs
/// a guardian is covered by that guardian when `signs` is set; every other
/// adult signs for themselves when `signs` is set, under their own name
/// when `name_ok` is set.
fn scenario(specs: &[MemberSpec]) -> (ValidatedHousehold, Authorization, bool) {
    let mut members = vec![member(NAMES[0], &id("19800101", 0), Relation::Applicant, false)];
    let mut signers = vec![own(NAMES[0], &id("19800101", 0))];
    let mut wards = Vec::new();
    let mut all_covered = true;
    for (i, &(year, lacks, signs, name_ok)) in specs.iter().enumerate() {
        let seq = i as u32 + 1;
        let birth = format!("{year}0315");
        let idn = id(&birth, seq);
        let name = format!("{}{}", NAMES[1 + i % 5], ["甲", "乙", "丙", "丁", "戊", "己"][i % 6]);
        members.push(member(&name, &idn, Relation::Other, lacks));
        // Born on 15 March, so 18 by today exactly when born in 2008 or before.
        let minor = year > 2008;
        if minor || lacks {
            if signs {
                wards.push(idn);
            } else {
                all_covered = false;
            }
        } else if signs {
            let signed_name = if name_ok { name.clone() } else { format!("{name}伪") };
            signers.push(own(&signed_name, &idn));
            all_covered &= name_ok;
        } else {
            all_covered = false;
        }
    }
    if !wards.is_empty() {
        signers.push(Signer {
            name: NAMES[0].into(),
            id_number: id("19800101", 0),
            as_guardian: true,
            on_behalf_of: wards,
        });
    }
    let mut p = auth_proto();
    p.signers = signers;
    (household(members), p, all_covered)
}

proptest! {
    #[test]
    fn coverage_matches_the_rules_and_reasons_leak_nothing(
        specs in proptest::collection::vec(member_spec(), 0..12),
        wrong_purpose in any::<bool>(),
    ) {
        let (h, p, all_covered) = scenario(&specs);
        let a = auth(&p);
        let purpose = if wrong_purpose { Purpose::Medical } else { Purpose::MinimumLiving };
        let result = check_covers(&a, &h, purpose, today());
        prop_assert_eq!(result.is_ok(), all_covered && !wrong_purpose);
        if let Err(problems) = result {
            assert_personal_data_free(&problems, &h, &a);
            for p in &problems {
                if let Some(i) = p.member_index {
                    prop_assert!(i < h.members.len());
                    let prefix = format!("member {i} ");
                    prop_assert!(p.reason.starts_with(&prefix), "{}", p.reason);
                }
            }
        }
    }
}
