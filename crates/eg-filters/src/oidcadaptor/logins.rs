//! Logins under way: what a redirect to the provider left for its callback, by `state`.
//!
//! An entry lives [`LOGIN_TTL`] (as Easegress keeps its state keys) and is used once. At
//! most [`MAX_LOGINS`] are held; when full, expired entries go first, then the oldest.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long a user has to log in at the provider, as in Easegress.
pub const LOGIN_TTL: Duration = Duration::from_secs(600);
/// The most logins held at once.
pub const MAX_LOGINS: usize = 10_000;

/// What the callback of one login needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pending {
    /// The `nonce` sent to the provider, expected back in the ID token.
    pub nonce: String,
    /// The URL first asked for (`X-Origin-Request-URL`).
    pub request_url: String,
    /// The `redirect_uri` sent to the provider, sent again with the code.
    pub redirect_uri: String,
}

/// The logins under way of one filter (carried over to the next generation).
#[derive(Default)]
pub(super) struct Logins {
    map: Mutex<HashMap<String, (Instant, Pending)>>,
}

impl Logins {
    /// Holds `pending` under `state`.
    pub(super) fn insert(&self, state: String, pending: Pending) {
        self.insert_at(state, pending, Instant::now());
    }

    fn insert_at(&self, state: String, pending: Pending, now: Instant) {
        let mut map = self.map.lock();
        if map.len() >= MAX_LOGINS {
            map.retain(|_, (born, _)| now.saturating_duration_since(*born) < LOGIN_TTL);
        }
        if map.len() >= MAX_LOGINS {
            let oldest = map
                .iter()
                .min_by_key(|(_, (born, _))| *born)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        map.insert(state, (now, pending));
    }

    /// Whether `state` names a login under way.
    pub(super) fn holds(&self, state: &str) -> bool {
        let now = Instant::now();
        self.map
            .lock()
            .get(state)
            .is_some_and(|(born, _)| now.saturating_duration_since(*born) < LOGIN_TTL)
    }

    /// Ends the login of `state`, giving what it left (`None` when unknown or expired).
    pub(super) fn take(&self, state: &str) -> Option<Pending> {
        let now = Instant::now();
        let (born, pending) = self.map.lock().remove(state)?;
        (now.saturating_duration_since(born) < LOGIN_TTL).then_some(pending)
    }

    /// How many logins are held.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// Holds `pending` as if stored at `born` (for expiry tests).
    #[cfg(test)]
    pub(super) fn insert_born(&self, state: String, pending: Pending, born: Instant) {
        self.insert_at(state, pending, born);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(n: usize) -> Pending {
        Pending {
            nonce: format!("n{n}"),
            request_url: format!("http://a/{n}"),
            redirect_uri: "http://a/cb".into(),
        }
    }

    #[test]
    fn a_login_is_used_once_and_expires() {
        let logins = Logins::default();
        logins.insert("s1".into(), pending(1));
        assert!(logins.holds("s1"));
        assert!(!logins.holds("s2"));
        assert_eq!(logins.take("s1"), Some(pending(1)));
        assert!(!logins.holds("s1"));
        assert_eq!(logins.take("s1"), None);

        let Some(old) = Instant::now().checked_sub(LOGIN_TTL + Duration::from_secs(1)) else {
            return;
        };
        logins.insert_born("s3".into(), pending(3), old);
        assert!(!logins.holds("s3"));
        assert_eq!(logins.take("s3"), None);
    }

    #[test]
    fn a_full_table_drops_the_oldest_login() {
        let logins = Logins::default();
        let start = Instant::now();
        for n in 0..MAX_LOGINS {
            logins.insert_born(
                format!("s{n}"),
                pending(n),
                start + Duration::from_millis(n as u64),
            );
        }
        logins.insert("new".into(), pending(0));
        assert_eq!(logins.len(), MAX_LOGINS);
        assert!(!logins.holds("s0"));
        assert!(logins.holds("s1"));
        assert!(logins.holds("new"));
    }
}
