//! Hot updates, listener restarts, connection timers, status.

use eg_testkit::GrpcClient;
use serde_json::json;

use super::*;

fn rules(backend: &str) -> Value {
    json!({"rules": [{"methods": [{"backend": backend}]}]})
}

#[tokio::test]
async fn rules_swap_without_dropping_connections() {
    let sup = supervisor();
    apply(&sup, answer("one", "one"));
    apply(&sup, answer("two", "two"));
    let p = port();
    start(&sup, server("g", p, rules("one"))).await;
    let c = GrpcClient::connect(addr(p)).await;
    let r = c.unary("/s.S/M", &[], "x").await;
    assert_eq!(r.headers["x-chain"], "one");
    apply(&sup, server("g", p, rules("two")));
    // The same connection sees the new rules.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c.unary("/s.S/M", &[], "x").await.headers["x-chain"] != "two" {
        assert!(
            std::time::Instant::now() < deadline,
            "the new rules never applied"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_port_change_restarts_the_listener() {
    let sup = supervisor();
    apply(&sup, answer("one", "one"));
    let (p1, p2) = (port(), port());
    start(&sup, server("g", p1, rules("one"))).await;
    start(&sup, server("g", p2, rules("one"))).await;
    let c = GrpcClient::connect(addr(p2)).await;
    assert_eq!(c.unary("/s.S/M", &[], "x").await.status(), Some(0));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr(p1)).await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the old port still listens"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = eg_supervisor::Object::status(&*crate::testkit::running::<GrpcServer>(&sup, "g"));
    assert_eq!(status["state"], "running");
    assert!(status["count"].as_u64().unwrap_or(0) >= 1, "{status}");
}

#[tokio::test]
async fn idle_connections_are_sent_goaway() {
    let sup = supervisor();
    apply(&sup, answer("one", "one"));
    let p = port();
    let mut fields = rules("one");
    fields["maxConnectionIdle"] = json!("100ms");
    start(&sup, server("g", p, fields)).await;
    let c = GrpcClient::connect(addr(p)).await;
    assert_eq!(c.unary("/s.S/M", &[], "x").await.status(), Some(0));
    assert!(poll_until(Duration::from_secs(10), || c.is_closed()).await);
}

#[tokio::test]
async fn old_connections_are_closed_after_the_grace() {
    let sup = supervisor();
    apply(&sup, answer("one", "one"));
    let p = port();
    let mut fields = rules("one");
    fields["maxConnectionIdle"] = json!("0s");
    fields["maxConnectionAge"] = json!("200ms");
    fields["maxConnectionAgeGrace"] = json!("100ms");
    start(&sup, server("g", p, fields)).await;
    let c = GrpcClient::connect(addr(p)).await;
    assert_eq!(c.unary("/s.S/M", &[], "x").await.status(), Some(0));
    assert!(poll_until(Duration::from_secs(10), || c.is_closed()).await);
}
