//! Warning before this process's own certificate expires.

use std::time::Duration;

use crate::config::ServerTls;
use crate::identity::PeerIdentity;

/// How long before its expiry a certificate in use is warned about.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 86_400);

/// How often [`watch_expiry`] looks.
pub const EXPIRY_CHECK_INTERVAL: Duration = Duration::from_secs(3600);

/// Seconds from now until `identity`'s certificate expires (negative once
/// it has), or `None` if its date does not parse.
pub fn seconds_until_expiry(identity: &PeerIdentity) -> Option<i64> {
    let not_after = chrono::DateTime::parse_from_rfc3339(&identity.not_after).ok()?;
    Some(not_after.timestamp() - chrono::Utc::now().timestamp())
}

/// Logs a WARN when `identity`'s certificate expires within
/// [`EXPIRY_WARNING`] (an ERROR once it has expired) and returns the seconds
/// left. `side` says which certificate ("hub", "adapter", "console").
pub fn check_expiry(side: &str, identity: &PeerIdentity) -> Option<i64> {
    let left = seconds_until_expiry(identity)?;
    let warning = i64::try_from(EXPIRY_WARNING.as_secs()).unwrap_or(i64::MAX);
    if left <= 0 {
        tracing::error!(
            side,
            role = %identity.role,
            serial = %identity.serial,
            not_after = %identity.not_after,
            "this process's certificate has expired; renew it with `hedui pki renew`"
        );
    } else if left <= warning {
        tracing::warn!(
            side,
            role = %identity.role,
            serial = %identity.serial,
            not_after = %identity.not_after,
            days_left = left / 86_400,
            "this process's certificate expires within 14 days; renew it with `hedui pki renew`"
        );
    }
    Some(left)
}

/// Checks the certificate of `tls` now and then every
/// [`EXPIRY_CHECK_INTERVAL`] (picking up a renewed one first), for ever;
/// spawn it and abort it at shutdown.
pub async fn watch_expiry(side: &'static str, tls: ServerTls) {
    let mut tick = tokio::time::interval(EXPIRY_CHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Reloads the files if they changed, so a renewal ends the warnings
        // even on an idle process.
        let _ = tls.current();
        check_expiry(side, &tls.identity());
    }
}
