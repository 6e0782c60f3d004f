//! Sticky sessions through the Proxy: three upstreams that answer with their name.

use std::sync::atomic::AtomicBool;

use http::header::SET_COOKIE;

use super::*;

/// An upstream answering its name; `/login` also sets the application cookie `sid`;
/// `/healthz` answers 200 while `up` is true.
async fn named(name: &'static str, up: Arc<AtomicBool>) -> Upstream {
    Upstream::start(move |s| {
        if s.target.starts_with("/healthz") {
            return if up.load(Ordering::SeqCst) {
                Reply::text(200, "ok")
            } else {
                Reply::text(503, "down")
            };
        }
        let r = Reply::text(200, name);
        if s.target.starts_with("/login") {
            r.header("set-cookie", &format!("sid={name}-session; Path=/"))
        } else {
            r
        }
    })
    .await
}

struct Three {
    ups: Vec<Upstream>,
    up: Vec<Arc<AtomicBool>>,
}

impl Three {
    async fn start() -> Three {
        let up: Vec<_> = (0..3).map(|_| Arc::new(AtomicBool::new(true))).collect();
        let ups = vec![
            named("a", up[0].clone()).await,
            named("b", up[1].clone()).await,
            named("c", up[2].clone()).await,
        ];
        Three { ups, up }
    }

    fn urls(&self) -> Vec<String> {
        self.ups.iter().map(Upstream::url).collect()
    }

    fn index_of(&self, name: &str) -> usize {
        ["a", "b", "c"].iter().position(|n| *n == name).unwrap()
    }
}

/// Sends `GET target` with a `Cookie` header (when not empty); returns who answered and the
/// `Set-Cookie` values of the response.
async fn send(p: &Proxy, target: &str, cookie: &str) -> (String, Vec<String>) {
    let headers: Vec<(&str, &str)> = if cookie.is_empty() {
        vec![]
    } else {
        vec![("cookie", cookie)]
    };
    let mut c = ctx("GET", target, &headers);
    assert_eq!(run(p, &mut c).await, "");
    let set: Vec<String> = response(&c)
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    (body_text(&mut c).await, set)
}

/// The `name=value` of the Set-Cookie for `name`, if any.
fn lb_cookie(set: &[String], name: &str) -> Option<String> {
    set.iter()
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .find(|nv| nv.starts_with(&format!("{name}=")))
}

fn sticky_pool(urls: &[String], sticky: Value, extra: Value) -> Value {
    let mut pool = json!({
        "servers": urls.iter().map(|u| json!({"url": u})).collect::<Vec<_>>(),
        "loadBalance": {"policy": "roundRobin", "stickySession": sticky},
    });
    merge(&mut pool, extra);
    json!({"pools": [pool]})
}

#[tokio::test]
async fn duration_based_sticks_for_50_requests_and_renews_its_cookie() {
    let t = Three::start().await;
    let p = proxy(sticky_pool(
        &t.urls(),
        json!({"mode": "DurationBased", "lbCookieExpire": "30m"}),
        json!({}),
    ));
    let (first, set) = send(&p, "/", "").await;
    assert_eq!(set.len(), 1, "{set:?}");
    // Easegress's attributes: the value and Expires, nothing else.
    let (nv, attrs) = set[0].split_once("; ").unwrap();
    assert!(nv.starts_with("EG_SESSION=") && nv.len() == "EG_SESSION=".len() + 80);
    let expires = attrs.strip_prefix("Expires=").expect("only Expires");
    let at = httpdate::parse_http_date(expires).unwrap();
    let ahead = at.duration_since(std::time::SystemTime::now()).unwrap();
    assert!(ahead > Duration::from_secs(29 * 60) && ahead <= Duration::from_secs(30 * 60));

    let mut cookie = format!("theme=dark; {nv}");
    let before: Vec<usize> = t.ups.iter().map(Upstream::hits).collect();
    for _ in 0..50 {
        let (who, set) = send(&p, "/", &cookie).await;
        assert_eq!(who, first);
        cookie = lb_cookie(&set, "EG_SESSION").expect("renewed on every response");
    }
    let i = t.index_of(&first);
    assert_eq!(t.ups[i].hits(), before[i] + 50);
    // Round robin without the cookie.
    let mut seen = String::new();
    for _ in 0..3 {
        seen += &send(&p, "/", "").await.0;
    }
    assert!(
        seen.contains('a') && seen.contains('b') && seen.contains('c'),
        "{seen}"
    );
    // A forged or garbled cookie is ignored (round robin goes on, a new cookie is set).
    let forged = format!("EG_SESSION={}", "ab".repeat(40));
    let (_, set) = send(&p, "/", &forged).await;
    assert!(lb_cookie(&set, "EG_SESSION").is_some_and(|c| c != forged));
}

#[tokio::test]
async fn consistent_hash_sticks_on_the_app_cookie_and_sets_none() {
    let t = Three::start().await;
    let p = proxy(sticky_pool(
        &t.urls(),
        json!({"mode": "CookieConsistentHash", "appCookieName": "sid"}),
        json!({}),
    ));
    let mut owners = std::collections::BTreeSet::new();
    for user in ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"] {
        let cookie = format!("sid={user}");
        let (first, set) = send(&p, "/", &cookie).await;
        assert!(set.is_empty(), "{set:?}");
        for _ in 0..50 {
            assert_eq!(send(&p, "/", &cookie).await.0, first, "{user}");
        }
        owners.insert(first);
    }
    assert!(owners.len() > 1, "{owners:?}");
}

#[tokio::test]
async fn application_based_sets_its_cookie_once_the_app_has_one() {
    let t = Three::start().await;
    let p = proxy(sticky_pool(
        &t.urls(),
        json!({"mode": "ApplicationBased", "appCookieName": "sid", "lbCookieName": "LB"}),
        json!({}),
    ));
    for _ in 0..3 {
        let (_, set) = send(&p, "/", "").await;
        assert!(set.is_empty(), "no app cookie, no LB cookie: {set:?}");
    }
    let (who, set) = send(&p, "/login", "").await;
    assert!(set
        .iter()
        .any(|c| c.starts_with(&format!("sid={who}-session"))));
    let lb = lb_cookie(&set, "LB").expect("LB cookie with the app cookie");
    let cookie = format!("sid={who}-session; {lb}");
    for _ in 0..50 {
        let (got, set) = send(&p, "/", &cookie).await;
        assert_eq!(got, who);
        assert!(lb_cookie(&set, "LB").is_none());
    }
}

#[tokio::test]
async fn a_sticky_server_that_fails_its_health_check_hands_over_and_reissues() {
    let t = Three::start().await;
    let p = proxy(sticky_pool(
        &t.urls(),
        json!({"mode": "DurationBased"}),
        json!({"healthCheck": {"interval": "20ms", "uri": "/healthz"}}),
    ));
    let (first, set) = send(&p, "/", "").await;
    let cookie = lb_cookie(&set, "EG_SESSION").unwrap();
    let i = t.index_of(&first);
    t.up[i].store(false, Ordering::SeqCst);
    wait_until("sticky server unhealthy", || !p.main.is_healthy(i)).await;
    let (second, set) = send(&p, "/", &cookie).await;
    assert_ne!(second, first);
    let cookie = lb_cookie(&set, "EG_SESSION").expect("re-issued");
    for _ in 0..20 {
        assert_eq!(send(&p, "/", &cookie).await.0, second);
    }
    // Back healthy: the new cookie still names the new server.
    t.up[i].store(true, Ordering::SeqCst);
    wait_until("healthy again", || p.main.is_healthy(i)).await;
    assert_eq!(send(&p, "/", &cookie).await.0, second);
    p.close();
}

#[tokio::test]
async fn a_removed_server_hands_over_after_a_config_update() {
    let t = Three::start().await;
    let urls = t.urls();
    for sticky in [
        json!({"mode": "DurationBased"}),
        json!({"mode": "CookieConsistentHash", "appCookieName": "sid"}),
    ] {
        let old = proxy(sticky_pool(&urls, sticky.clone(), json!({})));
        // Find a session stuck to some server, then drop that server from the spec.
        let (first, cookie) = if sticky["mode"] == "DurationBased" {
            let (who, set) = send(&old, "/", "").await;
            (who, lb_cookie(&set, "EG_SESSION").unwrap())
        } else {
            let c = "sid=someone".to_string();
            (send(&old, "/", &c).await.0, c)
        };
        let i = t.index_of(&first);
        let rest: Vec<String> = urls
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, u)| u.clone())
            .collect();
        let new = try_build(sticky_pool(&rest, sticky.clone(), json!({}))).unwrap();
        new.init(Some(&old as &dyn Filter));
        let (now, set) = send(&new, "/", &cookie).await;
        assert_ne!(now, first, "{sticky}");
        let cookie = if sticky["mode"] == "DurationBased" {
            lb_cookie(&set, "EG_SESSION").expect("re-issued")
        } else {
            cookie
        };
        for _ in 0..10 {
            assert_eq!(send(&new, "/", &cookie).await.0, now, "{sticky}");
        }
    }
}

#[test]
fn bad_sticky_specs_name_the_field() {
    let u = "http://127.0.0.1:9".to_string();
    let path = "filters[0].pools[0].loadBalance.stickySession";
    let bad =
        |sticky: Value| try_build(sticky_pool(std::slice::from_ref(&u), sticky, json!({}))).err();
    let cases = [
        (json!({}), "mode", "required"),
        (json!({"mode": "cookie"}), "mode", "CookieConsistentHash"),
        (
            json!({"mode": "CookieConsistentHash"}),
            "appCookieName",
            "needs",
        ),
        (
            json!({"mode": "ApplicationBased"}),
            "appCookieName",
            "needs",
        ),
        (
            json!({"mode": "DurationBased", "lbCookieName": "a=b"}),
            "lbCookieName",
            "cookie name",
        ),
        (
            json!({"mode": "DurationBased", "lbCookieExpire": "2 hours"}),
            "lbCookieExpire",
            "",
        ),
        (json!({"mode": 3}), "mode", "invalid type"),
    ];
    for (sticky, field, words) in cases {
        let e = bad(sticky.clone()).unwrap_or_else(|| panic!("accepted {sticky}"));
        assert_eq!(e.path, format!("{path}.{field}"), "{sticky}: {e}");
        assert!(e.message.contains(words), "{sticky}: {e}");
    }
}
