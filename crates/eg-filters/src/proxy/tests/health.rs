//! Active health checks.

use std::sync::atomic::AtomicBool;

use super::*;

/// An upstream named `name` whose `/healthz` answers 200 while `up` is true, else 503.
async fn checked(name: &'static str, up: Arc<AtomicBool>) -> Upstream {
    Upstream::start(move |s| {
        if s.target.starts_with("/healthz") {
            if up.load(Ordering::SeqCst) {
                Reply::text(200, "healthy").header("x-health", "green")
            } else {
                Reply::text(503, "sick")
            }
        } else {
            Reply::text(200, name)
        }
    })
    .await
}

fn healthy(p: &Proxy, i: usize) -> bool {
    p.main.is_healthy(i)
}

#[tokio::test]
async fn failing_servers_leave_and_come_back() {
    let b_up = Arc::new(AtomicBool::new(false));
    let a = checked("a", Arc::new(AtomicBool::new(true))).await;
    let b = checked("b", b_up.clone()).await;
    let p = simple(
        &[a.url(), b.url()],
        json!({"healthCheck": {"interval": "20ms", "timeout": "1s", "uri": "/healthz",
            "fails": 2, "passes": 2}}),
    );
    wait_until("b unhealthy", || !healthy(&p, 1)).await;
    assert!(healthy(&p, 0));
    for _ in 0..4 {
        let mut c = ctx("GET", "/", &[]);
        run(&p, &mut c).await;
        assert_eq!(body_text(&mut c).await, "a");
    }
    assert_eq!(p.status()["mainPool"]["servers"][1]["healthy"], false);

    b_up.store(true, Ordering::SeqCst);
    wait_until("b healthy again", || healthy(&p, 1)).await;
    let mut seen = String::new();
    for _ in 0..2 {
        let mut c = ctx("GET", "/", &[]);
        run(&p, &mut c).await;
        seen += &body_text(&mut c).await;
    }
    assert!(seen.contains('b'), "{seen}");
    p.close();
}

#[tokio::test]
async fn no_healthy_server_is_503_internal_error() {
    let a = checked("a", Arc::new(AtomicBool::new(false))).await;
    // Legacy place and field names: loadBalance.healthCheck with path.
    let p = simple(
        &[a.url()],
        json!({"loadBalance": {"healthCheck": {"interval": "20ms", "path": "/healthz"}}}),
    );
    wait_until("a unhealthy", || !healthy(&p, 0)).await;
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&p, &mut c).await, "internalError");
    assert_eq!(response(&c).status, 503);
    p.close();
}

#[tokio::test]
async fn match_rules_status_headers_body() {
    let a = checked("a", Arc::new(AtomicBool::new(true))).await;
    let build = |m: Value| {
        simple(
            &[a.url()],
            json!({"healthCheck": {"interval": "20ms", "uri": "/healthz", "match": m}}),
        )
    };
    // Every rule satisfied: stays healthy through a few probes.
    let p = build(json!({"statusCodes": [[200, 200]],
        "headers": [{"name": "X-Health", "value": "^gr", "type": "regexp"}],
        "body": {"value": "heal", "type": "contains"}}));
    let before = a.hits();
    wait_until("probes", || a.hits() >= before + 3).await;
    assert!(healthy(&p, 0));
    p.close();

    for m in [
        json!({"statusCodes": [[300, 399]]}),
        json!({"headers": [{"name": "X-Health", "value": "red"}]}),
        json!({"body": {"value": "^sick$", "type": "regexp"}}),
    ] {
        let p = build(m.clone());
        wait_until(&format!("unhealthy by {m}"), || !healthy(&p, 0)).await;
        p.close();
    }
}

#[tokio::test]
async fn probe_uses_method_headers_port_and_basic_auth() {
    let a = checked("a", Arc::new(AtomicBool::new(true))).await;
    let other = Upstream::named("other").await;
    let p = simple(
        &[a.url()],
        json!({"healthCheck": {"interval": "1h", "uri": "/healthz?deep=1", "method": "HEAD",
            "port": other.addr.port(), "headers": {"Host": "probe.local", "X-Probe": "1"},
            "username": "u", "password": "p"}}),
    );
    wait_until("probe", || other.hits() == 1).await;
    let seen = other.last();
    assert_eq!(seen.method, Method::HEAD);
    assert_eq!(seen.target, "/healthz?deep=1");
    assert_eq!(seen.headers["host"], "probe.local");
    assert_eq!(seen.headers["x-probe"], "1");
    assert_eq!(seen.headers["authorization"], "Basic dTpw");
    p.close();
}

#[tokio::test]
async fn next_generation_inherits_health_and_close_stops_probing() {
    let a = checked("a", Arc::new(AtomicBool::new(false))).await;
    let doc = json!({"pools": [{"servers": [{"url": a.url()}],
        "healthCheck": {"interval": "20ms", "uri": "/healthz"}}]});
    let first = proxy(doc.clone());
    wait_until("a unhealthy", || !healthy(&first, 0)).await;

    let second = try_build(doc).unwrap();
    second.init(Some(&first as &dyn Filter));
    first.close();
    assert!(!healthy(&second, 0), "health not inherited");
    second.close();
    let hits = a.hits();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(a.hits() <= hits + 2, "probing went on after close");
}
