//! Connections to upstream servers.
//!
//! Two kinds of connection pool serve the servers of a pool:
//!
//! - [`HostPool`] (`host_pool.rs`): the keep-alive HTTP/1.1 connections of one plain-HTTP
//!   `host:port`, checked out and given back without a task per request; the request's
//!   own task writes and reads them with the codec of `h1/`;
//! - [`UpstreamClient`] (`client.rs`): hyper's generic pooled client over rustls, used for
//!   `https` servers, health probes, redirects and mirrors; it also hands out the
//!   [`HostPool`]s, one per `host:port`, and bounds their idle connections together;
//! - [`H2Pool`] (`h2_pool.rs`): HTTP/2 with prior knowledge (h2c) connections per
//!   `host:port`, each shared by many calls at once (gRPC).
//!
//! `websocket.rs` opens WebSocket connections (TCP or TLS and the client handshake, over
//! `ws_io.rs`'s [`UpstreamIo`]) for the WebSocket proxy and the `ws` health probe.
//!
//! `tls.rs` builds the one rustls `ClientConfig` of a client profile (`insecureSkipVerify`,
//! `mtls`), and `errors.rs` classifies failed calls ([`classify`], [`SendFailure`]) so a
//! proxy can map them to its statuses.

use std::time::Duration;

mod client;
mod errors;
mod h1;
mod h2_pool;
mod host_pool;
mod streamed;
mod tls;
mod websocket;
mod ws_io;

pub use self::client::{
    check_settings, shared_client, ClientSettings, Connector, HyperClient, UpstreamClient,
};
pub use self::errors::{classify, SendFailure, UpstreamError};
pub use self::h1::{encode_head, H1Error, RequestHead, MAX_WRITE_BEFORE_READ};
pub use self::h2_pool::{H2Error, H2Pool, H2Settings};
pub use self::host_pool::{HostPool, SendError};
pub use self::tls::{certificate_error, AnyServerCertificate, MtlsMaterial};
pub use self::websocket::{
    has_token, offered_protocols, open_websocket, websocket_tls_config, DialError, Opened,
    Switched, Target, DIAL_TIMEOUT, MAX_RESPONSE_HEAD, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    WEBSOCKET_VERSION,
};
pub use self::ws_io::UpstreamIo;

/// Idle pooled connections are closed after this long: Go's `Transport.IdleConnTimeout`,
/// which Easegress's Proxy uses (NGINX keeps upstream connections 60s). A connection the
/// server closed sooner (Node.js closes after 5s) is seen closed when it is taken and
/// skipped, and an idempotent request that met a close on its way out is sent once more on
/// a new connection; a shorter timeout would make traffic with pauses of a few seconds
/// connect (and for `https://`, handshake) again after each pause.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// TCP connect deadline (Go's dialer default in Easegress).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// TCP keep-alive probe time of upstream connections.
pub const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
