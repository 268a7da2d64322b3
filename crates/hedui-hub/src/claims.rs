//! One verification per idempotency key, across hubs.
//!
//! A submission claims its idempotency key in the database before any
//! department is asked. A duplicate that arrives meanwhile (a caseworker's
//! retry sent to another replica, or twice to this one) finds the claim
//! held, waits for the first call's record and replays it; it never fans
//! out. A claim lasts [`CLAIM_TTL`] and the call holding it renews it while
//! it runs, so a claim whose hub died lapses within that time and the next
//! retry takes it over. A hub that starts releases the claims of its own
//! previous run at once (their calls died with it), so a retry after a
//! restart does not wait.
//!
//! A hub's instance name (the owner prefix) is `HEDUI_INSTANCE`, else the
//! host name. Hubs that share a host and a database must be given distinct
//! names, or one starting would release the other's claims.

use std::time::Duration;

use hedui_store::Store;

use crate::error::HubError;

/// How long a claim holds without renewal.
pub const CLAIM_TTL: Duration = Duration::from_secs(15);
/// How often a running call renews its claim.
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How often a waiting duplicate looks for the first call's record.
const POLL: Duration = Duration::from_millis(50);

/// This hub's instance name, the prefix of the claims it makes.
pub fn instance_name() -> String {
    std::env::var("HEDUI_INSTANCE")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "hedui-hub".to_owned())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A claim held by one call; renewed in the background until dropped, and
/// released when dropped without a record (the call deferred, or failed),
/// so that a retry need not wait for it to lapse.
///
/// A call that stored its record calls [`Claim::settled`] instead, which
/// writes nothing: from the record's commit on, every call with the key
/// finds the record before it looks at claims (and one already waiting on
/// the claim polls for the record), so the release would be a durable
/// write that nobody reads, and on SQLite one more writer queueing for the
/// single write lock beside the audit log's group commit. The claim then
/// lapses by itself within [`CLAIM_TTL`].
pub struct Claim {
    renew: tokio::task::JoinHandle<()>,
    store: Store,
    key: String,
    owner: String,
    release: bool,
}

impl Claim {
    /// The call stored its record under the key: stop renewing, and do not
    /// release (see above).
    pub fn settled(mut self) {
        self.release = false;
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.renew.abort();
        if !self.release {
            return;
        }
        let (store, key, owner) = (
            self.store.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.owner),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = store.release_claim(&key, &owner).await {
                    tracing::debug!(error = %e, "could not release an idempotency claim; it lapses by itself");
                }
            });
        }
    }
}

/// A new call's owner name: this hub's instance and a call id.
pub fn new_owner(instance: &str) -> String {
    format!("{instance}/{}", uuid::Uuid::new_v4())
}

/// The claim of `key` by `owner` from now, to take in the intent's group
/// commit ([`crate::audit::AuditLog::append_claiming`]).
pub fn request(key: &str, owner: &str) -> crate::audit::ClaimRequest {
    let now = now_ms();
    crate::audit::ClaimRequest {
        idempotency_key: key.to_owned(),
        owner: owner.to_owned(),
        now_ms: now,
        expires_at_ms: now + CLAIM_TTL.as_millis() as i64,
    }
}

impl Claim {
    /// A claim `owner` has just taken on `key`: renewed in the background
    /// from now on, released when dropped unless [`Claim::settled`].
    pub fn hold(store: &Store, key: &str, owner: &str) -> Claim {
        let (renew_store, renew_key, renew_owner) = (store.clone(), key.to_owned(), owner.to_owned());
        let renew = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                let now = now_ms();
                if let Err(e) = renew_store
                    .claim_key(&renew_key, &renew_owner, now, now + CLAIM_TTL.as_millis() as i64)
                    .await
                {
                    tracing::warn!(error = %e, "could not renew an idempotency claim");
                }
            }
        });
        Claim {
            renew,
            store: store.clone(),
            key: key.to_owned(),
            owner: owner.to_owned(),
            release: true,
        }
    }
}

/// Waits while another call holds `key` (until `lapses_at`, milliseconds
/// since the epoch) for that call's record. True as soon as a record is
/// stored under the key (the caller replays it); false when the claim
/// lapsed without one (its hub died, or the call failed), so the caller
/// tries to claim the key again.
pub async fn wait_for_record(store: &Store, key: &str, lapses_at: i64) -> Result<bool, HubError> {
    tracing::debug!("idempotency key held by another call; waiting for its record");
    while now_ms() <= lapses_at {
        if store.get_by_idempotency_key(key).await?.is_some() {
            return Ok(true);
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(false)
}

/// How a try to claim a key ended.
pub enum Claimed {
    /// This call holds the key: it may ask the departments.
    Held(Box<Claim>),
    /// Another call held the key and has stored its record meanwhile.
    Stored,
}

/// Claims `key` for a new call of this hub with a durable write of its own,
/// waiting while another live call holds it. Returns [`Claimed::Stored`] as
/// soon as a record exists under the key (the caller replays it), or
/// [`Claimed::Held`] once the key is this call's, after taking over a
/// lapsed claim if need be. A verification takes its claim in its intent's
/// group commit instead ([`crate::audit::AuditLog::append_claiming`]); a
/// re-check, which is rare, takes it here.
pub async fn claim(store: &Store, instance: &str, key: &str) -> Result<Claimed, HubError> {
    let owner = new_owner(instance);
    loop {
        let now = now_ms();
        let Some(lapses_at) = store
            .claim_key(key, &owner, now, now + CLAIM_TTL.as_millis() as i64)
            .await?
        else {
            return Ok(Claimed::Held(Box::new(Claim::hold(store, key, &owner))));
        };
        // Another call holds it: wait for its record, or for its claim to
        // lapse (its hub died), then try again.
        if wait_for_record(store, key, lapses_at).await? {
            return Ok(Claimed::Stored);
        }
    }
}
