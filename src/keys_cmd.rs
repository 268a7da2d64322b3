//! `hedui keys`: rotating the data key file's KEK, showing what each KEK
//! protects, and retiring a KEK nothing needs any more (issue #15 item 2).
//!
//! A rotation adds a KEK to the key file first (atomically; the old KEKs
//! stay) and only then re-wraps rows, so every row always names a KEK the
//! file holds. What is left to do is read from the database (rows whose
//! KEK is not the primary one), so a rotation killed midway is finished by
//! `hedui keys rotate --resume`; a plain `rotate` refuses while one is
//! unfinished, rather than stack a third KEK on the second.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand};
use hedui_store::rotation::KekRows;
use hedui_store::{DataKeys, KEY_RELOAD_CHECK_INTERVAL, KeyProvider as _, Store};

use crate::client::Output;
use crate::config;

/// The schema version that lets a sealed review be re-wrapped.
const ROTATION_MIGRATION: i64 = 8;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new KEK to the data key file, make it the primary one, and
    /// re-wrap every data key wrapped by an older KEK, a chunk per
    /// transaction, while the hub serves. Killed midway, finish it with
    /// --resume.
    Rotate(RotateArgs),
    /// Show how many records, batch items and reviews each KEK protects,
    /// which KEK is primary, and the rows still plaintext.
    Status(StatusArgs),
    /// Remove a KEK from the data key file; refused while any row still
    /// needs it, and for the primary KEK.
    Retire(RetireArgs),
}

/// Which database and which data key file: the same options as the other
/// commands that open the database themselves.
#[derive(Debug, Args)]
pub struct Target {
    /// The database: sqlite://PATH, a file path, or postgres://… (the
    /// owner's URL on PostgreSQL). Default: the database_url of --config.
    #[arg(long, env = "HEDUI_DATABASE_URL")]
    pub database: Option<String>,
    /// The hub configuration file, for its database_url and data_key (with
    /// its HEDUI__… variables, as `hedui hub` reads it).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The hub's data key file. Default: data_key of --config, else
    /// keys/data.key beside an SQLite database file.
    #[arg(long)]
    pub data_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub target: Target,
    /// Finish a rotation that was stopped: re-wrap under the key file's
    /// primary KEK without adding another.
    #[arg(long)]
    pub resume: bool,
    /// Rows of each table re-wrapped per transaction.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=100_000))]
    pub chunk: i64,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,
    /// Output format: human (or text) or json.
    #[arg(long, value_enum, default_value = "human")]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct RetireArgs {
    #[command(flatten)]
    pub target: Target,
    /// The KEK to remove, as `hedui keys status` names it.
    #[arg(long)]
    pub kek: String,
}

pub async fn run(c: KeysCommand) -> anyhow::Result<()> {
    match c {
        KeysCommand::Rotate(a) => rotate(a).await,
        KeysCommand::Status(a) => status(a).await,
        KeysCommand::Retire(a) => retire(a).await,
    }
}

/// The database URL (and the flag it came from) and the data key file.
fn resolve(t: &Target) -> anyhow::Result<(String, &'static str, Option<PathBuf>)> {
    let file = t
        .config
        .as_ref()
        .map(|c| config::load_layers(Some(c), config::env_layer()?).map(|f| (c, f)))
        .transpose()?;
    let (url, flag) = match (&t.database, &file) {
        (Some(d), _) => (d.clone(), "--database"),
        (None, Some((_, f))) => (f.database_url.expose().clone(), "database_url"),
        (None, None) => bail!(
            "give the database: --database sqlite://PATH (or postgres://…), or --config with the hub's configuration file"
        ),
    };
    let key = match (&t.data_key, &file) {
        (Some(k), _) => Some(k.clone()),
        (None, Some((c, f))) => Some(c.parent().unwrap_or(Path::new(".")).join(&f.data_key)),
        (None, None) => config::local_data_key(None, &url),
    };
    Ok((url, flag, key))
}

/// Opens the database without migrating, refusing a missing SQLite file
/// (a mistyped path would make a new, empty database).
async fn open(url: &str, flag: &str) -> anyhow::Result<Store> {
    let shown = hedui_store::redact_url(url);
    if !url.contains("://") || url.starts_with("sqlite:") {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = path.split('?').next().unwrap_or(path);
        if !path.contains(":memory:") && !Path::new(path).is_file() {
            bail!("{flag} {shown}: no such database file");
        }
    }
    Store::open_without_migrating(url)
        .await
        .with_context(|| format!("{flag} {shown}"))
}

/// The key file a command that changes it needs, or the error saying so.
fn required_key(key: Option<PathBuf>, what: &str) -> anyhow::Result<PathBuf> {
    key.ok_or_else(|| {
        anyhow!(
            "no data key is configured: {what} needs the hub's data key file; give --data-key, or --config with the hub's configuration"
        )
    })
}

/// KEKs that rows name but the key file lacks, in words, or `None`.
fn missing_keks(by_kek: &BTreeMap<String, KekRows>, keys: &DataKeys, path: &Path) -> Option<String> {
    let held = keys.kek_ids();
    let missing: Vec<String> = by_kek
        .iter()
        .filter(|(id, _)| !held.contains(id))
        .map(|(id, n)| format!("KEK {id} ({})", counts(n)))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "rows name {}, which the data key file {} does not hold: it is not the file the hub uses (the wrong key file), or the KEK was removed too early (restore it from the key file's backup)",
            missing.join(", "),
            path.display()
        )
    })
}

fn counts(n: &KekRows) -> String {
    format!(
        "{} record(s), {} batch item(s), {} review(s)",
        n.records, n.batch_items, n.reviews
    )
}

/// Rows wrapped by a KEK other than `primary`.
fn left_over(by_kek: &BTreeMap<String, KekRows>, primary: &str) -> u64 {
    by_kek
        .iter()
        .filter(|(id, _)| *id != primary)
        .map(|(_, n)| n.total())
        .sum()
}

async fn rotate(a: RotateArgs) -> anyhow::Result<()> {
    let (url, flag, key) = resolve(&a.target)?;
    let key_path = required_key(key, "key rotation")?;
    let mut keys = config::load_data_keys(&key_path)?;
    let store = open(&url, flag).await?;
    let result = rotate_with(&store, &mut keys, &key_path, &a).await;
    store.close().await;
    result
}

async fn rotate_with(store: &Store, keys: &mut DataKeys, key_path: &Path, a: &RotateArgs) -> anyhow::Result<()> {
    let version = store.schema_version().await?;
    if version < ROTATION_MIGRATION {
        bail!(
            "the database's schema is version {version}; key rotation needs migration {ROTATION_MIGRATION} (0008_key_rotation): run `hedui migrate` first"
        );
    }
    // Checked before anything is written: a row this file cannot open
    // would stop the rotation halfway.
    let by_kek = store.rows_by_kek().await?;
    if let Some(problem) = missing_keks(&by_kek, keys, key_path) {
        bail!("{problem}; nothing was changed");
    }
    let written_at = if a.resume {
        println!(
            "resuming: re-wrapping under the primary KEK {} of {}",
            keys.current_kek_id(),
            key_path.display()
        );
        std::fs::metadata(key_path)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::now())
    } else {
        let unfinished = left_over(&by_kek, &keys.current_kek_id());
        if unfinished > 0 {
            bail!(
                "a rotation is unfinished: {unfinished} row(s) are still wrapped by KEKs other than the primary KEK {}; finish it with `hedui keys rotate --resume` (a new rotation would add yet another KEK)",
                keys.current_kek_id()
            );
        }
        let old = keys.current_kek_id();
        let new = keys.add_kek()?;
        hedui_store::key_file::write_atomically(key_path, keys)
            .with_context(|| format!("cannot write the data key file {}", key_path.display()))?;
        println!(
            "added KEK {new} to {} as the primary KEK (KEK {old} stays in the file); a running hub reading this file wraps new data keys under it within {} s",
            key_path.display(),
            KEY_RELOAD_CHECK_INTERVAL.as_secs()
        );
        SystemTime::now()
    };
    let primary = store.clone().with_data_keys(keys.clone().into_provider());
    let primary_id = keys.current_kek_id();
    // Counted once: a count per chunk would read the whole index each time.
    let to_do = left_over(&primary.rows_by_kek().await?, &primary_id);
    let mut done = 0u64;
    // A hub reads its file again at most every KEY_RELOAD_CHECK_INTERVAL;
    // rows it sealed under the old KEK just before are found by a last pass
    // after that.
    let settle = KEY_RELOAD_CHECK_INTERVAL * 2 + Duration::from_millis(500);
    loop {
        let n = primary.rewrap_chunk(a.chunk).await.context("re-wrapping data keys")?;
        if n.total() > 0 {
            done += n.total();
            eprintln!(
                "re-wrapped {done} data key(s) under KEK {primary_id}; about {} left",
                to_do.saturating_sub(done)
            );
            continue;
        }
        let since = written_at.elapsed().unwrap_or_default();
        if since >= settle {
            break;
        }
        tokio::time::sleep(settle - since).await;
    }
    let by_kek = primary.rows_by_kek().await?;
    let straggling = left_over(&by_kek, &primary_id);
    if straggling > 0 {
        // Only a hub that has not switched writes under an older KEK now.
        bail!(
            "re-wrapped {done} data key(s), but {straggling} row(s) were written under an older KEK after the last pass: a hub is still wrapping under it (does every hub read {}?); run `hedui keys rotate --resume` again",
            key_path.display()
        );
    }
    let older: Vec<String> = keys.kek_ids().into_iter().filter(|id| *id != primary_id).collect();
    println!(
        "rotation done: re-wrapped {done} data key(s); every sealed row ({}) is wrapped by KEK {primary_id}",
        by_kek
            .get(&primary_id)
            .map(counts)
            .unwrap_or_else(|| counts(&KekRows::default()))
    );
    if !older.is_empty() {
        println!(
            "older KEK(s) still in {}: {}; keep them while any backup taken before this rotation may be restored, then remove each with `hedui keys retire --kek ID`",
            key_path.display(),
            older.join(", ")
        );
    }
    let plain = primary.plaintext_rows().await?;
    if plain.total() > 0 {
        println!(
            "note: {} row(s) are still plaintext (written before encryption at rest); `hedui migrate --data-key {}` encrypts them",
            plain.total(),
            key_path.display()
        );
    }
    Ok(())
}

async fn status(a: StatusArgs) -> anyhow::Result<()> {
    let (url, flag, key) = resolve(&a.target)?;
    let keys = key.as_deref().map(config::load_data_keys).transpose()?;
    let store = open(&url, flag).await?;
    let by_kek = store.rows_by_kek().await;
    let plain = store.plaintext_rows().await;
    store.close().await;
    let (by_kek, plain) = (by_kek?, plain?);
    let primary = keys.as_ref().map(|k| k.current_kek_id());
    let mut ids: Vec<String> = keys.as_ref().map(|k| k.kek_ids()).unwrap_or_default();
    for id in by_kek.keys() {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    let held = |id: &str| keys.as_ref().is_some_and(|k| k.kek_ids().iter().any(|h| h == id));
    let missing = match (&keys, &key) {
        (Some(k), Some(p)) => missing_keks(&by_kek, k, p),
        _ => None,
    };
    let left = primary.as_deref().map(|p| left_over(&by_kek, p));
    if a.output == Output::Human {
        match (&key, &primary) {
            (Some(p), Some(id)) => println!("data key file {}: primary KEK {id}", p.display()),
            _ => println!("no data key file given (--data-key or --config): which KEK is primary is not known"),
        }
        println!(
            "{:<24} {:>10} {:>12} {:>10}  ",
            "KEK", "records", "batch items", "reviews"
        );
        for id in &ids {
            let n = by_kek.get(id).copied().unwrap_or_default();
            let mut notes = Vec::new();
            if primary.as_deref() == Some(id.as_str()) {
                notes.push("primary");
            }
            if keys.is_some() && !held(id) {
                notes.push("NOT IN THE KEY FILE");
            }
            println!(
                "{id:<24} {:>10} {:>12} {:>10}  {}",
                n.records,
                n.batch_items,
                n.reviews,
                notes.join(", ")
            );
        }
        println!(
            "{:<24} {:>10} {:>12} {:>10}",
            "(plaintext)", plain.records, plain.batch_items, plain.reviews
        );
        match left {
            Some(0) => println!("every sealed row is wrapped by the primary KEK"),
            Some(n) => println!(
                "{n} row(s) are wrapped by older KEKs: a rotation is unfinished (`hedui keys rotate --resume`)"
            ),
            None => {}
        }
    } else {
        let keks: Vec<serde_json::Value> = ids
            .iter()
            .map(|id| {
                let n = by_kek.get(id).copied().unwrap_or_default();
                serde_json::json!({
                    "kekId": id,
                    "primary": primary.as_deref() == Some(id.as_str()),
                    "inKeyFile": held(id),
                    "records": n.records,
                    "batchItems": n.batch_items,
                    "reviews": n.reviews,
                })
            })
            .collect();
        let v = serde_json::json!({
            "keyFile": key.as_ref().map(|p| p.display().to_string()),
            "primaryKek": primary,
            "keks": keks,
            "plaintext": {
                "records": plain.records,
                "batchItems": plain.batch_items,
                "reviews": plain.reviews,
            },
            "rowsUnderOlderKeks": left,
        });
        crate::output::one(&v, a.output);
    }
    if let Some(problem) = missing {
        bail!("{problem}");
    }
    Ok(())
}

async fn retire(a: RetireArgs) -> anyhow::Result<()> {
    let (url, flag, key) = resolve(&a.target)?;
    let key_path = required_key(key, "retiring a KEK")?;
    let mut keys = config::load_data_keys(&key_path)?;
    if !keys.kek_ids().contains(&a.kek) {
        bail!(
            "--kek {}: the data key file {} holds no such KEK (it holds {})",
            a.kek,
            key_path.display(),
            keys.kek_ids().join(", ")
        );
    }
    // The primary KEK is refused before the database is asked.
    keys.remove_kek(&a.kek).map_err(|e| anyhow!("--kek {}: {e}", a.kek))?;
    let store = open(&url, flag).await?;
    let by_kek = store.rows_by_kek().await;
    store.close().await;
    if let Some(n) = by_kek?.get(&a.kek).filter(|n| n.total() > 0) {
        bail!(
            "--kek {}: it still wraps the data keys of {}; finish the rotation first (`hedui keys rotate --resume`)",
            a.kek,
            counts(n)
        );
    }
    hedui_store::key_file::write_atomically(&key_path, &keys)
        .with_context(|| format!("cannot write the data key file {}", key_path.display()))?;
    println!(
        "removed KEK {} from {}; backups taken before it was rotated out can only be read with a copy of the key file that still holds it",
        a.kek,
        key_path.display()
    );
    Ok(())
}
