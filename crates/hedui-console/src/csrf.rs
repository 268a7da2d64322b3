//! Cross-site request forgery.
//!
//! A browser sends its client certificate to the console on every request,
//! also on one that another site's page makes it send, just as it would a
//! cookie. So every POST must prove that it comes from a page of the
//! console:
//!
//! - it carries a token, `HMAC-SHA256(key, certificate fingerprint)`, that
//!   only the console's own pages contain; the key is random for each run
//!   of the hub, so a token also expires with the run;
//! - and a browser's own `Sec-Fetch-Site` or `Origin` header, when present,
//!   must name this same site.
//!
//! A refused POST is written to the audit log (`console.csrf`).

use hmac::{Hmac, Mac as _};
use http::HeaderMap;
use rand_core::RngCore as _;
use sha2::Sha256;

/// The name of the form field that carries the token.
pub const FIELD: &str = "_csrf";

/// The secret key of this run.
pub struct Key([u8; 32]);

impl Key {
    /// A fresh random key.
    pub fn generate() -> Key {
        let mut k = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut k);
        Key(k)
    }

    /// The token of a certificate (by its fingerprint).
    pub fn token(&self, peer: &hedui_tls::PeerInfo) -> String {
        let fingerprint = peer.certificate.as_ref().map(|c| c.sha256.as_str()).unwrap_or("");
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"hedui-console-csrf/1\0");
        mac.update(fingerprint.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `given` is the token of `peer`, compared in constant time.
    pub fn check(&self, peer: &hedui_tls::PeerInfo, given: &str) -> bool {
        let fingerprint = peer.certificate.as_ref().map(|c| c.sha256.as_str()).unwrap_or("");
        let Ok(given) = hex::decode(given) else {
            return false;
        };
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"hedui-console-csrf/1\0");
        mac.update(fingerprint.as_bytes());
        mac.verify_slice(&given).is_ok()
    }
}

/// False when the browser says the request comes from another site.
/// Requests without these headers (curl, old browsers) pass here and are
/// held by the token alone.
pub fn same_origin(h: &HeaderMap) -> bool {
    // Every current browser says where a request comes from; it decides.
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    // Older browsers: the Origin, when it names a site, must be this one.
    // ("null" is sent by privacy settings and carries nothing.)
    if let Some(origin) = h.get(http::header::ORIGIN).and_then(|v| v.to_str().ok())
        && origin != "null"
    {
        let host = h.get(http::header::HOST).and_then(|v| v.to_str().ok());
        return match (origin.strip_prefix("https://"), host) {
            (Some(o), Some(host)) => o == host,
            // HTTP/2 carries the authority in the URI, not in Host.
            (Some(_), None) => true,
            (None, _) => false,
        };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, http::HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn the_browser_says_where_a_post_comes_from() {
        // Chromium sends Origin: null under some referrer policies; its
        // fetch-site header still decides.
        assert!(same_origin(&headers(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!same_origin(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:7443")
        ])));
        assert!(same_origin(&headers(&[
            ("origin", "https://127.0.0.1:7443"),
            ("host", "127.0.0.1:7443")
        ])));
        assert!(!same_origin(&headers(&[("origin", "http://127.0.0.1:7443")])));
        // No header at all (curl): the token alone holds it.
        assert!(same_origin(&HeaderMap::new()));
    }
}
