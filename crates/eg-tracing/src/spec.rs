//! The `tracing` spec of an HTTPServer, as Easegress writes it, and its checks.

use std::collections::BTreeMap;
use std::time::Duration;

use eg_spec::SpecError;
use serde::{Deserialize, Serialize};

/// Default `sampleRate`: every request is traced.
pub const DEFAULT_SAMPLE_RATE: f64 = 1.0;
/// Default `batchLimits.maxQueueSize`.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 2048;
/// Default `batchLimits.batchTimeout` in milliseconds.
pub const DEFAULT_BATCH_TIMEOUT_MS: u64 = 5000;
/// Default `batchLimits.exportTimeout` in milliseconds.
pub const DEFAULT_EXPORT_TIMEOUT_MS: u64 = 30000;
/// Default `batchLimits.maxExportBatchSize`.
pub const DEFAULT_MAX_EXPORT_BATCH_SIZE: usize = 512;
/// Default of the count limits of `spanLimits`.
pub const DEFAULT_COUNT_LIMIT: i64 = 128;

/// `headerFormat` value for W3C Trace Context (`traceparent`/`tracestate`), the default.
pub const HEADER_FORMAT_TRACE_CONTEXT: &str = "trace-context";
/// `headerFormat` value for Zipkin B3 (single `b3` header sent; single or multi accepted).
pub const HEADER_FORMAT_B3: &str = "b3";

/// HTTPServer `tracing`: how requests are traced and where spans go.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TracingSpec {
    /// `service.name` of the exported spans (required).
    #[serde(default)]
    pub service_name: String,
    /// Deprecated form of `attributes` (the two cannot both be set).
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    /// Resource attributes added to every span.
    #[serde(default)]
    pub attributes: Option<BTreeMap<String, String>>,
    /// Limits of what one span records.
    #[serde(default)]
    pub span_limits: Option<SpanLimitsSpec>,
    /// Share of new traces that are sampled, 0..1 (default 1). A request carrying a trace
    /// context follows its caller's decision.
    #[serde(default)]
    pub sample_rate: Option<f64>,
    /// Batching of the export.
    #[serde(default)]
    pub batch_limits: Option<BatchLimitsSpec>,
    /// Where spans are sent (one or more exporters); exclusive with `zipkin`.
    #[serde(default)]
    pub exporter: Option<ExporterSpec>,
    /// Deprecated Zipkin form (B3 headers, its own `sampleRate`); exclusive with `exporter`.
    #[serde(default)]
    pub zipkin: Option<ZipkinDeprecatedSpec>,
    /// Propagation headers: `trace-context` (default) or `b3`.
    #[serde(default)]
    pub header_format: String,
}

/// `tracing.spanLimits`: what one span records; negative = no limit.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpanLimitsSpec {
    /// Longest string attribute value kept (longer ones are truncated); default -1 (none).
    #[serde(default)]
    pub attribute_value_length_limit: Option<i64>,
    /// Most attributes per span (default 128).
    #[serde(default)]
    pub attribute_count_limit: Option<i64>,
    /// Most events per span (default 128).
    #[serde(default)]
    pub event_count_limit: Option<i64>,
    /// Most links per span (default 128).
    #[serde(default)]
    pub link_count_limit: Option<i64>,
    /// Most attributes per event (default 128).
    #[serde(default)]
    pub attribute_per_event_count_limit: Option<i64>,
    /// Most attributes per link (default 128).
    #[serde(default)]
    pub attribute_per_link_count_limit: Option<i64>,
}

/// `tracing.batchLimits`: how finished spans are queued and exported; 0 or absent = default.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchLimitsSpec {
    /// Spans waiting for export at most (default 2048); more are dropped and counted.
    #[serde(default)]
    pub max_queue_size: Option<i64>,
    /// Longest wait in milliseconds before a partial batch is sent (default 5000).
    #[serde(default)]
    pub batch_timeout: Option<i64>,
    /// Deadline in milliseconds of one export (default 30000).
    #[serde(default)]
    pub export_timeout: Option<i64>,
    /// Most spans per export (default 512, at most `maxQueueSize`).
    #[serde(default)]
    pub max_export_batch_size: Option<i64>,
}

/// `tracing.exporter`: at least one of `jaeger`, `zipkin`, `otlp`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExporterSpec {
    /// Jaeger; sent as OTLP over HTTP to Jaeger's OTLP receiver (see the docs).
    #[serde(default)]
    pub jaeger: Option<JaegerSpec>,
    /// Zipkin (JSON v2 over HTTP).
    #[serde(default)]
    pub zipkin: Option<ZipkinSpec>,
    /// OpenTelemetry protocol, HTTP (protobuf) or gRPC.
    #[serde(default)]
    pub otlp: Option<OtlpSpec>,
}

/// `exporter.jaeger`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JaegerSpec {
    /// `collector` (supported: OTLP over HTTP to `endpoint`) or `agent` (refused: the
    /// Thrift-over-UDP agent protocol is gone from Jaeger).
    #[serde(default)]
    pub mode: String,
    /// Jaeger's OTLP/HTTP URL, e.g. `http://jaeger:4318/v1/traces` (required).
    #[serde(default)]
    pub endpoint: String,
    /// Basic-auth user sent to the collector.
    #[serde(default)]
    pub username: String,
    /// Basic-auth password sent to the collector.
    #[serde(default)]
    pub password: String,
}

/// `exporter.zipkin`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZipkinSpec {
    /// Zipkin's span API URL, e.g. `http://zipkin:9411/api/v2/spans` (required).
    #[serde(default)]
    pub endpoint: String,
}

/// `exporter.otlp`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtlpSpec {
    /// `http` (protobuf over HTTP, path `/v1/traces`) or `grpc` (required).
    #[serde(default)]
    pub protocol: String,
    /// `host:port` of the collector (or a full `http(s)://` URL) (required).
    #[serde(default)]
    pub endpoint: String,
    /// Plain HTTP (HTTP/2 without TLS for gRPC) instead of TLS.
    #[serde(default)]
    pub insecure: bool,
    /// `gzip` to compress exports; empty = none.
    #[serde(default)]
    pub compression: String,
}

/// The deprecated `tracing.zipkin` form.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ZipkinDeprecatedSpec {
    /// Unused (kept for compatibility).
    #[serde(default)]
    pub hostport: String,
    /// Zipkin's span API URL (required).
    #[serde(default, rename = "serverURL")]
    pub server_url: String,
    /// Unused (kept for compatibility).
    #[serde(default)]
    pub disable_report: bool,
    /// Share of traces sampled, 0..1 (required; replaces `tracing.sampleRate`).
    #[serde(default)]
    pub sample_rate: Option<f64>,
    /// Unused (kept for compatibility).
    #[serde(default)]
    pub same_span: bool,
    /// Unused (kept for compatibility).
    #[serde(default, rename = "id128Bit")]
    pub id128_bit: bool,
}

/// Where one exporter sends spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExporterTarget {
    /// OTLP protobuf over HTTP/1.1 POST to `url`, optional gzip, optional basic auth.
    OtlpHttp {
        /// The full URL (`.../v1/traces`).
        url: http::Uri,
        /// Gzip the body.
        gzip: bool,
        /// `Authorization` header value, if any.
        authorization: Option<String>,
    },
    /// OTLP over gRPC (HTTP/2) to `url`'s authority.
    OtlpGrpc {
        /// The collector's base URL (`http://` = h2c, `https://` = TLS).
        url: http::Uri,
        /// Gzip the message.
        gzip: bool,
    },
    /// Zipkin JSON v2 POST to `url`.
    Zipkin {
        /// The span API URL.
        url: http::Uri,
    },
}

/// A checked `tracing` spec with every default applied.
#[derive(Debug, Clone, PartialEq)]
pub struct TracingConfig {
    /// `service.name`.
    pub service_name: String,
    /// Resource attributes (`attributes`, or the deprecated `tags`).
    pub attributes: BTreeMap<String, String>,
    /// Sampling ratio of new traces, 0..1.
    pub sample_rate: f64,
    /// B3 (true) or W3C trace context (false) propagation.
    pub b3: bool,
    /// Longest string attribute value; `None` = no limit.
    pub attribute_value_length_limit: Option<usize>,
    /// Count limits: attributes, events, links, attributes per event, attributes per link.
    pub count_limits: [u32; 5],
    /// Queue capacity.
    pub max_queue_size: usize,
    /// Longest wait before a partial batch is exported.
    pub batch_timeout: Duration,
    /// Deadline of one export.
    pub export_timeout: Duration,
    /// Most spans per export.
    pub max_export_batch_size: usize,
    /// The exporters.
    pub exporters: Vec<ExporterTarget>,
}

fn err(path: &str, msg: impl Into<String>) -> SpecError {
    SpecError::new(path, msg)
}

fn rate(v: Option<f64>, path: &str, default: f64) -> Result<f64, SpecError> {
    match v {
        None => Ok(default),
        Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
        Some(r) => Err(err(path, format!("must be between 0 and 1, got {r}"))),
    }
}

/// A count limit: absent = 128, negative = no limit.
fn count(v: Option<i64>) -> u32 {
    match v.unwrap_or(DEFAULT_COUNT_LIMIT) {
        n if n < 0 => u32::MAX,
        n => u32::try_from(n).unwrap_or(u32::MAX),
    }
}

fn positive(v: Option<i64>, path: &str, default: u64) -> Result<u64, SpecError> {
    match v {
        None | Some(0) => Ok(default),
        Some(n) if n > 0 => Ok(n as u64),
        Some(n) => Err(err(path, format!("must not be negative, got {n}"))),
    }
}

fn http_url(s: &str, path: &str) -> Result<http::Uri, SpecError> {
    let uri: http::Uri = s
        .parse()
        .map_err(|e| err(path, format!("invalid URL {s:?}: {e}")))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err(err(
            path,
            format!("must be an http:// or https:// URL, got {s:?}"),
        )),
    }
}

/// `host:port` or a URL for OTLP; `default_path` added when the URL has no path.
fn otlp_url(o: &OtlpSpec, path: &str, default_path: &str) -> Result<http::Uri, SpecError> {
    let ep = o.endpoint.trim();
    let full = if ep.contains("://") {
        ep.to_string()
    } else {
        let scheme = if o.insecure { "http" } else { "https" };
        format!("{scheme}://{ep}")
    };
    let uri = http_url(&full, path)?;
    if uri.authority().is_some_and(|a| a.port().is_none()) && !ep.contains("://") {
        return Err(err(path, format!("must be host:port, got {ep:?}")));
    }
    let p = uri.path();
    if p.is_empty() || p == "/" {
        return http_url(
            &format!("{}{default_path}", full.trim_end_matches('/')),
            path,
        );
    }
    Ok(uri)
}

fn gzip(c: &str, path: &str) -> Result<bool, SpecError> {
    match c {
        "" => Ok(false),
        "gzip" => Ok(true),
        other => Err(err(path, format!("must be empty or gzip, got {other:?}"))),
    }
}

impl TracingSpec {
    /// Checks the spec (paths relative to `tracing`) and applies the defaults.
    ///
    /// Fails on: an empty `serviceName`; `sampleRate` outside 0..1; an unknown
    /// `headerFormat`; neither or both of `exporter` and `zipkin`; both `tags` and
    /// `attributes`; an exporter without any of `jaeger`/`zipkin`/`otlp`; a missing or
    /// malformed endpoint; an unknown OTLP `protocol` or `compression`; Jaeger `agent` mode
    /// (its Thrift/UDP protocol is not spoken) or Jaeger's Thrift collector path; negative
    /// batch limits.
    pub fn check(&self) -> Result<TracingConfig, SpecError> {
        if self.service_name.trim().is_empty() {
            return Err(err("serviceName", "serviceName is required"));
        }
        let b3 = match self.header_format.as_str() {
            "" | HEADER_FORMAT_TRACE_CONTEXT => false,
            HEADER_FORMAT_B3 => true,
            other => {
                return Err(err(
                    "headerFormat",
                    format!("must be trace-context or b3, got {other:?}"),
                ))
            }
        };
        if self.tags.is_some() && self.attributes.is_some() {
            return Err(err(
                "attributes",
                "tags and attributes cannot be configured at the same time; use attributes",
            ));
        }
        let mut sample_rate = rate(self.sample_rate, "sampleRate", DEFAULT_SAMPLE_RATE)?;
        let (exporters, b3) = match (&self.exporter, &self.zipkin) {
            (None, None) => {
                return Err(err("exporter", "exporter and zipkin cannot both be empty"))
            }
            (Some(_), Some(_)) => {
                return Err(err(
                    "zipkin",
                    "exporter and zipkin cannot exist at the same time",
                ))
            }
            (Some(e), None) => (e.check()?, b3),
            (None, Some(z)) => {
                let url = http_url(&z.server_url, "zipkin.serverURL")?;
                match z.sample_rate {
                    None => return Err(err("zipkin.sampleRate", "sampleRate is required")),
                    r => sample_rate = rate(r, "zipkin.sampleRate", 1.0)?,
                }
                (vec![ExporterTarget::Zipkin { url }], true)
            }
        };
        let limits = self.span_limits.clone().unwrap_or_default();
        let value_limit = match limits.attribute_value_length_limit {
            None => None,
            Some(n) if n < 0 => None,
            Some(n) => Some(n as usize),
        };
        let count_limits = [
            count(limits.attribute_count_limit),
            count(limits.event_count_limit),
            count(limits.link_count_limit),
            count(limits.attribute_per_event_count_limit),
            count(limits.attribute_per_link_count_limit),
        ];
        let b = self.batch_limits.clone().unwrap_or_default();
        let max_queue_size = positive(
            b.max_queue_size,
            "batchLimits.maxQueueSize",
            DEFAULT_MAX_QUEUE_SIZE as u64,
        )? as usize;
        let batch_timeout = positive(
            b.batch_timeout,
            "batchLimits.batchTimeout",
            DEFAULT_BATCH_TIMEOUT_MS,
        )?;
        let export_timeout = positive(
            b.export_timeout,
            "batchLimits.exportTimeout",
            DEFAULT_EXPORT_TIMEOUT_MS,
        )?;
        let max_export_batch_size = (positive(
            b.max_export_batch_size,
            "batchLimits.maxExportBatchSize",
            DEFAULT_MAX_EXPORT_BATCH_SIZE as u64,
        )? as usize)
            .min(max_queue_size);
        Ok(TracingConfig {
            service_name: self.service_name.clone(),
            attributes: self
                .attributes
                .clone()
                .or_else(|| self.tags.clone())
                .unwrap_or_default(),
            sample_rate,
            b3,
            attribute_value_length_limit: value_limit,
            count_limits,
            max_queue_size,
            batch_timeout: Duration::from_millis(batch_timeout),
            export_timeout: Duration::from_millis(export_timeout),
            max_export_batch_size,
            exporters,
        })
    }
}

impl ExporterSpec {
    fn check(&self) -> Result<Vec<ExporterTarget>, SpecError> {
        let mut out = Vec::new();
        if let Some(j) = &self.jaeger {
            match j.mode.as_str() {
                "collector" => {}
                "agent" => {
                    return Err(err(
                        "exporter.jaeger.mode",
                        "agent mode (Thrift over UDP) is not supported; use mode collector with \
                         Jaeger's OTLP endpoint, or exporter.otlp",
                    ))
                }
                "" => return Err(err("exporter.jaeger.mode", "mode is required")),
                other => {
                    return Err(err(
                        "exporter.jaeger.mode",
                        format!("must be agent or collector, got {other:?}"),
                    ))
                }
            }
            if j.endpoint.is_empty() {
                return Err(err("exporter.jaeger.endpoint", "endpoint cannot be empty"));
            }
            let url = http_url(&j.endpoint, "exporter.jaeger.endpoint")?;
            if url.path().trim_end_matches('/').ends_with("/api/traces") {
                return Err(err(
                    "exporter.jaeger.endpoint",
                    "Jaeger's Thrift collector (/api/traces) is not supported; use its OTLP/HTTP \
                     endpoint, e.g. http://jaeger:4318/v1/traces",
                ));
            }
            let url = if url.path().is_empty() || url.path() == "/" {
                http_url(
                    &format!("{}/v1/traces", j.endpoint.trim_end_matches('/')),
                    "exporter.jaeger.endpoint",
                )?
            } else {
                url
            };
            let authorization = (!j.username.is_empty() || !j.password.is_empty()).then(|| {
                use base64::Engine;
                let raw = format!("{}:{}", j.username, j.password);
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )
            });
            out.push(ExporterTarget::OtlpHttp {
                url,
                gzip: false,
                authorization,
            });
        }
        if let Some(z) = &self.zipkin {
            if z.endpoint.is_empty() {
                return Err(err("exporter.zipkin.endpoint", "endpoint is required"));
            }
            out.push(ExporterTarget::Zipkin {
                url: http_url(&z.endpoint, "exporter.zipkin.endpoint")?,
            });
        }
        if let Some(o) = &self.otlp {
            if o.endpoint.is_empty() {
                return Err(err("exporter.otlp.endpoint", "endpoint is required"));
            }
            let gzip = gzip(&o.compression, "exporter.otlp.compression")?;
            match o.protocol.as_str() {
                "http" => out.push(ExporterTarget::OtlpHttp {
                    url: otlp_url(o, "exporter.otlp.endpoint", "/v1/traces")?,
                    gzip,
                    authorization: None,
                }),
                "grpc" => out.push(ExporterTarget::OtlpGrpc {
                    url: otlp_url(o, "exporter.otlp.endpoint", "/")?,
                    gzip,
                }),
                "" => return Err(err("exporter.otlp.protocol", "protocol is required")),
                other => {
                    return Err(err(
                        "exporter.otlp.protocol",
                        format!("must be http or grpc, got {other:?}"),
                    ))
                }
            }
        }
        if out.is_empty() {
            return Err(err("exporter", "exporter cannot be empty"));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> TracingSpec {
        serde_json::from_value(v).expect("spec")
    }

    #[test]
    fn defaults_are_easegress_defaults() {
        let c = spec(serde_json::json!({
            "serviceName": "s",
            "exporter": {"otlp": {"protocol": "http", "endpoint": "collector:4318"}},
        }))
        .check()
        .expect("valid");
        assert_eq!(c.sample_rate, 1.0);
        assert!(!c.b3);
        assert_eq!(c.max_queue_size, 2048);
        assert_eq!(c.max_export_batch_size, 512);
        assert_eq!(c.batch_timeout, Duration::from_millis(5000));
        assert_eq!(c.export_timeout, Duration::from_millis(30000));
        assert_eq!(c.count_limits, [128; 5]);
        assert_eq!(c.attribute_value_length_limit, None);
        assert_eq!(
            c.exporters,
            vec![ExporterTarget::OtlpHttp {
                url: "https://collector:4318/v1/traces".parse().expect("uri"),
                gzip: false,
                authorization: None,
            }]
        );
    }

    #[test]
    fn limits_endpoints_and_the_deprecated_zipkin_form() {
        let c = spec(serde_json::json!({
            "serviceName": "s",
            "tags": {"a": "b"},
            "spanLimits": {"attributeValueLengthLimit": 8, "attributeCountLimit": -1},
            "batchLimits": {"maxQueueSize": 10, "maxExportBatchSize": 50},
            "zipkin": {"serverURL": "http://z:9411/api/v2/spans", "sampleRate": 0.25},
        }))
        .check()
        .expect("valid");
        assert!(c.b3, "the deprecated zipkin form propagates B3");
        assert_eq!(c.sample_rate, 0.25);
        assert_eq!(c.attributes.get("a").map(String::as_str), Some("b"));
        assert_eq!(c.attribute_value_length_limit, Some(8));
        assert_eq!(c.count_limits[0], u32::MAX);
        assert_eq!(c.max_export_batch_size, 10, "a batch is at most the queue");
        let j = spec(serde_json::json!({
            "serviceName": "s",
            "exporter": {
                "jaeger": {"mode": "collector", "endpoint": "http://j:4318", "username": "u", "password": "p"},
                "otlp": {"protocol": "grpc", "endpoint": "c:4317", "insecure": true},
            },
        }))
        .check()
        .expect("valid");
        assert_eq!(
            j.exporters,
            vec![
                ExporterTarget::OtlpHttp {
                    url: "http://j:4318/v1/traces".parse().expect("uri"),
                    gzip: false,
                    authorization: Some("Basic dTpw".into()),
                },
                ExporterTarget::OtlpGrpc {
                    url: "http://c:4317/".parse().expect("uri"),
                    gzip: false,
                },
            ]
        );
    }
}
