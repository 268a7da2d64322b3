//! The house rules that a tool, not discipline, keeps.
//!
//! The pure crates (domain, trust, audit) read only their arguments: no
//! clock, no file, no network, no database. Their `clippy.toml` forbids the
//! calls (`Utc::now`, `std::fs`, `std::env::var`, ...), and this test keeps
//! the runtime crates out of their dependencies, where clippy cannot look.

use std::path::Path;

const PURE: &[&str] = &["hedui-domain", "hedui-trust", "hedui-audit"];

/// Crates that do I/O or run tasks; none may be a dependency of a pure crate.
const RUNTIME: &[&str] = &[
    "tokio",
    "tokio-stream",
    "tokio-rustls",
    "sqlx",
    "tonic",
    "hyper",
    "hyper-util",
    "axum",
    "tower",
    "rustls",
    "reqwest",
    "hedui-store",
    "hedui-hub",
    "hedui-tls",
    "hedui-adapter",
    "hedui-console",
];

fn manifest(krate: &str) -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates")
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn pure_crates_depend_on_no_runtime_crate() {
    for krate in PURE {
        let m = manifest(krate);
        // Build dependencies would run code at build time; dev-dependencies
        // are the tests' own and may use anything.
        for table in ["dependencies", "build-dependencies"] {
            let Some(deps) = m.get(table).and_then(|d| d.as_table()) else {
                continue;
            };
            for name in deps.keys() {
                assert!(
                    !RUNTIME.contains(&name.as_str()),
                    "{krate} is a pure crate but its [{table}] names {name}"
                );
            }
        }
    }
}

#[test]
fn pure_crates_forbid_the_clock_and_the_file_system_to_clippy() {
    for krate in PURE {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("crates")
            .join(krate)
            .join("clippy.toml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let config: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let methods: Vec<&str> = config["disallowed-methods"]
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|m| m.get("path").and_then(|p| p.as_str()))
            .collect();
        for needed in [
            "chrono::Utc::now",
            "std::time::SystemTime::now",
            "std::fs::read",
            "std::env::var",
        ] {
            assert!(
                methods.contains(&needed),
                "{krate}/clippy.toml does not forbid {needed}"
            );
        }
    }
}
