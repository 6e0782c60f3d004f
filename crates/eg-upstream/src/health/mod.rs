//! Active health checks of a pool's servers.
//!
//! Each pool with a `healthCheck` runs one background task ([`Checker::spawn`], stopped by
//! aborting its handle) that probes every server immediately and then every `interval`. A
//! server leaves the load balancer after `fails` consecutive failed probes and comes back
//! after `passes` consecutive good ones ([`ServerHealth`]).
//!
//! What a probe sends and expects is a `Probe` kind: the HTTP probe (`http_probe.rs`) and
//! the WebSocket probe (`ws_probe.rs`, an opening handshake expecting 101). A check runs
//! one or more probes; a server passes when all of them do.

mod http_probe;
mod ws_probe;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use eg_spec::SpecError;
use http::uri::{Authority, PathAndQuery, Scheme};

use self::http_probe::HttpProbe;
pub use self::ws_probe::{HttpProbeSpec, WebSocketHealthCheckSpec, WsProbe, WsProbeSpec};
use crate::connections::UpstreamClient;
use crate::servers::ServerHealth;
use crate::spec::HealthCheckSpec;

/// Default time between checks.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Default probe deadline.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// How a server is probed.
#[derive(Debug)]
pub(crate) enum Probe {
    /// An HTTP request whose answer must match the check's `match`.
    Http(HttpProbe),
    /// A WebSocket opening handshake whose answer must match the probe's `match`.
    Ws(WsProbe),
}

/// A compiled health check.
#[derive(Debug)]
pub struct HealthCheck {
    /// Time between rounds.
    pub interval: Duration,
    timeout: Duration,
    fails: i32,
    passes: i32,
    /// Every probe must pass, in order.
    probes: Vec<Probe>,
}

/// One server to probe.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    scheme: Scheme,
    authority: Authority,
    /// The server URL's own path (used when the check has no `uri`).
    server_path: PathAndQuery,
}

impl ProbeTarget {
    /// A target from a server's parsed URL parts.
    pub fn new(scheme: Scheme, authority: Authority, server_path: &str) -> ProbeTarget {
        let server_path = if server_path.is_empty() {
            PathAndQuery::from_static("/")
        } else {
            server_path
                .parse()
                .unwrap_or(PathAndQuery::from_static("/"))
        };
        ProbeTarget {
            scheme,
            authority,
            server_path,
        }
    }
}

impl HealthCheck {
    /// Checks and compiles `spec` with an HTTP probe; errors name fields under `path`.
    pub fn compile(spec: &HealthCheckSpec, path: &str) -> Result<HealthCheck, SpecError> {
        let timing = Timing::compile((spec.interval, spec.timeout, spec.fails, spec.passes), path)?;
        let probe = Probe::Http(HttpProbe::compile(spec, path)?);
        Ok(timing.with(vec![probe]))
    }

    /// Checks and compiles the `healthCheck` of a WebSocketProxy pool: its `http` probe,
    /// its `ws` probe (over `tls` for `wss` servers), or both. Errors name fields under
    /// `path`.
    pub fn compile_websocket(
        spec: &WebSocketHealthCheckSpec,
        path: &str,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<HealthCheck, SpecError> {
        let timing = Timing::compile((spec.interval, spec.timeout, spec.fails, spec.passes), path)?;
        if spec.http.is_none() && spec.ws.is_none() {
            return Err(SpecError::new(
                path,
                "empty health check spec: give http, ws or both",
            ));
        }
        let mut probes = Vec::with_capacity(2);
        if let Some(h) = &spec.http {
            let hpath = format!("{path}.http");
            probes.push(Probe::Http(HttpProbe::compile(
                &h.as_health_check(),
                &hpath,
            )?));
        }
        if let Some(w) = &spec.ws {
            probes.push(Probe::Ws(WsProbe::compile(w, &format!("{path}.ws"), tls)?));
        }
        Ok(timing.with(probes))
    }

    /// Probes one server: true when it answered every probe in time and as expected.
    async fn probe(&self, client: &UpstreamClient, t: &ProbeTarget) -> bool {
        for probe in &self.probes {
            let work = async {
                match probe {
                    Probe::Http(p) => p.probe(client, t).await,
                    Probe::Ws(p) => p.probe(t).await,
                }
            };
            if !matches!(
                tokio::time::timeout(self.timeout, work).await,
                Ok(Some(true))
            ) {
                return false;
            }
        }
        true
    }

    /// One round: probes every server concurrently and updates `health`.
    pub(crate) async fn round(
        self: &Arc<Self>,
        client: &Arc<UpstreamClient>,
        targets: &Arc<[ProbeTarget]>,
        health: &ServerHealth,
    ) {
        let mut set = tokio::task::JoinSet::new();
        for i in 0..targets.len() {
            let (hc, client, targets) = (self.clone(), client.clone(), targets.clone());
            set.spawn(async move { (i, hc.probe(&client, &targets[i]).await) });
        }
        let mut changed = false;
        while let Some(r) = set.join_next().await {
            if let Ok((i, ok)) = r {
                changed |= health.record(i, ok, self.fails, self.passes);
            }
        }
        if changed {
            health.rebuild();
        }
    }
}

/// The timing fields every health check has.
struct Timing {
    interval: Duration,
    timeout: Duration,
    fails: i32,
    passes: i32,
}

impl Timing {
    /// Checks `(interval, timeout, fails, passes)`; errors name fields under `path`.
    fn compile(
        (interval, timeout, fails, passes): (Option<Duration>, Option<Duration>, i64, i64),
        path: &str,
    ) -> Result<Timing, SpecError> {
        let field = |f: &str| format!("{path}.{f}");
        if fails < 0 {
            return Err(SpecError::new(field("fails"), "must be at least 1"));
        }
        if passes < 0 {
            return Err(SpecError::new(field("passes"), "must be at least 1"));
        }
        Ok(Timing {
            interval: interval
                .filter(|d| !d.is_zero())
                .unwrap_or(DEFAULT_INTERVAL),
            timeout: timeout.filter(|d| !d.is_zero()).unwrap_or(DEFAULT_TIMEOUT),
            fails: i32::try_from(fails.max(1)).unwrap_or(i32::MAX),
            passes: i32::try_from(passes.max(1)).unwrap_or(i32::MAX),
        })
    }

    fn with(self, probes: Vec<Probe>) -> HealthCheck {
        HealthCheck {
            interval: self.interval,
            timeout: self.timeout,
            fails: self.fails,
            passes: self.passes,
            probes,
        }
    }
}

impl ServerHealth {
    /// Records one probe result of server `i`; returns true if its health changed.
    pub(crate) fn record(&self, i: usize, ok: bool, fails: i32, passes: i32) -> bool {
        let st = &self.states[i];
        let mut c = st.counter.load(Ordering::Relaxed);
        let healthy = st.healthy.load(Ordering::Relaxed);
        if ok {
            c = c.max(0).saturating_add(1);
            st.counter.store(c, Ordering::Relaxed);
            if !healthy && c >= passes {
                tracing::warn!(server = %self.urls[i], "server becomes healthy");
                st.healthy.store(true, Ordering::Relaxed);
                return true;
            }
        } else {
            c = c.min(0).saturating_sub(1);
            st.counter.store(c, Ordering::Relaxed);
            if healthy && c <= -fails {
                tracing::warn!(server = %self.urls[i], "server becomes unhealthy");
                st.healthy.store(false, Ordering::Relaxed);
                return true;
            }
        }
        false
    }
}

/// The background checker of one pool.
pub struct Checker {
    /// The compiled check.
    pub check: Arc<HealthCheck>,
    /// One target per server (same order as the pool's servers).
    pub targets: Arc<[ProbeTarget]>,
    /// The client probes go through (never reusing connections).
    pub client: Arc<UpstreamClient>,
}

impl Checker {
    /// Starts the loop: a round now, then one every `interval`, until the handle is aborted.
    /// `None` outside a Tokio runtime.
    pub fn spawn(&self, health: Arc<ServerHealth>) -> Option<tokio::task::JoinHandle<()>> {
        let rt = tokio::runtime::Handle::try_current().ok()?;
        let (check, targets, client) = (
            self.check.clone(),
            self.targets.clone(),
            self.client.clone(),
        );
        Some(rt.spawn(async move {
            let mut ticker = tokio::time::interval(check.interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                check.round(&client, &targets, &health).await;
            }
        }))
    }
}

/// A pool's health-check task: the checker (if the pool has one) and the handle of its running
/// loop. One generation's pool starts it once its servers' health is settled and stops it
/// when the generation is closed; starting again replaces (and aborts) the previous loop.
pub struct HealthTask {
    checker: Option<Checker>,
    running: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl HealthTask {
    /// A task for `checker`; `None` for a pool without health checks (start and stop do
    /// nothing). Nothing runs until [`HealthTask::start`].
    pub fn new(checker: Option<Checker>) -> HealthTask {
        HealthTask {
            checker,
            running: parking_lot::Mutex::new(None),
        }
    }

    /// Starts the check loop over `health`, aborting a loop this task started before.
    /// Outside a Tokio runtime nothing starts and a warning names `pool`.
    pub fn start(&self, pool: &str, health: &Arc<ServerHealth>) {
        let Some(c) = &self.checker else { return };
        let handle = c.spawn(health.clone());
        if handle.is_none() {
            tracing::warn!(pool, "no async runtime: health checks not started");
        }
        if let Some(old) = std::mem::replace(&mut *self.running.lock(), handle) {
            old.abort();
        }
    }

    /// Stops the check loop, if running.
    pub fn stop(&self) {
        if let Some(t) = self.running.lock().take() {
            t.abort();
        }
    }
}
