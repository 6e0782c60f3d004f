//! Exporters: what a batch of finished spans becomes on the wire, and the HTTP calls that
//! carry it. Every exporter uses the same hyper client (HTTP/1.1 and HTTP/2, TLS by rustls
//! with the webpki roots); nothing here blocks a request: exports run in the queue's task.

mod client;
mod otlp;
mod zipkin;

use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

use crate::spec::ExporterTarget;

pub(crate) use client::Clients;

/// One configured exporter.
#[derive(Debug)]
pub(crate) struct Exporter {
    target: ExporterTarget,
}

impl Exporter {
    pub(crate) fn new(target: ExporterTarget) -> Exporter {
        Exporter { target }
    }

    /// Sends `spans`; the error says what failed (logged by the caller).
    pub(crate) async fn export(
        &self,
        clients: &Clients,
        spans: Vec<SpanData>,
        resource: &Resource,
        service_name: &str,
    ) -> Result<(), String> {
        match &self.target {
            ExporterTarget::OtlpHttp {
                url,
                gzip,
                authorization,
            } => {
                otlp::export_http(
                    clients,
                    url,
                    *gzip,
                    authorization.as_deref(),
                    spans,
                    resource,
                )
                .await
            }
            ExporterTarget::OtlpGrpc { url, gzip } => {
                otlp::export_grpc(clients, url, *gzip, spans, resource).await
            }
            ExporterTarget::Zipkin { url } => {
                zipkin::export(clients, url, spans, resource, service_name).await
            }
        }
    }
}
