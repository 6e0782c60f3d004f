//! OTLP: an `ExportTraceServiceRequest` (protobuf) POSTed to `/v1/traces`, or sent as a
//! unary gRPC call (5-byte frame: compressed flag, big-endian length) over HTTP/2.

use std::io::Write;

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;
use prost::Message;

use super::Clients;

/// The gRPC method of the OTLP trace service.
const GRPC_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The protobuf bytes of `spans` under `resource`.
pub(crate) fn encode(spans: Vec<SpanData>, resource: &Resource) -> Vec<u8> {
    let attrs = ResourceAttributesWithSchema::from(resource);
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(spans, &attrs),
    }
    .encode_to_vec()
}

fn gzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(raw).map_err(|e| e.to_string())?;
    enc.finish().map_err(|e| e.to_string())
}

pub(super) async fn export_http(
    clients: &Clients,
    url: &Uri,
    compress: bool,
    authorization: Option<&str>,
    spans: Vec<SpanData>,
    resource: &Resource,
) -> Result<(), String> {
    let raw = encode(spans, resource);
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(url.clone())
        .header(CONTENT_TYPE, "application/x-protobuf");
    let body = if compress {
        b = b.header(CONTENT_ENCODING, "gzip");
        gzip(&raw)?
    } else {
        raw
    };
    if let Some(a) = authorization {
        b = b.header(http::header::AUTHORIZATION, a);
    }
    let req = b
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = clients.http.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    // Read the answer so that the connection can be reused.
    let _ = resp.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("collector answered {status}"))
    }
}

pub(super) async fn export_grpc(
    clients: &Clients,
    base: &Uri,
    compress: bool,
    spans: Vec<SpanData>,
    resource: &Resource,
) -> Result<(), String> {
    let raw = encode(spans, resource);
    let msg = if compress { gzip(&raw)? } else { raw };
    let len = u32::try_from(msg.len()).map_err(|_| "export too large".to_string())?;
    let mut frame = Vec::with_capacity(5 + msg.len());
    frame.push(u8::from(compress));
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&msg);
    let scheme = base.scheme_str().unwrap_or("https");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    let uri: Uri = format!("{scheme}://{authority}{GRPC_PATH}")
        .parse()
        .map_err(|e: http::uri::InvalidUri| e.to_string())?;
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .version(http::Version::HTTP_2)
        .header(CONTENT_TYPE, "application/grpc")
        .header("te", "trailers");
    if compress {
        b = b.header("grpc-encoding", "gzip");
    }
    let req = b
        .body(Full::new(Bytes::from(frame)))
        .map_err(|e| e.to_string())?;
    let resp = clients.h2.request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let head_status = resp
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let collected = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    let grpc_status = head_status.or_else(|| {
        collected
            .trailers()
            .and_then(|t| t.get("grpc-status"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    match (status.is_success(), grpc_status.as_deref()) {
        (true, Some("0")) => Ok(()),
        (_, Some(code)) => Err(format!("collector answered gRPC status {code}")),
        (_, None) => Err(format!("collector answered {status} without a gRPC status")),
    }
}
