//! Tracing end to end: an HTTPServer with `tracing` in front of a Proxy, an in-process
//! collector decoding what is exported (OTLP protobuf over HTTP and gRPC, Zipkin JSON), and
//! a mock upstream recording the propagation headers it receives.

use std::io::Read;
use std::net::SocketAddr;

use eg_testkit::{Reply, Upstream};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, Span};
use parking_lot::Mutex;
use prost::Message;

use eg_supervisor::Object;

use super::validation;
use super::*;

/// One export the collector received.
#[derive(Debug, Clone)]
struct Export {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A collector on 127.0.0.1 speaking HTTP/1.1 and HTTP/2 (h2c, for gRPC); answers 200
/// (with `grpc-status: 0` to gRPC calls).
struct Collector {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Export>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Collector {
    async fn start() -> Collector {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Export>>> = Arc::default();
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: http::Request<Incoming>| {
                        let record = record.clone();
                        async move {
                            let (head, body) = req.into_parts();
                            let body = body.collect().await.map(|c| c.to_bytes());
                            let grpc = head
                                .headers
                                .get("content-type")
                                .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
                            record.lock().push(Export {
                                path: head.uri.path().to_string(),
                                headers: head.headers,
                                body: body.unwrap_or_default(),
                            });
                            let mut resp =
                                http::Response::new(http_body_util::Full::new(Bytes::new()));
                            if grpc {
                                resp.headers_mut()
                                    .insert("content-type", "application/grpc".parse().unwrap());
                                resp.headers_mut()
                                    .insert("grpc-status", "0".parse().unwrap());
                            }
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Collector { addr, seen, task }
    }

    fn exports(&self) -> Vec<Export> {
        self.seen.lock().clone()
    }

    /// OTLP spans of every export so far (HTTP or gRPC, gzip or not).
    fn otlp_spans(&self) -> Vec<Span> {
        let mut out = Vec::new();
        for e in self.exports() {
            let mut raw = e.body.to_vec();
            if e.path.ends_with("/Export") {
                assert!(raw.len() >= 5, "short gRPC frame");
                let compressed = raw[0] == 1;
                let len = u32::from_be_bytes([raw[1], raw[2], raw[3], raw[4]]) as usize;
                raw = raw[5..5 + len].to_vec();
                if compressed {
                    raw = gunzip(&raw);
                }
            } else if e
                .headers
                .get("content-encoding")
                .is_some_and(|v| v == "gzip")
            {
                raw = gunzip(&raw);
            }
            let req = ExportTraceServiceRequest::decode(raw.as_slice()).expect("OTLP protobuf");
            for rs in req.resource_spans {
                for ss in rs.scope_spans {
                    out.extend(ss.spans);
                }
            }
        }
        out
    }

    /// Waits until at least `n` OTLP spans arrived.
    async fn wait_otlp(&self, n: usize) -> Vec<Span> {
        assert!(
            poll_until(Duration::from_secs(10), || self.otlp_spans().len() >= n).await,
            "collector got {} spans, want {n}",
            self.otlp_spans().len()
        );
        self.otlp_spans()
    }
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    let v = attrs
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .clone()?
        .value?;
    Some(match v {
        any_value::Value::StringValue(s) => s,
        any_value::Value::IntValue(i) => i.to_string(),
        other => format!("{other:?}"),
    })
}

fn named<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
}

/// A pipeline `p` proxying to `url`, its main pool with `pool` fields merged in.
fn proxy_pipeline(url: &str, pool: Value) -> Value {
    let mut p = json!({"servers": [{"url": url}]});
    if let (Some(d), Some(f)) = (p.as_object_mut(), pool.as_object()) {
        for (k, v) in f {
            d.insert(k.clone(), v.clone());
        }
    }
    json!({
        "name": "p", "kind": "Pipeline",
        "flow": [{"filter": "proxy"}],
        "filters": [{"name": "proxy", "kind": "Proxy", "pools": [p]}],
    })
}

/// Starts the pipeline and a traced server `srv` routing everything to it.
async fn traced(sup: &Supervisor, tracing: Value, pipeline: Value) -> u16 {
    apply(sup, pipeline);
    let port = free_port();
    start(
        sup,
        server(
            "srv",
            port,
            json!({"tracing": tracing, "rules": [{"paths": [{"pathPrefix": "/", "backend": "p"}]}]}),
        ),
    )
    .await;
    port
}

fn otlp(protocol: &str, c: &Collector, extra: Value) -> Value {
    let mut t = json!({
        "serviceName": "edge",
        "attributes": {"deployment.environment": "test"},
        "batchLimits": {"batchTimeout": 20},
        "exporter": {"otlp": {"protocol": protocol, "endpoint": c.addr.to_string(), "insecure": true}},
    });
    if let (Some(d), Some(f)) = (t.as_object_mut(), extra.as_object()) {
        for (k, v) in f {
            d.insert(k.clone(), v.clone());
        }
    }
    t
}

#[tokio::test]
async fn otlp_http_exports_the_server_span_and_the_proxy_span_below_it() {
    let up = Upstream::start(|_| Reply::text(200, "up")).await;
    let col = Collector::start().await;
    let sup = supervisor(None);
    let port = traced(
        &sup,
        otlp("http", &col, json!({})),
        proxy_pipeline(&up.url(), json!({})),
    )
    .await;

    let r = get(port, "/orders/7?x=1").await;
    assert_eq!(r.status, 200);
    let spans = col.wait_otlp(2).await;
    // The queue's counters are in the server's status.
    let exported = || running(&sup, "srv").status()["tracing"]["exportedSpans"] == 2;
    assert!(poll_until(Duration::from_secs(10), exported).await);
    assert_eq!(running(&sup, "srv").status()["tracing"]["droppedSpans"], 0);
    assert!(col
        .exports()
        .iter()
        .all(|e| e.path == "/v1/traces" && e.headers["content-type"] == "application/x-protobuf"));

    let server = named(&spans, "srv");
    assert_eq!(server.kind, SpanKind::Server as i32);
    assert!(
        server.parent_span_id.is_empty(),
        "a new trace has no parent"
    );
    assert_eq!(
        attr(&server.attributes, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        attr(&server.attributes, "url.path").as_deref(),
        Some("/orders/7")
    );
    assert_eq!(
        attr(&server.attributes, "url.query"),
        None,
        "queries are not recorded"
    );
    assert_eq!(
        attr(&server.attributes, "http.response.status_code").as_deref(),
        Some("200")
    );

    let proxy = named(&spans, "proxy#proxy#main");
    assert_eq!(proxy.kind, SpanKind::Client as i32);
    assert_eq!(proxy.trace_id, server.trace_id);
    assert_eq!(
        proxy.parent_span_id, server.span_id,
        "the proxy span is the server span's child"
    );
    assert_eq!(attr(&proxy.attributes, "server.url"), Some(up.url()));

    // The upstream got the proxy span's context, sampled.
    let tp = up.last().headers["traceparent"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        tp,
        format!("00-{}-{}-01", hex(&server.trace_id), hex(&proxy.span_id))
    );

    // service.name and attributes are resource attributes.
    let body = col.exports()[0].body.clone();
    let req = ExportTraceServiceRequest::decode(body.as_ref()).unwrap();
    let res = req.resource_spans[0].resource.clone().unwrap();
    assert_eq!(
        attr(&res.attributes, "service.name").as_deref(),
        Some("edge")
    );
    assert_eq!(
        attr(&res.attributes, "deployment.environment").as_deref(),
        Some("test")
    );
}

#[tokio::test]
async fn an_incoming_traceparent_is_continued() {
    let up = Upstream::start(|_| Reply::text(200, "up")).await;
    let col = Collector::start().await;
    let sup = supervisor(None);
    let port = traced(
        &sup,
        otlp("http", &col, json!({})),
        proxy_pipeline(&up.url(), json!({})),
    )
    .await;

    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    let tp = format!("00-{trace}-{parent}-01");
    let r = get_h(
        port,
        "/",
        &[("traceparent", &tp), ("tracestate", "vendor=x")],
    )
    .await;
    assert_eq!(r.status, 200);
    let spans = col.wait_otlp(2).await;
    let server = named(&spans, "srv");
    assert_eq!(hex(&server.trace_id), trace);
    assert_eq!(hex(&server.parent_span_id), parent);
    let seen = up.last().headers;
    let sent = seen["traceparent"].to_str().unwrap();
    assert!(
        sent.starts_with(&format!("00-{trace}-")) && sent.ends_with("-01"),
        "{sent}"
    );
    assert_eq!(seen["tracestate"], "vendor=x");
}

#[tokio::test]
async fn sample_rate_zero_exports_nothing_of_new_traces_and_sends_them_unsampled() {
    let up = Upstream::start(|_| Reply::text(200, "up")).await;
    let col = Collector::start().await;
    let sup = supervisor(None);
    let port = traced(
        &sup,
        otlp("http", &col, json!({"sampleRate": 0})),
        proxy_pipeline(&up.url(), json!({})),
    )
    .await;

    assert_eq!(get(port, "/a").await.status, 200);
    let tp = up.last().headers["traceparent"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(tp.ends_with("-00"), "not sampled: {tp}");
    // A caller's sampled trace is still followed (parent-based); its spans are queued after
    // the unsampled request's would have been, so once they arrived nothing else did.
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let tp = format!("00-{trace}-b7ad6b7169203331-01");
    assert_eq!(get_h(port, "/b", &[("traceparent", &tp)]).await.status, 200);
    let spans = col.wait_otlp(2).await;
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert!(spans.iter().all(|s| hex(&s.trace_id) == trace));
}

#[tokio::test]
async fn otlp_grpc_with_gzip_and_a_span_name() {
    let up = Upstream::start(|_| Reply::text(200, "up")).await;
    let col = Collector::start().await;
    let sup = supervisor(None);
    let mut t = otlp("grpc", &col, json!({}));
    t["exporter"]["otlp"]["compression"] = json!("gzip");
    let port = traced(
        &sup,
        t,
        proxy_pipeline(&up.url(), json!({"spanName": "backend-call"})),
    )
    .await;

    assert_eq!(get(port, "/").await.status, 200);
    let spans = col.wait_otlp(2).await;
    let e = &col.exports()[0];
    assert_eq!(
        e.path,
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    );
    assert_eq!(e.headers["content-type"], "application/grpc");
    assert_eq!(e.headers["grpc-encoding"], "gzip");
    assert_eq!(e.body[0], 1, "compressed flag");
    let server = named(&spans, "srv");
    let proxy = named(&spans, "backend-call");
    assert_eq!(proxy.parent_span_id, server.span_id);
}

#[tokio::test]
async fn b3_headers_and_zipkin_json_with_an_error_status_for_5xx() {
    let up = Upstream::start(|s| {
        if s.target == "/fail" {
            Reply::text(503, "down")
        } else {
            Reply::text(200, "up")
        }
    })
    .await;
    let col = Collector::start().await;
    let sup = supervisor(None);
    let t = json!({
        "serviceName": "edge",
        "headerFormat": "b3",
        "batchLimits": {"batchTimeout": 20},
        "exporter": {"zipkin": {"endpoint": format!("http://{}/api/v2/spans", col.addr)}},
    });
    let port = traced(&sup, t, proxy_pipeline(&up.url(), json!({}))).await;

    assert_eq!(get(port, "/fail").await.status, 503);
    let b3 = up.last().headers["b3"].to_str().unwrap().to_string();
    assert!(up.last().headers.get("traceparent").is_none());
    let parts: Vec<&str> = b3.split('-').collect();
    assert_eq!((parts.len(), parts[2]), (3, "1"), "{b3}");

    let spans = || -> Vec<Value> {
        col.exports()
            .iter()
            .flat_map(|e| {
                assert_eq!(e.path, "/api/v2/spans");
                serde_json::from_slice::<Vec<Value>>(&e.body).expect("zipkin JSON")
            })
            .collect()
    };
    assert!(poll_until(Duration::from_secs(10), || spans().len() >= 2).await);
    let spans = spans();
    let server = spans.iter().find(|s| s["name"] == "srv").unwrap();
    let proxy = spans
        .iter()
        .find(|s| s["name"] == "proxy#proxy#main")
        .unwrap();
    assert_eq!(server["kind"], "SERVER");
    assert_eq!(proxy["kind"], "CLIENT");
    assert_eq!(server["localEndpoint"]["serviceName"], "edge");
    assert_eq!(proxy["parentId"], server["id"]);
    assert_eq!(proxy["traceId"], parts[0]);
    assert_eq!(proxy["id"], parts[1]);
    assert_eq!(server["tags"]["http.response.status_code"], "503");
    assert_eq!(server["tags"]["otel.status_code"], "ERROR");
    assert_eq!(proxy["tags"]["otel.status_code"], "ERROR");
}

/// The tracer the running generation of `name` uses.
fn tracer_of(sup: &Supervisor, name: &str) -> Option<Arc<eg_tracing::Tracer>> {
    running(sup, name)
        .generation
        .current()
        .and_then(|m| m.tracer().cloned())
}

#[tokio::test]
async fn the_tracer_is_kept_while_tracing_is_unchanged() {
    let col = Collector::start().await;
    let sup = supervisor(None);
    let port = free_port();
    let doc = |tracing: Value, path: &str| {
        server(
            "srv",
            port,
            json!({"tracing": tracing, "rules": [{"paths": [{"pathPrefix": path, "backend": "p"}]}]}),
        )
    };
    let t = otlp("http", &col, json!({}));
    start(&sup, doc(t.clone(), "/")).await;
    let first = tracer_of(&sup, "srv").expect("a tracer");
    // Other fields change: same tracer (same queue and connections).
    start(&sup, doc(t.clone(), "/api")).await;
    let second = tracer_of(&sup, "srv").expect("a tracer");
    assert!(Arc::ptr_eq(&first, &second));
    // tracing changes: a new one.
    let mut t2 = t.clone();
    t2["sampleRate"] = json!(0.5);
    start(&sup, doc(t2, "/api")).await;
    let third = tracer_of(&sup, "srv").expect("a tracer");
    assert!(!Arc::ptr_eq(&second, &third));
    // tracing removed: none.
    start(&sup, server("srv", port, json!({"rules": []}))).await;
    assert!(tracer_of(&sup, "srv").is_none());
}

#[tokio::test]
async fn without_tracing_nothing_is_injected() {
    let up = Upstream::start(|_| Reply::text(200, "up")).await;
    let sup = supervisor(None);
    apply(&sup, proxy_pipeline(&up.url(), json!({})));
    let port = free_port();
    start(
        &sup,
        server(
            "plain",
            port,
            json!({"rules": [{"paths": [{"pathPrefix": "/", "backend": "p"}]}]}),
        ),
    )
    .await;
    assert_eq!(get(port, "/").await.status, 200);
    let h = up.last().headers;
    assert!(h.get("traceparent").is_none() && h.get("b3").is_none());
}

#[test]
fn bad_tracing_specs_name_the_field() {
    let sup = supervisor(None);
    let otlp = json!({"otlp": {"protocol": "http", "endpoint": "127.0.0.1:4318"}});
    let ok = |extra: Value| {
        let mut t = json!({"serviceName": "s", "exporter": otlp.clone()});
        if let (Some(d), Some(f)) = (t.as_object_mut(), extra.as_object()) {
            for (k, v) in f {
                d.insert(k.clone(), v.clone());
            }
        }
        t
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"exporter": otlp.clone()}),
            "tracing.serviceName",
            "required",
        ),
        (
            ok(json!({"sampleRate": 1.5})),
            "tracing.sampleRate",
            "between 0 and 1",
        ),
        (
            ok(json!({"sampleRate": -0.1})),
            "tracing.sampleRate",
            "between 0 and 1",
        ),
        (
            ok(json!({"headerFormat": "jaeger"})),
            "tracing.headerFormat",
            "trace-context or b3",
        ),
        (
            json!({"serviceName": "s"}),
            "tracing.exporter",
            "cannot both be empty",
        ),
        (
            ok(json!({"zipkin": {"serverURL": "http://z:9411/api/v2/spans", "sampleRate": 1}})),
            "tracing.zipkin",
            "same time",
        ),
        (
            ok(json!({"tags": {"a": "b"}, "attributes": {"a": "b"}})),
            "tracing.attributes",
            "same time",
        ),
        (
            ok(json!({"exporter": {}})),
            "tracing.exporter",
            "cannot be empty",
        ),
        (
            ok(json!({"exporter": {"otlp": {"protocol": "udp", "endpoint": "h:1"}}})),
            "tracing.exporter.otlp.protocol",
            "http or grpc",
        ),
        (
            ok(json!({"exporter": {"otlp": {"protocol": "grpc"}}})),
            "tracing.exporter.otlp.endpoint",
            "required",
        ),
        (
            ok(json!({"exporter": {"otlp": {"protocol": "grpc", "endpoint": "collector"}}})),
            "tracing.exporter.otlp.endpoint",
            "host:port",
        ),
        (
            ok(
                json!({"exporter": {"otlp": {"protocol": "http", "endpoint": "h:1", "compression": "zstd"}}}),
            ),
            "tracing.exporter.otlp.compression",
            "gzip",
        ),
        (
            ok(json!({"exporter": {"zipkin": {"endpoint": "zipkin:9411"}}})),
            "tracing.exporter.zipkin.endpoint",
            "http://",
        ),
        (
            ok(json!({"exporter": {"jaeger": {"mode": "agent", "endpoint": "j:6831"}}})),
            "tracing.exporter.jaeger.mode",
            "not supported",
        ),
        (
            ok(
                json!({"exporter": {"jaeger": {"mode": "collector", "endpoint": "http://j:14268/api/traces"}}}),
            ),
            "tracing.exporter.jaeger.endpoint",
            "OTLP",
        ),
        (
            ok(json!({"exporter": {"jaeger": {"endpoint": "http://j:4318"}}})),
            "tracing.exporter.jaeger.mode",
            "required",
        ),
        (
            json!({"serviceName": "s", "zipkin": {"serverURL": "http://z:9411/api/v2/spans"}}),
            "tracing.zipkin.sampleRate",
            "required",
        ),
        (
            ok(json!({"batchLimits": {"maxQueueSize": -1}})),
            "tracing.batchLimits.maxQueueSize",
            "negative",
        ),
        (
            ok(json!({"sampleRate": "all"})),
            "tracing.sampleRate",
            "invalid type",
        ),
    ];
    for (tracing, want_path, want_msg) in cases {
        let doc = server("hs", 8080, json!({"tracing": tracing}));
        let err = validation::validate(&sup, doc).unwrap_err();
        assert_eq!(err.path, want_path, "{tracing}: {err}");
        assert!(err.message.contains(want_msg), "{tracing}: {err}");
    }
    // A good spec passes, its unknown keys as warnings.
    let doc = server("hs", 8080, json!({"tracing": ok(json!({"sampler": 1}))}));
    let warnings = validation::validate(&sup, doc).unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("tracing.sampler")),
        "{warnings:?}"
    );
}
