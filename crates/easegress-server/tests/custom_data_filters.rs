//! Filters that read custom data, end to end: the real binary, its admin API and store.

use std::time::Duration;

use eg_testkit::{eventually, free_port, http, Reply, Server, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

/// HeaderLookup sets a request header from a custom data item, and an item changed through
/// the admin API reaches the next requests (the filter's cache follows the store's watch).
#[test]
fn header_lookup_follows_custom_data_changes() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let up = rt.block_on(Upstream::start(|s| {
        let id = s
            .headers
            .get("user-ext-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        Reply::text(200, &format!("ext-id={id}"))
    }));
    let s = Server::start_new(BIN, "header-lookup");
    assert_eq!(
        s.api("POST", "/customdatakinds", "name: credentials\n")
            .status,
        201
    );
    assert_eq!(
        s.api("POST", "/customdata/credentials", "name: abc\next-id: v1\n")
            .status,
        201
    );
    let pipeline = format!(
        "name: lookup\nkind: Pipeline\nflow:\n- filter: lookup\n- filter: proxy\nfilters:\n\
         - name: lookup\n  kind: HeaderLookup\n  headerKey: X-Org\n  etcdPrefix: credentials/\n\
         \x20 headerSetters:\n  - etcdKey: ext-id\n    headerKey: user-ext-id\n\
         - name: proxy\n  kind: Proxy\n  pools:\n  - servers:\n    - url: {}\n",
        up.url()
    );
    let created = s.api("POST", "/objects", &pipeline);
    assert_eq!(created.status, 201, "{}", created.body);
    let port = free_port();
    let gw = format!(
        "name: gw\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\nrules:\n- paths:\n  - pathPrefix: /\n    backend: lookup\n"
    );
    assert_eq!(s.api("POST", "/objects", &gw).status, 201);
    let addr = format!("127.0.0.1:{port}");
    let ask = |org: &str| {
        http(&addr, "GET", "/", &[("X-Org", org)], "")
            .ok()
            .filter(|a| a.status == 200)
            .map(|a| a.body)
    };
    let first = eventually(Duration::from_secs(10), || ask("abc"));
    assert_eq!(first, "ext-id=v1");
    assert_eq!(ask("nobody").as_deref(), Some("ext-id=none"));

    let updated = s.api("PUT", "/customdata/credentials", "name: abc\next-id: v2\n");
    assert_eq!(updated.status, 200, "{}", updated.body);
    eventually(Duration::from_secs(10), || {
        ask("abc").filter(|b| b == "ext-id=v2")
    });
    assert_eq!(
        s.api("DELETE", "/customdata/credentials/abc", "").status,
        200
    );
    eventually(Duration::from_secs(10), || {
        ask("abc").filter(|b| b == "ext-id=none")
    });
}
