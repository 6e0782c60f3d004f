//! The spans of one request: the server span, the context handed to filters, and the
//! child span of one upstream attempt.

use std::borrow::Cow;
use std::sync::Arc;

use http::{HeaderMap, Method};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::Tracer;

/// `cf-ray`: set by Cloudflare, recorded as the `cf.ray` attribute as Easegress does.
const CF_RAY: &str = "cf-ray";

/// The server span of one request; ended by [`ServerSpan::end`] with the status sent.
#[derive(Debug)]
pub struct ServerSpan {
    trace: RequestTrace,
}

/// The trace context a request carries through its pipeline (cheap to clone).
#[derive(Debug, Clone)]
pub struct RequestTrace {
    tracer: Arc<Tracer>,
    cx: Context,
}

/// The span of one upstream attempt.
#[derive(Debug)]
pub struct ChildSpan {
    cx: Context,
    format: crate::HeaderFormat,
}

impl Tracer {
    /// Starts the server span `name` of a request: a child of the context in `headers` when
    /// they carry a valid one (its sampled flag decides), else a new trace sampled at
    /// `sampleRate`. Attributes: `http.request.method`, `url.path`, `url.scheme`,
    /// `network.protocol.version`, `client.address`, `cf.ray` when present. The query is
    /// not recorded (it may carry credentials).
    pub fn start_server_span(
        self: &Arc<Self>,
        name: &str,
        head: &http::request::Parts,
        client: std::net::IpAddr,
        tls: bool,
    ) -> ServerSpan {
        let (method, uri, headers) = (&head.method, &head.uri, &head.headers);
        let parent = match self.format.extract(headers) {
            Some(sc) => Context::new().with_remote_span_context(sc),
            None => Context::new(),
        };
        let mut attrs = vec![
            KeyValue::new("http.request.method", method.as_str().to_string()),
            KeyValue::new("url.path", uri.path().to_string()),
            KeyValue::new("url.scheme", if tls { "https" } else { "http" }),
            KeyValue::new("network.protocol.version", protocol_version(head.version)),
            KeyValue::new("client.address", client.to_string()),
        ];
        if let Some(ray) = headers.get(CF_RAY).and_then(|v| v.to_str().ok()) {
            attrs.push(KeyValue::new("cf.ray", ray.to_string()));
        }
        let span = self
            .tracer
            .span_builder(Cow::Owned(name.to_string()))
            .with_kind(SpanKind::Server)
            .with_attributes(attrs)
            .start_with_context(&self.tracer, &parent);
        ServerSpan {
            trace: RequestTrace {
                tracer: self.clone(),
                cx: parent.with_span(span),
            },
        }
    }
}

fn protocol_version(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "0.9",
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

fn set_status(cx: &Context, status: u16) {
    let span = cx.span();
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status),
    ));
    if status >= 500 {
        span.set_status(Status::error(status.to_string()));
    }
}

impl ServerSpan {
    /// The context handed to the pipeline.
    pub fn request_trace(&self) -> RequestTrace {
        self.trace.clone()
    }

    /// Whether this trace is sampled (exported).
    pub fn is_sampled(&self) -> bool {
        self.trace.cx.span().span_context().is_sampled()
    }

    /// Ends the span with the response status (`http.response.status_code`; error status
    /// for 5xx).
    pub fn end(self, status: u16) {
        set_status(&self.trace.cx, status);
        self.trace.cx.span().end();
    }
}

impl RequestTrace {
    /// Starts the span of one upstream request (kind client), child of the server span.
    pub fn child(&self, name: &str, method: &Method) -> ChildSpan {
        let span = self
            .tracer
            .tracer
            .span_builder(Cow::Owned(name.to_string()))
            .with_kind(SpanKind::Client)
            .with_attributes([KeyValue::new(
                "http.request.method",
                method.as_str().to_string(),
            )])
            .start_with_context(&self.tracer.tracer, &self.cx);
        ChildSpan {
            cx: self.cx.with_span(span),
            format: self.tracer.format,
        }
    }
}

impl ChildSpan {
    /// Records the chosen server (`server.url`) and writes this span's
    /// context into the upstream request's headers.
    pub fn upstream(&self, server_url: &str, headers: &mut HeaderMap) {
        self.cx
            .span()
            .set_attribute(KeyValue::new("server.url", server_url.to_string()));
        self.inject(headers);
    }

    /// Writes this span's context into the upstream request's headers.
    pub fn inject(&self, headers: &mut HeaderMap) {
        self.format
            .inject(&self.cx.span().span_context().clone(), headers);
    }

    /// Ends the span: with the upstream status (error for 5xx), or, when no answer came,
    /// error status with `why`.
    pub fn end(self, status: Option<u16>, why: &str) {
        match status {
            Some(s) => set_status(&self.cx, s),
            None => self.cx.span().set_status(Status::error(why.to_string())),
        }
        self.cx.span().end();
    }
}
