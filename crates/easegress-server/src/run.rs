//! Start-up, the main loop and graceful stop.

use std::path::Path;
use std::sync::Arc;

use clap::CommandFactory;
use eg_api::{Api, ApiConfig, LogControl};
use eg_store::{RedbStore, Store};
use eg_supervisor::{MemberInfo, Supervisor};

use crate::cluster::{ClusterMember, StorePlan};
use crate::logging::{self, Logging};
use crate::options::{Cli, Options};
use crate::registry::Registry;
use crate::VERSION;

/// File name of the pidfile inside `--home-dir`.
pub const PID_FILE: &str = "easegress.pid";
/// Exit code when a second stop signal forces an immediate exit.
const EXIT_FORCED: i32 = 255;

/// Runs `easegress-server` with the kinds of `registry`; returns the process exit code.
pub fn main_with(registry: Registry) -> i32 {
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    if matches.get_flag("version") {
        println!("{VERSION}");
        return 0;
    }
    let opts = match Options::from_matches(&matches) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("easegress-server: {e}");
            return 1;
        }
    };
    if opts.cli.print_config {
        return match serde_json::to_value(opts.member_options()) {
            Ok(v) => {
                print!("{}", eg_spec::to_yaml(&v));
                0
            }
            Err(e) => {
                eprintln!("easegress-server: cannot print the options: {e}");
                1
            }
        };
    }
    if opts.cli.signal_upgrade {
        eprintln!("easegress-server: graceful binary upgrade is not supported yet; restart the server instead");
        return 1;
    }
    let logging = match logging::init(opts.abs_log_dir.as_deref(), opts.cli.debug) {
        Ok(l) => Arc::new(l),
        Err(e) => {
            eprintln!("easegress-server: {e}");
            return 1;
        }
    };
    match crate::rlimit::raise_nofile_limit() {
        Ok((soft, hard)) => {
            let show =
                |l: Option<u64>| l.map_or_else(|| "unlimited".to_string(), |n| n.to_string());
            tracing::info!(soft = %show(soft), hard = %show(hard), "open files limit")
        }
        Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all().thread_name("eg-worker");
    if let Some(n) = opts.cli.worker_threads {
        rt.worker_threads(n.max(1));
    }
    let rt = match rt.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("easegress-server: cannot start the runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(run(opts, registry, logging)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("easegress-server: {e}");
            1
        }
    }
}

fn write_pidfile(home: &Path) -> Result<std::path::PathBuf, String> {
    std::fs::create_dir_all(home).map_err(|e| format!("home-dir {}: {e}", home.display()))?;
    let path = home.join(PID_FILE);
    std::fs::write(&path, format!("{}\n", std::process::id()))
        .map_err(|e| format!("cannot write pidfile {}: {e}", path.display()))?;
    Ok(path)
}

async fn run(opts: Options, registry: Registry, logging: Arc<Logging>) -> Result<i32, String> {
    tracing::info!(version = VERSION, name = %opts.cli.name, "easegress-server starting");
    let plan = crate::cluster::plan(&opts)?;
    let pidfile = write_pidfile(&opts.abs_home_dir)?;
    let mut cluster: Option<ClusterMember> = None;
    let store: Arc<dyn Store> = match &plan {
        StorePlan::Embedded => {
            Arc::new(RedbStore::open(&opts.abs_data_dir).map_err(|e| e.to_string())?)
        }
        StorePlan::Cluster(p) => {
            tracing::info!(
                role = %p.role,
                cluster = %opts.cli.cluster_name,
                endpoints = ?p.endpoints,
                "cluster mode: the configuration lives in etcd"
            );
            let m = ClusterMember::start(p)?;
            let store = Arc::clone(&m.store);
            cluster = Some(m);
            store
        }
    };
    let (filters, kinds) = registry.finish();
    let member = MemberInfo::new(opts.member_options());
    let sup = Supervisor::new(kinds, store, member);
    let watcher = sup.start();

    let config = ApiConfig {
        addr: opts.cli.api_addr.clone(),
        cert_file: if opts.cli.tls {
            opts.cli.cert_file.clone()
        } else {
            None
        },
        key_file: if opts.cli.tls {
            opts.cli.key_file.clone()
        } else {
            None
        },
        client_ca_file: if opts.cli.tls {
            opts.client_ca_file.clone()
        } else {
            None
        },
        basic_auth: opts.basic_auth.clone(),
        max_connections: opts.cli.api_max_connections,
        read_header_timeout: opts.api_read_header_timeout,
        read_timeout: opts.api_read_timeout,
        idle_timeout: opts.api_idle_timeout,
        max_object_size: usize::try_from(opts.cli.api_max_object_size).unwrap_or(usize::MAX),
        allowed_hosts: opts.cli.api_allowed_hosts.clone(),
        cors_allowed_origins: opts.cli.api_cors_allowed_origins.clone(),
        write_lock_timeout: match &plan {
            StorePlan::Cluster(p) => p.request_timeout,
            StorePlan::Embedded => eg_api::DEFAULT_WRITE_LOCK_TIMEOUT,
        },
        cluster_mode: matches!(plan, StorePlan::Cluster(_)),
    };
    let (l1, l2) = (logging.clone(), logging.clone());
    let logs = LogControl {
        file: logging.file.clone(),
        get_level: Box::new(move || l1.level()),
        set_level: Box::new(move |lvl| l2.set_level(lvl)),
    };
    let api = Api::new(sup.clone(), filters, config, logs);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let api_task = eg_api::serve(api.clone(), stop_rx).await?;

    let startup = {
        let api = Arc::clone(&api);
        let files = opts.cli.initial_object_config_files.clone();
        async move { create_initial_objects(&api, &files).await }
    };
    let reopen = tokio::spawn(reopen_logs_on_sighup());
    let stop = wait_for_stop_signal();
    tokio::pin!(stop);
    let outcome = match (&mut cluster, &plan) {
        (Some(m), StorePlan::Cluster(p)) => {
            tracing::info!("admin API up; waiting for the cluster store");
            let joined = tokio::select! {
                r = m.ready() => Some(r),
                _ = &mut stop => None,
            };
            match joined {
                Some(Ok(())) => {
                    m.publish_status(&opts, p, &sup);
                    startup.await;
                    tracing::info!("easegress-server ready");
                    stop.await;
                    Ok(0)
                }
                Some(Err(why)) => Err(why),
                None => Ok(0),
            }
        }
        _ => {
            startup.await;
            tracing::info!("easegress-server ready");
            stop.await;
            Ok(0)
        }
    };
    tracing::info!("stopping: closing the admin API and all objects");
    let _ = stop_tx.send(true);
    let forced = tokio::spawn(async {
        wait_for_stop_signal().await;
        eprintln!("easegress-server: second stop signal, exiting at once");
        std::process::exit(EXIT_FORCED);
    });
    let _ = api_task.await;
    watcher.abort();
    reopen.abort();
    sup.shutdown();
    eg_objects::httpserver::flush_access_logs();
    if let Some(m) = cluster {
        m.stop().await;
    }
    forced.abort();
    let _ = std::fs::remove_file(&pidfile);
    tracing::info!("easegress-server stopped");
    outcome
}

/// Creates the `--initial-object-config-files` objects that do not exist yet.
async fn create_initial_objects(api: &Api, files: &[std::path::PathBuf]) {
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(file = %file.display(), error = %e, "cannot read initial object file");
                continue;
            }
        };
        match eg_api::create_initial_object(api, &text).await {
            Ok(true) => tracing::info!(file = %file.display(), "initial object created"),
            Ok(false) => tracing::info!(file = %file.display(), "initial object already exists"),
            Err(e) => {
                tracing::error!(file = %file.display(), error = %e, "initial object rejected")
            }
        }
    }
}

/// SIGHUP makes the access logs reopen their files (for logrotate), as in Easegress.
async fn reopen_logs_on_sighup() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return;
    };
    while hup.recv().await.is_some() {
        tracing::info!("SIGHUP: reopening the access logs");
        eg_objects::httpserver::reopen_access_logs();
    }
}

async fn wait_for_stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
