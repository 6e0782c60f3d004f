//! OpenTelemetry tracing of HTTPServer and Proxy, as Easegress does it.
//!
//! An HTTPServer with a `tracing` spec builds one [`Tracer`]: a server span per request
//! (named after the server), a child span per Proxy pool attempt (named by the pool's
//! `spanName`), the trace context sent upstream in W3C Trace Context or B3 headers, and the
//! caller's context honoured (parent-based sampling, `sampleRate` for new traces). Finished
//! spans go through a bounded queue to the exporters (OTLP over HTTP or gRPC, Zipkin). A
//! server without `tracing` has no tracer, and a request then does no tracing work at all.

mod export;
mod processor;
pub mod propagation;
mod span;
pub mod spec;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, SpanLimits};
use opentelemetry_sdk::Resource;
use tokio::sync::Notify;

pub use processor::QueueStats;
pub use propagation::HeaderFormat;
pub use span::{ChildSpan, RequestTrace, ServerSpan};
pub use spec::{TracingConfig, TracingSpec};

use crate::export::{Clients, Exporter};
use crate::processor::{QueueProcessor, Worker};

/// The instrumentation scope of the spans.
pub const SCOPE_NAME: &str = "easegress";

/// The tracer of one HTTPServer: sampling, propagation and the export queue.
///
/// Dropping the last handle shuts the queue down: what is queued is exported, then the
/// export task ends.
#[derive(Debug)]
pub struct Tracer {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    format: HeaderFormat,
    stats: Arc<QueueStats>,
}

fn sampler(rate: f64) -> Sampler {
    let root = if rate <= 0.0 {
        Sampler::AlwaysOff
    } else if rate >= 1.0 {
        Sampler::AlwaysOn
    } else {
        Sampler::TraceIdRatioBased(rate)
    };
    Sampler::ParentBased(Box::new(root))
}

impl Tracer {
    /// Builds the tracer of a checked spec and starts its export task.
    ///
    /// Fails when called outside a tokio runtime or when the TLS client cannot be set up.
    pub fn new(cfg: &TracingConfig) -> Result<Arc<Tracer>, String> {
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|_| "tracing needs the server's runtime".to_string())?;
        let stats = Arc::new(QueueStats::default());
        let stop = Arc::new(Notify::new());
        let (processor, rx) = QueueProcessor::new(
            cfg.max_queue_size,
            cfg.attribute_value_length_limit,
            stats.clone(),
            stop.clone(),
        );
        let resource = Resource::builder()
            .with_service_name(cfg.service_name.clone())
            .with_attributes(
                cfg.attributes
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
            )
            .build();
        let [attrs, events, links, attrs_per_event, attrs_per_link] = cfg.count_limits;
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler(cfg.sample_rate))
            .with_span_limits(SpanLimits {
                max_events_per_span: events,
                max_attributes_per_span: attrs,
                max_links_per_span: links,
                max_attributes_per_event: attrs_per_event,
                max_attributes_per_link: attrs_per_link,
            })
            .with_resource(resource.clone())
            .with_span_processor(processor)
            .build();
        let worker = Worker {
            rx,
            exporters: cfg.exporters.iter().cloned().map(Exporter::new).collect(),
            clients: Clients::new()?,
            resource,
            service_name: cfg.service_name.clone(),
            batch_size: cfg.max_export_batch_size.max(1),
            batch_timeout: cfg.batch_timeout,
            export_timeout: cfg.export_timeout,
            stats: stats.clone(),
            stop,
            dropped_reported: 0,
        };
        rt.spawn(worker.run());
        Ok(Arc::new(Tracer {
            tracer: provider.tracer(SCOPE_NAME),
            provider,
            format: if cfg.b3 {
                HeaderFormat::B3
            } else {
                HeaderFormat::TraceContext
            },
            stats,
        }))
    }

    /// The propagation format.
    pub fn header_format(&self) -> HeaderFormat {
        self.format
    }

    /// Spans dropped because the export queue was full.
    pub fn dropped_spans(&self) -> u64 {
        self.stats.dropped.load(Ordering::Relaxed)
    }

    /// The queue's counters.
    pub fn stats(&self) -> &QueueStats {
        &self.stats
    }

    /// The counters as JSON: `{exportedSpans, droppedSpans, failedExports}`.
    pub fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "exportedSpans": self.stats.exported.load(Ordering::Relaxed),
            "droppedSpans": self.stats.dropped.load(Ordering::Relaxed),
            "failedExports": self.stats.failed_exports.load(Ordering::Relaxed),
        })
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}
