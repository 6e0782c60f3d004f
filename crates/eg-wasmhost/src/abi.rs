//! Easegress's host ABI: the functions a module imports from module `easegress`, their
//! signatures, and the linker that provides them.

use std::sync::OnceLock;

use eg_protocols::HttpRequest;
use wasmtime::{Caller, Engine, Linker, Result};

use crate::state::{Call, HostState};

/// The import module name.
pub const MODULE: &str = "easegress";

const I: &str = "i32";
const L: &str = "i64";
const F: &str = "f64";

/// Every host function: name, parameter types, result types.
pub const FUNCTIONS: &[(&str, &[&str], &[&str])] = &[
    ("host_req_get_real_ip", &[], &[I]),
    ("host_req_get_scheme", &[], &[I]),
    ("host_req_get_proto", &[], &[I]),
    ("host_req_get_method", &[], &[I]),
    ("host_req_set_method", &[I], &[]),
    ("host_req_get_host", &[], &[I]),
    ("host_req_set_host", &[I], &[]),
    ("host_req_get_path", &[], &[I]),
    ("host_req_set_path", &[I], &[]),
    ("host_req_get_escaped_path", &[], &[I]),
    ("host_req_get_query", &[], &[I]),
    ("host_req_set_query", &[I], &[]),
    ("host_req_get_fragment", &[], &[I]),
    ("host_req_get_header", &[I], &[I]),
    ("host_req_get_all_header", &[], &[I]),
    ("host_req_set_header", &[I, I], &[]),
    ("host_req_set_all_header", &[I], &[]),
    ("host_req_add_header", &[I, I], &[]),
    ("host_req_del_header", &[I], &[]),
    ("host_req_get_cookie", &[I], &[I]),
    ("host_req_get_all_cookie", &[], &[I]),
    ("host_req_add_cookie", &[I], &[]),
    ("host_req_get_body", &[], &[I]),
    ("host_req_set_body", &[I], &[]),
    ("host_resp_get_status_code", &[], &[I]),
    ("host_resp_set_status_code", &[I], &[]),
    ("host_resp_get_header", &[I], &[I]),
    ("host_resp_get_all_header", &[], &[I]),
    ("host_resp_set_header", &[I, I], &[]),
    ("host_resp_set_all_header", &[I], &[]),
    ("host_resp_add_header", &[I, I], &[]),
    ("host_resp_del_header", &[I], &[]),
    ("host_resp_set_cookie", &[I], &[]),
    ("host_resp_get_body", &[], &[I]),
    ("host_resp_set_body", &[I], &[]),
    ("host_cluster_get_binary", &[I], &[I]),
    ("host_cluster_put_binary", &[I, I], &[]),
    ("host_cluster_get_string", &[I], &[I]),
    ("host_cluster_put_string", &[I, I], &[]),
    ("host_cluster_get_integer", &[I], &[L]),
    ("host_cluster_put_integer", &[I, L], &[]),
    ("host_cluster_add_integer", &[I, L], &[L]),
    ("host_cluster_get_float", &[I], &[F]),
    ("host_cluster_put_float", &[I, F], &[]),
    ("host_cluster_add_float", &[I, F], &[F]),
    ("host_cluster_count_key", &[I], &[I]),
    ("host_add_tag", &[I], &[]),
    ("host_log", &[I, I], &[]),
    ("host_get_unix_time_in_ms", &[], &[L]),
    ("host_rand", &[], &[F]),
];

/// The signature of host function `name`, if the host provides it.
pub fn signature(name: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    FUNCTIONS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, p, r)| (*p, *r))
}

/// A trap with `msg`.
pub fn fail(msg: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::msg(msg.into())
}

/// The call in progress.
pub fn call<'a>(caller: &'a mut Caller<'_, HostState>) -> Result<&'a mut Call> {
    caller
        .data_mut()
        .call
        .as_mut()
        .ok_or_else(|| fail("no request is being handled (called from wasm_init?)"))
}

/// The request of the call in progress.
pub fn request<'a>(caller: &'a mut Caller<'_, HostState>) -> Result<&'a mut HttpRequest> {
    call(caller)?
        .request
        .as_mut()
        .ok_or_else(|| fail("the namespace holds no request"))
}

/// The linker providing every host function (built once; it holds no state).
pub fn linker(engine: &Engine) -> Result<&'static Linker<HostState>> {
    static LINKER: OnceLock<Linker<HostState>> = OnceLock::new();
    if let Some(l) = LINKER.get() {
        return Ok(l);
    }
    let mut l = Linker::new(engine);
    crate::host::request::define(&mut l)?;
    crate::host::response::define(&mut l)?;
    crate::host::cluster::define(&mut l)?;
    crate::host::misc::define(&mut l)?;
    Ok(LINKER.get_or_init(|| l))
}
