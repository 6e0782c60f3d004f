//! The `@KIND@` filter.
//!
//! It sets the header `header` (default `X-@KIND@`) to `value` on every request that passes
//! and counts the requests it handled; the count is its status and carries over to the next
//! generation when the pipeline is updated. It follows the pattern of the `HeaderCounter`
//! filter of the easegress-rs developer guide: a spec, a `FilterKind` constant and a
//! `Filter`. Replace the body of `handle` with your own logic.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};

use eg_filters::spec::decode_filter_spec;
use eg_filters::{BuildContext, Built, Filter, FilterKind, FilterSpec, Handled, RESULT_OK};
use eg_protocols::Context;
use eg_spec::SpecError;
use http::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{json, Value};

/// The kind name, as written in pipelines.
pub const KIND_NAME: &str = "@KIND@";
/// Returned when the active namespace has no request to change.
pub const RESULT_NO_REQUEST: &str = "noRequest";
/// The header set when the spec names none.
pub const DEFAULT_HEADER: &str = "X-@KIND@";
/// The value set when the spec gives none.
pub const DEFAULT_VALUE: &str = "@KIND@";

/// The `@KIND@` filter kind: one line in `register` adds it to a server.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "@KIND@ sets a header on each request and counts the requests.",
    &[RESULT_NO_REQUEST],
    default_spec,
    build,
)
.with_schema(eg_filters::spec_schema::<@KIND@Spec>);

/// `@KIND@` fields.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct @KIND@Spec {
    /// The request header to set. Default: `X-@KIND@`.
    #[serde(default = "default_header")]
    pub header: String,
    /// Its value. Default: `@KIND@`.
    #[serde(default = "default_value")]
    pub value: String,
}

fn default_header() -> String {
    DEFAULT_HEADER.to_string()
}

fn default_value() -> String {
    DEFAULT_VALUE.to_string()
}

fn default_spec() -> Value {
    json!({"header": DEFAULT_HEADER, "value": DEFAULT_VALUE})
}

/// Checks the spec and builds the filter; errors name the field path.
fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<@KIND@Spec>(spec)?.into_parts();
    let header = HeaderName::from_bytes(s.header.as_bytes()).map_err(|_| {
        SpecError::new(
            format!("{}.header", spec.path),
            format!("invalid header name {:?}", s.header),
        )
    })?;
    let value = HeaderValue::from_str(&s.value).map_err(|_| {
        SpecError::new(
            format!("{}.value", spec.path),
            format!("invalid header value {:?}", s.value),
        )
    })?;
    let filter = @KIND@ {
        header,
        value,
        handled: AtomicU64::new(0),
    };
    Ok(Built::new(filter, warnings))
}

/// The running filter, shared by every request of one pipeline generation.
pub struct @KIND@ {
    header: HeaderName,
    value: HeaderValue,
    handled: AtomicU64,
}

impl @KIND@ {
    /// How many requests this filter (and the generations before it) handled.
    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::Relaxed)
    }
}

impl Filter for @KIND@ {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request_mut() else {
            return Handled::Done(RESULT_NO_REQUEST);
        };
        req.headers_mut()
            .insert(self.header.clone(), self.value.clone());
        self.handled.fetch_add(1, Ordering::Relaxed);
        Handled::Done(RESULT_OK)
    }

    fn init(&self, prev: Option<&dyn Filter>) {
        if let Some(prev) = prev.and_then(|p| p.as_any().downcast_ref::<@KIND@>()) {
            self.handled.store(prev.handled(), Ordering::Relaxed);
        }
    }

    fn status(&self) -> Value {
        json!({ "handled": self.handled() })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};
    use std::sync::Arc;

    use eg_filters::resilience::Policies;
    use eg_protocols::HttpRequest;
    use eg_supervisor::{KindRegistry, MemberInfo, Supervisor};

    use super::*;

    fn build_from(doc: Value) -> Result<Built, SpecError> {
        let mut doc = doc;
        doc["name"] = json!("f");
        doc["kind"] = json!(KIND_NAME);
        let spec = FilterSpec {
            name: "f".into(),
            kind: KIND_NAME.into(),
            doc,
            pipeline: "p".into(),
            path: "filters[0]".into(),
        };
        let sup = Supervisor::new(
            KindRegistry::new(),
            Arc::new(eg_store::MemStore::new()),
            MemberInfo::standalone("test"),
        );
        let policies = Policies::new();
        (KIND.build)(&spec, &BuildContext::new(&sup, &policies))
    }

    fn context() -> Context {
        let req = HttpRequest::simple(http::Method::GET, "/").expect("a request");
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Context::new(req, SocketAddr::new(ip, 40000), ip)
    }

    fn run(filter: &dyn Filter, ctx: &mut Context) -> &'static str {
        match filter.handle(ctx) {
            Handled::Done(result) => result,
            Handled::Pending(_) => panic!("the filter does not wait"),
        }
    }

    #[test]
    fn sets_the_header_and_counts() {
        let built = build_from(json!({"header": "X-Test", "value": "yes"})).expect("built");
        assert!(built.warnings.is_empty());
        let mut ctx = context();
        assert_eq!(run(&*built.filter, &mut ctx), RESULT_OK);
        let req = ctx.request().expect("the request");
        assert_eq!(req.headers()["x-test"], "yes");
        assert_eq!(built.filter.status(), json!({"handled": 1}));
    }

    #[test]
    fn defaults_apply() {
        let built = build_from(json!({})).expect("built");
        let mut ctx = context();
        run(&*built.filter, &mut ctx);
        let req = ctx.request().expect("the request");
        assert_eq!(req.headers()[DEFAULT_HEADER], DEFAULT_VALUE);
    }

    #[test]
    fn the_count_carries_over() {
        let old = build_from(json!({})).expect("built").filter;
        run(&*old, &mut context());
        let new = build_from(json!({})).expect("built").filter;
        new.init(Some(&*old));
        assert_eq!(new.status(), json!({"handled": 1}));
    }

    #[test]
    fn bad_specs_name_the_field() {
        let cases = [
            (json!({"header": "bad name"}), "filters[0].header"),
            (json!({"value": "bad\nvalue"}), "filters[0].value"),
            (json!({"header": 3}), "filters[0].header"),
        ];
        for (doc, path) in cases {
            let err = build_from(doc.clone()).err();
            assert_eq!(err.map(|e| e.path), Some(path.to_string()), "{doc}");
        }
    }

    #[test]
    fn unknown_fields_are_warnings() {
        let built = build_from(json!({"colour": "blue"})).expect("built");
        assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
    }
}
