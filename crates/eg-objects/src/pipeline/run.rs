//! Running a compiled flow on a request, and the per-filter stats it leaves in the
//! access log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eg_protocols::{Context, LazyTag};
use eg_spec::GoDuration;
use smallvec::SmallVec;

use super::compile::{Flow, Next};

/// Which of the (up to) three flows of a request a stat belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// A GlobalFilter's `beforePipeline`.
    Before = 0,
    /// The routed pipeline.
    Main = 1,
    /// A GlobalFilter's `afterPipeline`.
    After = 2,
}

/// One filter run: recorded as numbers, formatted only if the log line is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stat {
    stage: Stage,
    node: u32,
    result: &'static str,
    elapsed: Duration,
}

/// Stats of one request; inline for the common flow lengths.
pub(crate) type Stats = SmallVec<[Stat; 8]>;

/// Runs `flow` on `ctx` from its first node, exactly as Easegress's pipeline does:
/// a node switches to its namespace and runs its filter; `""` goes on (or jumps by
/// `jumpIf[""]`); a non-empty result jumps to its `jumpIf` target, or ends the flow when it
/// has none; reaching an `END` node ends the flow.
///
/// Returns the last filter's result and whether the flow ended by `END` (rather than by
/// running off its last node).
pub(crate) async fn run_flow(
    flow: &Flow,
    stage: Stage,
    ctx: &mut Context,
    stats: &mut Stats,
) -> (&'static str, bool) {
    let nodes = &flow.nodes;
    let mut result = "";
    let mut pc = 0;
    // One clock read per filter: each filter's end is the next one's start (the few
    // instructions of the jump logic between them are counted to the next filter).
    // The timings only feed the access-log tag: no clock reads when nothing records it.
    let timed = ctx.record_tags;
    let mut mark = timed.then(Instant::now);
    while let Some(node) = nodes.get(pc) {
        let Some(index) = node.filter else {
            return (result, true);
        };
        ctx.use_namespace(&node.namespace);
        result = flow.filters[index].filter.handle(ctx).result().await;
        if let Some(start) = mark {
            let now = Instant::now();
            stats.push(Stat {
                stage,
                node: pc as u32,
                result,
                elapsed: now.saturating_duration_since(start),
            });
            mark = Some(now);
        }
        let next = if result.is_empty() {
            node.on_ok
        } else {
            node.jumps
                .iter()
                .find(|(r, _)| *r == result)
                .map_or(Next::End, |(_, n)| *n)
        };
        match next {
            Next::Continue => pc += 1,
            Next::At(target) => pc = target,
            Next::End => return (result, true),
        }
    }
    (result, false)
}

/// The access-log tag `pipeline(<name>): f1(12ms)->f2(invalid,3µs)`.
pub(crate) struct StatsTag {
    /// The routed pipeline's name.
    pub pipeline: Arc<str>,
    /// The flows the stats refer to, by [`Stage`].
    pub flows: [Option<Arc<Flow>>; 3],
    /// What ran.
    pub stats: Stats,
}

impl LazyTag for StatsTag {
    fn write_to(&self, out: &mut String) {
        let mut line = Vec::new();
        self.write_bytes(&mut line);
        out.push_str(&String::from_utf8_lossy(&line));
    }

    /// Written on every request when the access log is on: bytes, with no formatting
    /// machinery and no UTF-8 check of each piece.
    fn write_bytes(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"pipeline(");
        out.extend_from_slice(self.pipeline.as_bytes());
        out.extend_from_slice(b"): ");
        if self.stats.is_empty() {
            out.extend_from_slice(b"<empty>");
            return;
        }
        for (i, s) in self.stats.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b"->");
            }
            let alias = self.flows[s.stage as usize]
                .as_ref()
                .and_then(|f| f.nodes.get(s.node as usize))
                .map_or("?", |n| &n.alias);
            out.extend_from_slice(alias.as_bytes());
            out.push(b'(');
            if !s.result.is_empty() {
                out.extend_from_slice(s.result.as_bytes());
                out.push(b',');
            }
            GoDuration(s.elapsed).extend(out);
            out.push(b')');
        }
    }
}
