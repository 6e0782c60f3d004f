//! Mirror pool: an asynchronous copy of matching requests; the answers are discarded.

use std::net::IpAddr;
use std::sync::Arc;

use eg_protocols::{Body, Context, HttpRequest};

use super::forward::upstream_request;
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

impl Pool {
    /// Sends a copy of a request and discards the answer (mirror pools).
    async fn mirror(&self, req: HttpRequest, real_ip: IpAddr) {
        let Some(server) = self.choose(&req, real_ip) else {
            return;
        };
        let body = match &req.body {
            Body::Full(b) => Body::Full(b.clone()),
            _ => Body::Empty,
        };
        let Ok(upstream) = upstream_request(server, &req, body, false, self.set_upstream_host)
        else {
            return;
        };
        let work = async {
            if let Ok(resp) = self.client.pooled.request(upstream).await {
                let mut body = Body::Incoming(resp.into_body());
                let _ = body.buffer(None).await;
            }
        };
        match self.timeout {
            Some(t) => {
                let _ = tokio::time::timeout(t, work).await;
            }
            None => work.await,
        }
    }
}
