use eg_protocols::HttpResponse;
use serde_json::json;

use super::*;
use crate::testkit::{build, ctx, run};

fn validator() -> Box<dyn Filter> {
    build(
        &KIND,
        json!({"headers": {
            "Is-Valid": {"values": ["abc", "goodplan"], "regexp": "^ok-.+$"},
            "X-Env": {"regexp": "^(dev|prod)$"},
        }}),
    )
    .unwrap()
}

#[tokio::test]
async fn valid_headers_pass() {
    let v = validator();
    for good in ["abc", "goodplan", "ok-123"] {
        let mut c = ctx("GET", "/", &[("Is-Valid", good), ("X-Env", "dev")]);
        assert_eq!(run(&*v, &mut c).await, "", "{good}");
        assert!(c.response().is_none());
    }
}

#[tokio::test]
async fn invalid_headers_get_400_and_a_tag() {
    let v = validator();
    for bad in ["abcd", "ok-", "nope", "ABC"] {
        let mut c = ctx("GET", "/", &[("Is-Valid", bad), ("X-Env", "dev")]);
        assert_eq!(run(&*v, &mut c).await, RESULT_INVALID, "{bad}");
        let r = c.response().unwrap();
        assert_eq!(r.status, 400);
        assert!(r.body.bytes().is_none(), "empty body");
        assert_eq!(
            c.tags[0].to_string(),
            "header validator: header is-valid is invalid"
        );
    }
    // Absent header.
    let mut c = ctx("GET", "/", &[("X-Env", "prod")]);
    assert_eq!(run(&*v, &mut c).await, RESULT_INVALID);
    // The second header fails alone.
    let mut c = ctx("GET", "/", &[("Is-Valid", "abc"), ("X-Env", "staging")]);
    assert_eq!(run(&*v, &mut c).await, RESULT_INVALID);
    assert_eq!(
        c.tags[0].to_string(),
        "header validator: header x-env is invalid"
    );
}

#[tokio::test]
async fn any_value_of_a_repeated_header_may_be_valid() {
    let v = validator();
    let mut c = ctx(
        "GET",
        "/",
        &[("Is-Valid", "bad"), ("Is-Valid", "abc"), ("X-Env", "dev")],
    );
    assert_eq!(run(&*v, &mut c).await, "");
}

#[tokio::test]
async fn an_existing_response_keeps_its_body() {
    let v = validator();
    let mut c = ctx("GET", "/", &[]);
    c.set_response(HttpResponse::with_body(StatusCode::OK, "old"));
    assert_eq!(run(&*v, &mut c).await, RESULT_INVALID);
    let r = c.response().unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.body.bytes().map(|b| b.as_ref()), Some(&b"old"[..]));
}

#[tokio::test]
async fn empty_headers_map_passes_everything() {
    let v = build(&KIND, json!({"headers": {}})).unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&*v, &mut c).await, "");
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (json!({}), "filters[0]", "none of the validations"),
        (
            json!({"headers": {"X": {}}}),
            "filters[0].headers.X",
            "neither values nor regexp",
        ),
        (
            json!({"headers": {"X": {"regexp": "("}}}),
            "filters[0].headers.X.regexp",
            "invalid regexp",
        ),
        (
            json!({"headers": {"X": {"values": ["a", "a"]}}}),
            "filters[0].headers.X.values[1]",
            "duplicated",
        ),
        (
            json!({"headers": {"a b": {"values": ["a"]}}}),
            "filters[0].headers.a b",
            "header name",
        ),
        (
            json!({"headers": {"X": {"values": "a"}}}),
            "filters[0].headers.X.values",
            "invalid type",
        ),
        (json!({"headers": []}), "filters[0].headers", "invalid type"),
        (
            json!({"jwt": {"algorithm": "RS256", "publicKey": "00"}}),
            "filters[0].jwt.publicKey",
            "not a PEM block",
        ),
        (
            json!({"jwt": {"algorithm": "RS256", "publicKey": "zz"}}),
            "filters[0].jwt.publicKey",
            "must be hex",
        ),
        (
            json!({"jwt": {"algorithm": "RS256", "secret": "00"}}),
            "filters[0].jwt.publicKey",
            "required for RS256",
        ),
        (
            json!({"jwt": {"algorithm": "ES512", "publicKey": "00"}}),
            "filters[0].jwt.algorithm",
            "not supported",
        ),
        (
            json!({"jwt": {"algorithm": "none"}}),
            "filters[0].jwt.algorithm",
            "is not one of",
        ),
        (
            json!({"jwt": {"algorithm": "HS256", "secret": "00", "publicKey": "00"}}),
            "filters[0].jwt.publicKey",
            "not used by HS256",
        ),
        (
            json!({"jwt": {"algorithm": "HS256", "secret": "00", "jwks": {"url": "http://a/"}}}),
            "filters[0].jwt.jwks",
            "not used by HS256",
        ),
        (
            json!({"jwt": {"algorithm": "RS256", "jwks": {}}}),
            "filters[0].jwt.jwks.url",
            "required",
        ),
        (
            json!({"jwt": {"algorithm": "RS256", "jwks": {"url": "file:///k"}}}),
            "filters[0].jwt.jwks.url",
            "not an http(s) URL",
        ),
        (
            json!({"jwt": {"algorithm": "RS256", "jwks": {"url": "http://a/", "refreshInterval": "0"}}}),
            "filters[0].jwt.jwks.refreshInterval",
            "at least 1s",
        ),
        (
            json!({"jwt": {"algorithm": "RS256", "jwks": {"url": "http://a/", "minRefreshInterval": "soon"}}}),
            "filters[0].jwt.jwks.minRefreshInterval",
            "invalid duration",
        ),
        (
            json!({"jwt": {"algorithm": "RS256", "publicKey": "00", "jwks": {"url": "http://a/"}}}),
            "filters[0].jwt.publicKey",
            "not both",
        ),
        (
            json!({"jwt": {"algorithm": "HS256"}}),
            "filters[0].jwt.secret",
            "required",
        ),
        (
            json!({"headers": {"X": {"values": ["a"]}}, "basicAuth": {"mode": "LDAP"}}),
            "filters[0].basicAuth.ldap",
            "required in LDAP mode",
        ),
        (
            json!({"signature": {}}),
            "filters[0].signature.accessKeys",
            "at least one access key",
        ),
        (
            json!({"signature": {"accessKeys": {"a": "b"}, "ttl": "a while"}}),
            "filters[0].signature.ttl",
            "invalid duration",
        ),
        (
            json!({"signature": {"accessKeys": {"a": "b"}, "literal": {"algorithmName": "A"}}}),
            "filters[0].signature.literal.scopeSuffix",
            "required",
        ),
        (
            json!({"signature": {"accessKeys": {"a": "b"}, "excludeBody": "yes"}}),
            "filters[0].signature.excludeBody",
            "invalid type",
        ),
        (
            json!({"oauth2": {}}),
            "filters[0].oauth2",
            "set tokenIntrospect or jwt",
        ),
        (
            json!({"oauth2": {"tokenIntrospect": {"clientId": "c"}}}),
            "filters[0].oauth2.tokenIntrospect.endPoint",
            "required",
        ),
        (
            json!({"oauth2": {"tokenIntrospect": {"endPoint": "/introspect"}}}),
            "filters[0].oauth2.tokenIntrospect.endPoint",
            "not an http(s) URL",
        ),
        (
            json!({"oauth2": {"tokenIntrospect": {"endPoint": "http://a/", "basicAuth": "a\nb"}}}),
            "filters[0].oauth2.tokenIntrospect.basicAuth",
            "not valid in a header",
        ),
        (
            json!({"oauth2": {"jwt": {"algorithm": "RS256", "secret": "00"}}}),
            "filters[0].oauth2.jwt.algorithm",
            "is not one of HS256",
        ),
        (
            json!({"oauth2": {"jwt": {"algorithm": "HS384"}}}),
            "filters[0].oauth2.jwt.secret",
            "required",
        ),
        (
            json!({"oauth2": {"jwt": {"algorithm": "HS384", "secret": "x"}}}),
            "filters[0].oauth2.jwt.secret",
            "hex",
        ),
    ];
    for (doc, path, msg) in cases {
        let err = build(&KIND, doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{doc} accepted"));
        assert_eq!(err.path, path, "{doc}: {err}");
        assert!(err.message.contains(msg), "{doc}: {err}");
    }
}

/// `{"alg":"HS256"}`.`{"sub":"alice"}` signed with "mysecret" (hex 6d79736563726574).
const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.\
                     OmL7kdxzDU8buBtJawWj2NrdqvnKmctx-Hsg4pOo678";

#[tokio::test]
async fn jwt_from_header_or_cookie() {
    let v = build(
        &KIND,
        json!({"jwt": {"cookieName": "auth", "algorithm": "HS256", "secret": "6d79736563726574"}}),
    )
    .unwrap();
    let bearer = format!("Bearer {TOKEN}");
    let mut c = ctx("GET", "/", &[("Authorization", &bearer)]);
    assert_eq!(run(&*v, &mut c).await, "");
    let cookie = format!("theme=dark; auth={TOKEN}");
    let mut c = ctx("GET", "/", &[("Cookie", &cookie)]);
    assert_eq!(run(&*v, &mut c).await, "");
    let forged = format!("Bearer {}x", &TOKEN[..TOKEN.len() - 1]);
    for headers in [
        vec![("Authorization", forged.as_str())],
        vec![("Authorization", "Bearer not.a.token")],
        vec![("Authorization", TOKEN)],
        vec![("Cookie", "auth=abc")],
        vec![],
    ] {
        let mut c = ctx("GET", "/", &headers);
        assert_eq!(run(&*v, &mut c).await, RESULT_INVALID, "{headers:?}");
        assert_eq!(c.response().unwrap().status, 401);
        assert!(c.tags[0].to_string().starts_with("JWT validator: "));
    }
}

#[tokio::test]
async fn basic_auth_file_users() {
    use base64::Engine as _;
    let dir = std::env::temp_dir().join(format!("eg-basicauth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("htpasswd");
    // alice:wonderland, {SHA} = base64(sha1("wonderland")).
    std::fs::write(&file, "alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ=\n").unwrap();
    let v = build(
        &KIND,
        json!({"basicAuth": {"mode": "FILE", "userFile": file.to_str().unwrap()}}),
    )
    .unwrap();
    let basic = |u: &str, p: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    };
    let ok = basic("alice", "wonderland");
    let mut c = ctx("GET", "/", &[("Authorization", &ok)]);
    assert_eq!(run(&*v, &mut c).await, "");
    assert_eq!(c.request().unwrap().header("x-auth-user"), Some("alice"));
    for auth in [
        basic("alice", "wrong"),
        basic("bob", "x"),
        "Basic !!".into(),
        "Bearer x".into(),
    ] {
        let mut c = ctx("GET", "/", &[("Authorization", &auth)]);
        assert_eq!(run(&*v, &mut c).await, RESULT_INVALID, "{auth}");
        assert_eq!(c.response().unwrap().status, 401);
    }
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&*v, &mut c).await, RESULT_INVALID);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn basic_auth_reads_htpasswd_md5_and_bcrypt_and_reloads_the_file() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("htpasswd");
    // htpasswd -nbm alice 'pass word'
    std::fs::write(&file, "alice:$apr1$lOLie0mu$P1WsFM5zWOnRhVPyPvePY0\n").unwrap();
    let v = build(
        &KIND,
        json!({"basicAuth": {"mode": "FILE", "userFile": file.to_str().unwrap()}}),
    )
    .unwrap();
    v.init(None);
    let check = |u: &str, p: &str| {
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        );
        let mut c = ctx("GET", "/", &[("Authorization", &auth)]);
        let v = &v;
        async move {
            let r = run(&**v, &mut c).await.to_string();
            let status = c.response().map(|r| r.status.as_u16());
            let user = c
                .request()
                .and_then(|q| q.header("x-auth-user"))
                .map(str::to_string);
            (r, status, user)
        }
    };
    assert_eq!(
        check("alice", "pass word").await,
        ("".into(), None, Some("alice".into()))
    );
    assert_eq!(check("alice", "pass").await.1, Some(401));

    // The file changes: bob (bcrypt, htpasswd -nbB -C 5 bob secret) replaces alice.
    std::fs::write(
        &file,
        "bob:$2y$05$Hn1C/tn1sIK8dYmn8TK4tezmlll20apfme5JYwH9L8xXmG/3ftLl.\n",
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if check("bob", "secret").await.2.as_deref() == Some("bob") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the file was not read again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(check("alice", "pass word").await.1, Some(401));
    assert_eq!(check("bob", "Secret").await.1, Some(401));
    v.close();
}

#[test]
fn an_odd_jwt_secret_is_accepted_with_a_warning() {
    // Easegress's traffic-verification tutorial writes a 15-digit secret.
    let spec = crate::testkit::filter_spec(
        &KIND,
        json!({"jwt": {"algorithm": "HS256", "secret": "6d7973656372657"}}),
    );
    let sup = crate::testkit::supervisor();
    let res = crate::resilience::Policies::new();
    let built = (KIND.build)(&spec, &BuildContext::new(&sup, &res)).expect("accepted");
    assert_eq!(
        built.warnings,
        vec![
            "filters[0].jwt.secret: odd number of hex digits; the last one is not part of the key"
        ]
    );
}
