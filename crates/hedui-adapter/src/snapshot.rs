//! The `snapshot` backend: answers from periodic CSV exports that the
//! department drops into a directory.
//!
//! One file per category, named `<category>_<YYYY-MM-DD>.csv` (or
//! `<category>-<YYYYMMDD>.csv`; the date is the export date and becomes the
//! `data_as_of` of answers; without a date, the import date is used). The
//! first line is the header: `id_number` and exactly the columns of the
//! category (see [`crate::mapping`]), in any order. UTF-8, with or without
//! a byte-order mark. An Excel file (`.xlsx`, `.xls`) named the same way is
//! read from its first worksheet: whole numbers become integers and date
//! cells `YYYY-MM-DD`, then every field is checked as a CSV field would be.
//!
//! An import checks the whole file first and reports every bad row (line
//! number, column, reason). Only a file without errors is written, in ONE
//! transaction that replaces that category's previous data; a bad file
//! leaves the previous snapshot answering. The snapshot lives in the
//! adapter's own SQLite file (`store` in the configuration), not in the
//! hub's database.
//!
//! An answer's `data_as_of` is the oldest date among the categories; when it
//! is older than `max_age_days`, `Describe` reports the data as stale and
//! every answer carries the reason, which the hub writes into the record.
//! A category never imported makes the adapter answer `UNAVAILABLE`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::NaiveDate;
use hedui_domain::ids::ResidentId;
use hedui_proto::v1::{Department, DescribeResponse, QueryResponse};
use sqlx::Row as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::config::{AdapterConfig, BackendConfig, SnapshotConfig};
use crate::mapping::{self, Category, Cell, Row, Value};
use crate::{Source, SourceError, ValidatedQuery};

/// Largest export accepted, in bytes.
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;
/// Most row errors listed for one file; the count of the rest is given.
pub const MAX_LISTED_ERRORS: usize = 200;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS snapshot_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS snapshot_imports (
        category TEXT PRIMARY KEY,
        data_as_of TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        file_name TEXT NOT NULL,
        row_count INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS snapshot_rows (
        category TEXT NOT NULL,
        id_number TEXT NOT NULL,
        line INTEGER NOT NULL,
        cells TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS snapshot_rows_person ON snapshot_rows (category, id_number, line)",
];

/// Why a file was not imported. `errors` name the line and column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: not imported, the previous snapshot still answers:\n  {}", .errors.join("\n  "))]
pub struct ImportError {
    /// The file.
    pub file: String,
    /// Every problem, for example `line 4, column taxable_income_fen: must be a whole number, not negative`.
    pub errors: Vec<String>,
}

/// One checked row of an export: its line, the normalised ID number, and
/// the values in column order.
type CheckedRow = (usize, String, Vec<Value>);

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The category replaced.
    pub category: &'static str,
    /// Rows now answering.
    pub rows: usize,
    /// The date answers now carry for this category.
    pub data_as_of: NaiveDate,
}

/// The state of one category's snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryStatus {
    /// The category.
    pub category: &'static str,
    /// The date of its data, the file it came from and its row count; `None` before the first import.
    pub imported: Option<(NaiveDate, String, i64)>,
}

/// The adapter's local snapshot store and the source answering from it.
pub struct SnapshotSource {
    department: Department,
    pool: SqlitePool,
    config: SnapshotConfig,
    /// The last known status, for the synchronous `Describe`.
    status: RwLock<Vec<CategoryStatus>>,
}

impl std::fmt::Debug for SnapshotSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotSource")
            .field("department", &self.department)
            .field("store", &self.config.store)
            .finish_non_exhaustive()
    }
}

impl SnapshotSource {
    /// Opens (creating) the store named by `config`'s `[snapshot]` section.
    /// Refuses a store that holds another department's data.
    pub async fn open(config: &AdapterConfig) -> Result<SnapshotSource, String> {
        let BackendConfig::Snapshot(snap) = &config.backend else {
            return Err(format!("{}: no [snapshot] section", config.file.display()));
        };
        let file = config.file.display();
        if let Some(dir) = snap.store.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("{file}: snapshot.store: cannot create {}: {e}", dir.display()))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|e| e.to_string())?
            .filename(&snap.store)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        // An import and the adapter may open a new file at once.
        let pool = hedui_ops::sqlite::connect_retrying_busy(
            &SqlitePoolOptions::new().max_connections(4),
            &options,
            Duration::from_secs(10),
        )
        .await
        .map_err(|e| format!("{file}: snapshot.store: cannot open {}: {e}", snap.store.display()))?;
        let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
        for s in SCHEMA {
            sqlx::query(*s).execute(&mut *tx).await.map_err(|e| e.to_string())?;
        }
        let slug = hedui_domain::department::slug(config.department);
        sqlx::query("INSERT OR IGNORE INTO snapshot_meta (key, value) VALUES ('department', ?)")
            .bind(slug)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        let held: String = sqlx::query_scalar("SELECT value FROM snapshot_meta WHERE key = 'department'")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        if held != slug {
            return Err(format!(
                "{file}: snapshot.store: {} holds the data of {held}, not {slug}",
                snap.store.display()
            ));
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        let source = SnapshotSource {
            department: config.department,
            pool,
            config: snap.clone(),
            status: RwLock::new(Vec::new()),
        };
        source.refresh().await.map_err(|e| e.to_string())?;
        Ok(source)
    }

    /// The `[snapshot]` settings.
    pub fn config(&self) -> &SnapshotConfig {
        &self.config
    }

    /// Re-reads the import status (another process may have imported).
    pub async fn refresh(&self) -> Result<Vec<CategoryStatus>, sqlx::Error> {
        let rows = sqlx::query("SELECT category, data_as_of, file_name, row_count FROM snapshot_imports")
            .fetch_all(&self.pool)
            .await?;
        let mut known: HashMap<String, (NaiveDate, String, i64)> = HashMap::new();
        for r in rows {
            let date: String = r.get(1);
            if let Ok(d) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") {
                known.insert(r.get(0), (d, r.get(2), r.get(3)));
            }
        }
        let status: Vec<CategoryStatus> = mapping::categories(self.department)
            .into_iter()
            .map(|c| CategoryStatus {
                category: c.name,
                imported: known.remove(c.name),
            })
            .collect();
        *self.status.write().unwrap_or_else(std::sync::PoisonError::into_inner) = status.clone();
        Ok(status)
    }

    /// The oldest date among the categories, and why the data is stale
    /// (empty when it is not), as of `today`.
    pub fn freshness(&self, today: NaiveDate) -> (Option<NaiveDate>, String) {
        let status = self.status.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(missing) = status.iter().find(|s| s.imported.is_none()) {
            return (None, format!("no snapshot of {} has been imported", missing.category));
        }
        let Some((category, date)) = status
            .iter()
            .filter_map(|s| s.imported.as_ref().map(|(d, _, _)| (s.category, *d)))
            .min_by_key(|(_, d)| *d)
        else {
            return (None, "no snapshot has been imported".into());
        };
        let age = (today - date).num_days();
        let reason = if age > i64::from(self.config.max_age_days) {
            format!(
                "snapshot of {category} dated {date} is {age} days old (at most {} allowed)",
                self.config.max_age_days
            )
        } else {
            String::new()
        };
        (Some(date), reason)
    }

    /// Checks `path` completely and, only if it has no error, replaces the
    /// category's data with it in one transaction. The category comes from
    /// the file name unless given; the data date from the file name unless
    /// given, else `today`.
    pub async fn import(
        &self,
        path: &Path,
        category: Option<&str>,
        as_of: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Imported, ImportError> {
        let file = path.display().to_string();
        let fail = |errors: Vec<String>| ImportError {
            file: file.clone(),
            errors,
        };
        let (named_category, named_date) = parse_file_name(path);
        let category_name = category.map(str::to_owned).or(named_category).ok_or_else(|| {
            fail(vec![
                "file name: cannot tell the category; name the file <category>_<YYYY-MM-DD>.csv or give --category"
                    .into(),
            ])
        })?;
        let category = mapping::category(self.department, &category_name).map_err(|e| fail(vec![e]))?;
        let data_as_of = as_of.or(named_date).unwrap_or(today);
        if data_as_of > today {
            return Err(fail(vec![format!("the export date {data_as_of} is in the future")]));
        }
        let rows = read_export(path, category, today).map_err(fail)?;
        if category.name == "identity" && rows.is_empty() {
            return Err(fail(vec![
                "identity: the file has no rows; an empty register would answer NOT_FOUND for everyone".into(),
            ]));
        }
        if let Some((current, _, _)) = self
            .current(category.name)
            .await
            .map_err(|e| fail(vec![e.to_string()]))?
            && current > data_as_of
        {
            return Err(fail(vec![format!(
                "the export is dated {data_as_of}, older than the snapshot in place ({current})"
            )]));
        }
        let count = rows.len();
        self.replace(category, &rows, data_as_of, &file_name(path))
            .await
            .map_err(|e| fail(vec![format!("cannot write the snapshot store: {e}")]))?;
        let _ = self.refresh().await;
        Ok(Imported {
            category: category.name,
            rows: count,
            data_as_of,
        })
    }

    async fn current(&self, category: &str) -> Result<Option<(NaiveDate, String, i64)>, sqlx::Error> {
        let status = self.refresh().await?;
        Ok(status
            .into_iter()
            .find(|s| s.category == category)
            .and_then(|s| s.imported))
    }

    async fn replace(
        &self,
        category: &Category,
        rows: &[CheckedRow],
        data_as_of: NaiveDate,
        file: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM snapshot_rows WHERE category = ?")
            .bind(category.name)
            .execute(&mut *tx)
            .await?;
        for (line, id, values) in rows {
            let cells = serde_json::Value::Array(values.iter().map(Value::to_json).collect()).to_string();
            sqlx::query("INSERT INTO snapshot_rows (category, id_number, line, cells) VALUES (?, ?, ?, ?)")
                .bind(category.name)
                .bind(id)
                .bind(*line as i64)
                .bind(cells)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO snapshot_imports (category, data_as_of, imported_at, file_name, row_count)
             VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (category) DO UPDATE SET data_as_of = excluded.data_as_of,
               imported_at = excluded.imported_at, file_name = excluded.file_name, row_count = excluded.row_count",
        )
        .bind(category.name)
        .bind(data_as_of.format("%Y-%m-%d").to_string())
        .bind(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .bind(file)
        .bind(rows.len() as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    async fn answer(&self, q: &ValidatedQuery, today: NaiveDate) -> Result<QueryResponse, SourceError> {
        let unavailable = |e: sqlx::Error| SourceError::Unavailable(format!("snapshot store: {e}"));
        self.refresh().await.map_err(unavailable)?;
        let (data_as_of, stale_reason) = self.freshness(today);
        let Some(data_as_of) = data_as_of else {
            return Err(SourceError::Unavailable(stale_reason));
        };
        // One read transaction, so an import cannot swap the data mid-answer.
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let mut results = Vec::with_capacity(q.persons.len());
        for (person, (name, id)) in q.persons.iter().enumerate() {
            let mut rows: HashMap<&'static str, Vec<Row>> = HashMap::new();
            for category in mapping::categories(self.department) {
                let stored: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT line, cells FROM snapshot_rows WHERE category = ? AND id_number = ? ORDER BY line",
                )
                .bind(category.name)
                .bind(id.as_str())
                .fetch_all(&mut *tx)
                .await
                .map_err(unavailable)?;
                let mut checked = Vec::with_capacity(stored.len());
                for (line, cells) in stored {
                    let values: Vec<serde_json::Value> = serde_json::from_str(&cells)
                        .map_err(|_| SourceError::Internal(format!("{}: a stored row is corrupt", category.name)))?;
                    let by_name: HashMap<&str, Cell> = category
                        .columns
                        .iter()
                        .zip(&values)
                        .map(|(c, v)| (c.name, Value::from_json(v).unwrap_or(Cell::Null)))
                        .collect();
                    let row = mapping::check_row(category, usize::try_from(line).unwrap_or_default(), &by_name)
                        .map_err(|e| SourceError::Mapping(crate::sql::summarise(e)))?;
                    checked.push(row);
                }
                rows.insert(category.name, checked);
            }
            let result = mapping::build(self.department, id.as_str(), name, &rows, &q.window)
                .map_err(|e| SourceError::Mapping(format!("person {}: {e}", person + 1)))?;
            results.push(result);
        }
        tx.rollback().await.map_err(unavailable)?;
        Ok(QueryResponse {
            results,
            data_as_of: data_as_of.format("%Y-%m-%d").to_string(),
            stale_reason,
        })
    }

    /// Imports every complete file in the drop directory: a file is taken
    /// once its size and modification time are the same as at the previous
    /// call (so a file still being copied is left for the next round). An
    /// imported file moves to `imported/`, a rejected one to `rejected/`
    /// with its errors in `<file>.errors.txt`. Logs file names and counts
    /// only.
    pub async fn poll_drop_dir(&self, seen: &mut HashMap<PathBuf, (u64, std::time::SystemTime)>) {
        let dir = &self.config.drop_dir;
        let Ok(entries) = std::fs::read_dir(dir) else {
            tracing::warn!(dir = %dir.display(), "cannot read the drop directory");
            return;
        };
        let mut current = HashMap::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let is_csv = path
                .extension()
                .is_some_and(|e| ["csv", "xlsx", "xls"].iter().any(|x| e.eq_ignore_ascii_case(x)));
            let Ok(meta) = entry.metadata() else { continue };
            if !is_csv || !meta.is_file() {
                continue;
            }
            let stamp = (meta.len(), meta.modified().unwrap_or(std::time::UNIX_EPOCH));
            if seen.get(&path) == Some(&stamp) {
                self.take(&path).await;
            } else {
                current.insert(path, stamp);
            }
        }
        *seen = current;
    }

    async fn take(&self, path: &Path) {
        let name = file_name(path);
        let today = chrono::Utc::now().date_naive();
        let (sub, errors) = match self.import(path, None, None, today).await {
            Ok(done) => {
                tracing::info!(file = %name, category = done.category, rows = done.rows, data_as_of = %done.data_as_of, "imported a snapshot");
                ("imported", None)
            }
            Err(e) => {
                tracing::warn!(file = %name, errors = e.errors.len(), "rejected a snapshot file; its errors are in rejected/");
                ("rejected", Some(e.to_string()))
            }
        };
        let target = self.config.drop_dir.join(sub);
        let moved = std::fs::create_dir_all(&target).and_then(|()| std::fs::rename(path, target.join(&name)));
        if let Some(text) = errors {
            let _ = std::fs::write(target.join(format!("{name}.errors.txt")), text + "\n");
        }
        if let Err(e) = moved {
            tracing::error!(file = %name, error = %e, "cannot move a processed snapshot file");
        }
    }
}

/// Polls the drop directory every `poll_seconds` (when not 0) until the
/// task is dropped.
pub fn spawn_watcher(source: Arc<SnapshotSource>) -> Option<tokio::task::JoinHandle<()>> {
    let every = source.config.poll_seconds;
    if every == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut seen = HashMap::new();
        loop {
            source.poll_drop_dir(&mut seen).await;
            let _ = source.refresh().await;
            tokio::time::sleep(Duration::from_secs(every)).await;
        }
    }))
}

impl Source for SnapshotSource {
    fn snapshot_dates(&self) -> Option<crate::ops::SnapshotDates> {
        let status = self.status.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(crate::ops::SnapshotDates {
            max_age_days: self.config.max_age_days,
            categories: status
                .iter()
                .map(|s| (s.category, s.imported.as_ref().map(|(d, _, _)| *d)))
                .collect(),
        })
    }

    fn describe(&self) -> DescribeResponse {
        let (data_as_of, stale_reason) = self.freshness(chrono::Utc::now().date_naive());
        DescribeResponse {
            department: self.department as i32,
            categories: mapping::categories(self.department)
                .iter()
                .map(|c| c.name.to_owned())
                .collect(),
            data_as_of: data_as_of.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            backend: "snapshot".to_owned(),
            stale: !stale_reason.is_empty(),
            stale_reason,
        }
    }

    async fn query(&self, q: &ValidatedQuery) -> Result<QueryResponse, SourceError> {
        self.answer(q, chrono::Utc::now().date_naive()).await
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The category and export date a file name gives:
/// `tax_records_2026-10-31.csv`, `tax_records-20261031.csv`, `tax_records.csv`.
pub fn parse_file_name(path: &Path) -> (Option<String>, Option<NaiveDate>) {
    let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
        return (None, None);
    };
    for (len, format) in [(10, "%Y-%m-%d"), (8, "%Y%m%d")] {
        if stem.len() > len + 1 && stem.is_char_boundary(stem.len() - len - 1) {
            let (head, date) = stem.split_at(stem.len() - len);
            if let Some(category) = head.strip_suffix('_').or_else(|| head.strip_suffix('-'))
                && let Ok(d) = NaiveDate::parse_from_str(date, format)
            {
                return (Some(category.to_owned()), Some(d));
            }
        }
    }
    (Some(stem), None)
}

/// A table as read from a file: the header, then each record with its line
/// (1-based, the header being line 1) or why that line could not be read.
struct Table {
    header: Vec<String>,
    records: Vec<Result<(usize, Vec<String>), String>>,
}

/// Reads and checks a whole export: every row's ID number and every value.
fn read_export(path: &Path, category: &Category, today: NaiveDate) -> Result<Vec<CheckedRow>, Vec<String>> {
    let meta = std::fs::metadata(path).map_err(|e| vec![format!("cannot read: {e}")])?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(vec![format!(
            "the file is {} bytes; at most {MAX_FILE_BYTES} are accepted",
            meta.len()
        )]);
    }
    let excel = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx") || e.eq_ignore_ascii_case("xls"));
    let table = if excel { read_excel(path)? } else { read_csv(path)? };
    check_table(table, category, today)
}

fn read_csv(path: &Path) -> Result<Table, Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| vec![format!("cannot read: {e}")])?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        return Err(vec![format!(
            "line {line}: not UTF-8 text (a GBK export?); save the file as \"CSV UTF-8\""
        )]);
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| vec![format!("line 1: cannot read the header: {}", csv_reason(&e))])?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let records = reader
        .records()
        .map(|r| match r {
            Ok(r) => Ok((
                r.position().map_or(0, |p| p.line()) as usize,
                r.iter().map(str::to_owned).collect(),
            )),
            Err(e) => Err(format!(
                "line {}: {}",
                e.position().map_or(0, |p| p.line()),
                csv_reason(&e)
            )),
        })
        .collect();
    Ok(Table { header, records })
}

/// The first worksheet of an Excel file. Numbers that are whole become
/// integers, date cells `YYYY-MM-DD`; everything is then checked exactly as
/// a CSV field would be.
fn read_excel(path: &Path) -> Result<Table, Vec<String>> {
    use calamine::{Data, Reader as _};
    let mut book = calamine::open_workbook_auto(path).map_err(|e| vec![format!("cannot read the workbook: {e}")])?;
    let sheet = book
        .worksheet_range_at(0)
        .ok_or_else(|| vec!["the workbook has no worksheet".to_owned()])?
        .map_err(|e| vec![format!("cannot read the first worksheet: {e}")])?;
    let first_row = sheet.start().map_or(0, |(r, _)| r as usize);
    let mut rows = sheet.rows().enumerate().map(|(i, cells)| {
        let line = first_row + i + 1;
        let mut out = Vec::with_capacity(cells.len());
        for (col, cell) in cells.iter().enumerate() {
            out.push(match cell {
                Data::Empty => String::new(),
                Data::String(s) | Data::DateTimeIso(s) => s.clone(),
                Data::Int(i) => i.to_string(),
                Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                Data::Float(f) => f.to_string(),
                Data::Bool(b) => b.to_string(),
                Data::DateTime(d) => match d.as_datetime() {
                    Some(dt) => dt.date().format("%Y-%m-%d").to_string(),
                    None => return Err(format!("line {line}, column {}: not a date Excel can read", col + 1)),
                },
                Data::DurationIso(_) | Data::Error(_) => {
                    return Err(format!(
                        "line {line}, column {}: an Excel error or duration cell",
                        col + 1
                    ));
                }
            });
        }
        // Excel pads short rows to the sheet's width; trailing empty cells
        // are not extra fields.
        Ok((line, out))
    });
    let header = match rows.next() {
        Some(Ok((_, h))) => h
            .into_iter()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .collect(),
        Some(Err(e)) => return Err(vec![e]),
        None => {
            return Err(vec![
                "line 1: the worksheet is empty; the first row must be the header".to_owned(),
            ]);
        }
    };
    let records = rows
        .filter(|r| !matches!(r, Ok((_, cells)) if cells.iter().all(String::is_empty)))
        .collect();
    Ok(Table { header, records })
}

/// Checks the header and every record of `table` against `category`.
/// Returns `(line, id_number, values in column order)` or every problem.
fn check_table(table: Table, category: &Category, today: NaiveDate) -> Result<Vec<CheckedRow>, Vec<String>> {
    let header = table.header;
    let expected: Vec<&str> = std::iter::once("id_number")
        .chain(category.columns.iter().map(|c| c.name))
        .collect();
    let mut errors = Vec::new();
    for (i, h) in header.iter().enumerate() {
        if header[..i].contains(h) {
            errors.push(format!("line 1: the column {h} appears twice"));
        } else if !expected.contains(&h.as_str()) {
            errors.push(format!(
                "line 1: unknown column {h:?}; {} has exactly {}",
                category.name,
                expected.join(", ")
            ));
        }
    }
    for e in &expected {
        if !header.iter().any(|h| h == e) {
            errors.push(format!(
                "line 1: no column {e}; {} needs {}",
                category.name,
                expected.join(", ")
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let position = |name: &str| header.iter().position(|h| h == name).expect("checked above");
    let id_at = position("id_number");
    let at: Vec<usize> = category.columns.iter().map(|c| position(c.name)).collect();
    let mut rows = Vec::new();
    let mut total_errors = 0usize;
    let mut push = |errors: &mut Vec<String>, e: String| {
        total_errors += 1;
        if errors.len() < MAX_LISTED_ERRORS {
            errors.push(e);
        }
    };
    let mut seen_single: HashMap<String, usize> = HashMap::new();
    for record in table.records {
        let (line, record) = match record {
            Ok(r) => r,
            Err(e) => {
                push(&mut errors, e);
                continue;
            }
        };
        let field = |i: usize| record.get(i).map(String::as_str).unwrap_or_default();
        let id = match ResidentId::parse_any(field(id_at).trim(), today) {
            Ok(id) => id.as_str().to_owned(),
            Err(e) => {
                push(
                    &mut errors,
                    format!("line {line}, column id_number: not a valid resident ID number: {e}"),
                );
                continue;
            }
        };
        if category.single
            && let Some(first) = seen_single.insert(id.clone(), line)
        {
            push(
                &mut errors,
                format!(
                    "line {line}, column id_number: the same person as line {first}; {} allows one row per person",
                    category.name
                ),
            );
        }
        let mut values = Vec::with_capacity(at.len());
        for (c, &i) in category.columns.iter().zip(&at) {
            let cell = Cell::Text(field(i).to_owned());
            match mapping::convert(c.kind, &cell) {
                Ok(v) => values.push(v),
                Err(e) => push(&mut errors, format!("line {line}, column {}: {e}", c.name)),
            }
        }
        if values.len() == at.len() {
            rows.push((line, id, values));
        }
    }
    if total_errors > errors.len() {
        errors.push(format!("and {} more errors", total_errors - errors.len()));
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

/// A CSV reading error without the record's contents.
fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".into(),
        _ => "cannot be read as CSV".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_category_and_date() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        assert_eq!(
            parse_file_name(Path::new("drop/tax_records_2026-10-31.csv")),
            (Some("tax_records".into()), d("2026-10-31"))
        );
        assert_eq!(
            parse_file_name(Path::new("tax_records-20261031.csv")),
            (Some("tax_records".into()), d("2026-10-31"))
        );
        assert_eq!(
            parse_file_name(Path::new("identity.csv")),
            (Some("identity".into()), None)
        );
        assert_eq!(
            parse_file_name(Path::new("identity_2026-13-01.csv")),
            (Some("identity_2026-13-01".into()), None)
        );
    }
}
