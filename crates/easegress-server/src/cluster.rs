//! Which store a member runs on, and the cluster side of a member's life.
//!
//! A member with no cluster flags keeps its state in the embedded store in `--data-dir`.
//! It joins a cluster on etcd when the options ask for one: more than one member in
//! `initial-cluster`, `--cluster-role secondary`, or `--use-standalone-etcd`. A primary then
//! runs its own etcd (a supervised child); a secondary, or a member of an external etcd,
//! only talks to one.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use eg_cluster::etcd::{Client, ClientOptions};
use eg_cluster::member::{HeartbeatSource, OwnEtcd};
use eg_cluster::process::{ClusterState, EtcdProcess, EtcdProcessOptions};
use eg_cluster::{EtcdStore, EtcdStoreOptions, Readiness};
use eg_supervisor::{ClusterRole, Supervisor};

use crate::options::{positive_duration, Options};

/// A watch on the primaries' etcd that brings nothing for this long (three missed progress
/// notices) is opened again on another member's etcd.
const WATCH_SILENCE: Duration =
    Duration::from_secs(3 * eg_cluster::process::PROGRESS_NOTIFY_INTERVAL.as_secs());

/// Where a member keeps its state.
#[derive(Debug)]
pub enum StorePlan {
    /// The embedded store in `--data-dir` (no etcd).
    Embedded,
    /// A cluster store on etcd.
    Cluster(Box<ClusterPlan>),
}

/// How a member runs in a cluster; built and checked from the options before anything starts.
#[derive(Debug, Clone)]
pub struct ClusterPlan {
    /// The role (`--use-standalone-etcd` makes a member secondary, as in Easegress).
    pub role: ClusterRole,
    /// The etcd a primary runs; `None` for secondaries and members of an external etcd.
    pub etcd: Option<EtcdProcessOptions>,
    /// Client URLs tried first (a primary's own; an external etcd's).
    pub endpoints: Vec<String>,
    /// The store's options (name check, discovery through peer URLs).
    pub store: EtcdStoreOptions,
    /// `--cluster-request-timeout`.
    pub request_timeout: Duration,
}

/// A peer or client URL of a member: `http://host:port`.
fn check_url(what: &str, url: &str) -> Result<(), String> {
    let u = url.trim();
    if u.starts_with("https://") {
        return Err(format!(
            "{what}: {u:?}: TLS between members is not supported yet; use http:// URLs on a \
             private network"
        ));
    }
    let rest = u
        .strip_prefix("http://")
        .ok_or_else(|| format!("{what}: {u:?} is not an http:// URL"))?;
    let authority = rest.trim_end_matches('/');
    let port_ok = authority
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0));
    if authority.contains('/') || !port_ok {
        return Err(format!("{what}: {u:?} must be http://host:port"));
    }
    Ok(())
}

fn urls(what: &str, list: &[String]) -> Result<Vec<String>, String> {
    let list: Vec<String> = list
        .iter()
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect();
    for u in &list {
        check_url(what, u)?;
    }
    Ok(list)
}

/// `initial-cluster` as checked `(name, peer URL)` pairs.
fn initial_cluster(entries: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut names = BTreeSet::new();
    let mut peer_urls = BTreeSet::new();
    for e in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let (name, url) = e
            .split_once('=')
            .map(|(n, u)| (n.trim(), u.trim()))
            .filter(|(n, u)| !n.is_empty() && !u.is_empty())
            .ok_or_else(|| format!("initial-cluster: {e:?} is not name=peer-url"))?;
        check_url("initial-cluster", url)?;
        if !names.insert(name.to_string()) {
            return Err(format!(
                "initial-cluster: member name {name:?} appears more than once"
            ));
        }
        if !peer_urls.insert(url.trim_end_matches('/').to_string()) {
            return Err(format!(
                "initial-cluster: peer URL {url:?} is given to more than one member"
            ));
        }
        out.push((name.to_string(), url.to_string()));
    }
    Ok(out)
}

/// Decides and checks where this member keeps its state. Errors name the option at fault.
pub fn plan(opts: &Options) -> Result<StorePlan, String> {
    let c = &opts.cli;
    let members = initial_cluster(&c.initial_cluster)?;
    let secondary = opts.cluster_role == ClusterRole::Secondary || c.use_standalone_etcd;
    if members.len() <= 1 && !secondary {
        return Ok(StorePlan::Embedded);
    }
    let request_timeout = positive_duration("cluster-request-timeout", &c.cluster_request_timeout)?;
    if c.force_new_cluster {
        tracing::warn!("force-new-cluster is accepted but ignored, as in Easegress");
    }
    let mut store = EtcdStoreOptions::new(&c.name);
    store.cluster_name = Some(c.cluster_name.clone());
    if secondary {
        let given = urls("primary-listen-peer-urls", &c.primary_listen_peer_urls)?;
        if given.is_empty() {
            return Err(if c.use_standalone_etcd {
                "use-standalone-etcd needs the external etcd's client URLs in \
                 --primary-listen-peer-urls"
                    .to_string()
            } else {
                "a secondary member needs --primary-listen-peer-urls (the primaries' peer URLs)"
                    .to_string()
            });
        }
        let endpoints = if c.use_standalone_etcd {
            // An external etcd: the URLs are its client URLs; the first member of the
            // cluster registers the cluster name there.
            store.register_cluster_name = true;
            given
        } else {
            // The primaries' peer URLs: their members list names the client URLs. Their
            // etcd members send progress notices often.
            store.discover_from_peers = given.clone();
            store.watch_silence = Some(WATCH_SILENCE);
            given
        };
        store.learn_endpoints = true;
        return Ok(StorePlan::Cluster(Box::new(ClusterPlan {
            role: ClusterRole::Secondary,
            etcd: None,
            endpoints,
            store,
            request_timeout,
        })));
    }
    let Some((_, own_peer_url)) = members.iter().find(|(n, _)| *n == c.name) else {
        return Err(format!(
            "initial-cluster does not name this member ({:?}): add {}=<its peer URL>",
            c.name, c.name
        ));
    };
    let advertised = urls(
        "initial-advertise-peer-urls",
        &c.initial_advertise_peer_urls,
    )?;
    let own = own_peer_url.trim_end_matches('/');
    if !advertised.iter().any(|u| u.trim_end_matches('/') == own) {
        return Err(format!(
            "initial-cluster gives {} the peer URL {own_peer_url}, but \
             --initial-advertise-peer-urls is {:?}",
            c.name, advertised
        ));
    }
    let listen_peer = urls("listen-peer-urls", &c.listen_peer_urls)?;
    let listen_client = urls("listen-client-urls", &c.listen_client_urls)?;
    let advertise_client = urls("advertise-client-urls", &c.advertise_client_urls)?;
    if listen_peer.is_empty() || listen_client.is_empty() || advertise_client.is_empty() {
        return Err(
            "a primary member needs listen-peer-urls, listen-client-urls and \
             advertise-client-urls"
                .to_string(),
        );
    }
    let log_dir = opts
        .abs_log_dir
        .clone()
        .unwrap_or_else(|| opts.abs_home_dir.join("log"));
    let mut etcd = EtcdProcessOptions::new(&c.name, &opts.abs_data_dir, &log_dir);
    etcd.binary = c.etcd_binary.clone();
    etcd.wal_dir = opts.abs_wal_dir.clone();
    etcd.listen_client_urls = listen_client;
    etcd.advertise_client_urls = advertise_client.clone();
    etcd.listen_peer_urls = listen_peer;
    etcd.initial_advertise_peer_urls = advertised;
    etcd.initial_cluster = members;
    etcd.cluster_name = c.cluster_name.clone();
    etcd.state = if c.state_flag == "existing" {
        ClusterState::Existing
    } else {
        ClusterState::New
    };
    etcd.extra_args = c
        .etcd_args
        .iter()
        .filter(|a| !a.is_empty())
        .cloned()
        .collect();
    // Fail now, before anything starts, when there is no etcd to run.
    eg_cluster::process::find_binary(etcd.binary.as_deref()).map_err(|e| e.to_string())?;
    store.register_cluster_name = true;
    store.learn_endpoints = true;
    store.watch_silence = Some(WATCH_SILENCE);
    Ok(StorePlan::Cluster(Box::new(ClusterPlan {
        role: ClusterRole::Primary,
        etcd: Some(etcd),
        endpoints: advertise_client,
        store,
        request_timeout,
    })))
}

/// The cluster parts of a running member.
pub struct ClusterMember {
    /// The store (also handed to the supervisor as its `Store`).
    pub store: Arc<EtcdStore>,
    etcd: Option<EtcdProcess>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl ClusterMember {
    /// Starts the member's etcd (primaries) and the store, which connects in the background.
    pub fn start(plan: &ClusterPlan) -> Result<ClusterMember, String> {
        let etcd = match &plan.etcd {
            Some(o) => Some(EtcdProcess::spawn(o.clone()).map_err(|e| e.to_string())?),
            None => None,
        };
        let mut co = ClientOptions::new(plan.endpoints.clone());
        co.request_timeout = plan.request_timeout;
        let client = Client::new(co).map_err(|e| format!("cluster client: {e}"))?;
        let store = Arc::new(EtcdStore::start(client, plan.store.clone()));
        Ok(ClusterMember {
            store,
            etcd,
            tasks: Vec::new(),
        })
    }

    /// Waits until the store connected (`Ok`) or was refused for good (`Err`, e.g. a
    /// cluster-name mismatch).
    pub async fn ready(&self) -> Result<(), String> {
        let mut rx = self.store.subscribe_readiness();
        loop {
            match &*rx.borrow_and_update() {
                Readiness::Ready => return Ok(()),
                Readiness::Failed(why) => return Err(why.clone()),
                Readiness::Connecting(_) => {}
            }
            if rx.changed().await.is_err() {
                return Err("the cluster store stopped".into());
            }
        }
    }

    /// Starts the heartbeat and the object status sync (once connected).
    pub fn publish_status(&mut self, opts: &Options, plan: &ClusterPlan, sup: &Supervisor) {
        let options = opts.member_options();
        let own_etcd = plan.etcd.as_ref().and_then(|e| {
            Some(OwnEtcd {
                client_url: e.client_url()?.to_string(),
                start_time: sup
                    .started_at()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        });
        if let Some(own) = &own_etcd {
            self.tasks
                .push(tokio::spawn(eg_cluster::member::defrag_loop(own.clone())));
        }
        let source = HeartbeatSource { options, own_etcd };
        self.tasks
            .push(tokio::spawn(eg_cluster::member::heartbeat_loop(
                Arc::clone(&self.store),
                source,
            )));
        let s = sup.clone();
        let batch = usize::try_from(opts.cli.status_update_max_batch_size).unwrap_or(20);
        self.tasks
            .push(tokio::spawn(eg_cluster::member::status_sync_loop(
                Arc::clone(&self.store),
                batch,
                move || s.statuses(None),
            )));
    }

    /// Stops the status writers and the member's etcd (SIGTERM, then SIGKILL after a
    /// timeout); the store's own tasks stop when the last reference to it goes.
    pub async fn stop(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(mut etcd) = self.etcd.take() {
            let _ = tokio::task::spawn_blocking(move || etcd.stop()).await;
        }
    }

    /// Stops the status writers but leaves the member's etcd running, for the process that
    /// replaced this one (a binary upgrade), which adopted it.
    pub async fn detach(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(etcd) = self.etcd.take() {
            let _ = tokio::task::spawn_blocking(move || etcd.detach()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<StorePlan, String> {
        let mut all = vec!["easegress-server"];
        all.extend_from_slice(args);
        plan(&Options::parse_from(all)?)
    }

    const THREE: &str = "m1=http://127.0.0.1:1,m2=http://127.0.0.1:2,m3=http://127.0.0.1:3";

    fn primary(extra: &[&'static str]) -> Vec<&'static str> {
        let mut a = vec![
            "--name",
            "m1",
            "--initial-advertise-peer-urls",
            "http://127.0.0.1:1",
            "--listen-peer-urls",
            "http://127.0.0.1:1",
            "--etcd-binary",
            "/bin/sh",
        ];
        a.extend_from_slice(extra);
        a
    }

    #[test]
    fn no_cluster_flags_keep_the_embedded_store() {
        assert!(matches!(parse(&[]), Ok(StorePlan::Embedded)));
        assert!(matches!(
            parse(&["--initial-cluster", "eg-default-name=http://localhost:2380"]),
            Ok(StorePlan::Embedded)
        ));
    }

    #[test]
    fn three_primaries_run_etcd_with_their_urls() {
        let Ok(StorePlan::Cluster(p)) = parse(&primary(&["--initial-cluster", THREE])) else {
            panic!("cluster plan expected");
        };
        assert_eq!(p.role, ClusterRole::Primary);
        let e = p.etcd.as_ref().expect("a primary runs etcd");
        assert_eq!(e.initial_cluster.len(), 3);
        assert_eq!(
            p.store.cluster_name.as_deref(),
            Some("eg-cluster-default-name")
        );
        assert!(p.store.register_cluster_name);
    }

    #[test]
    fn bad_initial_cluster_is_refused_naming_the_fault() {
        for (ic, want) in [
            (
                "m1=http://127.0.0.1:1,m1=http://127.0.0.1:2",
                "appears more than once",
            ),
            (
                "m1=http://127.0.0.1:1,m2=http://127.0.0.1:1",
                "more than one member",
            ),
            ("m1=http://127.0.0.1:1,m2", "is not name=peer-url"),
            (
                "m1=http://127.0.0.1:1,m2=127.0.0.1:2",
                "is not an http:// URL",
            ),
            (
                "m1=http://127.0.0.1:1,m2=http://127.0.0.1",
                "must be http://host:port",
            ),
            (
                "m1=http://127.0.0.1:1,m2=https://127.0.0.1:2",
                "TLS between members",
            ),
            (
                "m2=http://127.0.0.1:2,m3=http://127.0.0.1:3",
                "does not name this member",
            ),
        ] {
            let e = parse(&primary(&["--initial-cluster", ic])).unwrap_err();
            assert!(e.contains(want), "{ic}: {e}");
        }
    }

    #[test]
    fn own_peer_url_must_be_advertised() {
        let e = parse(&primary(&[
            "--initial-cluster",
            "m1=http://127.0.0.1:9,m2=http://127.0.0.1:2",
        ]))
        .unwrap_err();
        assert!(e.contains("initial-advertise-peer-urls"), "{e}");
    }

    #[test]
    fn missing_etcd_binary_names_the_package() {
        let mut a = primary(&["--initial-cluster", THREE]);
        a[7] = "/nonexistent/etcd";
        let e = parse(&a).unwrap_err();
        assert!(e.contains("etcd-server"), "{e}");
    }

    #[test]
    fn secondary_needs_primary_urls_and_discovers_through_them() {
        let e = parse(&[
            "--cluster-role",
            "secondary",
            "--primary-listen-peer-urls",
            "",
        ])
        .unwrap_err();
        assert!(e.contains("primary-listen-peer-urls"), "{e}");
        let Ok(StorePlan::Cluster(p)) = parse(&[
            "--cluster-role",
            "secondary",
            "--primary-listen-peer-urls",
            "http://127.0.0.1:1,http://127.0.0.1:2",
        ]) else {
            panic!("cluster plan expected");
        };
        assert!(p.etcd.is_none());
        assert_eq!(p.store.discover_from_peers.len(), 2);
        assert!(!p.store.register_cluster_name);
    }

    #[test]
    fn standalone_etcd_uses_the_urls_as_client_urls() {
        let Ok(StorePlan::Cluster(p)) = parse(&[
            "--use-standalone-etcd",
            "--primary-listen-peer-urls",
            "http://127.0.0.1:2379",
        ]) else {
            panic!("cluster plan expected");
        };
        assert_eq!(p.role, ClusterRole::Secondary);
        assert_eq!(p.endpoints, vec!["http://127.0.0.1:2379".to_string()]);
        assert!(p.store.discover_from_peers.is_empty());
        assert!(p.store.register_cluster_name);
    }

    #[test]
    fn bad_request_timeout_is_refused() {
        let e = parse(&primary(&[
            "--initial-cluster",
            THREE,
            "--cluster-request-timeout",
            "0s",
        ]))
        .unwrap_err();
        assert!(e.contains("cluster-request-timeout"), "{e}");
    }
}
