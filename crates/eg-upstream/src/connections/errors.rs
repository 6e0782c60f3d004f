//! Why an upstream call failed, as seen from the error chains of hyper and the client.

use std::error::Error as StdError;

use eg_protocols::BodyError;

use super::host_pool;

/// Why an upstream call failed, as the pool maps it to a status and result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// The client's request body broke off (client gone): 499 `clientError`.
    ClientGone,
    /// A pooled connection was closed by the server before it answered; safe to retry an
    /// idempotent request once on a new connection.
    StaleConnection,
    /// Connect or network failure: 503 `serverError`.
    Network,
}

/// Classifies a client error by walking its sources.
pub fn classify(err: &hyper_util::client::legacy::Error) -> SendFailure {
    if err.is_connect() {
        return SendFailure::Network;
    }
    classify_sources(err.source())
}

/// Classifies an error of a [`HostPool`](super::HostPool) connection.
pub(crate) fn classify_hyper(err: &hyper::Error) -> SendFailure {
    classify_sources(Some(err))
}

fn classify_sources(first: Option<&(dyn StdError + 'static)>) -> SendFailure {
    let mut src = first;
    let mut stale = false;
    while let Some(e) = src {
        if e.downcast_ref::<BodyError>().is_some() {
            return SendFailure::ClientGone;
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
                stale = true;
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
            ) {
                stale = true;
            }
        }
        src = e.source();
    }
    if stale {
        SendFailure::StaleConnection
    } else {
        SendFailure::Network
    }
}

/// A failed upstream call, from a [`HostPool`](super::HostPool) connection or the generic client.
#[derive(Debug)]
pub enum UpstreamError {
    /// A plain-HTTP keep-alive connection of a [`HostPool`](super::HostPool) failed.
    Fast(host_pool::SendError),
    /// The generic client failed.
    Generic(hyper_util::client::legacy::Error),
}

impl UpstreamError {
    /// The underlying error, for logs.
    pub fn as_error(&self) -> &(dyn StdError + 'static) {
        match self {
            UpstreamError::Fast(host_pool::SendError::Connect(e)) => e,
            UpstreamError::Fast(host_pool::SendError::Exchange(e)) => e,
            UpstreamError::Fast(host_pool::SendError::Http(e)) => e,
            UpstreamError::Fast(host_pool::SendError::Body(e)) => e,
            UpstreamError::Generic(e) => e,
        }
    }

    /// What kind of failure it is.
    pub fn failure(&self) -> SendFailure {
        match self {
            UpstreamError::Fast(host_pool::SendError::Connect(_)) => SendFailure::Network,
            UpstreamError::Fast(host_pool::SendError::Exchange(e)) if e.is_stale() => {
                SendFailure::StaleConnection
            }
            UpstreamError::Fast(host_pool::SendError::Exchange(_)) => SendFailure::Network,
            UpstreamError::Fast(host_pool::SendError::Http(e)) => classify_hyper(e),
            UpstreamError::Fast(host_pool::SendError::Body(_)) => SendFailure::ClientGone,
            UpstreamError::Generic(e) => classify(e),
        }
    }
}
