//! The protocols layer: what a filter sees of a request.
//!
//! A [`Context`] is a plain value owned by the connection task for one request. It holds
//! *namespaces* ([`Namespace`]), each with at most one request and one response; the incoming
//! request lives in `DEFAULT`. Filters read the request of the active namespace and write its
//! response. Bodies ([`Body`]) stay streams until a filter needs them buffered.
//!
//! It is also the one home of the HTTP helpers every layer shares: host/port splitting
//! ([`host`]), percent-encoding ([`escape`]), gzip of bodies ([`gzip`]) and message framing
//! ([`fix_framing`], [`content_length`]), reading header names off the wire
//! ([`header_name`]), asking short maps about the names they usually lack ([`lookup`]),
//! reading and writing a socket with direct system calls ([`socket`]) and writing a whole
//! buffer to a socket ([`write`](mod@write)).
//!
//! Unsafe code is denied except for the one line of [`socket::recv_into`] that marks the
//! bytes the kernel wrote as the buffer's.
#![deny(unsafe_code)]

mod body;
mod boxed;
mod connection;
mod context;
pub mod escape;
mod framing;
pub mod grpc;
pub mod gzip;
mod header_name;
pub mod host;
pub mod lookup;
mod message;
pub mod socket;
pub mod spans;
mod tag;
pub mod write;

pub use body::{Body, BodyError, BoxStream};
pub use connection::{connection_tokens, ConnectionOptions};
pub use context::{Context, Namespace, DEFAULT_NAMESPACE};
pub use framing::{already_framed, content_length, fix_framing, parse_length, MessageKind};
pub use header_name::header_name;
pub use host::{split_host_port, strip_port, unbracket};
pub use message::{
    mark_tls, standard_method, ClientTls, HttpRequest, HttpResponse, PeerCertificates,
    STANDARD_METHODS,
};
pub use tag::{LazyTag, Tag};
