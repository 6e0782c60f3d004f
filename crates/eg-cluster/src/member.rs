//! What a member publishes about itself: its heartbeat under `/status/members/<name>` and
//! the status of every object it runs under `/status/objects/<ns>/<name>/<member>`, both
//! bound to the member lease (Easegress's `syncStatus` and `StatusSyncController`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use eg_store::{keys, Op, Store};
use eg_supervisor::{EtcdMemberStatus, MemberOptions, MemberStatus};
use serde_json::{json, Value};

use crate::etcd::{Client, ClientOptions};
use crate::EtcdStore;

/// Easegress's `HeartbeatInterval`: members write their status this often.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// Object statuses are written on wall-clock multiples of this (so every member ticks
/// together, as Easegress's status sync does).
pub const STATUS_SYNC_INTERVAL: Duration = Duration::from_secs(5);

/// The member's own etcd (primaries), for the heartbeat's `etcd` field and maintenance.
#[derive(Debug, Clone)]
pub struct OwnEtcd {
    /// The client URL of the member's etcd.
    pub client_url: String,
    /// When this member started it (RFC 3339).
    pub start_time: String,
}

/// What a heartbeat carries besides its time.
pub struct HeartbeatSource {
    /// The member's options.
    pub options: MemberOptions,
    /// For primaries: their etcd, asked for its id and whether it leads.
    pub own_etcd: Option<OwnEtcd>,
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The member's own etcd, `None` when it does not answer.
async fn etcd_stats(client: &Client, own: &OwnEtcd) -> Option<EtcdMemberStatus> {
    let st = client.status().await.ok()?;
    Some(EtcdMemberStatus {
        id: format!("{:x}", st.header.member_id),
        start_time: own.start_time.clone(),
        state: st.role().to_string(),
    })
}

/// Writes the heartbeat now and then every [`HEARTBEAT_INTERVAL`], until aborted.
pub async fn heartbeat_loop(store: Arc<EtcdStore>, source: HeartbeatSource) {
    let own_client = source.own_etcd.as_ref().and_then(|own| {
        let mut o = ClientOptions::new(vec![own.client_url.clone()]);
        o.request_timeout = Duration::from_secs(2);
        Client::new(o).ok()
    });
    let key = keys::member_status(store.member_name());
    let mut status = MemberStatus {
        options: source.options,
        ..MemberStatus::default()
    };
    let mut failures = 0u32;
    let mut tick = tokio::time::interval(HEARTBEAT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let (Some(client), Some(own)) = (&own_client, &source.own_etcd) {
            // A primary whose etcd does not answer still reports the last state it saw.
            if let Some(stats) = etcd_stats(client, own).await {
                status.etcd = Some(stats);
            }
        }
        status.last_heartbeat_time = now_rfc3339();
        let bytes = serde_json::to_vec(&status).unwrap_or_default();
        match store
            .apply_async(vec![Op::PutEphemeral(key.clone(), bytes)], Vec::new())
            .await
        {
            Ok(_) => {
                if failures > 0 {
                    tracing::info!(failed_before = failures, "heartbeat written again");
                }
                failures = 0;
            }
            Err(e) => {
                failures += 1;
                // One line when it starts failing, then one a minute.
                if failures == 1 || failures.is_multiple_of(12) {
                    tracing::warn!(error = %e, failures, "cannot write the member heartbeat");
                }
            }
        }
    }
}

/// How often a primary defragments its etcd (Easegress: hourly).
pub const DEFRAG_INTERVAL: Duration = Duration::from_secs(3600);
/// The next try after a failed defragmentation (Easegress: a minute).
pub const DEFRAG_RETRY: Duration = Duration::from_secs(60);
/// How long one defragmentation may take (it rewrites the database file).
const DEFRAG_TIMEOUT: Duration = Duration::from_secs(60);

/// Defragments the member's own etcd every [`DEFRAG_INTERVAL`] (retrying after
/// [`DEFRAG_RETRY`] when it fails), as Easegress's primaries do, so the space etcd's
/// compactions free goes back to the disk. Runs until aborted.
pub async fn defrag_loop(own: OwnEtcd) {
    let Ok(client) = Client::new(ClientOptions::new(vec![own.client_url.clone()])) else {
        return;
    };
    let mut wait = DEFRAG_INTERVAL;
    loop {
        tokio::time::sleep(wait).await;
        let t = std::time::Instant::now();
        wait = match client.defragment(DEFRAG_TIMEOUT).await {
            Ok(_) => {
                tracing::info!(took = ?t.elapsed(), "etcd defragmented");
                DEFRAG_INTERVAL
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?DEFRAG_RETRY, "cannot defragment etcd");
                DEFRAG_RETRY
            }
        };
    }
}

/// Time until the next wall-clock multiple of `every`.
fn until_next_multiple(every: Duration) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let every_ms = every.as_millis().max(1);
    let rem = now.as_millis() % every_ms;
    Duration::from_millis(u64::try_from(every_ms - rem).unwrap_or(0))
}

/// The keys and values one status round writes: every status of `statuses` (keyed
/// `<ns>/<name>/<member>`) with a `timestamp` (Unix seconds) added.
fn status_round(statuses: BTreeMap<String, Value>, now: i64) -> BTreeMap<String, Vec<u8>> {
    statuses
        .into_iter()
        .map(|(k, mut v)| {
            if let Value::Object(m) = &mut v {
                m.insert("timestamp".into(), json!(now));
            }
            (
                format!("{}{k}", keys::STATUS_OBJECTS_PREFIX),
                serde_json::to_vec(&v).unwrap_or_default(),
            )
        })
        .collect()
}

/// Every [`STATUS_SYNC_INTERVAL`] (on wall-clock multiples) writes the statuses `statuses`
/// returns, in transactions of at most `batch` keys, and deletes this member's status keys
/// of objects it no longer runs. Runs until aborted.
pub async fn status_sync_loop(
    store: Arc<EtcdStore>,
    batch: usize,
    statuses: impl Fn() -> BTreeMap<String, Value> + Send + 'static,
) {
    let suffix = format!("/{}", store.member_name());
    let batch = batch.max(1);
    loop {
        tokio::time::sleep(until_next_multiple(STATUS_SYNC_INTERVAL)).await;
        if store.health().is_err() {
            continue;
        }
        let round = status_round(statuses(), chrono::Utc::now().timestamp());
        let stale: Vec<String> = store
            .range(keys::STATUS_OBJECTS_PREFIX)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| k.ends_with(&suffix) && !round.contains_key(k))
            .collect();
        let mut ops: Vec<Op> = stale.into_iter().map(Op::Delete).collect();
        ops.extend(round.into_iter().map(|(k, v)| Op::PutEphemeral(k, v)));
        for chunk in ops.chunks(batch) {
            if let Err(e) = store.apply_async(chunk.to_vec(), Vec::new()).await {
                tracing::debug!(error = %e, "cannot write object statuses");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_adds_the_timestamp_under_the_member_key() {
        let mut s = BTreeMap::new();
        s.insert(
            "eg-traffic-default/pl/m1".to_string(),
            json!({"health": "ok"}),
        );
        let r = status_round(s, 42);
        let v: Value =
            serde_json::from_slice(&r["/status/objects/eg-traffic-default/pl/m1"]).unwrap();
        assert_eq!(v, json!({"health": "ok", "timestamp": 42}));
    }

    #[test]
    fn next_multiple_is_within_one_interval() {
        let d = until_next_multiple(Duration::from_secs(5));
        assert!(d > Duration::ZERO && d <= Duration::from_secs(5));
    }
}
