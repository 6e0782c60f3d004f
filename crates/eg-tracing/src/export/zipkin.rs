//! Zipkin: finished spans as a JSON v2 array POSTed to the span API.

use std::time::SystemTime;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use serde_json::{json, Map, Value};

use super::Clients;

fn micros(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn tag(tags: &mut Map<String, Value>, kv: &KeyValue) {
    tags.insert(kv.key.to_string(), Value::String(kv.value.to_string()));
}

/// The Zipkin v2 JSON of one span.
pub(crate) fn span_json(s: &SpanData, resource: &Resource, service_name: &str) -> Value {
    let mut tags = Map::new();
    for (k, v) in resource.iter() {
        if k.as_str() != "service.name" && !k.as_str().starts_with("telemetry.sdk.") {
            tags.insert(k.to_string(), Value::String(v.to_string()));
        }
    }
    for kv in &s.attributes {
        tag(&mut tags, kv);
    }
    match &s.status {
        Status::Error { description } => {
            tags.insert("otel.status_code".into(), "ERROR".into());
            tags.insert("error".into(), Value::String(description.to_string()));
        }
        Status::Ok => {
            tags.insert("otel.status_code".into(), "OK".into());
        }
        Status::Unset => {}
    }
    tags.insert(
        "otel.scope.name".into(),
        Value::String(s.instrumentation_scope.name().to_string()),
    );
    let start = micros(s.start_time);
    let mut v = json!({
        "traceId": s.span_context.trace_id().to_string(),
        "id": s.span_context.span_id().to_string(),
        "name": s.name,
        "timestamp": start,
        "duration": micros(s.end_time).saturating_sub(start).max(1),
        "localEndpoint": { "serviceName": service_name },
        "tags": tags,
    });
    if s.parent_span_id != SpanId::INVALID {
        v["parentId"] = Value::String(s.parent_span_id.to_string());
    }
    let kind = match s.span_kind {
        SpanKind::Server => Some("SERVER"),
        SpanKind::Client => Some("CLIENT"),
        SpanKind::Producer => Some("PRODUCER"),
        SpanKind::Consumer => Some("CONSUMER"),
        SpanKind::Internal => None,
    };
    if let Some(k) = kind {
        v["kind"] = Value::String(k.into());
    }
    v
}

pub(super) async fn export(
    clients: &Clients,
    url: &Uri,
    spans: Vec<SpanData>,
    resource: &Resource,
    service_name: &str,
) -> Result<(), String> {
    let body: Vec<Value> = spans
        .iter()
        .map(|s| span_json(s, resource, service_name))
        .collect();
    let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let req = Request::builder()
        .method(Method::POST)
        .uri(url.clone())
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = clients.http.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let _ = resp.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("zipkin answered {status}"))
    }
}
