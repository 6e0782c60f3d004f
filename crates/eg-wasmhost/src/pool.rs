//! A compiled module and its instances: at most `maxConcurrency` run at once; an instance
//! that failed is dropped and a new one is made when needed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Semaphore;
use wasmtime::{Module, Store, StoreLimitsBuilder, TypedFunc};

use crate::abi;
use crate::engine::{self, deadline_ticks};
use crate::memio;
use crate::shared::SharedData;
use crate::spec::Limits;
use crate::state::{Call, HostState};

/// Most linear memory one instance may have.
pub const MEMORY_LIMIT: usize = 64 << 20;

/// One instance of the module.
pub struct Vm {
    store: Store<HostState>,
    run: TypedFunc<(), i32>,
}

impl Vm {
    /// Runs `wasm_run` on `call` within `ticks` epoch ticks; gives the call back with the
    /// module's result code, or why the run failed (trap, timeout, memory exhausted).
    pub fn run(&mut self, call: Call, ticks: u64) -> (Call, Result<i32, String>) {
        self.store.data_mut().call = Some(call);
        self.store.set_epoch_deadline(ticks);
        let result = self
            .run
            .call(&mut self.store, ())
            .map_err(|e| format!("{e:#}"));
        let call = self.store.data_mut().call.take();
        match call {
            Some(call) => (call, result),
            // The call is put back by this function only; it cannot be missing.
            None => unreachable_call(),
        }
    }
}

#[cold]
fn unreachable_call() -> ! {
    panic!("a wasm run lost its call")
}

/// The loaded code: its bytes, its module, its instances.
pub struct Pool {
    /// The code the module was compiled from (to skip reloading the same code).
    pub code: Vec<u8>,
    module: Module,
    params: Vec<String>,
    shared: Arc<SharedData>,
    ticks: u64,
    idle: Mutex<Vec<Vm>>,
    /// One permit per instance that may run at once.
    pub permits: Semaphore,
    /// Whether the module reads the request body (it is buffered before a run).
    pub reads_request_body: bool,
    /// Whether the module reads the response body.
    pub reads_response_body: bool,
    created: AtomicU64,
}

impl Pool {
    /// Compiles `code` and makes one instance (running `wasm_init`), so that a module that
    /// cannot start is refused now. `Err` says what is wrong.
    pub fn new(
        code: Vec<u8>,
        params: Vec<String>,
        shared: Arc<SharedData>,
        limits: Limits,
    ) -> Result<Pool, String> {
        let module = engine::compile(&code)?;
        let imports = |name: &str| {
            module
                .imports()
                .any(|i| i.module() == abi::MODULE && i.name() == name)
        };
        let pool = Pool {
            reads_request_body: imports("host_req_get_body"),
            reads_response_body: imports("host_resp_get_body"),
            code,
            module,
            params,
            shared,
            ticks: deadline_ticks(limits.timeout),
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(limits.max_concurrency),
            created: AtomicU64::new(0),
        };
        let first = pool.instantiate()?;
        pool.idle.lock().push(first);
        Ok(pool)
    }

    /// How many instances were made so far.
    pub fn created(&self) -> u64 {
        self.created.load(Ordering::Relaxed)
    }

    /// Epoch ticks a run may take.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// An idle instance, or a new one.
    pub fn take(&self) -> Result<Vm, String> {
        if let Some(vm) = self.idle.lock().pop() {
            return Ok(vm);
        }
        self.instantiate()
    }

    /// Gives back an instance whose last run went well.
    pub fn give_back(&self, vm: Vm) {
        self.idle.lock().push(vm);
    }

    fn instantiate(&self) -> Result<Vm, String> {
        let engine = engine::engine()?;
        let linker = abi::linker(engine).map_err(|e| format!("wasm host functions: {e:#}"))?;
        let state = HostState {
            limits: StoreLimitsBuilder::new()
                .memory_size(MEMORY_LIMIT)
                .trap_on_grow_failure(true)
                .build(),
            memory: None,
            alloc: None,
            shared: self.shared.clone(),
            call: None,
        };
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(self.ticks);
        let instance = linker
            .instantiate(&mut store, &self.module)
            .map_err(|e| format!("cannot start the module: {e:#}"))?;
        let memory = instance.get_memory(&mut store, "memory");
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, "wasm_alloc")
            .map_err(|e| format!("wasm_alloc: {e:#}"))?;
        let run = instance
            .get_typed_func::<(), i32>(&mut store, "wasm_run")
            .map_err(|e| format!("wasm_run: {e:#}"))?;
        instance
            .get_typed_func::<i32, ()>(&mut store, "wasm_free")
            .map_err(|e| format!("wasm_free: {e:#}"))?;
        store.data_mut().memory = memory;
        store.data_mut().alloc = Some(alloc);
        if instance.get_export(&mut store, "wasm_init").is_some() {
            let init = instance
                .get_typed_func::<i32, ()>(&mut store, "wasm_init")
                .map_err(|e| format!("wasm_init: {e:#}"))?;
            store.set_epoch_deadline(self.ticks);
            let addr = memio::write_strings(&mut store, &self.params)
                .map_err(|e| format!("wasm_init: passing the parameters: {e:#}"))?;
            init.call(&mut store, addr)
                .map_err(|e| format!("wasm_init failed: {e:#}"))?;
        }
        self.created.fetch_add(1, Ordering::Relaxed);
        Ok(Vm { store, run })
    }
}
