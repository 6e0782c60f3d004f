//! Whole logins against the in-process provider, and what happens when it fails.

use eg_testkit::Upstream;
use http::Request;
use serde_json::json;

use super::testprovider::{Issue, TestProvider, ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET};
use super::tests::{params, resp_header, state_cookie};
use super::*;
use crate::testkit::{body_text, build, ctx, run};
use crate::validator::fetch::Fetcher;

const HOST: &str = "gw.test";

fn discovery_spec(p: &TestProvider) -> Value {
    json!({
        "cookieName": "session",
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "discovery": format!("{}/.well-known/openid-configuration", p.url()),
        "redirectURI": "/oidc/callback",
    })
}

fn explicit_spec(p: &TestProvider) -> Value {
    json!({
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "authorizationEndpoint": format!("{}/authorize", p.url()),
        "tokenEndpoint": format!("{}/token", p.url()),
        "userinfoEndpoint": format!("{}/userinfo", p.url()),
        "redirectURI": "/oidc/callback",
    })
}

/// Visits `target` without a session, follows the redirect to the provider (who logs the
/// user in) and gives the callback request the browser then sends, with its state cookie.
async fn login(f: &dyn Filter, target: &str) -> Context {
    let mut first = ctx("GET", target, &[("Host", HOST)]);
    assert_eq!(run(f, &mut first).await, RESULT_FILTERED);
    assert_eq!(first.response().unwrap().status, 302);
    let location = resp_header(&first, "location");
    let state = params(&location)["state"].clone();

    let fetcher = Fetcher::new(false).unwrap();
    let req = Request::get(location.as_str())
        .body(eg_protocols::Body::Empty)
        .unwrap();
    let (status, body) = fetcher.send(req).await.expect("the provider answers");
    assert_eq!(status, 302);
    // The provider sends the browser back to the callback (its body repeats `Location`).
    let back = String::from_utf8_lossy(&body).to_string();
    let target = back
        .strip_prefix(&format!("http://{HOST}"))
        .expect("back to the gateway");
    assert_eq!(params(target)["state"], state);
    ctx(
        "GET",
        target,
        &[
            ("Host", HOST),
            ("Cookie", &format!("a=b; {}", state_cookie(&state))),
        ],
    )
}

fn req_header(c: &Context, name: &str) -> String {
    c.request()
        .and_then(|r| r.header(name))
        .unwrap_or("")
        .to_string()
}

fn user_info(c: &Context) -> Value {
    let text = STANDARD
        .decode(req_header(c, USER_INFO_HEADER))
        .expect("X-User-Info is base64");
    serde_json::from_slice(&text).expect("X-User-Info is JSON")
}

#[tokio::test(flavor = "current_thread")]
async fn a_whole_login_reaches_the_upstream_with_the_user_headers() {
    let p = TestProvider::start().await;
    let f = build(&KIND, discovery_spec(&p)).unwrap();
    let mut cb = login(&*f, "/app/page?x=1").await;

    // The redirect used the discovery document's endpoint and scopes.
    let authorize = p.seen_at("/authorize");
    assert_eq!(authorize.len(), 1);
    let asked = params(&authorize[0].target);
    assert_eq!(asked["scope"], "openid email");
    assert_eq!(asked["redirect_uri"], "http://gw.test/oidc/callback");
    assert_eq!(asked["client_id"], CLIENT_ID);

    assert_eq!(run(&*f, &mut cb).await, RESULT_OK);
    assert!(cb.response().is_none());

    let token = p.seen_at("/token");
    assert_eq!(token.len(), 1);
    assert_eq!(token[0].method, http::Method::POST);
    assert_eq!(
        token[0].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let basic = STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(token[0].headers["authorization"], format!("Basic {basic}"));
    assert_eq!(
        String::from_utf8_lossy(&token[0].body),
        format!(
            "client_id=gateway&client_secret=s3cret%26more&code=code-1&grant_type=authorization_code\
             &redirect_uri=http%3A%2F%2Fgw.test%2Foidc%2Fcallback&state={}",
            asked["state"]
        )
    );
    assert!(p.seen_at("/userinfo").is_empty(), "the ID token is enough");

    // The next filter sends the request on: the upstream sees the user.
    let upstream = Upstream::named("app").await;
    let proxy = build(
        &crate::proxy::KIND,
        json!({"pools": [{"servers": [{"url": upstream.url()}]}]}),
    )
    .unwrap();
    assert_eq!(run(&*proxy, &mut cb).await, RESULT_OK);
    assert_eq!(body_text(&cb), "app");
    let seen = upstream.last();
    assert_eq!(
        seen.target,
        format!("/oidc/callback?code=code-1&state={}", asked["state"])
    );
    assert_eq!(seen.headers[ACCESS_TOKEN_HEADER], ACCESS_TOKEN);
    assert_eq!(
        seen.headers[ORIGIN_URL_HEADER],
        "http://gw.test/app/page?x=1"
    );
    let id_token = seen.headers[ID_TOKEN_HEADER].to_str().unwrap().to_string();
    assert_eq!(id_token.split('.').count(), 3);
    let info: Value = serde_json::from_slice(
        &STANDARD
            .decode(seen.headers[USER_INFO_HEADER].as_bytes())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(info["sub"], "alice");
    assert_eq!(info["email"], "alice@example.com");
    assert_eq!(info["aud"], CLIENT_ID);
    assert_eq!(info["nonce"], asked["nonce"]);

    // The state was used: the same callback again is refused.
    let mut again = ctx(
        "GET",
        &format!("/oidc/callback?code=code-1&state={}", asked["state"]),
        &[("Host", HOST), ("Cookie", &state_cookie(&asked["state"]))],
    );
    assert_eq!(run(&*f, &mut again).await, RESULT_FILTERED);
    assert_eq!(again.response().unwrap().status, 403);
    // The discovery document and the key set were fetched once.
    assert_eq!(p.seen_at("/.well-known/openid-configuration").len(), 1);
    assert_eq!(p.seen_at("/jwks").len(), 1);
    // A logged-in request passes without the provider.
    let mut later = ctx("GET", "/app", &[("Cookie", "session=1")]);
    assert_eq!(run(&*f, &mut later).await, RESULT_OK);
}

#[tokio::test(flavor = "current_thread")]
async fn an_access_token_already_on_the_request_is_kept() {
    let p = TestProvider::start().await;
    let f = build(&KIND, discovery_spec(&p)).unwrap();
    let mut cb = login(&*f, "/").await;
    if let Some(r) = cb.request_mut() {
        r.headers_mut()
            .insert(ACCESS_TOKEN_HEADER, HeaderValue::from_static("mine"));
    }
    assert_eq!(run(&*f, &mut cb).await, RESULT_OK);
    assert_eq!(req_header(&cb, ACCESS_TOKEN_HEADER), "mine");
    assert_eq!(user_info(&cb)["sub"], "alice");
}

#[tokio::test(flavor = "current_thread")]
async fn bad_id_tokens_are_refused_with_401() {
    let p = TestProvider::start().await;
    let f = build(&KIND, discovery_spec(&p)).unwrap();
    let cases = [
        (
            "signature is invalid",
            Issue {
                wrong_key: true,
                ..Issue::default()
            },
        ),
        (
            "aud does not name",
            Issue {
                aud: json!("someone-else"),
                ..Issue::default()
            },
        ),
        (
            "aud does not name",
            Issue {
                aud: json!(["a", "b"]),
                ..Issue::default()
            },
        ),
        (
            "token is expired",
            Issue {
                exp_in: -10,
                ..Issue::default()
            },
        ),
        (
            "token has no exp",
            Issue {
                no_exp: true,
                ..Issue::default()
            },
        ),
        (
            "nonce is not",
            Issue {
                nonce: Some("replayed".into()),
                ..Issue::default()
            },
        ),
        (
            "iss is not",
            Issue {
                iss: Some("https://evil.test".into()),
                ..Issue::default()
            },
        ),
    ];
    for (what, issue) in cases {
        p.issue(issue);
        let mut cb = login(&*f, "/").await;
        assert_eq!(run(&*f, &mut cb).await, RESULT_FILTERED, "{what}");
        assert_eq!(cb.response().unwrap().status, 401, "{what}");
        assert_eq!(body_text(&cb), "invalid oidc id token", "{what}");
        assert!(req_header(&cb, USER_INFO_HEADER).is_empty(), "{what}");
        assert!(req_header(&cb, ID_TOKEN_HEADER).is_empty(), "{what}");
        let tags: Vec<String> = cb.tags.iter().map(|t| t.to_string()).collect();
        assert!(
            tags.iter()
                .any(|t| t.starts_with("oidcAdaptor: id token refused") && t.contains(what)),
            "{what}: {tags:?}"
        );
        assert!(
            !tags.iter().any(|t| t.contains("eyJ")),
            "no token in the log: {tags:?}"
        );
    }
    // Good tokens still pass: an audience list naming the client, and HS256 with the
    // client secret.
    for issue in [
        Issue {
            aud: json!(["a", CLIENT_ID]),
            ..Issue::default()
        },
        Issue {
            hmac: true,
            ..Issue::default()
        },
    ] {
        p.issue(issue);
        let mut cb = login(&*f, "/").await;
        assert_eq!(run(&*f, &mut cb).await, RESULT_OK);
        assert_eq!(user_info(&cb)["sub"], "alice");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn explicit_endpoints_without_an_id_token_ask_the_user_info() {
    let p = TestProvider::start().await;
    p.issue(Issue {
        no_id_token: true,
        ..Issue::default()
    });
    let f = build(&KIND, explicit_spec(&p)).unwrap();
    let mut cb = login(&*f, "/repo?tab=1").await;
    assert_eq!(params(&p.seen_at("/authorize")[0].target)["scope"], "user");
    assert_eq!(run(&*f, &mut cb).await, RESULT_OK);
    assert_eq!(user_info(&cb), json!({"login": "alice", "id": 7}));
    assert_eq!(req_header(&cb, ACCESS_TOKEN_HEADER), ACCESS_TOKEN);
    assert_eq!(
        req_header(&cb, ORIGIN_URL_HEADER),
        "http://gw.test/repo?tab=1"
    );
    assert!(req_header(&cb, ID_TOKEN_HEADER).is_empty());
    let ui = p.seen_at("/userinfo");
    assert_eq!(ui.len(), 1);
    assert_eq!(ui[0].method, http::Method::GET);
    assert_eq!(
        ui[0].headers["authorization"],
        format!("token {ACCESS_TOKEN}")
    );
    assert_eq!(ui[0].headers["accept"], "application/json");
    assert!(p.seen_at("/.well-known/openid-configuration").is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn explicit_endpoints_check_id_tokens_with_jwks_uri() {
    let p = TestProvider::start().await;
    let with_keys = {
        let mut s = explicit_spec(&p);
        s["jwksUri"] = json!(format!("{}/jwks", p.url()));
        s
    };
    let f = build(&KIND, with_keys).unwrap();
    let mut cb = login(&*f, "/").await;
    assert_eq!(run(&*f, &mut cb).await, RESULT_OK);
    assert_eq!(user_info(&cb)["email"], "alice@example.com");

    // Without a key set an RS256 ID token cannot be checked.
    let f = build(&KIND, explicit_spec(&p)).unwrap();
    let mut cb = login(&*f, "/").await;
    assert_eq!(run(&*f, &mut cb).await, RESULT_FILTERED);
    assert_eq!(cb.response().unwrap().status, 401);
    assert!(cb.tags.iter().any(|t| t.to_string().contains("no key set")));
}

#[tokio::test(flavor = "current_thread")]
async fn provider_failures_answer_500() {
    // Discovery unreachable: the first visit cannot be redirected.
    let down = format!("http://{}", eg_testkit::closed_addr());
    let f = build(
        &KIND,
        json!({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
               "discovery": format!("{down}/.well-known/openid-configuration"),
               "redirectURI": "/oidc/callback"}),
    )
    .unwrap();
    let mut c = ctx("GET", "/", &[("Host", HOST)]);
    assert_eq!(run(&*f, &mut c).await, RESULT_FILTERED);
    assert_eq!(c.response().unwrap().status, 500);
    assert!(
        body_text(&c).starts_with("fetch OIDC discovery error: request failed"),
        "{}",
        body_text(&c)
    );

    // A discovery URL answering something else.
    let p = TestProvider::start().await;
    let mut bad = discovery_spec(&p);
    bad["discovery"] = json!(format!("{}/missing", p.url()));
    let f = build(&KIND, bad).unwrap();
    let mut c = ctx("GET", "/", &[("Host", HOST)]);
    assert_eq!(run(&*f, &mut c).await, RESULT_FILTERED);
    assert_eq!(
        body_text(&c),
        "fetch OIDC discovery error: status 404 Not Found"
    );
    // A request right after gets the same answer without asking the provider again.
    let mut c = ctx("GET", "/", &[("Host", HOST)]);
    assert_eq!(run(&*f, &mut c).await, RESULT_FILTERED);
    assert_eq!(
        body_text(&c),
        "fetch OIDC discovery error: status 404 Not Found"
    );
    assert_eq!(p.seen_at("/missing").len(), 1);

    // The token endpoint refusing the code, or down.
    let f = build(&KIND, discovery_spec(&p)).unwrap();
    p.issue(Issue {
        token_error: Some(400),
        ..Issue::default()
    });
    let mut cb = login(&*f, "/").await;
    assert_eq!(run(&*f, &mut cb).await, RESULT_FILTERED);
    assert_eq!(cb.response().unwrap().status, 500);
    assert_eq!(
        body_text(&cb),
        "fetch OIDC token error: status 400 Bad Request"
    );

    // A 200 answer carrying an OAuth2 error (an unknown code).
    p.issue(Issue::default());
    let mut cb = login(&*f, "/").await;
    let target = cb
        .request()
        .unwrap()
        .uri()
        .to_string()
        .replace("code=code-", "code=other-");
    cb.request_mut()
        .unwrap()
        .set_path_and_query(&target)
        .unwrap();
    assert_eq!(run(&*f, &mut cb).await, RESULT_FILTERED);
    assert_eq!(cb.response().unwrap().status, 500);
    assert_eq!(
        body_text(&cb),
        "fetch OIDC token error: invalid_grant: unknown code"
    );

    let mut spec = explicit_spec(&p);
    spec["tokenEndpoint"] = json!(format!("{down}/token"));
    let f = build(&KIND, spec).unwrap();
    let mut cb = login(&*f, "/").await;
    assert_eq!(run(&*f, &mut cb).await, RESULT_FILTERED);
    assert_eq!(cb.response().unwrap().status, 500);
    assert!(body_text(&cb).starts_with("fetch OIDC token error: request failed"));

    // The user info endpoint refusing the access token.
    p.issue(Issue {
        no_id_token: true,
        ..Issue::default()
    });
    let mut spec = explicit_spec(&p);
    spec["userinfoEndpoint"] = json!(format!("{}/missing", p.url()));
    let f = build(&KIND, spec).unwrap();
    let mut cb = login(&*f, "/").await;
    assert_eq!(run(&*f, &mut cb).await, RESULT_FILTERED);
    assert_eq!(cb.response().unwrap().status, 500);
    assert_eq!(
        body_text(&cb),
        "fetch OAuth2 userinfo error: status 404 Not Found"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_discovery_document_carries_over_to_the_next_generation() {
    let p = TestProvider::start().await;
    let old = build(&KIND, discovery_spec(&p)).unwrap();
    let mut c = ctx("GET", "/", &[("Host", HOST)]);
    run(&*old, &mut c).await;
    let new = build(&KIND, discovery_spec(&p)).unwrap();
    new.init(Some(&*old));
    let mut c = ctx("GET", "/", &[("Host", HOST)]);
    assert_eq!(run(&*new, &mut c).await, RESULT_FILTERED);
    assert!(resp_header(&c, "location").starts_with(&format!("{}/authorize?", p.url())));
    assert_eq!(p.seen_at("/.well-known/openid-configuration").len(), 1);

    // Another discovery URL starts afresh.
    let mut other = discovery_spec(&p);
    other["discovery"] = json!(format!("{}/.well-known/openid-configuration?v=2", p.url()));
    let newer = build(&KIND, other).unwrap();
    newer.init(Some(&*new));
    let mut c = ctx("GET", "/", &[("Host", HOST)]);
    run(&*newer, &mut c).await;
    assert_eq!(p.seen_at("/.well-known/openid-configuration").len(), 2);
}

#[tokio::test(flavor = "current_thread")]
async fn logins_started_in_two_tabs_both_complete() {
    let p = TestProvider::start().await;
    let f = build(&KIND, discovery_spec(&p)).unwrap();
    let mut one = login(&*f, "/one").await;
    let mut two = login(&*f, "/two").await;
    // The browser holds both state cookies and sends them with each callback.
    let both = format!(
        "{}; {}",
        req_header(&one, "cookie"),
        req_header(&two, "cookie")
    );
    for c in [&mut one, &mut two] {
        if let Some(r) = c.request_mut() {
            r.headers_mut()
                .insert(header::COOKIE, HeaderValue::from_str(&both).unwrap());
        }
    }
    assert_eq!(run(&*f, &mut two).await, RESULT_OK);
    assert_eq!(run(&*f, &mut one).await, RESULT_OK);
    assert_eq!(req_header(&one, ORIGIN_URL_HEADER), "http://gw.test/one");
    assert_eq!(req_header(&two, ORIGIN_URL_HEADER), "http://gw.test/two");
}
