//! Proxy `memoryCache` and `stickySession` end to end: the real binary, answers read off
//! the wire.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eg_testkit::{eventually, free_port, http, Reply, Server, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

#[test]
fn cache_hits_are_framed_and_sessions_stick_through_the_server() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let n = Arc::new(AtomicUsize::new(0));
    let counted = {
        let n = n.clone();
        rt.block_on(Upstream::start(move |_| {
            let k = n.fetch_add(1, Ordering::SeqCst) + 1;
            Reply::text(200, &format!("answer {k}"))
        }))
    };
    let named: Vec<Upstream> = ["a", "b", "c"]
        .into_iter()
        .map(|name| rt.block_on(Upstream::named(name)))
        .collect();
    let s = Server::start_new(BIN, "cache-sticky");
    let cached = format!(
        "name: cached\nkind: Pipeline\nflow:\n- filter: proxy\nfilters:\n- name: proxy\n  kind: Proxy\n\
         \x20 pools:\n  - servers:\n    - url: {}\n    memoryCache:\n      expiration: 1h\n\
         \x20     maxEntryBytes: 1024\n      codes: [200]\n      methods: [GET]\n",
        counted.url()
    );
    let r = s.api("POST", "/objects", &cached);
    assert_eq!(r.status, 201, "{}", r.body);
    let servers: String = named
        .iter()
        .map(|u| format!("    - url: {}\n", u.url()))
        .collect();
    let sticky = format!(
        "name: sticky\nkind: Pipeline\nflow:\n- filter: proxy\nfilters:\n- name: proxy\n  kind: Proxy\n\
         \x20 pools:\n  - servers:\n{servers}    loadBalance:\n      policy: roundRobin\n\
         \x20     stickySession:\n        mode: DurationBased\n        lbCookieName: LB\n"
    );
    let r = s.api("POST", "/objects", &sticky);
    assert_eq!(r.status, 201, "{}", r.body);
    let port = free_port();
    let gw = format!(
        "name: gw\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\nrules:\n- paths:\n\
         \x20 - pathPrefix: /c\n    backend: cached\n  - pathPrefix: /s\n    backend: sticky\n"
    );
    assert_eq!(s.api("POST", "/objects", &gw).status, 201);
    let addr = format!("127.0.0.1:{port}");

    let first = eventually(Duration::from_secs(10), || {
        http(&addr, "GET", "/c", &[], "")
            .ok()
            .filter(|a| a.status == 200)
    });
    assert_eq!(first.body, "answer 1");
    for _ in 0..5 {
        let hit = http(&addr, "GET", "/c?page=2", &[], "").expect("hit");
        assert_eq!((hit.status, hit.body.as_str()), (200, "answer 1"));
        assert_eq!(hit.header("content-length"), Some("8"));
        assert_eq!(hit.header("transfer-encoding"), None);
    }
    assert_eq!(counted.hits(), 1);

    let start = http(&addr, "GET", "/s", &[], "").expect("sticky");
    let cookie = start
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("LB cookie")
        .to_string();
    assert!(cookie.starts_with("LB="), "{cookie}");
    for _ in 0..20 {
        let a = http(&addr, "GET", "/s", &[("Cookie", cookie.as_str())], "").expect("sticky");
        assert_eq!(a.body, start.body);
    }
}
