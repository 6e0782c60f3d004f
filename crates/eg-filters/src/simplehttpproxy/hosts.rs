//! The keep-alive connection pools of the plain-HTTP hosts a `SimpleHTTPProxy` sends to.
//!
//! The shared upstream client hands out one [`HostPool`] per `host:port` but keeps only weak
//! handles; a forward proxy has no server list holding them, so this keeps them alive
//! between requests. Hosts without idle connections are forgotten once more than
//! [`MAX_REMEMBERED_HOSTS`] are remembered.

use std::collections::HashMap;
use std::sync::Arc;

use eg_upstream::connections::{HostPool, UpstreamClient};
use http::uri::Authority;
use parking_lot::Mutex;

/// How many hosts are remembered before those without idle connections are dropped.
pub const MAX_REMEMBERED_HOSTS: usize = 1024;

/// The host pools in use, by `host:port`.
#[derive(Default)]
pub struct Hosts {
    pools: Mutex<HashMap<Authority, Arc<HostPool>>>,
}

impl Hosts {
    /// The pool of `authority`, from `client` on first use.
    pub fn get(&self, client: &UpstreamClient, authority: &Authority) -> Arc<HostPool> {
        let mut pools = self.pools.lock();
        if let Some(p) = pools.get(authority) {
            return p.clone();
        }
        if pools.len() >= MAX_REMEMBERED_HOSTS {
            pools.retain(|_, p| p.idle_count() > 0);
        }
        let p = client.host_pool(authority);
        pools.insert(authority.clone(), p.clone());
        p
    }

    /// How many hosts are remembered.
    pub fn remembered(&self) -> usize {
        self.pools.lock().len()
    }
}
