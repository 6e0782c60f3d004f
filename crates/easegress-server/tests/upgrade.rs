//! Binary upgrade with the real binary: `--signal-upgrade` replaces the running process by
//! the file now at its path, with the same objects, the same sockets and no failed request;
//! a new binary that does not start leaves the old one serving; a graceful stop answers a
//! request sent on an idle kept-alive connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use eg_testkit::{etcd_available, eventually, free_port, http, Cluster, Server};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");
/// Upper bound of the waits for a process change (drains take about 5 s).
const SWITCH: Duration = Duration::from_secs(90);

/// A server run from a copy of the binary in its own directory, so that the test can put
/// another file at that path.
fn server_from_copy(name: &str) -> (Server, PathBuf) {
    let mut s = Server::new(BIN, name);
    let bin = run_from_copy(&mut s);
    (s, bin)
}

/// Makes `s` run from its own copy of the binary; returns the copy's path.
fn run_from_copy(s: &mut Server) -> PathBuf {
    let bin = s.path("bin/easegress-server");
    std::fs::create_dir_all(s.path("bin")).unwrap();
    std::fs::copy(BIN, &bin).unwrap();
    s.bin = bin.clone();
    bin
}

/// Puts `from` at `bin` the way an operator does: a copy next to it renamed over it (the
/// running file cannot be written).
fn replace_binary(bin: &Path, from: &Path) {
    let tmp = bin.with_extension("new");
    std::fs::copy(from, &tmp).unwrap();
    std::fs::rename(&tmp, bin).unwrap();
}

/// `--signal-upgrade`, run from the build's binary (the one at the server's path may be a
/// broken one on purpose).
fn signal_upgrade(s: &Server) {
    let out = Server::run_once(
        BIN,
        &[
            "--signal-upgrade",
            "--home-dir",
            &s.home().display().to_string(),
        ],
    );
    assert!(
        out.status.success(),
        "--signal-upgrade: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Mock pipeline behind an HTTPServer with keep-alive on a free port; returns its address.
fn create_gateway(s: &Server) -> String {
    let port = free_port();
    let pipeline = "name: pl\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n    body: ok\n";
    assert_eq!(s.api("POST", "/objects", pipeline).status, 201);
    let server = format!(
        "name: hs\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\nkeepAlive: true\nkeepAliveTimeout: 60s\nrules:\n- paths:\n  - pathPrefix: /\n    backend: pl\n"
    );
    assert_eq!(s.api("POST", "/objects", &server).status, 201);
    let gateway = format!("127.0.0.1:{port}");
    eventually(Duration::from_secs(15), || {
        http(&gateway, "GET", "/", &[], "")
            .ok()
            .filter(|a| a.status == 200)
    });
    gateway
}

/// One answer read from a kept-alive connection: status and whether the server closes.
fn read_answer(r: &mut BufReader<TcpStream>) -> std::io::Result<(u16, bool)> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::other("connection closed before an answer"));
    }
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let (mut length, mut close) = (0usize, false);
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap_or((l, ""));
        if k.eq_ignore_ascii_case("content-length") {
            length = v.trim().parse().unwrap_or(0);
        } else if k.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    let mut body = vec![0u8; length];
    r.read_exact(&mut body)?;
    Ok((status, close))
}

fn connect(addr: &str) -> std::io::Result<BufReader<TcpStream>> {
    let s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    Ok(BufReader::new(s))
}

/// Clients that send requests back to back on kept-alive connections, reconnecting when
/// the server says `Connection: close`, and count what succeeded and what failed.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(addr: &str, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let threads = (0..clients)
            .map(|_| {
                let (addr, stop, ok, failures) =
                    (addr.to_string(), stop.clone(), ok.clone(), failures.clone());
                std::thread::spawn(move || {
                    let mut conn: Option<BufReader<TcpStream>> = None;
                    while !stop.load(Ordering::Acquire) {
                        let mut c = match conn.take() {
                            Some(c) => c,
                            None => match connect(&addr) {
                                Ok(c) => c,
                                Err(e) => {
                                    failures.lock().unwrap().push(format!("connect: {e}"));
                                    continue;
                                }
                            },
                        };
                        let sent = c.get_mut().write_all(b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n");
                        match sent.and_then(|()| read_answer(&mut c)) {
                            Ok((200, close)) => {
                                ok.fetch_add(1, Ordering::AcqRel);
                                if !close {
                                    conn = Some(c);
                                }
                            }
                            Ok((status, _)) => {
                                failures.lock().unwrap().push(format!("status {status}"))
                            }
                            Err(e) => failures.lock().unwrap().push(format!("request: {e}")),
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            ok,
            failures,
            threads,
        }
    }

    /// Waits until `more` requests more succeeded.
    fn wait_more(&self, more: u64) {
        let from = self.ok.load(Ordering::Acquire);
        eventually(SWITCH, || {
            (self.ok.load(Ordering::Acquire) >= from + more).then_some(())
        });
    }

    fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads {
            let _ = t.join();
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.ok.load(Ordering::Acquire), failures)
    }
}

#[test]
fn an_upgrade_replaces_the_process_keeps_objects_and_sockets_and_fails_no_request() {
    let (mut s, bin) = server_from_copy("upgrade-ok");
    s.start();
    let gateway = create_gateway(&s);
    let load = Load::start(&gateway, 4);
    load.wait_more(50);
    let mut pid = s.pid().unwrap();
    for round in 0..2 {
        replace_binary(&bin, Path::new(BIN));
        signal_upgrade(&s);
        let new = s.wait_for_successor(pid, SWITCH);
        assert_ne!(new, pid, "round {round}");
        pid = new;
        load.wait_more(50);
        // The admin API answers at the same address, from the new process, with the
        // objects; writes work (the store was handed over).
        let objects = s.api("GET", "/objects", "").body;
        assert!(
            objects.contains("\"hs\"") && objects.contains("\"pl\""),
            "{objects}"
        );
        let extra = format!("name: extra{round}\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n");
        assert_eq!(s.api("POST", "/objects", &extra).status, 201);
    }
    let (ok, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} of {} failed: {failures:?}",
        failures.len(),
        ok + failures.len() as u64
    );
    assert!(ok >= 150, "{ok}");
    let log = s.system_log();
    assert!(log.contains("upgrade: the new process is ready"), "{log}");
}

#[test]
fn a_new_binary_that_does_not_start_leaves_the_old_one_serving() {
    let (mut s, bin) = server_from_copy("upgrade-broken");
    s.start();
    let gateway = create_gateway(&s);
    let pid = s.pid().unwrap();
    let load = Load::start(&gateway, 2);
    load.wait_more(20);

    let broken = s.path("broken.sh");
    std::fs::write(&broken, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(&broken, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    replace_binary(&bin, &broken);
    signal_upgrade(&s);
    eventually(SWITCH, || {
        s.system_log()
            .contains("upgrade failed; this process keeps serving")
            .then_some(())
    });
    assert!(s.system_log().contains("the new process exited"));
    assert_eq!(s.pidfile_pid(), Some(pid));
    assert!(s.exit_status().is_none(), "the old process still runs");
    load.wait_more(20);
    // The store is open again: writes work.
    let extra = "name: extra\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n";
    assert_eq!(s.api("POST", "/objects", extra).status, 201);

    // SIGUSR2 is armed again: with a working binary the upgrade goes through.
    replace_binary(&bin, Path::new(BIN));
    signal_upgrade(&s);
    s.wait_for_successor(pid, SWITCH);
    load.wait_more(20);
    let (ok, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} of {} failed: {failures:?}",
        failures.len(),
        ok + failures.len() as u64
    );
    assert!(s.api("GET", "/objects", "").body.contains("\"extra\""));
}

#[test]
fn a_graceful_stop_answers_a_request_sent_on_an_idle_kept_alive_connection() {
    let mut s = Server::start_new(BIN, "stop-drain");
    let gateway = create_gateway(&s);
    let mut idle = connect(&gateway).unwrap();
    idle.get_mut()
        .write_all(b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        .unwrap();
    assert_eq!(read_answer(&mut idle).unwrap(), (200, false));

    s.signal("TERM");
    // The listener stopped: new connections are refused.
    eventually(Duration::from_secs(30), || {
        TcpStream::connect(&gateway).is_err().then_some(())
    });
    // The kept-alive connection, idle all along, is still served, and told to close.
    idle.get_mut()
        .write_all(b"GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
        .unwrap();
    assert_eq!(read_answer(&mut idle).unwrap(), (200, true));
    assert_eq!(eventually(SWITCH, || s.exit_status()), Some(0));
}

#[test]
fn a_cluster_primary_upgrades_and_its_etcd_keeps_running() {
    if !etcd_available("cluster upgrade") {
        return;
    }
    // Two members: a single one runs on the embedded store, without etcd.
    let mut c = Cluster::primaries(BIN, "eg-upgrade", 2);
    let bin = run_from_copy(&mut c.members[0]);
    c.start();
    // Every member runs every object: only one may hold the gateway's port on this host.
    // The other member's etcd keeps running, so the cluster keeps its quorum.
    c.members[1].kill9();
    let s = &mut c.members[0];
    let gateway = create_gateway(s);
    let etcd = s.etcd_pid().expect("the primary runs its etcd");
    let pid = s.pid().unwrap();
    let load = Load::start(&gateway, 2);
    load.wait_more(20);

    replace_binary(&bin, Path::new(BIN));
    signal_upgrade(s);
    s.wait_for_successor(pid, SWITCH);
    load.wait_more(20);
    // The same etcd, adopted by the new process, which writes to it.
    assert_eq!(s.etcd_pid(), Some(etcd));
    let objects = s.api("GET", "/objects", "").body;
    assert!(objects.contains("\"hs\""), "{objects}");
    let extra = "name: extra\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n";
    assert_eq!(s.api("POST", "/objects", extra).status, 201);
    let (ok, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} of {} failed: {failures:?}",
        failures.len(),
        ok + failures.len() as u64
    );
}

#[test]
fn while_the_new_binary_starts_reads_answer_and_writes_wait_for_the_store() {
    let (mut s, bin) = server_from_copy("upgrade-window");
    s.start();
    let gateway = create_gateway(&s);
    // A new "binary" that never connects: the hand-over stays open until it exits.
    let child_pid = s.path("new.pid");
    let hanging = s.path("hanging.sh");
    std::fs::write(
        &hanging,
        format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 120\n",
            child_pid.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &hanging,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    replace_binary(&bin, &hanging);
    signal_upgrade(&s);
    let pid: u32 = eventually(SWITCH, || {
        std::fs::read_to_string(&child_pid)
            .ok()?
            .trim()
            .parse()
            .ok()
    });
    let extra = "name: extra\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n";
    let refused = eventually(SWITCH, || {
        Some(s.api("POST", "/objects", extra)).filter(|a| a.status == 503)
    });
    assert!(refused.body.contains("upgrading"), "{}", refused.body);
    assert!(s.api("GET", "/objects", "").body.contains("\"hs\""));
    assert_eq!(http(&gateway, "GET", "/", &[], "").unwrap().status, 200);

    // The new process dies: the old one takes the store back.
    let _ = std::process::Command::new("kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .status();
    eventually(SWITCH, || {
        Some(s.api("POST", "/objects", extra)).filter(|a| a.status == 201)
    });
    assert!(s
        .system_log()
        .contains("upgrade failed; this process keeps serving"));
}

#[test]
fn signal_upgrade_without_a_running_server_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = Server::run_once(
        BIN,
        &[
            "--signal-upgrade",
            "--home-dir",
            &dir.path().display().to_string(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("easegress.pid"), "{err}");
}

/// The next sd_notify datagram on `socket` (the server's log when none comes in time).
fn next_notification(socket: &std::os::unix::net::UnixDatagram, s: &Server) -> String {
    let mut buf = [0u8; 512];
    match socket.recv(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) => panic!(
            "no notification ({e}); the server's log:\n{}",
            s.system_log()
        ),
    }
}

#[test]
fn systemd_hears_ready_the_new_main_pid_after_an_upgrade_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(SWITCH)).unwrap();
    let (mut s, bin) = server_from_copy("sd-notify");
    s.env
        .push(("NOTIFY_SOCKET".into(), path.display().to_string()));
    s.start();
    let first = s.pid().unwrap();
    let ready = next_notification(&socket, &s);
    assert!(ready.contains("READY=1"), "{ready}");
    assert!(ready.contains(&format!("MAINPID={first}")), "{ready}");

    replace_binary(&bin, Path::new(BIN));
    signal_upgrade(&s);
    let second = s.wait_for_successor(first, SWITCH);
    let ready = next_notification(&socket, &s);
    assert!(ready.contains("READY=1"), "{ready}");
    assert!(ready.contains(&format!("MAINPID={second}")), "{ready}");

    // The new process is not the test's child: stop it by its pid.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &second.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(next_notification(&socket, &s), "STOPPING=1");
}
