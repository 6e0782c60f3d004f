//! The data a builder template renders with: `.req`, `.resp`, `.requests`, `.responses`,
//! `.data` and `.namespace`, as Easegress's `prepareBuilderData` provides them.
//!
//! Nothing is copied: for the length of one render the request heads, response headers and
//! the data map are *lent* to the template (moved out of the context into shared objects)
//! and put back afterwards. Bodies are shared by reference count.

use std::collections::BTreeMap;
use std::sync::Arc;

use eg_protocols::{Body, Context};
use eg_template::{Template, Value};

use super::objects::{BodyView, DataObject, ReqInner, RequestObject, RespInner, ResponseObject};

/// Marks a request built by `RequestBuilder`: like a Go request made with
/// `http.NewRequest`, it has no `RemoteAddr` and no `RequestURI`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BuiltRequest;

fn view(body: &Body, what: &str, ns: &str) -> BodyView {
    match body {
        Body::Empty => BodyView::Bytes(bytes::Bytes::new()),
        Body::Full(b) => BodyView::Bytes(b.clone()),
        _ => BodyView::Stream(format!("the body of {what} {ns:?} is a stream")),
    }
}

fn empty_parts() -> http::request::Parts {
    http::Request::new(()).into_parts().0
}

/// What was moved out of the context for one render.
struct Lent {
    requests: Vec<(String, Arc<ReqInner>)>,
    responses: Vec<(String, Arc<RespInner>)>,
    data: Arc<DataObject>,
}

impl Lent {
    fn take(ctx: &mut Context) -> Lent {
        let names: Vec<String> = ctx
            .namespaces()
            .iter()
            .map(|n| n.name.to_string())
            .collect();
        let peer = ctx.peer_addr;
        let mut requests = Vec::with_capacity(names.len());
        let mut responses = Vec::new();
        for name in names {
            let Some(ns) = ctx.get_namespace_mut(&name) else {
                continue;
            };
            if let Some(req) = ns.request.as_mut() {
                let head = std::mem::replace(&mut req.head, empty_parts());
                let remote = if head.extensions.get::<BuiltRequest>().is_some() {
                    None
                } else {
                    Some(peer)
                };
                let body = view(&req.body, "request", &name);
                requests.push((name.clone(), Arc::new(ReqInner::new(head, body, remote))));
            }
            if let Some(resp) = ns.response.as_mut() {
                let headers = std::mem::take(&mut resp.headers);
                let body = view(&resp.body, "response", &name);
                responses.push((name, Arc::new(RespInner::new(resp.status, headers, body))));
            }
        }
        Lent {
            requests,
            responses,
            data: Arc::new(DataObject::new(ctx.data.take())),
        }
    }

    fn value(&self, namespace: &str) -> Value {
        let mut reqs = BTreeMap::new();
        let mut default_req = Value::Nil;
        for (name, r) in &self.requests {
            let v = Value::Object(Arc::new(RequestObject(r.clone())));
            if name == eg_protocols::DEFAULT_NAMESPACE {
                default_req = v.clone();
            }
            reqs.insert(name.clone(), v);
        }
        let mut resps = BTreeMap::new();
        let mut default_resp = Value::Nil;
        for (name, r) in &self.responses {
            let v = Value::Object(Arc::new(ResponseObject(r.clone())));
            if name == eg_protocols::DEFAULT_NAMESPACE {
                default_resp = v.clone();
            }
            resps.insert(name.clone(), v);
        }
        let mut m = BTreeMap::new();
        m.insert("req".to_string(), default_req);
        m.insert("resp".to_string(), default_resp);
        m.insert("requests".to_string(), Value::map(reqs));
        m.insert("responses".to_string(), Value::map(resps));
        m.insert("data".to_string(), Value::Object(self.data.clone()));
        m.insert("namespace".to_string(), Value::str(namespace));
        Value::map(m)
    }

    /// Puts everything back. The template's values are gone by now, so each object has a
    /// single owner again; should one still be shared, its contents are cloned back.
    fn restore(self, ctx: &mut Context) {
        for (name, inner) in self.requests {
            let head = match Arc::try_unwrap(inner) {
                Ok(i) => i.head,
                Err(shared) => shared.head.clone(),
            };
            if let Some(req) = ctx
                .get_namespace_mut(&name)
                .and_then(|n| n.request.as_mut())
            {
                req.head = head;
            }
        }
        for (name, inner) in self.responses {
            let headers = match Arc::try_unwrap(inner) {
                Ok(i) => i.headers,
                Err(shared) => shared.headers.clone(),
            };
            if let Some(resp) = ctx
                .get_namespace_mut(&name)
                .and_then(|n| n.response.as_mut())
            {
                resp.headers = headers;
            }
        }
        ctx.data = match Arc::try_unwrap(self.data) {
            Ok(d) => d.map,
            Err(shared) => shared.map.clone(),
        };
    }
}

/// Renders `template` over the context's requests, responses and data. Execution errors
/// come back as Go formats them.
pub(crate) fn render(template: &Template, ctx: &mut Context) -> Result<String, String> {
    let lent = Lent::take(ctx);
    let data = lent.value(ctx.namespace());
    let result = template.render(&data).map_err(|e| e.to_string());
    drop(data);
    lent.restore(ctx);
    result
}
