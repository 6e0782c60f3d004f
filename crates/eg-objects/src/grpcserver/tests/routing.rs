//! Routing by host, method and headers; IP filters; missing pipelines; X-Forwarded-For;
//! GlobalFilter around the routed pipeline.

use eg_testkit::GrpcClient;
use serde_json::json;

use super::*;

fn chain(r: &eg_testkit::GrpcReply) -> String {
    r.headers
        .get("x-chain")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn calls_route_by_host_method_and_headers() {
    let sup = supervisor();
    for (n, l) in [
        ("p-a", "a"),
        ("p-exact", "exact"),
        ("p-prefix", "prefix"),
        ("p-re", "re"),
        ("p-blue", "blue"),
    ] {
        apply(&sup, answer(n, l));
    }
    let p = port();
    start(
        &sup,
        server("g", p, json!({"cacheSize": 16, "rules": [
            {"host": "a.example", "methods": [{"backend": "p-a"}]},
            {"hostRegexp": "^b\\.", "methods": [
                {"method": "/s.S/Exact", "backend": "p-exact"},
                {"methodPrefix": "/s.S/Blue", "headers": [{"key": "x-env", "values": ["blue"]}], "backend": "p-blue"},
                {"methodPrefix": "/s.S/", "backend": "p-prefix"},
                {"methodRegexp": "^/t\\.T/", "backend": "p-re"},
            ]},
        ]})),
    )
    .await;
    let a = GrpcClient::connect_as(addr(p), "a.example:1234").await;
    let b = GrpcClient::connect_as(addr(p), "b.example").await;
    let z = GrpcClient::connect_as(addr(p), "z.example").await;
    // Twice each: the second answer may come from the route cache.
    for _ in 0..2 {
        let r = a.unary("/any.Svc/Call", &[], "x").await;
        assert_eq!((r.status(), chain(&r)), (Some(0), "a".to_string()));
        assert_eq!(chain(&b.unary("/s.S/Exact", &[], "x").await), "exact");
        assert_eq!(chain(&b.unary("/s.S/Other", &[], "x").await), "prefix");
        assert_eq!(chain(&b.unary("/t.T/Any", &[], "x").await), "re");
        assert_eq!(
            chain(&b.unary("/s.S/Blue", &[("x-env", "blue")], "x").await),
            "blue"
        );
        // The header condition fails; the prefix route behind it matches.
        assert_eq!(
            chain(&b.unary("/s.S/Blue", &[("x-env", "red")], "x").await),
            "prefix"
        );
        let r = b.unary("/u.U/None", &[], "x").await;
        assert_eq!(r.status(), Some(5), "NotFound");
        assert_eq!(r.message(), "grpc stream miss match any conditions");
        let r = z.unary("/s.S/Exact", &[], "x").await;
        assert_eq!(r.status(), Some(5));
    }
}

#[tokio::test]
async fn header_mismatch_and_missing_pipeline_are_not_found() {
    let sup = supervisor();
    let p = port();
    start(
        &sup,
        server(
            "g",
            p,
            json!({"rules": [{"methods": [
                {"method": "/s.S/H", "headers": [{"key": "x-k", "regexp": "^ok$"}], "backend": "p"},
                {"method": "/s.S/Missing", "backend": "nowhere"},
            ]}]}),
        ),
    )
    .await;
    apply(&sup, answer("p", "p"));
    let c = GrpcClient::connect(addr(p)).await;
    let r = c.unary("/s.S/H", &[("x-k", "no")], "x").await;
    assert_eq!(
        (r.status(), r.message()),
        (Some(5), "grpc stream header mismatch".to_string())
    );
    assert_eq!(chain(&c.unary("/s.S/H", &[("x-k", "ok")], "x").await), "p");
    let r = c.unary("/s.S/Missing", &[], "x").await;
    assert_eq!(r.status(), Some(5));
    assert!(
        r.message().contains("backend \"nowhere\" not found"),
        "{}",
        r.message()
    );
}

#[tokio::test]
async fn ip_filters_refuse_with_permission_denied() {
    let sup = supervisor();
    apply(&sup, answer("p", "p"));
    let p = port();
    let deny = json!({"blockIPs": ["127.0.0.1"]});
    start(
        &sup,
        server(
            "g",
            p,
            json!({"rules": [
                {"host": "rule.example", "ipFilter": deny, "methods": [{"backend": "p"}]},
                {"host": "method.example", "methods": [{"backend": "p", "ipFilter": deny}]},
                {"methods": [{"backend": "p"}]},
            ]}),
        ),
    )
    .await;
    for host in ["rule.example", "method.example"] {
        let c = GrpcClient::connect_as(addr(p), host).await;
        let r = c.unary("/s.S/M", &[], "x").await;
        assert_eq!(
            (r.status(), r.message()),
            (Some(7), "request isn't allowed".to_string()),
            "{host}"
        );
    }
    let c = GrpcClient::connect_as(addr(p), "other.example").await;
    assert_eq!(c.unary("/s.S/M", &[], "x").await.status(), Some(0));
    // The server-level filter refuses everything.
    let p2 = port();
    start(
        &sup,
        server(
            "g2",
            p2,
            json!({"ipFilter": {"blockByDefault": true, "allowIPs": ["10.0.0.0/8"]},
                                 "rules": [{"methods": [{"backend": "p"}]}]}),
        ),
    )
    .await;
    let c = GrpcClient::connect(addr(p2)).await;
    assert_eq!(c.unary("/s.S/M", &[], "x").await.status(), Some(7));
}

#[tokio::test]
async fn x_forwarded_for_is_appended() {
    let sup = supervisor();
    apply(&sup, answer("p", "p"));
    let p = port();
    start(
        &sup,
        server(
            "g",
            p,
            json!({"xForwardedFor": true, "rules": [{"methods": [{"backend": "p"}]}]}),
        ),
    )
    .await;
    let c = GrpcClient::connect(addr(p)).await;
    let r = c
        .unary("/s.S/M", &[("x-forwarded-for", "10.1.1.1")], "x")
        .await;
    assert_eq!(r.headers["x-seen-forwarded-for"], "10.1.1.1,127.0.0.1");
    let r = c.unary("/s.S/M", &[], "x").await;
    assert_eq!(r.headers["x-seen-forwarded-for"], "127.0.0.1");
}

#[tokio::test]
async fn global_filter_runs_before_and_after() {
    let sup = supervisor();
    apply(&sup, answer("p", "main"));
    apply(
        &sup,
        json!({"name": "gf", "kind": "GlobalFilter",
               "beforePipeline": {"filters": [{"name": "b", "kind": "GrpcAnswer", "label": "before"}]},
               "afterPipeline": {"filters": [{"name": "a", "kind": "GrpcAnswer", "label": "after"}]}}),
    );
    let p = port();
    start(
        &sup,
        server(
            "g",
            p,
            json!({"globalFilter": "gf", "rules": [{"methods": [{"backend": "p"}]}]}),
        ),
    )
    .await;
    let c = GrpcClient::connect(addr(p)).await;
    assert_eq!(
        chain(&c.unary("/s.S/M", &[], "x").await),
        "before,main,after"
    );
}

#[tokio::test]
async fn non_grpc_requests_get_415() {
    let sup = supervisor();
    apply(&sup, answer("p", "p"));
    let p = port();
    start(
        &sup,
        server("g", p, json!({"rules": [{"methods": [{"backend": "p"}]}]})),
    )
    .await;
    let stream = tokio::net::TcpStream::connect(addr(p)).await.unwrap();
    let (mut send, conn) =
        hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
            .handshake::<_, http_body_util::Empty<bytes::Bytes>>(hyper_util::rt::TokioIo::new(
                stream,
            ))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::get(format!("http://127.0.0.1:{p}/s.S/M"))
        .body(http_body_util::Empty::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 415);
}
