//! A fresh database for every test: a temporary SQLite file, or a new
//! PostgreSQL database `hedui_test_<uuid>` made on the server named by
//! `HEDUI_TEST_POSTGRES_URL` and dropped when the test ends, pass or fail.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hedui_store::{BackendKind, Store};
use sqlx::{AssertSqlSafe, Connection as _, Executor as _, PgConnection};
use tokio::sync::{Mutex, OnceCell};
use tokio::task::JoinHandle;

/// The PostgreSQL server to make test databases on: a URL of a database
/// that exists (it is only used to create and drop the test databases), as
/// a user allowed to create databases.
pub const POSTGRES_URL_VAR: &str = "HEDUI_TEST_POSTGRES_URL";
/// When `1`, a PostgreSQL server that cannot be reached fails the suite
/// instead of skipping its PostgreSQL half. CI sets it.
pub const REQUIRE_POSTGRES_VAR: &str = "HEDUI_REQUIRE_POSTGRES";
/// Tried in order when `HEDUI_TEST_POSTGRES_URL` is not set.
const DEFAULT_POSTGRES_URLS: [&str; 2] = [
    "postgres://postgres@127.0.0.1:5432/test",
    "postgres://root@127.0.0.1:5432/test",
];

/// One test's database and the store opened on it.
pub struct TestDb {
    /// Which backend this is.
    pub kind: BackendKind,
    /// The URL the store was opened with, to open it again.
    pub url: String,
    /// The store, migrated.
    pub store: Store,
    place: Place,
}

enum Place {
    Sqlite {
        dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        /// Every database made for this test, dropped at the end.
        databases: Mutex<Vec<String>>,
    },
}

/// The data keys every test store encrypts with: one set per test run, as
/// a hub has one data key file.
pub fn data_keys() -> Arc<dyn hedui_store::KeyProvider> {
    static KEYS: std::sync::OnceLock<Arc<dyn hedui_store::KeyProvider>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| hedui_store::DataKeys::generate().expect("random keys").into_provider())
        .clone()
}

/// The SQL assignments that store `body` as record `record_id` version
/// `version`'s body, sealed under [`data_keys`]: what a forger holding the
/// data key file (but not the hub key) could write.
pub fn sealed_body_assignments(kind: BackendKind, record_id: &str, version: i64, body: &[u8]) -> String {
    let keys = data_keys();
    let s = hedui_store::envelope::seal(keys.as_ref(), hedui_store::Aad::Record { record_id, version }, body)
        .expect("sealing");
    let lit = |b: &[u8]| match kind {
        BackendKind::Sqlite => format!("X'{}'", hex::encode(b)),
        BackendKind::Postgres => format!("decode('{}', 'hex')", hex::encode(b)),
    };
    format!(
        "body = {}, kek_id = '{}', wrapped_key = {}",
        lit(&s.payload),
        s.kek_id,
        lit(&s.wrapped_key)
    )
}

impl TestDb {
    /// Opens the test's database again, as a restarted hub would.
    pub async fn reopen(&self) -> hedui_store::Result<Store> {
        Ok(Store::open(&self.url).await?.with_data_keys(data_keys()))
    }

    /// The URL of another fresh database on the same backend, empty (not
    /// yet migrated), removed with this one.
    pub async fn another_empty_database(&self) -> String {
        match &self.place {
            Place::Sqlite { dir } => dir
                .path()
                .join(format!("{}.db", uuid::Uuid::new_v4().simple()))
                .display()
                .to_string(),
            Place::Postgres { admin_url, databases } => {
                let name = create_database(admin_url).await;
                databases.lock().await.push(name.clone());
                with_database(admin_url, &name)
            }
        }
    }

    /// A fresh database of `kind`, or `None` when PostgreSQL is wanted but
    /// cannot be reached and is not required.
    async fn create(kind: BackendKind) -> Option<TestDb> {
        let (url, place) = match kind {
            BackendKind::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = dir.path().join("hedui.db").display().to_string();
                (url, Place::Sqlite { dir })
            }
            BackendKind::Postgres => {
                let admin_url = admin_url().await?;
                let name = create_database(&admin_url).await;
                let url = with_database(&admin_url, &name);
                let databases = Mutex::new(vec![name]);
                (url, Place::Postgres { admin_url, databases })
            }
        };
        let store = match Store::open(&url).await {
            Ok(store) => store.with_data_keys(data_keys()),
            Err(e) => {
                drop_databases(&place).await;
                panic!("opening a fresh {kind:?} store at {}: {e}", redact(&url));
            }
        };
        assert_eq!(store.backend_kind(), kind);
        Some(TestDb {
            kind,
            url,
            store,
            place,
        })
    }
}

/// Runs one case, which `spawn_case` starts as a task, on a fresh database
/// of `kind`; then removes the database whether the case passed or
/// panicked, and passes the panic on.
pub async fn run(kind: BackendKind, spawn_case: impl FnOnce(Arc<TestDb>) -> JoinHandle<()>) {
    let Some(db) = TestDb::create(kind).await else {
        return;
    };
    let db = Arc::new(db);
    let outcome = spawn_case(Arc::clone(&db)).await;
    db.store.close().await;
    drop_databases(&db.place).await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("the case did not finish: {e}");
    }
}

/// The URL of the PostgreSQL database to create test databases from, found
/// once per test binary.
async fn admin_url() -> Option<String> {
    static FOUND: OnceCell<Result<String, String>> = OnceCell::const_new();
    match FOUND.get_or_init(find_admin_url).await {
        Ok(url) => Some(url.clone()),
        Err(tried) => {
            if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v == "1") {
                panic!("PostgreSQL not reachable at {tried}; {REQUIRE_POSTGRES_VAR}=1 makes this an error");
            }
            static SAID: AtomicBool = AtomicBool::new(false);
            if !SAID.swap(true, Ordering::Relaxed) {
                // Straight to stderr: the test harness captures eprintln!
                // of passing tests, and this must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "\nPostgreSQL not reachable at {tried}; skipping the PostgreSQL half of the store suite; \
                     set {REQUIRE_POSTGRES_VAR}=1 to make this an error (and {POSTGRES_URL_VAR} to point at a server)\n"
                );
            }
            None
        }
    }
}

async fn find_admin_url() -> Result<String, String> {
    let candidates: Vec<String> = match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => vec![url],
        _ => DEFAULT_POSTGRES_URLS.iter().map(|u| (*u).to_owned()).collect(),
    };
    let mut failures = Vec::new();
    for url in candidates {
        match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url)).await {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                return Ok(url);
            }
            Ok(Err(e)) => failures.push(format!("{} ({e})", redact(&url))),
            Err(_) => failures.push(format!("{} (no answer within 5 s)", redact(&url))),
        }
    }
    Err(failures.join(" or "))
}

async fn admin_connection(admin_url: &str) -> PgConnection {
    PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", redact(admin_url)))
}

/// Creates an empty database named `hedui_test_<uuid>` and returns its name.
async fn create_database(admin_url: &str) -> String {
    let name = format!("hedui_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = admin_connection(admin_url).await;
    // A name made here, from a UUID.
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .unwrap_or_else(|e| panic!("creating the test database {name}: {e}"));
    let _ = conn.close().await;
    name
}

async fn drop_databases(place: &Place) {
    let Place::Postgres { admin_url, databases } = place else {
        return;
    };
    let mut conn = admin_connection(admin_url).await;
    for name in databases.lock().await.drain(..) {
        // FORCE ends any connection a case left open.
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        if let Err(e) = conn.execute(AssertSqlSafe(sql)).await {
            let _ = writeln!(std::io::stderr(), "could not drop the test database {name}: {e}");
        }
    }
    let _ = conn.close().await;
}

/// `url` with its database replaced by `name`, keeping its query.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(i) => &base[..authority + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let end = url[start..].find(['/', '?']).map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => match url[start..start + at].find(':') {
            Some(colon) => format!("{}:***{}", &url[..start + colon], &url[start + at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[test]
fn urls_are_rewritten_and_redacted() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/test?host=/run/postgresql", "x"),
        "postgres://u@h/x?host=/run/postgresql"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    assert_eq!(redact("postgres://u:secret@h:5/db"), "postgres://u:***@h:5/db");
    assert_eq!(redact("postgres://u@h:5/db"), "postgres://u@h:5/db");
}
