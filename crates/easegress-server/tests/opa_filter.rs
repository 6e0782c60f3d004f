//! The OPAFilter in a running server: a Rego policy in front of a Proxy decides which
//! requests reach the upstream; refused ones get the filter's status and never reach it.

use std::time::Duration;

use eg_testkit::{eventually, http, Reply, Server, Upstream};

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

/// Reads are open to the tenant named in the path; writes need the admin role and a body
/// naming the tenant; `/broken` makes `allow` a string (no decision).
const POLICY: &str = r#"
    package http
    default allow = false
    allow {
      input.request.method == "GET"
      input.request.headers["X-Tenant"] == input.request.path_parts[1]
    }
    allow {
      input.request.method == "POST"
      input.request.headers["X-Role"] == "admin"
      json.unmarshal(input.request.body).tenant == input.request.path_parts[1]
      net.cidr_contains("127.0.0.0/8", input.request.realIP)
    }
    allow = "maybe" { input.request.path == "/broken" }
"#;

fn pipeline(upstream: &str) -> String {
    let policy: String = POLICY.lines().map(|l| format!("\n      {l}")).collect();
    format!(
        "name: opa-pl\nkind: Pipeline\nflow:\n- filter: opa\n  jumpIf: {{ opaDenied: END }}\n- filter: proxy\n\
         filters:\n\
         - name: opa\n  kind: OPAFilter\n  defaultStatus: 401\n  readBody: true\n  includedHeaders: X-Tenant, x-role\n  policy: |{policy}\n\
         - name: proxy\n  kind: Proxy\n  pools:\n  - servers:\n    - url: {upstream}\n"
    )
}

#[test]
fn a_policy_decides_which_requests_reach_the_upstream() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let up = rt.block_on(Upstream::start(|s| {
        Reply::text(200, &format!("upstream {} {}", s.target, s.body.len()))
    }));
    let server = Server::start_new(BIN, "opa-filter");
    server.create(&pipeline(&up.url()));
    let addr = server.gateway(
        "opa-gw",
        "- paths:\n  - pathPrefix: /\n    backend: opa-pl\n",
    );

    // Allowed read: the upstream answers.
    let a = eventually(Duration::from_secs(15), || {
        http(
            &addr,
            "GET",
            "/tenants/acme/orders",
            &[("X-Tenant", "acme")],
            "",
        )
        .ok()
        .filter(|a| a.status == 200)
    });
    assert_eq!(a.body, "upstream /tenants/acme/orders 0");
    assert_eq!(up.hits(), 1);

    // Another tenant: 401, empty body, the upstream is not reached.
    let a = http(
        &addr,
        "GET",
        "/tenants/acme/orders",
        &[("X-Tenant", "other")],
        "",
    )
    .unwrap();
    assert_eq!((a.status, a.body.as_str()), (401, ""));
    assert_eq!(a.header("x-eg-opa-error"), None);
    assert_eq!(up.hits(), 1);

    // A write with the admin role and a body naming the tenant: the body reaches the
    // upstream whole after the policy read it.
    let body = r#"{"tenant":"acme","item":7}"#;
    let a = http(
        &addr,
        "POST",
        "/tenants/acme/orders",
        &[("X-Role", "admin")],
        body,
    )
    .unwrap();
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(
        a.body,
        format!("upstream /tenants/acme/orders {}", body.len())
    );
    assert_eq!(up.last().body, body.as_bytes());
    // The body names another tenant: refused.
    let other = r#"{"tenant":"other"}"#;
    let a = http(
        &addr,
        "POST",
        "/tenants/acme/orders",
        &[("X-Role", "admin")],
        other,
    )
    .unwrap();
    assert_eq!(a.status, 401);
    assert_eq!(up.hits(), 2);

    // No decision: the filter's status, the error header and the reason.
    let a = http(&addr, "GET", "/broken", &[], "").unwrap();
    assert_eq!(a.status, 401);
    assert_eq!(a.header("x-eg-opa-error"), Some("true"));
    assert_eq!(
        a.body,
        "got an invalid type from repo policy. Only a boolean or map is valid"
    );
    assert_eq!(up.hits(), 2);
}

#[test]
fn a_policy_that_does_not_compile_is_refused() {
    let server = Server::start_new(BIN, "opa-filter-bad");
    let spec = "name: bad-opa\nkind: Pipeline\nfilters:\n- name: opa\n  kind: OPAFilter\n  policy: |\n    package http\n    allow {\n";
    let r = server.api("POST", "/objects", spec);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("filters[0].policy"), "{}", r.body);
    assert_eq!(server.api("GET", "/objects/bad-opa", "").status, 404);
}
