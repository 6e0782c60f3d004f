//! `maxRedirection`: upstream redirects followed as Go's client does for Easegress.

use super::*;
use crate::proxy::RESULT_SERVER_ERROR;
use eg_testkit::Seen;

/// An upstream where `/r/<n>` redirects (with `status`) to `/r/<n-1>`, `/r/0` answers 200,
/// `/loop` redirects to itself and `/far` to `far` (another host name for it); every
/// request it sees is kept.
async fn redirecting(status: u16, far: String) -> (Upstream, Arc<Mutex<Vec<Seen>>>) {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let up = Upstream::start(move |s| {
        log.lock().push(s.clone());
        let path = s.target.split('?').next().unwrap_or_default();
        match path {
            "/loop" => Reply::text(status, "again").header("Location", "/loop"),
            "/far" => Reply::text(status, "away").header("Location", &far),
            "/r/0" => Reply::text(200, &format!("landed {} {}", s.method, s.body.len())),
            p => match p.strip_prefix("/r/").and_then(|n| n.parse::<u32>().ok()) {
                // A relative Location, resolved against the current URL.
                Some(n) => Reply::text(status, "moved").header("Location", &format!("{}", n - 1)),
                None => Reply::text(404, "none"),
            },
        }
    })
    .await;
    (up, seen)
}

fn with_max(url: &str, max: i64) -> Proxy {
    proxy(json!({"pools": [{"servers": [{"url": url}]}], "maxRedirection": max}))
}

#[tokio::test]
async fn zero_returns_the_redirect_as_it_is() {
    let (up, seen) = redirecting(302, String::new()).await;
    let p = with_max(&up.url(), 0);
    let mut c = ctx("GET", "/r/2", &[]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(response(&c).status, 302);
    assert_eq!(response(&c).headers["location"], "1");
    assert_eq!(seen.lock().len(), 1);
}

#[tokio::test]
async fn redirects_are_followed_while_fewer_than_n_requests_were_sent() {
    let (up, seen) = redirecting(302, String::new()).await;
    // Three requests in all: the first and two redirects.
    let p = with_max(&up.url(), 3);
    let mut c = ctx("GET", "/r/2?q=1", &[("X-Keep", "k")]);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(response(&c).status, 200);
    assert_eq!(body_text(&mut c).await, "landed GET 0");
    let seen = seen.lock().clone();
    let targets: Vec<&str> = seen.iter().map(|s| s.target.as_str()).collect();
    assert_eq!(targets, ["/r/2?q=1", "/r/1", "/r/0"]);
    assert_eq!(seen[2].headers["x-keep"], "k");
    assert!(seen[2].headers["referer"]
        .to_str()
        .unwrap()
        .ends_with("/r/1"));

    // One more redirect than allowed fails as Go's client does ("stopped after N
    // redirects"): 503 serverError. With 1, no redirect is followed at all.
    for (max, path, requests) in [(2, "/r/2", 2), (1, "/r/1", 1), (4, "/loop", 4)] {
        let (up, seen) = redirecting(301, String::new()).await;
        let p = with_max(&up.url(), max);
        let mut c = ctx("GET", path, &[]);
        assert_eq!(run(&p, &mut c).await, RESULT_SERVER_ERROR, "{max} {path}");
        assert_eq!(response(&c).status, 503);
        assert_eq!(seen.lock().len(), requests, "{max} {path}");
    }
}

#[tokio::test]
async fn see_other_turns_a_post_into_a_get_and_307_resends_it() {
    let (up, seen) = redirecting(303, String::new()).await;
    let p = with_max(&up.url(), 5);
    let mut c = ctx("POST", "/r/1", &[("Content-Type", "text/plain")]);
    c.request_mut().unwrap().body = Body::full("hello");
    run(&p, &mut c).await;
    assert_eq!(body_text(&mut c).await, "landed GET 0");
    assert_eq!(seen.lock()[1].method, Method::GET);

    let (up, seen) = redirecting(307, String::new()).await;
    let p = with_max(&up.url(), 5);
    let mut c = ctx("POST", "/r/1", &[]);
    c.request_mut().unwrap().body = Body::full("hello");
    run(&p, &mut c).await;
    assert_eq!(body_text(&mut c).await, "landed POST 5");
    assert_eq!(seen.lock()[1].body, "hello");

    // A streamed body cannot be sent again: the 307 is the answer.
    let (up, seen) = redirecting(307, String::new()).await;
    let p = with_max(&up.url(), 5);
    let (tx, body) = chan_body();
    tx.send(Ok(Bytes::from_static(b"stream"))).unwrap();
    drop(tx);
    let mut c = ctx("POST", "/r/1", &[]);
    c.request_mut().unwrap().body = body;
    run(&p, &mut c).await;
    assert_eq!(response(&c).status, 307);
    assert_eq!(seen.lock().len(), 1);
}

#[tokio::test]
async fn credentials_do_not_follow_to_another_host() {
    let (target, target_seen) = redirecting(302, String::new()).await;
    // `localhost` is another host name than the first request's 127.0.0.1.
    let far = target.url().replace("127.0.0.1", "localhost") + "/r/0";
    let (up, _) = redirecting(302, far).await;
    let p = with_max(&up.url(), 3);
    let mut c = ctx(
        "GET",
        "/far",
        &[
            ("Authorization", "Basic eDp5"),
            ("Cookie", "a=b"),
            ("X-Other", "o"),
        ],
    );
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(response(&c).status, 200);
    let seen = target_seen.lock().clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].headers.get("authorization").is_none());
    assert!(seen[0].headers.get("cookie").is_none());
    assert_eq!(seen[0].headers["x-other"], "o");
    assert!(seen[0].headers["host"]
        .to_str()
        .unwrap()
        .starts_with("localhost:"));
}
