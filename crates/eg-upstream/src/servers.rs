//! The servers of a pool: the ones its spec lists, chosen by `serverTags`, with their
//! weights (all servers or none), and which of them are healthy now. The load balancer reads
//! the healthy set through an `ArcSwap`, so the request path takes no lock.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use eg_spec::SpecError;

use crate::server::Server;
use crate::spec::ServerSpec;

/// The maximum server weight.
pub const MAX_WEIGHT: i64 = 100;

/// The servers a pool uses, in spec order, with their weights.
#[derive(Debug)]
pub struct ServerSelection {
    /// The servers having one of the pool's `serverTags` (all when it is empty).
    pub servers: Vec<Server>,
    /// Their weights (0 each when the servers have none).
    pub weights: Vec<u32>,
    /// Whether the servers have weights.
    pub weighted: bool,
}

impl ServerSelection {
    /// Checks `specs` (the pool's `servers`) and keeps those with one of `tags` (every
    /// server when `tags` is empty); server URLs must use one of `schemes`. Errors name
    /// fields under `path` (the pool). Every server is checked, kept or not.
    pub fn select(
        specs: &[ServerSpec],
        tags: &[String],
        path: &str,
        schemes: &[&str],
    ) -> Result<ServerSelection, SpecError> {
        let field = |f: &str| format!("{path}.{f}");
        if specs.is_empty() {
            return Err(SpecError::new(
                field("servers"),
                "both serviceName and servers are empty",
            ));
        }
        let weighted = specs.iter().filter(|s| s.weight > 0).count();
        if weighted > 0 && weighted < specs.len() {
            return Err(SpecError::new(
                field("servers"),
                format!("not all servers have weight({weighted}/{})", specs.len()),
            ));
        }
        let mut servers = Vec::with_capacity(specs.len());
        let mut weights = Vec::with_capacity(specs.len());
        for (k, s) in specs.iter().enumerate() {
            let spath = format!("{path}.servers[{k}]");
            if !(0..=MAX_WEIGHT).contains(&s.weight) {
                return Err(SpecError::new(
                    format!("{spath}.weight"),
                    format!("weight {} is out of range 0-100", s.weight),
                ));
            }
            let server = Server::parse(&s.url, s.keep_host, &format!("{spath}.url"), schemes)?;
            if !tags.is_empty() && !s.tags.iter().any(|t| tags.contains(t)) {
                continue;
            }
            servers.push(server);
            weights.push(s.weight as u32);
        }
        if servers.is_empty() {
            return Err(SpecError::new(
                field("serverTags"),
                "no server has any of these tags",
            ));
        }
        Ok(ServerSelection {
            servers,
            weights,
            weighted: weighted > 0,
        })
    }
}

/// The servers currently taking traffic: indexes into the pool's server list.
#[derive(Debug, Default)]
pub struct HealthyGroup {
    /// Indexes of healthy servers, in spec order.
    pub idx: Box<[usize]>,
    /// Weights of those servers (same order).
    pub weights: Box<[u32]>,
    /// Sum of `weights`.
    pub total_weight: u64,
}

impl HealthyGroup {
    /// The group of servers `idx` with the given per-server weights (indexed by server).
    pub fn new(idx: Vec<usize>, all_weights: &[u32]) -> HealthyGroup {
        let weights: Box<[u32]> = idx.iter().map(|&i| all_weights[i]).collect();
        let total_weight = weights.iter().map(|&w| u64::from(w)).sum();
        HealthyGroup {
            idx: idx.into(),
            weights,
            total_weight,
        }
    }
}

/// Health of every server of a pool, and the group the load balancer reads without a lock.
#[derive(Debug)]
pub struct ServerHealth {
    pub(crate) states: Box<[ServerState]>,
    weights: Box<[u32]>,
    /// Server URLs, to match states across generations.
    pub(crate) urls: Box<[String]>,
    group: ArcSwap<HealthyGroup>,
}

/// The health of one server.
#[derive(Debug, Default)]
pub(crate) struct ServerState {
    pub(crate) healthy: AtomicBool,
    /// Consecutive results: positive = successes, negative = failures.
    pub(crate) counter: AtomicI32,
}

impl ServerHealth {
    /// All servers healthy.
    pub fn new(urls: Vec<String>, weights: Vec<u32>) -> ServerHealth {
        let states: Box<[ServerState]> = urls
            .iter()
            .map(|_| ServerState {
                healthy: AtomicBool::new(true),
                counter: AtomicI32::new(0),
            })
            .collect();
        let group = HealthyGroup::new((0..urls.len()).collect(), &weights);
        ServerHealth {
            states,
            weights: weights.into(),
            urls: urls.into(),
            group: ArcSwap::from_pointee(group),
        }
    }

    /// The servers taking traffic now.
    #[inline]
    pub fn group(&self) -> arc_swap::Guard<Arc<HealthyGroup>> {
        self.group.load()
    }

    /// Whether server `i` is healthy.
    pub fn is_healthy(&self, i: usize) -> bool {
        self.states[i].healthy.load(Ordering::Relaxed)
    }

    /// Takes over the health of `prev` (the same pool of the previous generation) when it
    /// has the same servers.
    pub fn inherit(&self, prev: &ServerHealth) {
        if prev.urls != self.urls {
            return;
        }
        for (s, p) in self.states.iter().zip(prev.states.iter()) {
            s.healthy
                .store(p.healthy.load(Ordering::Relaxed), Ordering::Relaxed);
            s.counter
                .store(p.counter.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.rebuild();
    }

    /// Publishes the group of the servers healthy now.
    pub(crate) fn rebuild(&self) {
        let idx = (0..self.states.len())
            .filter(|&i| self.is_healthy(i))
            .collect();
        self.group
            .store(Arc::new(HealthyGroup::new(idx, &self.weights)));
    }
}
