//! What reaches the upstream and what comes back: paths, Host, hop-by-hop headers, bodies.

use super::*;

#[tokio::test]
async fn forwards_method_escaped_path_query_and_body() {
    let up = Upstream::start(|s| Reply::text(201, &format!("got {}", s.body.len()))).await;
    let p = simple(&[up.url()], json!({}));
    let mut c = ctx(
        "POST",
        "/%E4%B8%AD%E6%96%87?foo=bar&x=%20y",
        &[("x-custom", "1")],
    );
    c.request_mut().unwrap().body = Body::full("hello");
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(response(&c).status, 201);
    assert_eq!(body_text(&mut c).await, "got 5");
    let seen = up.last();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.target, "/%E4%B8%AD%E6%96%87?foo=bar&x=%20y");
    assert_eq!(seen.body, "hello");
    assert_eq!(seen.headers["x-custom"], "1");
}

#[tokio::test]
async fn server_url_path_is_prepended() {
    let up = Upstream::named("a").await;
    let p = simple(&[format!("{}/base", up.url())], json!({}));
    let mut c = ctx("GET", "/x/y?q=1", &[]);
    run(&p, &mut c).await;
    assert_eq!(up.last().target, "/base/x/y?q=1");

    // A trailing slash in the server URL gives a double slash, as in Easegress.
    let p = simple(&[format!("{}/", up.url())], json!({}));
    let mut c = ctx("GET", "/x", &[]);
    run(&p, &mut c).await;
    assert_eq!(up.last().target, "//x");
}

#[tokio::test]
async fn host_header_rules() {
    let up = Upstream::named("a").await;
    let port = up.addr.port();
    async fn host_seen(p: &Proxy, up: &Upstream) -> String {
        let mut c = ctx("GET", "/", &[("host", "client.example")]);
        run(p, &mut c).await;
        up.last().headers["host"].to_str().unwrap().to_string()
    }

    // IP-literal server: the client's Host is kept.
    let p = simple(&[up.url()], json!({}));
    assert_eq!(host_seen(&p, &up).await, "client.example");

    // Host-name server: the server's host.
    let by_name = format!("http://localhost:{port}");
    let p = simple(std::slice::from_ref(&by_name), json!({}));
    assert_eq!(host_seen(&p, &up).await, format!("localhost:{port}"));

    // keepHost on a host-name server: the client's Host.
    let p = proxy(json!({"pools": [{"servers": [{"url": by_name, "keepHost": true}]}]}));
    assert_eq!(host_seen(&p, &up).await, "client.example");

    // setUpstreamHost on an IP server: the server's host.
    let p = simple(&[up.url()], json!({"setUpstreamHost": true}));
    assert_eq!(host_seen(&p, &up).await, format!("127.0.0.1:{port}"));

    // keepHost wins over setUpstreamHost.
    let p = proxy(json!({"pools": [{"setUpstreamHost": true,
        "servers": [{"url": up.url(), "keepHost": true}]}]}));
    assert_eq!(host_seen(&p, &up).await, "client.example");
}

#[tokio::test]
async fn hop_by_hop_headers_are_removed_both_ways() {
    let up = Upstream::start(|_| {
        Reply::text(200, "ok")
            .header("proxy-authenticate", "Basic")
            .header("x-private", "1")
            .header("connection", "x-private")
            .header("x-public", "1")
    })
    .await;
    let p = simple(&[up.url()], json!({}));
    let mut c = ctx(
        "GET",
        "/",
        &[
            ("connection", "x-drop-me"),
            ("x-drop-me", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "secret"),
            ("te", "trailers"),
            ("x-kept", "1"),
        ],
    );
    run(&p, &mut c).await;
    let seen = up.last();
    for h in ["x-drop-me", "keep-alive", "proxy-authorization", "te"] {
        assert!(!seen.headers.contains_key(h), "{h} was forwarded");
    }
    assert_eq!(seen.headers["x-kept"], "1");
    let r = response(&c);
    assert!(!r.headers.contains_key("proxy-authenticate"));
    assert!(!r.headers.contains_key("x-private"));
    assert!(!r.headers.contains_key("connection"));
    assert_eq!(r.headers["x-public"], "1");
}

#[tokio::test]
async fn response_headers_merge_into_an_existing_response() {
    let up = Upstream::start(|_| {
        Reply::text(200, "up")
            .header("x-a", "2")
            .header("access-control-allow-origin", "https://up")
    })
    .await;
    let p = simple(&[up.url()], json!({}));
    let mut c = ctx("GET", "/", &[]);
    let mut pre = HttpResponse::with_body(StatusCode::IM_A_TEAPOT, "pre");
    pre.headers.insert("x-a", "1".parse().unwrap());
    pre.headers
        .insert("access-control-allow-origin", "*".parse().unwrap());
    c.set_response(pre);
    assert_eq!(run(&p, &mut c).await, "");
    let r = response(&c);
    assert_eq!(r.status, 200);
    let xa: Vec<_> = r.headers.get_all("x-a").iter().collect();
    assert_eq!(xa, ["1", "2"]);
    let acao: Vec<_> = r
        .headers
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(acao, ["https://up"]);
    assert_eq!(body_text(&mut c).await, "up");
}

#[tokio::test]
async fn streamed_request_body_is_passed_through() {
    let up = Upstream::start(|s| Reply::text(200, &String::from_utf8_lossy(&s.body))).await;
    let p = simple(&[up.url()], json!({}));
    let mut c = ctx("POST", "/upload", &[]);
    let (tx, body) = chan_body();
    c.request_mut().unwrap().body = body;
    tx.send(Ok(Bytes::from_static(b"part1-"))).unwrap();
    tx.send(Ok(Bytes::from_static(b"part2"))).unwrap();
    drop(tx);
    assert_eq!(run(&p, &mut c).await, "");
    assert_eq!(body_text(&mut c).await, "part1-part2");
    assert!(up.last().headers.get("transfer-encoding").is_some());
}

#[tokio::test]
async fn client_gone_while_uploading_is_499() {
    let up = Upstream::named("a").await;
    let p = simple(&[up.url()], json!({}));
    let mut c = ctx("POST", "/upload", &[]);
    let (tx, body) = chan_body();
    c.request_mut().unwrap().body = body;
    tx.send(Ok(Bytes::from_static(b"part1"))).unwrap();
    tx.send(Err(BodyError::Io("connection reset".into())))
        .unwrap();
    assert_eq!(run(&p, &mut c).await, "clientError");
    assert_eq!(response(&c).status, 499);
}

#[tokio::test]
async fn metrics_are_registered_per_pool() {
    let up = Upstream::start(|s| {
        if s.target == "/bad" {
            Reply::text(404, "no")
        } else {
            Reply::text(200, "ok")
        }
    })
    .await;
    let sup = supervisor();
    let p = try_build_with(
        json!({"pools": [{"servers": [{"url": up.url()}], "loadBalance": {"policy": "roundRobin"}}]}),
        &Map::new(),
        &sup,
    )
    .unwrap();
    run(&p, &mut ctx("GET", "/", &[])).await;
    run(&p, &mut ctx("GET", "/bad", &[])).await;
    let text = sup.metrics().encode();
    let labels = "clusterName=\"eg-cluster-default-name\",clusterRole=\"primary\",\
                  instanceName=\"test-member\",proxyName=\"proxy#proxy#main\",kind=\"Proxy\",\
                  loadBalancePolicy=\"roundRobin\",filterPolicy=\"\"";
    assert!(
        text.contains(&format!("proxy_total_connections{{{labels}}} 2")),
        "{text}"
    );
    assert!(
        text.contains(&format!("proxy_total_error_connections{{{labels}}} 1")),
        "{text}"
    );
    assert!(text.contains("proxy_request_body_size_bucket"), "{text}");
    assert!(
        text.contains(&format!("proxy_response_body_size_count{{{labels}}} 2")),
        "{text}"
    );
    let status = p.status();
    assert_eq!(status["mainPool"]["total"], 2);
    assert_eq!(status["mainPool"]["errors"], 1);
}

#[tokio::test]
async fn sequential_requests_reuse_one_pooled_connection() {
    let up = Upstream::named("a").await;
    let p = simple(&[up.url()], json!({}));
    for _ in 0..20 {
        let mut c = ctx("GET", "/", &[]);
        assert_eq!(run(&p, &mut c).await, "");
    }
    assert_eq!(up.hits(), 20);
    assert_eq!(up.conns.load(Ordering::SeqCst), 1);

    // The next generation of the same filter shares the warm connection.
    let next = simple(&[up.url()], json!({}));
    run(&next, &mut ctx("GET", "/", &[])).await;
    assert_eq!(up.conns.load(Ordering::SeqCst), 1);
}

/// Throughput of the filter against an in-process upstream: run with
/// `cargo test --release -p eg-filters throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a check"]
async fn throughput() {
    const TASKS: usize = 32;
    const PER_TASK: usize = 2000;
    let up = Upstream::named("hello world").await;
    let p = Arc::new(simple(&[up.url()], json!({})));
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..PER_TASK {
                let mut c = ctx("GET", "/bench?x=1", &[("host", "bench"), ("accept", "*/*")]);
                assert_eq!(run(&p, &mut c).await, "");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = TASKS * PER_TASK;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} requests in {secs:.2}s: {:.0} req/s over {} upstream connections",
        n as f64 / secs,
        up.conns.load(Ordering::SeqCst)
    );
}
