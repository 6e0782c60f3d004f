//! Mirror pool: an asynchronous copy of matching requests; the answers are discarded.

use std::sync::Arc;

use eg_protocols::{Body, Context, HttpRequest};

use super::pool::Pool;

/// Body sent to the mirror when the original body is a stream (it can be read only once).
pub const STREAM_BODY_TEXT: &str = "cannot send a stream body to mirror";

/// Sends a copy of the request of `ctx` to `pool` in a background task, if the request
/// matches the pool's filter. Never waits and never changes the context.
pub fn mirror_if_matching(pool: &Arc<Pool>, ctx: &Context) {
    let Some(req) = ctx.request() else {
        return;
    };
    let Some(m) = &pool.matcher else {
        return;
    };
    if !m.matches(req, ctx.real_ip) {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let mut head = req.head.clone();
    let body = match &req.body {
        Body::Empty => Body::Empty,
        Body::Full(b) => Body::Full(b.clone()),
        _ => {
            head.headers.remove(http::header::CONTENT_LENGTH);
            Body::full(STREAM_BODY_TEXT)
        }
    };
    let copy = HttpRequest::new(head, body);
    let (pool, ip) = (pool.clone(), ctx.real_ip);
    rt.spawn(async move { pool.mirror(copy, ip).await });
}
