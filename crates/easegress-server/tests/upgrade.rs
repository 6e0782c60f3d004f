//! Binary upgrade with the real binary: `--signal-upgrade` replaces the running process by
//! the file now at its path, with the same objects, the same sockets and no failed request;
//! a new binary that does not start leaves the old one serving; a graceful stop answers a
//! request sent on an idle kept-alive connection; HTTP/2 clients over TLS are sent GOAWAY
//! and move to the new process without a failed request.

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

/// HTTP/2 clients over TLS (ALPN `h2`), each sending requests one after another on one
/// connection and opening a new one when the server ends it with GOAWAY.
mod h2_load {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    use hyper::client::conn::http2::SendRequest;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use rustls::pki_types::{CertificateDer, ServerName};

    /// What the clients counted.
    #[derive(Default)]
    pub struct Counts {
        /// Requests answered 200.
        pub ok: AtomicU64,
        /// Connections opened (one per client at start, then one per GOAWAY).
        pub connections: AtomicU64,
        /// Requests that were sent and failed, with why.
        pub failures: Mutex<Vec<String>>,
    }

    /// The running clients.
    pub struct H2Load {
        pub counts: Arc<Counts>,
        stop: Arc<AtomicBool>,
        rt: tokio::runtime::Runtime,
        tasks: Vec<tokio::task::JoinHandle<()>>,
    }

    async fn connect(
        addr: &str,
        tls: &tokio_rustls::TlsConnector,
    ) -> Result<SendRequest<Empty<Bytes>>, String> {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
        let stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        if alpn.as_deref() != Some(b"h2".as_slice()) {
            return Err(format!("ALPN chose {alpn:?}"));
        }
        let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("h2 handshake: {e}"))?;
        tokio::spawn(conn);
        Ok(sender)
    }

    impl H2Load {
        /// Starts `clients` clients of `addr`, trusting `cert`.
        pub fn start(addr: &str, cert: CertificateDer<'static>, clients: usize) -> H2Load {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            let mut roots = rustls::RootCertStore::empty();
            roots.add(cert).expect("trust the certificate");
            let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec()];
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config));
            let counts = Arc::new(Counts::default());
            let stop = Arc::new(AtomicBool::new(false));
            let tasks = (0..clients)
                .map(|_| {
                    let (addr, tls, counts, stop) =
                        (addr.to_string(), tls.clone(), counts.clone(), stop.clone());
                    rt.spawn(async move {
                        let mut sender: Option<SendRequest<Empty<Bytes>>> = None;
                        while !stop.load(Ordering::Acquire) {
                            let mut s = match sender.take() {
                                Some(s) if !s.is_closed() => s,
                                _ => match connect(&addr, &tls).await {
                                    Ok(s) => {
                                        counts.connections.fetch_add(1, Ordering::AcqRel);
                                        s
                                    }
                                    Err(e) => {
                                        counts.failures.lock().unwrap().push(e);
                                        continue;
                                    }
                                },
                            };
                            // A connection that got GOAWAY takes no new stream: the request
                            // is not sent, and goes on a new connection.
                            if s.ready().await.is_err() {
                                continue;
                            }
                            let req = hyper::Request::get("https://localhost/")
                                .body(Empty::new())
                                .expect("a request");
                            let answer = match s.try_send_request(req).await {
                                Ok(a) => a,
                                Err(mut e) => {
                                    // Not sent at all, or sent on a stream the server's
                                    // GOAWAY says it never processed: safe to send again
                                    // (RFC 9113 §6.8), as any HTTP/2 client does.
                                    if e.take_message().is_none() && !H2Load::unprocessed(e.error())
                                    {
                                        counts
                                            .failures
                                            .lock()
                                            .unwrap()
                                            .push(format!("request: {:?}", e.error()));
                                    }
                                    continue;
                                }
                            };
                            let status = answer.status();
                            match answer.into_body().collect().await {
                                Ok(_) if status == 200 => {
                                    counts.ok.fetch_add(1, Ordering::AcqRel);
                                    sender = Some(s);
                                }
                                Ok(_) => counts
                                    .failures
                                    .lock()
                                    .unwrap()
                                    .push(format!("status {status}")),
                                Err(e) => {
                                    counts.failures.lock().unwrap().push(format!("body: {e}"))
                                }
                            }
                        }
                    })
                })
                .collect();
            H2Load {
                counts,
                stop,
                rt,
                tasks,
            }
        }

        /// Whether a request failed because the server's GOAWAY left its stream unprocessed
        /// (reason NO_ERROR or REFUSED_STREAM), which a client retries.
        fn unprocessed(e: &hyper::Error) -> bool {
            let h2 = std::error::Error::source(e).and_then(|s| s.downcast_ref::<h2::Error>());
            h2.is_some_and(|h| {
                h.is_go_away() && h.is_remote() || h.reason() == Some(h2::Reason::REFUSED_STREAM)
            })
        }

        /// Waits until `more` requests more succeeded.
        pub fn wait_more(&self, more: u64) {
            let from = self.counts.ok.load(Ordering::Acquire);
            eg_testkit::eventually(super::SWITCH, || {
                (self.counts.ok.load(Ordering::Acquire) >= from + more).then_some(())
            });
        }

        /// Stops the clients; returns requests answered, connections opened and failures.
        pub fn finish(self) -> (u64, u64, Vec<String>) {
            self.stop.store(true, Ordering::Release);
            for t in self.tasks {
                let _ = self.rt.block_on(t);
            }
            let c = &self.counts;
            let failures = c.failures.lock().unwrap().clone();
            (
                c.ok.load(Ordering::Acquire),
                c.connections.load(Ordering::Acquire),
                failures,
            )
        }
    }
}

#[test]
fn http2_clients_move_to_the_new_process_without_a_failed_request() {
    use base64::Engine;
    const CLIENTS: usize = 4;
    let (mut s, bin) = server_from_copy("upgrade-h2");
    s.start();
    let cert = eg_testkit::self_signed(&["localhost"]);
    let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
    let port = free_port();
    let pipeline = "name: pl\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n    body: ok\n";
    assert_eq!(s.api("POST", "/objects", pipeline).status, 201);
    let server = format!(
        "name: hs-h2\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\nhttps: true\ncertBase64: {}\nkeyBase64: {}\nrules:\n- paths:\n  - pathPrefix: /\n    backend: pl\n",
        b64(&cert.cert_pem),
        b64(&cert.key_pem)
    );
    assert_eq!(s.api("POST", "/objects", &server).status, 201);
    let gateway = format!("127.0.0.1:{port}");
    eventually(Duration::from_secs(15), || {
        TcpStream::connect(&gateway).ok()
    });
    let load = h2_load::H2Load::start(&gateway, cert.cert_der.clone(), CLIENTS);
    load.wait_more(50);
    let pid = s.pid().unwrap();
    replace_binary(&bin, Path::new(BIN));
    signal_upgrade(&s);
    let new = s.wait_for_successor(pid, SWITCH);
    assert_ne!(new, pid);
    load.wait_more(50);
    // Every client was moved: its first connection ended (GOAWAY from the old process).
    eventually(SWITCH, || {
        (load.counts.connections.load(Ordering::Acquire) >= 2 * CLIENTS as u64).then_some(())
    });
    load.wait_more(20);
    let (ok, connections, failures) = load.finish();
    eprintln!("HTTP/2 through the upgrade: {ok} requests on {connections} connections");
    assert!(
        failures.is_empty(),
        "{} of {} failed: {failures:?}",
        failures.len(),
        ok + failures.len() as u64
    );
    assert!(connections >= 2 * CLIENTS as u64, "{connections}");
    assert!(ok >= 120, "{ok}");
}
