//! A short memory of credentials an LDAP server accepted, so that a busy client does not
//! cost a bind per request.
//!
//! An entry is the HMAC-SHA256, under a key drawn at random when the filter is built, of
//! the user name and the password: neither is kept, and the memory cannot be used to test
//! guesses offline. Entries live [`VERIFIED_TTL`]; at most [`VERIFIED_MAX`] are kept (when
//! full, expired entries go first, then the oldest). Refusals are not remembered, so a
//! password changed or an account locked on the server takes effect within the TTL.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// How long an accepted user and password are trusted without asking the server again.
pub const VERIFIED_TTL: Duration = Duration::from_secs(60);
/// How many accepted credentials are remembered at most.
pub const VERIFIED_MAX: usize = 1024;

type Tag = [u8; 32];

/// Entries by tag: when each was accepted, and a count that orders entries accepted
/// together; then the count of the last insertion.
type Entries = (HashMap<Tag, (Instant, u64)>, u64);

/// Accepted credentials and when they were accepted.
pub(super) struct Verified {
    key: hmac::Key,
    ttl: Duration,
    max: usize,
    seen: Mutex<Entries>,
}

impl Verified {
    /// An empty memory with the given bounds.
    pub(super) fn new(ttl: Duration, max: usize) -> Verified {
        let mut secret = [0u8; 32];
        // Without randomness the key is still unknown outside this process's memory.
        if SystemRandom::new().fill(&mut secret).is_err() {
            tracing::warn!("basicAuth: no system randomness for the verification memory key");
        }
        Verified {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            ttl,
            max: max.max(1),
            seen: Mutex::new((HashMap::new(), 0)),
        }
    }

    fn tag(&self, user: &str, password: &str) -> Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        // The length first, so that ("ab", "c") and ("a", "bc") differ.
        ctx.update(&(user.len() as u64).to_be_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// Whether `user` with `password` was accepted less than the TTL ago.
    pub(super) fn contains(&self, user: &str, password: &str) -> bool {
        let tag = self.tag(user, password);
        let seen = &mut self.seen.lock().0;
        match seen.get(&tag) {
            Some((at, _)) if at.elapsed() < self.ttl => true,
            Some(_) => {
                seen.remove(&tag);
                false
            }
            None => false,
        }
    }

    /// Remembers that `user` with `password` was accepted now.
    pub(super) fn insert(&self, user: &str, password: &str) {
        let tag = self.tag(user, password);
        let (seen, count) = &mut *self.seen.lock();
        if seen.len() >= self.max && !seen.contains_key(&tag) {
            let ttl = self.ttl;
            seen.retain(|_, (at, _)| at.elapsed() < ttl);
            if seen.len() >= self.max {
                if let Some(oldest) = seen.iter().min_by_key(|(_, (_, n))| *n).map(|(t, _)| *t) {
                    seen.remove(&oldest);
                }
            }
        }
        *count += 1;
        seen.insert(tag, (Instant::now(), *count));
    }

    /// How many entries are kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.seen.lock().0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_exact_pairs_only() {
        let v = Verified::new(VERIFIED_TTL, VERIFIED_MAX);
        v.insert("alice", "pw");
        assert!(v.contains("alice", "pw"));
        assert!(!v.contains("alice", "pw2"));
        assert!(!v.contains("alic", "epw"));
        assert!(!v.contains("bob", "pw"));
    }

    #[test]
    fn entries_expire() {
        let v = Verified::new(Duration::ZERO, VERIFIED_MAX);
        v.insert("alice", "pw");
        assert!(!v.contains("alice", "pw"));
        assert_eq!(v.len(), 0, "an expired entry is dropped when found");
    }

    #[test]
    fn bounded_dropping_the_oldest() {
        let v = Verified::new(VERIFIED_TTL, 3);
        for u in ["a", "b", "c", "d"] {
            v.insert(u, "pw");
        }
        assert_eq!(v.len(), 3);
        assert!(!v.contains("a", "pw"));
        assert!(v.contains("b", "pw") && v.contains("d", "pw"));
    }

    #[test]
    fn different_memories_use_different_keys() {
        let (a, b) = (
            Verified::new(VERIFIED_TTL, 2),
            Verified::new(VERIFIED_TTL, 2),
        );
        assert_ne!(a.tag("u", "p"), b.tag("u", "p"));
    }
}
