//! Cluster mode end to end: real server binaries, each primary with its own etcd, on
//! loopback ephemeral ports. The tests take turns (one cluster at a time): three etcd
//! members per test are enough for two cores.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use eg_testkit::{
    etcd_available, eventually, free_port, http, stable_port, Cluster, Server, START_TIMEOUT,
};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

/// How long a change may take to reach every member in these tests (the goal is well
/// under a second; CI machines are slow and shared).
const CONVERGE: Duration = Duration::from_secs(20);

/// One cluster test at a time.
fn turn() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

fn started(name: &str, n: usize) -> Cluster {
    let mut c = Cluster::primaries(BIN, name, n);
    c.start();
    c
}

fn pipeline(name: &str, body: &str) -> String {
    format!(
        "name: {name}\nkind: Pipeline\nflow:\n  - filter: mock\nfilters:\n  - name: mock\n    kind: Mock\n    rules:\n      - match:\n          pathPrefix: /\n        code: 200\n        body: {body}\n"
    )
}

fn http_server(name: &str, port: u16, backend: &str) -> String {
    format!(
        "name: {name}\nkind: HTTPServer\nport: {port}\nrules:\n  - paths:\n      - pathPrefix: /\n        backend: {backend}\n"
    )
}

fn update(s: &Server, name: &str, yaml: &str) -> eg_testkit::Answer {
    s.api_with(
        "PUT",
        &format!("/objects/{name}"),
        &[("Content-Type", "application/yaml")],
        yaml,
    )
}

/// Updates until the cluster accepts it: right after an etcd member dies, writes may answer
/// 503 until etcd elected a new leader (the election timeout is 2.5 s in these tests).
fn update_eventually(s: &Server, name: &str, yaml: &str) {
    eventually(CONVERGE, || {
        let a = update(s, name, yaml);
        assert!(a.status == 200 || a.status == 503, "{}", a.body);
        (a.status == 200).then_some(())
    });
}

/// The Mock body of pipeline `name` as member `s` stores it.
fn stored_body(s: &Server, name: &str) -> Option<String> {
    let a = s.api("GET", &format!("/objects/{name}"), "");
    (a.status == 200).then(|| {
        a.json()["filters"][0]["rules"][0]["body"]
            .as_str()
            .map(String::from)
    })?
}

/// Whether member `s` itself runs object `name` (its live status, not one read from etcd).
fn runs(s: &Server, name: &str) -> bool {
    let a = s.api("GET", &format!("/status/objects/{name}"), "");
    a.status == 200
        && a.json().as_object().is_some_and(|m| {
            m.keys()
                .any(|k| k.ends_with(&format!("/{name}/{}", s.name)))
        })
}

fn config_version(s: &Server) -> u64 {
    s.api("GET", "/healthz", "")
        .header("X-Config-Version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn members(s: &Server) -> Vec<Value> {
    s.api("GET", "/status/members", "")
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn primaries_form_a_cluster_and_every_member_runs_every_change() {
    if !etcd_available("cluster formation") {
        return;
    }
    let _t = turn();
    let t0 = Instant::now();
    let mut c = started("eg-formation", 3);
    let list = c.wait_members(0, 3);
    eprintln!("3 primaries formed and listed in {:?}", t0.elapsed());
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["options"]["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["m1", "m2", "m3"]);
    let leaders = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["etcd"]["state"] == json!("Leader"))
        .count();
    assert_eq!(leaders, 1, "{list:#}");
    for m in list.as_array().unwrap() {
        assert_eq!(m["options"]["ClusterRole"], json!("primary"));
        assert!(m["lastHeartbeatTime"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
        assert!(m["etcd"]["id"].as_str().is_some_and(|id| !id.is_empty()));
    }

    // An apply on one member runs on all of them, and they agree on the version.
    c.members[0].create(&pipeline("pl-shared", "one"));
    for m in &c.members {
        eventually(CONVERGE, || runs(m, "pl-shared").then_some(()));
        assert_eq!(stored_body(m, "pl-shared").as_deref(), Some("one"));
    }
    let a = update(&c.members[2], "pl-shared", &pipeline("pl-shared", "two"));
    assert_eq!(a.status, 200, "{}", a.body);
    for m in &c.members {
        eventually(CONVERGE, || {
            (stored_body(m, "pl-shared").as_deref() == Some("two")).then_some(())
        });
    }
    let versions: Vec<u64> = c.members.iter().map(config_version).collect();
    assert_eq!(versions, [2, 2, 2]);

    // A secondary joins through the primaries' peer URLs and runs what they run.
    let s = c.add_secondary("s1");
    eventually(CONVERGE, || runs(&c.members[s], "pl-shared").then_some(()));
    let list = c.wait_members(1, 4);
    let s1 = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["options"]["Name"] == json!("s1"))
        .expect("s1 listed");
    assert_eq!(s1["options"]["ClusterRole"], json!("secondary"));
    assert!(s1.get("etcd").is_none(), "a secondary runs no etcd: {s1:#}");
    // ... and can write too.
    c.members[s].create(&pipeline("pl-from-secondary", "s"));
    for m in &c.members {
        eventually(CONVERGE, || runs(m, "pl-from-secondary").then_some(()));
    }

    // Custom data applied on one member is read on another.
    let a = c.members[1].api_with(
        "POST",
        "/customdatakinds",
        &[("Content-Type", "application/json")],
        r#"{"name": "fruit", "idField": "name"}"#,
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let a = c.members[1].api_with(
        "POST",
        "/customdata/fruit",
        &[("Content-Type", "application/json")],
        r#"{"name": "apple", "colour": "red"}"#,
    );
    assert_eq!(a.status, 201, "{}", a.body);
    eventually(CONVERGE, || {
        let a = c.members[2].api("GET", "/customdata/fruit/apple", "");
        (a.status == 200 && a.json()["colour"] == json!("red")).then_some(())
    });

    // Every member's status of an object is visible from any member (written every 5 s).
    let all = eventually(CONVERGE, || {
        let v = c.members[0]
            .api("GET", "/status/objects/pl-shared", "")
            .json();
        (v.as_object()?.len() == 4).then_some(v)
    });
    for m in ["m1", "m2", "m3", "s1"] {
        let key = format!("eg-traffic-default/pl-shared/{m}");
        assert!(all.get(&key).is_some(), "{key} missing in {all:#}");
    }
    // And they are stored where Easegress stores them, under each member's lease.
    let a = http(
        &c.etcd[0].client_url["http://".len()..],
        "POST",
        "/v3/kv/range",
        &[],
        &json!({"key": b64("/status/objects/"), "range_end": b64("/status/objects0"), "keys_only": true})
            .to_string(),
    )
    .unwrap();
    assert!(a
        .body
        .contains(&b64("/status/objects/eg-traffic-default/pl-shared/m2")));
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn concurrent_applies_on_three_members_lose_nothing() {
    if !etcd_available("concurrent applies") {
        return;
    }
    let _t = turn();
    let c = Arc::new(started("eg-concurrent", 3));
    const EACH: usize = 50;
    let ok = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..3)
        .map(|i| {
            let (c, ok) = (Arc::clone(&c), Arc::clone(&ok));
            std::thread::spawn(move || {
                for j in 0..EACH {
                    let name = format!("pl-{i}-{j}");
                    let a = c.members[i].api_with(
                        "POST",
                        "/objects",
                        &[("Content-Type", "application/yaml")],
                        &pipeline(&name, "x"),
                    );
                    assert_eq!(a.status, 201, "{name} on m{}: {}", i + 1, a.body);
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread");
    }
    assert_eq!(ok.load(Ordering::Relaxed), 3 * EACH);
    for m in &c.members {
        eventually(CONVERGE, || {
            let list = m.api("GET", "/objects", "").json();
            (list.as_array()?.len() == 3 * EACH).then_some(())
        });
        // One version step per acknowledged write: none lost, none counted twice.
        eventually(CONVERGE, || {
            (config_version(m) == (3 * EACH) as u64).then_some(())
        });
    }
}

#[test]
fn a_killed_member_rejoins_and_catches_up() {
    if !etcd_available("member rejoin") {
        return;
    }
    let _t = turn();
    let mut c = started("eg-rejoin", 3);
    // Every member listed (its first heartbeat written) before one dies: the check below is
    // that a killed member stays listed, not that it got listed in time.
    c.wait_members(1, 3);
    c.members[0].create(&pipeline("pl-before", "a"));
    eventually(CONVERGE, || runs(&c.members[2], "pl-before").then_some(()));

    // The member process dies; its etcd keeps running (as after a crash of the member
    // alone). The others keep writing.
    c.members[2].kill9();
    c.members[0].create(&pipeline("pl-while-down", "b"));
    assert!(members(&c.members[1])
        .iter()
        .any(|m| m["options"]["Name"] == json!("m3")));
    c.members[2].start();
    eventually(CONVERGE, || {
        runs(&c.members[2], "pl-while-down").then_some(())
    });
    assert!(
        c.members[2].system_log().contains("adopting the etcd"),
        "the restarted member adopts its running etcd"
    );

    // The whole machine dies: member and etcd. Writes still go through the other two.
    c.members[2].kill9();
    c.members[2].signal_etcd("KILL");
    update_eventually(&c.members[1], "pl-before", &pipeline("pl-before", "c"));
    c.members[2].start();
    eventually(CONVERGE, || {
        (stored_body(&c.members[2], "pl-before").as_deref() == Some("c")).then_some(())
    });
    // The copy arrives first; the supervisor then starts what it holds.
    eventually(CONVERGE, || {
        runs(&c.members[2], "pl-while-down").then_some(())
    });
}

#[test]
fn losing_quorum_keeps_traffic_flowing_and_refuses_writes() {
    if !etcd_available("quorum loss") {
        return;
    }
    let _t = turn();
    let c = started("eg-quorum", 3);
    let port = free_port();
    c.members[0].create(&pipeline("pl-gw", "served"));
    c.members[0].create(&http_server("srv-gw", port, "pl-gw"));
    let gw = format!("127.0.0.1:{port}");
    eventually(CONVERGE, || {
        http(&gw, "GET", "/", &[], "")
            .ok()
            .filter(|a| a.status == 200 && a.body == "served")
    });

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (stop, sent, failed, gw) = (stop.clone(), sent.clone(), failed.clone(), gw.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                sent.fetch_add(1, Ordering::Relaxed);
                let ok = http(&gw, "GET", "/", &[], "")
                    .is_ok_and(|a| a.status == 200 && a.body == "served");
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    // Two of three etcd members hang: no quorum.
    c.members[1].signal_etcd("STOP");
    c.members[2].signal_etcd("STOP");
    let t = Instant::now();
    let a = update(&c.members[0], "pl-gw", &pipeline("pl-gw", "never"));
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.json()["message"].as_str().is_some_and(|m| !m.is_empty()));
    eprintln!("write refused after {:?} without quorum", t.elapsed());
    // Reads answer from the member's copy.
    assert_eq!(
        stored_body(&c.members[0], "pl-gw").as_deref(),
        Some("served")
    );
    assert_eq!(c.members[0].api("GET", "/objects", "").status, 200);
    std::thread::sleep(Duration::from_secs(1));

    c.members[1].signal_etcd("CONT");
    c.members[2].signal_etcd("CONT");
    let t = Instant::now();
    eventually(CONVERGE, || {
        (update(&c.members[0], "pl-gw", &pipeline("pl-gw", "served")).status == 200).then_some(())
    });
    eprintln!(
        "writes accepted again {:?} after quorum returned",
        t.elapsed()
    );
    c.members[2].create(&pipeline("pl-after", "z"));
    for m in &c.members {
        eventually(CONVERGE, || runs(m, "pl-after").then_some(()));
    }
    stop.store(true, Ordering::Relaxed);
    load.join().expect("load thread");
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    eprintln!("{sent} gateway requests during the quorum loss, {failed} failed");
    assert!(sent > 10, "the load ran ({sent} requests)");
    assert_eq!(
        failed, 0,
        "gateway requests failed while etcd had no quorum"
    );
}

/// The current etcd revision, through a member's client URL.
fn etcd_revision(client_url: &str) -> i64 {
    let a = http(
        &client_url["http://".len()..],
        "POST",
        "/v3/kv/range",
        &[],
        &json!({"key": b64("/config/version")}).to_string(),
    )
    .unwrap();
    a.json()["header"]["revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .expect("a revision")
}

#[test]
fn a_member_that_missed_compacted_revisions_resyncs() {
    if !etcd_available("compaction resync") {
        return;
    }
    let _t = turn();
    let c = started("eg-resync", 3);
    c.members[0].create(&pipeline("pl-r", "v0"));
    eventually(CONVERGE, || runs(&c.members[2], "pl-r").then_some(()));

    // m3 freezes and its etcd dies under it; meanwhile the others change things and etcd
    // compacts the history. When m3 resumes, its watch must start again from a revision
    // that no longer exists.
    let pid = c.members[2].pid().expect("m3 runs");
    let signal = |sig: &str| {
        std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()
            .expect("kill");
    };
    signal("STOP");
    c.members[2].signal_etcd("KILL");
    for i in 1..=20 {
        update_eventually(&c.members[0], "pl-r", &pipeline("pl-r", &format!("v{i}")));
    }
    c.members[1].create(&pipeline("pl-new", "new"));
    let a = c.members[0].api("DELETE", "/objects/pl-new", "");
    assert_eq!(a.status, 200, "{}", a.body);
    let rev = etcd_revision(&c.etcd[0].client_url);
    let a = http(
        &c.etcd[0].client_url["http://".len()..],
        "POST",
        "/v3/kv/compaction",
        &[],
        &json!({"revision": rev.to_string(), "physical": true}).to_string(),
    )
    .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let t = Instant::now();
    signal("CONT");
    eventually(CONVERGE, || {
        (stored_body(&c.members[2], "pl-r").as_deref() == Some("v20")).then_some(())
    });
    eprintln!("m3 caught up {:?} after it resumed", t.elapsed());
    eventually(CONVERGE, || {
        (runs(&c.members[2], "pl-r") && !runs(&c.members[2], "pl-new")).then_some(())
    });
    assert!(
        c.members[2].system_log().contains("resynchronised"),
        "m3 re-read the state after the compaction:\n{}",
        c.members[2].system_log()
    );
}

#[test]
fn a_dead_member_is_purged() {
    if !etcd_available("purge") {
        return;
    }
    let _t = turn();
    let mut c = started("eg-purge", 3);
    c.wait_members(0, 3);
    let a = c.members[0].api("DELETE", "/status/members/m1", "");
    assert_eq!(a.status, 400, "a member cannot purge itself: {}", a.body);
    assert_eq!(
        c.members[0]
            .api("DELETE", "/status/members/nobody", "")
            .status,
        404
    );

    c.members[2].kill9();
    c.members[2].signal_etcd("KILL");
    // Still listed (Easegress keeps a dead member until it is purged).
    assert_eq!(members(&c.members[0]).len(), 3);
    eventually(CONVERGE, || {
        let a = c.members[0].api("DELETE", "/status/members/m3", "");
        assert!(a.status == 200 || a.status == 503, "{}", a.body);
        (a.status == 200).then_some(())
    });
    // m2's copy follows the purge m1 made; every view ends with the two members left.
    for m in &c.members[..2] {
        eventually(CONVERGE, || {
            let names: Vec<String> = members(m)
                .iter()
                .filter_map(|m| m["options"]["Name"].as_str().map(String::from))
                .collect();
            (names == ["m1", "m2"]).then_some(())
        });
    }
    assert_eq!(
        c.members[0].api("DELETE", "/status/members/m3", "").status,
        404
    );
    // etcd forgot it too: the two left are the whole cluster and accept writes.
    let a = http(
        &c.etcd[0].client_url["http://".len()..],
        "POST",
        "/v3/cluster/member/list",
        &[],
        "{}",
    )
    .unwrap();
    assert_eq!(
        a.json()["members"].as_array().map(Vec::len),
        Some(2),
        "{}",
        a.body
    );
    c.members[1].create(&pipeline("pl-after-purge", "p"));
}

#[test]
fn a_member_of_another_cluster_is_refused() {
    if !etcd_available("cluster name") {
        return;
    }
    let _t = turn();
    let c = started("eg-named", 3);
    c.wait_members(0, 3);
    let mut stranger = c.secondary("s-stranger");
    let i = stranger
        .extra
        .iter()
        .position(|a| a == "eg-named")
        .expect("cluster name flag");
    stranger.extra[i] = "some-other-cluster".into();
    stranger.spawn_only();
    assert_eq!(stranger.wait_exit(START_TIMEOUT), Some(1));
    let log = stranger.system_log();
    assert!(
        log.contains("cluster name mismatch") && log.contains("eg-named"),
        "{log}"
    );
    // Nothing of it was registered.
    assert_eq!(members(&c.members[0]).len(), 3);
}

#[test]
fn a_member_waits_for_etcd_and_says_it_is_not_ready() {
    let _t = turn();
    // Peer URLs where nothing listens: no etcd needed for this one.
    let mut s = Server::new(BIN, "s-waiting");
    s.extra = vec![
        "--cluster-role".into(),
        "secondary".into(),
        "--cluster-request-timeout".into(),
        "1s".into(),
        "--primary-listen-peer-urls".into(),
        format!("http://127.0.0.1:{}", free_port()),
    ];
    s.spawn_only();
    let a = eventually(START_TIMEOUT, || {
        http(&s.api_addr(), "GET", "/apis/v2/healthz", &[], "")
            .ok()
            .filter(|a| a.status == 503)
    });
    assert!(a.body.contains("waiting for etcd"), "{}", a.body);
    let a = s.api_with(
        "POST",
        "/objects",
        &[("Content-Type", "application/yaml")],
        &pipeline("pl-x", "x"),
    );
    assert_eq!(a.status, 503, "{}", a.body);
    eventually(START_TIMEOUT, || {
        s.system_log().contains("waiting for etcd").then_some(())
    });
    assert_eq!(s.stop(), Some(0), "it still stops cleanly");
}

#[test]
fn bad_cluster_options_start_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().display().to_string();
    for (args, want) in [
        (
            vec![
                "--initial-cluster",
                "m1=http://127.0.0.1:1,m1=http://127.0.0.1:2",
            ],
            "appears more than once",
        ),
        (
            vec![
                "--initial-cluster",
                "m2=http://127.0.0.1:1,m3=http://127.0.0.1:2",
            ],
            "does not name this member",
        ),
        (
            vec![
                "--cluster-role",
                "secondary",
                "--primary-listen-peer-urls",
                "",
            ],
            "primary-listen-peer-urls",
        ),
    ] {
        let mut all = vec!["--name", "m1", "--home-dir", &home];
        all.extend(args);
        let out = Server::run_once(BIN, &all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{all:?}: {err}");
        assert!(err.contains(want), "{all:?}: {err}");
        assert!(!dir.path().join("data").exists(), "nothing was created");
    }
}

#[test]
fn the_whole_cluster_restarts_with_every_object() {
    if !etcd_available("cluster restart") {
        return;
    }
    let _t = turn();
    let mut c = started("eg-restart", 3);
    for i in 0..5 {
        c.members[i % 3].create(&pipeline(&format!("pl-keep-{i}"), "k"));
    }
    for m in &mut c.members {
        assert_eq!(m.stop(), Some(0), "{} stops cleanly", m.name);
        assert!(m.etcd_pid().is_none(), "{} stopped its etcd", m.name);
    }
    c.start();
    for m in &c.members {
        for i in 0..5 {
            eventually(CONVERGE, || runs(m, &format!("pl-keep-{i}")).then_some(()));
        }
        assert_eq!(config_version(m), 5);
    }
}

/// An etcd started by the test (a cluster run outside easegress-rs); killed when dropped.
struct ExternalEtcd {
    child: std::process::Child,
    client_url: String,
    _dir: tempfile::TempDir,
}

impl ExternalEtcd {
    fn start() -> ExternalEtcd {
        let dir = tempfile::tempdir().unwrap();
        let (client, peer) = (stable_port(), stable_port());
        let client_url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = std::process::Command::new("etcd")
            .args(["--name", "ext", "--data-dir"])
            .arg(dir.path().join("etcd"))
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .args(["--initial-cluster", &format!("ext={peer_url}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start etcd");
        let e = ExternalEtcd {
            child,
            client_url,
            _dir: dir,
        };
        eventually(START_TIMEOUT, || {
            http(&e.client_url["http://".len()..], "GET", "/health", &[], "")
                .ok()
                .filter(|a| a.status == 200 && a.body.contains("true"))
        });
        e
    }
}

impl Drop for ExternalEtcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn members_of_an_external_etcd_share_objects() {
    if !etcd_available("external etcd") {
        return;
    }
    let _t = turn();
    let etcd = ExternalEtcd::start();
    let mut servers: Vec<Server> = ["e1", "e2"]
        .iter()
        .map(|name| {
            let mut s = Server::new(BIN, name);
            s.extra = vec![
                "--cluster-name".into(),
                "eg-external".into(),
                "--use-standalone-etcd".into(),
                "--primary-listen-peer-urls".into(),
                etcd.client_url.clone(),
            ];
            s
        })
        .collect();
    for m in &mut servers {
        m.start();
    }
    servers[0].create(&pipeline("pl-ext", "ext"));
    eventually(CONVERGE, || runs(&servers[1], "pl-ext").then_some(()));
    let list = eventually(CONVERGE, || {
        let l = members(&servers[1]);
        (l.len() == 2).then_some(l)
    });
    for m in &list {
        assert_eq!(m["options"]["ClusterRole"], json!("secondary"), "{m:#}");
        assert_eq!(m["options"]["UseStandaloneEtcd"], json!(true));
    }
    // The first member registered the cluster name in the external etcd.
    let a = http(
        &etcd.client_url["http://".len()..],
        "POST",
        "/v3/kv/range",
        &[],
        &json!({"key": b64("/eg/cluster/name")}).to_string(),
    )
    .unwrap();
    assert_eq!(
        a.json()["kvs"][0]["value"],
        json!(b64("eg-external")),
        "{}",
        a.body
    );
}
