//! Server options: flags, `EASEGRESS_*` environment variables and the `--config-file` YAML.
//!
//! Precedence, as Easegress's: an explicit flag, then the environment variable, then the
//! config file, then the default. Relative directories are taken relative to `--home-dir`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use eg_supervisor::{ClusterOptions, ClusterRole, MemberOptions};
use serde::Deserialize;

/// Access-log backups kept by default when `--access-log-max-size` is set.
pub const DEFAULT_ACCESS_LOG_MAX_BACKUPS: u32 = 5;
/// Bytes in one MiB (the unit of `--access-log-max-size`).
const MIB: u64 = 1024 * 1024;

/// Command-line flags. Every flag can also be set as `EASEGRESS_<FLAG_UPPER_SNAKE>`.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "easegress-server",
    about = "A cloud-native traffic orchestration system (Easegress v2 compatible)",
    disable_version_flag = true
)]
pub struct Cli {
    /// Print the version and exit.
    #[arg(short = 'v', long)]
    pub version: bool,
    /// Print the final configuration and exit.
    #[arg(short = 'c', long = "print-config")]
    pub print_config: bool,
    /// Load options from a YAML file (keys are the flag names).
    #[arg(short = 'f', long = "config-file", env = "EASEGRESS_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,
    /// Human-readable name of this member.
    #[arg(long, env = "EASEGRESS_NAME", default_value = "eg-default-name")]
    pub name: String,
    /// Labels of this member, key=value pairs separated by commas.
    #[arg(long, env = "EASEGRESS_LABELS", value_delimiter = ',')]
    pub labels: Vec<String>,
    /// Name of the cluster this member belongs to.
    #[arg(
        long = "cluster-name",
        env = "EASEGRESS_CLUSTER_NAME",
        default_value = "eg-cluster-default-name"
    )]
    pub cluster_name: String,
    /// Cluster role: primary or secondary.
    #[arg(
        long = "cluster-role",
        env = "EASEGRESS_CLUSTER_ROLE",
        default_value = "primary"
    )]
    pub cluster_role: String,
    /// Timeout of requests to the cluster store.
    #[arg(
        long = "cluster-request-timeout",
        env = "EASEGRESS_CLUSTER_REQUEST_TIMEOUT",
        default_value = "10s"
    )]
    pub cluster_request_timeout: String,
    /// URLs to listen on for cluster client traffic (etcd client URLs).
    #[arg(
        long = "listen-client-urls",
        env = "EASEGRESS_LISTEN_CLIENT_URLS",
        value_delimiter = ',',
        default_value = "http://localhost:2379"
    )]
    pub listen_client_urls: Vec<String>,
    /// Client URLs advertised to the rest of the cluster.
    #[arg(
        long = "advertise-client-urls",
        env = "EASEGRESS_ADVERTISE_CLIENT_URLS",
        value_delimiter = ',',
        default_value = "http://localhost:2379"
    )]
    pub advertise_client_urls: Vec<String>,
    /// URLs to listen on for cluster peer traffic.
    #[arg(
        long = "listen-peer-urls",
        env = "EASEGRESS_LISTEN_PEER_URLS",
        value_delimiter = ',',
        default_value = "http://localhost:2380"
    )]
    pub listen_peer_urls: Vec<String>,
    /// Peer URLs advertised to the rest of the cluster.
    #[arg(
        long = "initial-advertise-peer-urls",
        env = "EASEGRESS_INITIAL_ADVERTISE_PEER_URLS",
        value_delimiter = ',',
        default_value = "http://localhost:2380"
    )]
    pub initial_advertise_peer_urls: Vec<String>,
    /// Initial cluster members, name=peer-url pairs separated by commas.
    #[arg(
        long = "initial-cluster",
        env = "EASEGRESS_INITIAL_CLUSTER",
        value_delimiter = ','
    )]
    pub initial_cluster: Vec<String>,
    /// Cluster state at start: new or existing.
    #[arg(
        long = "state-flag",
        env = "EASEGRESS_STATE_FLAG",
        default_value = "new"
    )]
    pub state_flag: String,
    /// Peer URLs of the primary members (for secondary members).
    #[arg(
        long = "primary-listen-peer-urls",
        env = "EASEGRESS_PRIMARY_LISTEN_PEER_URLS",
        value_delimiter = ',',
        default_value = "http://localhost:2380"
    )]
    pub primary_listen_peer_urls: Vec<String>,
    /// Largest message sent to the cluster store, in bytes.
    #[arg(long = "max-call-send-msg-size", env = "EASEGRESS_MAX_CALL_SEND_MSG_SIZE", default_value_t = 10 * 1024 * 1024)]
    pub max_call_send_msg_size: u64,
    /// Force a new one-member cluster from the existing data.
    #[arg(long = "force-new-cluster", env = "EASEGRESS_FORCE_NEW_CLUSTER")]
    pub force_new_cluster: bool,
    /// Use an external etcd as the cluster store.
    #[arg(long = "use-standalone-etcd", env = "EASEGRESS_USE_STANDALONE_ETCD")]
    pub use_standalone_etcd: bool,
    /// The etcd binary a primary member runs (default: `etcd` on PATH, Debian package
    /// `etcd-server`). An easegress-rs addition: Easegress embeds etcd.
    #[arg(long = "etcd-binary", env = "EASEGRESS_ETCD_BINARY")]
    pub etcd_binary: Option<PathBuf>,
    /// One more flag for the etcd a primary runs, e.g.
    /// `--etcd-arg=--heartbeat-interval=250` (repeatable). An easegress-rs addition.
    #[arg(
        long = "etcd-arg",
        env = "EASEGRESS_ETCD_ARGS",
        value_delimiter = ' ',
        allow_hyphen_values = true
    )]
    pub etcd_args: Vec<String>,
    /// Address of the admin API.
    #[arg(
        long = "api-addr",
        env = "EASEGRESS_API_ADDR",
        default_value = "localhost:2381"
    )]
    pub api_addr: String,
    /// Most admin API connections served at once; further clients wait until one closes.
    #[arg(
        long = "api-max-connections",
        env = "EASEGRESS_API_MAX_CONNECTIONS",
        default_value_t = eg_api::DEFAULT_MAX_CONNECTIONS
    )]
    pub api_max_connections: usize,
    /// Time from accepting an admin API connection to a complete request header (TLS
    /// handshake included); also bounds every later request header.
    #[arg(
        long = "api-read-header-timeout",
        env = "EASEGRESS_API_READ_HEADER_TIMEOUT",
        default_value = "10s"
    )]
    pub api_read_header_timeout: String,
    /// Time allowed to read an admin API request body.
    #[arg(
        long = "api-read-timeout",
        env = "EASEGRESS_API_READ_TIMEOUT",
        default_value = "60s"
    )]
    pub api_read_timeout: String,
    /// An admin API connection with no request in progress and no traffic for this long is closed.
    #[arg(
        long = "api-idle-timeout",
        env = "EASEGRESS_API_IDLE_TIMEOUT",
        default_value = "120s"
    )]
    pub api_idle_timeout: String,
    /// Largest object spec, in bytes, that the admin API accepts (413 above).
    #[arg(
        long = "api-max-object-size",
        env = "EASEGRESS_API_MAX_OBJECT_SIZE",
        default_value_t = eg_api::DEFAULT_MAX_OBJECT_SIZE as u64
    )]
    pub api_max_object_size: u64,
    /// Host names the admin API answers to without basic auth, besides IP addresses,
    /// localhost, the host of --api-addr and this machine's name; comma-separated, * = any.
    #[arg(
        long = "api-allowed-hosts",
        env = "EASEGRESS_API_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub api_allowed_hosts: Vec<String>,
    /// Web origins (scheme://host[:port], comma-separated, * = any) allowed to call the admin
    /// API from a browser.
    #[arg(
        long = "api-cors-allowed-origins",
        env = "EASEGRESS_API_CORS_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub api_cors_allowed_origins: Vec<String>,
    /// Admin API basic-auth users, user:password pairs separated by commas (replaces the
    /// config file's basic-auth map).
    #[arg(
        long = "basic-auth",
        env = "EASEGRESS_BASIC_AUTH",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub basic_auth: Vec<String>,
    /// Serve the admin API over HTTPS (needs --cert-file and --key-file).
    #[arg(long, env = "EASEGRESS_TLS")]
    pub tls: bool,
    /// Certificate (PEM) of the admin API.
    #[arg(long = "cert-file", env = "EASEGRESS_CERT_FILE")]
    pub cert_file: Option<PathBuf>,
    /// Private key (PEM) of the admin API.
    #[arg(long = "key-file", env = "EASEGRESS_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Worker threads of the runtime (default: one per CPU core; 1: one event loop on the
    /// main thread). An easegress-rs addition.
    #[arg(long = "worker-threads", env = "EASEGRESS_WORKER_THREADS")]
    pub worker_threads: Option<usize>,
    /// Log at debug level.
    #[arg(long, env = "EASEGRESS_DEBUG")]
    pub debug: bool,
    /// Format of the server log: `text` (Easegress's) or `json` (one object per line, for
    /// log pipelines). An easegress-rs addition.
    #[arg(
        long = "log-format",
        env = "EASEGRESS_LOG_FORMAT",
        default_value = "text",
        value_parser = ["text", "json"]
    )]
    pub log_format: String,
    /// Disable the access logs.
    #[arg(long = "disable-access", env = "EASEGRESS_DISABLE_ACCESS")]
    pub disable_access: bool,
    /// Rotate the access log when it reaches this many MiB (0: only on SIGHUP).
    #[arg(
        long = "access-log-max-size",
        env = "EASEGRESS_ACCESS_LOG_MAX_SIZE",
        default_value_t = 0
    )]
    pub access_log_max_size: u64,
    /// Rotated access logs kept (`filter_http_access.log.1` … `.N`).
    #[arg(
        long = "access-log-max-backups",
        env = "EASEGRESS_ACCESS_LOG_MAX_BACKUPS",
        default_value_t = DEFAULT_ACCESS_LOG_MAX_BACKUPS
    )]
    pub access_log_max_backups: u32,
    /// Object spec files (one object each) created at start when absent, separated by commas.
    #[arg(
        long = "initial-object-config-files",
        env = "EASEGRESS_INITIAL_OBJECT_CONFIG_FILES",
        value_delimiter = ','
    )]
    pub initial_object_config_files: Vec<PathBuf>,
    /// Interval of the full resync of objects from the store.
    #[arg(
        long = "objects-dump-interval",
        env = "EASEGRESS_OBJECTS_DUMP_INTERVAL",
        default_value = "1h"
    )]
    pub objects_dump_interval: String,
    /// Home directory (holds the pidfile; base of relative directories).
    #[arg(long = "home-dir", env = "EASEGRESS_HOME_DIR", default_value = "./")]
    pub home_dir: PathBuf,
    /// Data directory (the embedded store).
    #[arg(long = "data-dir", env = "EASEGRESS_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Write-ahead-log directory of the cluster store.
    #[arg(long = "wal-dir", env = "EASEGRESS_WAL_DIR")]
    pub wal_dir: Option<PathBuf>,
    /// Log directory; empty logs to stdout.
    #[arg(long = "log-dir", env = "EASEGRESS_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// CPU profile (pprof) taken from start-up and written to this file at a graceful stop.
    #[arg(long = "cpu-profile-file", env = "EASEGRESS_CPU_PROFILE_FILE")]
    pub cpu_profile_file: Option<String>,
    /// Heap profile (pprof) sampled from start-up and written to this file at a graceful stop.
    #[arg(long = "memory-profile-file", env = "EASEGRESS_MEMORY_PROFILE_FILE")]
    pub memory_profile_file: Option<String>,
    /// Largest batch of status updates sent to the cluster store.
    #[arg(
        long = "status-update-max-batch-size",
        env = "EASEGRESS_STATUS_UPDATE_MAX_BATCH_SIZE",
        default_value_t = 20
    )]
    pub status_update_max_batch_size: u32,
    /// Send SIGUSR2 to the running server (pidfile in --home-dir) and exit.
    #[arg(long = "signal-upgrade", env = "EASEGRESS_SIGNAL_UPGRADE")]
    pub signal_upgrade: bool,
}

impl Cli {
    /// The access-log rotation the flags ask for.
    pub fn access_log_rotation(&self) -> eg_objects::httpserver::Rotation {
        eg_objects::httpserver::Rotation {
            max_bytes: self.access_log_max_size.saturating_mul(MIB),
            max_backups: self.access_log_max_backups,
        }
    }
}

/// The `--config-file` YAML: keys are flag names; cluster URLs may sit under `cluster:`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileConfig {
    name: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    cluster_name: Option<String>,
    cluster_role: Option<String>,
    cluster_request_timeout: Option<String>,
    cluster: Option<FileCluster>,
    listen_client_urls: Option<StringList>,
    advertise_client_urls: Option<StringList>,
    listen_peer_urls: Option<StringList>,
    initial_advertise_peer_urls: Option<StringList>,
    initial_cluster: Option<InitialCluster>,
    use_standalone_etcd: Option<bool>,
    etcd_binary: Option<PathBuf>,
    etcd_args: Option<StringList>,
    api_addr: Option<String>,
    tls: Option<bool>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_ca_file: Option<PathBuf>,
    basic_auth: Option<BTreeMap<String, String>>,
    api_max_connections: Option<usize>,
    api_read_header_timeout: Option<String>,
    api_read_timeout: Option<String>,
    api_idle_timeout: Option<String>,
    api_max_object_size: Option<u64>,
    api_allowed_hosts: Option<StringList>,
    api_cors_allowed_origins: Option<StringList>,
    debug: Option<bool>,
    log_format: Option<String>,
    disable_access_log: Option<bool>,
    access_log_max_size: Option<u64>,
    access_log_max_backups: Option<u32>,
    initial_object_config_files: Option<StringList>,
    home_dir: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    wal_dir: Option<PathBuf>,
    log_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileCluster {
    listen_client_urls: Option<StringList>,
    advertise_client_urls: Option<StringList>,
    listen_peer_urls: Option<StringList>,
    initial_advertise_peer_urls: Option<StringList>,
    initial_cluster: Option<InitialCluster>,
    state_flag: Option<String>,
    primary_listen_peer_urls: Option<StringList>,
}

/// A list written as a YAML list or as one comma-separated string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StringList {
    List(Vec<String>),
    One(String),
}

impl StringList {
    fn into_vec(self) -> Vec<String> {
        match self {
            StringList::List(v) => v,
            StringList::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        }
    }
}

/// `initial-cluster` as a map, a list of single-key maps (as the docs write it) or a string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum InitialCluster {
    Map(BTreeMap<String, String>),
    List(Vec<BTreeMap<String, String>>),
    One(String),
}

impl InitialCluster {
    fn into_pairs(self) -> Vec<String> {
        match self {
            InitialCluster::Map(m) => m.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
            InitialCluster::List(l) => l
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            InitialCluster::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        }
    }
}

/// The final options of this process.
#[derive(Debug, Clone)]
pub struct Options {
    /// The parsed flags (after merging).
    pub cli: Cli,
    /// `--cluster-role`, checked.
    pub cluster_role: ClusterRole,
    /// Member labels.
    pub labels: BTreeMap<String, String>,
    /// Admin API basic-auth users (`--basic-auth`, else the config file's map).
    pub basic_auth: BTreeMap<String, String>,
    /// `--api-read-header-timeout`.
    pub api_read_header_timeout: Duration,
    /// `--api-read-timeout`.
    pub api_read_timeout: Duration,
    /// `--api-idle-timeout`.
    pub api_idle_timeout: Duration,
    /// Admin API client CA (config file only).
    pub client_ca_file: Option<PathBuf>,
    /// Absolute home directory.
    pub abs_home_dir: PathBuf,
    /// Absolute data directory.
    pub abs_data_dir: PathBuf,
    /// Absolute log directory, `None` to log to stdout.
    pub abs_log_dir: Option<PathBuf>,
    /// Absolute WAL directory, when set.
    pub abs_wal_dir: Option<PathBuf>,
}

fn explicit(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine) | Some(ValueSource::EnvVariable)
    )
}

fn absolute(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

impl Options {
    /// Parses the process arguments and environment (and the config file they name).
    pub fn parse_from<I, T>(args: I) -> Result<Options, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Cli::command()
            .try_get_matches_from(args)
            .map_err(|e| e.render().to_string())?;
        Self::from_matches(&matches)
    }

    /// Builds the options from parsed flags (reading the config file they name).
    pub fn from_matches(matches: &ArgMatches) -> Result<Options, String> {
        let matches = matches.clone();
        let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
        let mut labels = BTreeMap::new();
        let mut basic_auth = BTreeMap::new();
        let mut client_ca_file = None;
        if let Some(path) = cli.config_file.clone() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("config-file {}: {e}", path.display()))?;
            let file: FileConfig = serde_saphyr::from_str(&text)
                .map_err(|e| format!("config-file {}: {e}", path.display()))?;
            merge_file(
                &matches,
                &mut cli,
                &mut labels,
                file,
                &mut basic_auth,
                &mut client_ca_file,
            );
        }
        if explicit(&matches, "basic_auth") {
            let users = parse_basic_auth(&cli.basic_auth)?;
            // An empty value (say, an unset secret in a template) must not turn auth off.
            if !users.is_empty() {
                basic_auth = users;
            }
        }
        for l in &cli.labels {
            let (k, v) = l
                .split_once('=')
                .ok_or_else(|| format!("labels: {l:?} is not key=value"))?;
            labels.insert(k.trim().to_string(), v.trim().to_string());
        }
        let cwd = std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?;
        let abs_home_dir = absolute(&cwd, &cli.home_dir);
        let abs_data_dir = absolute(&abs_home_dir, &cli.data_dir);
        let dir = |p: &Option<PathBuf>| {
            p.as_ref()
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| absolute(&abs_home_dir, p))
        };
        let abs_log_dir = dir(&cli.log_dir);
        let abs_wal_dir = dir(&cli.wal_dir);
        let api_read_header_timeout =
            positive_duration("api-read-header-timeout", &cli.api_read_header_timeout)?;
        let api_read_timeout = positive_duration("api-read-timeout", &cli.api_read_timeout)?;
        let api_idle_timeout = positive_duration("api-idle-timeout", &cli.api_idle_timeout)?;
        let mut cluster_role = cli.cluster_role.parse::<ClusterRole>()?;
        if cli.use_standalone_etcd {
            // As Easegress: members of an external etcd are all its clients.
            cluster_role = ClusterRole::Secondary;
        }
        let opts = Options {
            cli,
            cluster_role,
            labels,
            basic_auth,
            api_read_header_timeout,
            api_read_timeout,
            api_idle_timeout,
            client_ca_file,
            abs_home_dir,
            abs_data_dir,
            abs_log_dir,
            abs_wal_dir,
        };
        opts.validate()?;
        Ok(opts)
    }

    fn validate(&self) -> Result<(), String> {
        let c = &self.cli;
        eg_spec::meta::validate_name(&c.name, "name").map_err(|e| format!("invalid name: {e}"))?;
        match c.state_flag.as_str() {
            "new" | "existing" => {}
            other => {
                return Err(format!(
                    "invalid state-flag {other:?}: supported values are new/existing"
                ))
            }
        }
        if c.cluster_name.is_empty() {
            return Err("cluster-name is required".into());
        }
        if c.api_addr.is_empty() {
            return Err("api-addr is required".into());
        }
        if c.tls && (c.cert_file.is_none() || c.key_file.is_none()) {
            return Err("tls needs both cert-file and key-file".into());
        }
        for s in &c.initial_cluster {
            if !s.contains('=') {
                return Err(format!("initial-cluster: {s:?} is not name=peer-url"));
            }
        }
        if !matches!(c.log_format.as_str(), "text" | "json") {
            return Err(format!(
                "invalid log-format {:?}: supported formats are text/json",
                c.log_format
            ));
        }
        if c.api_max_connections == 0 {
            return Err("api-max-connections must be at least 1".into());
        }
        if c.api_max_object_size == 0 || usize::try_from(c.api_max_object_size).is_err() {
            return Err(format!(
                "invalid api-max-object-size {}: must be a positive number of bytes",
                c.api_max_object_size
            ));
        }
        eg_api::check_origins(&c.api_cors_allowed_origins)?;
        Ok(())
    }

    /// The options as Easegress reports them under `/status/members` (and prints with
    /// `--print-config`).
    pub fn member_options(&self) -> MemberOptions {
        let c = &self.cli;
        let initial_cluster: BTreeMap<String, String> = c
            .initial_cluster
            .iter()
            .filter_map(|s| {
                s.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        MemberOptions {
            name: c.name.clone(),
            labels: self.labels.clone(),
            cluster_name: c.cluster_name.clone(),
            cluster_role: self.cluster_role,
            cluster_request_timeout: c.cluster_request_timeout.clone(),
            cluster: ClusterOptions {
                listen_peer_urls: c.listen_peer_urls.clone(),
                listen_client_urls: c.listen_client_urls.clone(),
                advertise_client_urls: c.advertise_client_urls.clone(),
                initial_advertise_peer_urls: c.initial_advertise_peer_urls.clone(),
                initial_cluster,
                state_flag: c.state_flag.clone(),
                primary_listen_peer_urls: c.primary_listen_peer_urls.clone(),
                max_call_send_msg_size: c.max_call_send_msg_size,
            },
            force_new_cluster: c.force_new_cluster,
            use_standalone_etcd: c.use_standalone_etcd,
            api_addr: c.api_addr.clone(),
            tls: c.tls,
            debug: c.debug,
            disable_access_log: c.disable_access,
            initial_object_config_files: c.initial_object_config_files.clone(),
            objects_dump_interval: c.objects_dump_interval.clone(),
            home_dir: c.home_dir.clone(),
            data_dir: c.data_dir.clone(),
            wal_dir: c.wal_dir.clone().unwrap_or_default(),
            log_dir: c.log_dir.clone().unwrap_or_default(),
            status_update_max_batch_size: c.status_update_max_batch_size,
            abs_home_dir: self.abs_home_dir.clone(),
            abs_data_dir: self.abs_data_dir.clone(),
            abs_log_dir: self.abs_log_dir.clone().unwrap_or_default(),
        }
    }
}

pub(crate) fn positive_duration(flag: &str, value: &str) -> Result<Duration, String> {
    match eg_spec::GoDuration::parse(value) {
        Ok(d) if !d.get().is_zero() => Ok(d.get()),
        Ok(_) => Err(format!("invalid {flag} {value:?}: must be more than 0")),
        Err(e) => Err(format!("{flag}: {e}")),
    }
}

/// `--basic-auth user:password,...` as a map. A password may hold `:` but not `,`.
fn parse_basic_auth(entries: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut users = BTreeMap::new();
    for (i, e) in entries.iter().enumerate().filter(|(_, e)| !e.is_empty()) {
        // The entry is not echoed: it may be a password.
        let (user, password) = e
            .split_once(':')
            .filter(|(u, _)| !u.trim().is_empty())
            .ok_or_else(|| format!("basic-auth: entry {} is not user:password", i + 1))?;
        users.insert(user.trim().to_string(), password.to_string());
    }
    Ok(users)
}

fn merge_file(
    m: &ArgMatches,
    cli: &mut Cli,
    labels: &mut BTreeMap<String, String>,
    f: FileConfig,
    basic_auth: &mut BTreeMap<String, String>,
    client_ca_file: &mut Option<PathBuf>,
) {
    macro_rules! take {
        ($id:literal, $field:ident, $value:expr) => {
            if let Some(v) = $value {
                if !explicit(m, $id) {
                    cli.$field = v;
                }
            }
        };
    }
    let cluster = f.cluster.unwrap_or_default();
    take!("name", name, f.name);
    take!("cluster_name", cluster_name, f.cluster_name);
    take!("cluster_role", cluster_role, f.cluster_role);
    take!(
        "cluster_request_timeout",
        cluster_request_timeout,
        f.cluster_request_timeout
    );
    let list = |a: Option<StringList>, b: Option<StringList>| a.or(b).map(StringList::into_vec);
    take!(
        "listen_client_urls",
        listen_client_urls,
        list(f.listen_client_urls, cluster.listen_client_urls)
    );
    take!(
        "advertise_client_urls",
        advertise_client_urls,
        list(f.advertise_client_urls, cluster.advertise_client_urls)
    );
    take!(
        "listen_peer_urls",
        listen_peer_urls,
        list(f.listen_peer_urls, cluster.listen_peer_urls)
    );
    take!(
        "initial_advertise_peer_urls",
        initial_advertise_peer_urls,
        list(
            f.initial_advertise_peer_urls,
            cluster.initial_advertise_peer_urls
        )
    );
    take!(
        "initial_cluster",
        initial_cluster,
        f.initial_cluster
            .or(cluster.initial_cluster)
            .map(InitialCluster::into_pairs)
    );
    take!("state_flag", state_flag, cluster.state_flag);
    take!(
        "primary_listen_peer_urls",
        primary_listen_peer_urls,
        cluster.primary_listen_peer_urls.map(StringList::into_vec)
    );
    take!(
        "use_standalone_etcd",
        use_standalone_etcd,
        f.use_standalone_etcd
    );
    take!("etcd_binary", etcd_binary, f.etcd_binary.map(Some));
    take!(
        "etcd_args",
        etcd_args,
        f.etcd_args.map(StringList::into_vec)
    );
    take!("api_addr", api_addr, f.api_addr);
    take!("tls", tls, f.tls);
    take!("cert_file", cert_file, f.cert_file.map(Some));
    take!("key_file", key_file, f.key_file.map(Some));
    take!(
        "api_max_connections",
        api_max_connections,
        f.api_max_connections
    );
    take!(
        "api_read_header_timeout",
        api_read_header_timeout,
        f.api_read_header_timeout
    );
    take!("api_read_timeout", api_read_timeout, f.api_read_timeout);
    take!("api_idle_timeout", api_idle_timeout, f.api_idle_timeout);
    take!(
        "api_max_object_size",
        api_max_object_size,
        f.api_max_object_size
    );
    take!(
        "api_allowed_hosts",
        api_allowed_hosts,
        f.api_allowed_hosts.map(StringList::into_vec)
    );
    take!(
        "api_cors_allowed_origins",
        api_cors_allowed_origins,
        f.api_cors_allowed_origins.map(StringList::into_vec)
    );
    take!("debug", debug, f.debug);
    take!("log_format", log_format, f.log_format);
    take!("disable_access", disable_access, f.disable_access_log);
    take!(
        "access_log_max_size",
        access_log_max_size,
        f.access_log_max_size
    );
    take!(
        "access_log_max_backups",
        access_log_max_backups,
        f.access_log_max_backups
    );
    take!(
        "initial_object_config_files",
        initial_object_config_files,
        f.initial_object_config_files.map(|l| l
            .into_vec()
            .into_iter()
            .map(PathBuf::from)
            .collect())
    );
    take!("home_dir", home_dir, f.home_dir);
    take!("data_dir", data_dir, f.data_dir);
    take!("wal_dir", wal_dir, f.wal_dir.map(Some));
    take!("log_dir", log_dir, f.log_dir.map(Some));
    if let Some(l) = f.labels {
        labels.extend(l);
    }
    if let Some(a) = f.basic_auth {
        *basic_auth = a;
    }
    *client_ca_file = f.client_ca_file;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse_from(std::iter::once("easegress-server").chain(args.iter().copied()))
    }

    #[test]
    fn access_log_rotation_flags_are_in_mib() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.cli.access_log_rotation().max_bytes, 0);
        let o = parse(&[
            "--access-log-max-size",
            "3",
            "--access-log-max-backups",
            "2",
        ])
        .unwrap();
        let r = o.cli.access_log_rotation();
        assert_eq!((r.max_bytes, r.max_backups), (3 * MIB, 2));
    }

    #[test]
    fn defaults_match_easegress() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.cli.name, "eg-default-name");
        assert_eq!(o.cli.api_addr, "localhost:2381");
        assert_eq!(o.cli.cluster_role, "primary");
        assert!(o.abs_data_dir.ends_with("data"));
        assert!(o.abs_log_dir.is_none());
    }

    #[test]
    fn bad_values_name_the_option() {
        assert!(parse(&["--cluster-role", "bogus"])
            .unwrap_err()
            .contains("cluster-role"));
        assert!(parse(&["--state-flag", "x"])
            .unwrap_err()
            .contains("state-flag"));
        assert!(parse(&["--name", "a b"]).unwrap_err().contains("name"));
        assert!(parse(&["--initial-cluster", "nourl"])
            .unwrap_err()
            .contains("initial-cluster"));
        assert!(parse(&["--labels", "novalue"])
            .unwrap_err()
            .contains("labels"));
        assert!(parse(&["--tls"]).unwrap_err().contains("cert-file"));
    }

    #[test]
    fn config_file_fills_what_flags_leave_unset() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("config.yaml");
        std::fs::write(
            &f,
            "name: from-file\ncluster-name: c1\napi-addr: 127.0.0.1:1\ncluster:\n  listen-peer-urls:\n   - http://127.0.0.1:2\n  initial-cluster:\n   - from-file: http://127.0.0.1:2\nbasic-auth:\n  admin: pw\nlabels:\n  zone: a\n",
        )
        .unwrap();
        let o = parse(&[
            "--config-file",
            f.to_str().unwrap(),
            "--api-addr",
            "127.0.0.1:9",
        ])
        .unwrap();
        assert_eq!(o.cli.name, "from-file");
        assert_eq!(o.cli.cluster_name, "c1");
        assert_eq!(
            o.cli.api_addr, "127.0.0.1:9",
            "an explicit flag wins over the file"
        );
        assert_eq!(o.cli.listen_peer_urls, vec!["http://127.0.0.1:2"]);
        assert_eq!(o.cli.initial_cluster, vec!["from-file=http://127.0.0.1:2"]);
        assert_eq!(o.basic_auth.get("admin").map(String::as_str), Some("pw"));
        assert_eq!(o.labels.get("zone").map(String::as_str), Some("a"));
        let member = o.member_options();
        assert_eq!(member.cluster_name, "c1");
        assert_eq!(member.api_addr, "127.0.0.1:9");
    }

    /// The options as `/status/members` reported them when they were built as loose JSON:
    /// the reference the typed options must reproduce byte for byte.
    fn reported_before(o: &Options) -> serde_json::Value {
        let c = &o.cli;
        let initial: BTreeMap<String, String> = c
            .initial_cluster
            .iter()
            .filter_map(|s| {
                s.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        serde_json::json!({
            "Name": c.name,
            "Labels": o.labels,
            "ClusterName": c.cluster_name,
            "ClusterRole": c.cluster_role,
            "ClusterRequestTimeout": c.cluster_request_timeout,
            "Cluster": {
                "ListenPeerURLs": c.listen_peer_urls,
                "ListenClientURLs": c.listen_client_urls,
                "AdvertiseClientURLs": c.advertise_client_urls,
                "InitialAdvertisePeerURLs": c.initial_advertise_peer_urls,
                "InitialCluster": initial,
                "StateFlag": c.state_flag,
                "PrimaryListenPeerURLs": c.primary_listen_peer_urls,
                "MaxCallSendMsgSize": c.max_call_send_msg_size,
            },
            "ForceNewCluster": c.force_new_cluster,
            "UseStandaloneEtcd": c.use_standalone_etcd,
            "APIAddr": c.api_addr,
            "TLS": c.tls,
            "Debug": c.debug,
            "DisableAccessLog": c.disable_access,
            "InitialObjectConfigFiles": c.initial_object_config_files,
            "ObjectsDumpInterval": c.objects_dump_interval,
            "HomeDir": c.home_dir,
            "DataDir": c.data_dir,
            "WALDir": c.wal_dir.clone().unwrap_or_default(),
            "LogDir": c.log_dir.clone().unwrap_or_default(),
            "StatusUpdateMaxBatchSize": c.status_update_max_batch_size,
            "AbsHomeDir": o.abs_home_dir,
            "AbsDataDir": o.abs_data_dir,
            "AbsLogDir": o.abs_log_dir.clone().unwrap_or_default(),
        })
    }

    #[test]
    fn member_options_report_exactly_what_easegress_reports() {
        let runs: [&[&str]; 3] = [
            &[],
            &[
                "--name",
                "m2",
                "--labels",
                "zone=a,rack=b",
                "--cluster-role",
                "secondary",
                "--initial-cluster",
                "m1=http://127.0.0.1:2380,m2=http://127.0.0.1:2480",
                "--disable-access",
                "--debug",
                "--initial-object-config-files",
                "a.yaml,b.yaml",
                "--log-dir",
                "logs",
                "--wal-dir",
                "wal",
            ],
            &["--tls", "--cert-file", "c.pem", "--key-file", "k.pem"],
        ];
        for args in runs {
            let o = parse(args).unwrap();
            let typed = serde_json::to_string(&o.member_options()).unwrap();
            let before = serde_json::to_string(&reported_before(&o)).unwrap();
            assert_eq!(typed, before, "{args:?}");
        }
        let o = parse(&["--disable-access", "--cluster-role", "secondary"]).unwrap();
        let m = o.member_options();
        assert!(m.disable_access_log);
        assert_eq!(m.cluster_role, ClusterRole::Secondary);
    }

    #[test]
    fn admin_api_limits_have_defaults_and_name_the_flag_when_bad() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.cli.api_max_connections, eg_api::DEFAULT_MAX_CONNECTIONS);
        assert_eq!(
            o.api_read_header_timeout,
            eg_api::DEFAULT_READ_HEADER_TIMEOUT
        );
        assert_eq!(o.api_read_timeout, eg_api::DEFAULT_READ_TIMEOUT);
        assert_eq!(o.api_idle_timeout, eg_api::DEFAULT_IDLE_TIMEOUT);
        assert_eq!(
            o.cli.api_max_object_size,
            eg_api::DEFAULT_MAX_OBJECT_SIZE as u64
        );
        let o = parse(&[
            "--api-read-header-timeout",
            "1.5s",
            "--api-allowed-hosts",
            "a.lan,b.lan",
        ])
        .unwrap();
        assert_eq!(o.api_read_header_timeout, Duration::from_millis(1500));
        assert_eq!(o.cli.api_allowed_hosts, vec!["a.lan", "b.lan"]);
        for (flag, value) in [
            ("--api-read-header-timeout", "0"),
            ("--api-read-timeout", "soon"),
            ("--api-idle-timeout", "1 fortnight"),
            ("--api-max-connections", "0"),
            ("--api-max-object-size", "0"),
            ("--api-cors-allowed-origins", "evil.example"),
        ] {
            let e = parse(&[flag, value]).unwrap_err();
            assert!(e.contains(flag.trim_start_matches('-')), "{flag}: {e}");
        }
    }

    #[test]
    fn basic_auth_flag_wins_over_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("config.yaml");
        std::fs::write(
            &f,
            "basic-auth:\n  admin: from-file\napi-max-connections: 7\n",
        )
        .unwrap();
        let file = f.to_str().unwrap();
        let o = parse(&["--config-file", file]).unwrap();
        assert_eq!(
            o.basic_auth.get("admin").map(String::as_str),
            Some("from-file")
        );
        assert_eq!(o.cli.api_max_connections, 7);
        let o = parse(&["--config-file", file, "--basic-auth", "ops:a:b,dev:c"]).unwrap();
        assert_eq!(o.basic_auth.len(), 2);
        assert_eq!(o.basic_auth.get("ops").map(String::as_str), Some("a:b"));
        assert_eq!(o.basic_auth.get("dev").map(String::as_str), Some("c"));
        let e = parse(&["--basic-auth", "s3cret-without-user"]).unwrap_err();
        assert!(e.contains("basic-auth") && !e.contains("s3cret"), "{e}");
        assert!(parse(&["--basic-auth", ":pw"]).is_err());
    }
}
