//! The store's own unit tests (the suite both backends pass is
//! `tests/store/`).

use crate::url::{redact_url, scheme};

#[test]
fn the_scheme_picks_the_backend() {
    assert_eq!(scheme("postgres://u@h/db"), Some("postgres"));
    assert_eq!(scheme("postgresql:///db?host=/run/postgresql"), Some("postgresql"));
    assert_eq!(scheme("sqlite://hedui.db"), Some("sqlite"));
    assert_eq!(scheme("sqlite::memory:"), Some("sqlite"));
    assert_eq!(scheme("SQLITE://x.db"), Some("SQLITE"));
    assert_eq!(scheme("mysql://h/db"), Some("mysql"));
    assert_eq!(scheme("hedui.db"), None);
    assert_eq!(scheme("/var/lib/hedui/hedui.db"), None);
    assert_eq!(scheme("./odd://name.db"), None);
}

#[test]
fn passwords_never_survive_redaction() {
    assert_eq!(redact_url("postgres://u:s3cret@h:5/db"), "postgres://u:***@h:5/db");
    assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    assert_eq!(
        redact_url("postgres://u@h/db?password=s3cret&application_name=x"),
        "postgres://u@h/db?password=***&application_name=x"
    );
    assert_eq!(redact_url("sqlite://hedui.db"), "sqlite://hedui.db");
    assert_eq!(redact_url("postgres://u:p@ss@h/db"), "postgres://u:***@h/db");
}
