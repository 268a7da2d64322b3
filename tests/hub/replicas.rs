//! Two hubs on one database, one caseworker's retry sent to both at once.

use std::sync::atomic::Ordering;
use std::time::Duration;

use hedui_domain::department::ALL;

use crate::helpers::{Behaviour, TestSystem, Tuning, household, hub_key, request};

/// The same idempotency key sent to two replicas at once, 20 times: each
/// department is asked once per key, both callers get the same record, and
/// no audit entry names a record that is not stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_sent_to_two_hubs_at_once_asks_each_department_once() {
    let Some(db) = crate::helpers::fresh_postgres().await else {
        return;
    };
    // Slow enough that both calls are in flight together.
    let slow = |_| Behaviour::Slow(Duration::from_millis(100));
    let a = TestSystem::tuned(slow, Duration::from_secs(10), &db.url, Tuning::default()).await;
    let b = TestSystem::tuned(slow, Duration::from_secs(10), &db.url, Tuning::default()).await;
    let pairs = 20;
    let h = household("qualifies");
    let mut calls = Vec::new();
    for i in 0..pairs {
        let key = format!("replica-retry-{i}");
        let (mut ca, mut cb) = (a.hub.clone(), b.hub.clone());
        let (ra, rb) = (request(&h, &key), request(&h, &key));
        calls.push(tokio::spawn(async move {
            let (x, y) = tokio::join!(ca.submit_verification(ra), cb.submit_verification(rb));
            (x.unwrap().into_inner(), y.unwrap().into_inner())
        }));
    }
    for c in calls {
        let (x, y) = c.await.unwrap();
        let (rx, ry) = (x.record.unwrap(), y.record.unwrap());
        assert_eq!(rx.record_id, ry.record_id, "both callers get the one record");
        assert!(x.replayed != y.replayed, "exactly one of the two made it");
    }
    let asked = |sys: &TestSystem| sys.calls.iter().map(|c| c.load(Ordering::SeqCst)).sum::<usize>();
    assert_eq!(
        asked(&a) + asked(&b),
        pairs * ALL.len(),
        "each department asked once per key"
    );
    a.state.audit.checkpoint().await.unwrap();
    let report = a.state.store.check_integrity(&hub_key().verifying_key()).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.records, pairs as u64);
    a.stop().await;
    b.stop().await;
    db.drop_database().await;
}

/// A call that stored its record leaves its claim to lapse instead of
/// writing a release (one durable write fewer per verification): the claim
/// is still held afterwards, and a retry with the same key replays the
/// record at once, asking nobody, because the record is looked for first.
#[tokio::test]
async fn a_stored_record_needs_no_claim_release_and_its_retry_replays_at_once() {
    let sys = TestSystem::start().await;
    let h = household("qualifies");
    let first = sys
        .hub
        .clone()
        .submit_verification(request(&h, "settled-1"))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.replayed);
    let now = chrono::Utc::now().timestamp_millis();
    let held = sys
        .state
        .store
        .claim_key("settled-1", "someone-else/1", now, now + 15_000)
        .await
        .unwrap();
    assert!(held.is_some(), "the stored call's claim was not released");
    let asked = |sys: &TestSystem| sys.calls.iter().map(|c| c.load(Ordering::SeqCst)).sum::<usize>();
    let before = asked(&sys);
    let again = sys
        .hub
        .clone()
        .submit_verification(request(&h, "settled-1"))
        .await
        .unwrap()
        .into_inner();
    assert!(again.replayed);
    assert_eq!(again.record.unwrap().record_id, first.record.unwrap().record_id);
    assert_eq!(asked(&sys), before, "a replay asks nobody");
    sys.stop().await;
}

/// The `verification.begin` entries in `sys`'s log.
async fn intents(sys: &TestSystem) -> usize {
    let all = sys.state.store.audit_all().await.unwrap();
    all.iter().filter(|e| e.action == "verification.begin").count()
}

/// The key is claimed in the intent entry's own transaction: a retry that
/// arrives while the first call is still asking finds the key claimed,
/// writes no intent of its own, waits for the first call's record and
/// replays it, asking nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_during_the_first_call_logs_no_intent_and_replays() {
    let sys = TestSystem::with(|_| Behaviour::Slow(Duration::from_millis(400)), Duration::from_secs(10)).await;
    let h = household("qualifies");
    let mut first_hub = sys.hub.clone();
    let first_req = request(&h, "retry-during-1");
    let first = tokio::spawn(async move { first_hub.submit_verification(first_req).await });
    // Give the first call time to log its intent and start asking.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let again = sys
        .hub
        .clone()
        .submit_verification(request(&h, "retry-during-1"))
        .await
        .unwrap()
        .into_inner();
    let first = first.await.unwrap().unwrap().into_inner();
    assert!(!first.replayed);
    assert!(again.replayed, "the retry replays the first call's record");
    assert_eq!(again.record.unwrap().record_id, first.record.unwrap().record_id);
    let asked = sys.calls.iter().map(|c| c.load(Ordering::SeqCst)).sum::<usize>();
    assert_eq!(asked, ALL.len(), "each department asked once");
    assert_eq!(intents(&sys).await, 1, "the retry logged no intent");
    sys.stop().await;
}

/// A claim whose call died (its hub crashed before storing a record) lapses,
/// and the next call with the key takes it over in its intent's
/// transaction and verifies the household.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_claim_is_taken_over_with_the_intent() {
    let sys = TestSystem::start().await;
    let now = chrono::Utc::now().timestamp_millis();
    let dead = sys
        .state
        .store
        .claim_key("lapsed-1", "dead-hub/1", now, now + 1_000)
        .await
        .unwrap();
    assert!(dead.is_none(), "the dead call's claim was taken");
    let h = household("qualifies");
    let reply = sys
        .hub
        .clone()
        .submit_verification(request(&h, "lapsed-1"))
        .await
        .unwrap()
        .into_inner();
    assert!(
        !reply.replayed,
        "no record was stored under the key: a new verification"
    );
    assert_eq!(intents(&sys).await, 1);
    let later = chrono::Utc::now().timestamp_millis();
    let holder = sys
        .state
        .store
        .claim_key("lapsed-1", "dead-hub/1", later, later + 1_000)
        .await
        .unwrap();
    assert!(holder.is_some(), "the claim is the new call's now, not the dead one's");
    sys.stop().await;
}
