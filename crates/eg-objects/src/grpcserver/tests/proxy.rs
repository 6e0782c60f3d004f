//! GRPCServer → Pipeline → GRPCProxy → gRPC test service, end to end.

use eg_testkit::{GrpcClient, GrpcUpstream};
use serde_json::json;

use super::*;

fn proxy_pipeline(name: &str, fields: Value) -> Value {
    let mut filter = json!({"name": "proxy", "kind": "GRPCProxy"});
    for (k, v) in fields.as_object().unwrap() {
        filter[k] = v.clone();
    }
    json!({"name": name, "kind": "Pipeline", "filters": [filter]})
}

fn pools(servers: &[&GrpcUpstream]) -> Value {
    let servers: Vec<Value> = servers
        .iter()
        .map(|u| json!({"url": format!("http://{}", u.addr)}))
        .collect();
    json!({"pools": [{"servers": servers}]})
}

async fn gateway(sup: &Supervisor, pipeline: Value) -> GrpcClient {
    let name = pipeline["name"].as_str().unwrap().to_string();
    apply(sup, pipeline);
    let p = port();
    start(
        sup,
        server("g", p, json!({"rules": [{"methods": [{"backend": name}]}]})),
    )
    .await;
    GrpcClient::connect(addr(p)).await
}

#[tokio::test]
async fn unary_and_streaming_calls_are_relayed_with_trailers() {
    let up = GrpcUpstream::start("up1").await;
    let sup = supervisor();
    let c = gateway(&sup, proxy_pipeline("p", pools(&[&up]))).await;

    let r = c
        .unary("/test.Echo/Unary", &[("x-meta", "m")], "hello")
        .await;
    assert_eq!(r.texts(), ["up1:hello"]);
    assert_eq!(
        (r.status(), r.headers["x-upstream"].to_str().unwrap()),
        (Some(0), "up1")
    );
    assert_eq!(r.trailers["x-upstream-trailer"], "up1");
    assert_eq!(up.seen()[0].headers["x-meta"], "m");

    let r = c.unary("/test.Echo/ServerStream", &[], "3").await;
    assert_eq!(
        (r.texts(), r.status()),
        (vec!["0".to_string(), "1".into(), "2".into()], Some(0))
    );

    let r = c
        .call("/test.Echo/ClientStream", &[], &["a", "b", "c"])
        .await;
    assert_eq!(
        (r.texts(), r.status()),
        (vec!["3:a,b,c".to_string()], Some(0))
    );

    // Bidirectional: each answer arrives before the next message is sent, so nothing is
    // buffered on the way.
    let mut call = c.open("/test.Echo/Bidi", &[]).await;
    for m in ["one", "two", "three"] {
        call.send(m.as_bytes());
        assert_eq!(call.next().await.as_deref(), Some(m.as_bytes()));
    }
    call.close_send();
    let r = call.finish().await;
    assert_eq!(
        (
            r.status(),
            r.trailers["x-upstream-trailer"].to_str().unwrap()
        ),
        (Some(0), "up1")
    );
}

#[tokio::test]
async fn error_statuses_pass_through() {
    let up = GrpcUpstream::start("up1").await;
    let sup = supervisor();
    let c = gateway(&sup, proxy_pipeline("p", pools(&[&up]))).await;
    let r = c
        .unary("/test.Echo/Fail", &[("x-fail-code", "9")], "x")
        .await;
    assert_eq!(
        (r.status(), r.message()),
        (Some(9), "failed on purpose".to_string())
    );
}

#[tokio::test]
async fn deadlines_end_hanging_calls() {
    let up = GrpcUpstream::start("up1").await;
    let sup = supervisor();
    let c = gateway(&sup, proxy_pipeline("p", pools(&[&up]))).await;
    let r = c
        .unary("/test.Echo/Hang", &[("grpc-timeout", "100m")], "x")
        .await;
    assert_eq!(r.status(), Some(4), "DeadlineExceeded");
    assert_eq!(up.seen()[0].headers["grpc-timeout"], "100m");

    let mut spec = pools(&[&up]);
    spec["timeout"] = json!("100ms");
    apply(&sup, proxy_pipeline("p", spec));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = c.unary("/test.Echo/Hang", &[], "x").await;
        if r.status() == Some(4) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timeout never applied"
        );
    }
}

#[tokio::test]
async fn forward_sends_to_the_address_in_the_header() {
    let (a, b) = (
        GrpcUpstream::start("a").await,
        GrpcUpstream::start("b").await,
    );
    let sup = supervisor();
    let spec = json!({"pools": [{"loadBalance": {"policy": "forward", "forwardKey": "x-target"}}]});
    let c = gateway(&sup, proxy_pipeline("p", spec)).await;
    for (up, label) in [(&a, "a"), (&b, "b")] {
        let target = up.addr.to_string();
        let r = c
            .unary("/test.Echo/Unary", &[("x-target", &target)], "m")
            .await;
        assert_eq!(r.texts(), [format!("{label}:m")]);
    }
    let r = c.unary("/test.Echo/Unary", &[], "m").await;
    assert_eq!(
        (r.status(), r.message()),
        (Some(13), "server url invalid".to_string())
    );
}

#[tokio::test]
async fn method_matchers_choose_a_candidate_pool() {
    let (main, cand) = (
        GrpcUpstream::start("main").await,
        GrpcUpstream::start("cand").await,
    );
    let sup = supervisor();
    let spec = json!({"pools": [
        {"servers": [{"url": format!("http://{}", cand.addr)}],
         "filter": {"methods": [{"prefix": "/test.Echo/Server"}]}},
        {"servers": [{"url": format!("http://{}", main.addr)}]},
    ]});
    let c = gateway(&sup, proxy_pipeline("p", spec)).await;
    let r = c.unary("/test.Echo/ServerStream", &[], "1").await;
    assert_eq!(r.headers["x-upstream"], "cand");
    let r = c.unary("/test.Echo/Unary", &[], "1").await;
    assert_eq!(r.headers["x-upstream"], "main");
}

#[tokio::test]
async fn the_circuit_breaker_opens_and_short_circuits() {
    let up = GrpcUpstream::start("up1").await;
    let sup = supervisor();
    let pipeline = json!({"name": "p", "kind": "Pipeline",
        "resilience": [{"name": "cb", "kind": "CircuitBreaker", "slidingWindowType": "COUNT_BASED",
                        "failureRateThreshold": 50, "slidingWindowSize": 2, "minimumNumberOfCalls": 2,
                        "waitDurationInOpenState": "1m"}],
        "filters": [{"name": "proxy", "kind": "GRPCProxy",
                     "pools": [{"servers": [{"url": format!("http://{}", up.addr)}],
                                "circuitBreakerPolicy": "cb"}]}]});
    let c = gateway(&sup, pipeline).await;
    for _ in 0..2 {
        assert_eq!(
            c.unary("/test.Echo/Fail", &[], "x").await.status(),
            Some(13)
        );
    }
    let seen = up.calls();
    let r = c.unary("/test.Echo/Unary", &[], "x").await;
    assert_eq!(
        (r.status(), r.message()),
        (
            Some(14),
            "short circuited by circuit break policy".to_string()
        )
    );
    assert_eq!(
        up.calls(),
        seen,
        "a short-circuited call does not reach the upstream"
    );
}

#[test]
fn bad_proxy_specs_name_their_field() {
    let sup = supervisor();
    let validate = |filter: Value| {
        let mut f = json!({"name": "proxy", "kind": "GRPCProxy"});
        for (k, v) in filter.as_object().unwrap() {
            f[k] = v.clone();
        }
        let doc = json!({"name": "p", "kind": "Pipeline", "filters": [f]});
        sup.kinds()
            .get("Pipeline")
            .unwrap()
            .validate(&Spec::from_doc(doc).unwrap(), &sup)
    };
    let pool = json!([{"servers": [{"url": "http://127.0.0.1:9000"}]}]);
    assert!(validate(json!({"pools": pool})).is_ok());
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "filters[0].pools"),
        (
            json!({"pools": [{"servers": [{"url": "http://a:1"}], "filter": {"methods": [{"exact": "/a"}]}}]}),
            "filters[0].pools",
        ),
        (
            json!({"pools": pool, "timeout": "soon"}),
            "filters[0].timeout",
        ),
        (
            json!({"pools": pool, "borrowTimeout": "1y"}),
            "filters[0].borrowTimeout",
        ),
        (
            json!({"pools": pool, "connectTimeout": 3}),
            "filters[0].connectTimeout",
        ),
        (
            json!({"pools": pool, "maxIdleConnsPerHost": 0}),
            "filters[0].maxIdleConnsPerHost",
        ),
        (
            json!({"pools": [{"servers": []}]}),
            "filters[0].pools[0].servers",
        ),
        (
            json!({"pools": [{"servers": [{"url": "https://a:1"}]}]}),
            "filters[0].pools[0].servers[0].url",
        ),
        (
            json!({"pools": [{"servers": [{"url": "http://a:1", "tags": ["x"]}], "serverTags": ["y"]}]}),
            "filters[0].pools[0].serverTags",
        ),
        (
            json!({"pools": [{"servers": [{"url": "http://a:1"}], "loadBalance": {"policy": "nope"}}]}),
            "filters[0].pools[0].loadBalance.policy",
        ),
        (
            json!({"pools": [{"loadBalance": {"policy": "forward"}}]}),
            "filters[0].pools[0].loadBalance.forwardKey",
        ),
        (
            json!({"pools": [{"servers": [{"url": "http://a:1"}], "loadBalance": {"policy": "headerHash"}}]}),
            "filters[0].pools[0].loadBalance.headerHashKey",
        ),
        (
            json!({"pools": [pool[0].clone(), {"servers": [{"url": "http://a:1"}], "filter": {"methods": [{"regex": "("}]}}]}),
            "filters[0].pools[1].filter.methods[0]",
        ),
        (
            json!({"pools": [pool[0].clone(), {"servers": [{"url": "http://a:1"}], "filter": {}}]}),
            "filters[0].pools[1].filter.headers",
        ),
        (
            json!({"pools": [{"servers": [{"url": "http://a:1"}], "circuitBreakerPolicy": "missing"}]}),
            "filters[0].pools[0].circuitBreakerPolicy",
        ),
        (
            json!({"pools": [{"servers": [{"url": "http://a:1"}], "serviceName": "svc"}]}),
            "filters[0].pools[0].serviceName",
        ),
        (
            json!({"pools": [{"servers": [{"url": "http://a:1"}], "loadBalance": {"stickySession": {"mode": "Sometimes"}}}]}),
            "filters[0].pools[0].loadBalance.stickySession.mode",
        ),
        (
            json!({"pools": [{"servers": [{"url": "http://a:1"}], "loadBalance": {"stickySession": {"mode": "CookieConsistentHash"}}}]}),
            "filters[0].pools[0].loadBalance.stickySession.appCookieName",
        ),
        (
            json!({"pools": [{"servers": [{"url": "http://a:1"}], "loadBalance": {"stickySession": {"mode": "DurationBased", "lbCookieName": "a;b"}}}]}),
            "filters[0].pools[0].loadBalance.stickySession.lbCookieName",
        ),
        (
            json!({"pools": [{"servers": [{"url": "http://a:1"}], "loadBalance": {"stickySession": {"mode": "DurationBased", "lbCookieExpire": "long"}}}]}),
            "filters[0].pools[0].loadBalance.stickySession.lbCookieExpire",
        ),
        (
            json!({"pools": [{"loadBalance": {"policy": "forward", "forwardKey": "x-t", "stickySession": {"mode": "DurationBased"}}}]}),
            "filters[0].pools[0].loadBalance.stickySession",
        ),
    ];
    for (fields, field) in cases {
        let err = validate(fields.clone()).expect_err(&fields.to_string());
        assert!(
            err.to_string().starts_with(field),
            "{fields}: {err} should name {field}"
        );
    }
}
