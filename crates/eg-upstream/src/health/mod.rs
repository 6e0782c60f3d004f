//! Active health checks of a pool's servers.
//!
//! Each pool with a `healthCheck` runs one background task ([`Checker::spawn`], stopped by
//! aborting its handle) that probes every server immediately and then every `interval`. A
//! server leaves the load balancer after `fails` consecutive failed probes and comes back
//! after `passes` consecutive good ones ([`ServerHealth`]).
//!
//! What a probe sends and expects is a `Probe` kind; today the HTTP probe (`http_probe.rs`),
//! one more kind (a WebSocket upgrade expecting 101) being one more variant.

mod http_probe;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use eg_spec::SpecError;
use http::uri::{Authority, PathAndQuery, Scheme};

use self::http_probe::HttpProbe;
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
}

/// A compiled health check.
#[derive(Debug)]
pub struct HealthCheck {
    /// Time between rounds.
    pub interval: Duration,
    timeout: Duration,
    fails: i32,
    passes: i32,
    probe: Probe,
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
        let field = |f: &str| format!("{path}.{f}");
        let interval = spec
            .interval
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_INTERVAL);
        let timeout = spec
            .timeout
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_TIMEOUT);
        if spec.fails < 0 {
            return Err(SpecError::new(field("fails"), "must be at least 1"));
        }
        if spec.passes < 0 {
            return Err(SpecError::new(field("passes"), "must be at least 1"));
        }
        let fails = i32::try_from(spec.fails.max(1)).unwrap_or(i32::MAX);
        let passes = i32::try_from(spec.passes.max(1)).unwrap_or(i32::MAX);
        let probe = Probe::Http(HttpProbe::compile(spec, path)?);
        Ok(HealthCheck {
            interval,
            timeout,
            fails,
            passes,
            probe,
        })
    }

    /// Probes one server: true when it answered in time and the answer matches.
    async fn probe(&self, client: &UpstreamClient, t: &ProbeTarget) -> bool {
        let work = async {
            match &self.probe {
                Probe::Http(p) => p.probe(client, t).await,
            }
        };
        matches!(
            tokio::time::timeout(self.timeout, work).await,
            Ok(Some(true))
        )
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
