//! Bad specs are refused naming the field.

use serde_json::json;

use super::*;

fn validate(sup: &Supervisor, doc: Value) -> Result<Vec<String>, SpecError> {
    let spec = Spec::from_doc(doc).unwrap();
    sup.kinds().get("GRPCServer").unwrap().validate(&spec, sup)
}

fn method(m: Value) -> Value {
    json!({"rules": [{"methods": [m]}]})
}

#[test]
fn bad_fields_name_their_path() {
    let sup = supervisor();
    let ok = || json!({"name": "g", "kind": "GRPCServer", "port": 9000});
    let with = |f: Value| {
        let mut d = ok();
        for (k, v) in f.as_object().unwrap() {
            d[k] = v.clone();
        }
        d
    };
    assert!(validate(&sup, ok()).is_ok());
    let cases: Vec<(Value, &str)> = vec![
        (json!({"port": 80}), "port"),
        (json!({"port": 1024}), "port"),
        (json!({"port": 70000}), "port"),
        (json!({"port": null}), "port"),
        (json!({"maxConnections": 0}), "maxConnections"),
        (json!({"maxConnections": -1}), "maxConnections"),
        (json!({"keepaliveTime": "soon"}), "keepaliveTime"),
        (json!({"keepaliveTime": "0s"}), "keepaliveTime"),
        (json!({"keepaliveTimeout": "1x"}), "keepaliveTimeout"),
        (json!({"maxConnectionIdle": "-"}), "maxConnectionIdle"),
        (json!({"maxConnectionAge": 5}), "maxConnectionAge"),
        (
            json!({"maxConnectionAgeGrace": "abc"}),
            "maxConnectionAgeGrace",
        ),
        (
            json!({"minTimeClientSendPing": "abc"}),
            "minTimeClientSendPing",
        ),
        (
            json!({"permitClintSendPingWithoutStream": "yes"}),
            "permitClintSendPingWithoutStream",
        ),
        (json!({"cacheSize": -1}), "cacheSize"),
        (json!({"xForwardedFor": "yes"}), "xForwardedFor"),
        (json!({"globalFilter": 3}), "globalFilter"),
        (
            json!({"ipFilter": {"allowIPs": ["not-an-ip"]}}),
            "ipFilter.allowIPs[0]",
        ),
        (json!({"trustedProxies": ["nope"]}), "trustedProxies[0]"),
        (
            json!({"rules": [{"hostRegexp": "("}]}),
            "rules[0].hostRegexp",
        ),
        (
            json!({"rules": [{"ipFilter": {"blockIPs": ["x"]}}]}),
            "rules[0].ipFilter.blockIPs[0]",
        ),
        (
            method(json!({"method": "/s.S/M"})),
            "rules[0].methods[0].backend",
        ),
        (
            method(json!({"method": "s.S/M", "backend": "b"})),
            "rules[0].methods[0].method",
        ),
        (
            method(json!({"methodPrefix": "s.S", "backend": "b"})),
            "rules[0].methods[0].methodPrefix",
        ),
        (
            method(json!({"methodRegexp": "[", "backend": "b"})),
            "rules[0].methods[0].methodRegexp",
        ),
        (
            method(json!({"backend": "b", "headers": [{"key": "k"}]})),
            "rules[0].methods[0].headers[0]",
        ),
        (
            method(json!({"backend": "b", "headers": [{"key": "k", "regexp": "("}]})),
            "rules[0].methods[0].headers[0].regexp",
        ),
        (
            method(json!({"backend": "b", "headers": [{"values": ["v"]}]})),
            "rules[0].methods[0].headers[0].key",
        ),
        (
            method(json!({"backend": "b", "ipFilter": {"allowIPs": ["1.2.3.4/99"]}})),
            "rules[0].methods[0].ipFilter.allowIPs[0]",
        ),
        (
            method(json!({"backend": "b", "matchAllHeader": "x"})),
            "rules[0].methods[0].matchAllHeader",
        ),
    ];
    for (fields, field) in cases {
        let err = validate(&sup, with(fields.clone())).expect_err(&fields.to_string());
        assert!(
            err.to_string().starts_with(field),
            "{fields}: {err} should name {field}"
        );
    }
}

#[test]
fn ping_policing_is_reported_as_not_enforced() {
    let sup = supervisor();
    let w = validate(
        &sup,
        json!({"name": "g", "kind": "GRPCServer", "port": 9000, "minTimeClientSendPing": "1m"}),
    )
    .unwrap();
    assert!(w.iter().any(|w| w.contains("not enforced")), "{w:?}");
}
