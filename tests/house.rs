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
    "hedui-ops",
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

/// The top-level modules of the crate whose sources are under `src`, and
/// for each the other top-level modules it names through `crate::`.
/// A file `src/a.rs` and everything under `src/a/` are module `a`; the
/// crate root (`lib.rs`, `main.rs`) is left out, since every module hangs
/// from it.
fn module_edges(src: &Path) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    let mut edges = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let first = rel.components().next().expect("a component");
        let name = first.as_os_str().to_string_lossy();
        let module = name.strip_suffix(".rs").unwrap_or(&name).to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // Code only: a doc link is not an import, and a file's own unit
        // tests (from `#[cfg(test)]` on, as the house writes them) may
        // reach anywhere.
        let text: String = text
            .lines()
            .take_while(|line| line.trim() != "#[cfg(test)]")
            .filter(|line| !line.trim_start().starts_with("//"))
            .map(|line| format!("{line}\n"))
            .collect();
        let targets = edges.entry(module.clone()).or_default();
        // `crate::x` and `crate::{x, y::z}`, in code and in `use` lines.
        let mut rest = text.as_str();
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                group[..end]
                    .split(',')
                    .map(|part| part.trim().split("::").next().unwrap_or(""))
                    .collect()
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                vec![&rest[..end]]
            };
            for target in names {
                // Only modules count: an item at the root (a type, a macro)
                // is not one of the files.
                if !target.is_empty() && target != module {
                    targets.insert(target.to_string());
                }
            }
        }
    }
    let known: std::collections::BTreeSet<String> = edges.keys().cloned().collect();
    for targets in edges.values_mut() {
        targets.retain(|t| known.contains(t));
    }
    edges
}

/// The groups of modules that reach each other (Tarjan's strongly
/// connected components), keeping only those of more than one module.
fn cycles(edges: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        index: std::collections::HashMap<&'a str, usize>,
        low: std::collections::HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: std::collections::HashSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on_stack.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: Default::default(),
        low: Default::default(),
        stack: Vec::new(),
        on_stack: Default::default(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut edges = std::collections::BTreeMap::new();
    edges.insert("a".to_string(), ["b".to_string()].into());
    edges.insert("b".to_string(), ["c".to_string()].into());
    edges.insert("c".to_string(), ["a".to_string()].into());
    edges.insert("d".to_string(), ["a".to_string()].into());
    assert_eq!(cycles(&edges), vec![vec!["a", "b", "c"]]);
}

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = vec![root.join("src")];
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/") {
        let src = entry.expect("a directory entry").path().join("src");
        if src.is_dir() {
            sources.push(src);
        }
    }
    sources.sort();
    let mut found = Vec::new();
    for src in &sources {
        for group in cycles(&module_edges(src)) {
            found.push(format!("{}: {}", src.display(), group.join(" ↔ ")));
        }
    }
    assert!(
        found.is_empty(),
        "modules that import each other:\n{}",
        found.join("\n")
    );
}
