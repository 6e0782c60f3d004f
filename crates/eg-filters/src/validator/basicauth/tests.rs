//! Spec checks of `basicAuth`, and LDAP binds against a real `slapd`.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use eg_testkit::{closed_addr, self_signed, slapd_available, Slapd, SlapdTls, SLAPD_USERS_DN};
use serde_json::{json, Value};

use super::*;

fn store() -> Arc<dyn Store> {
    Arc::new(eg_store::MemStore::new())
}

fn compile(doc: Value) -> Result<BasicAuthValidator, SpecError> {
    let spec: BasicAuthSpec = serde_json::from_value(doc).unwrap();
    BasicAuthValidator::compile(&spec, "basicAuth", store())
}

fn ldap_spec(extra: Value) -> Value {
    let mut ldap = json!({
        "host": "127.0.0.1", "port": 389, "baseDN": SLAPD_USERS_DN, "uid": "cn",
    });
    if let (Some(l), Value::Object(e)) = (ldap.as_object_mut(), extra) {
        l.extend(e);
    }
    json!({"mode": "LDAP", "ldap": ldap})
}

fn error_of(doc: Value) -> SpecError {
    match compile(doc) {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    }
}

#[test]
fn bad_modes_name_the_field() {
    for mode in ["", "file", "KUBERNETES"] {
        let e = error_of(json!({ "mode": mode }));
        assert_eq!(e.path, "basicAuth.mode");
        assert!(e.message.contains("not one of FILE, ETCD, LDAP"), "{e}");
    }
    let e = error_of(json!({"mode": "LDAP"}));
    assert_eq!(e.path, "basicAuth.ldap");
    let e = error_of(json!({"mode": "ETCD", "etcdPrefix": "a/b"}));
    assert_eq!(e.path, "basicAuth.etcdPrefix");
}

#[test]
fn bad_ldap_fields_name_the_field() {
    let cert = self_signed(&["ldap.test"]);
    let b64 = |s: &str| STANDARD.encode(s);
    for (extra, path, says) in [
        (json!({"host": ""}), "host", "required"),
        (json!({"host": "a/b"}), "host", "not a host"),
        (json!({"port": 0}), "port", "not a port"),
        (json!({"port": -1}), "port", "not a port"),
        (json!({"port": 65536}), "port", "not a port"),
        (json!({"baseDN": ""}), "baseDN", "required"),
        (json!({"uid": ""}), "uid", "required"),
        (json!({"serverName": "bad name!"}), "serverName", ""),
        (
            json!({"certBase64": "!!", "keyBase64": b64(&cert.key_pem)}),
            "certBase64",
            "base64",
        ),
        (
            json!({"certBase64": b64("not pem"), "keyBase64": b64(&cert.key_pem)}),
            "certBase64",
            "no PEM",
        ),
        (
            json!({"certBase64": b64(&cert.cert_pem), "keyBase64": "%%"}),
            "keyBase64",
            "base64",
        ),
        (
            json!({"certBase64": b64(&cert.cert_pem), "keyBase64": b64("x")}),
            "keyBase64",
            "PEM private key",
        ),
        (
            json!({"certBase64": b64(&cert.cert_pem)}),
            "keyBase64",
            "required",
        ),
        (
            json!({"keyBase64": b64(&cert.key_pem)}),
            "certBase64",
            "required",
        ),
    ] {
        let e = error_of(ldap_spec(extra.clone()));
        assert_eq!(e.path, format!("basicAuth.ldap.{path}"), "{extra}: {e}");
        assert!(e.message.contains(says), "{extra}: {e}");
    }
    // A matching certificate and key, and an IPv6 host, are accepted.
    let ok = ldap_spec(json!({
        "host": "::1", "useSSL": true,
        "certBase64": b64(&cert.cert_pem), "keyBase64": b64(&cert.key_pem),
    }));
    assert!(compile(ok).is_ok());
}

fn binder(port: u16, extra: Value) -> LdapBinder {
    let mut spec = ldap_spec(json!({ "port": port, "skipTLS": true }));
    if let (Some(l), Value::Object(e)) = (spec["ldap"].as_object_mut(), extra) {
        l.extend(e);
    }
    let spec: BasicAuthSpec = serde_json::from_value(spec).unwrap();
    LdapBinder::compile(spec.ldap.as_ref().unwrap(), "ldap").unwrap()
}

#[test]
fn user_dns_escape_the_user() {
    let b = binder(389, json!({}));
    assert_eq!(b.user_dn("alice"), format!("cn=alice,{SLAPD_USERS_DN}"));
    assert_eq!(
        b.user_dn("x,ou=admins"),
        format!("cn=x\\2cou\\3dadmins,{SLAPD_USERS_DN}")
    );
}

const USERS: [(&str, &str); 3] = [("alice", "wonderland"), ("bob", "builder"), ("o,dd", "pw")];

#[tokio::test]
async fn ldap_binds_decide() {
    if !slapd_available("ldap_binds_decide") {
        return;
    }
    let slapd = Slapd::start(&USERS, None);
    let b = binder(slapd.port, json!({}));
    assert!(b.verify("alice", "wonderland").await);
    assert!(b.verify("bob", "builder").await);
    assert!(b.verify("o,dd", "pw").await, "a user with a comma binds");
    assert!(!b.verify("alice", "builder").await, "wrong password");
    assert!(!b.verify("carol", "wonderland").await, "unknown user");
    // An empty password would be an anonymous bind, which slapd accepts.
    assert!(!b.verify("alice", "").await);
    assert!(!b.verify("x,cn=alice", "wonderland").await);
}

#[tokio::test]
async fn accepted_credentials_are_remembered_and_others_are_not() {
    if !slapd_available("accepted_credentials_are_remembered_and_others_are_not") {
        return;
    }
    let mut slapd = Slapd::start(&USERS, None);
    let b = binder(slapd.port, json!({}));
    assert!(b.verify("alice", "wonderland").await);
    assert!(!b.verify("bob", "wrong").await);
    slapd.stop();
    // The server is gone: only what it accepted before passes.
    assert!(b.verify("alice", "wonderland").await);
    assert!(!b.verify("bob", "builder").await);
    assert!(!b.verify("alice", "wonderland2").await);
}

#[tokio::test]
async fn an_unreachable_or_silent_server_refuses_in_time() {
    let closed = closed_addr();
    let b = binder(closed.port(), json!({}));
    let started = Instant::now();
    assert!(!b.verify("alice", "wonderland").await);
    assert!(started.elapsed() < BIND_TIMEOUT);

    // Accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = binder(silent.local_addr().unwrap().port(), json!({}))
        .with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    assert!(!b.verify("alice", "wonderland").await);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn ldaps_and_starttls_verify_the_server_unless_insecure() {
    if !slapd_available("ldaps_and_starttls_verify_the_server_unless_insecure") {
        return;
    }
    let cert = self_signed(&["localhost", "127.0.0.1"]);
    let tls = SlapdTls {
        cert_pem: cert.cert_pem.clone(),
        key_pem: cert.key_pem.clone(),
    };
    let slapd = Slapd::start(&USERS, Some(&tls));
    let tls_port = slapd.tls_port.unwrap();
    let ldaps = |extra: Value| {
        let mut e = json!({"useSSL": true, "skipTLS": false});
        if let (Some(m), Value::Object(x)) = (e.as_object_mut(), extra) {
            m.extend(x);
        }
        binder(tls_port, e)
    };
    assert!(
        ldaps(json!({"insecure": true}))
            .verify("alice", "wonderland")
            .await
    );
    assert!(!ldaps(json!({"insecure": true})).verify("alice", "x").await);
    // The self-signed certificate is not trusted.
    assert!(!ldaps(json!({})).verify("alice", "wonderland").await);
    assert!(
        !ldaps(json!({"serverName": "localhost"}))
            .verify("alice", "wonderland")
            .await
    );

    let starttls =
        |insecure: bool| binder(slapd.port, json!({"skipTLS": false, "insecure": insecure}));
    assert!(starttls(true).verify("bob", "builder").await);
    assert!(!starttls(true).verify("bob", "x").await);
    assert!(!starttls(false).verify("bob", "builder").await);
    // LDAPS against the plain port fails (no TLS answer), and is refused.
    let wrong = binder(slapd.port, json!({"useSSL": true, "insecure": true}));
    assert!(!wrong.verify("bob", "builder").await);
}
