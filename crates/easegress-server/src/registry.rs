//! The single list of built-in kinds.
//!
//! Adding a kind to easegress-rs is one module plus one line here. A user's own build
//! starts from [`builtin`] and registers more kinds before calling
//! [`crate::main_with`].

use std::sync::Arc;

use eg_filters::FilterRegistry;
use eg_supervisor::{KindRegistry, ObjectKind};

/// Builds an object kind; kinds that run pipelines receive the filter registry.
pub type ObjectFactory = Box<dyn Fn(&Arc<FilterRegistry>) -> Arc<dyn ObjectKind>>;

/// Filter kinds and object kinds of one build.
pub struct Registry {
    /// Filter kinds usable in pipelines.
    pub filters: FilterRegistry,
    /// Object kinds, built once the filter kinds are final.
    pub objects: Vec<ObjectFactory>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry {
            filters: FilterRegistry::new(),
            objects: Vec::new(),
        }
    }

    /// Adds an object kind.
    pub fn object(
        &mut self,
        factory: impl Fn(&Arc<FilterRegistry>) -> Arc<dyn ObjectKind> + 'static,
    ) -> &mut Self {
        self.objects.push(Box::new(factory));
        self
    }

    /// Freezes the filter kinds and builds the object kinds.
    pub fn finish(self) -> (Arc<FilterRegistry>, KindRegistry) {
        let filters = Arc::new(self.filters);
        let mut kinds = KindRegistry::new();
        for f in &self.objects {
            kinds.register(f(&filters));
        }
        (filters, kinds)
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// Every built-in filter and object kind.
pub fn builtin() -> Registry {
    use eg_filters as f;
    use eg_objects as o;
    let mut r = Registry::new();
    // Filters.
    r.filters
        .register(f::builder::databuilder::KIND)
        .register(f::builder::requestbuilder::KIND)
        .register(f::builder::responsebuilder::KIND)
        .register(f::builder::resultbuilder::KIND)
        .register(f::certextractor::KIND)
        .register(f::corsadaptor::KIND)
        .register(f::fallback::KIND)
        .register(f::fileserver::KIND)
        .register(f::grpcproxy::KIND)
        .register(f::headercounter::KIND)
        .register(f::headerlookup::KIND)
        .register(f::headertojson::KIND)
        .register(f::mock::KIND)
        .register(f::oidcadaptor::KIND)
        .register(f::opafilter::KIND)
        .register(f::proxy::KIND)
        .register(f::websocketproxy::KIND)
        .register(f::requestadaptor::KIND)
        .register(f::responseadaptor::KIND)
        .register(f::ratelimiter::KIND)
        .register(f::simplehttpproxy::KIND)
        .register(f::redirector::KIND)
        .register(f::redirectorv2::KIND)
        .register(f::remotefilter::KIND)
        .register(f::validator::KIND)
        .register(eg_wasmhost::KIND);
    // Objects: the system controllers first, as Easegress creates them.
    for info in o::system::ALL {
        r.object(move |_| Arc::new(o::system::SystemControllerKind::new(info)));
    }
    r.object(|_| Arc::new(o::httpserver::HttpServerKind::new()))
        .object(|_| Arc::new(o::grpcserver::GrpcServerKind::new()))
        .object(|filters| Arc::new(o::pipeline::PipelineKind::new(filters.clone())))
        .object(|filters| Arc::new(o::globalfilter::GlobalFilterKind::new(filters.clone())))
        .object(|_| Arc::new(o::statusinlocal::StatusInLocalKind));
    r
}
