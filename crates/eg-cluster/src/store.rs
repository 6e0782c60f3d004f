//! [`EtcdStore`]: the [`Store`] of a cluster member, kept in etcd and served from a local
//! cache fed by one watch (Easegress's `Syncer`, without re-reading on every event).
//!
//! - Start: one linearizable range of the served prefix, then one watch from the range's
//!   revision + 1. `get`/`range`/`revision` answer from memory and never wait on etcd.
//! - Writes: `apply` hands a transaction to a background task and blocks (its caller is on
//!   `spawn_blocking`) until etcd answered and the cache has seen that revision, so a
//!   writer reads its own writes.
//! - A watch etcd cancels (compaction) or that breaks: the prefix is read again, compared
//!   with the cache, and the differences go to watchers as ordinary events.
//! - etcd out of reach: reads keep answering from the cache; writes fail with
//!   [`StoreError::Unavailable`] once the request timeout passed.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eg_store::{
    keys, parse_counter, Cond, LocalLock, Op, Store, StoreError, StoreResult, Versioned,
    WatchEvent, Watchers, WriteLock,
};
use parking_lot::{Condvar, Mutex};
use tokio::sync::{mpsc, Notify};

use crate::etcd::{
    self, Client, Compare, CompareResult, DeleteRangeRequest, KeyValue, PutRequest, RangeRequest,
    RequestOp, ResponseOp, TxnRequest, WatchCreateRequest,
};

/// Easegress's member lease TTL (`clientv3.MaxLeaseTTL`): leases never expire in practice;
/// a dead member stays listed until purged.
pub const MAX_LEASE_TTL: i64 = 9_000_000_000;

/// First pause between connection attempts of [`EtcdStore::start`].
const CONNECT_BACKOFF_MIN: Duration = Duration::from_millis(200);
/// Longest pause between connection attempts (Easegress retries every 5 s).
const CONNECT_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Stands for "no limit" on a watch's silence.
const NO_SILENCE_LIMIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// How an [`EtcdStore`] runs.
#[derive(Debug, Clone)]
pub struct EtcdStoreOptions {
    /// This member's name (its lease is recorded at `/leases/<name>`).
    pub member_name: String,
    /// Keys served (and cached); every key of Easegress's layout starts with `/`.
    pub prefix: String,
    /// TTL of a newly granted member lease, in seconds.
    pub lease_ttl: i64,
    /// The cluster name `/eg/cluster/name` must hold; `None`: not checked.
    pub cluster_name: Option<String>,
    /// Write the cluster name when etcd holds none yet (primaries, and members of an
    /// external etcd); otherwise wait until a primary wrote it.
    pub register_cluster_name: bool,
    /// Peer URLs to learn the client URLs from (`GET <peer-url>/members`) before each
    /// connection attempt: a secondary knows only the primaries' peer URLs.
    pub discover_from_peers: Vec<String>,
    /// Once connected, use every etcd member's client URL (those given first), so the
    /// member fails over when its own etcd goes away.
    pub learn_endpoints: bool,
    /// A watch that brings nothing for this long is taken for hung (its etcd member was
    /// frozen or cut off) and opened again on the next endpoint. Only for etcd members that
    /// send progress notices more often than this (see
    /// [`crate::process::PROGRESS_NOTIFY_INTERVAL`]); `None`: wait forever.
    pub watch_silence: Option<Duration>,
}

impl EtcdStoreOptions {
    /// Defaults for member `name`: the whole `/` keyspace, Easegress's lease TTL, no
    /// cluster-name check, the client's endpoints as given.
    pub fn new(name: &str) -> EtcdStoreOptions {
        EtcdStoreOptions {
            member_name: name.to_string(),
            prefix: "/".to_string(),
            lease_ttl: MAX_LEASE_TTL,
            cluster_name: None,
            register_cluster_name: false,
            discover_from_peers: Vec::new(),
            learn_endpoints: false,
            watch_silence: None,
        }
    }
}

/// Why a connection attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// etcd could not be reached or refused; a later attempt may succeed.
    #[error(transparent)]
    Etcd(#[from] etcd::Error),
    /// This member must not join this etcd (its cluster name differs); retrying cannot help.
    #[error("{0}")]
    Fatal(String),
}

/// Where the store is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Still connecting; the text says what the last attempt met.
    Connecting(String),
    /// Connected once: the cache holds the cluster's state (it keeps answering, with the
    /// last state seen, if etcd goes away later).
    Ready,
    /// Refused for good (e.g. a cluster-name mismatch).
    Failed(String),
}

#[derive(Debug, Clone)]
struct Entry {
    value: Vec<u8>,
    mod_revision: i64,
}

#[derive(Default)]
struct Cache {
    kvs: BTreeMap<String, Entry>,
    revision: i64,
}

struct Shared {
    client: Client,
    opts: EtcdStoreOptions,
    prefix: String,
    member: String,
    lease: AtomicI64,
    lease_ttl: i64,
    readiness: tokio::sync::watch::Sender<Readiness>,
    cache: Mutex<Cache>,
    advanced: Condvar,
    watchers: Watchers,
    resyncs: AtomicU64,
    resync_now: Notify,
    /// Batches with an [`Op::Increment`] queue here, so this member's writers do not race
    /// each other on the counter; the etcd compare still guards against other members.
    counter_writes: tokio::sync::Mutex<()>,
}

enum Cmd {
    Apply {
        ops: Vec<Op>,
        conds: Vec<Cond>,
        reply: std::sync::mpsc::SyncSender<StoreResult<u64>>,
    },
    Lock {
        wait: Duration,
        reply: std::sync::mpsc::SyncSender<StoreResult<(Vec<u8>, i64)>>,
    },
    Unlock {
        key: Vec<u8>,
        local: WriteLock,
    },
    Purge {
        member: String,
        reply: std::sync::mpsc::SyncSender<StoreResult<bool>>,
    },
    /// A lock request failed: etcd may still grant it later (a request made while etcd had
    /// no quorum is applied when the quorum returns), which would leave this member's lock
    /// key behind and block every other member. Delete it once etcd answers, holding
    /// `local` until then so no writer of this member takes the lock meanwhile.
    Withdraw {
        local: WriteLock,
    },
}

/// The store of a cluster member; see the module documentation.
pub struct EtcdStore {
    shared: Arc<Shared>,
    cmds: mpsc::UnboundedSender<Cmd>,
    local_lock: Arc<LocalLock>,
    tasks: Vec<tokio::task::AbortHandle>,
}

fn unavailable(e: etcd::Error) -> StoreError {
    match e {
        etcd::Error::Unavailable(_) => StoreError::Unavailable(format!(
            "{e} (writes need a majority of the etcd members to be up and reachable)"
        )),
        other => StoreError::Backend(other.to_string()),
    }
}

fn key_string(kv: &KeyValue) -> Option<String> {
    match String::from_utf8(kv.key.clone()) {
        Ok(k) => Some(k),
        Err(_) => {
            tracing::warn!(key = ?kv.key, "ignoring a non-UTF-8 etcd key");
            None
        }
    }
}

impl EtcdStore {
    fn shared(client: Client, opts: EtcdStoreOptions) -> Arc<Shared> {
        Arc::new(Shared {
            client,
            prefix: opts.prefix.clone(),
            member: opts.member_name.clone(),
            lease: AtomicI64::new(0),
            lease_ttl: opts.lease_ttl,
            readiness: tokio::sync::watch::Sender::new(Readiness::Connecting(
                "not tried yet".into(),
            )),
            opts,
            cache: Mutex::new(Cache::default()),
            advanced: Condvar::new(),
            watchers: Watchers::default(),
            resyncs: AtomicU64::new(0),
            resync_now: Notify::new(),
            counter_writes: tokio::sync::Mutex::new(()),
        })
    }

    fn with_tasks(
        shared: Arc<Shared>,
        main: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> EtcdStore {
        let (tx, rx) = mpsc::unbounded_channel();
        let tasks = vec![
            tokio::spawn(main).abort_handle(),
            tokio::spawn(command_loop(Arc::clone(&shared), rx)).abort_handle(),
        ];
        EtcdStore {
            shared,
            cmds: tx,
            local_lock: LocalLock::new(),
            tasks,
        }
    }

    /// Connects now: takes (or reuses) the member lease, checks the cluster name, reads the
    /// served prefix, and starts the watch, the lease keep-alive and the write task on the
    /// current tokio runtime. Fails when etcd cannot be read now.
    pub async fn connect(
        client: Client,
        opts: EtcdStoreOptions,
    ) -> Result<EtcdStore, ConnectError> {
        let shared = EtcdStore::shared(client, opts);
        connect_once(&shared).await?;
        shared.readiness.send_replace(Readiness::Ready);
        let s = Arc::clone(&shared);
        Ok(EtcdStore::with_tasks(shared, async move {
            tokio::join!(watch_loop(Arc::clone(&s)), lease_loop(s));
        }))
    }

    /// Starts at once with an empty view and connects in the background, retrying (with a
    /// log line per attempt, at most every few seconds) until etcd answers. Reads answer
    /// from the empty view and writes fail with [`StoreError::Unavailable`] until then;
    /// [`EtcdStore::readiness`] tells where it is. Once connected, the whole state arrives
    /// to watchers as ordinary events.
    pub fn start(client: Client, opts: EtcdStoreOptions) -> EtcdStore {
        let shared = EtcdStore::shared(client, opts);
        let s = Arc::clone(&shared);
        EtcdStore::with_tasks(shared, async move {
            if connect_with_retries(&s).await {
                tokio::join!(watch_loop(Arc::clone(&s)), lease_loop(s));
            }
        })
    }

    /// Where the store is: connecting, ready, or refused for good.
    pub fn readiness(&self) -> Readiness {
        self.shared.readiness.borrow().clone()
    }

    /// Follows [`EtcdStore::readiness`].
    pub fn subscribe_readiness(&self) -> tokio::sync::watch::Receiver<Readiness> {
        self.shared.readiness.subscribe()
    }

    /// Applies a batch from async code (the member's own status writers), with the same
    /// semantics as [`Store::apply_if`].
    pub async fn apply_async(&self, ops: Vec<Op>, conds: Vec<Cond>) -> StoreResult<u64> {
        self.shared.check_ready()?;
        run_txn(&self.shared, ops, conds).await
    }

    /// The etcd client.
    pub fn client(&self) -> &Client {
        &self.shared.client
    }

    /// This member's lease id (ephemeral keys are bound to it).
    pub fn lease_id(&self) -> i64 {
        self.shared.lease.load(Ordering::Relaxed)
    }

    /// This member's name.
    pub fn member_name(&self) -> &str {
        &self.shared.member
    }

    /// Waits (blocking) until the cache has applied `revision`; false after `timeout`.
    pub fn wait_for_revision(&self, revision: u64, timeout: Duration) -> bool {
        self.shared.wait_for(revision as i64, timeout)
    }

    fn timeout(&self) -> Duration {
        self.shared.client.request_timeout()
    }

    fn send(&self, cmd: Cmd) -> StoreResult<()> {
        self.cmds
            .send(cmd)
            .map_err(|_| StoreError::Unavailable("the cluster store is shut down".into()))
    }
}

impl Drop for EtcdStore {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Shared {
    fn wait_for(&self, revision: i64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut c = self.cache.lock();
        while c.revision < revision {
            if self.advanced.wait_until(&mut c, deadline).timed_out() {
                return c.revision >= revision;
            }
        }
        true
    }

    /// Reads the whole prefix and makes the cache equal to it, publishing the differences.
    async fn reload(&self, is_resync: bool) -> Result<(), etcd::Error> {
        let r = self.client.get_prefix(self.prefix.as_bytes()).await?;
        let mut fresh = BTreeMap::new();
        for kv in r.kvs {
            if let Some(k) = key_string(&kv) {
                fresh.insert(
                    k,
                    Entry {
                        value: kv.value,
                        mod_revision: kv.mod_revision,
                    },
                );
            }
        }
        let rev = r.header.revision;
        let mut c = self.cache.lock();
        let mut events = Vec::new();
        for k in c.kvs.keys() {
            if !fresh.contains_key(k) {
                events.push(WatchEvent::Delete {
                    key: k.clone(),
                    revision: rev.max(0) as u64,
                });
            }
        }
        for (k, e) in &fresh {
            let changed = c
                .kvs
                .get(k)
                .is_none_or(|old| old.value != e.value || old.mod_revision != e.mod_revision);
            if changed {
                events.push(WatchEvent::Put {
                    key: k.clone(),
                    value: e.value.clone(),
                    revision: e.mod_revision.max(0) as u64,
                });
            }
        }
        c.kvs = fresh;
        c.revision = c.revision.max(rev);
        self.watchers.publish(&events);
        drop(c);
        self.advanced.notify_all();
        if is_resync {
            self.resyncs.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                revision = rev,
                changes = events.len(),
                "cluster view resynchronised"
            );
        }
        Ok(())
    }

    fn apply_events(&self, resp: &etcd::WatchResponse) {
        let mut c = self.cache.lock();
        if resp.events.is_empty() {
            // A progress notice: every change up to its revision was sent. (The creation
            // notice carries the current revision while older events may still follow.)
            if !resp.created {
                c.revision = c.revision.max(resp.header.revision);
            }
        } else {
            let mut events = Vec::with_capacity(resp.events.len());
            for ev in &resp.events {
                let rev = ev.kv.mod_revision;
                c.revision = c.revision.max(rev);
                let Some(key) = key_string(&ev.kv) else {
                    continue;
                };
                let revision = rev.max(0) as u64;
                match ev.kind {
                    etcd::EventType::Put => {
                        c.kvs.insert(
                            key.clone(),
                            Entry {
                                value: ev.kv.value.clone(),
                                mod_revision: rev,
                            },
                        );
                        events.push(WatchEvent::Put {
                            key,
                            value: ev.kv.value.clone(),
                            revision,
                        });
                    }
                    etcd::EventType::Delete => {
                        if c.kvs.remove(&key).is_some() {
                            events.push(WatchEvent::Delete { key, revision });
                        }
                    }
                }
            }
            self.watchers.publish(&events);
        }
        drop(c);
        self.advanced.notify_all();
    }
}

impl Shared {
    fn check_ready(&self) -> StoreResult<()> {
        match &*self.readiness.borrow() {
            Readiness::Ready => Ok(()),
            Readiness::Connecting(why) => Err(StoreError::Unavailable(format!(
                "not connected to etcd yet ({why})"
            ))),
            Readiness::Failed(why) => Err(StoreError::Unavailable(why.clone())),
        }
    }
}

/// One connection attempt: endpoints (learnt from peers when asked), the member lease, the
/// cluster name, the first read of the state, then every member's client URL.
async fn connect_once(s: &Shared) -> Result<(), ConnectError> {
    let timeout = s.client.request_timeout();
    if !s.opts.discover_from_peers.is_empty() {
        let urls = etcd::discover_client_urls(&s.opts.discover_from_peers, timeout).await?;
        s.client.set_endpoints(&urls)?;
    }
    if let Some(name) = &s.opts.cluster_name {
        check_cluster_name(&s.client, name, s.opts.register_cluster_name).await?;
    }
    let lease = init_lease(&s.client, &s.member, s.lease_ttl).await?;
    s.lease.store(lease, Ordering::Relaxed);
    s.reload(false).await?;
    if s.opts.learn_endpoints {
        learn_endpoints(&s.client).await;
    }
    Ok(())
}

/// Adds every etcd member's client URL after the ones already known.
async fn learn_endpoints(client: &Client) {
    match client.member_list().await {
        Ok(list) => {
            let mut urls: Vec<String> = client.endpoints().to_vec();
            for u in list.members.into_iter().flat_map(|m| m.client_urls) {
                let u = u.trim_end_matches('/').to_string();
                if !urls.contains(&u) {
                    urls.push(u);
                }
            }
            if let Err(e) = client.set_endpoints(&urls) {
                tracing::warn!(error = %e, "ignoring the member list's client URLs");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list the etcd members"),
    }
}

/// `/eg/cluster/name` must hold `name`; when etcd holds no name, `register` writes it
/// (only if still absent), else the attempt fails until a primary wrote it.
async fn check_cluster_name(
    client: &Client,
    name: &str,
    register: bool,
) -> Result<(), ConnectError> {
    let key = keys::CLUSTER_NAME.as_bytes();
    let mut current = client.get(key).await?.map(|kv| kv.value);
    if current.is_none() && register {
        let txn = TxnRequest {
            compare: vec![Compare::create_revision(key, CompareResult::Equal, 0)],
            success: vec![RequestOp::Put(PutRequest::new(key, name.as_bytes(), 0))],
            failure: vec![RequestOp::Range(RangeRequest::key(key))],
        };
        let r = client.txn(&txn).await?;
        if r.succeeded {
            tracing::info!(cluster = name, "cluster name registered");
            return Ok(());
        }
        current = r.responses.into_iter().find_map(|op| match op {
            ResponseOp::Range(rr) => rr.kvs.into_iter().next().map(|kv| kv.value),
            _ => None,
        });
    }
    match current {
        Some(v) if v == name.as_bytes() => Ok(()),
        Some(v) => Err(ConnectError::Fatal(format!(
            "cluster name mismatch: this member is configured for cluster {name:?} but etcd \
             holds {:?} at {}; fix --cluster-name or point the member at its own cluster",
            String::from_utf8_lossy(&v),
            keys::CLUSTER_NAME
        ))),
        None => Err(ConnectError::Etcd(etcd::Error::Unavailable(format!(
            "no cluster name at {} yet: waiting for a primary to register {name:?}",
            keys::CLUSTER_NAME
        )))),
    }
}

/// Retries [`connect_once`] until it succeeds (true) or fails for good (false).
async fn connect_with_retries(s: &Shared) -> bool {
    let mut backoff = CONNECT_BACKOFF_MIN;
    let mut attempts: u64 = 0;
    let mut last_log: Option<Instant> = None;
    loop {
        attempts += 1;
        match connect_once(s).await {
            Ok(()) => {
                tracing::info!(
                    attempts,
                    endpoints = ?s.client.endpoints(),
                    "connected to the cluster store"
                );
                s.readiness.send_replace(Readiness::Ready);
                return true;
            }
            Err(ConnectError::Fatal(why)) => {
                tracing::error!("{why}");
                s.readiness.send_replace(Readiness::Failed(why));
                return false;
            }
            Err(ConnectError::Etcd(e)) => {
                let why = e.to_string();
                if last_log.is_none_or(|t| t.elapsed() >= CONNECT_BACKOFF_MAX) {
                    tracing::warn!(
                        attempts,
                        endpoints = ?s.client.endpoints(),
                        error = %why,
                        "waiting for etcd"
                    );
                    last_log = Some(Instant::now());
                }
                s.readiness.send_replace(Readiness::Connecting(why));
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(CONNECT_BACKOFF_MAX);
    }
}

/// Reuses the lease recorded at `/leases/<member>` if it still has ≥ 5 s (as Easegress
/// does after a restart), else grants one; records it under itself.
async fn init_lease(client: &Client, member: &str, ttl: i64) -> Result<i64, etcd::Error> {
    let key = keys::lease(member);
    let mut lease = 0;
    if let Some(kv) = client.get(key.as_bytes()).await? {
        if let Some(id) = std::str::from_utf8(&kv.value)
            .ok()
            .and_then(|s| i64::from_str_radix(s.trim(), 16).ok())
        {
            if client.lease_time_to_live(id, false).await?.ttl >= 5 {
                lease = id;
            }
        }
    }
    if lease == 0 {
        lease = client.lease_grant(ttl).await?.id;
    }
    client
        .put(key.as_bytes(), format!("{lease:x}").into_bytes(), lease)
        .await?;
    Ok(lease)
}

async fn watch_loop(s: Arc<Shared>) {
    let mut backoff = Duration::from_millis(100);
    let mut need_reload = false;
    loop {
        if need_reload {
            match s.reload(true).await {
                Ok(()) => need_reload = false,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot re-read the cluster state yet");
                    wait_or_nudge(&s, &mut backoff).await;
                    continue;
                }
            }
        }
        let from = s.cache.lock().revision + 1;
        let req = WatchCreateRequest::prefix(s.prefix.as_bytes(), from);
        let mut stream = match s.client.watch(&req).await {
            Ok(st) => st,
            Err(etcd::Error::Compacted { .. }) => {
                need_reload = true;
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot watch etcd yet");
                wait_or_nudge(&s, &mut backoff).await;
                continue;
            }
        };
        let silence = s.opts.watch_silence.unwrap_or(NO_SILENCE_LIMIT);
        loop {
            tokio::select! {
                m = tokio::time::timeout(silence, stream.message()) => match m.unwrap_or(Err(etcd::Error::Unavailable(format!("watch silent for {silence:?}")))) {
                    Ok(Some(resp)) => {
                        backoff = Duration::from_millis(100);
                        s.apply_events(&resp);
                    }
                    Ok(None) => break,
                    Err(etcd::Error::Compacted { revision }) => {
                        tracing::info!(compact_revision = revision, "watch fell behind a compaction");
                        need_reload = true;
                        break;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "watch ended");
                        s.client.rotate();
                        wait_or_nudge(&s, &mut backoff).await;
                        break;
                    }
                },
                _ = s.resync_now.notified() => {
                    // A writer saw a revision this watch did not deliver in time: the
                    // endpoint may hang. Read again (from whichever endpoint answers).
                    s.client.rotate();
                    need_reload = true;
                    break;
                }
            }
        }
    }
}

async fn wait_or_nudge(s: &Shared, backoff: &mut Duration) {
    tokio::select! {
        _ = tokio::time::sleep(*backoff) => {}
        _ = s.resync_now.notified() => {}
    }
    *backoff = (*backoff * 2).min(Duration::from_secs(2));
}

async fn lease_loop(s: Arc<Shared>) {
    let interval = s.client.request_timeout();
    loop {
        tokio::time::sleep(interval).await;
        let lease = s.lease.load(Ordering::Relaxed);
        match s.client.lease_keep_alive_once(lease).await {
            Ok(r) if r.ttl > 0 => {}
            Ok(_) | Err(etcd::Error::Rejected { .. }) => {
                // Gone (revoked by a purge, or expired): take a new one, as Easegress does.
                match init_lease(&s.client, &s.member, s.lease_ttl).await {
                    Ok(id) => {
                        tracing::warn!(
                            old = format!("{lease:x}"),
                            new = format!("{id:x}"),
                            "member lease replaced"
                        );
                        s.lease.store(id, Ordering::Relaxed);
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot replace the member lease"),
                }
            }
            Err(e) => tracing::debug!(error = %e, "lease keep-alive failed"),
        }
    }
}

async fn command_loop(s: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Cmd>) {
    while let Some(cmd) = rx.recv().await {
        let s = Arc::clone(&s);
        tokio::spawn(async move {
            match cmd {
                Cmd::Apply { ops, conds, reply } => {
                    let r = match s.check_ready() {
                        Ok(()) => run_txn(&s, ops, conds).await,
                        Err(e) => Err(e),
                    };
                    let _ = reply.send(r);
                }
                Cmd::Purge { member, reply } => {
                    let r = match s.check_ready() {
                        Ok(()) => purge(&s.client, &member).await,
                        Err(e) => Err(e),
                    };
                    let _ = reply.send(r);
                }
                Cmd::Lock { wait, reply } => {
                    if let Err(e) = s.check_ready() {
                        let _ = reply.send(Err(e));
                        return;
                    }
                    let lease = s.lease.load(Ordering::Relaxed);
                    let r = s
                        .client
                        .lock(keys::CONFIG_LOCK, lease, wait)
                        .await
                        .map(|l| (l.key, l.header.revision))
                        .map_err(|e| match e {
                            etcd::Error::Unavailable(_) => StoreError::Unavailable(format!(
                                "the cluster write lock {} was not granted within {}: \
                                 etcd lacks a majority of reachable members, or another \
                                 writer holds the lock ({e})",
                                keys::CONFIG_LOCK,
                                etcd::human(wait)
                            )),
                            other => unavailable(other),
                        });
                    if let Err(std::sync::mpsc::SendError(Ok((key, _)))) = reply.send(r) {
                        // The caller gave up waiting: release what was granted.
                        let _ = s.client.unlock(&key).await;
                    }
                }
                Cmd::Withdraw { local } => {
                    let key = format!(
                        "{}/{:x}",
                        keys::CONFIG_LOCK,
                        s.lease.load(Ordering::Relaxed)
                    );
                    let mut pause = Duration::from_millis(200);
                    while let Err(e) = s.client.unlock(key.as_bytes()).await {
                        tracing::debug!(error = %e, key, "cannot withdraw the lock request yet");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(2));
                    }
                    drop(local);
                }
                Cmd::Unlock { key, local } => {
                    for attempt in 0..3 {
                        match s.client.unlock(&key).await {
                            Ok(_) => break,
                            Err(e) => {
                                tracing::warn!(attempt, error = %e, "cannot release the cluster write lock");
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        }
                    }
                    // Only now may the next local writer ask etcd for the lock: with the
                    // same lease it would otherwise find this key and think it holds it.
                    drop(local);
                }
            }
        });
    }
}

/// Easegress's purge: the member's etcd membership (if it is a primary) and its lease, which
/// takes every key written under it (lease record, member status, object statuses, a lock
/// it may hold). `false` when no lease is recorded for `member`.
async fn purge(client: &Client, member: &str) -> StoreResult<bool> {
    let key = keys::lease(member);
    let Some(kv) = client.get(key.as_bytes()).await.map_err(unavailable)? else {
        return Ok(false);
    };
    let lease = std::str::from_utf8(&kv.value)
        .ok()
        .and_then(|s| i64::from_str_radix(s.trim(), 16).ok())
        .ok_or_else(|| StoreError::Backend(format!("{key} does not hold a lease id")))?;
    let members = client.member_list().await.map_err(unavailable)?;
    if let Some(m) = members.members.iter().find(|m| m.name == member) {
        client.member_remove(m.id).await.map_err(unavailable)?;
        tracing::info!(member, id = format!("{:x}", m.id), "etcd member removed");
    }
    match client.lease_revoke(lease).await {
        Ok(_) | Err(etcd::Error::Rejected { .. }) => {}
        Err(e) => return Err(unavailable(e)),
    }
    // A lease already gone leaves the record behind: remove it too.
    client
        .delete_range(&DeleteRangeRequest::key(key.as_bytes()))
        .await
        .map_err(unavailable)?;
    tracing::info!(member, lease = format!("{lease:x}"), "member purged");
    Ok(true)
}

/// Knowledge of a counter key used by [`Op::Increment`]: its value and mod revision
/// (0: absent).
type Counters = HashMap<String, (u64, i64)>;

async fn run_txn(s: &Shared, ops: Vec<Op>, conds: Vec<Cond>) -> StoreResult<u64> {
    let timeout = s.client.request_timeout();
    let _queued = if ops.iter().any(|o| matches!(o, Op::Increment(_))) {
        Some(
            tokio::time::timeout(timeout, s.counter_writes.lock())
                .await
                .map_err(|_| {
                    StoreError::Unavailable(format!(
                        "too many writes queued on this member: none finished within {timeout:?}"
                    ))
                })?,
        )
    } else {
        None
    };
    let deadline = Instant::now() + timeout;
    let mut counters: Counters = HashMap::new();
    {
        let c = s.cache.lock();
        for op in &ops {
            if let Op::Increment(k) = op {
                let cur = c.kvs.get(k);
                let n = parse_counter(k, cur.map(|e| e.value.as_slice()))?;
                counters.insert(k.clone(), (n, cur.map_or(0, |e| e.mod_revision)));
            }
        }
    }
    let lease = s.lease.load(Ordering::Relaxed);
    // Keys whose current state a failed attempt reads back.
    let mut probe: Vec<&str> = conds.iter().map(Cond::key).collect();
    probe.extend(counters.keys().map(String::as_str));
    probe.sort_unstable();
    probe.dedup();
    let failure: Vec<RequestOp> = probe
        .iter()
        .map(|k| RequestOp::Range(RangeRequest::key(k.as_bytes())))
        .collect();
    let mut attempt = 0u32;
    loop {
        let mut compare = Vec::with_capacity(conds.len() + counters.len());
        for c in &conds {
            match c {
                Cond::Absent(k) => compare.push(Compare::create_revision(
                    k.as_bytes(),
                    CompareResult::Equal,
                    0,
                )),
                Cond::Value(k, v) => {
                    compare.push(Compare::create_revision(
                        k.as_bytes(),
                        CompareResult::Greater,
                        0,
                    ));
                    compare.push(Compare::value(
                        k.as_bytes(),
                        CompareResult::Equal,
                        v.clone(),
                    ));
                }
                Cond::ModRevision(k, r) => compare.push(Compare::mod_revision(
                    k.as_bytes(),
                    CompareResult::Equal,
                    *r as i64,
                )),
            }
        }
        for (k, (_, rev)) in &counters {
            compare.push(Compare::mod_revision(
                k.as_bytes(),
                CompareResult::Equal,
                *rev,
            ));
        }
        let success = ops
            .iter()
            .map(|op| match op {
                Op::Put(k, v) => RequestOp::Put(PutRequest::new(k.as_bytes(), v.clone(), 0)),
                Op::PutEphemeral(k, v) => {
                    RequestOp::Put(PutRequest::new(k.as_bytes(), v.clone(), lease))
                }
                Op::Delete(k) => RequestOp::DeleteRange(DeleteRangeRequest::key(k.as_bytes())),
                Op::Increment(k) => {
                    let n = counters.get(k).map_or(0, |c| c.0);
                    RequestOp::Put(PutRequest::new(
                        k.as_bytes(),
                        (n + 1).to_string().into_bytes(),
                        0,
                    ))
                }
            })
            .collect();
        let txn = TxnRequest {
            compare,
            success,
            failure: failure.clone(),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if attempt > 0 && left < timeout / 4 {
            return Err(StoreError::Unavailable(format!(
                "etcd: the batch kept conflicting with concurrent writers for {timeout:?}"
            )));
        }
        let r = s
            .client
            .call_within::<_, etcd::TxnResponse>("/v3/kv/txn", &txn, left)
            .await
            .map_err(unavailable)?;
        let rev = r.header.revision;
        if r.succeeded {
            if !s.wait_for_async(rev, timeout).await {
                s.resync_now.notify_one();
                if !s.wait_for_async(rev, timeout).await {
                    tracing::warn!(
                        revision = rev,
                        "write applied in etcd but not yet seen by this member's watch"
                    );
                }
            }
            return Ok(rev.max(0) as u64);
        }
        // Which condition failed? Read the probed keys back.
        let mut now: HashMap<Vec<u8>, KeyValue> = HashMap::new();
        for resp in r.responses {
            if let ResponseOp::Range(rr) = resp {
                for kv in rr.kvs {
                    now.insert(kv.key.clone(), kv);
                }
            }
        }
        for c in &conds {
            let cur = now.get(c.key().as_bytes());
            let holds = match c {
                Cond::Absent(_) => cur.is_none(),
                Cond::Value(_, v) => cur.is_some_and(|kv| &kv.value == v),
                Cond::ModRevision(_, r) => cur.map_or(0, |kv| kv.mod_revision) == *r as i64,
            };
            if !holds {
                return Err(StoreError::Conflict(c.key().to_string()));
            }
        }
        // Only counters moved: retry with their current values.
        for (k, slot) in counters.iter_mut() {
            let cur = now.get(k.as_bytes());
            let n = parse_counter(k, cur.map(|kv| kv.value.as_slice()))?;
            *slot = (n, cur.map_or(0, |kv| kv.mod_revision));
        }
        attempt += 1;
        if attempt > 3 {
            // Many writers at once: spread the retries out a little.
            let ms = u64::from(attempt.min(20)) * (1 + (rev as u64 % 7));
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
}

impl Shared {
    /// Async form of [`Shared::wait_for`] for the background tasks.
    async fn wait_for_async(&self, revision: i64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.cache.lock().revision >= revision {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

impl Store for EtcdStore {
    fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self
            .shared
            .cache
            .lock()
            .kvs
            .get(key)
            .map(|e| e.value.clone()))
    }

    fn range(&self, prefix: &str) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let c = self.shared.cache.lock();
        Ok(c.kvs
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect())
    }

    fn apply(&self, ops: Vec<Op>, expect_absent: Option<&str>) -> StoreResult<u64> {
        let conds = expect_absent
            .map(|k| vec![Cond::Absent(k.to_string())])
            .unwrap_or_default();
        self.apply_if(ops, conds)
    }

    fn apply_if(&self, ops: Vec<Op>, conds: Vec<Cond>) -> StoreResult<u64> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.send(Cmd::Apply {
            ops,
            conds,
            reply: tx,
        })?;
        // The task itself gives up after the request timeout (plus the wait for the cache).
        let limit = self.timeout() * 3 + Duration::from_secs(1);
        rx.recv_timeout(limit).unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "etcd is unreachable: no answer within {}",
                etcd::human(limit)
            )))
        })
    }

    fn revision(&self) -> u64 {
        self.shared.cache.lock().revision.max(0) as u64
    }

    fn watch(&self, prefix: &str) -> mpsc::UnboundedReceiver<WatchEvent> {
        self.shared.watchers.subscribe(prefix)
    }

    fn get_versioned(&self, key: &str) -> StoreResult<Option<Versioned>> {
        Ok(self.shared.cache.lock().kvs.get(key).map(|e| Versioned {
            value: e.value.clone(),
            mod_revision: e.mod_revision.max(0) as u64,
        }))
    }

    /// The cluster-wide lock `/config/lock` (keys `/config/lock/<lease-hex>`, the layout of
    /// Go's `concurrency.Mutex`), taken after this member's own writers queued locally. Once
    /// granted, the cache has caught up with the grant, so a check made under the lock
    /// sees every write made before it.
    fn write_lock(&self, timeout: Duration) -> StoreResult<WriteLock> {
        let start = Instant::now();
        let local = self.local_lock.acquire(timeout)?;
        let wait = timeout.saturating_sub(start.elapsed());
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.send(Cmd::Lock { wait, reply: tx })?;
        let granted = rx
            .recv_timeout(wait + self.timeout() + Duration::from_secs(1))
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "etcd is unreachable: no answer to the lock request".into(),
                ))
            });
        let (key, rev) = match granted {
            Ok(g) => g,
            Err(e) => {
                if self.shared.check_ready().is_ok() {
                    let _ = self.send(Cmd::Withdraw { local });
                }
                return Err(e);
            }
        };
        let cmds = self.cmds.clone();
        let guard = WriteLock::new(move || {
            let _ = cmds.send(Cmd::Unlock { key, local });
        });
        if !self.shared.wait_for(rev, self.timeout()) {
            self.shared.resync_now.notify_one();
            if !self.shared.wait_for(rev, self.timeout()) {
                return Err(StoreError::Unavailable(
                    "etcd: this member's view did not catch up with the lock".into(),
                ));
            }
        }
        Ok(guard)
    }

    fn resync_count(&self) -> u64 {
        self.shared.resyncs.load(Ordering::Relaxed)
    }

    fn health(&self) -> Result<(), String> {
        match self.readiness() {
            Readiness::Ready => Ok(()),
            Readiness::Connecting(why) => Err(format!(
                "waiting for etcd at {}: {why}",
                self.shared.client.endpoints().join(",")
            )),
            Readiness::Failed(why) => Err(why),
        }
    }

    fn purge_member(&self, member: &str) -> StoreResult<bool> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.send(Cmd::Purge {
            member: member.to_string(),
            reply: tx,
        })?;
        let limit = self.timeout() * 4 + Duration::from_secs(1);
        rx.recv_timeout(limit).unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "etcd is unreachable: no answer within {}",
                etcd::human(limit)
            )))
        })
    }
}
