//! `FILE` mode: the users of an htpasswd file, read again when the file changes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use parking_lot::Mutex;

use super::htpasswd::{parse_users, Users};

/// The file read when `userFile` is not set (Easegress's default).
pub const DEFAULT_USER_FILE: &str = "/etc/apache2/.htpasswd";
/// How often the file's modification time is checked for a reload.
pub const RELOAD_CHECK: Duration = Duration::from_secs(1);

/// Reads the user file; a missing or unreadable file means no users (logged).
fn load(path: &PathBuf) -> (Users, Option<SystemTime>) {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    match std::fs::read_to_string(path) {
        Ok(text) => (parse_users(&text, &path.display().to_string()), modified),
        Err(e) => {
            tracing::error!(file = %path.display(), error = %e, "cannot read htpasswd file");
            (Users::new(), modified)
        }
    }
}

/// The users of one htpasswd file.
pub(super) struct FileUsers {
    path: PathBuf,
    users: Arc<ArcSwap<Users>>,
    /// The modification time of the file as `users` was read from it: the reloader compares
    /// with it, so a change made before the reloader first runs is not missed.
    loaded: Option<SystemTime>,
    reloader: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl FileUsers {
    /// Reads `user_file` (the default file when empty).
    pub(super) fn open(user_file: &str) -> FileUsers {
        let path = if user_file.is_empty() {
            PathBuf::from(DEFAULT_USER_FILE)
        } else {
            PathBuf::from(user_file)
        };
        let (users, loaded) = load(&path);
        FileUsers {
            path,
            users: Arc::new(ArcSwap::from_pointee(users)),
            loaded,
            reloader: Mutex::new(None),
        }
    }

    /// The users as last read.
    pub(super) fn users(&self) -> arc_swap::Guard<Arc<Users>> {
        self.users.load()
    }

    /// Starts watching the file for changes (when a runtime is available).
    pub(super) fn start(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let path = self.path.clone();
        let users = self.users.clone();
        let mut seen = self.loaded;
        let task = rt.spawn(async move {
            loop {
                tokio::time::sleep(RELOAD_CHECK).await;
                let now = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
                if now != seen {
                    let (fresh, modified) = load(&path);
                    users.store(Arc::new(fresh));
                    seen = modified;
                }
            }
        });
        if let Some(old) = self.reloader.lock().replace(task) {
            old.abort();
        }
    }

    /// Stops watching the file.
    pub(super) fn stop(&self) {
        if let Some(task) = self.reloader.lock().take() {
            task.abort();
        }
    }
}

impl Drop for FileUsers {
    fn drop(&mut self) {
        self.stop();
    }
}
