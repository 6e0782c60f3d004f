//! Running objects and the generation contract.

use std::any::Any;
use std::sync::Arc;

use serde_json::Value;

/// One generation of an object: what one spec of it built.
///
/// The supervisor drives every generation through the same steps, for built-in and user
/// kinds alike:
///
/// 1. **build** — [`crate::ObjectKind::build`] decodes and checks the spec and prepares the
///    generation. Nothing runs yet: no socket is bound, no task spawned, no file opened.
///    A build error leaves the running generation untouched; the error is reported in its
///    status (`buildError`).
/// 2. **start** — [`Object::start`] is called once, with the generation it replaces
///    (`prev`, same kind, still running and still published) or `None`. Here the generation
///    starts its work and takes over from `prev` whatever it continues (a listening socket,
///    statistics, filter state).
/// 3. **publish** — the supervisor puts the generation in its running map; lookups
///    ([`crate::Supervisor::get`]) and statuses now see it.
/// 4. **close** — [`Object::close`] is called once on the replaced generation, right after
///    its successor is published, and once on a deleted object. A generation releases only
///    what it still owns: what its successor took over in `start` is no longer its to stop.
///
/// A change of kind is a delete followed by a create: once the new spec has built, the old
/// object is closed and the new generation starts without `prev`.
/// `start` and `close` run while the supervisor applies a change: they must not change the
/// running set themselves.
pub trait Object: Send + Sync + 'static {
    /// Starts this generation, taking over from `prev` (the generation it replaces, of the
    /// same kind) what it continues. Called exactly once, before the generation is published.
    ///
    /// Start cannot fail: whatever can be rejected is rejected by `build`, before anything of
    /// `prev` is touched. Failures at run time (a port that cannot be bound yet) are the
    /// object's to report in its status and to retry.
    fn start(&self, prev: Option<&dyn Object>) {
        let _ = prev;
    }

    /// The status reported under `/status/objects` (counts, rates, health, ...).
    fn status(&self) -> Value {
        Value::Object(Default::default())
    }

    /// Releases what this generation still owns (listeners, background tasks, filters).
    /// Called exactly once: when the generation is replaced (after its successor started and
    /// was published) or when the object is deleted.
    fn close(&self) {}

    /// For downcasting to the concrete type: in `start`, to read `prev`; and for kinds that
    /// cooperate (an HTTPServer finding its pipelines).
    fn as_any(&self) -> &dyn Any;

    /// For downcasting an `Arc` to the concrete type.
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}
