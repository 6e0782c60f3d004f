//! What tracing adds to one proxied request, measured in-process (run on a release build:
//! `cargo test --release -p eg-tracing --test cost -- --ignored --nocapture`): the server
//! span with its attributes, the context handed to the pipeline, one proxy span injected
//! into upstream headers, both ended and queued, with batches exported to a local collector.

use std::time::Instant;

use eg_tracing::{Tracer, TracingSpec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; prints the cost per request"]
async fn cost_per_request() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    |req: http::Request<hyper::body::Incoming>| async move {
                        use http_body_util::BodyExt;
                        let _ = req.into_body().collect().await;
                        Ok::<_, std::convert::Infallible>(http::Response::new(
                            http_body_util::Full::new(bytes::Bytes::new()),
                        ))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    for rate in [1.0, 0.0] {
        let spec: TracingSpec = serde_json::from_value(serde_json::json!({
            "serviceName": "bench",
            "sampleRate": rate,
            "batchLimits": {"maxQueueSize": 65536, "batchTimeout": 50},
            "exporter": {"otlp": {"protocol": "http", "endpoint": addr.to_string(), "insecure": true}},
        }))
        .expect("spec");
        let tracer = Tracer::new(&spec.check().expect("valid")).expect("tracer");
        let head = http::Request::get("/api/orders/7?x=1")
            .header("user-agent", "bench")
            .body(())
            .expect("request")
            .into_parts()
            .0;
        let mut upstream = http::HeaderMap::new();
        let n = 200_000u32;
        let t = Instant::now();
        for _ in 0..n {
            let span = tracer.start_server_span("srv", &head, [127, 0, 0, 1].into(), false);
            let trace = span.request_trace();
            let child = trace.child("proxy#proxy#main", &http::Method::GET);
            child.upstream("http://127.0.0.1:9095", &mut upstream);
            child.end(Some(200), "");
            drop(trace);
            span.end(200);
            if tracer.dropped_spans() > 0 {
                tokio::task::yield_now().await;
            }
        }
        let per = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        println!(
            "sampleRate {rate}: {per:.3} µs per request (server + proxy span), dropped {}",
            tracer.dropped_spans()
        );
    }
}
