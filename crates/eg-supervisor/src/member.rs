//! Who this process is in the cluster: its identity and the options it runs with.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

/// The default cluster name (`--cluster-name`).
pub const DEFAULT_CLUSTER_NAME: &str = "eg-cluster-default-name";

/// A member's role in the cluster (`--cluster-role`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterRole {
    /// Runs the cluster store (and leads it when alone).
    #[default]
    Primary,
    /// Uses the primaries' store.
    Secondary,
}

impl ClusterRole {
    /// `primary` or `secondary`, as written in flags and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterRole::Primary => "primary",
            ClusterRole::Secondary => "secondary",
        }
    }
}

impl fmt::Display for ClusterRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ClusterRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "primary" => Ok(ClusterRole::Primary),
            "secondary" => Ok(ClusterRole::Secondary),
            other => Err(format!(
                "invalid cluster-role {other:?}: supported roles are primary/secondary"
            )),
        }
    }
}

/// Writes a path as a string (lossily where it is not UTF-8), so reporting the options never
/// fails.
fn lossy_path<S: Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

fn lossy_paths<S: Serializer>(ps: &[PathBuf], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ps.iter().map(|p| p.to_string_lossy()))
}

/// The server options of a member, as Easegress reports them under `/status/members`
/// (`options`): Go field names, in Easegress's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberOptions {
    /// `--name`.
    #[serde(rename = "Name")]
    pub name: String,
    /// `--labels`.
    #[serde(rename = "Labels")]
    pub labels: BTreeMap<String, String>,
    /// `--cluster-name`.
    #[serde(rename = "ClusterName")]
    pub cluster_name: String,
    /// `--cluster-role`.
    #[serde(rename = "ClusterRole")]
    pub cluster_role: ClusterRole,
    /// `--cluster-request-timeout`, as given (e.g. `10s`).
    #[serde(rename = "ClusterRequestTimeout")]
    pub cluster_request_timeout: String,
    /// The cluster store's options.
    #[serde(rename = "Cluster")]
    pub cluster: ClusterOptions,
    /// `--force-new-cluster`.
    #[serde(rename = "ForceNewCluster")]
    pub force_new_cluster: bool,
    /// `--use-standalone-etcd`.
    #[serde(rename = "UseStandaloneEtcd")]
    pub use_standalone_etcd: bool,
    /// `--api-addr`.
    #[serde(rename = "APIAddr")]
    pub api_addr: String,
    /// `--tls`.
    #[serde(rename = "TLS")]
    pub tls: bool,
    /// `--debug`.
    #[serde(rename = "Debug")]
    pub debug: bool,
    /// `--disable-access` (YAML `disable-access-log`): no access logs.
    #[serde(rename = "DisableAccessLog")]
    pub disable_access_log: bool,
    /// `--initial-object-config-files`.
    #[serde(rename = "InitialObjectConfigFiles", serialize_with = "lossy_paths")]
    pub initial_object_config_files: Vec<PathBuf>,
    /// `--objects-dump-interval`, as given (e.g. `1h`).
    #[serde(rename = "ObjectsDumpInterval")]
    pub objects_dump_interval: String,
    /// `--home-dir`, as given.
    #[serde(rename = "HomeDir", serialize_with = "lossy_path")]
    pub home_dir: PathBuf,
    /// `--data-dir`, as given.
    #[serde(rename = "DataDir", serialize_with = "lossy_path")]
    pub data_dir: PathBuf,
    /// `--wal-dir`, as given (empty when unset).
    #[serde(rename = "WALDir", serialize_with = "lossy_path")]
    pub wal_dir: PathBuf,
    /// `--log-dir`, as given (empty: logs go to stdout).
    #[serde(rename = "LogDir", serialize_with = "lossy_path")]
    pub log_dir: PathBuf,
    /// `--status-update-max-batch-size`.
    #[serde(rename = "StatusUpdateMaxBatchSize")]
    pub status_update_max_batch_size: u32,
    /// The home directory, absolute.
    #[serde(rename = "AbsHomeDir", serialize_with = "lossy_path")]
    pub abs_home_dir: PathBuf,
    /// The data directory, absolute.
    #[serde(rename = "AbsDataDir", serialize_with = "lossy_path")]
    pub abs_data_dir: PathBuf,
    /// The log directory, absolute (empty: logs go to stdout).
    #[serde(rename = "AbsLogDir", serialize_with = "lossy_path")]
    pub abs_log_dir: PathBuf,
}

/// The cluster store's options (`options.Cluster`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterOptions {
    /// `--listen-peer-urls`.
    #[serde(rename = "ListenPeerURLs")]
    pub listen_peer_urls: Vec<String>,
    /// `--listen-client-urls`.
    #[serde(rename = "ListenClientURLs")]
    pub listen_client_urls: Vec<String>,
    /// `--advertise-client-urls`.
    #[serde(rename = "AdvertiseClientURLs")]
    pub advertise_client_urls: Vec<String>,
    /// `--initial-advertise-peer-urls`.
    #[serde(rename = "InitialAdvertisePeerURLs")]
    pub initial_advertise_peer_urls: Vec<String>,
    /// `--initial-cluster`: member name → peer URL.
    #[serde(rename = "InitialCluster")]
    pub initial_cluster: BTreeMap<String, String>,
    /// `--state-flag`: `new` or `existing`.
    #[serde(rename = "StateFlag")]
    pub state_flag: String,
    /// `--primary-listen-peer-urls`.
    #[serde(rename = "PrimaryListenPeerURLs")]
    pub primary_listen_peer_urls: Vec<String>,
    /// `--max-call-send-msg-size`, in bytes.
    #[serde(rename = "MaxCallSendMsgSize")]
    pub max_call_send_msg_size: u64,
}

impl MemberOptions {
    /// Options of a one-member cluster called `name`, with relative directories (`.`,
    /// `data`) and no log directory; for tests and embedded use.
    pub fn standalone(name: &str) -> MemberOptions {
        MemberOptions {
            name: name.to_string(),
            cluster_name: DEFAULT_CLUSTER_NAME.to_string(),
            home_dir: PathBuf::from("."),
            data_dir: PathBuf::from("data"),
            abs_home_dir: PathBuf::from("."),
            abs_data_dir: PathBuf::from("data"),
            ..MemberOptions::default()
        }
    }
}

/// What a member publishes about itself every heartbeat (`/status/members/<name>`), in
/// Easegress's JSON layout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemberStatus {
    /// The member's options.
    pub options: MemberOptions,
    /// When the member last wrote this (RFC 3339).
    #[serde(rename = "lastHeartbeatTime")]
    pub last_heartbeat_time: String,
    /// Declared by Easegress and never set: always empty.
    #[serde(rename = "lastDefragTime")]
    pub last_defrag_time: String,
    /// A primary's etcd member; absent for secondaries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etcd: Option<EtcdMemberStatus>,
}

/// A primary's etcd member as its heartbeat reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EtcdMemberStatus {
    /// etcd's member id, hexadecimal.
    pub id: String,
    /// When the member started its etcd (RFC 3339).
    #[serde(rename = "startTime")]
    pub start_time: String,
    /// `Leader` or `Follower`.
    pub state: String,
}

/// Who this process is in the cluster, where it keeps its files, and its options.
///
/// The identity fields are those of [`MemberInfo::options`], typed for use (metric labels,
/// file paths); [`MemberInfo::new`] derives them so the two agree.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    /// Member name (`--name`).
    pub name: String,
    /// Cluster name (`--cluster-name`).
    pub cluster_name: String,
    /// `primary` or `secondary`.
    pub cluster_role: ClusterRole,
    /// Home directory (absolute `--home-dir`).
    pub home_dir: PathBuf,
    /// Data directory (absolute `--data-dir`).
    pub data_dir: PathBuf,
    /// Log directory (absolute `--log-dir`); `None` logs to stdout.
    pub log_dir: Option<PathBuf>,
    /// The server options, reported under `/status/members`.
    pub options: MemberOptions,
}

impl MemberInfo {
    /// The member running with `options`.
    pub fn new(options: MemberOptions) -> MemberInfo {
        MemberInfo {
            name: options.name.clone(),
            cluster_name: options.cluster_name.clone(),
            cluster_role: options.cluster_role,
            home_dir: options.abs_home_dir.clone(),
            data_dir: options.abs_data_dir.clone(),
            log_dir: (!options.abs_log_dir.as_os_str().is_empty())
                .then(|| options.abs_log_dir.clone()),
            options,
        }
    }

    /// A member for tests and embedded use (see [`MemberOptions::standalone`]).
    pub fn standalone(name: &str) -> MemberInfo {
        MemberInfo::new(MemberOptions::standalone(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_and_print_as_flags_write_them() {
        assert_eq!("primary".parse::<ClusterRole>(), Ok(ClusterRole::Primary));
        assert_eq!(
            "secondary".parse::<ClusterRole>(),
            Ok(ClusterRole::Secondary)
        );
        assert!("writer".parse::<ClusterRole>().is_err());
        assert_eq!(ClusterRole::Secondary.to_string(), "secondary");
        assert_eq!(
            serde_json::to_value(ClusterRole::Primary).unwrap(),
            "primary"
        );
    }

    #[test]
    fn identity_follows_the_options() {
        let mut o = MemberOptions::standalone("m1");
        o.cluster_role = ClusterRole::Secondary;
        o.abs_log_dir = PathBuf::from("/var/log/eg");
        let m = MemberInfo::new(o);
        assert_eq!(m.name, "m1");
        assert_eq!(m.cluster_name, DEFAULT_CLUSTER_NAME);
        assert_eq!(m.cluster_role, ClusterRole::Secondary);
        assert_eq!(m.log_dir, Some(PathBuf::from("/var/log/eg")));
        assert_eq!(MemberInfo::standalone("m2").log_dir, None);
    }
}
