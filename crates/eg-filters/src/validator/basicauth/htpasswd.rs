//! htpasswd entries: the hash formats `htpasswd` writes and Easegress reads (with
//! `github.com/tg123/go-htpasswd`), and the users of an htpasswd text.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use parking_lot::Mutex;
use ring::digest;
/// A password check from one htpasswd entry.
#[derive(Debug)]
pub(super) enum Hash {
    /// SHA-1 digest.
    Sha(Vec<u8>),
    /// SHA-1 digest of password + salt, and the salt.
    Ssha(Vec<u8>, Vec<u8>),
    /// MD5-crypt: the magic (`$apr1$` or `$1$`), the salt and the whole entry.
    Md5Crypt {
        magic: &'static str,
        salt: String,
        entry: String,
    },
    /// bcrypt: the entry, and the SHA-256 of the last password it accepted.
    Bcrypt {
        entry: String,
        accepted: Mutex<Option<[u8; 32]>>,
    },
    /// A password kept as it is (custom data only): its SHA-256.
    Plain([u8; 32]),
}

impl Hash {
    /// Whether `password` is the one this entry holds.
    pub(super) fn matches(&self, password: &str) -> bool {
        match self {
            Hash::Md5Crypt { magic, salt, entry } => equal(
                md5_crypt(password.as_bytes(), salt, magic).as_bytes(),
                entry.as_bytes(),
            ),
            Hash::Bcrypt { entry, accepted } => {
                let d = digest::digest(&digest::SHA256, password.as_bytes());
                if accepted.lock().is_some_and(|a| equal(&a, d.as_ref())) {
                    return true;
                }
                let ok = bcrypt::verify(password, entry).unwrap_or(false);
                if ok {
                    let mut a = [0u8; 32];
                    a.copy_from_slice(d.as_ref());
                    *accepted.lock() = Some(a);
                }
                ok
            }
            Hash::Plain(d) => equal(&sha256(password.as_bytes()), d),
            Hash::Sha(d) => {
                let got = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, password.as_bytes());
                equal(got.as_ref(), d)
            }
            Hash::Ssha(d, salt) => {
                let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
                ctx.update(password.as_bytes());
                ctx.update(salt);
                equal(ctx.finish().as_ref(), d)
            }
        }
    }
}

const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// MD5-crypt (Poul-Henning Kamp's algorithm; Apache's `$apr1$` is the same with another
/// magic): the whole `<magic><salt>$<digest>` string for `password` and `salt`.
fn md5_crypt(password: &[u8], salt: &str, magic: &str) -> String {
    use md5::{Digest, Md5};
    let salt = salt.as_bytes();
    let alt = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(password)
        .chain_update(magic.as_bytes())
        .chain_update(salt);
    for chunk in password.chunks(16) {
        ctx.update(&alt[..chunk.len()]);
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(password);
        } else {
            c.update(fin);
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 {
            c.update(fin);
        } else {
            c.update(password);
        }
        fin = c.finalize();
    }
    let mut out = String::with_capacity(magic.len() + salt.len() + 23);
    out.push_str(magic);
    out.push_str(&String::from_utf8_lossy(salt));
    out.push('$');
    let mut push = |mut v: u32, n: usize| {
        for _ in 0..n {
            out.push(char::from(CRYPT_ALPHABET[(v & 0x3f) as usize]));
            v >>= 6;
        }
    };
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        push(
            (u32::from(fin[a]) << 16) | (u32::from(fin[b]) << 8) | u32::from(fin[c]),
            4,
        );
    }
    push(u32::from(fin[11]), 2);
    out
}

/// Reads an MD5-crypt entry: its magic and salt (at most 8 characters, up to the next `$`).
fn parse_md5_crypt(entry: &str) -> Option<Hash> {
    let magic = ["$apr1$", "$1$"]
        .into_iter()
        .find(|m| entry.starts_with(m))?;
    let rest = &entry[magic.len()..];
    let (salt, digest) = rest.split_once('$')?;
    if salt.is_empty() || salt.len() > 8 || digest.len() != 22 {
        return None;
    }
    Some(Hash::Md5Crypt {
        magic,
        salt: salt.to_string(),
        entry: entry.to_string(),
    })
}

/// Reads a bcrypt entry (`$2y$`, `$2a$`, `$2b$`, `$2x$`, two-digit cost, 53 characters).
fn parse_bcrypt(entry: &str) -> Option<Hash> {
    let ok_prefix = ["$2y$", "$2a$", "$2b$", "$2x$"]
        .iter()
        .any(|p| entry.starts_with(p));
    let cost = entry.get(4..6)?.parse::<u32>().ok()?;
    if !ok_prefix || entry.len() != 60 || entry.as_bytes()[6] != b'$' || !(4..=31).contains(&cost) {
        return None;
    }
    Some(Hash::Bcrypt {
        entry: entry.to_string(),
        accepted: Mutex::new(None),
    })
}

/// The SHA-256 of `data`.
pub(super) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Whether `hash` starts like one of the formats [`parse_hash`] reads.
pub(super) fn looks_hashed(hash: &str) -> bool {
    ["{SHA}", "{SSHA}", "$apr1$", "$1$", "$2", "$5$", "$6$"]
        .iter()
        .any(|p| hash.starts_with(p))
}

/// Reads one hashed password (`{SHA}`, `{SSHA}`, MD5-crypt, bcrypt); `None` when it is
/// malformed or of another format.
pub(super) fn parse_hash(hash: &str) -> Option<Hash> {
    if let Some(b) = hash.strip_prefix("{SHA}") {
        STANDARD
            .decode(b)
            .ok()
            .filter(|d| d.len() == 20)
            .map(Hash::Sha)
    } else if let Some(b) = hash.strip_prefix("{SSHA}") {
        STANDARD
            .decode(b)
            .ok()
            .filter(|d| d.len() > 20)
            .map(|mut d| {
                let salt = d.split_off(20);
                Hash::Ssha(d, salt)
            })
    } else if hash.starts_with("$apr1$") || hash.starts_with("$1$") {
        parse_md5_crypt(hash)
    } else if hash.starts_with("$2") {
        parse_bcrypt(hash)
    } else {
        None
    }
}

/// Compares without stopping at the first difference.
pub(crate) fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// User name → password check.
pub(super) type Users = HashMap<String, Hash>;

/// Parses htpasswd text; unsupported or malformed lines are skipped (and logged).
pub(super) fn parse_users(text: &str, file: &str) -> Users {
    let mut users = Users::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((user, hash)) = line.split_once(':') else {
            tracing::warn!(file, line = n + 1, "htpasswd line without ':' skipped");
            continue;
        };
        let parsed = parse_hash(hash);
        match parsed {
            Some(h) => {
                users.insert(user.to_string(), h);
            }
            None => tracing::warn!(
                file,
                line = n + 1,
                user,
                "htpasswd entry malformed or of a format not supported ($apr1$, $1$, $2y$, \
                 $2a$, $2b$, {{SHA}} and {{SSHA}} are); user refused"
            ),
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha_line(user: &str, pw: &str) -> String {
        let d = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, pw.as_bytes());
        format!("{user}:{{SHA}}{}", STANDARD.encode(d.as_ref()))
    }

    #[test]
    fn parses_sha_and_ssha_and_skips_others() {
        let mut salted = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        salted.update(b"pw2");
        salted.update(b"salt");
        let mut ssha = salted.finish().as_ref().to_vec();
        ssha.extend_from_slice(b"salt");
        let text = format!(
            "{}\n# comment\ncarol:{{SSHA}}{}\ndave:$2y$05$abcdefghijklmnopqrstuv\nbroken\n",
            sha_line("alice", "pw1"),
            STANDARD.encode(&ssha)
        );
        let users = parse_users(&text, "f");
        assert_eq!(users.len(), 2);
        assert!(users["alice"].matches("pw1"));
        assert!(!users["alice"].matches("pw2"));
        assert!(users["carol"].matches("pw2"));
        assert!(!users["carol"].matches("pw1"));
    }

    /// Lines written by `htpasswd` (apache2-utils 2.4) and `openssl passwd`.
    const VECTORS: [(&str, &str); 7] = [
        // htpasswd -nbm alice 'pass word'
        ("alice:$apr1$lOLie0mu$P1WsFM5zWOnRhVPyPvePY0", "pass word"),
        // htpasswd -nbm dave ''
        ("dave:$apr1$0d7WRLFG$fKLmknks8zjsOkeLdJ07l.", ""),
        // htpasswd -nbm eve 'a-long-password-longer-than-sixteen-bytes'
        (
            "eve:$apr1$mz70RaeH$7P49z5lF0BC7EkZOKhvhh.",
            "a-long-password-longer-than-sixteen-bytes",
        ),
        // openssl passwd -1 -salt abc pw2
        ("mo:$1$abc$pfxt8GVrnVIEeV0XU2xKQ/", "pw2"),
        // htpasswd -nbB -C 5 bob secret
        (
            "bob:$2y$05$Hn1C/tn1sIK8dYmn8TK4tezmlll20apfme5JYwH9L8xXmG/3ftLl.",
            "secret",
        ),
        // htpasswd -nbB -C 4 frank 'öäü unicode'
        (
            "frank:$2y$04$rK0RDYwAkr8K8PddUO2IauTqhaUsFt7aJec2ImeIBUSMjanj5pSHO",
            "öäü unicode",
        ),
        // crypt(3) with $2b$
        (
            "gus:$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW",
            "secret",
        ),
    ];

    #[test]
    fn apr1_md5_and_bcrypt_entries_match_their_passwords_only() {
        for (line, pw) in VECTORS {
            let users = parse_users(line, "f");
            let (user, _) = line.split_once(':').unwrap();
            let h = users.get(user).unwrap_or_else(|| panic!("{line} not read"));
            assert!(h.matches(pw), "{line}");
            assert!(!h.matches(&format!("{pw}x")), "{line}");
            assert!(!h.matches("wrong"), "{line}");
            // bcrypt answers a repeated password from its memory, and still refuses others.
            assert!(h.matches(pw), "{line}");
            assert!(!h.matches("wrong"), "{line}");
        }
    }

    #[test]
    fn malformed_crypt_entries_are_skipped() {
        let text = concat!(
            "a:$apr1$$P1WsFM5zWOnRhVPyPvePY0\n",
            "b:$apr1$lOLie0mu$short\n",
            "c:$apr1$toolongsalt$P1WsFM5zWOnRhVPyPvePY0\n",
            "d:$2y$05$Hn1C/tn1sIK8dYmn8TK4te\n",
            "e:$2y$99$Hn1C/tn1sIK8dYmn8TK4tezmlll20apfme5JYwH9L8xXmG/3ftLl.\n",
            "f:$2z$05$Hn1C/tn1sIK8dYmn8TK4tezmlll20apfme5JYwH9L8xXmG/3ftLl.\n",
            "g:$5$rounds=5000$salt$hash\n",
            "h:plaintext\n",
        );
        assert!(parse_users(text, "f").is_empty());
    }

    #[test]
    fn files_written_by_htpasswd_are_read_when_it_is_installed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("htpasswd");
        let run = |args: &[&str]| {
            std::process::Command::new("htpasswd")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
        };
        let f = file.to_str().unwrap();
        if run(&["-cbm", f, "m", "md5 pw"]).is_none() {
            eprintln!("htpasswd is not installed; the fixed vectors cover its formats");
            return;
        }
        assert!(run(&["-bB", "-C", "4", f, "b", "bcrypt pw"]).is_some());
        assert!(run(&["-bs", f, "s", "sha pw"]).is_some());
        let users = parse_users(&std::fs::read_to_string(&file).unwrap(), "f");
        assert!(users["m"].matches("md5 pw") && !users["m"].matches("bcrypt pw"));
        assert!(users["b"].matches("bcrypt pw") && !users["b"].matches("md5 pw"));
        assert!(users["s"].matches("sha pw") && !users["s"].matches("md5 pw"));
    }
}
