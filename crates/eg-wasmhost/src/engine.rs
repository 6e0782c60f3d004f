//! The process-wide wasmtime engine, its epoch ticker, and compiling a module.
//!
//! Timeouts use epoch interruption: one thread bumps the engine's epoch every [`TICK`], and
//! each run sets its store's deadline a number of ticks ahead. Compiled code checks the
//! epoch at function entries and loop back-edges, which costs far less than fuel metering
//! (a counter update per basic block) and needs no per-request timer.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Engine, ExternType, Module};

use crate::abi;

/// How often the epoch advances: the resolution of `timeout`.
pub const TICK: Duration = Duration::from_millis(5);

/// The engine every WasmHost shares, with its ticker thread started on first use.
pub fn engine() -> Result<&'static Engine, String> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut config = Config::new();
            config.epoch_interruption(true);
            let engine = Engine::new(&config).map_err(|e| format!("wasm engine: {e:#}"))?;
            let ticker = engine.clone();
            std::thread::Builder::new()
                .name("wasm-epoch".into())
                .spawn(move || loop {
                    std::thread::sleep(TICK);
                    ticker.increment_epoch();
                })
                .map_err(|e| format!("wasm epoch thread: {e}"))?;
            Ok(engine)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// How many ticks ahead a deadline of `timeout` is: at least `timeout`, at most one tick
/// more.
pub fn deadline_ticks(timeout: Duration) -> u64 {
    let tick = TICK.as_nanos();
    (timeout.as_nanos().div_ceil(tick) as u64).saturating_add(1)
}

/// Exports a module must have, with their signatures as text for errors.
const REQUIRED_EXPORTS: [(&str, &str); 3] = [
    ("wasm_run", "func () -> i32"),
    ("wasm_alloc", "func (i32) -> i32"),
    ("wasm_free", "func (i32)"),
];

/// Compiles `code` and checks that it imports only host functions this build provides
/// (with their signatures) and exports `memory`, `wasm_run`, `wasm_alloc` and `wasm_free`.
/// The error says what is wrong, naming the import or export.
pub fn compile(code: &[u8]) -> Result<Module, String> {
    let engine = engine()?;
    let module = Module::from_binary(engine, code).map_err(|e| format!("invalid module: {e:#}"))?;
    for import in module.imports() {
        let (module_name, name) = (import.module(), import.name());
        let known = (module_name == abi::MODULE)
            .then(|| abi::signature(name))
            .flatten();
        let Some((params, results)) = known else {
            return Err(format!(
                "the module imports {module_name}.{name}, which this host does not provide"
            ));
        };
        let ExternType::Func(ty) = import.ty() else {
            return Err(format!(
                "the import {module_name}.{name} must be a function"
            ));
        };
        let got_params: Vec<String> = ty.params().map(|t| t.to_string()).collect();
        let got_results: Vec<String> = ty.results().map(|t| t.to_string()).collect();
        if got_params != params || got_results != results {
            return Err(format!(
                "the import {module_name}.{name} has type ({}) -> ({}), expected ({}) -> ({})",
                got_params.join(", "),
                got_results.join(", "),
                params.join(", "),
                results.join(", ")
            ));
        }
    }
    let export = |name: &str| module.get_export(name);
    match export("memory") {
        Some(ExternType::Memory(_)) => {}
        _ => return Err("the module must export its memory as \"memory\"".into()),
    }
    for (name, sig) in REQUIRED_EXPORTS {
        if !matches!(export(name), Some(ExternType::Func(_))) {
            return Err(format!("the module must export the function {name}: {sig}"));
        }
    }
    if let Some(e) = export("wasm_init") {
        if !matches!(e, ExternType::Func(_)) {
            return Err("wasm_init must be a function: func (i32)".into());
        }
    }
    Ok(module)
}
