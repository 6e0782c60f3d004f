//! GRPCProxy sticky sessions: three labelled services; the `x-upstream` answer header says
//! which one took the call.

use eg_testkit::{GrpcClient, GrpcReply, GrpcUpstream};
use serde_json::json;

use super::*;

const UNARY: &str = "/test.Echo/Unary";

async fn three() -> Vec<GrpcUpstream> {
    vec![
        GrpcUpstream::start("a").await,
        GrpcUpstream::start("b").await,
        GrpcUpstream::start("c").await,
    ]
}

/// A gateway (its own supervisor) whose GRPCProxy pool has `ups` and `sticky`.
async fn gateway(ups: &[&GrpcUpstream], sticky: Value) -> (Supervisor, GrpcClient) {
    let servers: Vec<Value> = ups
        .iter()
        .map(|u| json!({"url": format!("http://{}", u.addr)}))
        .collect();
    let sup = supervisor();
    apply(
        &sup,
        json!({"name": "p", "kind": "Pipeline", "filters": [{"name": "proxy", "kind": "GRPCProxy",
            "pools": [{"servers": servers,
                       "loadBalance": {"policy": "roundRobin", "stickySession": sticky}}]}]}),
    );
    let p = port();
    start(
        &sup,
        server("g", p, json!({"rules": [{"methods": [{"backend": "p"}]}]})),
    )
    .await;
    (sup, GrpcClient::connect(addr(p)).await)
}

fn who(r: &GrpcReply) -> String {
    assert_eq!(r.status(), Some(0), "{r:?}");
    r.headers["x-upstream"].to_str().unwrap().to_string()
}

fn set_cookies(r: &GrpcReply) -> Vec<String> {
    r.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The `name=value` part of the `set-cookie` for `name`.
fn cookie_named(r: &GrpcReply, name: &str) -> Option<String> {
    set_cookies(r)
        .iter()
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .find(|nv| nv.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn duration_based_sets_the_cookie_and_calls_with_it_stick() {
    let ups = three().await;
    let (_sup, c) = gateway(
        &[&ups[0], &ups[1], &ups[2]],
        json!({"mode": "DurationBased", "lbCookieExpire": "5m"}),
    )
    .await;
    let r = c.unary(UNARY, &[], "m").await;
    let first = who(&r);
    // Proxy's format: EG_SESSION=hex(key||mac); Expires=<HTTP date>, nothing else.
    let set = set_cookies(&r);
    assert_eq!(set.len(), 1, "{set:?}");
    let (nv, attrs) = set[0].split_once("; ").unwrap();
    assert!(
        nv.starts_with("EG_SESSION=") && nv.len() == "EG_SESSION=".len() + 80,
        "{nv}"
    );
    let at = httpdate::parse_http_date(attrs.strip_prefix("Expires=").unwrap()).unwrap();
    let ahead = at.duration_since(std::time::SystemTime::now()).unwrap();
    assert!(ahead > Duration::from_secs(4 * 60) && ahead <= Duration::from_secs(5 * 60));

    let mut cookie = nv.to_string();
    for _ in 0..20 {
        let r = c.unary(UNARY, &[("cookie", &cookie)], "m").await;
        assert_eq!(who(&r), first);
        cookie = cookie_named(&r, "EG_SESSION").expect("renewed on every answer");
    }
    let calls: Vec<usize> = ups.iter().map(GrpcUpstream::calls).collect();
    assert_eq!(calls.iter().sum::<usize>(), 21, "{calls:?}");
    assert!(calls.contains(&21), "{calls:?}");
    // Without the cookie: round robin over all three.
    let mut seen = String::new();
    for _ in 0..3 {
        seen += &who(&c.unary(UNARY, &[], "m").await);
    }
    assert!(
        seen.contains('a') && seen.contains('b') && seen.contains('c'),
        "{seen}"
    );
}

#[tokio::test]
async fn a_cookie_naming_a_removed_server_falls_back_to_the_policy() {
    let ups = three().await;
    let sticky = json!({"mode": "DurationBased"});
    let (_sup, c) = gateway(&[&ups[0]], sticky.clone()).await;
    let r = c.unary(UNARY, &[], "m").await;
    assert_eq!(who(&r), "a");
    let cookie = cookie_named(&r, "EG_SESSION").unwrap();

    let (_sup2, c) = gateway(&[&ups[1], &ups[2]], sticky).await;
    let r = c.unary(UNARY, &[("cookie", &cookie)], "m").await;
    let now = who(&r);
    assert!(now == "b" || now == "c", "{now}");
    assert_eq!(ups[0].calls(), 1);
    let renewed = cookie_named(&r, "EG_SESSION").unwrap();
    assert_ne!(renewed, cookie);
    for _ in 0..4 {
        assert_eq!(
            who(&c.unary(UNARY, &[("cookie", &renewed)], "m").await),
            now
        );
    }
}

#[tokio::test]
async fn application_based_and_consistent_hash() {
    let ups = three().await;
    let (_sup, c) = gateway(
        &[&ups[0], &ups[1], &ups[2]],
        json!({"mode": "ApplicationBased", "appCookieName": "sid"}),
    )
    .await;
    // No application cookie in the answer: no balancer cookie either.
    let r = c.unary(UNARY, &[], "m").await;
    assert!(set_cookies(&r).is_empty(), "{r:?}");
    let r = c
        .unary(UNARY, &[("x-reply-set-cookie", "sid=s1; Path=/")], "m")
        .await;
    let first = who(&r);
    assert_eq!(set_cookies(&r).len(), 2, "{r:?}");
    let lb = cookie_named(&r, "EG_SESSION").expect("the balancer's cookie");
    for _ in 0..6 {
        assert_eq!(who(&c.unary(UNARY, &[("cookie", &lb)], "m").await), first);
    }

    let (_sup2, c) = gateway(
        &[&ups[0], &ups[1], &ups[2]],
        json!({"mode": "CookieConsistentHash", "appCookieName": "sid"}),
    )
    .await;
    let mut owners = std::collections::BTreeSet::new();
    // 16 users on three servers: all on one would be a 1 in 3^15 chance.
    for user in 0..16 {
        let cookie = format!("other=1; sid=user{user}");
        let r = c.unary(UNARY, &[("cookie", &cookie)], "m").await;
        assert!(set_cookies(&r).is_empty(), "{r:?}");
        let first = who(&r);
        for _ in 0..3 {
            let r = c.unary(UNARY, &[("cookie", &cookie)], "m").await;
            assert_eq!(who(&r), first, "user{user}");
        }
        owners.insert(first);
    }
    assert!(owners.len() > 1, "{owners:?}");
}
