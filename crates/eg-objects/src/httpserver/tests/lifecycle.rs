//! Hot reload, listener restarts, failures, statistics, metrics, the access log and
//! streaming responses.

use eg_supervisor::Object;
use serde_json::json;

use super::*;

fn rules(path: &str, backend: &str) -> Value {
    json!({"rules": [{"paths": [{"path": path, "backend": backend}]}]})
}

#[tokio::test]
async fn rule_update_keeps_the_keep_alive_connection() {
    let sup = supervisor(None);
    apply(&sup, echo("pl-old", "old"));
    apply(&sup, echo("pl-new", "new"));
    let port = free_port();
    let first = start(&sup, server("hs", port, rules("/old", "pl-old"))).await;
    let mut conn = Conn::open(port).await;
    assert_eq!(
        conn.request("GET", "/old", &[], TestBody::empty())
            .await
            .server(),
        "old"
    );

    apply(&sup, server("hs", port, rules("/new", "pl-new")));
    let second = running(&sup, "hs");
    assert!(!Arc::ptr_eq(&first, &second), "a new generation runs");
    assert_eq!(
        conn.request("GET", "/new", &[], TestBody::empty())
            .await
            .server(),
        "new"
    );
    assert_eq!(
        conn.request("GET", "/old", &[], TestBody::empty())
            .await
            .status,
        404
    );
    assert!(
        !conn.closed.is_finished(),
        "the same connection served all requests"
    );

    // maxConnections, cacheSize, xForwardedFor and ipFilter also change in place.
    let mut fields = rules("/new", "pl-new");
    fields["xForwardedFor"] = json!(true);
    fields["maxConnections"] = json!(5);
    fields["cacheSize"] = json!(4);
    apply(&sup, server("hs", port, fields));
    let r = conn.request("GET", "/new", &[], TestBody::empty()).await;
    assert_eq!(r.json()["headers"]["x-forwarded-for"], "127.0.0.1");
    assert!(!conn.closed.is_finished());
}

#[tokio::test]
async fn port_change_restarts_the_listener() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let (p1, p2) = (free_port(), free_port());
    start(&sup, server("hs", p1, rules("/x", "pl"))).await;
    assert_eq!(get(p1, "/x").await.server(), "pl");
    start(&sup, server("hs", p2, rules("/x", "pl"))).await;
    assert_eq!(get(p2, "/x").await.server(), "pl");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", p1))
            .await
            .is_err()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the old port still accepts connections");
}

#[tokio::test]
async fn keep_alive_change_restarts_on_the_same_port() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    start(&sup, server("hs", port, rules("/x", "pl"))).await;
    let mut fields = rules("/x", "pl");
    fields["keepAlive"] = json!(false);
    let s = start(&sup, server("hs", port, fields)).await;
    let r = get(port, "/x").await;
    assert_eq!(r.server(), "pl");
    assert_eq!(
        r.headers.get("connection").map(|v| v.to_str().unwrap()),
        Some("close")
    );
    s.close();
    assert_eq!(s.state(), "closed");
}

/// A listener restarted on its port drains the connections it had: a request on one is
/// answered with `Connection: close` and the connection ends after it; an idle one is
/// closed once the grace period is over. Both are woken by the drain's phase changes.
#[tokio::test]
async fn a_restarted_listener_drains_its_connections() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    start(&sup, server("hs", port, rules("/x", "pl"))).await;
    let mut busy = Conn::open(port).await;
    let mut idle = Conn::open(port).await;
    for conn in [&mut busy, &mut idle] {
        let r = conn.request("GET", "/x", &[], TestBody::empty()).await;
        assert_eq!(r.server(), "pl");
        assert_eq!(
            r.headers.get("connection"),
            None,
            "kept alive before the restart"
        );
    }

    let mut fields = rules("/x", "pl");
    fields["keepAliveTimeout"] = json!("61s");
    start(&sup, server("hs", port, fields)).await;
    let r = busy.request("GET", "/x", &[], TestBody::empty()).await;
    assert_eq!(r.server(), "pl");
    assert_eq!(
        r.headers.get("connection").map(|v| v.to_str().unwrap()),
        Some("close"),
        "a draining listener's answer"
    );
    tokio::time::timeout(Duration::from_secs(5), &mut busy.closed)
        .await
        .expect("the connection ends after its answer")
        .unwrap();
    assert!(!idle.closed.is_finished(), "kept through the grace period");
    tokio::time::timeout(Duration::from_secs(20), &mut idle.closed)
        .await
        .expect("the idle connection is closed once the grace period is over")
        .unwrap();
    assert_eq!(get(port, "/x").await.server(), "pl", "the successor serves");
}

#[tokio::test]
async fn listen_failure_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let sup = supervisor(None);
    apply(&sup, server("hs", port, rules("/x", "pl")));
    let s = running(&sup, "hs");
    wait_state(&s, "failed").await;
    let status = s.status();
    assert_eq!(status["state"], "failed");
    assert!(!status["error"].as_str().unwrap().is_empty(), "{status}");
    assert_eq!(status["health"], status["error"]);
    s.close();
}

#[tokio::test]
async fn status_and_prometheus_metrics() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    let s = start(&sup, server("hs-m", port, rules("/ok", "pl"))).await;
    for _ in 0..3 {
        assert_eq!(get(port, "/ok").await.status, 200);
    }
    assert_eq!(get(port, "/missing").await.status, 404);
    let status = s.status();
    assert_eq!(status["name"], "hs-m");
    assert_eq!(status["state"], "running");
    assert_eq!(status["health"], "");
    assert_eq!(status["count"], 4);
    assert_eq!(status["errCount"], 1);
    assert_eq!(status["codes"], json!({"200": 3, "404": 1}));
    assert_eq!(status["topN"][0]["path"], "/ok");
    assert_eq!(status["topN"][0]["count"], 3);
    for k in [
        "m1", "m5", "m15", "p25", "p50", "p99", "p999", "reqSize", "respSize", "min", "max", "mean",
    ] {
        assert!(status.get(k).is_some(), "{k} missing in {status}");
    }
    let text = sup.metrics().encode();
    let labels = "clusterName=\"eg-cluster-default-name\",clusterRole=\"primary\",instanceName=\"test-member\",name=\"hs-m\",kind=\"HTTPServer\"";
    assert!(
        text.contains(&format!("httpserver_health{{{labels}}} 1")),
        "{text}"
    );
    let series = format!("{{{labels},routerKind=\"Ordered\",backend=\"pl\"}}");
    assert!(
        text.contains(&format!("httpserver_total_requests{series} 3")),
        "{text}"
    );
    assert!(
        text.contains(&format!("httpserver_total_responses{series} 3")),
        "{text}"
    );
    assert!(
        text.contains(&format!("httpserver_total_error_requests{series} 0")),
        "{text}"
    );
    assert!(
        text.contains(&format!("httpserver_requests_duration_count{series} 3")),
        "{text}"
    );
    assert!(
        text.contains("httpserver_requests_size_bytes_bucket"),
        "{text}"
    );
    assert!(
        text.contains("httpserver_responses_size_bytes_bucket"),
        "{text}"
    );
    sup.remove("hs-m");
    assert_eq!(s.state(), "closed");
    assert!(sup
        .metrics()
        .encode()
        .contains(&format!("httpserver_health{{{labels}}} 0")));
}

#[tokio::test]
async fn access_log_lines_use_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let sup = supervisor(Some(dir.path().to_path_buf()));
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    let mut fields = rules("/ok", "pl");
    fields["accessLogFormat"] =
        json!("{{Method}} {{URI}} {{StatusCode}} {{RealIP}} rx:{{ReqSize}} [{{Tags}}]");
    start(&sup, server("hs-log", port, fields)).await;
    assert_eq!(get(port, "/ok?a=1").await.status, 200);
    assert_eq!(get(port, "/nope").await.status, 404);
    let file = dir.path().join(crate::httpserver::ACCESS_LOG_FILE);
    for _ in 0..1000 {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.lines().count() >= 2 {
            let lines: Vec<&str> = text.lines().collect();
            assert!(
                lines[0].starts_with("GET /ok?a=1 200 127.0.0.1 rx:"),
                "{text}"
            );
            assert!(lines[0].contains("pipeline(pl)"), "{text}");
            assert!(lines[1].starts_with("GET /nope 404 127.0.0.1"), "{text}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no access log lines in {}", file.display());
}

#[tokio::test]
async fn json_access_log_lines_hold_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let sup = supervisor(Some(dir.path().to_path_buf()));
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    let mut fields = rules("/ok", "pl");
    fields["accessLogFormat"] = json!("json");
    start(&sup, server("hs-json", port, fields)).await;
    let resp = get_h(
        port,
        "/ok?q=%22%0A",
        &[
            ("user-agent", "probe \"quoted\" \\ agent"),
            ("referer", "http://example.com/from"),
        ],
    )
    .await;
    assert_eq!(resp.status, 200);
    let file = dir.path().join(crate::httpserver::ACCESS_LOG_FILE);
    for _ in 0..1000 {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if let Some(line) = text.lines().next() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["method"], "GET", "{line}");
            assert_eq!(v["uri"], "/ok?q=%22%0A");
            assert_eq!(v["statusCode"], 200);
            assert_eq!(v["realIP"], "127.0.0.1");
            assert_eq!(v["proto"], "HTTP/1.1");
            assert_eq!(v["userAgent"], "probe \"quoted\" \\ agent");
            assert_eq!(v["referer"], "http://example.com/from");
            assert!(v["host"].as_str().unwrap().contains("127.0.0.1"), "{line}");
            assert!(v["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t.as_str().unwrap().contains("pipeline(pl)")));
            assert!(v["reqSize"].as_u64().unwrap() > 0);
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no access log lines in {}", file.display());
}

#[tokio::test]
async fn event_streams_are_flushed_as_they_arrive() {
    let sup = supervisor(None);
    apply(
        &sup,
        json!({"name": "sse", "kind": "Pipeline", "flow": [{"filter": "e"}],
               "filters": [{"name": "e", "kind": "Echo", "sse": true}]}),
    );
    let port = free_port();
    start(&sup, server("hs", port, rules("/events", "sse"))).await;
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get("/events")
        .header("host", "x")
        .body(TestBody::empty())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    let first = tokio::time::timeout(Duration::from_secs(10), body.frame())
        .await
        .expect("the first event must arrive before the stream ends")
        .unwrap()
        .unwrap();
    assert_eq!(first.into_data().unwrap(), "data: one\n\n");
    SSE_GATE.notify_one();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(rest, "data: two\n\n");
}

#[tokio::test]
async fn max_connections_holds_extra_connections_back() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    let mut fields = rules("/x", "pl");
    fields["maxConnections"] = json!(1);
    start(&sup, server("hs", port, fields)).await;
    let mut a = Conn::open(port).await;
    assert_eq!(
        a.request("GET", "/x", &[], TestBody::empty())
            .await
            .server(),
        "pl"
    );
    // A second connection is accepted by the kernel but not served while `a` is open.
    let mut b = Conn::open(port).await;
    let waiting = tokio::spawn(async move { b.request("GET", "/x", &[], TestBody::empty()).await });
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished());
    drop(a);
    let r = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.server(), "pl");
}

#[tokio::test]
async fn idle_connections_close_after_keep_alive_timeout() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    let mut fields = rules("/x", "pl");
    fields["keepAliveTimeout"] = json!("100ms");
    start(&sup, server("hs", port, fields)).await;
    let mut conn = Conn::open(port).await;
    assert_eq!(
        conn.request("GET", "/x", &[], TestBody::empty())
            .await
            .server(),
        "pl"
    );
    tokio::time::timeout(Duration::from_secs(20), &mut conn.closed)
        .await
        .expect("the server closes the idle connection")
        .unwrap();
}

/// Requests per second through the server (routing + a Mock pipeline, HTTP/1.1 keep-alive):
/// `cargo test --release -p eg-objects server_throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a check"]
async fn server_throughput() {
    const CONNS: usize = 32;
    const PER_CONN: usize = 2000;
    let sup = supervisor(None);
    apply(
        &sup,
        json!({"name": "pl", "kind": "Pipeline", "flow": [{"filter": "m"}],
               "filters": [{"name": "m", "kind": "Mock", "rules": [{"code": 200, "body": "hello world"}]}]}),
    );
    let port = free_port();
    let fields = json!({"rules": [{"paths": [
        {"path": "/a", "backend": "pl"}, {"pathPrefix": "/b/", "backend": "pl"},
        {"pathRegexp": "^/c/[0-9]+$", "backend": "pl"}, {"pathPrefix": "/bench", "backend": "pl"},
    ]}]});
    start(&sup, server("hs", port, fields)).await;
    let begin = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNS {
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(port).await;
            for _ in 0..PER_CONN {
                let r = c
                    .request("GET", "/bench?x=1", &[("accept", "*/*")], TestBody::empty())
                    .await;
                assert_eq!(r.status, 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = CONNS * PER_CONN;
    let secs = begin.elapsed().as_secs_f64();
    println!(
        "{n} requests in {secs:.2}s: {:.0} req/s (client and server on the same 2 workers)",
        n as f64 / secs
    );
}

#[tokio::test]
async fn a_panicking_request_gets_500_and_the_connection_lives_on() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    apply(
        &sup,
        json!({"name": "boom", "kind": "Pipeline", "flow": [{"filter": "e"}],
               "filters": [{"name": "e", "kind": "Echo", "panic": true}]}),
    );
    let port = free_port();
    let fields =
        json!({"rules": [{"paths": [{"path": "/boom", "backend": "boom"}, {"backend": "pl"}]}]});
    start(&sup, server("hs", port, fields)).await;
    let mut conn = Conn::open(port).await;
    assert_eq!(
        conn.request("GET", "/boom", &[], TestBody::empty())
            .await
            .status,
        500
    );
    assert_eq!(
        conn.request("GET", "/fine", &[], TestBody::empty())
            .await
            .server(),
        "pl"
    );
}

#[tokio::test]
async fn a_failed_listen_is_retried_until_the_port_is_free() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    apply(&sup, server("hs", port, rules("/x", "pl")));
    let s = running(&sup, "hs");
    wait_state(&s, "failed").await;
    drop(taken);
    // The next attempt comes within RETRY_INTERVAL (10 s).
    if !poll_until(Duration::from_secs(30), || s.state() == "running").await {
        panic!("the server never came up: {}", s.status());
    }
    assert_eq!(get(port, "/x").await.server(), "pl");
    assert_eq!(s.status()["health"], "");
}

#[tokio::test]
async fn access_log_is_reopened_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let sup = supervisor(Some(dir.path().to_path_buf()));
    apply(&sup, echo("pl", "pl"));
    let port = free_port();
    let mut fields = rules("/x", "pl");
    fields["accessLogFormat"] = json!("{{URI}}");
    start(&sup, server("hs-rot", port, fields)).await;
    let file = dir.path().join(crate::httpserver::ACCESS_LOG_FILE);
    let rotated = dir.path().join("rotated.log");
    let wait_for = |path: std::path::PathBuf, want: &'static str| async move {
        for _ in 0..1000 {
            if std::fs::read_to_string(&path)
                .unwrap_or_default()
                .contains(want)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("{want} never written to {}", path.display());
    };
    assert_eq!(get(port, "/x?before").await.status, 200);
    wait_for(file.clone(), "/x?before").await;
    std::fs::rename(&file, &rotated).unwrap();
    crate::httpserver::reopen_access_logs();
    assert_eq!(get(port, "/x?after").await.status, 200);
    wait_for(file.clone(), "/x?after").await;
    assert!(!std::fs::read_to_string(&rotated)
        .unwrap()
        .contains("/x?after"));
}

/// The `httpserver_health` value of server `name`.
fn health(sup: &Supervisor, name: &str) -> Option<String> {
    let prefix = format!(
        "httpserver_health{{clusterName=\"eg-cluster-default-name\",clusterRole=\"primary\",instanceName=\"test-member\",name=\"{name}\",kind=\"HTTPServer\"}} "
    );
    sup.metrics()
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

#[tokio::test]
async fn closing_a_replaced_generation_leaves_its_successor_serving() {
    let sup = supervisor(None);
    apply(&sup, echo("pl", "pl"));
    let (port, other_port) = (free_port(), free_port());
    let first = start(&sup, server("hs", port, rules("/x", "pl"))).await;
    get(port, "/x").await;

    // Rule-only update: the successor shares the listener and its state; the supervisor
    // closed `first`, and that did not close what `second` now runs.
    apply(&sup, server("hs", port, rules("/y", "pl")));
    let second = running(&sup, "hs");
    assert!(!Arc::ptr_eq(&first, &second));
    assert_eq!(second.state(), "running");
    assert_eq!(health(&sup, "hs").as_deref(), Some("1"));
    assert_eq!(get(port, "/y").await.server(), "pl");
    assert_eq!(second.status()["count"], 2, "statistics carried over");

    // Same port, new listener: the old one hands its socket over.
    let mut fields = rules("/y", "pl");
    fields["keepAlive"] = json!(false);
    let third = start(&sup, server("hs", port, fields)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(third.state(), "running");
    assert_eq!(health(&sup, "hs").as_deref(), Some("1"));
    assert_eq!(get(port, "/y").await.server(), "pl");

    // Another port.
    let fourth = start(&sup, server("hs", other_port, rules("/y", "pl"))).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(fourth.state(), "running");
    assert_eq!(health(&sup, "hs").as_deref(), Some("1"));
    assert_eq!(get(other_port, "/y").await.server(), "pl");
    assert_eq!(fourth.status()["count"], 4, "statistics carried over");

    sup.remove("hs");
    assert_eq!(fourth.state(), "closed");
    assert_eq!(health(&sup, "hs").as_deref(), Some("0"));
}
