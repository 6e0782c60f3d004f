//! The request body across the attempts of a retried call.
//!
//! A body already in memory (or none) can be sent again, so a `Retry` policy may repeat the
//! call; a streamed body can be sent once only, so the call gets exactly one attempt whatever
//! the policy says.

use bytes::Bytes;
use eg_protocols::{content_length, Body, HttpRequest};

use super::RetryPolicy;

/// The attempts of one call: the body each attempt sends and whether another may follow.
pub struct Attempts<'p> {
    first: Option<Body>,
    replay: Option<Bytes>,
    policy: Option<&'p RetryPolicy>,
    allowed: u32,
    done: u32,
}

impl<'p> Attempts<'p> {
    /// Takes the body out of `req` (a buffered body stays in the request too, shared) and
    /// returns the attempts with the request's size in bytes: the body's length when known,
    /// else its `Content-Length`, else 0.
    pub fn take(req: &mut HttpRequest, policy: Option<&'p RetryPolicy>) -> (Attempts<'p>, u64) {
        let body = match &req.body {
            Body::Empty => Body::Empty,
            Body::Full(b) => Body::Full(b.clone()),
            _ => std::mem::take(&mut req.body),
        };
        let replay = match &body {
            Body::Empty => Some(Bytes::new()),
            Body::Full(b) => Some(b.clone()),
            _ => None,
        };
        let size = body
            .known_len()
            .unwrap_or_else(|| content_length(req.headers()).unwrap_or(0));
        let allowed = match (policy, &replay) {
            (Some(p), Some(_)) => p.max_attempts.max(1),
            _ => 1,
        };
        let attempts = Attempts {
            first: Some(body),
            replay,
            policy,
            allowed,
            done: 0,
        };
        (attempts, size)
    }

    /// The body of the next attempt: the original one first, then copies of it.
    pub fn next_body(&mut self) -> Body {
        self.first
            .take()
            .unwrap_or_else(|| self.replay.clone().map(Body::full).unwrap_or_default())
    }

    /// The body's bytes when it can be sent again (`None` for a streamed body).
    pub fn replay(&self) -> Option<&Bytes> {
        self.replay.as_ref()
    }

    /// Counts an attempt that ended `failed`; when another is allowed, waits the policy's
    /// back-off and answers `true`.
    pub async fn again(&mut self, failed: bool) -> bool {
        self.done += 1;
        if !failed || self.done >= self.allowed {
            return false;
        }
        if let Some(p) = self.policy {
            tokio::time::sleep(p.wait_before(self.done)).await;
        }
        true
    }
}
