//! Spec checks and what the filter decides without the provider: who passes, the
//! redirect, refused callbacks.

use std::collections::HashMap;

use eg_protocols::escape::decode_query_component;
use serde_json::json;

use super::request::RANDOM_BYTES;
use super::testprovider::{CLIENT_ID, CLIENT_SECRET};
use super::*;
use crate::testkit::{body_text, build, ctx, run};

const AUTHORIZE: &str = "https://idp.test/login/oauth/authorize";

/// A spec with explicit endpoints (nothing is fetched before a callback).
fn explicit() -> Value {
    json!({
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "authorizationEndpoint": AUTHORIZE,
        "tokenEndpoint": "https://idp.test/login/oauth/access_token",
        "userinfoEndpoint": "https://idp.test/user",
        "redirectURI": "/oidc/callback",
    })
}

fn with(mut doc: Value, key: &str, value: Value) -> Value {
    doc[key] = value;
    doc
}

fn without(mut doc: Value, key: &str) -> Value {
    if let Some(m) = doc.as_object_mut() {
        m.remove(key);
    }
    doc
}

fn error_path(doc: Value) -> String {
    build(&KIND, doc).err().map(|e| e.path).unwrap_or_default()
}

/// Query parameters of a URL, decoded.
pub(super) fn params(url: &str) -> HashMap<String, String> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    q.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), decode_query_component(v).into_owned()))
        .collect()
}

/// The `Cookie` pair binding `state` to the browser.
pub(super) fn state_cookie(state: &str) -> String {
    format!("{}={state}", state_cookie_name(state))
}

/// The response header `name` of the active namespace.
pub(super) fn resp_header(c: &Context, name: &str) -> String {
    c.response()
        .and_then(|r| r.headers.get(name))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[test]
fn bad_specs_are_refused_naming_the_field() {
    let cases = [
        (without(explicit(), "clientId"), "filters[0].clientId"),
        (
            without(explicit(), "clientSecret"),
            "filters[0].clientSecret",
        ),
        (without(explicit(), "redirectURI"), "filters[0].redirectURI"),
        (
            with(explicit(), "redirectURI", json!("oidc/callback")),
            "filters[0].redirectURI",
        ),
        (
            with(explicit(), "redirectURI", json!("ftp://gw/cb")),
            "filters[0].redirectURI",
        ),
        (
            with(explicit(), "redirectURI", json!("/a b")),
            "filters[0].redirectURI",
        ),
        (
            without(explicit(), "authorizationEndpoint"),
            "filters[0].authorizationEndpoint",
        ),
        (
            without(explicit(), "tokenEndpoint"),
            "filters[0].tokenEndpoint",
        ),
        (
            with(
                explicit(),
                "authorizationEndpoint",
                json!("idp.test/authorize"),
            ),
            "filters[0].authorizationEndpoint",
        ),
        (
            with(explicit(), "tokenEndpoint", json!("http://")),
            "filters[0].tokenEndpoint",
        ),
        (
            with(explicit(), "userinfoEndpoint", json!("not a url")),
            "filters[0].userinfoEndpoint",
        ),
        (
            with(explicit(), "jwksUri", json!("file:///keys")),
            "filters[0].jwksUri",
        ),
        (
            with(explicit(), "discovery", json!("nope")),
            "filters[0].discovery",
        ),
        (
            with(explicit(), "clientId", json!(7)),
            "filters[0].clientId",
        ),
    ];
    for (doc, want) in cases {
        assert_eq!(error_path(doc.clone()), want, "{doc}");
    }
}

#[test]
fn good_specs_build_and_discovery_makes_endpoints_unused() {
    assert!(build(&KIND, explicit()).is_ok());
    assert!(build(
        &KIND,
        with(explicit(), "redirectURI", json!("https://gw.test/cb"))
    )
    .is_ok());
    let spec = crate::testkit::filter_spec(
        &KIND,
        with(
            explicit(),
            "discovery",
            json!("https://idp.test/.well-known/openid-configuration"),
        ),
    );
    let sup = crate::testkit::supervisor();
    let res = crate::resilience::Policies::new();
    let warnings = KIND
        .validate(&spec, &BuildContext::new(&sup, &res))
        .expect("valid");
    assert_eq!(
        warnings,
        [
            "filters[0].authorizationEndpoint: not used, the discovery document gives the endpoints",
            "filters[0].tokenEndpoint: not used, the discovery document gives the endpoints",
            "filters[0].userinfoEndpoint: not used, the discovery document gives the endpoints",
        ]
    );
}

#[tokio::test]
async fn the_cookie_or_a_bearer_token_lets_a_request_pass() {
    let f = build(&KIND, with(explicit(), "cookieName", json!("session"))).unwrap();
    let mut c = ctx(
        "GET",
        "/app",
        &[
            ("Cookie", "a=1; session=xyz"),
            ("X-User-Info", "eyJzdWIiOiJhZG1pbiJ9"),
            ("X-Id-Token", "forged"),
            ("X-Origin-Request-URL", "http://evil.test/"),
            ("X-Access-Token", "client's"),
        ],
    );
    assert_eq!(run(&*f, &mut c).await, RESULT_OK);
    assert!(c.response().is_none());
    // The user headers only this filter sets are not taken from the client.
    let req = c.request().unwrap();
    for name in [USER_INFO_HEADER, ID_TOKEN_HEADER, ORIGIN_URL_HEADER] {
        assert!(req.header(name).is_none(), "{name}");
    }
    assert_eq!(req.header(ACCESS_TOKEN_HEADER), Some("client's"));
    // With cookieName, a bearer token is not enough.
    let mut c = ctx("GET", "/app", &[("Authorization", "Bearer t")]);
    assert_eq!(run(&*f, &mut c).await, RESULT_FILTERED);
    assert_eq!(c.response().unwrap().status, 302);

    let f = build(&KIND, explicit()).unwrap();
    for (auth, passes) in [
        ("Bearer t", true),
        ("Bearerx", true),
        ("Bearer", false),
        ("Basic dTpw", false),
    ] {
        let mut c = ctx("GET", "/app", &[("Authorization", auth)]);
        let want = if passes { RESULT_OK } else { RESULT_FILTERED };
        assert_eq!(run(&*f, &mut c).await, want, "{auth}");
    }
    let mut c = ctx("GET", "/app", &[("Cookie", "session=xyz")]);
    assert_eq!(run(&*f, &mut c).await, RESULT_FILTERED);
}

#[tokio::test]
async fn a_first_visit_is_redirected_to_the_provider() {
    let f = build(&KIND, explicit()).unwrap();
    let mut c = ctx("GET", "/app/page?x=1&y=%20", &[("Host", "gw.test:8080")]);
    assert_eq!(run(&*f, &mut c).await, RESULT_FILTERED);
    assert_eq!(c.response().unwrap().status, 302);
    let location = resp_header(&c, "location");
    assert!(
        location.starts_with(&format!("{AUTHORIZE}?client_id=gateway&state=")),
        "{location}"
    );
    let p = params(&location);
    assert_eq!(p["client_id"], CLIENT_ID);
    assert_eq!(p["response_type"], "code");
    assert_eq!(p["scope"], provider::DEFAULT_SCOPE);
    assert_eq!(p["redirect_uri"], "http://gw.test:8080/oidc/callback");
    for key in ["state", "nonce"] {
        assert_eq!(p[key].len(), 2 * RANDOM_BYTES, "{key}");
        assert!(p[key].bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    }
    assert_ne!(p["state"], p["nonce"]);
    assert_eq!(
        resp_header(&c, "set-cookie"),
        format!(
            "{STATE_COOKIE}_{}={}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax",
            &p["state"][..8],
            p["state"]
        )
    );
    let o = f.as_any().downcast_ref::<OidcAdaptor>().unwrap();
    let logins = o.logins.load();
    let pending = logins.take(&p["state"]).expect("the login is held");
    assert_eq!(pending.nonce, p["nonce"]);
    assert_eq!(
        pending.request_url,
        "http://gw.test:8080/app/page?x=1&y=%20"
    );
    assert_eq!(pending.redirect_uri, "http://gw.test:8080/oidc/callback");

    // A second visit starts another login.
    let mut c2 = ctx(
        "GET",
        "/app",
        &[("Host", "gw.test"), ("X-Forwarded-Proto", "https")],
    );
    run(&*f, &mut c2).await;
    let p2 = params(&resp_header(&c2, "location"));
    assert_ne!(p2["state"], p["state"]);
    assert_eq!(p2["redirect_uri"], "https://gw.test/oidc/callback");
    assert!(resp_header(&c2, "set-cookie").ends_with("; Secure"));
    // A forwarded scheme that is not http(s) is not used.
    let mut c3 = ctx(
        "GET",
        "/",
        &[("Host", "gw.test"), ("X-Forwarded-Proto", "javascript")],
    );
    run(&*f, &mut c3).await;
    let p3 = params(&resp_header(&c3, "location"));
    assert_eq!(p3["redirect_uri"], "http://gw.test/oidc/callback");
}

#[tokio::test]
async fn an_absolute_redirect_uri_and_an_endpoint_with_a_query_are_kept() {
    let doc = with(
        with(explicit(), "redirectURI", json!("https://app.test/auth/cb")),
        "authorizationEndpoint",
        json!("https://idp.test/authorize?tenant=t1"),
    );
    let f = build(&KIND, doc).unwrap();
    let mut c = ctx("GET", "/", &[("Host", "gw.test")]);
    run(&*f, &mut c).await;
    let location = resp_header(&c, "location");
    assert!(
        location.starts_with("https://idp.test/authorize?tenant=t1&client_id=gateway&"),
        "{location}"
    );
    assert_eq!(
        params(&location)["redirect_uri"],
        "https://app.test/auth/cb"
    );
    // The callback is recognised by the path of the absolute URL.
    let mut cb = ctx("GET", "/auth/cb", &[("Host", "gw.test")]);
    assert_eq!(run(&*f, &mut cb).await, RESULT_FILTERED);
    assert_eq!(cb.response().unwrap().status, 403);
}

/// Starts a login and gives its state.
async fn start_login(f: &dyn Filter) -> String {
    let mut c = ctx("GET", "/app", &[("Host", "gw.test")]);
    run(f, &mut c).await;
    params(&resp_header(&c, "location"))["state"].clone()
}

#[tokio::test]
async fn bad_callbacks_are_refused_with_403() {
    let f = build(&KIND, explicit()).unwrap();
    let state = start_login(&*f).await;
    let other = start_login(&*f).await;
    let cookie = state_cookie(&state);
    let cases = [
        (
            "/oidc/callback?code=c".to_string(),
            cookie.clone(),
            "oidc callback: empty state",
        ),
        (
            format!("/oidc/callback?code=c&state={state}"),
            String::new(),
            "oidc callback: invalid state",
        ),
        (
            format!("/oidc/callback?code=c&state={state}"),
            state_cookie(&other),
            "oidc callback: invalid state",
        ),
        (
            format!("/oidc/callback?code=c&state={state}"),
            format!("{}={other}", state_cookie_name(&state)),
            "oidc callback: invalid state",
        ),
        (
            "/oidc/callback?code=c&state=0123456789abcdef0123456789abcdef".to_string(),
            state_cookie("0123456789abcdef0123456789abcdef"),
            "oidc callback: invalid state",
        ),
        (
            format!("/oidc/callback?state={state}"),
            cookie.clone(),
            "oidc callback: invalid code",
        ),
    ];
    for (target, cookie, want) in cases {
        let mut c = ctx("GET", &target, &[("Host", "gw.test"), ("Cookie", &cookie)]);
        assert_eq!(run(&*f, &mut c).await, RESULT_FILTERED, "{target}");
        assert_eq!(c.response().unwrap().status, 403, "{target}");
        assert_eq!(body_text(&c), want, "{target}");
        assert!(c.request().unwrap().header(USER_INFO_HEADER).is_none());
    }
    // None of the refusals ended the login.
    let o = f.as_any().downcast_ref::<OidcAdaptor>().unwrap();
    assert!(o.logins.load().holds(&state));
}

#[tokio::test]
async fn an_existing_response_gets_the_status_and_body() {
    let f = build(&KIND, explicit()).unwrap();
    let mut c = ctx("GET", "/oidc/callback", &[("Host", "gw.test")]);
    let mut old = HttpResponse::with_body(StatusCode::OK, "old");
    old.headers.insert("x-kept", HeaderValue::from_static("1"));
    c.set_response(old);
    assert_eq!(run(&*f, &mut c).await, RESULT_FILTERED);
    assert_eq!(c.response().unwrap().status, 403);
    assert_eq!(body_text(&c), "oidc callback: empty state");
    assert_eq!(resp_header(&c, "x-kept"), "1");
}

#[tokio::test]
async fn logins_under_way_survive_a_new_generation() {
    let old = build(&KIND, explicit()).unwrap();
    let state = start_login(&*old).await;
    let new = build(&KIND, explicit()).unwrap();
    new.init(Some(&*old));
    let o = new.as_any().downcast_ref::<OidcAdaptor>().unwrap();
    assert!(o.logins.load().holds(&state));
}
