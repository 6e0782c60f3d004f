//! Failed upstream calls mapped to Easegress's statuses and results: network errors 503
//! `serverError`, the client gone 499 `clientError`, anything the proxy itself could not do
//! 500 `internalError` (the pool `timeout`, 408 `timeout`, is mapped where it is waited on).

use eg_upstream::connections::SendFailure;

use super::{RESULT_CLIENT_ERROR, RESULT_INTERNAL_ERROR, RESULT_SERVER_ERROR};

/// Status for a client that went away before the answer (nginx's "Client Closed Request").
pub const STATUS_CLIENT_CLOSED_REQUEST: u16 = 499;

/// A failed attempt: the status to answer and the result to return.
#[derive(Debug, Clone, Copy)]
pub struct Failure(pub u16, pub &'static str);

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
