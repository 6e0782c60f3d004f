//! The per-request context.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use serde_json::{Map, Value};
use smallvec::SmallVec;

use crate::message::{HttpRequest, HttpResponse};
use crate::tag::{LazyTag, Tag};

/// The namespace holding the incoming request and the response sent back.
pub const DEFAULT_NAMESPACE: &str = "DEFAULT";

/// One slot of the context: at most one request and one response.
#[derive(Debug)]
pub struct Namespace {
    /// The namespace name, `DEFAULT` for the incoming request.
    pub name: Cow<'static, str>,
    /// The request of this namespace, if any.
    pub request: Option<HttpRequest>,
    /// The response of this namespace, if any.
    pub response: Option<HttpResponse>,
}

/// Everything one request carries through a pipeline.
///
/// A plain value owned by the connection task: filters get `&mut Context` and work on the
/// *active* namespace, which the pipeline sets per flow node.
#[derive(Debug)]
pub struct Context {
    /// Room for `DEFAULT` inline: most pipelines use no other namespace, and the context
    /// lives in every request's future, so each namespace held inline is copied with it.
    namespaces: SmallVec<[Namespace; 1]>,
    active: usize,
    /// The TCP peer.
    pub peer_addr: SocketAddr,
    /// The client IP used for ipFilter, ipHash and `X-Forwarded-For`.
    pub real_ip: IpAddr,
    /// When the request arrived.
    pub received_at: Instant,
    /// Data written by filters and the pipeline's `data` (`.data` in templates); allocated
    /// only when first written.
    pub data: Option<Box<Map<String, Value>>>,
    /// Access-log tags, formatted only if the log line is written.
    pub tags: Vec<Tag>,
    /// Whether tags are kept (default `true`); a server without an access log turns it off
    /// so that `add_tag`/`add_lazy_tag` cost nothing.
    pub record_tags: bool,
    /// The `pathPrefix` of the HTTPServer path that routed the request, when that path has
    /// one (`RedirectorV2` replaces it); `None` otherwise.
    pub route_path_prefix: Option<std::sync::Arc<str>>,
    /// The request's trace (server span context) when the server traces requests; proxy
    /// pools start their child spans from it. `None` costs nothing.
    pub trace: Option<eg_tracing::RequestTrace>,
}

impl Context {
    /// A context whose `DEFAULT` namespace holds `request`, received now.
    pub fn new(request: HttpRequest, peer_addr: SocketAddr, real_ip: IpAddr) -> Context {
        Context::received(request, peer_addr, real_ip, Instant::now())
    }

    /// A context whose `DEFAULT` namespace holds `request`, received at `received_at` (a
    /// server that has read the clock for the request already passes that reading).
    pub fn received(
        request: HttpRequest,
        peer_addr: SocketAddr,
        real_ip: IpAddr,
        received_at: Instant,
    ) -> Context {
        let mut namespaces = SmallVec::new();
        namespaces.push(Namespace {
            name: Cow::Borrowed(DEFAULT_NAMESPACE),
            request: Some(request),
            response: None,
        });
        Context {
            namespaces,
            active: 0,
            peer_addr,
            real_ip,
            received_at,
            data: None,
            tags: Vec::new(),
            record_tags: true,
            route_path_prefix: None,
            trace: None,
        }
    }

    /// Makes `name` the active namespace, creating it when new. `DEFAULT` is always index 0.
    pub fn use_namespace(&mut self, name: &str) {
        if let Some(i) = self.namespaces.iter().position(|n| n.name == name) {
            self.active = i;
            return;
        }
        self.namespaces.push(Namespace {
            name: Cow::Owned(name.to_string()),
            request: None,
            response: None,
        });
        self.active = self.namespaces.len() - 1;
    }

    /// The name of the active namespace.
    pub fn namespace(&self) -> &str {
        &self.namespaces[self.active].name
    }

    /// The active namespace.
    pub fn active(&self) -> &Namespace {
        &self.namespaces[self.active]
    }

    /// The active namespace, for changing.
    pub fn active_mut(&mut self) -> &mut Namespace {
        &mut self.namespaces[self.active]
    }

    /// The namespace called `name`.
    pub fn get_namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// The namespace called `name`, for changing.
    pub fn get_namespace_mut(&mut self, name: &str) -> Option<&mut Namespace> {
        self.namespaces.iter_mut().find(|n| n.name == name)
    }

    /// All namespaces, `DEFAULT` first.
    pub fn namespaces(&self) -> &[Namespace] {
        &self.namespaces
    }

    /// The request of the active namespace.
    pub fn request(&self) -> Option<&HttpRequest> {
        self.namespaces[self.active].request.as_ref()
    }

    /// The request of the active namespace, for changing.
    pub fn request_mut(&mut self) -> Option<&mut HttpRequest> {
        self.namespaces[self.active].request.as_mut()
    }

    /// The response of the active namespace.
    pub fn response(&self) -> Option<&HttpResponse> {
        self.namespaces[self.active].response.as_ref()
    }

    /// The response of the active namespace, for changing.
    pub fn response_mut(&mut self) -> Option<&mut HttpResponse> {
        self.namespaces[self.active].response.as_mut()
    }

    /// Sets the response of the active namespace.
    pub fn set_response(&mut self, response: HttpResponse) {
        self.namespaces[self.active].response = Some(response);
    }

    /// Takes the `DEFAULT` response (what is sent to the client).
    pub fn take_default_response(&mut self) -> Option<HttpResponse> {
        self.namespaces[0].response.take()
    }

    /// The `DEFAULT` request (the client's).
    pub fn default_request(&self) -> Option<&HttpRequest> {
        self.namespaces[0].request.as_ref()
    }

    /// Adds an access-log tag.
    pub fn add_tag(&mut self, tag: impl Into<Tag>) {
        if self.record_tags {
            self.tags.push(tag.into());
        }
    }

    /// Adds an access-log tag formatted only when the log line is written.
    pub fn add_lazy_tag(&mut self, tag: impl LazyTag) {
        if self.record_tags {
            self.tags.push(Tag::lazy(tag));
        }
    }

    /// Data map (`.data`), created on first use.
    pub fn data_mut(&mut self) -> &mut Map<String, Value> {
        self.data.get_or_insert_with(Default::default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn namespaces_switch_and_keep_default_first() {
        let req = HttpRequest::simple(Method::GET, "/").unwrap();
        let mut ctx = Context::new(
            req,
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1".parse().unwrap(),
        );
        assert_eq!(ctx.namespace(), DEFAULT_NAMESPACE);
        ctx.use_namespace("demo");
        assert!(ctx.request().is_none());
        ctx.set_response(HttpResponse::new(http::StatusCode::OK));
        ctx.use_namespace(DEFAULT_NAMESPACE);
        assert!(ctx.request().is_some());
        assert!(ctx.response().is_none());
        assert!(ctx
            .get_namespace("demo")
            .and_then(|n| n.response.as_ref())
            .is_some());
    }
}
