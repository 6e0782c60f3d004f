//! `memoryCache`: hits answered without the upstream, and the rules of what is stored.

use std::sync::atomic::AtomicUsize as Counter;

use super::*;

/// An upstream numbering its answers (`n=<k> <target>`); the path picks the answer:
/// `/status/<code>`, `/cc/<cache-control>`, `/acao/<origin>`, `/big`.
async fn numbered() -> Upstream {
    let n = Arc::new(Counter::new(0));
    Upstream::start(move |s| {
        let k = n.fetch_add(1, Ordering::SeqCst) + 1;
        let body = format!("n={k} {}", s.target);
        let path = s.target.split('?').next().unwrap_or("").to_string();
        let mut r = if let Some(code) = path.strip_prefix("/status/") {
            Reply::text(code.parse().unwrap_or(500), &body)
        } else if path == "/big" {
            Reply::text(200, &"x".repeat(2000))
        } else {
            Reply::text(200, &body)
        };
        r = r
            .header("x-kind", "numbered")
            .header("x-multi", "1")
            .header("x-multi", "2");
        if let Some(cc) = path.strip_prefix("/cc/") {
            r = r.header("cache-control", cc);
        }
        if let Some(o) = path.strip_prefix("/acao/") {
            r = r.header("access-control-allow-origin", &o.replace('_', "/"));
        }
        r
    })
    .await
}

fn cached(u: &Upstream, cache: Value) -> Proxy {
    simple(&[u.url()], json!({"memoryCache": cache}))
}

fn std_cache() -> Value {
    json!({"expiration": "1h", "maxEntryBytes": 1000, "codes": [200, 503],
        "methods": ["GET", "HEAD"]})
}

/// Status, headers and body of `method target`.
async fn get(p: &Proxy, method: &str, target: &str, headers: &[(&str, &str)]) -> Seen3 {
    let mut c = ctx(method, target, headers);
    let result = run(p, &mut c).await;
    let r = response(&c);
    let (status, h) = (r.status.as_u16(), r.headers.clone());
    Seen3 {
        result,
        status,
        headers: h,
        body: body_text(&mut c).await,
    }
}

#[derive(Debug, PartialEq)]
struct Seen3 {
    result: &'static str,
    status: u16,
    headers: HeaderMap,
    body: String,
}

#[tokio::test]
async fn a_hit_is_the_stored_response_and_leaves_the_upstream_alone() {
    let u = numbered().await;
    let p = cached(&u, std_cache());
    let first = get(&p, "GET", "/a", &[]).await;
    assert_eq!(first.body, "n=1 /a");
    assert_eq!(first.headers["content-length"], "6");
    for _ in 0..5 {
        assert_eq!(get(&p, "GET", "/a", &[]).await, first);
    }
    assert_eq!(u.hits(), 1);
    // The key is scheme, host, path and method: the query is not part of it.
    assert_eq!(get(&p, "GET", "/a?x=2", &[]).await.body, "n=1 /a");
    assert_eq!(get(&p, "GET", "/b", &[]).await.body, "n=2 /b");
    assert_eq!(
        get(&p, "GET", "/a", &[("host", "other")]).await.body,
        "n=3 /a"
    );
    assert_eq!(
        get(&p, "GET", "/a", &[("x-forwarded-proto", "https")])
            .await
            .body,
        "n=4 /a"
    );
    // HEAD is its own entry, framed for HEAD.
    let head = get(&p, "HEAD", "/a", &[]).await;
    assert_eq!((head.body.as_str(), head.status), ("", 200));
    assert_eq!(get(&p, "HEAD", "/a", &[]).await, head);
    assert_eq!(u.hits(), 5);
}

#[tokio::test]
async fn only_listed_methods_and_codes_are_cached() {
    let u = numbered().await;
    let p = cached(&u, std_cache());
    for _ in 0..2 {
        assert_eq!(get(&p, "POST", "/a", &[]).await.status, 200);
        assert_eq!(get(&p, "GET", "/status/404", &[]).await.status, 404);
    }
    assert_eq!(u.hits(), 4);
    // A listed failure code is stored and still reported as one.
    let first = get(&p, "GET", "/status/503", &[]).await;
    assert_eq!((first.status, first.result), (503, "failureCode"));
    assert_eq!(get(&p, "GET", "/status/503", &[]).await, first);
    assert_eq!(u.hits(), 5);
}

#[tokio::test]
async fn cache_control_and_cors_rules_both_ways() {
    let u = numbered().await;
    let p = cached(&u, std_cache());
    // Request no-cache: neither served nor stored; no-store: not stored.
    get(&p, "GET", "/r", &[("cache-control", "no-cache")]).await;
    get(&p, "GET", "/r", &[("cache-control", "no-store")]).await;
    assert_eq!(get(&p, "GET", "/r", &[]).await.body, "n=3 /r");
    assert_eq!(
        get(&p, "GET", "/r", &[("cache-control", "no-store")])
            .await
            .body,
        "n=3 /r"
    );
    assert_eq!(
        get(&p, "GET", "/r", &[("cache-control", "max-age=0, no-cache")])
            .await
            .body,
        "n=4 /r"
    );
    // Responses saying no-store, no-cache or must-revalidate are not stored.
    for cc in ["no-store", "private,no-cache", "must-revalidate"] {
        let t = format!("/cc/{cc}");
        get(&p, "GET", &t, &[]).await;
        get(&p, "GET", &t, &[]).await;
    }
    assert_eq!(u.hits(), 10);
    // One allowed origin: not stored; `*`: stored.
    get(&p, "GET", "/acao/https:__a.example", &[]).await;
    get(&p, "GET", "/acao/https:__a.example", &[]).await;
    assert_eq!(u.hits(), 12);
    get(&p, "GET", "/acao/*", &[]).await;
    let hit = get(&p, "GET", "/acao/*", &[("origin", "https://b.example")]).await;
    assert_eq!(hit.headers["access-control-allow-origin"], "*");
    // Not a CORS request: the entry's CORS headers are left out.
    let plain = get(&p, "GET", "/acao/*", &[]).await;
    assert!(plain.headers.get("access-control-allow-origin").is_none());
    assert_eq!(u.hits(), 13);
    // A CORS request the entry has no CORS headers for goes to the upstream.
    get(&p, "GET", "/cors-less", &[]).await;
    get(&p, "GET", "/cors-less", &[("origin", "https://b.example")]).await;
    assert_eq!(u.hits(), 15);
}

#[tokio::test]
async fn large_and_streamed_bodies_are_not_stored() {
    let u = numbered().await;
    let p = cached(&u, std_cache());
    get(&p, "GET", "/big", &[]).await;
    get(&p, "GET", "/big", &[]).await;
    assert_eq!(u.hits(), 2);
    let s = simple(
        &[u.url()],
        json!({"memoryCache": std_cache(), "serverMaxBodySize": -1}),
    );
    get(&s, "GET", "/s", &[]).await;
    get(&s, "GET", "/s", &[]).await;
    assert_eq!(u.hits(), 4);
}

#[tokio::test]
async fn entries_expire() {
    let u = numbered().await;
    let mut spec = std_cache();
    spec["expiration"] = json!("20ms");
    let p = cached(&u, spec);
    assert_eq!(get(&p, "GET", "/e", &[]).await.body, "n=1 /e");
    // Served from the cache until it expires, then fetched again.
    let mut last = String::new();
    for _ in 0..1000 {
        last = get(&p, "GET", "/e", &[]).await.body;
        if last != "n=1 /e" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(last, "n=2 /e");
}

#[tokio::test]
async fn memory_is_bounded_by_max_total_bytes_oldest_first() {
    let u = numbered().await;
    let mut spec = std_cache();
    spec["maxTotalBytes"] = json!(1200);
    let p = cached(&u, spec);
    for i in 0..20 {
        get(&p, "GET", &format!("/k{i}"), &[]).await;
    }
    let (entries, bytes) = p.main.cache.as_ref().unwrap().usage();
    assert!(
        bytes <= 1200 && entries > 0 && entries < 20,
        "{entries} {bytes}"
    );
    // The newest is there, the oldest was evicted.
    get(&p, "GET", "/k19", &[]).await;
    assert_eq!(u.hits(), 20);
    get(&p, "GET", "/k0", &[]).await;
    assert_eq!(u.hits(), 21);
}

#[tokio::test]
async fn concurrent_misses_all_get_answers_and_one_entry_stays() {
    let u = numbered().await;
    let p = Arc::new(cached(&u, std_cache()));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let p = p.clone();
        tasks.push(tokio::spawn(async move { get(&p, "GET", "/c", &[]).await }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body.ends_with(" /c"), "{}", r.body);
    }
    let misses = u.hits();
    get(&p, "GET", "/c", &[]).await;
    assert_eq!(u.hits(), misses);
    assert_eq!(p.main.cache.as_ref().unwrap().usage().0, 1);
}

#[tokio::test]
async fn compression_applies_per_client_to_what_is_stored() {
    let u = Upstream::start(|_| Reply::text(200, &"compressible ".repeat(50))).await;
    let p = proxy(json!({
        "pools": [{"servers": [{"url": u.url()}], "memoryCache": std_cache()}],
        "compression": {"minLength": 10},
    }));
    let zipped = get(&p, "GET", "/z", &[("accept-encoding", "gzip")]).await;
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    let plain = get(&p, "GET", "/z", &[("accept-encoding", "identity")]).await;
    assert!(plain.headers.get("content-encoding").is_none());
    assert_eq!(plain.body, "compressible ".repeat(50));
    assert_eq!(plain.headers["content-length"], "650");
    let again = get(&p, "GET", "/z", &[("accept-encoding", "gzip")]).await;
    assert_eq!(again.headers["content-encoding"], "gzip");
    assert_eq!(again.body, zipped.body);
    assert_eq!(u.hits(), 1);
}

#[test]
fn bad_cache_specs_name_the_field() {
    let u = "http://127.0.0.1:9";
    let path = "filters[0].pools[0].memoryCache";
    let cases = [
        (json!({"expiration": null}), "expiration", "required"),
        (json!({"expiration": "soon"}), "expiration", ""),
        (json!({"maxEntryBytes": 0}), "maxEntryBytes", "required"),
        (json!({"maxEntryBytes": -5}), "maxEntryBytes", "required"),
        (json!({"codes": []}), "codes", "at least one"),
        (json!({"codes": [200, 99]}), "codes[1]", "status code"),
        (json!({"codes": [200, 200]}), "codes[1]", "twice"),
        (json!({"methods": []}), "methods", "at least one"),
        (json!({"methods": ["get"]}), "methods[0]", "HTTP method"),
        (json!({"methods": ["GET", "GET"]}), "methods[1]", "twice"),
        (
            json!({"maxTotalBytes": 10}),
            "maxTotalBytes",
            "maxEntryBytes",
        ),
    ];
    for (change, field, words) in cases {
        let mut cache = std_cache();
        merge(&mut cache, change.clone());
        if cache["expiration"].is_null() {
            cache.as_object_mut().unwrap().remove("expiration");
        }
        let e = match try_build(json!({"pools": [{"servers": [{"url": u}], "memoryCache": cache}]}))
        {
            Ok(_) => panic!("accepted {change}"),
            Err(e) => e,
        };
        assert_eq!(e.path, format!("{path}.{field}"), "{change}: {e}");
        assert!(e.message.contains(words), "{change}: {e}");
    }
}
