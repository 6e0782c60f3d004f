//! The supervised etcd child.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eg_cluster::process::{EtcdProcess, EtcdProcessOptions, ProcessError};

fn options(dir: &std::path::Path) -> EtcdProcessOptions {
    let ports = common::free_ports(2);
    let mut o = EtcdProcessOptions::new("m1", &dir.join("data"), &dir.join("log"));
    let client = format!("http://127.0.0.1:{}", ports[0]);
    let peer = format!("http://127.0.0.1:{}", ports[1]);
    o.listen_client_urls = vec![client.clone()];
    o.advertise_client_urls = vec![client];
    o.listen_peer_urls = vec![peer.clone()];
    o.initial_advertise_peer_urls = vec![peer];
    o.cluster_name = "eg-test".into();
    o.extra_args = ["--heartbeat-interval", "250", "--election-timeout", "2500"]
        .map(String::from)
        .to_vec();
    o.ready_timeout = Duration::from_secs(30);
    o.stop_timeout = Duration::from_secs(5);
    o
}

fn alive(pid: u32) -> bool {
    let pid = rustix::process::Pid::from_raw(pid as i32).unwrap();
    rustix::process::test_kill_process(pid).is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervised_etcd_starts_restarts_and_stops() {
    let Some(bin) = common::etcd_binary("supervised_etcd") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path());
    o.binary = Some(bin);
    let pid_file = o.pid_file();
    let t = Instant::now();
    let mut p = EtcdProcess::start(o).await.unwrap();
    eprintln!("supervised etcd healthy after {:?}", t.elapsed());
    let pid = p.pid().unwrap();
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    assert!(dir.path().join("log/etcd_server.log").exists());
    assert!(dir.path().join("data/etcd/member").is_dir());
    // Its own process group.
    let pgid = rustix::process::getpgid(rustix::process::Pid::from_raw(pid as i32)).unwrap();
    assert_eq!(pgid.as_raw_nonzero().get() as u32, pid);

    // kill -9: restarted after the back-off, healthy again, on the same data.
    let t = Instant::now();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while p.restarts() < 1 || p.pid().is_none() {
        assert!(Instant::now() < deadline, "not restarted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(p.wait_healthy(Duration::from_secs(20)).await);
    eprintln!("restarted and healthy {:?} after kill -9", t.elapsed());
    let new_pid = p.pid().unwrap();
    assert_ne!(new_pid, pid);
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        new_pid.to_string()
    );

    let t = Instant::now();
    p.stop();
    eprintln!("stopped in {:?}", t.elapsed());
    assert!(t.elapsed() < Duration::from_secs(5), "SIGTERM was enough");
    assert!(!alive(new_pid));
    assert!(!pid_file.exists());
}

#[tokio::test]
async fn missing_binary_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path());
    o.binary = Some(PathBuf::from("/nonexistent/etcd"));
    let err = EtcdProcess::start(o).await.err().unwrap();
    assert!(matches!(err, ProcessError::BinaryNotFound(_)));
    let msg = err.to_string();
    assert!(
        msg.contains("etcd-server") && msg.contains("/nonexistent/etcd"),
        "{msg}"
    );
}
