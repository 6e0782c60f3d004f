//! The span queue: finished spans go into a bounded channel without waiting (a full queue
//! drops the span and counts it); one task per tracer takes batches out and exports them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::Value;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;
use tokio::sync::{mpsc, Notify};

use crate::export::{Clients, Exporter};

/// Counters of a tracer's queue.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Spans dropped because the queue was full (or the tracer closed).
    pub dropped: AtomicU64,
    /// Spans handed to the exporters.
    pub exported: AtomicU64,
    /// Export calls that failed or timed out.
    pub failed_exports: AtomicU64,
}

/// The [`SpanProcessor`] feeding the queue.
#[derive(Debug)]
pub(crate) struct QueueProcessor {
    tx: mpsc::Sender<SpanData>,
    stats: Arc<QueueStats>,
    stop: Arc<Notify>,
    value_limit: Option<usize>,
}

/// What the export task works with.
pub(crate) struct Worker {
    pub(crate) rx: mpsc::Receiver<SpanData>,
    pub(crate) exporters: Vec<Exporter>,
    pub(crate) clients: Clients,
    pub(crate) resource: Resource,
    pub(crate) service_name: String,
    pub(crate) batch_size: usize,
    pub(crate) batch_timeout: Duration,
    pub(crate) export_timeout: Duration,
    pub(crate) stats: Arc<QueueStats>,
    pub(crate) stop: Arc<Notify>,
    /// Drops already reported in the log.
    pub(crate) dropped_reported: u64,
}

impl QueueProcessor {
    /// A processor with a queue of `capacity` and the channel's receiving end.
    pub(crate) fn new(
        capacity: usize,
        value_limit: Option<usize>,
        stats: Arc<QueueStats>,
        stop: Arc<Notify>,
    ) -> (QueueProcessor, mpsc::Receiver<SpanData>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            QueueProcessor {
                tx,
                stats,
                stop,
                value_limit,
            },
            rx,
        )
    }
}

fn truncate(v: &mut Value, limit: usize) {
    if let Value::String(s) = v {
        let s_ref = s.as_str();
        if s_ref.len() > limit {
            let mut end = limit;
            while !s_ref.is_char_boundary(end) {
                end -= 1;
            }
            *v = Value::String(s_ref[..end].to_string().into());
        }
    }
}

impl SpanProcessor for QueueProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, mut span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if let Some(limit) = self.value_limit {
            for kv in &mut span.attributes {
                truncate(&mut kv.value, limit);
            }
        }
        if self.tx.try_send(span).is_err() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Spans are exported by the queue's task on its own schedule; nothing to wait for.
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    /// Tells the task to export what is queued and stop.
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.stop.notify_one();
        Ok(())
    }
}

impl Worker {
    /// Runs until the tracer shuts down: batches of up to `batch_size` spans, sent when
    /// full or `batch_timeout` after the first span of the batch.
    pub(crate) async fn run(mut self) {
        let mut batch = Vec::with_capacity(self.batch_size);
        loop {
            let next = tokio::select! {
                s = self.rx.recv() => s,
                _ = self.stop.notified() => None,
            };
            let Some(first) = next else {
                break;
            };
            batch.push(first);
            let deadline = tokio::time::Instant::now() + self.batch_timeout;
            let mut stopping = false;
            while batch.len() < self.batch_size {
                tokio::select! {
                    s = self.rx.recv() => match s {
                        Some(s) => batch.push(s),
                        None => { stopping = true; break; }
                    },
                    _ = tokio::time::sleep_until(deadline) => break,
                    _ = self.stop.notified() => { stopping = true; break; }
                }
            }
            self.export(std::mem::take(&mut batch)).await;
            if stopping {
                break;
            }
        }
        // Export what is still queued, then end.
        self.rx.close();
        while let Ok(s) = self.rx.try_recv() {
            batch.push(s);
            if batch.len() >= self.batch_size {
                self.export(std::mem::take(&mut batch)).await;
            }
        }
        if !batch.is_empty() {
            self.export(batch).await;
        }
    }

    async fn export(&mut self, batch: Vec<SpanData>) {
        let dropped = self.stats.dropped.load(Ordering::Relaxed);
        if dropped > self.dropped_reported {
            tracing::warn!(
                dropped = dropped - self.dropped_reported,
                "spans dropped: the export queue (batchLimits.maxQueueSize) was full"
            );
            self.dropped_reported = dropped;
        }
        let n = batch.len() as u64;
        let last = self.exporters.len().saturating_sub(1);
        let mut batch = Some(batch);
        for (i, e) in self.exporters.iter().enumerate() {
            let spans = if i == last {
                batch.take().unwrap_or_default()
            } else {
                batch.clone().unwrap_or_default()
            };
            let call = e.export(&self.clients, spans, &self.resource, &self.service_name);
            match tokio::time::timeout(self.export_timeout, call).await {
                Ok(Ok(())) => {
                    self.stats.exported.fetch_add(n, Ordering::Relaxed);
                }
                Ok(Err(why)) => {
                    self.stats.failed_exports.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(spans = n, error = %why, "exporting spans failed");
                }
                Err(_) => {
                    self.stats.failed_exports.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(spans = n, "exporting spans timed out");
                }
            }
        }
    }
}
