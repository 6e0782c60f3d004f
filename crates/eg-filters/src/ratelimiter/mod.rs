//! The `RateLimiter` filter: permits per period for URL rules.
//!
//! Each `urls` rule owns a [`Limiter`] built from its policy (`policyRef`, or the
//! `defaultPolicyRef`). A request is checked against the rules in order; only the first
//! rule whose methods and path matcher fit it applies. That rule's limiter either lets it
//! through at once, lets it through after waiting for a permit of a coming cycle (at most
//! `timeoutDuration`), or rejects it: the response of the active namespace (created if
//! there is none) gets status 429 and `X-EG-Rate-Limiter: too-many-requests`, and the
//! filter returns `rateLimited`. Requests no rule matches pass untouched.
//!
//! Limits are per instance (not shared across a cluster). A rule whose matcher, methods
//! and policy are unchanged keeps its limiter — and so its used permits — when the
//! pipeline is updated.

mod limiter;
mod spec;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use eg_protocols::{Context, HttpResponse};
use eg_spec::error::join_path;
use eg_spec::{SpecError, StringMatcher};
use http::{HeaderName, HeaderValue, Method, StatusCode};

use crate::filter::{BuildContext, Built, Filter, FilterSpec, Handled};
use crate::registry::FilterKind;
use crate::spec::decode_filter_spec;

pub use limiter::{Decision, Limiter, LimiterPolicy};
pub use spec::{PolicySpec, RateLimiterSpec, UrlRuleSpec};

/// The kind name.
pub const KIND_NAME: &str = "RateLimiter";
/// Returned when a request was rejected (status 429).
pub const RESULT_RATE_LIMITED: &str = "rateLimited";
/// The header set on rejected requests' responses.
pub const HEADER_RATE_LIMITER: HeaderName = HeaderName::from_static("x-eg-rate-limiter");
/// Its value.
pub const TOO_MANY_REQUESTS: &str = "too-many-requests";

/// The `RateLimiter` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "RateLimiter implements a rate limiter for http request.",
    &[RESULT_RATE_LIMITED],
    spec::default_spec,
    build,
)
.with_schema(crate::spec_schema::<RateLimiterSpec>);

fn build(spec: &FilterSpec, _: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = decode_filter_spec::<RateLimiterSpec>(spec)?.into_parts();
    Ok(Built::new(RateLimiter::compile(&s, &spec.path)?, warnings))
}

/// A compiled `urls` rule and its limiter.
struct Rule {
    /// The rule as written, to recognise it in the next generation.
    spec: UrlRuleSpec,
    /// The name of the policy it uses (after `defaultPolicyRef`).
    policy_name: String,
    methods: Box<[Method]>,
    url: StringMatcher,
    /// The limiter this rule started with.
    own: Arc<Limiter>,
    /// The previous generation's limiter, taken over once by [`Filter::init`]: read
    /// without the reference counting a swappable pointer costs each request.
    inherited: OnceLock<Arc<Limiter>>,
}

impl Rule {
    /// The limiter in use: the inherited one if there is one.
    fn limiter(&self) -> &Arc<Limiter> {
        self.inherited.get().unwrap_or(&self.own)
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        (self.methods.is_empty() || self.methods.contains(method)) && self.url.matches(path)
    }

    /// Whether `prev` may hand its limiter over: same rule, same policy.
    fn same_as(&self, prev: &Rule) -> bool {
        self.spec == prev.spec
            && self.policy_name == prev.policy_name
            && self.limiter().policy() == prev.limiter().policy()
    }
}

/// The running filter.
pub struct RateLimiter {
    rules: Box<[Rule]>,
}

impl RateLimiter {
    /// Checks and compiles `s`; errors name fields under `path`.
    pub fn compile(s: &RateLimiterSpec, path: &str) -> Result<RateLimiter, SpecError> {
        let ppath = join_path(path, "policies");
        let Some(policy_specs) = &s.policies else {
            return Err(SpecError::new(ppath, "required"));
        };
        let mut policies: Vec<(&str, LimiterPolicy)> = Vec::with_capacity(policy_specs.len());
        for (i, p) in policy_specs.iter().enumerate() {
            let at = format!("{ppath}[{i}]");
            let compiled = p.compile(&at)?;
            if policies.iter().any(|(n, _)| *n == p.name) {
                return Err(SpecError::new(
                    join_path(&at, "name"),
                    format!("duplicated policy name {:?}", p.name),
                ));
            }
            policies.push((&p.name, compiled));
        }
        let upath = join_path(path, "urls");
        let Some(urls) = &s.urls else {
            return Err(SpecError::new(upath, "required"));
        };
        let now = Instant::now();
        let mut rules = Vec::with_capacity(urls.len());
        for (i, u) in urls.iter().enumerate() {
            let at = format!("{upath}[{i}]");
            let (name, field) = if u.policy_ref.is_empty() {
                (&s.default_policy_ref, join_path(path, "defaultPolicyRef"))
            } else {
                (&u.policy_ref, join_path(&at, "policyRef"))
            };
            let Some((_, policy)) = policies.iter().find(|(n, _)| *n == name.as_str()) else {
                return Err(SpecError::new(
                    field,
                    format!("policy {name:?} is not defined"),
                ));
            };
            let Some(url) = &u.url else {
                return Err(SpecError::new(join_path(&at, "url"), "required"));
            };
            rules.push(Rule {
                spec: u.clone(),
                policy_name: name.clone(),
                methods: spec::methods(&u.methods, &join_path(&at, "methods"))?,
                url: url.compile(&join_path(&at, "url"))?,
                own: Arc::new(Limiter::new(*policy, now)),
                inherited: OnceLock::new(),
            });
        }
        Ok(RateLimiter {
            rules: rules.into_boxed_slice(),
        })
    }
}

/// Sets 429 and the limiter header on the response (creating an empty one if needed).
fn reject(ctx: &mut Context) {
    ctx.add_tag("rateLimiter: too many requests");
    let resp = match ctx.response_mut() {
        Some(r) => r,
        None => {
            ctx.set_response(HttpResponse::new(StatusCode::TOO_MANY_REQUESTS));
            match ctx.response_mut() {
                Some(r) => r,
                None => return,
            }
        }
    };
    resp.status = StatusCode::TOO_MANY_REQUESTS;
    resp.headers.insert(
        HEADER_RATE_LIMITER,
        HeaderValue::from_static(TOO_MANY_REQUESTS),
    );
}

impl Filter for RateLimiter {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(req) = ctx.request() else {
            return Handled::Done("");
        };
        let path = eg_protocols::escape::decode_path(req.path());
        let Some(rule) = self.rules.iter().find(|r| r.matches(req.method(), &path)) else {
            return Handled::Done("");
        };
        match rule.limiter().acquire(Instant::now()) {
            Decision::Permitted => Handled::Done(""),
            Decision::Wait(d) => Handled::Pending(Box::pin(async move {
                tokio::time::sleep(d).await;
                ctx.add_tag(format!("rateLimiter: waiting duration: {d:?}"));
                ""
            })),
            Decision::Rejected => {
                reject(ctx);
                Handled::Done(RESULT_RATE_LIMITED)
            }
        }
    }

    fn init(&self, prev: Option<&dyn Filter>) {
        let Some(prev) = prev.and_then(|p| p.as_any().downcast_ref::<RateLimiter>()) else {
            return;
        };
        // Each previous limiter goes to at most one new rule (the first equal one).
        let mut taken = vec![false; prev.rules.len()];
        for rule in self.rules.iter() {
            let found = prev
                .rules
                .iter()
                .enumerate()
                .find(|(i, p)| !taken[*i] && rule.same_as(p));
            if let Some((i, p)) = found {
                taken[i] = true;
                // Called once: a second call keeps the first limiter taken.
                let _ = rule.inherited.set(Arc::clone(p.limiter()));
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
