//! The data key file on disk: replacing it atomically (`hedui keys rotate`
//! and `retire`) and a [`KeyProvider`] that reloads it when it changes, so
//! a running hub wraps new data keys under a new primary KEK without a
//! restart.
//!
//! The reload works as the hub's TLS files do (`hedui_tls`'s reloader): on
//! use, at most once per [`KEY_RELOAD_CHECK_INTERVAL`], the file's
//! modification time, length and inode are compared with those it was
//! loaded from; on a change it is loaded again, and a file that does not
//! load (half-written, readable by others, another hub's index key) is
//! refused with an error logged while the last good keys stay in use.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::envelope::{DataKeys, EnvelopeError, Key, KeyProvider};

/// How often, at most, a [`ReloadingKeys`] looks at its file. A rotation
/// waits a little more than this after writing the new primary KEK before
/// its last pass, so that every hub reading the same file has switched.
pub const KEY_RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Writes `keys` to `path` so that a reader sees the old file or the new
/// one, never half of either: a temporary file beside it (mode 0600, made
/// new, with the owner and group of the file it replaces, so that a
/// rotation run as root leaves a file the hub's user still reads), written
/// and fsynced, renamed over `path`, and the directory fsynced so the
/// rename survives a crash.
pub fn write_atomically(path: &Path, keys: &DataKeys) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    // A temporary file left by a run killed between create and rename has
    // this process id only by chance; it holds keys, so it is replaced.
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut f = opts.open(&tmp)?;
        #[cfg(unix)]
        if let Ok(old) = std::fs::metadata(path) {
            use std::os::unix::fs::MetadataExt as _;
            std::os::unix::fs::fchown(&f, Some(old.uid()), Some(old.gid()))?;
        }
        f.write_all(keys.to_file_text().as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// What identifies one version of the file: modification time, length and
/// inode (a rename puts a new inode in place even within the same second).
type Stamp = Option<(SystemTime, u64, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok()?, meta.len(), inode))
}

/// Loads a data key file, checking what the caller wants checked (the hub
/// refuses a file its group or others may read).
pub type KeyFileLoader = dyn Fn(&Path) -> Result<DataKeys, String> + Send + Sync;

struct State {
    keys: Arc<DataKeys>,
    stamp: Stamp,
    checked: Instant,
    /// The stamp of the last refused version, so a file left broken is
    /// reported once rather than every second.
    failed: Option<Stamp>,
}

/// A [`KeyProvider`] over a data key file that reloads it on change.
pub struct ReloadingKeys {
    path: PathBuf,
    load: Box<KeyFileLoader>,
    state: Mutex<State>,
}

impl fmt::Debug for ReloadingKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingKeys")
            .field("path", &self.path)
            .field("keys", &self.lock().keys)
            .finish()
    }
}

impl ReloadingKeys {
    /// Loads the file with `load`. Unlike a later reload, a failure here is
    /// an error: the hub does not start without its keys.
    pub fn load(path: PathBuf, load: Box<KeyFileLoader>) -> Result<ReloadingKeys, String> {
        // The stamp is taken before reading, so a write in between shows up
        // as a change at the next check rather than being missed.
        let stamp = stamp(&path);
        let keys = Arc::new(load(&path)?);
        Ok(ReloadingKeys {
            path,
            load,
            state: Mutex::new(State {
                keys,
                stamp,
                checked: Instant::now(),
                failed: None,
            }),
        })
    }

    /// This provider behind an `Arc`, as the store takes it.
    pub fn into_provider(self) -> Arc<dyn KeyProvider> {
        Arc::new(self)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is replaced whole or not at all.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The keys to use now, reloaded first if the file changed since the
    /// last check (at most once per [`KEY_RELOAD_CHECK_INTERVAL`]).
    pub fn current(&self) -> Arc<DataKeys> {
        let mut state = self.lock();
        if state.checked.elapsed() >= KEY_RELOAD_CHECK_INTERVAL {
            state.checked = Instant::now();
            let now = stamp(&self.path);
            if now != state.stamp && state.failed != Some(now) {
                self.reload(&mut state, now);
            }
        }
        state.keys.clone()
    }

    /// The keys to open something wrapped by `kek_id`: as [`Self::current`],
    /// but when they lack that KEK the file is looked at at once, whatever
    /// the interval: a rotation may have just added the KEK and re-wrapped
    /// rows under it before this process's next check.
    fn current_holding(&self, kek_id: &str) -> Arc<DataKeys> {
        let keys = self.current();
        if keys.holds(kek_id) {
            return keys;
        }
        let mut state = self.lock();
        state.checked = Instant::now();
        let now = stamp(&self.path);
        if now != state.stamp && state.failed != Some(now) {
            self.reload(&mut state, now);
        }
        state.keys.clone()
    }

    fn reload(&self, state: &mut State, now: Stamp) {
        let refused = |state: &mut State, problem: &str| {
            tracing::error!(
                path = %self.path.display(),
                problem,
                "the data key file changed but is refused; keeping the keys loaded before"
            );
            state.failed = Some(now);
        };
        match (self.load)(&self.path) {
            Ok(keys) if !keys.same_index_key(&state.keys) => refused(
                state,
                "its index key differs from the one loaded, so member searches of stored records would find nothing (another hub's key file?)",
            ),
            Ok(keys) => {
                let lost: Vec<String> = state
                    .keys
                    .kek_ids()
                    .into_iter()
                    .filter(|id| !keys.kek_ids().contains(id))
                    .collect();
                tracing::info!(
                    path = %self.path.display(),
                    primary_kek = %keys.current_kek_id(),
                    keks = keys.kek_ids().len(),
                    retired = %lost.join(","),
                    "data key file changed; keys reloaded"
                );
                state.keys = Arc::new(keys);
                state.stamp = now;
                state.failed = None;
            }
            Err(problem) => refused(state, &problem),
        }
    }
}

impl KeyProvider for ReloadingKeys {
    fn current_kek_id(&self) -> String {
        self.current().current_kek_id()
    }

    fn wrap(&self, kek_id: &str, data_key: &Key) -> Result<Vec<u8>, EnvelopeError> {
        self.current_holding(kek_id).wrap(kek_id, data_key)
    }

    fn wrap_primary(&self, data_key: &Key) -> Result<(String, Vec<u8>), EnvelopeError> {
        // One version of the keys for both, so a reload in between cannot
        // pair a KEK id with another file's key.
        self.current().wrap_primary(data_key)
    }

    fn unwrap_key(&self, kek_id: &str, wrapped: &[u8]) -> Result<Key, EnvelopeError> {
        self.current_holding(kek_id).unwrap_key(kek_id, wrapped)
    }

    fn person_index(&self, id_number: &str) -> String {
        self.current().person_index(id_number)
    }

    fn kek_ids(&self) -> Vec<String> {
        self.current().kek_ids()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loader() -> Box<KeyFileLoader> {
        Box::new(DataKeys::load)
    }

    /// Makes the next `current()` look at the file at once.
    fn expire_check(r: &ReloadingKeys) {
        r.lock().checked = Instant::now() - KEY_RELOAD_CHECK_INTERVAL * 2;
    }

    #[test]
    fn an_atomic_write_is_private_and_a_reload_picks_up_the_new_primary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.key");
        let mut keys = DataKeys::generate().unwrap();
        write_atomically(&path, &keys).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let old = keys.current_kek_id();
        let r = ReloadingKeys::load(path.clone(), loader()).unwrap();
        assert_eq!(r.current_kek_id(), old);
        let wrapped_old = r.wrap(&old, &Key::generate().unwrap()).unwrap();

        let new = keys.add_kek().unwrap();
        write_atomically(&path, &keys).unwrap();
        expire_check(&r);
        assert_eq!(r.current_kek_id(), new);
        // The old KEK still opens what it wrapped.
        r.unwrap_key(&old, &wrapped_old).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }

    #[test]
    fn a_kek_it_lacks_makes_it_look_at_the_file_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.key");
        let mut keys = DataKeys::generate().unwrap();
        write_atomically(&path, &keys).unwrap();
        let r = ReloadingKeys::load(path.clone(), loader()).unwrap();
        let new = keys.add_kek().unwrap();
        write_atomically(&path, &keys).unwrap();
        // Within the check interval, but a row names the new KEK.
        let wrapped = keys.wrap(&new, &Key::generate().unwrap()).unwrap();
        r.unwrap_key(&new, &wrapped).unwrap();
        assert_eq!(r.current_kek_id(), new);
    }

    #[test]
    fn a_broken_file_or_another_index_key_is_refused_and_the_old_keys_stay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.key");
        let keys = DataKeys::generate().unwrap();
        write_atomically(&path, &keys).unwrap();
        let r = ReloadingKeys::load(path.clone(), loader()).unwrap();
        std::fs::write(&path, "hedui-data-keys v1\nindex-key 00\n").unwrap();
        expire_check(&r);
        assert_eq!(r.current_kek_id(), keys.current_kek_id());
        write_atomically(&path, &DataKeys::generate().unwrap()).unwrap();
        expire_check(&r);
        assert_eq!(r.current_kek_id(), keys.current_kek_id());
    }

    #[test]
    fn the_primary_kek_cannot_be_removed_and_others_can() {
        let mut keys = DataKeys::generate().unwrap();
        let old = keys.current_kek_id();
        let new = keys.add_kek().unwrap();
        let e = keys.remove_kek(&new).unwrap_err();
        assert!(e.contains("primary"), "{e}");
        assert!(keys.remove_kek("kek-none").unwrap_err().contains("kek-none"));
        keys.remove_kek(&old).unwrap();
        assert_eq!(keys.kek_ids(), std::slice::from_ref(&new));
        assert_eq!(keys.current_kek_id(), new);
    }
}
