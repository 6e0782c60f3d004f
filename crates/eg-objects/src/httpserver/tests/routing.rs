//! Routing rules and failure statuses.

use serde_json::json;

use super::*;

/// A supervisor with echo pipelines `pl-<label>` for each label.
fn with_backends(labels: &[&str]) -> Supervisor {
    let sup = supervisor(None);
    for l in labels {
        apply(&sup, echo(&format!("pl-{l}"), l));
    }
    sup
}

async fn serve(sup: &Supervisor, fields: Value) -> u16 {
    let port = free_port();
    start(sup, server("hs", port, fields)).await;
    port
}

#[tokio::test]
async fn exact_prefix_and_regexp_paths() {
    let sup = with_backends(&["A", "B", "C"]);
    let port = serve(
        &sup,
        json!({"rules": [{"paths": [
            {"path": "/abc", "backend": "pl-A"},
            {"pathPrefix": "/xyz", "backend": "pl-B"},
            {"pathRegexp": "^/[a-z]+$", "backend": "pl-C"},
        ]}]}),
    )
    .await;
    assert_eq!(get(port, "/abc").await.server(), "A");
    assert_eq!(get(port, "/xyz/a/b").await.server(), "B");
    assert_eq!(get(port, "/xyz123").await.json()["path"], "/xyz123");
    assert_eq!(get(port, "/abcd").await.server(), "C");
    assert_eq!(get(port, "/abc/def").await.status, 404);
    assert_eq!(get(port, "/abc123").await.status, 404);
    assert_eq!(get(port, "/ABC").await.status, 404);
}

#[tokio::test]
async fn first_matching_path_wins_and_empty_path_matches_all() {
    let sup = with_backends(&["prefix", "static", "any"]);
    let port = serve(
        &sup,
        json!({"rules": [
            {"host": "only.test", "paths": [{"backend": "pl-any"}]},
            {"paths": [
                {"pathPrefix": "/pipeline", "backend": "pl-prefix"},
                {"path": "/pipeline/abc", "backend": "pl-static"},
                {"backend": "pl-any"},
            ]},
        ]}),
    )
    .await;
    assert_eq!(get(port, "/pipeline/abc").await.server(), "prefix");
    assert_eq!(get(port, "/anything/else").await.server(), "any");
    assert_eq!(
        get_h(port, "/pipeline/abc", &[("host", "only.test")])
            .await
            .server(),
        "any"
    );
}

/// Exact paths are looked up by path, but the first path in spec order still wins, whatever
/// its kind: an earlier prefix shadows a later exact path, a duplicate exact path never
/// answers, and a method mismatch falls through to the next candidate.
#[tokio::test]
async fn many_exact_paths_keep_spec_order() {
    const MANY: usize = 2_000;
    let sup = with_backends(&["post", "first", "prefix", "later"]);
    let mut paths = vec![json!({"path": "/a", "methods": ["POST"], "backend": "pl-post"})];
    paths.extend((0..MANY).map(|i| json!({"path": format!("/p/{i}"), "backend": "pl-first"})));
    paths.push(json!({"pathPrefix": "/a", "backend": "pl-prefix"}));
    paths.push(json!({"path": "/a", "backend": "pl-later"}));
    paths.push(json!({"path": format!("/p/{}", MANY - 1), "backend": "pl-later"}));
    paths.push(json!({"path": "/b", "backend": "pl-later"}));
    let port = serve(&sup, json!({"rules": [{"paths": paths}]})).await;

    let post = send(port, "POST", "/a", &[], TestBody::full("x")).await;
    assert_eq!(post.server(), "post");
    assert_eq!(get(port, "/a").await.server(), "prefix");
    assert_eq!(get(port, "/ab").await.server(), "prefix");
    assert_eq!(get(port, "/p/0").await.server(), "first");
    assert_eq!(
        get(port, &format!("/p/{}", MANY / 2)).await.server(),
        "first"
    );
    assert_eq!(
        get(port, &format!("/p/{}", MANY - 1)).await.server(),
        "first"
    );
    assert_eq!(get(port, "/b").await.server(), "later");
    assert_eq!(get(port, &format!("/p/{MANY}")).await.status, 404);
    assert_eq!(get(port, "/p/").await.status, 404);
}

#[tokio::test]
async fn hosts_exact_wildcard_regexp_and_port_ignored() {
    let sup = with_backends(&["api", "wild", "re", "list"]);
    let port = serve(
        &sup,
        json!({"rules": [
            {"host": "api.example.com", "paths": [{"pathPrefix": "/", "backend": "pl-api"}]},
            {"host": "*.wild.test", "paths": [{"pathPrefix": "/", "backend": "pl-wild"}]},
            {"hostRegexp": "^re[0-9]+\\.test$", "paths": [{"pathPrefix": "/", "backend": "pl-re"}]},
            {"hosts": [{"value": "one.test"}, {"value": "^two\\.(a|b)$", "isRegexp": true}],
             "paths": [{"pathPrefix": "/", "backend": "pl-list"}]},
        ]}),
    )
    .await;
    assert_eq!(get(port, "/x").await.status, 404);
    assert_eq!(
        get_h(port, "/x", &[("host", "api.example.com")])
            .await
            .server(),
        "api"
    );
    let with_port = format!("api.example.com:{port}");
    assert_eq!(
        get_h(port, "/x", &[("host", &with_port)]).await.server(),
        "api"
    );
    assert_eq!(
        get_h(port, "/x", &[("host", "api.example.com.evil.org")])
            .await
            .status,
        404
    );
    assert_eq!(
        get_h(port, "/x", &[("host", "a.wild.test")]).await.server(),
        "wild"
    );
    assert_eq!(
        get_h(port, "/x", &[("host", "wild.test")]).await.status,
        404
    );
    assert_eq!(
        get_h(port, "/x", &[("host", "re42.test")]).await.server(),
        "re"
    );
    assert_eq!(
        get_h(port, "/x", &[("host", "one.test")]).await.server(),
        "list"
    );
    assert_eq!(
        get_h(port, "/x", &[("host", "two.b")]).await.server(),
        "list"
    );
    assert_eq!(get_h(port, "/x", &[("host", "two.c")]).await.status, 404);
}

#[tokio::test]
async fn methods_headers_and_queries_decide_405_and_400() {
    let sup = with_backends(&["put", "h", "q", "all"]);
    let port = serve(
        &sup,
        json!({"rules": [{"paths": [
            {"path": "/efg", "methods": ["PUT"], "backend": "pl-put"},
            {"path": "/h", "headers": [{"key": "X-Test", "values": ["t1", "t2"]}, {"key": "X-Re", "regexp": "^ok$"}], "backend": "pl-h"},
            {"path": "/q", "queries": [{"key": "v", "values": ["1"]}], "backend": "pl-q"},
            {"path": "/all", "matchAllHeader": true,
             "headers": [{"key": "A", "values": ["1"]}, {"key": "B", "regexp": "^x+$"}],
             "matchAllQuery": true,
             "queries": [{"key": "p", "values": ["a b"]}, {"key": "r", "regexp": "^[0-9]+$"}],
             "backend": "pl-all"},
        ]}]}),
    )
    .await;
    let put = send(port, "PUT", "/efg", &[], TestBody::full("payload")).await;
    assert_eq!(put.server(), "put");
    assert_eq!(put.json()["body"], "payload");
    assert_eq!(get(port, "/efg").await.status, 405);
    assert_eq!(
        send(port, "POST", "/efg", &[], TestBody::full("x"))
            .await
            .status,
        405
    );

    assert_eq!(get_h(port, "/h", &[("X-Test", "t2")]).await.server(), "h");
    assert_eq!(
        get_h(port, "/h", &[("X-Re", "ok")]).await.server(),
        "h",
        "any entry is enough"
    );
    assert_eq!(get_h(port, "/h", &[("X-Test", "t3")]).await.status, 400);
    assert_eq!(get(port, "/h").await.status, 400);

    assert_eq!(get(port, "/q?v=1").await.server(), "q");
    assert_eq!(get(port, "/q?v=2").await.status, 400);

    let h = [("A", "1"), ("B", "xx")];
    assert_eq!(get_h(port, "/all?p=a+b&r=12", &h).await.server(), "all");
    assert_eq!(get_h(port, "/all?p=a%20b&r=12", &h).await.server(), "all");
    assert_eq!(
        get_h(port, "/all?p=a+b&r=x", &h).await.status,
        400,
        "every query must hold"
    );
    assert_eq!(
        get_h(port, "/all?p=a+b&r=1", &[("A", "1")]).await.status,
        400,
        "every header must hold"
    );
    assert_eq!(get(port, "/elsewhere").await.status, 404);
}

#[tokio::test]
async fn header_mismatch_falls_through_to_the_next_path() {
    let sup = with_backends(&["headers", "default"]);
    let port = serve(
        &sup,
        json!({"rules": [{"paths": [
            {"path": "/headers", "headers": [{"key": "X-Test", "values": ["test1"]}], "backend": "pl-headers"},
            {"pathPrefix": "/", "backend": "pl-default"},
        ]}]}),
    )
    .await;
    assert_eq!(
        get_h(port, "/headers", &[("X-Test", "test1")])
            .await
            .server(),
        "headers"
    );
    assert_eq!(
        get_h(port, "/headers", &[("X-Test", "nope")])
            .await
            .server(),
        "default"
    );
}

#[tokio::test]
async fn rewrite_target_exact_prefix_regexp_keeps_query() {
    let sup = with_backends(&["R"]);
    let port = serve(
        &sup,
        json!({"rules": [{"paths": [
            {"path": "/hig", "rewriteTarget": "/newhig", "backend": "pl-R"},
            {"pathPrefix": "/api/v1/", "rewriteTarget": "/v2/", "backend": "pl-R"},
            {"pathRegexp": "^/user/([0-9]+)$", "rewriteTarget": "/users/$1", "backend": "pl-R"},
        ]}]}),
    )
    .await;
    assert_eq!(get(port, "/hig").await.json()["path"], "/newhig");
    let body = get(port, "/api/v1/users?page=2").await.json();
    assert_eq!(body["path"], "/v2/users");
    assert_eq!(body["query"], "page=2");
    assert_eq!(get(port, "/user/42").await.json()["path"], "/users/42");
}

#[tokio::test]
async fn ip_filters_at_server_rule_and_path_answer_403() {
    let sup = with_backends(&["ok"]);
    let port = serve(&sup, json!({"ipFilter": {"blockIPs": ["127.0.0.1"]}, "rules": [{"paths": [{"backend": "pl-ok"}]}]})).await;
    assert_eq!(get(port, "/x").await.status, 403);

    let port2 = free_port();
    start(
        &sup,
        server(
            "hs2",
            port2,
            json!({"rules": [
                {"ipFilter": {"allowIPs": ["10.0.0.1"], "blockByDefault": true}, "paths": [{"path": "/r", "backend": "pl-ok"}]},
                {"paths": [
                    {"path": "/p", "ipFilter": {"blockIPs": ["127.0.0.0/8"]}, "backend": "pl-ok"},
                    {"path": "/open", "backend": "pl-ok"},
                ]},
            ]}),
        ),
    )
    .await;
    assert_eq!(
        get(port2, "/r").await.status,
        403,
        "rule filter refused and nothing else matched"
    );
    assert_eq!(get(port2, "/p").await.status, 403);
    assert_eq!(get(port2, "/open").await.server(), "ok");
}

#[tokio::test]
async fn missing_pipeline_is_503_until_created() {
    let sup = supervisor(None);
    let port = serve(
        &sup,
        json!({"rules": [{"paths": [{"pathPrefix": "/", "backend": "late"}]}]}),
    )
    .await;
    assert_eq!(get(port, "/x").await.status, 503);
    apply(&sup, echo("late", "late"));
    assert_eq!(get(port, "/x").await.server(), "late");
    sup.remove("late");
    assert_eq!(get(port, "/x").await.status, 503);
}

#[tokio::test]
async fn body_limit_413_and_streaming() {
    let sup = with_backends(&["body"]);
    let port = serve(
        &sup,
        json!({"clientMaxBodySize": 16, "rules": [{"paths": [
            {"path": "/stream", "clientMaxBodySize": -1, "backend": "pl-body"},
            {"path": "/big", "clientMaxBodySize": 1000, "backend": "pl-body"},
            {"pathPrefix": "/", "backend": "pl-body"},
        ]}]}),
    )
    .await;
    assert_eq!(
        send(
            port,
            "POST",
            "/upload",
            &[],
            TestBody::full("x".repeat(100))
        )
        .await
        .status,
        413
    );
    let chunked = TestBody::chunked(vec![
        Bytes::from("x".repeat(10)),
        Bytes::from("y".repeat(10)),
    ]);
    assert_eq!(
        send(port, "POST", "/upload", &[], chunked).await.status,
        413
    );
    assert_eq!(
        send(port, "POST", "/upload", &[], TestBody::full("small"))
            .await
            .json()["body"],
        "small"
    );
    assert_eq!(
        send(port, "POST", "/big", &[], TestBody::full("x".repeat(500)))
            .await
            .json()["bodyLen"],
        500
    );
    let big: Vec<Bytes> = (0..80)
        .map(|_| Bytes::from(vec![b'z'; 64 * 1024]))
        .collect();
    let r = send(port, "POST", "/stream", &[], TestBody::chunked(big)).await;
    assert_eq!(r.json()["bodyLen"], 80 * 64 * 1024);
}

#[tokio::test]
async fn default_body_limit_is_4_mib() {
    let sup = with_backends(&["body"]);
    let port = serve(
        &sup,
        json!({"rules": [{"paths": [{"backend": "pl-body"}]}]}),
    )
    .await;
    let four = 4 * 1024 * 1024;
    assert_eq!(
        send(port, "POST", "/", &[], TestBody::full(vec![b'a'; four]))
            .await
            .json()["bodyLen"],
        four
    );
    assert_eq!(
        send(port, "POST", "/", &[], TestBody::full(vec![b'a'; four + 1]))
            .await
            .status,
        413
    );
}

#[tokio::test]
async fn x_forwarded_for_and_trusted_proxies() {
    let sup = with_backends(&["xff"]);
    let port = serve(
        &sup,
        json!({"xForwardedFor": true, "rules": [{"paths": [{"backend": "pl-xff"}]}]}),
    )
    .await;
    let body = get(port, "/x").await.json();
    assert_eq!(body["headers"]["x-forwarded-for"], "127.0.0.1");
    let body = get_h(port, "/x", &[("X-Forwarded-For", "9.9.9.9")])
        .await
        .json();
    assert_eq!(body["headers"]["x-forwarded-for"], "9.9.9.9,127.0.0.1");
    assert_eq!(
        body["realIp"], "127.0.0.1",
        "a forged header from an untrusted peer is ignored"
    );

    // Without trusted proxies a forged X-Forwarded-For cannot escape an IP block.
    let p2 = free_port();
    start(&sup, server("hs-block", p2, json!({"ipFilter": {"blockIPs": ["127.0.0.1"]}, "rules": [{"paths": [{"backend": "pl-xff"}]}]}))).await;
    assert_eq!(
        get_h(p2, "/x", &[("X-Forwarded-For", "1.2.3.4")])
            .await
            .status,
        403
    );

    // With the peer trusted, the forwarded client is the one filtered.
    let p3 = free_port();
    start(
        &sup,
        server(
            "hs-trust",
            p3,
            json!({"trustedProxies": ["127.0.0.1/32"], "ipFilter": {"blockIPs": ["1.2.3.4"]},
                   "rules": [{"paths": [{"backend": "pl-xff"}]}]}),
        ),
    )
    .await;
    assert_eq!(
        get_h(p3, "/x", &[("X-Forwarded-For", "1.2.3.4")])
            .await
            .status,
        403
    );
    let body = get_h(p3, "/x", &[("X-Forwarded-For", "5.6.7.8")])
        .await
        .json();
    assert_eq!(body["realIp"], "5.6.7.8");
    assert_eq!(get(p3, "/x").await.json()["realIp"], "127.0.0.1");
}

#[tokio::test]
async fn route_cache_keeps_decisions_right() {
    let sup = with_backends(&["a", "h", "m"]);
    let port = serve(
        &sup,
        json!({"cacheSize": 8, "rules": [{"paths": [
            {"path": "/a", "backend": "pl-a"},
            {"path": "/h", "headers": [{"key": "X", "values": ["1"]}], "backend": "pl-h"},
            {"path": "/m", "methods": ["POST"], "backend": "pl-m"},
        ]}]}),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(get(port, "/a").await.server(), "a");
        assert_eq!(get_h(port, "/h", &[("X", "1")]).await.server(), "h");
        assert_eq!(
            get(port, "/h").await.status,
            400,
            "header routes are never cached"
        );
        assert_eq!(get(port, "/m").await.status, 405);
        assert_eq!(
            send(port, "POST", "/m", &[], TestBody::full("b"))
                .await
                .server(),
            "m"
        );
        assert_eq!(get(port, "/none").await.status, 404);
    }
}

#[tokio::test]
async fn radix_tree_priority_params_and_rewrite() {
    let sup = with_backends(&["static", "re", "param", "wild", "file"]);
    let port = serve(
        &sup,
        json!({"routerKind": "RadixTree", "rules": [{"paths": [
            {"path": "/users/*", "rewriteTarget": "/all/{EG_WILDCARD}", "backend": "pl-wild"},
            {"path": "/users/{name}", "rewriteTarget": "/by-name/{name}", "backend": "pl-param"},
            {"path": "/users/{id:[0-9]+}", "rewriteTarget": "/by-id/{id}", "backend": "pl-re"},
            {"path": "/users/new", "backend": "pl-static"},
            {"path": "/files/{name}.json", "methods": ["GET"], "backend": "pl-file"},
        ]}]}),
    )
    .await;
    let r = get(port, "/users/new").await;
    assert_eq!(
        (r.server(), r.json()["path"].clone()),
        ("static".into(), json!("/users/new"))
    );
    let r = get(port, "/users/42").await;
    assert_eq!(
        (r.server(), r.json()["path"].clone()),
        ("re".into(), json!("/by-id/42"))
    );
    let r = get(port, "/users/bob?x=1").await;
    assert_eq!(
        (r.server(), r.json()["path"].clone()),
        ("param".into(), json!("/by-name/bob"))
    );
    assert_eq!(r.json()["query"], "x=1");
    let r = get(port, "/users/bob/photos/1").await;
    assert_eq!(
        (r.server(), r.json()["path"].clone()),
        ("wild".into(), json!("/all/bob/photos/1"))
    );
    assert_eq!(get(port, "/files/report.json").await.server(), "file");
    assert_eq!(
        send(port, "POST", "/files/report.json", &[], TestBody::full("x"))
            .await
            .status,
        405
    );
    assert_eq!(get(port, "/files/report.xml").await.status, 404);
    assert_eq!(get(port, "/users").await.status, 404);
}

#[tokio::test]
async fn global_filter_wraps_the_pipeline() {
    let sup = with_backends(&["main"]);
    apply(
        &sup,
        json!({"name": "gf", "kind": "GlobalFilter", "beforePipeline": {
            "flow": [{"filter": "deny"}],
            "filters": [{"name": "deny", "kind": "Mock", "rules": [
                {"match": {"headers": {"X-Deny": {"exact": "1"}}}, "code": 418, "body": "denied"}]}],
        }}),
    );
    let port = serve(
        &sup,
        json!({"globalFilter": "gf", "rules": [{"paths": [{"backend": "pl-main"}]}]}),
    )
    .await;
    assert_eq!(get(port, "/x").await.server(), "main");
    let r = get_h(port, "/x", &[("X-Deny", "1")]).await;
    assert_eq!((r.status, r.body.as_str()), (418, "denied"));
}

#[tokio::test]
async fn backend_pool_routes_to_the_generated_pipeline() {
    let sup = supervisor(None);
    let doc = server(
        "gen",
        free_port(),
        json!({"rules": [{"paths": [
            {"path": "/own", "backend": "pl-own"},
            {"pathPrefix": "/", "backendPool": {"servers": [{"url": "http://127.0.0.1:9"}]}},
        ]}]}),
    );
    let generated = super::super::generated_pipelines(&doc);
    assert_eq!(generated.len(), 1);
    assert_eq!(generated[0]["name"], "GENERATED-gen-0-1");
    assert_eq!(generated[0]["labels"]["easegress/owner"], "HTTPServer:gen");
    assert_eq!(generated[0]["filters"][0]["kind"], "Proxy");
    assert_eq!(
        generated[0]["filters"][0]["pools"][0]["servers"][0]["url"],
        "http://127.0.0.1:9"
    );
    assert_eq!(generated[0]["flow"], json!([{"filter": "proxy"}]));
    let port = doc["port"].as_u64().unwrap() as u16;
    start(&sup, doc).await;
    // The Proxy filter is not in this test registry; an echo pipeline stands in for it.
    apply(&sup, echo("GENERATED-gen-0-1", "generated"));
    assert_eq!(get(port, "/any").await.server(), "generated");
}

/// The head of the answer to `CONNECT target` (the connection stays open when it is 200).
async fn connect_head(port: u16, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(15), s.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).to_ascii_lowercase()
}

fn mock_pipeline(name: &str, label: &str) -> Value {
    json!({
        "name": name, "kind": "Pipeline",
        "filters": [{"name": "m", "kind": "Mock", "rules": [{"code": 200, "headers": {"X-Route": label}}]}],
    })
}

/// A CONNECT's authority-form target (`host:port`) has no path: the Ordered router gives it
/// to a path entry without path conditions (here limited to CONNECT), never to one with a
/// `path`, `pathPrefix` or `pathRegexp`.
#[tokio::test]
async fn connect_is_routed_to_a_path_entry_without_path_conditions() {
    let sup = supervisor(None);
    apply(&sup, mock_pipeline("pl-connect", "connect"));
    apply(&sup, mock_pipeline("pl-root", "root"));
    let port = free_port();
    let fields = json!({"rules": [{"paths": [
        {"pathPrefix": "/", "backend": "pl-root"},
        {"methods": ["CONNECT"], "backend": "pl-connect"},
    ]}]});
    start(&sup, server("hs-connect", port, fields)).await;
    let head = connect_head(port, "example.test:443").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("x-route: connect"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    assert_eq!(get(port, "/x").await.status, 200);

    let port = free_port();
    let fields = json!({"rules": [{"paths": [{"pathPrefix": "/", "backend": "pl-root"}]}]});
    start(&sup, server("hs-prefix-only", port, fields)).await;
    let head = connect_head(port, "example.test:443").await;
    assert!(head.starts_with("http/1.1 404"), "{head}");
}

/// RedirectorV2's `ReplacePrefixMatch` replaces the `pathPrefix` of the path that routed
/// the request.
#[tokio::test]
async fn redirector_v2_replaces_the_route_prefix() {
    let sup = supervisor(None);
    apply(
        &sup,
        json!({
            "name": "pl-redirect", "kind": "Pipeline",
            "flow": [{"filter": "r"}],
            "filters": [{"name": "r", "kind": "RedirectorV2", "statusCode": 301,
                         "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/account/"}}],
        }),
    );
    let port = serve(
        &sup,
        json!({"rules": [{"paths": [
            {"pathPrefix": "/user/", "backend": "pl-redirect"},
            {"path": "/exact", "backend": "pl-redirect"},
        ]}]}),
    )
    .await;
    let resp = get(port, "/user/data/profile?x=1").await;
    assert_eq!(resp.status, 301, "{resp:?}");
    assert_eq!(
        resp.headers["location"],
        "http://127.0.0.1/account/data/profile?x=1"
    );
    // A path without a prefix: nothing to replace, no redirect (the pipeline ends without
    // a response).
    let resp = get(port, "/exact").await;
    assert_ne!(resp.status, 301, "{resp:?}");
    assert!(resp.headers.get("location").is_none());
}

/// A path's `setHeaders` sets request headers from variables before the pipeline runs; an
/// empty value deletes a header; other paths are untouched.
#[tokio::test]
async fn path_set_headers() {
    let sup = with_backends(&["A", "B"]);
    let port = serve(
        &sup,
        json!({"rules": [{"paths": [
            {"pathPrefix": "/api", "backend": "pl-A", "setHeaders": {
                "X-Real-IP": "$remote_addr",
                "X-Forwarded-For": "$proxy_add_x_forwarded_for",
                "X-Page": "p${arg_page:1}",
                "X-Who": "${http_x_user:anonymous}@$host",
                "X-Secret": "",
                "X-Static": "fixed",
            }},
            {"pathPrefix": "/", "backend": "pl-B"},
        ]}]}),
    )
    .await;
    let resp = get_h(
        port,
        "/api/x?page=3",
        &[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-secret", "s"),
            ("x-user", "bob"),
        ],
    )
    .await;
    let h = &resp.json()["headers"];
    assert_eq!(h["x-real-ip"], "127.0.0.1");
    assert_eq!(h["x-forwarded-for"], "1.2.3.4, 127.0.0.1");
    assert_eq!(h["x-page"], "p3");
    assert_eq!(h["x-who"], "bob@127.0.0.1");
    assert_eq!(h["x-static"], "fixed");
    assert!(h.get("x-secret").is_none(), "{h}");
    let h = get(port, "/api/y").await.json()["headers"].clone();
    assert_eq!(h["x-page"], "p1");
    assert_eq!(h["x-who"], "anonymous@127.0.0.1");
    let h = get_h(port, "/other", &[("x-secret", "s")]).await.json()["headers"].clone();
    assert_eq!(h["x-secret"], "s");
    assert!(h.get("x-real-ip").is_none());
}

/// RadixTree path parameters are variables of `setHeaders`.
#[tokio::test]
async fn set_headers_use_path_parameters() {
    let sup = with_backends(&["A"]);
    let port = serve(
        &sup,
        json!({"routerKind": "RadixTree", "rules": [{"paths": [
            {"path": "/users/{id}", "backend": "pl-A", "setHeaders": {"X-User-Id": "user-$id"}},
        ]}]}),
    )
    .await;
    let h = get(port, "/users/42").await.json()["headers"].clone();
    assert_eq!(h["x-user-id"], "user-42");
}

/// With a route cache, a second request to a RadixTree path with parameters is served as
/// the first: the same parameters reach `setHeaders` and `rewriteTarget`.
#[tokio::test]
async fn radix_tree_parameters_survive_the_route_cache() {
    let sup = with_backends(&["param", "wild", "static"]);
    let port = serve(
        &sup,
        json!({"routerKind": "RadixTree", "cacheSize": 16, "rules": [{"paths": [
            {"path": "/users/{id}", "rewriteTarget": "/by-id/{id}", "backend": "pl-param",
             "setHeaders": {"X-User-Id": "user-$id"}},
            {"path": "/files/*", "rewriteTarget": "/all/{EG_WILDCARD}", "backend": "pl-wild"},
            {"path": "/static", "backend": "pl-static", "setHeaders": {"X-Path": "$uri"}},
        ]}]}),
    )
    .await;
    for round in 0..3 {
        for id in ["42", "bob"] {
            let r = get(port, &format!("/users/{id}")).await;
            let body = r.json();
            assert_eq!(
                (
                    r.server(),
                    body["path"].clone(),
                    body["headers"]["x-user-id"].clone()
                ),
                (
                    "param".into(),
                    json!(format!("/by-id/{id}")),
                    json!(format!("user-{id}"))
                ),
                "round {round}"
            );
        }
        let r = get(port, "/files/a/b.txt").await;
        assert_eq!(
            (r.server(), r.json()["path"].clone()),
            ("wild".into(), json!("/all/a/b.txt")),
            "round {round}"
        );
        let r = get(port, "/static").await;
        assert_eq!(
            (r.server(), r.json()["headers"]["x-path"].clone()),
            ("static".into(), json!("/static")),
            "round {round}"
        );
    }
}
