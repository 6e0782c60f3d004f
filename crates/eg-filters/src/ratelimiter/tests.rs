use eg_protocols::HttpResponse;
use http::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::testkit::{build, ctx, run};

fn policy(name: &str, limit: u64, period: &str, timeout: &str) -> Value {
    json!({"name": name, "limitForPeriod": limit, "limitRefreshPeriod": period,
           "timeoutDuration": timeout})
}

/// A limiter on `prefix` for `methods` with `limit` per (long) period, short timeout.
fn limiter(prefix: &str, methods: &[&str], limit: u64) -> Box<dyn Filter> {
    build(
        &KIND,
        json!({"policies": [policy("p", limit, "60s", "10ms")], "defaultPolicyRef": "p",
               "urls": [{"methods": methods, "url": {"prefix": prefix}}]}),
    )
    .unwrap()
}

async fn results(f: &dyn Filter, method: &str, path: &str, n: usize) -> Vec<&'static str> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut c = ctx(method, path, &[]);
        out.push(run(f, &mut c).await);
    }
    out
}

#[tokio::test]
async fn excess_requests_get_429_with_the_header() {
    let f = limiter("/limited", &["GET"], 3);
    assert_eq!(
        results(&*f, "GET", "/limited", 3).await,
        vec![""; 3],
        "three permits per period"
    );
    let mut c = ctx("GET", "/limited/x", &[]);
    assert_eq!(run(&*f, &mut c).await, RESULT_RATE_LIMITED);
    let resp = c.response().unwrap();
    assert_eq!(resp.status, 429);
    assert_eq!(resp.headers["x-eg-rate-limiter"], "too-many-requests");
    assert!(resp.body.bytes().is_none_or(|b| b.is_empty()));
}

#[tokio::test]
async fn only_matching_methods_and_paths_are_limited() {
    let f = limiter("/limited", &["GET"], 1);
    assert_eq!(
        results(&*f, "GET", "/limited", 3).await,
        vec!["", RESULT_RATE_LIMITED, RESULT_RATE_LIMITED]
    );
    assert_eq!(results(&*f, "GET", "/free", 5).await, vec![""; 5]);
    assert_eq!(results(&*f, "POST", "/limited", 2).await, vec![""; 2]);
    let mut c = ctx("GET", "/free", &[]);
    run(&*f, &mut c).await;
    assert!(c.response().is_none(), "passing requests get no response");
}

#[tokio::test]
async fn no_methods_means_every_method() {
    let f = limiter("/", &[], 2);
    let mut got = results(&*f, "PUT", "/a", 1).await;
    got.extend(results(&*f, "DELETE", "/b", 2).await);
    assert_eq!(got, vec!["", "", RESULT_RATE_LIMITED]);
}

#[tokio::test]
async fn the_path_is_matched_decoded() {
    let f = build(
        &KIND,
        json!({"policies": [policy("p", 1, "60s", "0s")], "defaultPolicyRef": "p",
               "urls": [{"url": {"exact": "/a b"}}]}),
    )
    .unwrap();
    assert_eq!(
        results(&*f, "GET", "/a%20b", 2).await,
        vec!["", RESULT_RATE_LIMITED]
    );
}

#[tokio::test]
async fn only_the_first_matching_rule_applies_and_each_rule_has_its_own_limiter() {
    let f = build(
        &KIND,
        json!({"policies": [policy("one", 1, "60s", "0s"), policy("many", 100, "60s", "0s")],
               "urls": [
                 {"url": {"prefix": "/api/open"}, "policyRef": "many"},
                 {"url": {"prefix": "/api"}, "policyRef": "one"},
                 {"url": {"prefix": "/other"}, "policyRef": "one"}]}),
    )
    .unwrap();
    // /api/open matches both the first and second rule: only the first (100) counts.
    assert_eq!(results(&*f, "GET", "/api/open", 5).await, vec![""; 5]);
    assert_eq!(
        results(&*f, "GET", "/api/x", 2).await,
        vec!["", RESULT_RATE_LIMITED]
    );
    // Same policy, other rule: a limiter of its own.
    assert_eq!(
        results(&*f, "GET", "/other", 2).await,
        vec!["", RESULT_RATE_LIMITED]
    );
}

#[tokio::test]
async fn a_request_waits_for_a_permit_of_a_coming_cycle_within_the_timeout() {
    // 1 per 300ms, wait up to 2s. Of three requests in a row the first passes at once;
    // the others cannot both find a fresh cycle (that would take 600ms between them), so
    // at least one of them waits for a coming cycle, and then passes.
    let f = build(
        &KIND,
        json!({"policies": [policy("p", 1, "300ms", "2s")], "defaultPolicyRef": "p",
               "urls": [{"url": {"prefix": "/"}}]}),
    )
    .unwrap();
    let mut c = ctx("GET", "/", &[]);
    assert!(matches!(f.handle(&mut c), Handled::Done("")));
    let mut waited = 0;
    for _ in 0..2 {
        let mut c = ctx("GET", "/", &[]);
        let pending = match f.handle(&mut c) {
            Handled::Pending(fut) => {
                assert_eq!(fut.await, "");
                true
            }
            Handled::Done(r) => {
                assert_eq!(r, "");
                false
            }
        };
        if pending {
            waited += 1;
            assert!(c
                .tags
                .iter()
                .any(|t| t.text().starts_with("rateLimiter: waiting duration")));
        }
        assert!(c.response().is_none());
    }
    assert!(waited >= 1);
}

#[tokio::test]
async fn rejection_keeps_an_existing_response_and_sets_the_status() {
    let f = limiter("/", &[], 1);
    results(&*f, "GET", "/", 1).await;
    let mut c = ctx("GET", "/", &[]);
    let mut existing = HttpResponse::with_body(StatusCode::OK, "kept");
    existing.headers.insert("x-old", "1".parse().unwrap());
    c.set_response(existing);
    assert_eq!(run(&*f, &mut c).await, RESULT_RATE_LIMITED);
    let resp = c.response().unwrap();
    assert_eq!(resp.status, 429);
    assert_eq!(resp.headers["x-old"], "1");
    assert_eq!(resp.headers["x-eg-rate-limiter"], "too-many-requests");
}

#[tokio::test]
async fn defaults_apply_when_fields_are_omitted() {
    // Default policy: 50 per 10ms with a 100ms timeout, so a burst of 50 passes at once.
    let f = build(
        &KIND,
        json!({"policies": [{"name": "p"}], "defaultPolicyRef": "p",
               "urls": [{"url": {"prefix": "/"}}]}),
    )
    .unwrap();
    for _ in 0..50 {
        let mut c = ctx("GET", "/", &[]);
        assert!(matches!(f.handle(&mut c), Handled::Done("")));
    }
    let rl = f.as_any().downcast_ref::<RateLimiter>().unwrap();
    let p = *rl.rules[0].limiter().policy();
    assert_eq!(
        p,
        LimiterPolicy {
            timeout: std::time::Duration::from_millis(100),
            period: std::time::Duration::from_millis(10),
            limit: 50
        }
    );
}

fn inherit(prev: &dyn Filter, next: Value) -> Box<dyn Filter> {
    let f = build(&KIND, next).unwrap();
    f.init(Some(prev));
    f
}

fn spec(limit: u64, prefix: &str) -> Value {
    json!({"policies": [policy("p", limit, "60s", "0s")], "defaultPolicyRef": "p",
           "urls": [{"url": {"prefix": prefix}}]})
}

#[tokio::test]
async fn unchanged_rules_keep_their_limiter_across_generations() {
    let gen1 = build(&KIND, spec(1, "/a")).unwrap();
    gen1.init(None);
    results(&*gen1, "GET", "/a", 1).await;
    // Same rule and policy: the permit is still used.
    let gen2 = inherit(&*gen1, spec(1, "/a"));
    assert_eq!(
        results(&*gen2, "GET", "/a", 1).await,
        vec![RESULT_RATE_LIMITED]
    );
    // Changed policy: a fresh limiter.
    let gen3 = inherit(&*gen2, spec(2, "/a"));
    assert_eq!(results(&*gen3, "GET", "/a", 2).await, vec!["", ""]);
    // Changed matcher: a fresh limiter too.
    let gen4 = inherit(&*gen3, spec(2, "/b"));
    assert_eq!(results(&*gen4, "GET", "/b", 2).await, vec!["", ""]);
}

#[tokio::test]
async fn a_changed_default_policy_ref_is_a_changed_policy() {
    let two = |default: &str| {
        json!({"policies": [policy("x", 1, "60s", "0s"), policy("y", 1, "60s", "0s")],
               "defaultPolicyRef": default, "urls": [{"url": {"prefix": "/"}}]})
    };
    let gen1 = build(&KIND, two("x")).unwrap();
    results(&*gen1, "GET", "/", 1).await;
    let gen2 = inherit(&*gen1, two("y"));
    assert_eq!(results(&*gen2, "GET", "/", 1).await, vec![""]);
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
    let url = json!([{"url": {"prefix": "/"}}]);
    assert_err(json!({"urls": url}), "filters[0].policies", "required");
    assert_err(
        json!({"policies": [policy("p", 1, "1s", "0s")]}),
        "filters[0].urls",
        "required",
    );
    assert_err(
        json!({"policies": [{"limitForPeriod": 1}], "urls": []}),
        "filters[0].policies[0].name",
        "required",
    );
    assert_err(
        json!({"policies": [policy("p", 1, "1s", "0s"), policy("p", 2, "1s", "0s")], "urls": []}),
        "filters[0].policies[1].name",
        "duplicated",
    );
    assert_err(
        json!({"policies": [{"name": "p", "timeoutDuration": "soon"}], "urls": []}),
        "filters[0].policies[0].timeoutDuration",
        "invalid duration",
    );
    assert_err(
        json!({"policies": [{"name": "p", "limitRefreshPeriod": "0s"}], "urls": []}),
        "filters[0].policies[0].limitRefreshPeriod",
        "longer than 0",
    );
    assert_err(
        json!({"policies": [{"name": "p", "limitForPeriod": -1}], "urls": []}),
        "filters[0].policies[0].limitForPeriod",
        "at least 1",
    );
    assert_err(
        json!({"policies": [{"name": "p", "limitForPeriod": "many"}], "urls": []}),
        "filters[0].policies[0].limitForPeriod",
        "",
    );
    assert_err(
        json!({"policies": [{"name": "p"}], "urls": url}),
        "filters[0].defaultPolicyRef",
        "policy \"\" is not defined",
    );
    assert_err(
        json!({"policies": [{"name": "p"}], "urls": [{"url": {"prefix": "/"}, "policyRef": "q"}]}),
        "filters[0].urls[0].policyRef",
        "policy \"q\" is not defined",
    );
    assert_err(
        json!({"policies": [{"name": "p"}], "defaultPolicyRef": "p", "urls": [{"methods": ["GET"]}]}),
        "filters[0].urls[0].url",
        "required",
    );
    assert_err(
        json!({"policies": [{"name": "p"}], "defaultPolicyRef": "p", "urls": [{"url": {}}]}),
        "filters[0].urls[0].url",
        "all patterns are empty",
    );
    assert_err(
        json!({"policies": [{"name": "p"}], "defaultPolicyRef": "p",
               "urls": [{"url": {"regex": "("}}]}),
        "filters[0].urls[0].url.regex",
        "invalid regexp",
    );
    assert_err(
        json!({"policies": [{"name": "p"}], "defaultPolicyRef": "p",
               "urls": [{"url": {"prefix": "/"}, "methods": ["GET", "get"]}]}),
        "filters[0].urls[0].methods[1]",
        "not an HTTP method",
    );
}

#[test]
fn kind_metadata() {
    assert_eq!(KIND.kind, "RateLimiter");
    assert_eq!(KIND.results, &["rateLimited"]);
    assert_eq!((KIND.default_spec)(), json!({}));
}
