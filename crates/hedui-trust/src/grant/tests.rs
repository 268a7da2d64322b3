use ed25519_dalek::{SigningKey, VerifyingKey};
use hedui_proto::v1::{Department, Grant, IncomeWindow, Purpose, SignedGrant};
use proptest::prelude::*;
use prost::Message as _;

use super::*;

const NOW: i64 = 1_795_000_000_000;
const REQUEST_ID: &str = "0193f1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b";
const AUTH_REF: &str = "SQ-2026-000123";

fn key_a() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn key_b() -> SigningKey {
    SigningKey::from_bytes(&[9u8; 32])
}

fn ids() -> Vec<String> {
    vec![
        "520626198001010016".into(),
        "520626197805050023".into(),
        "52062620150601003X".into(),
    ]
}

fn window() -> IncomeWindow {
    IncomeWindow {
        from_month: "2025-11".into(),
        to_month: "2026-10".into(),
    }
}

/// The grant the hub would issue for the fixture query, unsigned.
fn grant() -> Grant {
    Grant {
        request_id: REQUEST_ID.into(),
        purpose: Purpose::MinimumLiving as i32,
        id_numbers: ids(),
        income_window: Some(window()),
        authorization_ref: AUTH_REF.into(),
        department: Department::Tax as i32,
        issued_at_unix_ms: NOW,
        expires_at_unix_ms: NOW + 120_000,
        key_id: key_id(&key_a().verifying_key()),
    }
}

fn issued() -> Vec<u8> {
    encode(&issue(
        REQUEST_ID,
        Purpose::MinimumLiving,
        &ids(),
        &window(),
        AUTH_REF,
        Department::Tax,
        NOW,
        120_000,
        &key_a(),
    ))
}

/// Verifies `bytes` as the tax adapter would for the fixture query.
fn check(bytes: &[u8], trusted: &[VerifyingKey], now: i64) -> Result<Grant, GrantError> {
    let ids = ids();
    let w = window();
    let expected = GrantExpectation {
        department: Department::Tax,
        request_id: REQUEST_ID,
        purpose: Purpose::MinimumLiving,
        id_numbers: &ids,
        income_window: &w,
        authorization_ref: AUTH_REF,
    };
    verify(bytes, trusted, &expected, now)
}

fn trusted_a() -> Vec<VerifyingKey> {
    vec![key_a().verifying_key()]
}

fn signed(g: &Grant) -> Vec<u8> {
    encode(&sign(g, &key_a()))
}

#[test]
fn round_trip() {
    let g = check(&issued(), &trusted_a(), NOW + 1_000).unwrap();
    assert_eq!(g, grant());
}

#[test]
fn issue_fills_every_field() {
    let s = issue(
        REQUEST_ID,
        Purpose::MinimumLiving,
        &ids(),
        &window(),
        AUTH_REF,
        Department::Tax,
        NOW,
        120_000,
        &key_a(),
    );
    assert_eq!(Grant::decode(s.grant.as_slice()).unwrap(), grant());
    assert_eq!(s.signature.len(), 64);
    // ed25519 is deterministic, so the same grant signs to the same bytes.
    assert_eq!(s, sign(&grant(), &key_a()));
}

#[test]
fn issue_clamps_the_lifetime() {
    let long = issue(
        REQUEST_ID,
        Purpose::MinimumLiving,
        &ids(),
        &window(),
        AUTH_REF,
        Department::Tax,
        NOW,
        3_600_000,
        &key_a(),
    );
    let g = Grant::decode(long.grant.as_slice()).unwrap();
    assert_eq!(g.expires_at_unix_ms - g.issued_at_unix_ms, MAX_GRANT_LIFETIME_MS);
    assert!(check(&encode(&long), &trusted_a(), NOW).is_ok());
    let negative = issue(
        REQUEST_ID,
        Purpose::MinimumLiving,
        &ids(),
        &window(),
        AUTH_REF,
        Department::Tax,
        NOW,
        -5,
        &key_a(),
    );
    let g = Grant::decode(negative.grant.as_slice()).unwrap();
    assert_eq!(g.expires_at_unix_ms, g.issued_at_unix_ms);
}

#[test]
fn the_signature_covers_the_context_and_the_bytes() {
    let s = sign(&grant(), &key_a());
    let sig = Signature::from_slice(&s.signature).unwrap();
    let mut message = GRANT_CONTEXT.to_vec();
    message.extend_from_slice(&s.grant);
    assert!(key_a().verifying_key().verify_strict(&message, &sig).is_ok());
    // Without the context the signature is not valid: it cannot be passed
    // off as a signature over anything but a grant.
    assert!(key_a().verifying_key().verify_strict(&s.grant, &sig).is_err());
}

#[test]
fn key_ids() {
    let a = key_id(&key_a().verifying_key());
    let b = key_id(&key_b().verifying_key());
    assert_eq!(a.len(), 16);
    assert!(a.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')), "{a}");
    assert_ne!(a, b);
    let digest = Sha256::digest(key_a().verifying_key().as_bytes());
    assert_eq!(a, hex::encode(&digest[..8]));
}

#[test]
fn missing_and_malformed() {
    assert_eq!(check(&[], &trusted_a(), NOW), Err(GrantError::Missing));
    assert_eq!(
        check(&[0xff, 0xff, 0xff], &trusted_a(), NOW),
        Err(GrantError::Malformed("the signed grant does not decode"))
    );
    let mut s = sign(&grant(), &key_a());
    s.signature.pop();
    assert_eq!(
        check(&encode(&s), &trusted_a(), NOW),
        Err(GrantError::Malformed("the signature must be 64 bytes"))
    );
    let bogus = SignedGrant {
        grant: vec![0xff, 0xff],
        signature: vec![0; 64],
    };
    assert_eq!(
        check(&encode(&bogus), &trusted_a(), NOW),
        Err(GrantError::Malformed("the grant does not decode"))
    );
}

#[test]
fn a_bit_flip_in_the_grant_is_caught() {
    let mut s = sign(&grant(), &key_a());
    // Flip a bit inside the request id, so the grant still decodes.
    let at = s
        .grant
        .windows(REQUEST_ID.len())
        .position(|w| w == REQUEST_ID.as_bytes())
        .unwrap();
    s.grant[at] ^= 0x01;
    assert_eq!(check(&encode(&s), &trusted_a(), NOW), Err(GrantError::BadSignature));
}

#[test]
fn a_bit_flip_in_the_signature_is_caught() {
    for i in [0, 31, 32, 63] {
        let mut s = sign(&grant(), &key_a());
        s.signature[i] ^= 0x80;
        assert_eq!(
            check(&encode(&s), &trusted_a(), NOW),
            Err(GrantError::BadSignature),
            "byte {i}"
        );
    }
}

#[test]
fn a_grant_signed_by_another_key() {
    // Signed by B, naming B, and only A is trusted.
    let mut g = grant();
    g.key_id = key_id(&key_b().verifying_key());
    let by_b = encode(&sign(&g, &key_b()));
    assert_eq!(check(&by_b, &trusted_a(), NOW), Err(GrantError::UnknownKey));
    // Signed by B but claiming to be A's.
    let forged = encode(&sign(&grant(), &key_b()));
    assert_eq!(check(&forged, &trusted_a(), NOW), Err(GrantError::BadSignature));
    // Signed by B, naming no key.
    g.key_id.clear();
    let anonymous = encode(&sign(&g, &key_b()));
    assert_eq!(check(&anonymous, &trusted_a(), NOW), Err(GrantError::BadSignature));
    // Nothing is trusted at all.
    assert_eq!(check(&issued(), &[], NOW), Err(GrantError::UnknownKey));
}

#[test]
fn key_rotation() {
    let both = [key_b().verifying_key(), key_a().verifying_key()];
    assert!(check(&issued(), &both, NOW).is_ok());
    // A grant whose key id matches no trusted key is still accepted when a
    // trusted key verifies it.
    let mut g = grant();
    g.key_id = "0000000000000000".into();
    assert!(check(&signed(&g), &both, NOW).is_ok());
    g.key_id.clear();
    assert!(check(&signed(&g), &both, NOW).is_ok());
    // The named key decides: a grant signed by A that names B is refused
    // even though A is trusted too.
    g.key_id = key_id(&key_b().verifying_key());
    assert_eq!(check(&signed(&g), &both, NOW), Err(GrantError::BadSignature));
}

#[test]
fn expiry() {
    let bytes = issued();
    let expires = NOW + 120_000;
    assert!(check(&bytes, &trusted_a(), expires).is_ok());
    assert_eq!(check(&bytes, &trusted_a(), expires + 1), Err(GrantError::Expired));
}

#[test]
fn issued_in_the_future() {
    let bytes = issued();
    assert!(check(&bytes, &trusted_a(), NOW - MAX_CLOCK_SKEW_MS).is_ok());
    assert_eq!(
        check(&bytes, &trusted_a(), NOW - MAX_CLOCK_SKEW_MS - 1),
        Err(GrantError::NotYetValid)
    );
}

#[test]
fn lifetime() {
    let mut g = grant();
    g.expires_at_unix_ms = NOW + MAX_GRANT_LIFETIME_MS;
    assert!(check(&signed(&g), &trusted_a(), NOW).is_ok());
    g.expires_at_unix_ms += 1;
    assert_eq!(check(&signed(&g), &trusted_a(), NOW), Err(GrantError::TooLong));
    g.issued_at_unix_ms = i64::MIN;
    g.expires_at_unix_ms = i64::MAX;
    assert_eq!(check(&signed(&g), &trusted_a(), NOW), Err(GrantError::TooLong));
    g.issued_at_unix_ms = NOW;
    g.expires_at_unix_ms = NOW - 1;
    assert_eq!(
        check(&signed(&g), &trusted_a(), NOW),
        Err(GrantError::Malformed("the grant expires before it is issued"))
    );
}

#[test]
fn wrong_department() {
    let mut g = grant();
    g.department = Department::Pboc as i32;
    assert_eq!(check(&signed(&g), &trusted_a(), NOW), Err(GrantError::WrongDepartment));
    g.department = Department::Unspecified as i32;
    assert_eq!(check(&signed(&g), &trusted_a(), NOW), Err(GrantError::WrongDepartment));
}

#[test]
fn mismatches() {
    /// Changes one field of the fixture grant.
    type Change = fn(&mut Grant);
    let cases: [(&str, Change); 6] = [
        ("request_id", |g| {
            g.request_id = "0193f1b2-7c4d-7e8f-9a0b-1c2d3e4f5a6c".into()
        }),
        ("purpose", |g| g.purpose = Purpose::Medical as i32),
        ("income_window", |g| {
            g.income_window.as_mut().unwrap().from_month = "2025-10".into();
        }),
        ("income_window", |g| g.income_window = None),
        ("authorization_ref", |g| g.authorization_ref = "SQ-2026-000124".into()),
        ("authorization_ref", |g| g.authorization_ref.clear()),
    ];
    for (field, change) in cases {
        let mut g = grant();
        change(&mut g);
        assert_eq!(
            check(&signed(&g), &trusted_a(), NOW),
            Err(GrantError::Mismatch { field }),
            "{field}"
        );
    }
}

#[test]
fn every_queried_person_must_be_granted() {
    let mut g = grant();
    let dropped = g.id_numbers.remove(1);
    let err = check(&signed(&g), &trusted_a(), NOW).unwrap_err();
    assert_eq!(err, GrantError::PersonNotGranted { index: 1 });
    let message = err.to_string();
    assert_eq!(message, "queried person 1 is not covered by the grant");
    assert!(!message.contains(&dropped[..6]));
}

#[test]
fn querying_fewer_persons_than_granted_is_fine() {
    let bytes = issued();
    let some = vec![ids()[2].clone()];
    let w = window();
    let expected = GrantExpectation {
        department: Department::Tax,
        request_id: REQUEST_ID,
        purpose: Purpose::MinimumLiving,
        id_numbers: &some,
        income_window: &w,
        authorization_ref: AUTH_REF,
    };
    assert!(verify(&bytes, &trusted_a(), &expected, NOW).is_ok());
    let other = vec![ids()[2].clone(), "520626199001010181".into()];
    let expected = GrantExpectation {
        id_numbers: &other,
        ..expected
    };
    assert_eq!(
        verify(&bytes, &trusted_a(), &expected, NOW),
        Err(GrantError::PersonNotGranted { index: 1 })
    );
}

#[test]
fn error_messages_are_lower_case_sentences_without_a_period() {
    let all = [
        GrantError::Missing,
        GrantError::Malformed("the grant does not decode"),
        GrantError::BadSignature,
        GrantError::UnknownKey,
        GrantError::Expired,
        GrantError::NotYetValid,
        GrantError::TooLong,
        GrantError::WrongDepartment,
        GrantError::Mismatch { field: "purpose" },
        GrantError::PersonNotGranted { index: 2 },
        GrantError::Replayed,
    ];
    for e in all {
        let m = e.to_string();
        assert_eq!(m, m.to_lowercase(), "{m}");
        assert!(!m.ends_with('.'), "{m}");
        assert!(!m.is_empty());
    }
    assert_eq!(
        GrantError::Mismatch { field: "income_window" }.to_string(),
        "grant income_window does not match the query"
    );
}

#[test]
fn replay_guard_refuses_a_second_use() {
    let mut guard = ReplayGuard::new();
    assert!(guard.is_empty());
    let expires = NOW + 120_000;
    assert_eq!(
        guard.check_and_remember(REQUEST_ID, Department::Tax, expires, NOW),
        Ok(())
    );
    assert_eq!(
        guard.check_and_remember(REQUEST_ID, Department::Tax, expires, NOW + 1),
        Err(GrantError::Replayed)
    );
    // Still remembered at exactly expires_at, where verify still accepts.
    assert_eq!(
        guard.check_and_remember(REQUEST_ID, Department::Tax, expires, expires),
        Err(GrantError::Replayed)
    );
    // The same request for another department is another grant.
    assert_eq!(
        guard.check_and_remember(REQUEST_ID, Department::Pboc, expires, NOW),
        Ok(())
    );
    assert_eq!(guard.len(), 2);
}

#[test]
fn replay_guard_forgets_after_expiry() {
    let mut guard = ReplayGuard::new();
    let expires = NOW + 120_000;
    guard
        .check_and_remember(REQUEST_ID, Department::Tax, expires, NOW)
        .unwrap();
    guard
        .check_and_remember("other", Department::Tax, expires + 60_000, NOW)
        .unwrap();
    assert_eq!(
        guard.check_and_remember(REQUEST_ID, Department::Tax, expires + 120_000, expires + 1),
        Ok(())
    );
    // The first entry was pruned and replaced; "other" is still live.
    assert_eq!(guard.len(), 2);
    assert_eq!(
        guard.check_and_remember("other", Department::Tax, expires, expires + 1),
        Err(GrantError::Replayed)
    );
}

#[test]
fn replay_guard_memory_is_bounded_by_live_grants() {
    let mut guard = ReplayGuard::new();
    let lifetime = MAX_GRANT_LIFETIME_MS;
    // One grant a second for an hour: at most one lifetime's worth stays.
    for s in 0..3_600i64 {
        let now = NOW + s * 1_000;
        guard
            .check_and_remember(&format!("req-{s}"), Department::Hrss, now + lifetime, now)
            .unwrap();
        assert!(guard.len() as i64 <= lifetime / 1_000 + 1, "{}", guard.len());
    }
    assert_eq!(guard.live.len(), guard.by_expiry.len());
}

#[test]
fn verify_then_remember() {
    // The way the adapter SDK is meant to use the two together.
    let mut guard = ReplayGuard::new();
    let bytes = issued();
    let mut accept = |now: i64| -> Result<(), GrantError> {
        let g = check(&bytes, &trusted_a(), now)?;
        let department = Department::try_from(g.department).unwrap();
        guard.check_and_remember(&g.request_id, department, g.expires_at_unix_ms, now)
    };
    assert_eq!(accept(NOW), Ok(()));
    assert_eq!(accept(NOW + 5_000), Err(GrantError::Replayed));
    assert_eq!(accept(NOW + 120_001), Err(GrantError::Expired));
}

proptest! {
    #[test]
    fn flipping_any_byte_makes_verify_fail(index in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let mut bytes = issued();
        let i = index.index(bytes.len());
        bytes[i] ^= mask;
        prop_assert!(check(&bytes, &trusted_a(), NOW).is_err(), "byte {} ^ {:#04x} passed", i, mask);
    }

    #[test]
    fn issued_grants_verify_until_they_expire(
        request_id in "[0-9a-f-]{1,36}",
        lifetime in 0i64..=MAX_GRANT_LIFETIME_MS,
        elapsed in 0i64..=MAX_GRANT_LIFETIME_MS,
        seed in any::<[u8; 32]>(),
    ) {
        let key = SigningKey::from_bytes(&seed);
        let bytes = encode(&issue(
            &request_id,
            Purpose::Medical,
            &ids(),
            &window(),
            AUTH_REF,
            Department::Housing,
            NOW,
            lifetime,
            &key,
        ));
        let ids = ids();
        let w = window();
        let expected = GrantExpectation {
            department: Department::Housing,
            request_id: &request_id,
            purpose: Purpose::Medical,
            id_numbers: &ids,
            income_window: &w,
            authorization_ref: AUTH_REF,
        };
        let result = verify(&bytes, &[key.verifying_key()], &expected, NOW + elapsed);
        if elapsed <= lifetime {
            prop_assert!(result.is_ok(), "{:?}", result);
        } else {
            prop_assert_eq!(result, Err(GrantError::Expired));
        }
    }
}
