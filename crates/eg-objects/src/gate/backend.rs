//! Finding the pipelines (and the global filter) a server hands requests to.
//!
//! A lookup goes through the supervisor's map only when its generation changed since the
//! last one; otherwise the cached `Arc` is reused without a map lookup or lock.

use std::any::Any;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use eg_protocols::Context;
use eg_supervisor::Supervisor;

use crate::pipeline::Pipeline;

#[derive(Debug)]
struct Cached<T> {
    generation: u64,
    object: Option<Arc<T>>,
}

/// A named object of type `T`, looked up once per supervisor generation.
#[derive(Debug)]
pub(crate) struct ObjectSlot<T> {
    name: String,
    cached: ArcSwapOption<Cached<T>>,
}

impl<T: Any + Send + Sync> ObjectSlot<T> {
    /// A slot for the object called `name`.
    pub fn new(name: &str) -> Self {
        ObjectSlot {
            name: name.to_string(),
            cached: ArcSwapOption::empty(),
        }
    }

    /// The running object, if it exists and is a `T`.
    pub fn get(&self, sup: &Supervisor) -> Option<Arc<T>> {
        let generation = sup.generation();
        if let Some(c) = self.cached.load().as_ref() {
            if c.generation == generation {
                return c.object.clone();
            }
        }
        let object = sup
            .get(&self.name)
            .and_then(|r| r.object.clone().into_any().downcast::<T>().ok());
        self.cached.store(Some(Arc::new(Cached {
            generation,
            object: object.clone(),
        })));
        object
    }
}

/// The global filter type servers wrap around pipelines.
pub(crate) type GlobalFilter = crate::globalfilter::GlobalFilter;

/// Runs `pipeline` on `ctx`, inside `global` when there is one.
pub(crate) async fn run(
    ctx: &mut Context,
    pipeline: &Pipeline,
    global: Option<&GlobalFilter>,
) -> &'static str {
    match global {
        Some(g) => g.handle(ctx, pipeline).await,
        None => pipeline.handle(ctx).await,
    }
}
