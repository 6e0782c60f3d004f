//! What a Wasm instance's store holds: its limits, its exports used by the host functions,
//! the shared data handle, and the request being handled.

use std::net::IpAddr;
use std::sync::Arc;

use eg_protocols::{HttpRequest, HttpResponse};
use wasmtime::{Memory, StoreLimits, TypedFunc};

use crate::shared::SharedData;

/// The request and response of the namespace a run works on, moved into the store for the
/// run and moved back after it (so host functions need no reference into the context).
pub struct Call {
    /// The request (absent when the namespace holds none).
    pub request: Option<HttpRequest>,
    /// The response, created with status 200 when the namespace held none.
    pub response: HttpResponse,
    /// The client's IP.
    pub real_ip: IpAddr,
    /// Tags added by the module, for the access log.
    pub tags: Vec<String>,
}

/// The data of one instance's store.
pub struct HostState {
    /// Memory and instance limits.
    pub limits: StoreLimits,
    /// The module's `memory`, set once instantiated.
    pub memory: Option<Memory>,
    /// The module's `wasm_alloc`, set once instantiated.
    pub alloc: Option<TypedFunc<i32, i32>>,
    /// The filter's shared data.
    pub shared: Arc<SharedData>,
    /// The request being handled; `None` between runs (and during `wasm_init`).
    pub call: Option<Call>,
}
