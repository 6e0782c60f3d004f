//! Bad specs are refused with the path of the field at fault.

use eg_spec::SpecError;
use serde_json::json;

use super::*;

/// Validates an HTTPServer document.
pub fn validate(sup: &Supervisor, doc: Value) -> Result<Vec<String>, SpecError> {
    let spec = Spec::from_doc(doc).unwrap();
    sup.kinds().get("HTTPServer").unwrap().validate(&spec, sup)
}

fn path(p: Value) -> Value {
    json!({"rules": [{"paths": [{"path": "/ok", "backend": "b"}, p]}]})
}

#[test]
fn bad_fields_name_their_path() {
    let sup = supervisor(None);
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"port": 0}), "port", "1..65535"),
        (json!({"port": 70000}), "port", "1..65535"),
        (json!({"port": "x"}), "port", "invalid type"),
        (
            json!({"keepAliveTimeout": "10parsecs"}),
            "keepAliveTimeout",
            "invalid duration",
        ),
        (json!({"maxConnections": 0}), "maxConnections", "at least 1"),
        (json!({"clientMaxBodySize": -2}), "clientMaxBodySize", "-1"),
        (
            json!({"routerKind": "Fancy"}),
            "routerKind",
            "Ordered or RadixTree",
        ),
        (json!({"http3": true}), "http3", "not supported"),
        (
            json!({"ipFilter": {"blockIPs": ["1.2.3.4", "nope"]}}),
            "ipFilter.blockIPs[1]",
            "invalid IP",
        ),
        (
            json!({"trustedProxies": ["10.0.0.0/8", "x"]}),
            "trustedProxies[1]",
            "invalid IP",
        ),
        (
            json!({"accessLogFormat": "{{Nope}}"}),
            "accessLogFormat",
            "unknown variable",
        ),
        (
            path(json!({"pathRegexp": "(", "backend": "b"})),
            "rules[0].paths[1].pathRegexp",
            "invalid regexp",
        ),
        (
            path(json!({"path": "/x", "backend": "b", "setHeaders": {"bad name": "v"}})),
            "rules[0].paths[1].setHeaders.bad name",
            "invalid header name",
        ),
        (
            path(json!({"path": "/x", "backend": "b", "setHeaders": {"X-A": "$host\n"}})),
            "rules[0].paths[1].setHeaders.X-A",
            "invalid header value",
        ),
        (
            path(json!({"path": "/x", "backend": "b", "setHeaders": ["X-A"]})),
            "rules[0].paths[1].setHeaders",
            "invalid type",
        ),
        (
            path(json!({"path": "x", "backend": "b"})),
            "rules[0].paths[1].path",
            "start with '/'",
        ),
        (
            path(json!({"pathPrefix": "x", "backend": "b"})),
            "rules[0].paths[1].pathPrefix",
            "start with '/'",
        ),
        (
            path(json!({"rewriteTarget": "/x", "backend": "b"})),
            "rules[0].paths[1].rewriteTarget",
            "path",
        ),
        (
            path(json!({"path": "/x"})),
            "rules[0].paths[1]",
            "backend or backendPool",
        ),
        (
            path(json!({"path": "/x", "methods": ["GET", "FETCH"], "backend": "b"})),
            "rules[0].paths[1].methods[1]",
            "invalid HTTP method",
        ),
        (
            path(json!({"path": "/x", "headers": [{"key": "A"}], "backend": "b"})),
            "rules[0].paths[1].headers[0]",
            "values and regexp",
        ),
        (
            path(json!({"path": "/x", "headers": [{"key": "A", "regexp": "("}], "backend": "b"})),
            "rules[0].paths[1].headers[0].regexp",
            "invalid regexp",
        ),
        (
            path(json!({"path": "/x", "queries": [{"key": "q", "values": []}], "backend": "b"})),
            "rules[0].paths[1].queries[0]",
            "values and regexp",
        ),
        (
            path(json!({"path": "/x", "ipFilter": {"allowIPs": ["z"]}, "backend": "b"})),
            "rules[0].paths[1].ipFilter.allowIPs[0]",
            "invalid IP",
        ),
        (
            path(json!({"path": "/x", "clientMaxBodySize": -5, "backend": "b"})),
            "rules[0].paths[1].clientMaxBodySize",
            "-1",
        ),
        (
            json!({"rules": [{"host": "a.*.com", "paths": []}]}),
            "rules[0].host",
            "only one '*'",
        ),
        (
            json!({"rules": [{"hostRegexp": "(", "paths": []}]}),
            "rules[0].hostRegexp",
            "invalid regexp",
        ),
        (
            json!({"rules": [{"hosts": [{"value": "(", "isRegexp": true}]}]}),
            "rules[0].hosts[0].value",
            "invalid regexp",
        ),
        (
            json!({"rules": [{"ipFilter": {"blockIPs": ["q"]}}]}),
            "rules[0].ipFilter.blockIPs[0]",
            "invalid IP",
        ),
        (
            json!({"routerKind": "RadixTree", "rules": [{"paths": [{"pathPrefix": "/x", "backend": "b"}]}]}),
            "rules[0].paths[0].path",
            "RadixTree",
        ),
        (
            json!({"routerKind": "RadixTree", "rules": [{"paths": [{"path": "/a/*/b", "backend": "b"}]}]}),
            "rules[0].paths[0].path",
            "wildcard",
        ),
        (
            json!({"routerKind": "RadixTree", "rules": [{"paths": [{"path": "/a/{id", "backend": "b"}]}]}),
            "rules[0].paths[0].path",
            "'}'",
        ),
        (
            json!({"routerKind": "RadixTree", "rules": [{"paths": [{"path": "/a/{id}", "rewriteTarget": "/b/{name}", "backend": "b"}]}]}),
            "rules[0].paths[0].rewriteTarget",
            "not a parameter",
        ),
    ];
    for (fields, want_path, want_msg) in cases {
        let mut doc = server("hs", 8080, fields.clone());
        if fields.get("port").is_some() {
            doc["port"] = fields["port"].clone();
        }
        let err = validate(&sup, doc).unwrap_err();
        assert_eq!(err.path, want_path, "{fields}: {err}");
        assert!(err.message.contains(want_msg), "{fields}: {err}");
    }
}

#[test]
fn port_is_required() {
    let sup = supervisor(None);
    let err = validate(&sup, json!({"name": "hs", "kind": "HTTPServer"})).unwrap_err();
    assert_eq!(err.to_string(), "port: port is required");
}

#[test]
fn unknown_keys_are_warnings_and_defaults_apply() {
    let sup = supervisor(None);
    let doc = server(
        "hs",
        8080,
        json!({"maxConnection": 5, "labels": {"a": "b"}, "rules": [{"paths": [{"path": "/x", "backend": "b", "setHeaderz": 1}]}]}),
    );
    let warnings = validate(&sup, doc).unwrap();
    assert_eq!(
        warnings,
        // In the document's order.
        vec![
            "maxConnection: unknown field, ignored",
            "rules[0].paths[0].setHeaderz: unknown field, ignored"
        ]
    );
    let kind = sup.kinds().resolve("hs").unwrap().info();
    assert_eq!(kind.kind, "HTTPServer");
    assert_eq!(kind.category, eg_supervisor::Category::TrafficGate);
    assert_eq!(
        sup.kinds().resolve("httpservers").unwrap().info().kind,
        "HTTPServer"
    );
    assert_eq!((kind.default_spec)()["keepAlive"], true);
}

#[test]
fn a_bad_update_keeps_the_running_generation() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sup = supervisor(None);
        apply(&sup, echo("pl", "pl"));
        let port = free_port();
        let s = start(
            &sup,
            server(
                "hs",
                port,
                json!({"rules": [{"paths": [{"backend": "pl"}]}]}),
            ),
        )
        .await;
        apply(
            &sup,
            server(
                "hs",
                port,
                json!({"rules": [{"paths": [{"pathRegexp": "(", "backend": "pl"}]}]}),
            ),
        );
        assert!(Arc::ptr_eq(&running(&sup, "hs"), &s));
        assert_eq!(get(port, "/x").await.server(), "pl");
    });
}
