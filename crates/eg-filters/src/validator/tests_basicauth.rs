//! `basicAuth` in `ETCD` mode (custom data of the in-process store) and `LDAP` mode (a
//! real `slapd`), through the filter.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use eg_store::keys;
use eg_supervisor::Supervisor;
use eg_testkit::{slapd_available, Slapd, SLAPD_USERS_DN};
use serde_json::{json, Value};

use super::*;
use crate::resilience::Policies;
use crate::testkit::{ctx, filter_spec, run, supervisor};

fn validator(sup: &Supervisor, doc: Value) -> Box<dyn Filter> {
    let res = Policies::new();
    let f = (KIND.build)(&filter_spec(&KIND, doc), &BuildContext::new(sup, &res))
        .unwrap()
        .filter;
    f.init(None);
    f
}

/// What the filter did with `user:password`: result, response status, `X-AUTH-USER`,
/// whether a `WWW-Authenticate` header was set, and the tag.
#[derive(Debug, PartialEq)]
struct Outcome {
    result: String,
    status: Option<u16>,
    user: Option<String>,
    challenge: bool,
    tag: Option<String>,
}

async fn check(f: &dyn Filter, user: &str, password: &str) -> Outcome {
    let auth = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
    let mut c = ctx("GET", "/", &[("Authorization", &auth)]);
    let result = run(f, &mut c).await.to_string();
    let status = c.response().map(|r| r.status.as_u16());
    let challenge = c
        .response()
        .is_some_and(|r| r.headers.contains_key("www-authenticate"));
    Outcome {
        result,
        status,
        user: c
            .request()
            .and_then(|q| q.header("x-auth-user"))
            .map(str::to_string),
        challenge,
        tag: c.tags.first().map(|t| t.to_string()),
    }
}

fn passed(user: &str) -> Outcome {
    Outcome {
        result: String::new(),
        status: None,
        user: Some(user.into()),
        challenge: false,
        tag: None,
    }
}

/// Easegress's refusal: 401, result `invalid`, no challenge header, this tag.
fn refused() -> Outcome {
    Outcome {
        result: RESULT_INVALID.into(),
        status: Some(401),
        user: None,
        challenge: false,
        tag: Some("http basic validator: unauthorized".into()),
    }
}

fn put_user(sup: &Supervisor, kind: &str, id: &str, item: Value) {
    let key = keys::custom_data_item(kind, id);
    sup.store()
        .put(&key, item.to_string().into_bytes())
        .unwrap();
}

/// Polls until `user:password` gets `want`.
async fn eventually(f: &dyn Filter, user: &str, password: &str, want: Outcome) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = check(f, user, password).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{user}: still {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn etcd_users_come_and_go_with_their_custom_data() {
    let sup = supervisor();
    put_user(
        &sup,
        "users",
        "1",
        json!({"key": "doge", "password": "doge"}),
    );
    let v = validator(
        &sup,
        json!({"basicAuth": {"mode": "ETCD", "etcdPrefix": "users/"}}),
    );
    assert_eq!(check(&*v, "doge", "doge").await, passed("doge"));
    assert_eq!(check(&*v, "doge", "wrong").await, refused());
    assert_eq!(check(&*v, "cat", "doge").await, refused());

    // Added while running: `username` wins over `key`; a bcrypt hash (htpasswd -nbB -C 5).
    put_user(
        &sup,
        "users",
        "2",
        json!({"key": "k2", "username": "bob",
               "password": "$2y$05$Hn1C/tn1sIK8dYmn8TK4tezmlll20apfme5JYwH9L8xXmG/3ftLl."}),
    );
    eventually(&*v, "bob", "secret", passed("bob")).await;
    assert_eq!(check(&*v, "k2", "secret").await, refused());
    assert_eq!(check(&*v, "bob", "$2y$05$Hn1C").await, refused());

    // Changed, then deleted.
    put_user(
        &sup,
        "users",
        "1",
        json!({"key": "doge", "password": "wow"}),
    );
    eventually(&*v, "doge", "wow", passed("doge")).await;
    assert_eq!(check(&*v, "doge", "doge").await, refused());
    sup.store()
        .delete(&keys::custom_data_item("users", "1"))
        .unwrap();
    eventually(&*v, "doge", "wow", refused()).await;
    assert_eq!(check(&*v, "bob", "secret").await, passed("bob"));
    // Another kind is not read.
    put_user(&sup, "users2", "1", json!({"key": "eve", "password": "x"}));
    put_user(
        &sup,
        "users",
        "3",
        json!({"key": "marker", "password": "m"}),
    );
    eventually(&*v, "marker", "m", passed("marker")).await;
    assert_eq!(check(&*v, "eve", "x").await, refused());
    v.close();
}

#[tokio::test]
async fn etcd_mode_reads_the_credentials_kind_by_default() {
    let sup = supervisor();
    put_user(
        &sup,
        "credentials",
        "a",
        json!({"username": "alice", "password": "pw"}),
    );
    put_user(
        &sup,
        "other",
        "a",
        json!({"username": "olga", "password": "pw"}),
    );
    for prefix in [json!(null), json!(""), json!("/credentials/")] {
        let v = validator(
            &sup,
            json!({"basicAuth": {"mode": "ETCD", "etcdPrefix": prefix}}),
        );
        assert_eq!(check(&*v, "alice", "pw").await, passed("alice"), "{prefix}");
        assert_eq!(check(&*v, "olga", "pw").await, refused(), "{prefix}");
        v.close();
    }
    let err = crate::testkit::build(
        &KIND,
        json!({"basicAuth": {"mode": "ETCD", "etcdPrefix": "a/b/"}}),
    )
    .err()
    .unwrap();
    assert_eq!(err.path, "filters[0].basicAuth.etcdPrefix");
}

#[tokio::test]
async fn etcd_items_without_a_usable_password_are_no_users() {
    let sup = supervisor();
    for (id, item) in [
        ("1", json!({"name": "n1", "password": "p"})),
        ("2", json!({"key": "k2"})),
        ("3", json!({"key": "k3", "password": 42})),
        ("4", json!("k4:p")),
    ] {
        put_user(&sup, "credentials", id, item);
    }
    let v = validator(&sup, json!({"basicAuth": {"mode": "ETCD"}}));
    for (user, pw) in [
        ("n1", "p"),
        ("1", "p"),
        ("k2", ""),
        ("k3", "42"),
        ("k4", "p"),
    ] {
        assert_eq!(check(&*v, user, pw).await, refused(), "{user}");
    }
}

fn ldap_validator(sup: &Supervisor, port: u16) -> Box<dyn Filter> {
    validator(
        sup,
        json!({"basicAuth": {"mode": "LDAP", "ldap": {
            "host": "127.0.0.1", "port": port, "baseDN": SLAPD_USERS_DN, "uid": "cn",
            "skipTLS": true,
        }}}),
    )
}

#[tokio::test]
async fn ldap_users_bind_as_cn_under_the_base_dn() {
    if !slapd_available("ldap_users_bind_as_cn_under_the_base_dn") {
        return;
    }
    let mut slapd = Slapd::start(&[("alice", "wonderland"), ("bob", "builder")], None);
    let sup = supervisor();
    let v = ldap_validator(&sup, slapd.port);
    assert_eq!(check(&*v, "alice", "wonderland").await, passed("alice"));
    assert_eq!(check(&*v, "alice", "wonderland").await, passed("alice"));
    assert_eq!(check(&*v, "alice", "builder").await, refused());
    assert_eq!(check(&*v, "carol", "x").await, refused());
    assert_eq!(check(&*v, "bob", "").await, refused());
    slapd.stop();
    // Down: new credentials are refused (401, not 500), at once.
    let started = Instant::now();
    assert_eq!(check(&*v, "bob", "builder").await, refused());
    assert!(started.elapsed() < basicauth::BIND_TIMEOUT);
    v.close();
}

#[tokio::test]
async fn ldap_spec_errors_name_the_field() {
    for (ldap, path) in [
        (json!(null), "filters[0].basicAuth.ldap"),
        (
            json!({"port": 389, "baseDN": "dc=x", "uid": "cn"}),
            "filters[0].basicAuth.ldap.host",
        ),
        (
            json!({"host": "h", "port": 0, "baseDN": "dc=x", "uid": "cn"}),
            "filters[0].basicAuth.ldap.port",
        ),
        (
            json!({"host": "h", "port": 389, "baseDN": "dc=x", "uid": "cn",
                   "certBase64": "not base64!", "keyBase64": "eA=="}),
            "filters[0].basicAuth.ldap.certBase64",
        ),
    ] {
        let err =
            crate::testkit::build(&KIND, json!({"basicAuth": {"mode": "LDAP", "ldap": ldap}}))
                .err()
                .unwrap_or_else(|| panic!("{ldap} accepted"));
        assert_eq!(err.path, path, "{ldap}");
    }
}

/// Median of `n` timed checks of `user:password` (each a fresh pair when `fresh`).
async fn median(f: &dyn Filter, n: usize, fresh: bool) -> Duration {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let user = if fresh {
            format!("u{i}")
        } else {
            "u0".to_string()
        };
        let started = Instant::now();
        assert_eq!(check(f, &user, "pw").await, passed(&user));
        times.push(started.elapsed());
    }
    times.sort();
    times[n / 2]
}

/// Prints how long a remembered and a new LDAP verification take through the filter.
#[tokio::test]
async fn ldap_remembered_checks_are_much_faster_than_binds() {
    if !slapd_available("ldap_remembered_checks_are_much_faster_than_binds") {
        return;
    }
    const N: usize = 50;
    let users: Vec<(String, &str)> = (0..N).map(|i| (format!("u{i}"), "pw")).collect();
    let users: Vec<(&str, &str)> = users.iter().map(|(u, p)| (u.as_str(), *p)).collect();
    let slapd = Slapd::start(&users, None);
    let sup = supervisor();
    let v = ldap_validator(&sup, slapd.port);
    let bind = median(&*v, N, true).await;
    let remembered = median(&*v, N, false).await;
    eprintln!("LDAP verification, median of {N}: new (bind) {bind:?}, remembered {remembered:?}");
    assert!(
        remembered < bind,
        "remembered {remembered:?}, bind {bind:?}"
    );
}

/// Runs Debian's `htpasswd` (apache2-utils) with `args`; `None` when it is not installed
/// (a failure under `CI`, where `.ci/run` installs it).
fn htpasswd(args: &[&str]) -> Option<()> {
    match std::process::Command::new("htpasswd").args(args).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "htpasswd {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(())
        }
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "htpasswd (apache2-utils) is needed under CI: {e}"
            );
            eprintln!("skipped: htpasswd (Debian apache2-utils) is not installed: {e}");
            None
        }
    }
}

#[tokio::test]
async fn file_mode_reads_what_the_htpasswd_tool_writes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users");
    let path = file.to_str().unwrap();
    // The tool's default (apr1), bcrypt, SHA, and a later change of one password.
    if htpasswd(&["-c", "-b", path, "apr", "pass word"]).is_none() {
        return;
    }
    htpasswd(&["-b", "-B", "-C", "5", path, "bcrypt", "s3cret"]);
    htpasswd(&["-b", "-s", path, "sha", "hunter2"]);
    let sup = supervisor();
    let f = validator(
        &sup,
        json!({"basicAuth": {"mode": "FILE", "userFile": path}}),
    );
    assert_eq!(check(&*f, "apr", "pass word").await, passed("apr"));
    assert_eq!(check(&*f, "bcrypt", "s3cret").await, passed("bcrypt"));
    assert_eq!(check(&*f, "sha", "hunter2").await, passed("sha"));
    for (user, wrong) in [("apr", "pass"), ("bcrypt", "S3cret"), ("sha", "")] {
        assert_eq!(check(&*f, user, wrong).await.status, Some(401), "{user}");
    }
    // A password changed by the tool: the old one is refused once the file is read again.
    htpasswd(&["-b", "-B", "-C", "5", path, "bcrypt", "n3w"]);
    eventually(&*f, "bcrypt", "n3w", passed("bcrypt")).await;
    assert_eq!(check(&*f, "bcrypt", "s3cret").await.status, Some(401));
    f.close();
}
