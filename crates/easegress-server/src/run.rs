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
/// Longest wait for the connections of a stopping process to drain (a listener's own
/// drain takes at most its idle grace plus its 30 s drain timeout).
const DRAIN_LIMIT: std::time::Duration = std::time::Duration::from_secs(40);

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
        return match crate::upgrade::signal(&opts.abs_home_dir) {
            Ok(pid) => {
                println!("sent SIGUSR2 to easegress-server (pid {pid}) for a binary upgrade");
                0
            }
            Err(e) => {
                eprintln!("easegress-server: {e}");
                1
            }
        };
    }
    // Resolved now: an upgrade runs whatever file is at this path then.
    let program = match crate::upgrade::program_path() {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("easegress-server: binary upgrade unavailable: {e}");
            None
        }
    };
    let json = opts.cli.log_format == "json";
    let logging = match logging::init(opts.abs_log_dir.as_deref(), opts.cli.debug, json) {
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
    // As Easegress: the flags' profiles run from start-up to a graceful stop; a file that
    // cannot be created stops the start.
    if let Err(e) = eg_profile::global().start_from_flags(
        opts.cli.cpu_profile_file.as_deref(),
        opts.cli.memory_profile_file.as_deref(),
    ) {
        tracing::error!("{e}");
        eprintln!("easegress-server: {e}");
        return 1;
    }
    // One worker thread is an event loop on the main thread, as an NGINX worker is: the
    // multi-threaded scheduler's work stealing, wake-ups of idle workers and per-batch clock
    // reads buy nothing with one worker.
    let threads = worker_threads(opts.cli.worker_threads, || {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    });
    let mut rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    tracing::info!(
        threads,
        "runtime: {}",
        if threads == 1 {
            "one event loop on the main thread"
        } else {
            "one worker thread per CPU, work stealing"
        }
    );
    rt.enable_all()
        .thread_name("eg-worker")
        .on_thread_park(crate::memory::on_thread_park);
    let rt = match rt.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("easegress-server: cannot start the runtime: {e}");
            return 1;
        }
    };
    // Wakes a worker that sleeps holding memory freed after its last collection.
    if let Err(e) = crate::memory::start_waker(rt.handle().clone(), threads) {
        tracing::warn!(error = %e, "memory freed by idle workers stays with them: no thread for the waker");
    }
    let code = match rt.block_on(run(opts, registry, logging, program)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("easegress-server: {e}");
            1
        }
    };
    // Profiles still running (started by flags or the API) are written at exit.
    if let Err(e) = eg_profile::global().stop() {
        tracing::error!(error = %e, "profile not written");
    }
    code
}

/// How many worker threads the runtime runs: `--worker-threads` when given (at least one),
/// else one per CPU this process may use (`cpus`: its CPU affinity and cgroup quota, as
/// `available_parallelism` reads them). A process limited to one CPU gets one event loop,
/// not a work-stealing scheduler with a single worker.
fn worker_threads(flag: Option<usize>, cpus: impl FnOnce() -> usize) -> usize {
    flag.unwrap_or_else(cpus).max(1)
}

fn write_pidfile(home: &Path) -> Result<std::path::PathBuf, String> {
    // Written whole under another name first: `--signal-upgrade` never reads half a pid.
    std::fs::create_dir_all(home).map_err(|e| format!("home-dir {}: {e}", home.display()))?;
    let path = home.join(PID_FILE);
    let tmp = home.join(format!("{PID_FILE}.{}", std::process::id()));
    std::fs::write(&tmp, format!("{}\n", std::process::id()))
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("cannot write pidfile {}: {e}", path.display()))?;
    Ok(path)
}

/// How the main loop ended.
enum Exit {
    /// A stop signal: stop everything.
    Stop,
    /// A new process took over: stop, but leave it the pidfile and etcd.
    Upgraded,
}

async fn run(
    opts: Options,
    registry: Registry,
    logging: Arc<Logging>,
    program: Option<std::path::PathBuf>,
) -> Result<i32, String> {
    // SIGUSR2 would end the process until it is handled.
    let mut usr2 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined2())
        .map_err(|e| format!("cannot handle SIGUSR2: {e}"))?;
    tracing::info!(
        version = VERSION,
        name = %opts.cli.name,
        tls = eg_tls::PROVIDER_NAME,
        "easegress-server starting"
    );
    // Libraries that build a TLS configuration without naming a provider get the server's.
    eg_tls::install_process_default();
    let plan = crate::cluster::plan(&opts)?;
    // Started by an upgrade: the old process's sockets first, before anything binds; the
    // pidfile is still the old process's until this one is ready.
    let predecessor = crate::upgrade::receive()?;
    let pidfile = opts.abs_home_dir.join(PID_FILE);
    if predecessor.is_none() {
        write_pidfile(&opts.abs_home_dir)?;
    }
    let mut cluster: Option<ClusterMember> = None;
    let mut embedded: Option<Arc<RedbStore>> = None;
    let store: Arc<dyn Store> = match &plan {
        StorePlan::Embedded => {
            let s = Arc::new(RedbStore::open(&opts.abs_data_dir).map_err(|e| e.to_string())?);
            embedded = Some(Arc::clone(&s));
            s
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
    eg_objects::httpserver::set_access_log_rotation(opts.cli.access_log_rotation());
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
        let sup = sup.clone();
        let files = opts.cli.initial_object_config_files.clone();
        let home = opts.abs_home_dir.clone();
        async move {
            create_initial_objects(&api, &files).await;
            if let Some(peer) = predecessor {
                crate::upgrade::announce_ready(peer, &sup).await?;
                write_pidfile(&home)?;
            }
            Ok::<(), String>(())
        }
    };
    let upgrader = program.map(|program| crate::upgrade::Upgrader {
        program,
        args: std::env::args_os().skip(1).collect(),
        home: opts.abs_home_dir.clone(),
        store: embedded.clone(),
    });
    let reopen = tokio::spawn(reopen_logs_on_sighup());
    let stop = wait_for_stop_or_upgrade(&mut usr2, upgrader.as_ref());
    tokio::pin!(stop);
    let outcome = match (&mut cluster, &plan) {
        (Some(m), StorePlan::Cluster(p)) => {
            tracing::info!("admin API up; waiting for the cluster store");
            let joined = tokio::select! {
                r = m.ready() => Some(r),
                _ = stop_signal() => None,
            };
            match joined {
                Some(Ok(())) => {
                    m.publish_status(&opts, p, &sup);
                    match startup.await {
                        Ok(()) => {
                            tracing::info!("easegress-server ready");
                            crate::systemd::notify_ready();
                            Ok(stop.await)
                        }
                        Err(why) => Err(why),
                    }
                }
                Some(Err(why)) => Err(why),
                None => Ok(Exit::Stop),
            }
        }
        _ => match startup.await {
            Ok(()) => {
                tracing::info!("easegress-server ready");
                crate::systemd::notify_ready();
                Ok(stop.await)
            }
            Err(why) => Err(why),
        },
    };
    let upgraded = matches!(outcome, Ok(Exit::Upgraded));
    if upgraded {
        tracing::info!("upgraded: the new process serves; stopping accepting and draining");
    } else {
        tracing::info!("stopping: closing the admin API and all objects");
        crate::systemd::notify_stopping();
    }
    let _ = stop_tx.send(true);
    let forced = tokio::spawn(async {
        stop_signal().await;
        eprintln!("easegress-server: second stop signal, exiting at once");
        std::process::exit(EXIT_FORCED);
    });
    watcher.abort();
    reopen.abort();
    // Every listener stops accepting and drains its connections: answers carry
    // `Connection: close`, idle connections are closed after a grace period, requests in
    // flight finish (bounded).
    // The pipelines keep running meanwhile, for the requests still arriving.
    sup.close_gates();
    let _ = api_task.await;
    if !eg_handover::drain::wait_all(DRAIN_LIMIT).await {
        tracing::warn!("connections still open after the drain limit; closing them");
    }
    sup.shutdown();
    eg_objects::httpserver::flush_access_logs();
    if let Some(m) = cluster {
        if upgraded {
            m.detach().await;
        } else {
            m.stop().await;
        }
    }
    forced.abort();
    // After an upgrade (or a failed one, in the new process) the pidfile names another
    // process: only this process's own is removed.
    let own =
        std::fs::read_to_string(&pidfile).is_ok_and(|t| t.trim() == std::process::id().to_string());
    if own && !upgraded {
        let _ = std::fs::remove_file(&pidfile);
    }
    tracing::info!("easegress-server stopped");
    outcome.map(|_| 0)
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

/// Waits for a stop signal; runs a binary upgrade on each SIGUSR2 meanwhile, and returns
/// once one succeeded.
async fn wait_for_stop_or_upgrade(
    usr2: &mut tokio::signal::unix::Signal,
    upgrader: Option<&crate::upgrade::Upgrader>,
) -> Exit {
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return Exit::Stop,
            got = usr2.recv() => {
                if got.is_none() {
                    // No more SIGUSR2 can arrive: only a stop is left to wait for.
                    (&mut stop).await;
                    return Exit::Stop;
                }
                let Some(upgrader) = upgrader else {
                    tracing::error!("SIGUSR2: binary upgrade unavailable (the program path is unknown)");
                    continue;
                };
                tracing::info!(program = %upgrader.program.display(), "SIGUSR2: binary upgrade");
                match upgrader.run().await {
                    Ok(pid) => {
                        tracing::info!(pid, "upgrade: the new process is ready");
                        return Exit::Upgraded;
                    }
                    Err(why) => {
                        tracing::error!(reason = %why, "upgrade failed; this process keeps serving");
                    }
                }
            }
        }
    }
}

async fn stop_signal() {
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

#[cfg(test)]
mod tests {
    use super::worker_threads;

    #[test]
    fn the_flag_wins_and_one_cpu_means_one_event_loop() {
        assert_eq!(worker_threads(Some(3), || 8), 3);
        assert_eq!(worker_threads(Some(0), || 8), 1);
        assert_eq!(worker_threads(None, || 4), 4);
        // Pinned to one CPU (taskset) or a one-CPU quota: the current-thread runtime.
        assert_eq!(worker_threads(None, || 1), 1);
    }
}
