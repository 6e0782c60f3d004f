//! A real OpenLDAP server (`slapd`, Debian package `slapd`) on an ephemeral loopback port,
//! with its own configuration and database in a temporary directory: an `mdb` database
//! for [`SLAPD_SUFFIX`] whose users are entries `cn=<name>,`[`SLAPD_USERS_DN`] with a
//! `userPassword`. Optionally it also speaks TLS (LDAPS on a second port, and StartTLS).
//! The process is killed when the value is dropped.

use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::net::free_port;
use crate::poll::eventually;

/// Where Debian installs `slapd`.
pub const SLAPD_BIN: &str = "/usr/sbin/slapd";
/// Where Debian installs `slapadd`, which loads the entries before the server starts.
const SLAPADD_BIN: &str = "/usr/sbin/slapadd";
/// Debian's schema files and modules.
const SCHEMA_DIR: &str = "/etc/ldap/schema";
const MODULE_DIR: &str = "/usr/lib/ldap";
/// The database's suffix.
pub const SLAPD_SUFFIX: &str = "dc=example,dc=org";
/// The DN under which the users are.
pub const SLAPD_USERS_DN: &str = "ou=users,dc=example,dc=org";
/// How long the server may take to answer after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How many times a start is tried (each with new ports).
const START_ATTEMPTS: usize = 3;

/// Whether `slapd` is installed. When it is not, LDAP tests print a skip line and pass —
/// except under `CI`, where a missing slapd is a failure.
pub fn slapd_available(test: &str) -> bool {
    let found = Path::new(SLAPD_BIN).is_file() && Path::new(SLAPADD_BIN).is_file();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: slapd is required in CI (install the Debian package slapd)"
        );
        eprintln!("SKIP {test}: no {SLAPD_BIN} (Debian package slapd)");
    }
    found
}

/// A PEM certificate and key for the server's TLS.
pub struct SlapdTls {
    /// The certificate chain (PEM).
    pub cert_pem: String,
    /// The private key (PEM).
    pub key_pem: String,
}

/// A running `slapd`; see the module documentation.
pub struct Slapd {
    /// The plain (and StartTLS) port on 127.0.0.1.
    pub port: u16,
    /// The LDAPS port on 127.0.0.1, when started with TLS.
    pub tls_port: Option<u16>,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

/// The LDIF value of `text` (base64 when it is not a safe string, RFC 2849).
fn ldif_value(attr: &str, text: &str) -> String {
    use base64::Engine as _;
    let safe = !text.is_empty()
        && text.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !text.starts_with([' ', ':', '<'])
        && !text.ends_with(' ');
    if safe {
        format!("{attr}: {text}\n")
    } else {
        format!(
            "{attr}:: {}\n",
            base64::engine::general_purpose::STANDARD.encode(text)
        )
    }
}

/// The DN of user `name` (its `cn` escaped as RFC 4514 asks).
pub fn slapd_user_dn(name: &str) -> String {
    let mut cn = String::new();
    let last = name.chars().count().saturating_sub(1);
    for (i, c) in name.chars().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i == last && c == ' ');
        if edge || ",+\"\\<>;=".contains(c) {
            cn.push('\\');
        }
        cn.push(c);
    }
    format!("cn={cn},{SLAPD_USERS_DN}")
}

fn ldif(users: &[(&str, &str)]) -> String {
    let mut out = format!(
        "dn: {SLAPD_SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\n\
         o: Example\n\ndn: {SLAPD_USERS_DN}\nobjectClass: organizationalUnit\nou: users\n\n"
    );
    for (name, password) in users {
        out.push_str(&ldif_value("dn", &slapd_user_dn(name)));
        out.push_str("objectClass: inetOrgPerson\n");
        out.push_str(&ldif_value("cn", name));
        out.push_str("sn: user\n");
        out.push_str(&ldif_value("userPassword", password));
        out.push('\n');
    }
    out
}

fn config(dir: &Path, tls: Option<(&Path, &Path)>) -> String {
    let mut c = String::new();
    for schema in ["core", "cosine", "inetorgperson"] {
        c.push_str(&format!("include {SCHEMA_DIR}/{schema}.schema\n"));
    }
    c.push_str(&format!(
        "modulepath {MODULE_DIR}\nmoduleload back_mdb\npidfile {}\nargsfile {}\n",
        dir.join("slapd.pid").display(),
        dir.join("slapd.args").display()
    ));
    if let Some((cert, key)) = tls {
        c.push_str(&format!(
            "TLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
            cert.display(),
            key.display()
        ));
    }
    c.push_str(&format!(
        "database mdb\nmaxsize 16777216\nsuffix \"{SLAPD_SUFFIX}\"\n\
         rootdn \"cn=admin,{SLAPD_SUFFIX}\"\ndirectory {}\n",
        dir.join("db").display()
    ));
    c
}

fn write(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).expect("a file in the slapd directory");
    f.write_all(text.as_bytes()).expect("writing a slapd file");
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Slapd {
    /// Starts a server whose users are `users` (name, password), with TLS when `tls` is
    /// given; returns once it accepts connections.
    pub fn start(users: &[(&str, &str)], tls: Option<&SlapdTls>) -> Slapd {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path();
        std::fs::create_dir(root.join("db")).expect("the database directory");
        let tls_files = tls.map(|t| {
            let (cert, key) = (root.join("cert.pem"), root.join("key.pem"));
            write(&cert, &t.cert_pem);
            write(&key, &t.key_pem);
            (cert, key)
        });
        let conf = root.join("slapd.conf");
        write(
            &conf,
            &config(
                root,
                tls_files.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
            ),
        );
        let data = root.join("data.ldif");
        write(&data, &ldif(users));
        run(
            Command::new(SLAPADD_BIN)
                .arg("-f")
                .arg(&conf)
                .arg("-l")
                .arg(&data),
            "slapadd",
        );
        // A port picked free can be taken before slapd binds it: then slapd exits, and
        // another pair is tried.
        let mut dir = Some(dir);
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let tls_port = tls.map(|_| free_port());
            let mut urls = format!("ldap://127.0.0.1:{port}/");
            if let Some(p) = tls_port {
                urls.push_str(&format!(" ldaps://127.0.0.1:{p}/"));
            }
            // `-d 0`: stay in the foreground (a child of the test), logging nothing.
            let child = Command::new(SLAPD_BIN)
                .arg("-f")
                .arg(&conf)
                .arg("-h")
                .arg(&urls)
                .args(["-d", "0"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("slapd starts");
            let mut slapd = Slapd {
                port,
                tls_port,
                child: Some(child),
                _dir: dir.take().expect("the directory, kept between attempts"),
            };
            if slapd.wait_ready() {
                return slapd;
            }
            slapd.stop();
            dir = Some(std::mem::replace(
                &mut slapd._dir,
                tempfile::tempdir().expect("a temporary directory"),
            ));
        }
        panic!(
            "slapd exited at start {START_ATTEMPTS} times (see {})",
            conf.display()
        );
    }

    /// Waits until every port accepts connections; false when slapd exited instead.
    fn wait_ready(&mut self) -> bool {
        let ports: Vec<u16> = std::iter::once(self.port).chain(self.tls_port).collect();
        eventually(START_TIMEOUT, || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                eprintln!("slapd exited at start: {status}");
                return Some(false);
            }
            ports
                .iter()
                .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
                .then_some(true)
        })
    }

    /// Stops the server (its ports then refuse connections).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's directory (configuration, database).
    pub fn dir(&self) -> PathBuf {
        self._dir.path().to_path_buf()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_and_dns() {
        assert_eq!(slapd_user_dn("a,b"), format!("cn=a\\,b,{SLAPD_USERS_DN}"));
        assert_eq!(ldif_value("cn", "plain"), "cn: plain\n");
        assert_eq!(ldif_value("cn", " x"), "cn:: IHg=\n");
    }
}
