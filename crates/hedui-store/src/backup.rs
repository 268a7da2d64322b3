//! Backups of an SQLite store while a hub serves it, and their restore.
//!
//! [`Store::backup_to`] copies the database with SQLite's `VACUUM INTO`: one
//! read transaction, so the copy is the database as it stood when the copy
//! began (every commit before it, none after), taken without stopping the
//! hub's writers (WAL mode lets them go on). The copy is written under a
//! temporary name beside the target, marked as a hedui backup in its header
//! (SQLite's `application_id`, [`BACKUP_MARK`]), checked, synced, and only
//! then given its name, which is never an existing file's.
//!
//! [`inspect`] tells a hedui backup from any other file: an SQLite database
//! with the mark, that passes SQLite's own `quick_check`, and whose applied
//! migrations are this binary's (names and checksums), the same ones or
//! fewer. [`restore`] copies one into a new or empty directory and verifies
//! the copy as `hedui audit verify --database` does
//! ([`Store::check_integrity`]) and by reading every record through the
//! store's checked read path ([`Store::read_every_record`]) before it takes
//! its final name; a failure leaves nothing behind.
//!
//! No key is in a backup: the hub key (and any key that encrypts records)
//! stays in its own files, kept and backed up apart.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump`, base backups and
//! WAL archiving; see deploy/README.md); [`Store::backup_to`] says so.

use std::path::{Path, PathBuf};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection as _, Row as _, SqliteConnection};

use crate::dialect::Dialect;
use crate::integrity::IntegrityReport;
use crate::{Backend, ListFilter, RECORD_PAGE, Store, StoreError};

/// The `application_id` in the header of a file written by `hedui backup`
/// (the bytes `hedb`). A live hedui database has 0 there, so a copy of one
/// made some other way (which may miss what is still in its `-wal` file) is
/// not taken for a backup. [`restore`] sets it back to 0 in what it
/// restores.
pub const BACKUP_MARK: i32 = i32::from_be_bytes(*b"hedb");

/// The name of the database file [`restore`] writes into its directory,
/// the name the hub's default configuration uses.
pub const RESTORED_NAME: &str = "hedui.db";

/// How many of a failed verification's problems its message lists.
const SHOWN_PROBLEMS: usize = 20;

/// What a backup holds, read from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// The schema version of the copied database.
    pub schema_version: i64,
    /// Records (every version).
    pub records: u64,
    /// Audit log entries.
    pub audit_entries: u64,
    /// Signed audit checkpoints.
    pub checkpoints: u64,
    /// The file's size in bytes.
    pub bytes: u64,
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The restored database file.
    pub path: PathBuf,
    /// What the backup held.
    pub info: BackupInfo,
    /// The whole-database check of the restored copy and the number of
    /// records read through the checked read path; `None` when the backup's
    /// schema is older than this binary's, whose checks need the current
    /// schema (the hub migrates it at its first start; then run `hedui
    /// audit verify --database`).
    pub verified: Option<(IntegrityReport, u64)>,
}

/// What can go wrong making, reading or restoring a backup. Every message
/// names the file or directory concerned.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The database itself failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `hedui backup` copies SQLite databases only.
    #[error(
        "the database is PostgreSQL: back it up with `pg_dump --format=custom` and restore it with `pg_restore` (or base backups with WAL archiving), as deploy/README.md describes; `hedui backup` copies SQLite databases"
    )]
    Postgres,
    /// The database to back up is in memory.
    #[error("an in-memory database has nothing to back up")]
    InMemory,
    /// The target of a backup exists.
    #[error("{}: already exists; a backup never overwrites a file, so give a new name", .0.display())]
    Exists(PathBuf),
    /// The file given to restore is not a hedui backup.
    #[error("{}: not a hedui backup: {reason}", path.display())]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// The directory to restore into holds something.
    #[error(
        "{}: the directory is not empty: it holds {}{}; restore into a new or empty directory (nothing was written)",
        dir.display(),
        first.display(),
        if *others > 0 { format!(" and {others} other(s)") } else { String::new() }
    )]
    NotEmpty {
        /// The directory.
        dir: PathBuf,
        /// The first thing in it, by name.
        first: PathBuf,
        /// How many more things are in it.
        others: usize,
    },
    /// The restored copy failed verification; nothing was restored.
    #[error(
        "{}: the restored copy does not verify ({} problem(s)), so nothing was restored (is the key the hub's?):\n  {}{}",
        file.display(),
        problems.len(),
        problems.iter().take(SHOWN_PROBLEMS).cloned().collect::<Vec<_>>().join("\n  "),
        if problems.len() > SHOWN_PROBLEMS { format!("\n  … and {} more", problems.len() - SHOWN_PROBLEMS) } else { String::new() }
    )]
    DoesNotVerify {
        /// The backup file.
        file: PathBuf,
        /// Every problem, naming its row.
        problems: Vec<String>,
    },
}

/// Result alias for backups.
pub type BackupResult<T> = std::result::Result<T, BackupError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A scratch file or directory, removed when dropped: what a failed backup
/// or restore leaves behind is nothing, and a finished one its result only.
struct Scratch {
    path: Option<PathBuf>,
    dir: bool,
}

impl Scratch {
    fn file(path: PathBuf) -> Scratch {
        Scratch {
            path: Some(path),
            dir: false,
        }
    }

    fn dir(path: PathBuf) -> Scratch {
        Scratch {
            path: Some(path),
            dir: true,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = if self.dir {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

/// A name in `dir` that nothing else uses: `.<stem>.<what>-<pid>-<ns>`.
fn scratch_name(dir: &Path, stem: &str, what: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    dir.join(format!(".{stem}.{what}-{}-{nanos}", std::process::id()))
}

/// Writes `path`'s data and its directory entry to the disk.
fn sync_file_and_dir(path: &Path) -> BackupResult<()> {
    std::fs::File::open(path).and_then(|f| f.sync_all()).map_err(io(path))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> BackupResult<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::File::open(dir).and_then(|f| f.sync_all()).map_err(io(dir))
}

/// Creates the empty file `path`, which must not exist, readable and
/// writable by its owner only: a backup and a restored database hold every
/// household's personal data, as the database does, from their first byte.
fn create_private(path: &Path) -> BackupResult<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).map_err(io(path))
}

/// One connection to the SQLite file at `path`, with none of the store's
/// settings (no WAL: a backup stays one self-contained file).
async fn connect_file(path: &Path, read_only: bool) -> BackupResult<SqliteConnection> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .create_if_missing(false);
    Ok(SqliteConnection::connect_with(&opts).await.map_err(StoreError::from)?)
}

impl Store {
    /// Writes a consistent copy of this (SQLite) database to `out`, which
    /// must not exist, while others go on reading and writing it; see the
    /// module documentation. Returns what the copy holds.
    pub async fn backup_to(&self, out: &Path) -> BackupResult<BackupInfo> {
        let Backend::Sqlite(pool) = &self.backend else {
            return Err(BackupError::Postgres);
        };
        if out.symlink_metadata().is_ok() {
            return Err(BackupError::Exists(out.to_owned()));
        }
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| BackupError::Io {
                path: out.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            })?;
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(BackupError::Io {
                path: dir,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            });
        }
        let partial = scratch_name(&dir, &name, "partial");
        // SQLite writes into an empty file that exists, keeping its mode.
        drop(create_private(&partial)?);
        let scratch = Scratch::file(partial.clone());
        let target = partial.to_str().ok_or_else(|| BackupError::Io {
            path: partial.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path is not UTF-8"),
        })?;
        // One read transaction: the database as of its start. Writers in
        // WAL mode are not held up; the copy is written without a journal.
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await
            .map_err(StoreError::from)?;
        let mut conn = connect_file(&partial, false).await?;
        sqlx::query(crate::dialect::built(format!("PRAGMA application_id = {BACKUP_MARK}")))
            .execute(&mut conn)
            .await
            .map_err(StoreError::from)?;
        conn.close().await.map_err(StoreError::from)?;
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(io(&partial))?;
        let info = inspect(&partial).await?;
        // A hard link fails rather than replace a file that appeared
        // meanwhile; where links are not supported, a rename after a last
        // look.
        match std::fs::hard_link(&partial, out) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(BackupError::Exists(out.to_owned()));
            }
            Err(_) => {
                if out.symlink_metadata().is_ok() {
                    return Err(BackupError::Exists(out.to_owned()));
                }
                std::fs::rename(&partial, out).map_err(io(out))?;
            }
        }
        drop(scratch);
        sync_dir(&dir)?;
        Ok(info)
    }

    /// Reads every record, every version, through the store's checked read
    /// path (as [`Store::list_records`] reads them: digest, and with a seal
    /// key the hub's seal, the binding to the audit entry that stored it and
    /// the row's columns), a page at a time. Returns how many; the first
    /// record that fails is the error.
    pub async fn read_every_record(&self) -> crate::Result<u64> {
        let mut after: Option<(String, String)> = None;
        let mut count = 0;
        loop {
            let page = self
                .list_records(&ListFilter {
                    limit: RECORD_PAGE as u32,
                    after: after.take(),
                    ..ListFilter::default()
                })
                .await?;
            count += page.len() as u64;
            match page.last() {
                Some(last) if page.len() as i64 == RECORD_PAGE => {
                    after = Some((last.created_at.clone(), last.record_id.clone()));
                }
                _ => return Ok(count),
            }
        }
    }
}

/// Reads the file at `path` as a hedui backup: an SQLite database whose
/// header carries [`BACKUP_MARK`], that passes `PRAGMA quick_check`, and
/// whose applied migrations are this binary's first ones, by name and
/// checksum. Opens it read-only and changes nothing.
pub async fn inspect(path: &Path) -> BackupResult<BackupInfo> {
    let not = |reason: String| BackupError::NotABackup {
        path: path.to_owned(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.is_dir() {
        return Err(not("it is a directory".into()));
    }
    let mut header = [0u8; 100];
    {
        use std::io::Read as _;
        let mut f = std::fs::File::open(path).map_err(io(path))?;
        let mut read = 0;
        while read < header.len() {
            match f.read(&mut header[read..]).map_err(io(path))? {
                0 => break,
                n => read += n,
            }
        }
        if read < header.len() || !header.starts_with(b"SQLite format 3\0") {
            return Err(not("it is not an SQLite database".into()));
        }
    }
    let mark = i32::from_be_bytes([header[68], header[69], header[70], header[71]]);
    if mark == 0 {
        return Err(not(
            "it is an SQLite database that `hedui backup` did not write (a copy of a live database can miss what is \
             still in its -wal file; make backups with `hedui backup`)"
                .into(),
        ));
    }
    if mark != BACKUP_MARK {
        return Err(not(format!(
            "it is another application's SQLite database (application id {mark:#010x})"
        )));
    }
    let mut conn = connect_file(path, true)
        .await
        .map_err(|e| not(format!("SQLite cannot open it: {e}")))?;
    let result = read_backup(&mut conn, path).await;
    let _ = conn.close().await;
    let (schema_version, records, audit_entries, checkpoints) = result?;
    Ok(BackupInfo {
        schema_version,
        records,
        audit_entries,
        checkpoints,
        bytes: meta.len(),
    })
}

/// The checks of [`inspect`] on an open backup: `(schema version, records,
/// audit entries, checkpoints)`.
async fn read_backup(conn: &mut SqliteConnection, path: &Path) -> BackupResult<(i64, u64, u64, u64)> {
    let not = |reason: String| BackupError::NotABackup {
        path: path.to_owned(),
        reason,
    };
    let check: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| not(format!("SQLite cannot read it: {e}")))?;
    if check.first().map(String::as_str) != Some("ok") {
        return Err(not(format!("it is damaged: {}", check.join("; "))));
    }
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| not(format!("SQLite cannot read it: {e}")))?;
    if !tables.iter().any(|t| t == "schema_migrations") {
        return Err(not("it has no schema_migrations table, so no hedui made it".into()));
    }
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info('schema_migrations')")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| not(format!("SQLite cannot read it: {e}")))?;
    let sql = if columns.iter().any(|c| c == "checksum") {
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
    } else {
        "SELECT version, name, CAST(NULL AS TEXT) AS checksum FROM schema_migrations ORDER BY version"
    };
    let rows = sqlx::query(sql)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| not(format!("its schema_migrations table is not hedui's: {e}")))?;
    let known = Dialect::Sqlite.migrations();
    let mut version = 0;
    for (i, row) in rows.iter().enumerate() {
        let columns = (row.try_get("version"), row.try_get("name"), row.try_get("checksum"));
        let (Ok(v), Ok(name), Ok(checksum)) = columns else {
            return Err(not("its schema_migrations table is not hedui's".into()));
        };
        let (v, name, checksum): (i64, String, Option<String>) = (v, name, checksum);
        if v != i as i64 + 1 {
            return Err(not(format!("its migrations skip from version {i} to {v}")));
        }
        let Some((known_name, known_sql)) = known.get(i) else {
            return Err(not(format!(
                "a newer hedui wrote it (schema version {}; this hedui knows up to {}): upgrade hedui to restore it",
                rows.len(),
                known.len()
            )));
        };
        if name != *known_name {
            return Err(not(format!(
                "migration {v} is {name:?}, not this hedui's {known_name:?}"
            )));
        }
        if let Some(c) = checksum
            && c != crate::migration_checksum(known_sql)
        {
            return Err(not(format!(
                "migration {v} ({name}) was applied from a different file than this hedui carries (its checksum differs)"
            )));
        }
        version = v;
    }
    if version == 0 {
        return Err(not("no hedui migration was ever applied to it".into()));
    }
    let mut counts = [0u64; 3];
    for (n, table) in counts.iter_mut().zip(["records", "audit_entries", "audit_checkpoints"]) {
        if tables.iter().any(|t| t == table) {
            let c: i64 = sqlx::query_scalar(crate::dialect::built(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| not(format!("SQLite cannot read its {table} table: {e}")))?;
            *n = c as u64;
        }
    }
    let [records, entries, checkpoints] = counts;
    Ok((version, records, entries, checkpoints))
}

/// Restores the backup `file` into `data_dir` (new, or an empty
/// directory) as [`RESTORED_NAME`], then verifies it under the hub's public
/// key `key`: the audit log and every record ([`Store::check_integrity`])
/// and a read of every record ([`Store::read_every_record`]). The copy is
/// made and verified under a temporary name inside `data_dir` and renamed
/// only when it verifies; on any failure nothing is left (a directory this
/// call created is removed again).
///
/// The records are encrypted: `keys` are the hub's data keys, without which
/// no record can be read and the restore is refused as not verifying.
pub async fn restore(
    file: &Path,
    data_dir: &Path,
    key: &hedui_trust::VerifyingKey,
    keys: Option<std::sync::Arc<dyn crate::KeyProvider>>,
) -> BackupResult<Restored> {
    let info = inspect(file).await?;
    let created = match std::fs::read_dir(data_dir) {
        Ok(entries) => {
            let mut names: Vec<PathBuf> = entries
                .map(|e| e.map(|e| e.path()))
                .collect::<std::io::Result<_>>()
                .map_err(io(data_dir))?;
            names.sort();
            if let Some(first) = names.first() {
                return Err(BackupError::NotEmpty {
                    dir: data_dir.to_owned(),
                    first: first.clone(),
                    others: names.len() - 1,
                });
            }
            false
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700)).map_err(io(data_dir))?;
            }
            true
        }
        Err(_) if data_dir.exists() && !data_dir.is_dir() => {
            return Err(BackupError::Io {
                path: data_dir.to_owned(),
                source: std::io::Error::other("exists and is not a directory; restore into a new or empty directory"),
            });
        }
        Err(e) => return Err(io(data_dir)(e)),
    };
    let result = restore_into(file, data_dir, key, keys, info).await;
    if result.is_err() && created {
        let _ = std::fs::remove_dir(data_dir);
    }
    result
}

async fn restore_into(
    file: &Path,
    data_dir: &Path,
    key: &hedui_trust::VerifyingKey,
    keys: Option<std::sync::Arc<dyn crate::KeyProvider>>,
    info: BackupInfo,
) -> BackupResult<Restored> {
    let work = scratch_name(data_dir, "hedui", "restoring");
    std::fs::create_dir(&work).map_err(io(&work))?;
    let scratch = Scratch::dir(work.clone());
    let copy = work.join(RESTORED_NAME);
    {
        let mut to = create_private(&copy)?;
        let mut from = std::fs::File::open(file).map_err(io(file))?;
        std::io::copy(&mut from, &mut to).map_err(io(&copy))?;
    }

    let url = format!("sqlite://{}", copy.display());
    let mut store = Store::open_without_migrating(&url).await?.with_seal_key(*key);
    if let Some(keys) = keys {
        store = store.with_data_keys(keys);
    }
    let verified = verify(&store, key, info.checkpoints == 0).await;
    store.close().await;
    let verified = verified.map_err(|problems| BackupError::DoesNotVerify {
        file: file.to_owned(),
        problems,
    })?;

    // One self-contained file again (the store opened it in WAL mode), no
    // longer marked as a backup: the hub's database.
    let mut conn = connect_file(&copy, false).await?;
    for pragma in ["PRAGMA journal_mode = DELETE", "PRAGMA application_id = 0"] {
        sqlx::query(pragma).execute(&mut conn).await.map_err(StoreError::from)?;
    }
    conn.close().await.map_err(StoreError::from)?;
    for leftover in ["-wal", "-shm", "-journal"] {
        let p = work.join(format!("{RESTORED_NAME}{leftover}"));
        if p.exists() {
            return Err(BackupError::Io {
                path: p,
                source: std::io::Error::other("SQLite left this file behind; nothing was restored"),
            });
        }
    }
    std::fs::File::open(&copy)
        .and_then(|f| f.sync_all())
        .map_err(io(&copy))?;
    let path = data_dir.join(RESTORED_NAME);
    std::fs::rename(&copy, &path).map_err(io(&path))?;
    drop(scratch);
    sync_file_and_dir(&path)?;
    Ok(Restored { path, info, verified })
}

/// The checks of a restored copy; `Err` holds every problem. `Ok(None)` for
/// a schema older than this binary's (see [`Restored::verified`]).
///
/// A backup taken before the hub signed its first checkpoint (`unsigned`)
/// has none to check its entries against: that is the state the hub's own
/// database was in, which the hub starts on and signs in its next
/// interval, so it is not counted as a problem here (the report's
/// `checkpoints` is 0, and `hedui restore` says what it means).
async fn verify(
    store: &Store,
    key: &hedui_trust::VerifyingKey,
    unsigned: bool,
) -> std::result::Result<Option<(IntegrityReport, u64)>, Vec<String>> {
    let version = store.schema_version().await.map_err(|e| vec![e.to_string()])?;
    if version < Store::known_schema_version() {
        return Ok(None);
    }
    let mut report = store.check_integrity(key).await.map_err(|e| vec![e.to_string()])?;
    if unsigned {
        report.problems.retain(|p| !p.starts_with("audit_checkpoints:"));
    }
    if !report.problems.is_empty() {
        return Err(report.problems);
    }
    let read = store.read_every_record().await.map_err(|e| vec![e.to_string()])?;
    Ok(Some((report, read)))
}
