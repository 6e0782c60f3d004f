//! The `WasmHost` filter: runs a WebAssembly module written for Easegress's host ABI (its
//! AssemblyScript and Rust SDKs) on each request.
//!
//! The module imports host functions from module `easegress` ([`abi::FUNCTIONS`]) and
//! exports `memory`, `wasm_run() -> i32`, `wasm_alloc(i32) -> i32`, `wasm_free(i32)` and
//! optionally `wasm_init(i32)` (called once per instance with the spec's `parameters`).
//! `wasm_run` returns 0 to continue or 1-9 for `wasmResult1`...`wasmResult9`. A run that
//! traps, outlasts `timeout`, exhausts its memory or returns another code ends with
//! `wasmError` and its instance is replaced; `outOfVM` means no instance could be had
//! (code not loaded yet, or an instance failed to start).
//!
//! Its own crate keeps wasmtime's build apart from the other filters.
#![forbid(unsafe_code)]

pub mod abi;
pub mod code;
pub mod engine;
mod filter;
mod headers;
mod host;
mod memio;
pub mod pool;
pub mod shared;
pub mod spec;
mod state;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use eg_filters::{BuildContext, Built, FilterKind, FilterSpec};
use eg_spec::SpecError;

pub use filter::{WasmHost, MAX_BODY};
pub use spec::WasmHostSpec;

use code::Source;
use filter::Loader;
use pool::Pool;
use shared::SharedData;

/// The kind name.
pub const KIND_NAME: &str = "WasmHost";
/// No instance could be had.
pub const RESULT_OUT_OF_VM: &str = "outOfVM";
/// The run failed.
pub const RESULT_WASM_ERROR: &str = "wasmError";

/// Every result, as Easegress lists them.
pub const RESULTS: &[&str; 11] = &[
    RESULT_OUT_OF_VM,
    RESULT_WASM_ERROR,
    "wasmResult1",
    "wasmResult2",
    "wasmResult3",
    "wasmResult4",
    "wasmResult5",
    "wasmResult6",
    "wasmResult7",
    "wasmResult8",
    "wasmResult9",
];

/// The `WasmHost` filter kind.
pub const KIND: FilterKind = FilterKind::new(
    KIND_NAME,
    "WasmHost implements a host environment for WebAssembly",
    RESULTS,
    spec::default_spec,
    build,
)
.with_schema(eg_filters::spec_schema::<WasmHostSpec>);

/// Decodes and checks the spec, loads code given as base64 or a file (compiling it and
/// starting one instance), and builds the filter. Code at a URL is only checked for
/// syntax here and fetched when the filter starts.
fn build(spec: &FilterSpec, ctx: &BuildContext<'_>) -> Result<Built, SpecError> {
    let (s, warnings) = eg_filters::spec::decode_filter_spec::<WasmHostSpec>(spec)?.into_parts();
    let limits = s.limits(&spec.path)?;
    let code_path = format!("{}.code", spec.path);
    if s.code.trim().is_empty() {
        return Err(SpecError::new(code_path, "is required"));
    }
    let source = Source::of(&s.code);
    let shared = Arc::new(SharedData::new(
        ctx.store.clone(),
        &spec.pipeline,
        &spec.name,
    ));
    let pool = match &source {
        Source::Url(url) => {
            code::check_url(url).map_err(|e| SpecError::new(&code_path, e))?;
            None
        }
        src => {
            let bytes =
                code::read_local(src, &s.code).map_err(|e| SpecError::new(&code_path, e))?;
            Some(
                Pool::new(bytes, s.flat_parameters(), shared.clone(), limits)
                    .map_err(|e| SpecError::new(&code_path, e))?,
            )
        }
    };
    let loader = Loader {
        code: s.code.clone(),
        source,
        params: s.flat_parameters(),
        limits,
        shared,
    };
    Ok(Built::new(
        WasmHost::new(pool, loader, ctx.store.clone()),
        warnings,
    ))
}
