use eg_protocols::HttpResponse;
use http::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::testkit::{build, ctx, run};

const ORIGIN_OK: &str = "http://foo.megaease.com";

fn cors(doc: Value) -> Box<dyn Filter> {
    build(&KIND, doc).unwrap()
}

fn megaease() -> Box<dyn Filter> {
    cors(json!({"allowedOrigins": ["http://*.megaease.com"], "allowedMethods": ["GET"]}))
}

/// Values of `name` in the response, joined with `|`.
fn header(c: &Context, name: &str) -> Option<String> {
    let r = c.response()?;
    let vals: Vec<&str> = r
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    (!vals.is_empty()).then(|| vals.join("|"))
}

fn preflight(origin: &str, method: &str, req_headers: Option<&str>) -> Context {
    let mut h = vec![
        ("Origin", origin),
        ("Access-Control-Request-Method", method),
    ];
    if let Some(rh) = req_headers {
        h.push(("Access-Control-Request-Headers", rh));
    }
    ctx("OPTIONS", "/cors", &h)
}

#[tokio::test]
async fn no_origin_is_not_a_cors_request() {
    let f = megaease();
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&*f, &mut c).await, "");
    assert!(c.response().is_none());
    let mut c = ctx("GET", "/", &[("Origin", "")]);
    assert_eq!(run(&*f, &mut c).await, "");
    assert!(c.response().is_none());
}

#[tokio::test]
async fn allowed_preflight_is_answered_with_204_and_allow_headers() {
    let f = megaease();
    let mut c = preflight(ORIGIN_OK, "GET", None);
    assert_eq!(run(&*f, &mut c).await, RESULT_PREFLIGHTED);
    assert_eq!(c.response().unwrap().status, 204);
    assert_eq!(
        header(&c, "access-control-allow-origin").unwrap(),
        ORIGIN_OK
    );
    assert_eq!(header(&c, "access-control-allow-methods").unwrap(), "GET");
    assert_eq!(
        header(&c, "vary").unwrap(),
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    );
    assert_eq!(header(&c, "access-control-allow-headers"), None);
    assert_eq!(header(&c, "access-control-allow-credentials"), None);
    assert_eq!(header(&c, "access-control-max-age"), None);
}

#[tokio::test]
async fn disallowed_preflight_is_still_preflighted_but_without_allow_headers() {
    let f = megaease();
    for mut c in [
        preflight("http://evil.example.org", "GET", None),
        preflight(ORIGIN_OK, "DELETE", None),
        preflight(ORIGIN_OK, "GET", Some("x-secret")),
    ] {
        assert_eq!(run(&*f, &mut c).await, RESULT_PREFLIGHTED);
        assert_eq!(c.response().unwrap().status, 204);
        assert_eq!(header(&c, "access-control-allow-origin"), None);
        assert_eq!(header(&c, "access-control-allow-methods"), None);
        assert!(header(&c, "vary").is_some());
    }
}

#[tokio::test]
async fn options_without_request_method_is_an_actual_request() {
    let f = cors(json!({"allowedMethods": ["OPTIONS"]}));
    let mut c = ctx("OPTIONS", "/", &[("Origin", ORIGIN_OK)]);
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(header(&c, "vary").unwrap(), "Origin");
    assert_eq!(header(&c, "access-control-allow-origin").unwrap(), "*");
}

#[tokio::test]
async fn actual_requests_get_allow_origin_or_are_rejected() {
    let f = megaease();
    let mut c = ctx("GET", "/", &[("Origin", ORIGIN_OK)]);
    assert_eq!(run(&*f, &mut c).await, "");
    let resp = c.response().unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(
        header(&c, "access-control-allow-origin").unwrap(),
        ORIGIN_OK
    );
    assert_eq!(header(&c, "vary").unwrap(), "Origin");

    // Origin not allowed; method not allowed: rejected, no allow-origin.
    for mut c in [
        ctx("GET", "/", &[("Origin", "http://evil.example.org")]),
        ctx("POST", "/", &[("Origin", ORIGIN_OK)]),
    ] {
        assert_eq!(run(&*f, &mut c).await, RESULT_REJECTED);
        assert_eq!(header(&c, "access-control-allow-origin"), None);
        assert_eq!(header(&c, "vary").unwrap(), "Origin");
    }
}

#[tokio::test]
async fn defaults_allow_any_origin_and_the_simple_methods() {
    let f = cors(json!({}));
    for m in ["GET", "POST", "HEAD"] {
        let mut c = ctx(m, "/", &[("Origin", "http://anything.example")]);
        assert_eq!(run(&*f, &mut c).await, "", "{m}");
        assert_eq!(header(&c, "access-control-allow-origin").unwrap(), "*");
    }
    let mut c = ctx("PUT", "/", &[("Origin", "http://anything.example")]);
    assert_eq!(run(&*f, &mut c).await, RESULT_REJECTED);
    // Default allowed request headers.
    let mut c = preflight("http://a.b", "POST", Some("content-type,x-requested-with"));
    run(&*f, &mut c).await;
    assert_eq!(
        header(&c, "access-control-allow-headers").unwrap(),
        "content-type,x-requested-with"
    );
    let mut c = preflight("http://a.b", "POST", Some("authorization"));
    run(&*f, &mut c).await;
    assert_eq!(header(&c, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn star_in_the_origin_list_allows_all() {
    let f = cors(json!({"allowedOrigins": ["http://a.com", "*"]}));
    let mut c = ctx("GET", "/", &[("Origin", "http://b.com")]);
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(header(&c, "access-control-allow-origin").unwrap(), "*");
}

#[tokio::test]
async fn origins_match_exactly_or_by_wildcard_in_any_case() {
    let f = cors(json!({"allowedOrigins": ["https://Exact.COM", "https://*.example.com:8443"]}));
    for (origin, ok) in [
        ("https://exact.com", true),
        ("HTTPS://EXACT.COM", true),
        ("https://exact.com.evil", false),
        ("https://a.example.com:8443", true),
        ("https://a.b.example.com:8443", true),
        ("https://example.com:8443", false),
        ("https://a.example.com", false),
    ] {
        let mut c = ctx("GET", "/", &[("Origin", origin)]);
        let want = if ok { "" } else { RESULT_REJECTED };
        assert_eq!(run(&*f, &mut c).await, want, "{origin}");
        if ok {
            // The request's own Origin is echoed.
            assert_eq!(header(&c, "access-control-allow-origin").unwrap(), origin);
        }
    }
}

#[tokio::test]
async fn allowed_headers_credentials_max_age_and_exposed_headers() {
    let f = cors(json!({
        "allowedOrigins": ["http://a.com"],
        "allowedMethods": ["GET", "PUT"],
        "allowedHeaders": ["X-Token", "Content-Type"],
        "allowCredentials": true,
        "exposedHeaders": ["x-total-count", "ETag"],
        "maxAge": 600}));
    let mut c = preflight("http://a.com", "PUT", Some("content-type,x-token"));
    assert_eq!(run(&*f, &mut c).await, RESULT_PREFLIGHTED);
    assert_eq!(header(&c, "access-control-allow-methods").unwrap(), "PUT");
    assert_eq!(
        header(&c, "access-control-allow-headers").unwrap(),
        "content-type,x-token"
    );
    assert_eq!(
        header(&c, "access-control-allow-credentials").unwrap(),
        "true"
    );
    assert_eq!(header(&c, "access-control-max-age").unwrap(), "600");
    assert_eq!(header(&c, "access-control-expose-headers"), None);
    // Any case and order of requested headers is accepted.
    let mut c = preflight("http://a.com", "PUT", Some("X-Token, Content-Type"));
    run(&*f, &mut c).await;
    assert_eq!(
        header(&c, "access-control-allow-origin").unwrap(),
        "http://a.com"
    );

    let mut c = ctx("PUT", "/", &[("Origin", "http://a.com")]);
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(
        header(&c, "access-control-expose-headers").unwrap(),
        "X-Total-Count, Etag"
    );
    assert_eq!(
        header(&c, "access-control-allow-credentials").unwrap(),
        "true"
    );
    assert_eq!(header(&c, "access-control-max-age"), None);
}

#[tokio::test]
async fn star_allows_any_requested_header_and_negative_max_age_is_zero() {
    let f = cors(json!({"allowedHeaders": ["*"], "maxAge": -1}));
    let mut c = preflight("http://a.com", "GET", Some("x-anything,y-other"));
    run(&*f, &mut c).await;
    assert_eq!(header(&c, "access-control-allow-origin").unwrap(), "*");
    assert_eq!(
        header(&c, "access-control-allow-headers").unwrap(),
        "x-anything,y-other"
    );
    assert_eq!(header(&c, "access-control-max-age").unwrap(), "0");
}

#[tokio::test]
async fn headers_merge_into_an_existing_response() {
    let f = megaease();
    let mut c = ctx("GET", "/", &[("Origin", ORIGIN_OK)]);
    let mut existing = HttpResponse::with_body(StatusCode::ACCEPTED, "body");
    existing.headers.insert("vary", "Accept".parse().unwrap());
    existing
        .headers
        .insert("access-control-allow-origin", "http://old".parse().unwrap());
    c.set_response(existing);
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(c.response().unwrap().status, 202);
    assert_eq!(header(&c, "vary").unwrap(), "Accept|Origin");
    assert_eq!(
        header(&c, "access-control-allow-origin").unwrap(),
        ORIGIN_OK
    );

    // A preflight keeps the existing status too.
    let mut c = preflight(ORIGIN_OK, "GET", None);
    c.set_response(HttpResponse::new(StatusCode::OK));
    assert_eq!(run(&*f, &mut c).await, RESULT_PREFLIGHTED);
    assert_eq!(c.response().unwrap().status, 200);
}

#[track_caller]
fn assert_err(doc: Value, path: &str, words: &str) {
    let e = match build(&KIND, doc) {
        Ok(_) => panic!("spec accepted"),
        Err(e) => e,
    };
    assert_eq!(e.path, path, "{e}");
    assert!(e.message.contains(words), "{e}");
}

#[test]
fn bad_specs_name_the_field() {
    assert_err(
        json!({"allowedOrigins": ["http://a.com", "http://*.*.com"]}),
        "filters[0].allowedOrigins[1]",
        "one * wildcard",
    );
    assert_err(
        json!({"allowedMethods": ["GET", "fetch"]}),
        "filters[0].allowedMethods[1]",
        "not an HTTP method",
    );
    assert_err(
        json!({"allowedHeaders": ["bad header"]}),
        "filters[0].allowedHeaders[0]",
        "invalid header name",
    );
    assert_err(
        json!({"exposedHeaders": ["ok", "no:colon"]}),
        "filters[0].exposedHeaders[1]",
        "invalid header name",
    );
    assert_err(json!({"maxAge": "long"}), "filters[0].maxAge", "");
    assert_err(
        json!({"allowCredentials": "yes"}),
        "filters[0].allowCredentials",
        "",
    );
}

#[test]
fn kind_metadata() {
    assert_eq!(KIND.kind, "CORSAdaptor");
    assert_eq!(KIND.results, &["preflighted", "rejected"]);
}
