//! `ETCD` mode: the users are the items of a custom data kind.
//!
//! As in Easegress, an item is a user when it has a non-empty `password` and a user name:
//! its `username` field, or its `key` field when `username` is empty or absent (the item's
//! id is not used). The password is an htpasswd hash (`{SHA}`, `{SSHA}`, MD5-crypt,
//! bcrypt) or, as `go-htpasswd` reads anything else, the password itself. A watch of the
//! kind's items reads them all again after any change, so users added, changed or deleted
//! (on this member or another) take effect without touching the pipeline.

use std::sync::Arc;

use arc_swap::ArcSwap;
use eg_spec::SpecError;
use eg_store::{keys, Store};
use parking_lot::Mutex;
use serde_json::Value;

use super::htpasswd::{looks_hashed, parse_hash, sha256, Hash, Users};

/// The custom data kind read when `etcdPrefix` is not set (Easegress's default).
pub const DEFAULT_KIND: &str = "credentials";

/// The custom data kind `etcd_prefix` names: `credentials/`, `/credentials/` and
/// `credentials` all name `credentials`; empty means [`DEFAULT_KIND`].
pub(super) fn kind_of(etcd_prefix: &str, field: &str) -> Result<String, SpecError> {
    let kind = etcd_prefix.trim_matches('/');
    if kind.is_empty() {
        return Ok(DEFAULT_KIND.to_string());
    }
    if kind.contains('/') || kind.chars().any(char::is_whitespace) {
        return Err(SpecError::new(
            field,
            format!("{etcd_prefix:?} is not a custom data kind name (no '/' or spaces inside)"),
        ));
    }
    Ok(kind.to_string())
}

/// The user one item describes, or why it is skipped. Never logs the password.
fn user_of(item: &[u8]) -> Result<(String, Hash), &'static str> {
    let Ok(Value::Object(item)) = serde_json::from_slice::<Value>(item) else {
        return Err("not an object");
    };
    let text = |field: &str| -> Result<&str, &'static str> {
        match item.get(field) {
            None | Some(Value::Null) => Ok(""),
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err("a username, key or password that is not a string"),
        }
    };
    let (username, key, password) = (text("username")?, text("key")?, text("password")?);
    let user = if username.is_empty() { key } else { username };
    if user.is_empty() || password.is_empty() {
        return Err("no 'username' or 'key', or no 'password'");
    }
    let hash = if looks_hashed(password) {
        parse_hash(password).ok_or("a malformed or unsupported password hash")?
    } else {
        Hash::Plain(sha256(password.as_bytes()))
    };
    Ok((user.to_string(), hash))
}

/// Reads every item under `prefix`; unusable ones are skipped with a log line.
fn load(store: &dyn Store, prefix: &str) -> Users {
    let items = match store.range(prefix) {
        Ok(items) => items,
        Err(e) => {
            tracing::error!(prefix, error = %e, "basicAuth: reading custom data failed");
            return Users::new();
        }
    };
    let mut users = Users::new();
    for (key, value) in items {
        match user_of(&value) {
            Ok((user, hash)) => {
                users.insert(user, hash);
            }
            Err(why) => tracing::warn!(%key, why, "basicAuth: custom data item is not a user"),
        }
    }
    users
}

/// The users of one custom data kind.
pub(super) struct EtcdUsers {
    store: Arc<dyn Store>,
    /// `/custom-data/<kind>/`.
    prefix: String,
    users: Arc<ArcSwap<Users>>,
    watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl EtcdUsers {
    /// Reads the users of custom data kind `kind`.
    pub(super) fn open(store: Arc<dyn Store>, kind: &str) -> EtcdUsers {
        let prefix = keys::custom_data_items(kind);
        let users = load(&*store, &prefix);
        EtcdUsers {
            store,
            prefix,
            users: Arc::new(ArcSwap::from_pointee(users)),
            watcher: Mutex::new(None),
        }
    }

    /// The users as last read.
    pub(super) fn users(&self) -> arc_swap::Guard<Arc<Users>> {
        self.users.load()
    }

    /// Starts watching the kind's items (when a runtime is available).
    pub(super) fn start(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // Watch first, then read: a change made in between is seen by one or the other.
        let mut events = self.store.watch(&self.prefix);
        self.users.store(Arc::new(load(&*self.store, &self.prefix)));
        let (store, prefix, users) = (self.store.clone(), self.prefix.clone(), self.users.clone());
        let task = rt.spawn(async move {
            while events.recv().await.is_some() {
                // One read for a burst of changes.
                while events.try_recv().is_ok() {}
                users.store(Arc::new(load(&*store, &prefix)));
            }
        });
        if let Some(old) = self.watcher.lock().replace(task) {
            old.abort();
        }
    }

    /// Stops watching.
    pub(super) fn stop(&self) {
        if let Some(task) = self.watcher.lock().take() {
            task.abort();
        }
    }
}

impl Drop for EtcdUsers {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        for (prefix, kind) in [
            ("", DEFAULT_KIND),
            ("/", DEFAULT_KIND),
            ("credentials/", "credentials"),
            ("/extra-slash/", "extra-slash"),
            ("users", "users"),
        ] {
            assert_eq!(kind_of(prefix, "f").unwrap(), kind, "{prefix}");
        }
        for bad in ["a/b", "/a/b/", "a b"] {
            let e = kind_of(bad, "basicAuth.etcdPrefix").unwrap_err();
            assert_eq!(e.path, "basicAuth.etcdPrefix", "{bad}");
        }
    }

    #[test]
    fn items_become_users_as_in_easegress() {
        let user = |v: Value| user_of(v.to_string().as_bytes());
        let (u, h) = user(serde_json::json!({"key": "doge", "password": "doge"})).unwrap();
        assert_eq!(u, "doge");
        assert!(h.matches("doge") && !h.matches("dog") && !h.matches(""));
        // `username` wins over `key`.
        let (u, _) =
            user(serde_json::json!({"key": "k", "username": "u", "password": "p"})).unwrap();
        assert_eq!(u, "u");
        let (u, _) =
            user(serde_json::json!({"key": "k", "username": "", "password": "p"})).unwrap();
        assert_eq!(u, "k");
        // A hash is checked as a hash ({SHA} of "wonderland").
        let (_, h) = user(serde_json::json!({
            "username": "alice", "password": "{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ="
        }))
        .unwrap();
        assert!(h.matches("wonderland"));
        assert!(!h.matches("{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ="));
        for bad in [
            serde_json::json!({"name": "alice", "password": "p"}),
            serde_json::json!({"key": "alice"}),
            serde_json::json!({"key": "alice", "password": ""}),
            serde_json::json!({"key": "alice", "password": 1234}),
            serde_json::json!({"key": 7, "password": "p"}),
            serde_json::json!({"key": "alice", "password": "$2y$05$short"}),
            serde_json::json!({"key": "alice", "password": "$6$rounds=5000$salt$hash"}),
            serde_json::json!(["key", "password"]),
        ] {
            assert!(user(bad.clone()).is_err(), "{bad}");
        }
        assert!(user_of(b"not json").is_err());
    }
}
