//! Store URLs: which backend one names, and how one is shown without its
//! password.

use crate::{BackendKind, Result, StoreError};

/// Which backend a store URL names; any other `scheme://` is refused.
pub(crate) fn kind_of(url: &str) -> Result<BackendKind> {
    match scheme(url) {
        Some("postgres" | "postgresql") => Ok(BackendKind::Postgres),
        Some("sqlite") | None => Ok(BackendKind::Sqlite),
        Some(s) => Err(StoreError::Url(format!(
            "unsupported scheme {s:?}; use postgres://, postgresql://, sqlite:// or a file path"
        ))),
    }
}

/// The scheme of `url` if it has one (`sqlite::memory:` counts as `sqlite`);
/// `None` for a plain path. Schemes are matched in lower case, as sqlx does.
pub(crate) fn scheme(url: &str) -> Option<&str> {
    if url.starts_with("sqlite:") {
        return Some("sqlite");
    }
    let (scheme, _) = url.split_once("://")?;
    let is_scheme = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    is_scheme.then_some(scheme)
}

/// `url` with any password replaced by `***`, for logs and messages: the
/// one in `user:password@` and a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(start) = out.find("://").map(|i| i + 3) {
        let end = out[start..].find(['/', '?']).map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..end].rfind('@')
            && let Some(colon) = out[start..start + at].find(':')
        {
            out.replace_range(start + colon + 1..start + at, "***");
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}
