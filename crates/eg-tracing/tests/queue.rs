//! The export queue never blocks: a collector that does not answer fills it, and further
//! spans are dropped and counted.

use eg_tracing::{Tracer, TracingSpec};

#[tokio::test]
async fn a_full_queue_drops_and_counts() {
    // Accepts connections and never answers: the first export hangs.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            conns.push(s);
        }
    });
    let spec: TracingSpec = serde_json::from_value(serde_json::json!({
        "serviceName": "s",
        "batchLimits": {"maxQueueSize": 1, "maxExportBatchSize": 1, "batchTimeout": 1},
        "exporter": {"otlp": {"protocol": "http", "endpoint": addr.to_string(), "insecure": true}},
    }))
    .expect("spec");
    let tracer = Tracer::new(&spec.check().expect("valid")).expect("tracer");
    let head = http::Request::get("/x")
        .body(())
        .expect("request")
        .into_parts()
        .0;
    for _ in 0..20 {
        let span = tracer.start_server_span("srv", &head, [127, 0, 0, 1].into(), false);
        assert!(span.is_sampled());
        span.end(200);
    }
    // At most one span is being exported and one queued; the rest were dropped.
    assert!(tracer.dropped_spans() >= 18, "{}", tracer.dropped_spans());
    hold.abort();
}
