//! The floor, measured first in every repeat: what one durable write costs
//! on this disk and this database right now, so that the latency targets
//! are judged against the machine they ran on.
//!
//! - An fsync of a 4 KiB append to a file in the database's directory (for
//!   PostgreSQL, whose data directory is the server's, the system's
//!   temporary directory): `samples` times, each timed from the write to
//!   the end of the fsync.
//! - The database's commit of a trivial INSERT, one row per commit, over a
//!   connection of the bench's own with the store's settings (on SQLite:
//!   WAL, `synchronous = FULL`), into a scratch table `bench_floor_commits`
//!   that is dropped afterwards. On PostgreSQL this is the floor its
//!   targets are judged against.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hedui_store::{BackendKind, RawPool};

use super::Dist;
use super::figures::Figures;

/// The labels of the floor's figures.
pub(crate) const FSYNC_P50: &str = "[floor] fsync of a 4 KiB append, p50";
pub(crate) const FSYNC_P99: &str = "  fsync of a 4 KiB append, p99";
pub(crate) const COMMIT_P50: &str = "  database commit of a trivial INSERT, p50";
pub(crate) const COMMIT_P99: &str = "  database commit of a trivial INSERT, p99";

/// Where the fsync file goes: beside the SQLite database, or the
/// temporary directory.
fn sync_dir(database_url: &str) -> PathBuf {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .or_else(|| (!database_url.contains("://")).then_some(database_url));
    path.map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.contains(":memory:"))
        .and_then(|p| Path::new(p).parent().map(Path::to_path_buf))
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir)
}

/// Appends 4 KiB to `f` and fsyncs it; returns how long both took.
fn append_and_sync(f: &mut std::fs::File) -> std::io::Result<Duration> {
    let started = Instant::now();
    f.write_all(&[0x5au8; 4096])?;
    f.sync_all()?;
    Ok(started.elapsed())
}

/// `n` timings of a 4 KiB append followed by an fsync, in a new file in
/// `dir` that is removed afterwards.
fn fsyncs(dir: &Path, n: usize) -> anyhow::Result<Vec<Duration>> {
    let file = tempfile::Builder::new().prefix(".hedui-bench-fsync").tempfile_in(dir)?;
    let mut f = std::fs::OpenOptions::new().append(true).open(file.path())?;
    // One unmeasured round, so the file exists on disk before timing.
    append_and_sync(&mut f)?;
    (0..n).map(|_| Ok(append_and_sync(&mut f)?)).collect()
}

/// Runs `$body` with `$conn`, one connection of the [`RawPool`] `$pool`,
/// and `$insert`, the statement that inserts one `id` into `$table`: a
/// scratch table made for it and dropped afterwards. (A macro because the
/// two backends' connections are of different types.)
macro_rules! on_scratch_table {
    ($pool:expr, $table:literal, |$conn:ident, $insert:ident| $body:block) => {
        match $pool {
            RawPool::Sqlite(p, _) => on_scratch_table!(@run p, $table, "(?)", $conn, $insert, $body),
            RawPool::Postgres(p) => on_scratch_table!(@run p, $table, "($1)", $conn, $insert, $body),
        }
    };
    (@run $p:ident, $table:literal, $value:literal, $conn:ident, $insert:ident, $body:block) => {{
        sqlx::query(concat!("CREATE TABLE IF NOT EXISTS ", $table, " (id BIGINT PRIMARY KEY NOT NULL)"))
            .execute($p)
            .await?;
        sqlx::query(concat!("DELETE FROM ", $table)).execute($p).await?;
        let mut $conn = $p.acquire().await?;
        let $insert: &'static str = concat!("INSERT INTO ", $table, " (id) VALUES ", $value);
        $body
        drop($conn);
        sqlx::query(concat!("DROP TABLE ", $table)).execute($p).await?;
    }};
}

/// `n` timings of one autocommitted INSERT each, on one connection.
async fn commits(database_url: &str, n: usize) -> anyhow::Result<Vec<Duration>> {
    let pool = RawPool::connect(database_url).await?;
    let mut out = Vec::with_capacity(n);
    on_scratch_table!(&pool, "bench_floor_commits", |conn, insert| {
        for i in 0..=n as i64 {
            let started = Instant::now();
            sqlx::query(insert).bind(i).execute(&mut *conn).await?;
            // The first commit is not counted: it warms the connection.
            if i > 0 {
                out.push(started.elapsed());
            }
        }
    });
    pool.close().await;
    Ok(out)
}

/// Measures the floor and adds it to `figs`; returns what it printed.
pub(crate) async fn measure(
    database_url: &str,
    backend: BackendKind,
    samples: usize,
    figs: &mut Figures,
) -> anyhow::Result<()> {
    let dir = sync_dir(database_url);
    let n = samples.max(1);
    let syncs = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || fsyncs(&dir, n)).await??
    };
    let syncs = Dist::new(syncs);
    let commits = Dist::new(commits(database_url, n).await?);
    let db = match backend {
        BackendKind::Sqlite => "SQLite, WAL, synchronous = FULL",
        BackendKind::Postgres => "PostgreSQL",
    };
    println!(
        "floor: {n} fsyncs of a 4 KiB append in {} — p50 {}, p99 {}; {n} commits of a trivial INSERT ({db}) — p50 {}, p99 {}",
        dir.display(),
        super::ms(syncs.pct(50.0)),
        super::ms(syncs.pct(99.0)),
        super::ms(commits.pct(50.0)),
        super::ms(commits.pct(99.0)),
    );
    figs.ms(FSYNC_P50, syncs.pct(50.0));
    figs.ms(FSYNC_P99, syncs.pct(99.0));
    figs.ms(COMMIT_P50, commits.pct(50.0));
    figs.ms(COMMIT_P99, commits.pct(99.0));
    Ok(())
}

/// The labels of the figures of the floor measured during a run.
pub(crate) const LOADED_FSYNC: &str = "  fsync of a 4 KiB append during the run";
pub(crate) const LOADED_COMMIT: &str = "  commit of a trivial INSERT during the run";

/// The floor again, during a run: every `every`, an fsync of a 4 KiB append
/// and a trivial commit, each timed, while the hub carries the run's load.
/// The commit goes to a database of the probe's own (a new SQLite file
/// beside the store's, or a scratch table on the PostgreSQL server), so it
/// shares the machine and the disk with the hub but no lock. Set against
/// the floor measured alone, it shows what the run's load does to one
/// durable write with no hub in its way: the part of the hub's tail that
/// the machine sets.
pub(crate) struct Probe {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<(Vec<Duration>, Vec<Duration>)>>,
}

impl Probe {
    pub(crate) fn start(database_url: &str, backend: BackendKind, every: Duration) -> Probe {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let dir = sync_dir(database_url);
        let url = database_url.to_owned();
        let task = tokio::spawn(probe(dir, url, backend, every, stopped));
        Probe { stop, task }
    }

    /// Stops the probe; returns its fsyncs and its commits.
    pub(crate) async fn stop(self) -> anyhow::Result<(Dist, Dist)> {
        let _ = self.stop.send(());
        let (syncs, commits) = self.task.await??;
        Ok((Dist::new(syncs), Dist::new(commits)))
    }
}

async fn probe(
    dir: PathBuf,
    database_url: String,
    backend: BackendKind,
    every: Duration,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    let scratch = tempfile::Builder::new().prefix(".hedui-bench-probe").tempdir_in(&dir)?;
    let url = match backend {
        BackendKind::Sqlite => format!("sqlite://{}", scratch.path().join("probe.db").display()),
        BackendKind::Postgres => database_url,
    };
    let mut file = Some(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(scratch.path().join("fsync"))?,
    );
    let pool = RawPool::connect(&url).await?;
    let (mut syncs, mut commits) = (Vec::new(), Vec::new());
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    on_scratch_table!(&pool, "bench_probe_commits", |conn, insert| {
        for i in 0i64.. {
            tokio::select! {
                _ = &mut stopped => break,
                _ = tick.tick() => {}
            }
            let f = file.take().expect("the probe's file is put back after each fsync");
            let (f, synced) = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
                let mut f = f;
                let synced = append_and_sync(&mut f)?;
                Ok((f, synced))
            })
            .await??;
            file = Some(f);
            let started = Instant::now();
            sqlx::query(insert).bind(i).execute(&mut *conn).await?;
            // The first of each is not counted: it warms the file and the
            // connection.
            if i > 0 {
                syncs.push(synced);
                commits.push(started.elapsed());
            }
        }
    });
    pool.close().await;
    Ok((syncs, commits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sync_file_goes_beside_a_sqlite_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("bench.db");
        for url in [
            format!("sqlite://{}", db.display()),
            format!("sqlite:{}?mode=rwc", db.display()),
            db.display().to_string(),
        ] {
            assert_eq!(sync_dir(&url), dir.path(), "{url}");
        }
        assert_eq!(sync_dir("postgres://root@127.0.0.1/x"), std::env::temp_dir());
        assert_eq!(sync_dir("sqlite::memory:"), std::env::temp_dir());
    }

    #[test]
    fn fsyncs_are_timed_and_the_file_removed() {
        let dir = tempfile::tempdir().unwrap();
        let t = fsyncs(dir.path(), 3).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
