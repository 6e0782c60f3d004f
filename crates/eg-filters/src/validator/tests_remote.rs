//! The `oauth2` (with an in-process introspection server) and `signature` methods.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use eg_protocols::{Body, BoxStream};
use eg_testkit::{Reply, Upstream};
use http_body_util::BodyExt;
use serde_json::json;

use super::*;
use crate::testkit::{build, ctx, run};

/// An introspection server: `token=good` is active (sub alice, scope read), `inactive`
/// is not, `broken` gets an OAuth2 error, anything else a non-JSON answer.
async fn introspection() -> Upstream {
    Upstream::start(|seen| {
        let form = String::from_utf8_lossy(&seen.body).to_string();
        let token = form
            .split('&')
            .find_map(|p| p.strip_prefix("token="))
            .unwrap_or("");
        let body = match token {
            "good" => json!({"active": true, "sub": "alice", "scope": "read write"}),
            "inactive" => json!({"active": false}),
            "broken" => json!({"error": "invalid_request", "error_description": "no"}),
            _ => return Reply::text(500, "oops"),
        };
        Reply::text(200, &body.to_string()).header("content-type", "application/json")
    })
    .await
}

async fn outcome(v: &dyn Filter, auth: Option<&str>) -> (String, String, Context) {
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
    let mut c = ctx("GET", "/", &headers);
    let r = run(v, &mut c).await.to_string();
    let tag = c.tags.first().map(|t| t.to_string()).unwrap_or_default();
    (r, tag, c)
}

fn header(c: &Context, name: &str) -> Option<String> {
    c.request()?.header(name).map(str::to_string)
}

#[tokio::test]
async fn token_introspection_passes_subject_and_scope_on() {
    let server = introspection().await;
    let v = build(
        &KIND,
        json!({"oauth2": {"tokenIntrospect": {
            "endPoint": format!("{}/oauth2/introspect", server.url()),
            "clientId": "gw", "clientSecret": "s&cret",
        }}}),
    )
    .unwrap();
    let (r, _, c) = outcome(&*v, Some("Bearer good")).await;
    assert_eq!(r, "");
    assert_eq!(header(&c, USER_ID_HEADER).as_deref(), Some("alice"));
    assert_eq!(header(&c, SCOPE_HEADER).as_deref(), Some("read write"));
    let seen = server.last();
    assert_eq!(seen.method, http::Method::POST);
    assert_eq!(seen.target, "/oauth2/introspect");
    assert_eq!(
        seen.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        String::from_utf8_lossy(&seen.body),
        "token=good&client_id=gw&client_secret=s%26cret"
    );
    assert!(!seen.headers.contains_key("authorization"));

    let cases = [
        (
            Some("Bearer inactive"),
            "oauth2 validator: oauth2 authorization failed, token is inactive",
        ),
        (
            Some("Bearer broken"),
            "oauth2 validator: invalid_request: no",
        ),
        (
            Some("Basic Z3c6cw=="),
            "oauth2 validator: unexpected authorization header",
        ),
        (None, "oauth2 validator: unexpected authorization header"),
    ];
    for (auth, want) in cases {
        let (r, tag, c) = outcome(&*v, auth).await;
        assert_eq!(
            (r.as_str(), tag.as_str()),
            (RESULT_INVALID, want),
            "{auth:?}"
        );
        assert_eq!(c.response().unwrap().status, 401);
        assert!(header(&c, USER_ID_HEADER).is_none());
    }
    let (_, tag, _) = outcome(&*v, Some("Bearer other")).await;
    assert!(
        tag.starts_with("oauth2 validator: bad introspection answer"),
        "{tag}"
    );
}

#[tokio::test]
async fn token_introspection_with_basic_auth_and_an_unreachable_server() {
    let server = introspection().await;
    let v = build(
        &KIND,
        json!({"oauth2": {"tokenIntrospect": {"endPoint": server.url(), "basicAuth": "Z3c6cw=="}}}),
    )
    .unwrap();
    assert_eq!(outcome(&*v, Some("Bearer good")).await.0, "");
    let seen = server.last();
    assert_eq!(seen.headers["authorization"], "Basic Z3c6cw==");
    assert_eq!(String::from_utf8_lossy(&seen.body), "token=good");

    let down = format!("http://{}/", eg_testkit::closed_addr());
    let v = build(
        &KIND,
        json!({"oauth2": {"tokenIntrospect": {"endPoint": down}}}),
    )
    .unwrap();
    let (r, tag, _) = outcome(&*v, Some("Bearer good")).await;
    assert_eq!(r, RESULT_INVALID);
    assert!(tag.starts_with("oauth2 validator: request failed"), "{tag}");
}

#[tokio::test]
async fn oauth2_self_contained_jwt() {
    let v = build(
        &KIND,
        json!({"oauth2": {"jwt": {"algorithm": "HS384", "secret": "6d79736563726574"}}}),
    )
    .unwrap();
    let sign = |alg: &str, claims: Value| {
        let h = URL_SAFE_NO_PAD.encode(json!({"alg": alg}).to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA384, b"mysecret");
        let s = ring::hmac::sign(&key, format!("{h}.{p}").as_bytes());
        format!("Bearer {h}.{p}.{}", URL_SAFE_NO_PAD.encode(s.as_ref()))
    };
    let good = sign("HS384", json!({"sub": "bob", "scope": "admin"}));
    let (r, _, c) = outcome(&*v, Some(&good)).await;
    assert_eq!(r, "");
    assert_eq!(header(&c, USER_ID_HEADER).as_deref(), Some("bob"));
    assert_eq!(header(&c, SCOPE_HEADER).as_deref(), Some("admin"));
    // No sub/scope: nothing passed on.
    let (r, _, c) = outcome(&*v, Some(&sign("HS384", json!({})))).await;
    assert_eq!(r, "");
    assert!(header(&c, USER_ID_HEADER).is_none());
    let (r, tag, _) = outcome(&*v, Some(&sign("HS256", json!({})))).await;
    assert_eq!(
        (r.as_str(), tag.as_str()),
        (
            RESULT_INVALID,
            "oauth2 validator: unexpected signing method: HS256"
        )
    );
    let expired = sign("HS384", json!({"exp": 1}));
    assert_eq!(
        outcome(&*v, Some(&expired)).await.1,
        "oauth2 validator: token is expired"
    );
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn signer() -> Signer {
    let spec = SignerSpec {
        access_key_id: "AKID".into(),
        access_key_secret: SECRET.into(),
        ..Default::default()
    };
    Signer::compile(&spec, "s").unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A signed POST context with `body` (buffered).
fn signed(s: &Signer, body: &'static str, at: i64) -> Context {
    let mut c = ctx(
        "POST",
        "/orders?id=7",
        &[("Host", "api.example.com"), ("X-Req", "1")],
    );
    let req = c.request_mut().unwrap();
    s.sign(&mut req.head, Some(body.as_bytes()), at, &["eu".into()])
        .unwrap();
    req.body = Body::full(body);
    c
}

#[tokio::test]
async fn signature_method_checks_the_request_and_its_body() {
    let v = build(
        &KIND,
        json!({"signature": {"accessKeys": {"AKID": SECRET, "OTHER": "x"}, "ttl": "5m"}}),
    )
    .unwrap();
    let s = signer();
    let mut c = signed(&s, "{\"n\":1}", now());
    assert_eq!(run(&*v, &mut c).await, "");

    let tag_of = |c: &Context| c.tags.first().map(|t| t.to_string()).unwrap_or_default();
    // Body changed after signing.
    let mut c = signed(&s, "{\"n\":1}", now());
    c.request_mut().unwrap().body = Body::full("{\"n\":2}");
    assert_eq!(run(&*v, &mut c).await, RESULT_INVALID);
    assert_eq!(c.response().unwrap().status, 401);
    assert_eq!(
        tag_of(&c),
        "signature validator: signature verification failed"
    );
    // A signed header changed.
    let mut c = signed(&s, "", now());
    c.request_mut()
        .unwrap()
        .headers_mut()
        .insert("x-req", "2".parse().unwrap());
    assert_eq!(run(&*v, &mut c).await, RESULT_INVALID);
    // Replayed after the ttl, or dated too far ahead.
    for at in [now() - 301, now() + 301] {
        let mut c = signed(&s, "", at);
        assert_eq!(run(&*v, &mut c).await, RESULT_INVALID);
        assert_eq!(tag_of(&c), "signature validator: signature expired");
    }
    // Unsigned.
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&*v, &mut c).await, RESULT_INVALID);
    assert_eq!(
        tag_of(&c),
        "signature validator: invalid query value: X-Algorithm"
    );
}

#[tokio::test]
async fn signature_over_a_streamed_body_reads_it_first() {
    let v = build(
        &KIND,
        json!({"signature": {"accessKeys": {"AKID": SECRET}}}),
    )
    .unwrap();
    let s = signer();
    for (sent, want) in [("streamed body", ""), ("streamed bodY", RESULT_INVALID)] {
        let mut c = signed(&s, "streamed body", now());
        let src =
            http_body_util::Full::new(Bytes::from_static(sent.as_bytes())).map_err(|n| match n {});
        c.request_mut().unwrap().body = Body::Stream(BoxStream::new(src));
        assert_eq!(run(&*v, &mut c).await, want, "{sent}");
        // The body is still there for the next filter.
        let body = c.request_mut().unwrap().body.buffer(None).await.unwrap();
        assert_eq!(body, sent.as_bytes());
    }
}

#[tokio::test]
async fn signature_with_exclude_body_and_custom_literals() {
    let v = build(
        &KIND,
        json!({"signature": {
            "accessKeys": {"AKID": SECRET},
            "excludeBody": true,
            "ignoredHeaders": ["X-Req"],
            "literal": {
                "scopeSuffix": "me_request", "algorithmName": "X-Me-Algorithm",
                "algorithmValue": "ME-HMAC-SHA256", "signedHeaders": "X-Me-SignedHeaders",
                "signature": "X-Me-Signature", "date": "X-Me-Date", "expires": "X-Me-Expires",
                "credential": "X-Me-Credential", "contentSha256": "X-Me-Content-Sha256",
                "signingKeyPrefix": "ME",
            },
        }}),
    )
    .unwrap();
    let spec: SignerSpec = serde_json::from_value(json!({
        "accessKeyId": "AKID", "accessKeySecret": SECRET, "excludeBody": true,
        "ignoredHeaders": ["X-Req"],
        "literal": {
            "scopeSuffix": "me_request", "algorithmName": "X-Me-Algorithm",
            "algorithmValue": "ME-HMAC-SHA256", "signedHeaders": "X-Me-SignedHeaders",
            "signature": "X-Me-Signature", "date": "X-Me-Date", "expires": "X-Me-Expires",
            "credential": "X-Me-Credential", "contentSha256": "X-Me-Content-Sha256",
            "signingKeyPrefix": "ME",
        },
    }))
    .unwrap();
    let s = Signer::compile(&spec, "s").unwrap();
    let mut c = signed(&s, "a body", now());
    let auth = c
        .request()
        .unwrap()
        .header("authorization")
        .unwrap()
        .to_string();
    assert!(
        auth.starts_with("ME-HMAC-SHA256 Credential=AKID/"),
        "{auth}"
    );
    assert!(
        auth.contains("/eu/me_request, SignedHeaders=host;x-me-content-sha256;x-me-date,"),
        "{auth}"
    );
    // Body and ignored header may change.
    let req = c.request_mut().unwrap();
    req.body = Body::full("another body");
    req.headers_mut().insert("x-req", "9".parse().unwrap());
    assert_eq!(run(&*v, &mut c).await, "");
    // The default literals do not verify it.
    let plain = build(
        &KIND,
        json!({"signature": {"accessKeys": {"AKID": SECRET}}}),
    )
    .unwrap();
    let mut c = signed(&s, "a body", now());
    assert_eq!(run(&*plain, &mut c).await, RESULT_INVALID);
}
