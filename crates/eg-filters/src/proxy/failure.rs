//! Failed upstream calls mapped to Easegress's statuses and results: network errors 503
//! `serverError`, the client gone 499 `clientError`, anything the proxy itself could not do
//! 500 `internalError` (the pool `timeout`, 408 `timeout`, is mapped where it is waited on).

use super::client::{classify, classify_hyper, SendFailure};
use super::h1pool;
use super::{RESULT_CLIENT_ERROR, RESULT_INTERNAL_ERROR, RESULT_SERVER_ERROR};

/// Status for a client that went away before the answer (nginx's "Client Closed Request").
pub const STATUS_CLIENT_CLOSED_REQUEST: u16 = 499;

/// A failed attempt: the status to answer and the result to return.
#[derive(Debug, Clone, Copy)]
pub struct Failure(pub u16, pub &'static str);

/// A failed upstream call, from a [`h1pool::HostPool`] connection or the generic client.
#[derive(Debug)]
pub enum UpstreamError {
    Fast(h1pool::SendError),
    Generic(hyper_util::client::legacy::Error),
}

impl UpstreamError {
    /// The underlying error, for logs.
    pub fn as_error(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            UpstreamError::Fast(h1pool::SendError::Connect(e)) => e,
            UpstreamError::Fast(h1pool::SendError::Http(e)) => e,
            UpstreamError::Generic(e) => e,
        }
    }

    /// What kind of failure it is.
    pub fn failure(&self) -> SendFailure {
        match self {
            UpstreamError::Fast(h1pool::SendError::Connect(_)) => SendFailure::Network,
            UpstreamError::Fast(h1pool::SendError::Http(e)) => classify_hyper(e),
            UpstreamError::Generic(e) => classify(e),
        }
    }
}

/// Any error of the proxy's own making: 500 `internalError`.
pub fn internal<E>(_: E) -> Failure {
    Failure(500, RESULT_INTERNAL_ERROR)
}

/// The status and result of a failed send.
pub fn failure_of(f: SendFailure) -> Failure {
    match f {
        SendFailure::ClientGone => Failure(STATUS_CLIENT_CLOSED_REQUEST, RESULT_CLIENT_ERROR),
        SendFailure::StaleConnection | SendFailure::Network => Failure(503, RESULT_SERVER_ERROR),
    }
}
