//! The `sql` backend against a real PostgreSQL database and a SQLite file,
//! and the `snapshot` backend's imports: good, bad and old files.
//!
//! PostgreSQL tests make a fresh database `hedui_test_<uuid>` (on
//! `HEDUI_TEST_POSTGRES_URL`, else `postgres://postgres@127.0.0.1:5432/test`
//! or as `root`) and drop it afterwards. When no server answers they print a
//! notice and pass, unless `HEDUI_REQUIRE_POSTGRES=1`. The MySQL/MariaDB
//! test likewise, unless `HEDUI_REQUIRE_MYSQL=1`; `.ci/run` sets both.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use hedui_adapter::config::AdapterConfig;
use hedui_adapter::snapshot::SnapshotSource;
use hedui_adapter::sql::SqlSource;
use hedui_adapter::{AdapterOptions, Source, SourceError, ValidatedQuery, validate_query};
use hedui_domain::ids::resident_check_char;
use hedui_domain::window::IncomeWindow;
use hedui_proto::v1::person_result::Findings;
use hedui_proto::v1::source_service_client::SourceServiceClient;
use hedui_proto::v1::{
    AccountType, Department, DescribeRequest, IdentityStatus, IncomeCategory, Person, Purpose, QueryRequest,
    TaxFindings, TaxRecord,
};
// `AssertSqlSafe`: the test databases are named here, from UUIDs.
use sqlx::{AssertSqlSafe, Connection as _, Executor as _, PgConnection};

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A valid resident ID number from 17 digits.
fn id(first17: &str) -> String {
    format!("{first17}{}", resident_check_char(first17).expect("17 digits"))
}

fn ids() -> [String; 4] {
    [
        id("52062619800101001"),
        id("52062619820202002"),
        id("52062619850303003"),
        id("52062619900404004"),
    ]
}

/// A query for `persons` over the last 12 months.
fn raw_query(persons: &[(&str, &str)]) -> QueryRequest {
    QueryRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        purpose: Purpose::MinimumLiving as i32,
        persons: persons
            .iter()
            .map(|(name, id)| Person {
                name: (*name).to_owned(),
                id_number: (*id).to_owned(),
            })
            .collect(),
        income_window: Some(IncomeWindow::last_months(today(), 12).to_proto()),
        asset_reference_date: today().format("%Y-%m-%d").to_string(),
        authorization_ref: "SQ-TEST-0001".to_owned(),
        grant: Vec::new(),
    }
}

fn query(persons: &[(&str, &str)]) -> ValidatedQuery {
    validate_query(&raw_query(persons), today()).expect("a valid query")
}

/// `YYYY-MM` of the month `back` months before this one.
fn month(back: u32) -> String {
    let w = IncomeWindow::last_months(today(), 12);
    w.to.plus_months(-i64::from(back)).to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

// ---------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------

async fn admin_url() -> Option<String> {
    let candidates: Vec<String> = match std::env::var("HEDUI_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => vec![u],
        _ => vec![
            "postgres://postgres@127.0.0.1:5432/test".into(),
            "postgres://root@127.0.0.1:5432/test".into(),
        ],
    };
    for url in &candidates {
        if let Ok(Ok(c)) = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(url)).await {
            let _ = c.close().await;
            return Some(url.clone());
        }
    }
    if std::env::var("HEDUI_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("PostgreSQL not reachable at {candidates:?}; HEDUI_REQUIRE_POSTGRES=1 makes this an error");
    }
    let _ = writeln!(
        std::io::stderr(),
        "\nPostgreSQL not reachable; skipping the sql backend's PostgreSQL test (HEDUI_REQUIRE_POSTGRES=1 makes this an error)\n"
    );
    None
}

/// A fresh database, dropped by [`drop_database`].
async fn create_database(admin: &str) -> (String, String) {
    let name = format!("hedui_test_{}", uuid::Uuid::new_v4().simple());
    let mut c = PgConnection::connect(admin).await.expect("connect");
    c.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .expect("create database");
    let _ = c.close().await;
    let (base, _) = admin.rsplit_once('/').expect("a URL with a database");
    (name.clone(), format!("{base}/{name}"))
}

async fn drop_database(admin: &str, name: &str) {
    let mut c = PgConnection::connect(admin).await.expect("connect");
    let _ = c
        .execute(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .await;
    let _ = c.close().await;
}

/// A tax bureau's tables, the way a county system might hold them: pinyin
/// names, amounts in yuan as NUMERIC, months as DATE.
const TAX_TABLES: &str = "
CREATE TABLE dj_nsr (sfzh VARCHAR(18) PRIMARY KEY, xm VARCHAR(50) NOT NULL);
CREATE TABLE dj_grsds (
    sfzh VARCHAR(18) NOT NULL,
    ssyf DATE NOT NULL,
    sdxm VARCHAR(10) NOT NULL,
    sre NUMERIC(14, 2) NOT NULL,
    ynse NUMERIC(14, 2) NOT NULL
);";

fn tax_config(url: &str, tax_query: &str) -> String {
    format!(
        r#"
department = "tax"
[sql]
url = "{url}"
[sql.queries.identity]
query = "SELECT xm AS name FROM dj_nsr WHERE sfzh = :id_number AND CAST(:name AS text) IS NOT NULL"
[sql.queries.tax_records]
query = """{tax_query}"""
"#
    )
}

const TAX_QUERY: &str = "
SELECT to_char(ssyf, 'YYYY-MM') AS period,
       CASE sdxm WHEN 'GZ' THEN 'wages' WHEN 'JY' THEN 'business' ELSE 'other' END AS category,
       (sre * 100)::bigint AS taxable_income_fen,
       (ynse * 100)::bigint AS tax_paid_fen
  FROM dj_grsds
 WHERE sfzh = :id_number AND ssyf BETWEEN :window_start AND :window_end
 ORDER BY ssyf, sdxm";

#[tokio::test]
async fn sql_backend_answers_from_a_real_postgresql_table() {
    let Some(admin) = admin_url().await else { return };
    let (name, url) = create_database(&admin).await;
    let outcome = tokio::spawn(postgres_case(url)).await;
    drop_database(&admin, &name).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn postgres_case(url: String) {
    let [a, b, c, d] = ids();
    let mut conn = PgConnection::connect(&url).await.expect("connect");
    conn.execute(TAX_TABLES).await.expect("tables");
    let this_month = format!("{}-01", month(0));
    let last_month = format!("{}-01", month(1));
    let long_ago = format!("{}-01", month(30));
    for (sfzh, xm) in [(&a, "王芳"), (&b, "李强"), (&d, "赵六")] {
        sqlx::query("INSERT INTO dj_nsr VALUES ($1, $2)")
            .bind(sfzh)
            .bind(xm)
            .execute(&mut conn)
            .await
            .expect("insert");
    }
    for (sfzh, ssyf, sdxm, sre, ynse) in [
        (&a, &last_month, "GZ", "3500.00", "0.00"),
        (&a, &this_month, "GZ", "3600.50", "0.00"),
        (&a, &this_month, "JY", "1200.00", "12.00"),
        // Outside the window: the query's own BETWEEN leaves it out.
        (&a, &long_ago, "GZ", "9999.00", "100.00"),
        // A negative amount: the adapter must refuse to pass it on.
        (&d, &this_month, "GZ", "-5.00", "0.00"),
    ] {
        sqlx::query("INSERT INTO dj_grsds VALUES ($1, $2::date, $3, $4::numeric, $5::numeric)")
            .bind(sfzh)
            .bind(ssyf)
            .bind(sdxm)
            .bind(sre)
            .bind(ynse)
            .execute(&mut conn)
            .await
            .expect("insert");
    }

    let dir = tempfile::tempdir().expect("dir");
    let config_path = write(dir.path(), "tax.toml", &tax_config(&url, TAX_QUERY));
    let config = AdapterConfig::load(&config_path).expect("the config loads");
    assert!(
        !format!("{config:?}").contains("postgres://"),
        "the URL must not appear in Debug"
    );
    let source = Arc::new(SqlSource::connect(&config).await.expect("the adapter starts"));

    // Field by field: found, name mismatch (an injection attempt as the
    // name), not found.
    let injection = "王'); DROP TABLE dj_nsr; --";
    let q = query(&[("王芳", &a), (injection, &b), ("张三", &c)]);
    let answer = source.query(&q).await.expect("answers");
    assert_eq!(answer.data_as_of, today().format("%Y-%m-%d").to_string());
    assert_eq!(answer.stale_reason, "");
    assert_eq!(answer.results.len(), 3);
    let r = &answer.results[0];
    assert_eq!(r.id_number, a);
    assert_eq!(r.identity_status, IdentityStatus::Found as i32);
    let rec = |period: String, category: IncomeCategory, income: i64, paid: i64| TaxRecord {
        period,
        category: category as i32,
        taxable_income_fen: income,
        tax_paid_fen: paid,
    };
    assert_eq!(
        r.findings,
        Some(Findings::Tax(TaxFindings {
            records: vec![
                rec(month(1), IncomeCategory::Wages, 350_000, 0),
                rec(month(0), IncomeCategory::Wages, 360_050, 0),
                rec(month(0), IncomeCategory::Business, 120_000, 1_200),
            ]
        }))
    );
    assert_eq!(answer.results[1].identity_status, IdentityStatus::NameMismatch as i32);
    assert_eq!(answer.results[1].findings, None);
    assert_eq!(answer.results[2].identity_status, IdentityStatus::NotFound as i32);
    // The name was bound, not spliced: the table is still there.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM dj_nsr")
        .fetch_one(&mut conn)
        .await
        .expect("dj_nsr survives");
    assert_eq!(n, 3);

    // A negative amount in the department's data ends the query with an
    // error naming the category, row and column, and no value.
    let err = source.query(&query(&[("赵六", &d)])).await.unwrap_err();
    let SourceError::Mapping(m) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(m, "tax_records row 1, column taxable_income_fen: must not be negative");

    // Once over gRPC through the real AdapterService, with a signed grant.
    let (addr, key) = serve(source.clone()).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut client = SourceServiceClient::new(channel);
    let described = client
        .describe(DescribeRequest {})
        .await
        .expect("describe")
        .into_inner();
    assert_eq!(described.backend, "sql");
    assert_eq!(described.categories, vec!["identity", "tax_records"]);
    let mut raw = raw_query(&[("王芳", &a), ("张三", &c)]);
    raw.grant = grant(&raw, &key);
    let over_grpc = client.query(raw).await.expect("query").into_inner();
    assert_eq!(over_grpc.results[0], answer.results[0]);
    assert_eq!(over_grpc.results[1], answer.results[2]);
    // The data error reaches the hub as INTERNAL naming the column.
    let mut raw = raw_query(&[("赵六", &d)]);
    raw.grant = grant(&raw, &key);
    let status = client.query(raw).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Internal);
    assert!(
        status.message().contains("column taxable_income_fen"),
        "{}",
        status.message()
    );
    assert!(!status.message().contains(&d), "no ID number in the message");

    // A mapping with a missing column fails at start-up, naming the file,
    // the category and the column.
    let missing = TAX_QUERY.replace("(ynse * 100)::bigint AS tax_paid_fen", "0 AS tax_paid");
    let bad_path = write(dir.path(), "tax-bad.toml", &tax_config(&url, &missing));
    let bad = AdapterConfig::load(&bad_path).expect("statically fine");
    let err = SqlSource::connect(&bad).await.err().expect("refused").to_string();
    assert!(err.contains("tax-bad.toml"), "{err}");
    assert!(err.contains("sql.queries.tax_records"), "{err}");
    assert!(err.contains("no column tax_paid_fen"), "{err}");
    assert!(
        err.contains("(it returns period, category, taxable_income_fen, tax_paid)"),
        "{err}"
    );
    assert!(!err.contains(&url), "no URL in the message: {err}");

    // Right names, wrong types: the month as a DATE and an amount as the
    // NUMERIC yuan it is stored in would fail every answer, so the start
    // (and `adapter check`) is refused, naming the query and the columns.
    let uncast = TAX_QUERY
        .replace("to_char(ssyf, 'YYYY-MM') AS period", "ssyf AS period")
        .replace("(sre * 100)::bigint AS taxable_income_fen", "sre AS taxable_income_fen");
    let path = write(dir.path(), "tax-uncast.toml", &tax_config(&url, &uncast));
    let err = SqlSource::connect(&AdapterConfig::load(&path).expect("statically fine"))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("tax-uncast.toml: sql.queries.tax_records: "), "{err}");
    assert!(
        err.contains("column period has the database type DATE, but must be a month YYYY-MM"),
        "{err}"
    );
    assert!(
        err.contains("column taxable_income_fen has the database type NUMERIC, but must be a whole number"),
        "{err}"
    );
    let _ = conn.close().await;
}

/// A department database dropped (or unreachable) under a running adapter:
/// queries end as UNAVAILABLE, which the hub records as such (an
/// incomplete verdict), not as a failure of the data.
#[tokio::test]
async fn a_dropped_postgresql_database_makes_queries_unavailable() {
    let Some(admin) = admin_url().await else { return };
    let (name, url) = create_database(&admin).await;
    let mut conn = PgConnection::connect(&url).await.expect("connect");
    conn.execute(TAX_TABLES).await.expect("tables");
    let _ = conn.close().await;
    let dir = tempfile::tempdir().expect("dir");
    let path = write(dir.path(), "tax.toml", &tax_config(&url, TAX_QUERY));
    let source = Arc::new(
        SqlSource::connect(&AdapterConfig::load(&path).expect("loads"))
            .await
            .expect("starts"),
    );
    let [a, ..] = ids();
    source.query(&query(&[("王芳", &a)])).await.expect("answers before");
    drop_database(&admin, &name).await;
    let err = source.query(&query(&[("王芳", &a)])).await.unwrap_err();
    assert!(matches!(err, SourceError::Unavailable(_)), "{err:?}");
    // Over gRPC the hub gets UNAVAILABLE.
    let (addr, key) = serve(source.clone()).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let mut raw = raw_query(&[("王芳", &a)]);
    raw.grant = grant(&raw, &key);
    let status = SourceServiceClient::new(channel).query(raw).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
}

/// Serves `source` in plaintext on a free port, trusting a fresh hub key.
async fn serve<S: Source>(source: Arc<S>) -> (SocketAddr, hedui_trust::SigningKey) {
    let key = hedui_trust::SigningKey::from_bytes(&[7; 32]);
    let options = AdapterOptions {
        trusted_hub_keys: vec![key.verifying_key()],
        query_log: None,
        tls: None,
        ..Default::default()
    };
    let (addr, _task) = hedui_adapter::spawn(
        source,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        options,
        std::future::pending(),
    )
    .await
    .expect("spawn");
    (addr, key)
}

fn grant(raw: &QueryRequest, key: &hedui_trust::SigningKey) -> Vec<u8> {
    let ids: Vec<String> = raw.persons.iter().map(|p| p.id_number.clone()).collect();
    let signed = hedui_trust::grant::issue(
        &raw.request_id,
        Purpose::MinimumLiving,
        &ids,
        raw.income_window.as_ref().expect("window"),
        &raw.authorization_ref,
        Department::Tax,
        chrono::Utc::now().timestamp_millis(),
        60_000,
        key,
    );
    hedui_trust::grant::encode(&signed)
}

// ---------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------

#[tokio::test]
async fn sql_backend_answers_from_a_sqlite_file() {
    let [a, b, ..] = ids();
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("pboc.db");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
    conn.execute(
        "CREATE TABLE khxx (zjhm TEXT, khmc TEXT);
         CREATE TABLE zhye (zjhm TEXT, yhmc TEXT, zhlx TEXT, ye_fen INTEGER, zh TEXT);",
    )
    .await
    .expect("tables");
    // The fixture's own rows, with a synthetic ID number.
    conn.execute(AssertSqlSafe(format!(
        "INSERT INTO khxx VALUES ('{a}', '王芳');
         INSERT INTO zhye VALUES ('{a}', '德江农商银行', 'demand', 123456, '6228480012345678');
         INSERT INTO zhye VALUES ('{a}', '贵州银行', 'time', 5000000, '6214830099998888');"
    )))
    .await
    .expect("rows");
    let config = format!(
        r#"
department = "pboc"
[sql]
url = "sqlite://{}"
[sql.queries.identity]
query = "SELECT khmc AS name FROM khxx WHERE zjhm = :id_number"
[sql.queries.bank_accounts]
query = """SELECT yhmc AS bank, zhlx AS account_type, ye_fen AS balance_fen,
                '************' || substr(zh, -4) AS masked_account_number
           FROM zhye WHERE zjhm = :id_number ORDER BY yhmc"""
[sql.queries.financial_products]
query = "SELECT '' AS issuer, '' AS kind, 0 AS value_fen FROM zhye WHERE 1 = 0 AND zjhm = :id_number"
"#,
        db.display()
    );
    let path = write(dir.path(), "pboc.toml", &config);
    let source = SqlSource::connect(&AdapterConfig::load(&path).expect("loads"))
        .await
        .expect("starts");
    let answer = source
        .query(&query(&[("王芳", &a), ("李强", &b)]))
        .await
        .expect("answers");
    let Some(Findings::Pboc(p)) = &answer.results[0].findings else {
        panic!("{:?}", answer.results[0])
    };
    assert_eq!(p.accounts.len(), 2);
    assert_eq!(p.accounts[0].bank, "德江农商银行");
    assert_eq!(p.accounts[0].account_type, AccountType::Demand as i32);
    assert_eq!(p.accounts[0].balance_fen, 123_456);
    assert_eq!(p.accounts[0].masked_account_number, "************5678");
    assert_eq!(p.accounts[1].account_type, AccountType::Time as i32);
    assert_eq!(p.accounts[1].balance_fen, 5_000_000);
    assert!(p.products.is_empty());
    assert_eq!(answer.results[1].identity_status, IdentityStatus::NotFound as i32);

    // A query naming a column that its table does not have is refused at
    // start-up by the database, naming the category.
    let broken = config.replace("ye_fen AS balance_fen", "yue AS balance_fen");
    let path = write(dir.path(), "pboc-broken.toml", &broken);
    let err = SqlSource::connect(&AdapterConfig::load(&path).expect("loads"))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("sql.queries.bank_accounts"), "{err}");
}

// ---------------------------------------------------------------------------
// Snapshot
// ---------------------------------------------------------------------------

fn snapshot_config(dir: &Path) -> AdapterConfig {
    let text = r#"
department = "tax"
[snapshot]
drop_dir = "drop"
store = "state/tax-snapshot.db"
max_age_days = 35
poll_seconds = 0
"#;
    let path = write(dir, "tax.toml", text);
    AdapterConfig::load(&path).expect("loads")
}

#[tokio::test]
async fn snapshot_good_file_bad_file_and_old_snapshot() {
    let [a, b, c, _] = ids();
    let dir = tempfile::tempdir().expect("dir");
    let config = snapshot_config(dir.path());
    let source = SnapshotSource::open(&config).await.expect("opens");
    let t = today();

    // Before any import the adapter does not answer, and says so.
    let err = source.query(&query(&[("王芳", &a)])).await.unwrap_err();
    assert!(matches!(err, SourceError::Unavailable(_)), "{err:?}");
    assert!(source.describe().stale);

    // Good files: the export date in the file name is the data date.
    let exported = t - chrono::Days::new(3);
    let identity = write(
        dir.path(),
        &format!("identity_{exported}.csv"),
        &format!("\u{feff}id_number,name\n{a},王芳\n{},李强\n", b.to_lowercase()),
    );
    let records = format!(
        "id_number,period,category,taxable_income_fen,tax_paid_fen\n\
         {a},{m1},wages,350000,0\n\
         {a},{m0},wages,360050,0\n\
         {a},{old},wages,999900,10000\n",
        m1 = month(1),
        m0 = month(0),
        old = month(30)
    );
    let tax = write(
        dir.path(),
        &format!("tax_records-{}.csv", exported.format("%Y%m%d")),
        &records,
    );
    let done = source.import(&identity, None, None, t).await.expect("imports");
    assert_eq!((done.category, done.rows, done.data_as_of), ("identity", 2, exported));
    source.import(&tax, None, None, t).await.expect("imports");

    let answer = source
        .query(&query(&[("王芳", &a), ("李强", &b), ("张三", &c)]))
        .await
        .expect("answers");
    assert_eq!(answer.data_as_of, exported.format("%Y-%m-%d").to_string());
    assert_eq!(answer.stale_reason, "");
    let Some(Findings::Tax(found)) = &answer.results[0].findings else {
        panic!("{:?}", answer.results[0])
    };
    // The month outside the window is left out.
    assert_eq!(
        found
            .records
            .iter()
            .map(|r| (r.period.clone(), r.taxable_income_fen))
            .collect::<Vec<_>>(),
        vec![(month(1), 350_000), (month(0), 360_050)]
    );
    // A lower-case x in the file matches; known to tax with no income.
    assert_eq!(answer.results[1].identity_status, IdentityStatus::Found as i32);
    assert_eq!(
        answer.results[1].findings,
        Some(Findings::Tax(TaxFindings { records: vec![] }))
    );
    assert_eq!(answer.results[2].identity_status, IdentityStatus::NotFound as i32);
    let described = source.describe();
    assert_eq!(
        (described.stale, described.data_as_of.as_str()),
        (false, answer.data_as_of.as_str())
    );

    // A bad file: wrong types, reported by line and column; nothing changes.
    let bad = write(
        dir.path(),
        "tax_records.csv",
        &format!(
            "id_number,period,category,taxable_income_fen,tax_paid_fen\n\
             {a},{m0},wages,1000,0\n\
             {a},{m0},wages,12.50,0\n\
             {a},2026-13,salary,100,-3\n\
             123,{m0},wages,1,0\n",
            m0 = month(0)
        ),
    );
    let err = source.import(&bad, None, None, t).await.unwrap_err();
    assert_eq!(
        err.errors,
        vec![
            "line 3, column taxable_income_fen: must be a whole number, not negative".to_owned(),
            "line 4, column period: must be a month YYYY-MM".to_owned(),
            "line 4, column category: must be one of the INCOME_CATEGORY_* values in lower case".to_owned(),
            "line 4, column tax_paid_fen: must not be negative".to_owned(),
            format!(
                "line 5, column id_number: not a valid resident ID number: {}",
                hedui_domain::ids::ResidentId::parse_any("123", t).unwrap_err()
            ),
        ]
    );
    assert!(err.to_string().contains("the previous snapshot still answers"));
    let again = source.query(&query(&[("王芳", &a)])).await.expect("still answers");
    assert_eq!(again.results[0], answer.results[0]);

    // A header with a missing and an unknown column.
    let bad_header = write(
        dir.path(),
        "tax_records_x.csv",
        &format!(
            "id_number,period,category,income_fen,tax_paid_fen\n{a},{},wages,1,0\n",
            month(0)
        ),
    );
    let err = source
        .import(&bad_header, Some("tax_records"), None, t)
        .await
        .unwrap_err();
    assert!(
        err.errors.iter().any(|e| e.contains("unknown column \"income_fen\"")),
        "{err}"
    );
    assert!(
        err.errors.iter().any(|e| e.contains("no column taxable_income_fen")),
        "{err}"
    );

    // An old snapshot: Describe reports it and every answer carries it.
    let old = t - chrono::Days::new(100);
    let old_tax = write(
        dir.path(),
        "tax_records_old.csv",
        "id_number,period,category,taxable_income_fen,tax_paid_fen\n",
    );
    // Older than the data in place: refused.
    let err = source
        .import(&old_tax, Some("tax_records"), Some(old), t)
        .await
        .unwrap_err();
    assert!(err.errors[0].contains("older than the snapshot in place"), "{err}");
    // In a fresh store it is taken, and reported as stale.
    let dir2 = tempfile::tempdir().expect("dir");
    let source2 = SnapshotSource::open(&snapshot_config(dir2.path()))
        .await
        .expect("opens");
    source2.import(&identity, None, Some(old), t).await.expect("imports");
    source2
        .import(&old_tax, Some("tax_records"), Some(old), t)
        .await
        .expect("imports");
    let described = source2.describe();
    let reason = format!("snapshot of identity dated {old} is 100 days old (at most 35 allowed)");
    assert!(described.stale);
    assert_eq!(described.stale_reason, reason);
    assert_eq!(described.data_as_of, old.format("%Y-%m-%d").to_string());
    let answer = source2.query(&query(&[("王芳", &a)])).await.expect("answers");
    assert_eq!(answer.stale_reason, reason);
    assert_eq!(answer.data_as_of, old.format("%Y-%m-%d").to_string());

    // A store belongs to one department.
    let mut other = snapshot_config(dir.path());
    other.department = Department::Pboc;
    let err = SnapshotSource::open(&other).await.unwrap_err();
    assert!(err.contains("holds the data of tax, not pboc"), "{err}");
}

#[tokio::test]
async fn snapshot_drop_directory_is_watched() {
    let [a, ..] = ids();
    let dir = tempfile::tempdir().expect("dir");
    let config = snapshot_config(dir.path());
    let source = SnapshotSource::open(&config).await.expect("opens");
    let drop = dir.path().join("drop");
    std::fs::create_dir_all(&drop).expect("drop dir");
    write(&drop, "identity.csv", &format!("id_number,name\n{a},王芳\n"));
    write(
        &drop,
        "tax_records.csv",
        "id_number,period,category,taxable_income_fen,tax_paid_fen\nx,y,z,1,2\n",
    );
    let mut seen = std::collections::HashMap::new();
    // The first look only notes the files; the second takes those unchanged.
    source.poll_drop_dir(&mut seen).await;
    assert!(drop.join("identity.csv").exists());
    source.poll_drop_dir(&mut seen).await;
    assert!(drop.join("imported/identity.csv").exists());
    assert!(drop.join("rejected/tax_records.csv").exists());
    let errors = std::fs::read_to_string(drop.join("rejected/tax_records.csv.errors.txt")).expect("errors file");
    assert!(errors.contains("line 2, column id_number"), "{errors}");
    let status = source.refresh().await.expect("status");
    assert!(status[0].imported.is_some());
    assert!(status[1].imported.is_none());
}

// ---------------------------------------------------------------------------
// The shipped examples
// ---------------------------------------------------------------------------

/// Every `deploy/adapters/<department>.toml` loads and passes the static
/// checks; every snapshot example's sample files import cleanly and answer.
#[tokio::test]
async fn every_example_configuration_loads_and_the_samples_import() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/adapters");
    // The connection URLs the examples read from their environment variables.
    let env = |var: &str| {
        Some(
            match var {
                "HEDUI_ZRZY_DB_URL" | "HEDUI_SCJG_DB_URL" => "mysql://hedui_ro:secret@127.0.0.1:3306/db",
                _ => "postgres://hedui_ro:secret@127.0.0.1:5432/db",
            }
            .to_owned(),
        )
    };
    let mut backends = Vec::new();
    for d in hedui_domain::department::ALL {
        let slug = hedui_domain::department::slug(d);
        let path = root.join(format!("{slug}.toml"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut config =
            AdapterConfig::parse(&text, &path, env).unwrap_or_else(|e| panic!("the example does not load: {e}"));
        assert_eq!(config.department, d, "{}", path.display());
        backends.push(config.backend_name());
        let hedui_adapter::config::BackendConfig::Snapshot(snap) = &mut config.backend else {
            continue;
        };
        // The example's paths are production ones; use a temporary store.
        let dir = tempfile::tempdir().expect("dir");
        snap.store = dir.path().join("snapshot.db");
        snap.drop_dir = dir.path().join("drop");
        let source = SnapshotSource::open(&config).await.expect("opens");
        let samples = root.join("samples").join(slug);
        let mut files: Vec<_> = std::fs::read_dir(&samples)
            .unwrap_or_else(|e| panic!("{}: {e}", samples.display()))
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for f in &files {
            source
                .import(f, None, None, today())
                .await
                .unwrap_or_else(|e| panic!("a sample does not import: {e}"));
        }
        let described = source.describe();
        assert_eq!(
            described.data_as_of, "2026-11-01",
            "{slug}: every category has a sample"
        );
        // 安国强 appears in every snapshot example.
        let answer = source
            .query(&query(&[("安国强", "520626198801093011")]))
            .await
            .expect("answers");
        assert_eq!(
            answer.results[0].identity_status,
            IdentityStatus::Found as i32,
            "{slug}"
        );
        assert!(answer.results[0].findings.is_some());
    }
    assert!(
        backends.contains(&"sql") && backends.contains(&"snapshot"),
        "{backends:?}"
    );
}

/// Excel exports are read from their first worksheet and checked like CSV:
/// whole numbers, real date cells and text dates pass; a fraction of a fen
/// in a money column is reported by line and column.
#[tokio::test]
async fn snapshot_imports_excel_exports() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().expect("dir");
    let path = write(
        dir.path(),
        "housing.toml",
        "department = \"housing\"\n[snapshot]\ndrop_dir = \"drop\"\nstore = \"housing.db\"\npoll_seconds = 0\n",
    );
    let source = SnapshotSource::open(&AdapterConfig::load(&path).expect("loads"))
        .await
        .expect("opens");
    let done = source
        .import(&fixtures.join("leases_2026-11-01.xlsx"), None, None, today())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.rows, 2);
    assert_eq!(done.data_as_of.to_string(), "2026-11-01");
    for f in ["identity", "housing_purchases", "public_rentals", "self_built"] {
        let csv = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../deploy/adapters/samples/housing")
            .join(format!("{f}_2026-11-01.csv"));
        source.import(&csv, None, None, today()).await.expect("imports");
    }
    let answer = source
        .query(&query(&[
            ("冉光明", "520626197011305038"),
            ("安国强", "520626198801093011"),
        ]))
        .await
        .expect("answers");
    let Some(Findings::Housing(h)) = &answer.results[0].findings else {
        panic!("{:?}", answer.results[0])
    };
    assert_eq!(h.leases.len(), 1);
    assert_eq!(h.leases[0].monthly_rent_fen, 80_000);
    assert_eq!(h.leases[0].start_date, "2025-03-01");
    assert_eq!(h.leases[0].end_date, "2027-02-28");
    let Some(Findings::Housing(h)) = &answer.results[1].findings else {
        panic!("{:?}", answer.results[1])
    };
    assert_eq!(
        (h.leases[0].start_date.as_str(), h.leases[0].end_date.as_str()),
        ("2024-07-15", "")
    );

    let err = source
        .import(&fixtures.join("leases_bad.xlsx"), Some("leases"), None, today())
        .await
        .unwrap_err();
    assert_eq!(
        err.errors,
        vec!["line 3, column monthly_rent_fen: must be a whole number, not negative".to_owned()]
    );
}

// ---------------------------------------------------------------------------
// MySQL / MariaDB
// ---------------------------------------------------------------------------

/// The same tax bureau on MySQL or MariaDB (`HEDUI_TEST_MYSQL_URL`, else
/// `mysql://root@127.0.0.1:3306/test`), with the MySQL dialect in the
/// mapping. Skipped with a notice when no server answers, unless
/// `HEDUI_REQUIRE_MYSQL=1` (as `.ci/run` sets), which makes that a failure.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn sql_backend_answers_from_a_real_mysql_table() {
    let admin = std::env::var("HEDUI_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let mut conn = match sqlx::MySqlConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("HEDUI_REQUIRE_MYSQL").is_ok_and(|v| v == "1") {
                panic!("MySQL/MariaDB not reachable at {admin}: {e}; HEDUI_REQUIRE_MYSQL=1 makes this an error");
            }
            eprintln!(
                "NOTICE: MySQL/MariaDB cannot be reached ({e}); skipping the sql backend's MySQL test (HEDUI_REQUIRE_MYSQL=1 makes this an error)"
            );
            return;
        }
    };
    let name = format!("hedui_test_{}", uuid::Uuid::new_v4().simple());
    conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4")))
        .await
        .expect("create database");
    let (server, _) = admin.rsplit_once('/').expect("the URL names a database");
    let url = format!("{server}/{name}");
    let outcome = tokio::spawn(mysql_case(url)).await;
    let _ = conn
        .execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
        .await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[cfg(feature = "mysql")]
async fn mysql_case(url: String) {
    let [a, b, c, d] = ids();
    let mut conn = sqlx::MySqlConnection::connect(&url).await.expect("connect");
    for statement in TAX_TABLES.split(';').filter(|s| !s.trim().is_empty()) {
        conn.execute(statement).await.expect("tables");
    }
    let this_month = format!("{}-01", month(0));
    let last_month = format!("{}-01", month(1));
    for (sfzh, xm) in [(&a, "王芳"), (&b, "李强"), (&d, "赵六")] {
        sqlx::query("INSERT INTO dj_nsr VALUES (?, ?)")
            .bind(sfzh)
            .bind(xm)
            .execute(&mut conn)
            .await
            .expect("insert");
    }
    for (sfzh, ssyf, sdxm, sre) in [
        (&a, &last_month, "GZ", "3500.00"),
        (&a, &this_month, "JY", "1200.00"),
        (&d, &this_month, "GZ", "-5.00"),
    ] {
        sqlx::query("INSERT INTO dj_grsds VALUES (?, CAST(? AS DATE), ?, CAST(? AS DECIMAL(14,2)), 0)")
            .bind(sfzh)
            .bind(ssyf)
            .bind(sdxm)
            .bind(sre)
            .execute(&mut conn)
            .await
            .expect("insert");
    }
    let tax_query = "
SELECT DATE_FORMAT(ssyf, '%Y-%m') AS period,
       CASE sdxm WHEN 'GZ' THEN 'wages' WHEN 'JY' THEN 'business' ELSE 'other' END AS category,
       CAST(sre * 100 AS SIGNED) AS taxable_income_fen,
       CAST(ynse * 100 AS SIGNED) AS tax_paid_fen
  FROM dj_grsds
 WHERE sfzh = :id_number AND ssyf BETWEEN :window_start AND :window_end
 ORDER BY ssyf, sdxm";
    let config = format!(
        r#"
department = "tax"
[sql]
url = "{url}"
[sql.queries.identity]
query = "SELECT xm AS name FROM dj_nsr WHERE sfzh = :id_number"
[sql.queries.tax_records]
query = """{tax_query}"""
"#
    );
    let dir = tempfile::tempdir().expect("dir");
    let path = write(dir.path(), "tax-mysql.toml", &config);
    let source = SqlSource::connect(&AdapterConfig::load(&path).expect("loads"))
        .await
        .expect("the adapter starts on MySQL");
    let injection = "王'); DROP TABLE dj_nsr; --";
    let answer = source
        .query(&query(&[("王芳", &a), (injection, &b), ("张三", &c)]))
        .await
        .expect("answers");
    assert_eq!(answer.results[0].identity_status, IdentityStatus::Found as i32);
    let Some(Findings::Tax(t)) = &answer.results[0].findings else {
        panic!("{:?}", answer.results[0])
    };
    let got: Vec<(String, i32, i64)> = t
        .records
        .iter()
        .map(|r| (r.period.clone(), r.category, r.taxable_income_fen))
        .collect();
    assert_eq!(
        got,
        [
            (month(1), IncomeCategory::Wages as i32, 350_000),
            (month(0), IncomeCategory::Business as i32, 120_000),
        ]
    );
    assert_eq!(answer.results[1].identity_status, IdentityStatus::NameMismatch as i32);
    assert_eq!(answer.results[2].identity_status, IdentityStatus::NotFound as i32);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM dj_nsr")
        .fetch_one(&mut conn)
        .await
        .expect("dj_nsr survives");
    assert_eq!(n, 3, "the name was bound, not spliced");
    let err = source.query(&query(&[("赵六", &d)])).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("column taxable_income_fen: must not be negative"),
        "{err}"
    );
    let _ = conn.close().await;
}
