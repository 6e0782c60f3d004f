//! The running `WasmHost` filter.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use eg_filters::{Filter, Handled};
use eg_protocols::{Context, HttpResponse};
use eg_store::Store;
use http::StatusCode;
use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::code::{self, Source};
use crate::pool::Pool;
use crate::shared::SharedData;
use crate::spec::Limits;
use crate::state::Call;
use crate::{RESULTS, RESULT_OUT_OF_VM, RESULT_WASM_ERROR};

/// Most bytes of a body buffered for a module that reads it.
pub const MAX_BODY: u64 = 4 << 20;
/// How often a filter whose code could not be loaded tries again.
const RETRY: Duration = Duration::from_secs(30);

/// What a filter needs to (re)load its code.
pub struct Loader {
    /// The `code` field.
    pub code: String,
    /// Where it points.
    pub source: Source,
    /// `wasm_init`'s parameters.
    pub params: Vec<String>,
    /// `maxConcurrency` and `timeout`.
    pub limits: Limits,
    /// The shared data.
    pub shared: Arc<SharedData>,
}

impl Loader {
    /// Reads (or fetches) the code and builds a pool, unless the code is `current`'s.
    async fn load(&self, current: Option<&[u8]>) -> Result<Option<Pool>, String> {
        let bytes = match &self.source {
            Source::Url(url) => code::fetch(url).await?,
            src => {
                let (src, text) = (src.clone(), self.code.clone());
                tokio::task::spawn_blocking(move || code::read_local(&src, &text))
                    .await
                    .map_err(|e| e.to_string())??
            }
        };
        if current == Some(bytes.as_slice()) {
            return Ok(None);
        }
        let (params, shared, limits) = (self.params.clone(), self.shared.clone(), self.limits);
        tokio::task::spawn_blocking(move || Pool::new(bytes, params, shared, limits).map(Some))
            .await
            .map_err(|e| e.to_string())?
    }
}

/// The `WasmHost` filter.
pub struct WasmHost {
    pool: Arc<ArcSwapOption<Pool>>,
    loader: Arc<Loader>,
    store: Arc<dyn Store>,
    requests: AtomicU64,
    errors: AtomicU64,
    watcher: Mutex<Option<tokio::task::AbortHandle>>,
}

impl WasmHost {
    /// A filter running `pool` (none yet for code at a URL, fetched by `init`).
    pub fn new(pool: Option<Pool>, loader: Loader, store: Arc<dyn Store>) -> WasmHost {
        WasmHost {
            pool: Arc::new(ArcSwapOption::from(pool.map(Arc::new))),
            loader: Arc::new(loader),
            store,
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            watcher: Mutex::new(None),
        }
    }

    /// Runs the module on the active namespace with an instance of `pool`.
    fn run(&self, pool: &Pool, ctx: &mut Context) -> &'static str {
        let mut vm = match pool.take() {
            Ok(vm) => vm,
            Err(e) => {
                tracing::warn!(error = %e, "cannot make a wasm instance");
                ctx.add_tag("failed to get a wasm VM");
                return RESULT_OUT_OF_VM;
            }
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let real_ip = ctx.real_ip;
        let ns = ctx.active_mut();
        let call = Call {
            request: ns.request.take(),
            response: ns
                .response
                .take()
                .unwrap_or_else(|| HttpResponse::new(StatusCode::OK)),
            real_ip,
            tags: Vec::new(),
        };
        let (call, result) = vm.run(call, pool.ticks());
        let ns = ctx.active_mut();
        ns.request = call.request;
        ns.response = Some(call.response);
        for tag in call.tags {
            ctx.add_tag(tag);
        }
        let failure = match result {
            Ok(n) => match usize::try_from(n).ok().and_then(|i| WASM_RESULTS.get(i)) {
                Some(r) => {
                    pool.give_back(vm);
                    return r;
                }
                None => format!("invalid wasm result: {n}"),
            },
            Err(e) => e,
        };
        // The instance may be in any state after a failed run: it is dropped.
        self.errors.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(error = %failure, "wasm run failed");
        ctx.add_tag(format!("wasm error: {failure}"));
        RESULT_WASM_ERROR
    }
}

/// What a module's result code means: 0 continues, 1-9 are `wasmResult1`...
const WASM_RESULTS: [&str; 10] = [
    "",
    RESULTS[2],
    RESULTS[3],
    RESULTS[4],
    RESULTS[5],
    RESULTS[6],
    RESULTS[7],
    RESULTS[8],
    RESULTS[9],
    RESULTS[10],
];

fn needs_buffering(pool: &Pool, ctx: &Context) -> bool {
    (pool.reads_request_body && ctx.request().is_some_and(|r| !r.body.is_buffered()))
        || (pool.reads_response_body && ctx.response().is_some_and(|r| !r.body.is_buffered()))
}

impl Filter for WasmHost {
    fn handle<'a>(&'a self, ctx: &'a mut Context) -> Handled<'a> {
        let Some(pool) = self.pool.load_full() else {
            ctx.add_tag("wasm VM pool is not initialized");
            return Handled::Done(RESULT_OUT_OF_VM);
        };
        if !needs_buffering(&pool, ctx) {
            if let Ok(_permit) = pool.permits.try_acquire() {
                return Handled::Done(self.run(&pool, ctx));
            }
        }
        Handled::Pending(Box::pin(async move {
            if pool.reads_request_body {
                if let Some(req) = ctx.request_mut() {
                    if let Err(e) = req.body.buffer(Some(MAX_BODY)).await {
                        ctx.add_tag(format!("wasm: request body: {e}"));
                        return RESULT_WASM_ERROR;
                    }
                }
            }
            if pool.reads_response_body {
                if let Some(resp) = ctx.response_mut() {
                    if let Err(e) = resp.body.buffer(Some(MAX_BODY)).await {
                        ctx.add_tag(format!("wasm: response body: {e}"));
                        return RESULT_WASM_ERROR;
                    }
                }
            }
            let Ok(_permit) = pool.permits.acquire().await else {
                return RESULT_OUT_OF_VM;
            };
            self.run(&pool, ctx)
        }))
    }

    /// Starts following `POST /apis/v2/wasm/code` (a change of the store key `/wasm/code`,
    /// from any member): the code is read again from its file or URL and, when it
    /// changed, replaces the running module. Code at a URL is fetched here the first
    /// time; code that could not be loaded is tried again every 30 seconds.
    fn init(&self, _prev: Option<&dyn Filter>) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.loader.source.reloadable() {
            return;
        }
        let (pool, loader) = (self.pool.clone(), self.loader.clone());
        let mut events = self.store.watch(eg_store::keys::WASM_CODE_EVENT);
        let task = rt.spawn(async move {
            let reload = || async {
                let current = pool.load_full();
                match loader
                    .load(current.as_ref().map(|p| p.code.as_slice()))
                    .await
                {
                    Ok(Some(p)) => {
                        pool.store(Some(Arc::new(p)));
                        tracing::info!(code = %loader.code, "wasm code loaded");
                        true
                    }
                    Ok(None) => true,
                    Err(e) => {
                        tracing::error!(code = %loader.code, error = %e, "cannot load wasm code");
                        false
                    }
                }
            };
            let mut loaded = pool.load().is_some() || reload().await;
            loop {
                tokio::select! {
                    ev = events.recv() => {
                        if ev.is_none() {
                            return;
                        }
                        loaded = reload().await;
                    }
                    _ = tokio::time::sleep(RETRY), if !loaded => loaded = reload().await,
                }
            }
        });
        *self.watcher.lock() = Some(task.abort_handle());
    }

    fn status(&self) -> Value {
        let pool = self.pool.load();
        json!({
            "health": if pool.is_some() { "ready" } else { "VM pool is not initialized" },
            "numOfRequest": self.requests.load(Ordering::Relaxed),
            "numOfWasmError": self.errors.load(Ordering::Relaxed),
            "numOfVM": pool.as_ref().map_or(0, |p| p.created()),
        })
    }

    fn close(&self) {
        if let Some(task) = self.watcher.lock().take() {
            task.abort();
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
