//! Keeping a lease alive in the background.

use std::time::Duration;

use tokio::sync::watch;

use super::Client;

/// What the keep-alive loop last learned about its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// etcd renewed it; seconds left.
    Alive(i64),
    /// The last renewal did not reach etcd; the lease may still live.
    Unreachable,
    /// etcd says the lease does not exist (expired or revoked); the loop has ended.
    Lost,
}

/// A task renewing one lease every `interval` (Easegress's `KeepAliveOnce` loop); dropping
/// the handle stops it.
pub struct KeepAlive {
    state: watch::Receiver<LeaseState>,
    task: tokio::task::JoinHandle<()>,
}

impl KeepAlive {
    /// Starts renewing `lease` through `client` every `interval`, first right away.
    pub fn spawn(client: Client, lease: i64, interval: Duration) -> KeepAlive {
        let (tx, rx) = watch::channel(LeaseState::Unreachable);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let state = match client.lease_keep_alive_once(lease).await {
                    Ok(r) if r.ttl > 0 => LeaseState::Alive(r.ttl),
                    Ok(_) => LeaseState::Lost,
                    Err(e) if e.is_unavailable() => LeaseState::Unreachable,
                    Err(e) => {
                        tracing::warn!(lease = format!("{lease:x}"), error = %e, "lease keep-alive refused");
                        LeaseState::Lost
                    }
                };
                if tx.send(state).is_err() || state == LeaseState::Lost {
                    let _ = tx.send(state);
                    return;
                }
            }
        });
        KeepAlive { state: rx, task }
    }

    /// The last known state.
    pub fn state(&self) -> LeaseState {
        *self.state.borrow()
    }

    /// A receiver of state changes.
    pub fn subscribe(&self) -> watch::Receiver<LeaseState> {
        self.state.clone()
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.task.abort();
    }
}
