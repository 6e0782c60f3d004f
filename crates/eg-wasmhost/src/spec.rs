//! The `WasmHost` spec and its checks.

use std::collections::BTreeMap;
use std::time::Duration;

use eg_spec::SpecError;
use serde::Deserialize;
use serde_json::{json, Value};

/// Default of `maxConcurrency`.
pub const DEFAULT_MAX_CONCURRENCY: i64 = 10;
/// Default of `timeout`.
pub const DEFAULT_TIMEOUT: &str = "100ms";

/// `WasmHost` fields.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WasmHostSpec {
    /// How many Wasm instances may run at once; a request that finds none free waits for
    /// one. Default 10, at least 1.
    #[serde(default = "default_max_concurrency")]
    pub max_concurrency: i64,
    /// The Wasm module: an `http://` or `https://` URL, a path of a file, or the module
    /// encoded in base64 (tried in this order). Required.
    pub code: String,
    /// How long one run of the module may take before it is interrupted (`wasmError`).
    /// Default `100ms`.
    #[serde(default = "default_timeout")]
    pub timeout: String,
    /// Handed to the module's `wasm_init` as name/value pairs. Default none.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

fn default_max_concurrency() -> i64 {
    DEFAULT_MAX_CONCURRENCY
}

fn default_timeout() -> String {
    DEFAULT_TIMEOUT.to_string()
}

/// The defaults served by the metadata API.
pub fn default_spec() -> Value {
    json!({"maxConcurrency": DEFAULT_MAX_CONCURRENCY, "timeout": DEFAULT_TIMEOUT})
}

/// The checked numbers of a spec.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `maxConcurrency`.
    pub max_concurrency: usize,
    /// `timeout`.
    pub timeout: Duration,
}

impl WasmHostSpec {
    /// Checks `maxConcurrency` and `timeout`; errors name `path.<field>`.
    pub fn limits(&self, path: &str) -> Result<Limits, SpecError> {
        let max_concurrency = usize::try_from(self.max_concurrency)
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| {
                SpecError::new(
                    format!("{path}.maxConcurrency"),
                    format!("must be 1-10000, got {}", self.max_concurrency),
                )
            })?;
        let at = format!("{path}.timeout");
        let timeout = eg_spec::GoDuration::parse(&self.timeout)
            .map_err(|e| SpecError::new(&at, e))?
            .get();
        if timeout.is_zero() {
            return Err(SpecError::new(at, "must be more than 0"));
        }
        Ok(Limits {
            max_concurrency,
            timeout,
        })
    }

    /// The parameters as `wasm_init` receives them: name, value, name, value, ...
    pub fn flat_parameters(&self) -> Vec<String> {
        self.parameters
            .iter()
            .flat_map(|(k, v)| [k.clone(), v.clone()])
            .collect()
    }
}
