//! A typical ResponseBuilder (a header and a few JSON-body fields) rendered through the
//! filter on a request context, and a header-only RequestAdaptor template.
// criterion's group and main macros generate undocumented public functions.
#![allow(missing_docs)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use eg_filters::{BuildContext, Filter, FilterKind, FilterSpec, Handled};
use eg_protocols::{Body, Context, HttpRequest, HttpResponse};
use eg_supervisor::{KindRegistry, MemberInfo, Supervisor};
use serde_json::json;

const RESPONSE_TEMPLATE: &str = r#"statusCode: {{.resp.StatusCode}}
headers:
  X-Request-Id: [{{.req.Header.Get "X-Request-Id" | quote}}]
  Content-Type: ["application/json"]
body: |
  {"user": "{{.resp.JSONBody.user.name | jsonEscape}}", "total": {{.resp.JSONBody.total}}, "items": {{len .resp.JSONBody.items}}, "ok": {{if eq .resp.JSONBody.status "ok"}}true{{else}}false{{end}}}
"#;

const UPSTREAM_BODY: &str =
    r#"{"user": {"name": "alice", "id": 7}, "total": 12.50, "status": "ok", "items": [1, 2, 3]}"#;

const ADAPTOR_TEMPLATE: &str =
    "header:\n  set:\n    X-Orig-Host: '{{ .req.Host }}'\n    X-Orig-Method: '{{ .req.Method }}'\n";

fn filter(kind: &FilterKind, doc: serde_json::Value) -> Box<dyn Filter> {
    let sup = Supervisor::new(
        KindRegistry::new(),
        Arc::new(eg_store::MemStore::new()),
        MemberInfo::standalone("bench"),
    );
    let spec = FilterSpec {
        name: "f".into(),
        kind: kind.kind.into(),
        doc,
        pipeline: "p".into(),
        path: "filters[0]".into(),
    };
    let res = eg_filters::resilience::Policies::new();
    (kind.build)(&spec, &BuildContext::new(&sup, &res))
        .expect("builds")
        .filter
}

fn context() -> Context {
    let mut req = HttpRequest::simple(http::Method::GET, "/api/orders?id=7").expect("request");
    let h = req.headers_mut();
    h.insert("host", "gw.example.com".parse().expect("value"));
    h.insert("x-request-id", "abc-123".parse().expect("value"));
    h.insert("accept", "application/json".parse().expect("value"));
    h.insert("user-agent", "bench/1".parse().expect("value"));
    let mut ctx = Context::new(
        req,
        "127.0.0.1:40000".parse().expect("addr"),
        "127.0.0.1".parse().expect("ip"),
    );
    let mut resp = HttpResponse::new(http::StatusCode::OK);
    resp.headers
        .insert("content-type", "application/json".parse().expect("value"));
    resp.body = Body::full(UPSTREAM_BODY);
    ctx.set_response(resp);
    ctx
}

fn done(h: Handled<'_>) -> &'static str {
    match h {
        Handled::Done(r) => r,
        Handled::Pending(_) => panic!("a buffered context renders synchronously"),
    }
}

fn bench(c: &mut Criterion) {
    let rb = filter(
        &eg_filters::builder::responsebuilder::KIND,
        json!({"template": RESPONSE_TEMPLATE}),
    );
    {
        let mut ctx = context();
        assert_eq!(done(rb.handle(&mut ctx)), "");
        let body = ctx.response().and_then(|r| r.body.bytes().cloned());
        assert_eq!(
            body.as_deref(),
            Some(
                &br#"{"user": "alice", "total": 12.50, "items": 3, "ok": true}
"#[..]
            )
        );
    }
    c.bench_function("response_builder_filter", |b| {
        b.iter_batched_ref(context, |ctx| done(rb.handle(ctx)), BatchSize::SmallInput)
    });
    let ra = filter(
        &eg_filters::requestadaptor::KIND,
        json!({"template": ADAPTOR_TEMPLATE}),
    );
    c.bench_function("request_adaptor_header_template", |b| {
        b.iter_batched_ref(context, |ctx| done(ra.handle(ctx)), BatchSize::SmallInput)
    });
    let st = filter(
        &eg_filters::requestadaptor::KIND,
        json!({"header": {"set": {"X-Adapt-Key": "goodplan"}}}),
    );
    c.bench_function("request_adaptor_static_header", |b| {
        b.iter_batched_ref(context, |ctx| done(st.handle(ctx)), BatchSize::SmallInput)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
