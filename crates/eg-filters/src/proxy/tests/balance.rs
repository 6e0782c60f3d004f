//! Load balancing and pool selection.

use super::*;
use eg_upstream::balance::fnv32;

async fn three() -> (Upstream, Upstream, Upstream) {
    (
        Upstream::named("a").await,
        Upstream::named("b").await,
        Upstream::named("c").await,
    )
}

async fn served_by(p: &Proxy, mut c: Context) -> String {
    assert_eq!(run(p, &mut c).await, "");
    body_text(&mut c).await
}

#[tokio::test]
async fn round_robin_goes_in_order() {
    let (a, b, c) = three().await;
    let p = simple(&[a.url(), b.url(), c.url()], json!({}));
    let mut order = String::new();
    for _ in 0..6 {
        order += &served_by(&p, ctx("GET", "/", &[])).await;
    }
    assert_eq!(order, "abcabc");
}

#[tokio::test]
async fn ip_hash_is_sticky_and_uses_fnv32_of_the_ip() {
    let (a, b, c) = three().await;
    let p = simple(
        &[a.url(), b.url(), c.url()],
        json!({"loadBalance": {"policy": "ipHash"}}),
    );
    for ip in ["10.0.0.1", "192.168.7.9", "2001:db8::1"] {
        let expected = ["a", "b", "c"][(fnv32(ip.as_bytes()) % 3) as usize];
        for _ in 0..5 {
            assert_eq!(served_by(&p, ctx_from("GET", "/", &[], ip)).await, expected);
        }
    }
}

#[tokio::test]
async fn header_hash_and_cookie_hash_are_sticky() {
    let (a, b, c) = three().await;
    let urls = [a.url(), b.url(), c.url()];
    let p = simple(
        &urls,
        json!({"loadBalance": {"policy": "headerHash", "headerHashKey": "X-User"}}),
    );
    for user in ["alice", "bob", "carol", "dave"] {
        let expected = ["a", "b", "c"][(fnv32(user.as_bytes()) % 3) as usize];
        for _ in 0..3 {
            let got = served_by(&p, ctx("GET", "/", &[("x-user", user)])).await;
            assert_eq!(got, expected, "user {user}");
        }
    }
    // A missing header hashes "".
    let expected = ["a", "b", "c"][(fnv32(b"") % 3) as usize];
    assert_eq!(served_by(&p, ctx("GET", "/", &[])).await, expected);

    let p = simple(&urls, json!({"loadBalance": {"policy": "cookieHash"}}));
    let expected = ["a", "b", "c"][(fnv32(b"sid=42") % 3) as usize];
    for _ in 0..3 {
        assert_eq!(
            served_by(&p, ctx("GET", "/", &[("cookie", "sid=42")])).await,
            expected
        );
    }
}

#[tokio::test]
async fn weighted_random_follows_weights_loosely() {
    let (a, b, _c) = three().await;
    let p = proxy(json!({"pools": [{
        "loadBalance": {"policy": "weightedRandom"},
        "servers": [{"url": a.url(), "weight": 90}, {"url": b.url(), "weight": 10}],
    }]}));
    for _ in 0..200 {
        served_by(&p, ctx("GET", "/", &[])).await;
    }
    assert!(a.hits() > 140, "a={} b={}", a.hits(), b.hits());
    assert!(b.hits() > 0, "a={} b={}", a.hits(), b.hits());
}

#[tokio::test]
async fn random_reaches_every_server() {
    let (a, b, c) = three().await;
    let p = simple(
        &[a.url(), b.url(), c.url()],
        json!({"loadBalance": {"policy": "random"}}),
    );
    for _ in 0..90 {
        served_by(&p, ctx("GET", "/", &[])).await;
    }
    assert!(a.hits() > 0 && b.hits() > 0 && c.hits() > 0);
}

#[tokio::test]
async fn server_tags_select_servers() {
    let (a, b, _c) = three().await;
    let p = proxy(json!({"pools": [{
        "serverTags": ["green"],
        "servers": [{"url": a.url(), "tags": ["blue"]}, {"url": b.url(), "tags": ["green", "x"]}],
    }]}));
    for _ in 0..3 {
        assert_eq!(served_by(&p, ctx("GET", "/", &[])).await, "b");
    }
}

#[tokio::test]
async fn candidate_pools_match_in_order() {
    let (a, b, c) = three().await;
    let p = proxy(json!({"pools": [
        {"servers": [{"url": a.url()}]},
        {"servers": [{"url": b.url()}], "filter": {"headers": {"X-Canary": {"exact": "yes"}}}},
        {"servers": [{"url": c.url()}], "filter": {
            "headers": {"X-Canary": {"exact": "yes"}, "X-Beta": {"prefix": "on"}},
            "urls": [{"methods": ["GET"], "url": {"prefix": "/api"}}],
        }},
    ]}));
    assert_eq!(served_by(&p, ctx("GET", "/", &[])).await, "a");
    assert_eq!(
        served_by(&p, ctx("GET", "/", &[("x-canary", "yes")])).await,
        "b"
    );
    assert_eq!(
        served_by(&p, ctx("GET", "/api/x", &[("x-beta", "on1")])).await,
        "c"
    );
    // The urls rule is ANDed with the headers: wrong method falls back to main.
    assert_eq!(
        served_by(&p, ctx("POST", "/api/x", &[("x-beta", "on1")])).await,
        "a"
    );
}

#[tokio::test]
async fn general_matcher_all_headers_and_empty() {
    let (a, b, _c) = three().await;
    let p = proxy(json!({"pools": [
        {"servers": [{"url": a.url()}]},
        {"servers": [{"url": b.url()}], "filter": {
            "matchAllHeaders": true,
            "headers": {"X-A": {"exact": "1"}, "X-Missing": {"empty": true}},
        }},
    ]}));
    assert_eq!(served_by(&p, ctx("GET", "/", &[("x-a", "1")])).await, "b");
    assert_eq!(
        served_by(&p, ctx("GET", "/", &[("x-a", "1"), ("x-missing", "v")])).await,
        "a"
    );
    assert_eq!(served_by(&p, ctx("GET", "/", &[])).await, "a");
}

#[tokio::test]
async fn permil_matchers() {
    let (a, b, _c) = three().await;
    let urls = |policy: Value| {
        json!({"pools": [
            {"servers": [{"url": a.url()}]},
            {"servers": [{"url": b.url()}], "filter": policy},
        ]})
    };
    let p = proxy(urls(json!({"policy": "random", "permil": 1000})));
    assert_eq!(served_by(&p, ctx("GET", "/", &[])).await, "b");

    let p = proxy(urls(
        json!({"policy": "headerHash", "headerHashKey": "X-U", "permil": 500}),
    ));
    for u in ["u1", "u2", "u3", "u4", "u5"] {
        let expected = if fnv32(u.as_bytes()) % 1000 < 500 {
            "b"
        } else {
            "a"
        };
        assert_eq!(
            served_by(&p, ctx("GET", "/", &[("x-u", u)])).await,
            expected
        );
    }

    let p = proxy(urls(json!({"policy": "ipHash", "permil": 300})));
    for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3"] {
        let expected = if fnv32(ip.as_bytes()) % 1000 < 300 {
            "b"
        } else {
            "a"
        };
        assert_eq!(served_by(&p, ctx_from("GET", "/", &[], ip)).await, expected);
    }
}
