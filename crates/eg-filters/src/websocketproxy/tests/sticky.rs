//! Sticky sessions: echo servers greet each session with their name, so the first message
//! of a session tells which server the handshake went to.

use http::header::SET_COOKIE;
use tokio_tungstenite::tungstenite::Message;

use super::*;

/// Echo servers named `names`, each greeting new sessions with its name.
async fn named(names: &[&str]) -> Vec<WsEcho> {
    let mut out = Vec::new();
    for n in names {
        let e = WsEcho::start().await;
        *e.state.greeting.lock() = Some((*n).to_string());
        out.push(e);
    }
    out
}

fn urls(echos: &[WsEcho]) -> Vec<String> {
    echos.iter().map(WsEcho::url).collect()
}

fn sticky_spec(urls: &[String], sticky: Value) -> Value {
    let servers: Vec<&str> = urls.iter().map(String::as_str).collect();
    spec(
        &servers,
        json!({"loadBalance": {"policy": "roundRobin", "stickySession": sticky}}),
    )
}

/// Opens a session with `cookie` (when not empty): who greeted it and the `Set-Cookie`
/// values of the `101`.
async fn open(gw: &Gateway, cookie: &str) -> (String, Vec<String>) {
    let headers: Vec<(&str, &str)> = if cookie.is_empty() {
        vec![]
    } else {
        vec![("cookie", cookie)]
    };
    let (mut client, resp) = connect(&gw.url("/ws"), &headers).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    let set = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let who = match next(&mut client).await {
        Message::Text(t) => t.as_str().to_string(),
        other => panic!("no greeting: {other:?}"),
    };
    client.close(None).await.unwrap();
    finish(client).await;
    (who, set)
}

/// The `name=value` part of the `Set-Cookie` for `name`.
fn cookie_named(set: &[String], name: &str) -> Option<String> {
    set.iter()
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .find(|nv| nv.starts_with(&format!("{name}=")))
}

#[tokio::test]
async fn duration_based_sets_the_cookie_on_the_101_and_sticks_to_its_server() {
    let echos = named(&["a", "b", "c"]).await;
    let gw = Gateway::start(sticky_spec(
        &urls(&echos),
        json!({"mode": "DurationBased", "lbCookieName": "WS_LB", "lbCookieExpire": "10m"}),
    ))
    .await;
    let (first, set) = open(&gw, "").await;
    // Proxy's format: name=hex(key||mac); Expires=<HTTP date>, nothing else.
    assert_eq!(set.len(), 1, "{set:?}");
    let (nv, attrs) = set[0].split_once("; ").unwrap();
    assert!(
        nv.starts_with("WS_LB=") && nv.len() == "WS_LB=".len() + 80,
        "{nv}"
    );
    let at = httpdate::parse_http_date(attrs.strip_prefix("Expires=").unwrap()).unwrap();
    let ahead = at.duration_since(std::time::SystemTime::now()).unwrap();
    assert!(ahead > Duration::from_secs(9 * 60) && ahead <= Duration::from_secs(10 * 60));

    let mut cookie = nv.to_string();
    for _ in 0..10 {
        let (who, set) = open(&gw, &format!("theme=dark; {cookie}")).await;
        assert_eq!(who, first);
        cookie = cookie_named(&set, "WS_LB").expect("renewed on every handshake");
    }
    let i = ["a", "b", "c"].iter().position(|n| *n == first).unwrap();
    let greeted: Vec<usize> = echos.iter().map(|e| e.state.paths.lock().len()).collect();
    assert_eq!(greeted[i], 11, "{greeted:?}");
    assert_eq!(greeted.iter().sum::<usize>(), 11, "{greeted:?}");
    // Without the cookie, round robin.
    let mut seen = String::new();
    for _ in 0..3 {
        seen += &open(&gw, "").await.0;
    }
    assert!(
        seen.contains('a') && seen.contains('b') && seen.contains('c'),
        "{seen}"
    );
}

#[tokio::test]
async fn a_cookie_naming_a_removed_server_falls_back_to_the_policy() {
    let echos = named(&["a", "b", "c"]).await;
    let all = urls(&echos);
    let sticky = json!({"mode": "DurationBased"});
    let gw = Gateway::start(sticky_spec(&all[..1], sticky.clone())).await;
    let (who, set) = open(&gw, "").await;
    assert_eq!(who, "a");
    let cookie = cookie_named(&set, "EG_SESSION").unwrap();
    // The next generation no longer lists `a`.
    let gw = Gateway::start(sticky_spec(&all[1..], sticky)).await;
    let (who, set) = open(&gw, &cookie).await;
    assert!(who == "b" || who == "c", "{who}");
    let renewed = cookie_named(&set, "EG_SESSION").unwrap();
    assert_ne!(renewed, cookie);
    // The new cookie sticks to the new server.
    for _ in 0..4 {
        assert_eq!(open(&gw, &renewed).await.0, who);
    }
}

#[tokio::test]
async fn application_based_sets_the_cookie_only_with_the_apps_and_consistent_hash_none() {
    let echos = named(&["a", "b"]).await;
    let gw = Gateway::start(sticky_spec(
        &urls(&echos),
        json!({"mode": "ApplicationBased", "appCookieName": "sid"}),
    ))
    .await;
    let (_, set) = open(&gw, "").await;
    assert!(set.is_empty(), "{set:?}");
    for e in &echos {
        *e.state.answer_header.lock() = Some(("set-cookie".into(), "sid=s1; Path=/".into()));
    }
    let (first, set) = open(&gw, "").await;
    assert_eq!(set.len(), 2, "{set:?}");
    let lb = cookie_named(&set, "EG_SESSION").expect("the balancer's cookie");
    for _ in 0..4 {
        assert_eq!(open(&gw, &lb).await.0, first);
    }

    let gw = Gateway::start(sticky_spec(
        &urls(&echos),
        json!({"mode": "CookieConsistentHash", "appCookieName": "sid"}),
    ))
    .await;
    for e in &echos {
        *e.state.answer_header.lock() = None;
    }
    let mut owners = std::collections::BTreeSet::new();
    // 16 users on two servers: all on one would be a 1 in 32768 chance.
    for user in 0..16 {
        let cookie = format!("sid=user{user}");
        let (first, set) = open(&gw, &cookie).await;
        assert!(set.is_empty(), "{set:?}");
        for _ in 0..2 {
            assert_eq!(open(&gw, &cookie).await.0, first, "{user}");
        }
        owners.insert(first);
    }
    assert_eq!(owners.len(), 2, "{owners:?}");
}

#[tokio::test]
async fn a_cookie_naming_an_unhealthy_server_falls_back_and_returns_when_it_recovers() {
    use std::sync::atomic::Ordering;
    let echos = named(&["a", "b"]).await;
    let mut doc = sticky_spec(&urls(&echos), json!({"mode": "DurationBased"}));
    doc["pools"][0]["healthCheck"] = json!({"interval": "100ms", "ws": {"uri": "/probe"}});
    let gw = Gateway::start(doc).await;
    let healthy = |i: usize| gw.status()["mainPool"]["servers"][i]["healthy"] == true;
    let (first, set) = open(&gw, "").await;
    let cookie = cookie_named(&set, "EG_SESSION").unwrap();
    let (i, other) = if first == "a" { (0, "b") } else { (1, "a") };

    echos[i].state.refuse.store(true, Ordering::SeqCst);
    until("the sticky server to be unhealthy", || async {
        (!healthy(i)).then_some(())
    })
    .await;
    let (who, set) = open(&gw, &cookie).await;
    assert_eq!(who, other);
    assert_ne!(cookie_named(&set, "EG_SESSION").unwrap(), cookie);

    echos[i].state.refuse.store(false, Ordering::SeqCst);
    until("the sticky server to be healthy again", || async {
        healthy(i).then_some(())
    })
    .await;
    assert_eq!(open(&gw, &cookie).await.0, first);
}
