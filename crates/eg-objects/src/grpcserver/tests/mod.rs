//! Tests of the GRPCServer kind: a supervisor over a memory store running real pipelines,
//! and h2c gRPC clients on 127.0.0.1.

mod lifecycle;
mod proxy;
mod routing;
mod sticky;
mod validation;

use std::sync::Arc;
use std::time::Duration;

use eg_filters::{BuildContext, Built, Filter, FilterKind, FilterSpec, Handled};
use eg_protocols::grpc::{self, Code};
use eg_protocols::Context;
use eg_spec::SpecError;
use eg_supervisor::{KindRegistry, MemberInfo, Spec, Supervisor};
use eg_testkit::poll_until;
use http::HeaderValue;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{GrpcServer, GrpcServerKind};
use crate::globalfilter::GlobalFilterKind;
use crate::pipeline::PipelineKind;

/// A test filter: makes sure there is a trailers-only `OK` answer, appends its `label` to
/// the answer's `x-chain` header, and copies the request's `x-forwarded-for` into it.
pub const ANSWER: FilterKind = FilterKind {
    kind: "GrpcAnswer",
    description: "test gRPC answer",
    results: &[],
    default_spec: || json!({}),
    schema: eg_filters::object_schema,
    build: build_answer,
    check: None,
};

#[derive(Deserialize)]
struct AnswerSpec {
    #[serde(default)]
    label: String,
}

struct Answer {
    label: String,
}

fn build_answer(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = eg_filters::spec::decode_filter_spec::<AnswerSpec>(spec)?.into_parts();
    Ok(Built::new(Answer { label: s.label }, warnings))
}

impl Filter for Answer {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let xff = ctx
            .request()
            .and_then(|r| r.headers().get("x-forwarded-for").cloned());
        if ctx.response().is_none() {
            ctx.set_response(grpc::status_response(Code::Ok, ""));
        }
        if let Some(resp) = ctx.response_mut() {
            let chain = match resp.headers.get("x-chain").and_then(|v| v.to_str().ok()) {
                Some(c) => format!("{c},{}", self.label),
                None => self.label.clone(),
            };
            if let Ok(v) = HeaderValue::from_str(&chain) {
                resp.headers.insert("x-chain", v);
            }
            if let Some(x) = xff {
                resp.headers.insert("x-seen-forwarded-for", x);
            }
        }
        Handled::Done("")
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A supervisor knowing GRPCServer, Pipeline (with the answer filter, the step filter and
/// GRPCProxy) and GlobalFilter.
pub fn supervisor() -> Supervisor {
    let mut filters = eg_filters::FilterRegistry::new();
    filters
        .register(ANSWER)
        .register(crate::testkit::STEP)
        .register(eg_filters::grpcproxy::KIND);
    let filters = Arc::new(filters);
    let mut kinds = KindRegistry::new();
    kinds
        .register(Arc::new(PipelineKind::new(filters.clone())))
        .register(Arc::new(GlobalFilterKind::new(filters)))
        .register(Arc::new(GrpcServerKind::new()));
    let mut member = MemberInfo::standalone("test-member");
    member.options.disable_access_log = true;
    Supervisor::new(kinds, Arc::new(eg_store::MemStore::new()), member)
}

/// A pipeline answering with `label`.
pub fn answer(name: &str, label: &str) -> Value {
    json!({
        "name": name, "kind": "Pipeline",
        "filters": [{"name": "answer", "kind": "GrpcAnswer", "label": label}],
    })
}

/// A GRPCServer spec on 127.0.0.1:`port` with `fields` merged in.
pub fn server(name: &str, port: u16, fields: Value) -> Value {
    let mut doc = json!({"name": name, "kind": "GRPCServer", "port": port, "address": "127.0.0.1"});
    if let (Some(d), Some(f)) = (doc.as_object_mut(), fields.as_object()) {
        for (k, v) in f {
            d.insert(k.clone(), v.clone());
        }
    }
    doc
}

/// Applies a spec (any kind).
pub fn apply(sup: &Supervisor, doc: Value) {
    sup.apply_spec(Spec::from_doc(doc).unwrap());
}

/// A free port of at least 1025 (always, for ephemeral ports).
pub fn port() -> u16 {
    eg_testkit::free_port()
}

/// Applies a server spec and waits until it listens.
pub async fn start(sup: &Supervisor, doc: Value) -> Arc<GrpcServer> {
    let name = doc["name"].as_str().unwrap().to_string();
    apply(sup, doc);
    let s = crate::testkit::running::<GrpcServer>(sup, &name);
    if !poll_until(Duration::from_secs(10), || s.state() == "running").await {
        panic!("server never ran: {}", s.state());
    }
    s
}

/// The server's address.
pub fn addr(port: u16) -> std::net::SocketAddr {
    ([127, 0, 0, 1], port).into()
}
