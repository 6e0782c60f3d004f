//! Bad specs: every error names the field at fault.

use super::*;

const U: &str = "http://127.0.0.1:9";

fn err(doc: Value) -> SpecError {
    match try_build(doc) {
        Ok(_) => panic!("spec accepted"),
        Err(e) => e,
    }
}

fn pool_err(pool: Value) -> SpecError {
    err(json!({"pools": [pool]}))
}

fn with_server(extra: Value) -> Value {
    let mut p = json!({"servers": [{"url": U}]});
    merge(&mut p, extra);
    p
}

#[track_caller]
fn assert_path(e: SpecError, path: &str, words: &str) {
    assert_eq!(e.path, path, "{e}");
    assert!(e.message.contains(words), "{e}");
}

#[test]
fn pools_are_required_with_exactly_one_main_pool() {
    assert_path(err(json!({})), "filters[0].pools", "required");
    assert_path(
        err(json!({"pools": []})),
        "filters[0].pools",
        "one and only one",
    );
    let two = json!({"pools": [{"servers": [{"url": U}]}, {"servers": [{"url": U}]}]});
    assert_path(err(two), "filters[0].pools", "one and only one");
    let mirror =
        json!({"pools": [{"servers": [{"url": U}]}], "mirrorPool": {"servers": [{"url": U}]}});
    assert_path(err(mirror), "filters[0].mirrorPool.filter", "required");
    let cache = json!({"pools": [{"servers": [{"url": U}]}], "mirrorPool": {"servers": [{"url": U}],
        "filter": {"headers": {"a": {"exact": "b"}}}, "memoryCache": {}}});
    assert_path(err(cache), "filters[0].mirrorPool.memoryCache", "empty");
}

#[test]
fn server_urls_and_weights() {
    let e = pool_err(json!({"servers": [{"url": U}, {"url": "127.0.0.1:8080"}]}));
    assert_path(
        e,
        "filters[0].pools[0].servers[1].url",
        "invalid server URL",
    );
    let e = pool_err(json!({"servers": [{"url": "ftp://a"}]}));
    assert_path(e, "filters[0].pools[0].servers[0].url", "http or https");
    let e = pool_err(json!({"servers": [{"url": "http://"}]}));
    assert_path(e, "filters[0].pools[0].servers[0].url", "host");
    let e = pool_err(json!({"servers": [{}]}));
    assert_path(e, "filters[0].pools[0].servers[0]", "url");
    let e = pool_err(json!({"servers": [{"url": U, "weight": 1}, {"url": U}]}));
    assert_path(
        e,
        "filters[0].pools[0].servers",
        "not all servers have weight(1/2)",
    );
    let e = pool_err(json!({"servers": [{"url": U, "weight": 101}]}));
    assert_path(e, "filters[0].pools[0].servers[0].weight", "0-100");
    let e = pool_err(json!({"servers": []}));
    assert_path(e, "filters[0].pools[0].servers", "empty");
    let e = pool_err(json!({"servers": [{"url": U, "tags": ["a"]}], "serverTags": ["b"]}));
    assert_path(e, "filters[0].pools[0].serverTags", "tags");
    let e = pool_err(json!({"serviceName": "svc", "serviceRegistry": "reg"}));
    assert_path(e, "filters[0].pools[0].serviceName", "not supported");
    let e = pool_err(json!({"servers": "x"}));
    assert_path(e, "filters[0].pools[0].servers", "invalid type");
}

#[test]
fn load_balance_policies() {
    let e = pool_err(with_server(json!({"loadBalance": {"policy": "leastConn"}})));
    assert_path(
        e,
        "filters[0].pools[0].loadBalance.policy",
        "unknown load balance policy",
    );
    let e = pool_err(with_server(
        json!({"loadBalance": {"policy": "headerHash"}}),
    ));
    assert_path(
        e,
        "filters[0].pools[0].loadBalance.headerHashKey",
        "headerHashKey",
    );
    let e = pool_err(with_server(
        json!({"loadBalance": {"policy": "weightedRandom"}}),
    ));
    assert_path(e, "filters[0].pools[0].loadBalance.policy", "weight");
}

#[test]
fn request_matchers() {
    let cand = |f: Value| json!({"pools": [{"servers": [{"url": U}]}, {"servers": [{"url": U}], "filter": f}]});
    let e = err(cand(json!({})));
    assert_path(
        e,
        "filters[0].pools[1].filter.headers",
        "headers is not specified",
    );
    let e = err(cand(json!({"headers": {"X-A": {}}})));
    assert_path(e, "filters[0].pools[1].filter.headers.X-A", "empty");
    let e = err(cand(json!({"headers": {"X-A": {"regex": "("}}})));
    assert_path(e, "filters[0].pools[1].filter.headers.X-A.regex", "regexp");
    let e = err(cand(json!({"policy": "random"})));
    assert_path(e, "filters[0].pools[1].filter.permil", "permil");
    let e = err(cand(json!({"policy": "random", "permil": 1001})));
    assert_path(e, "filters[0].pools[1].filter.permil", "permil");
    let e = err(cand(json!({"policy": "headerHash", "permil": 5})));
    assert_path(
        e,
        "filters[0].pools[1].filter.headerHashKey",
        "headerHashKey",
    );
    let e = err(cand(json!({"policy": "geo", "permil": 5})));
    assert_path(e, "filters[0].pools[1].filter.policy", "unknown policy");
    let e = err(cand(
        json!({"headers": {"a": {"exact": "b"}}, "urls": [{"methods": ["FETCH"], "url": {"exact": "/"}}]}),
    ));
    assert_path(
        e,
        "filters[0].pools[1].filter.urls[0].methods[0]",
        "invalid method",
    );
    let e = err(cand(
        json!({"headers": {"a": {"exact": "b"}}, "urls": [{"url": {}}]}),
    ));
    assert_path(e, "filters[0].pools[1].filter.urls[0].url", "empty");
}

#[test]
fn health_checks() {
    let hc = |h: Value| pool_err(with_server(json!({"healthCheck": h})));
    let p = "filters[0].pools[0].healthCheck";
    assert_path(
        hc(json!({"method": "FETCH"})),
        &format!("{p}.method"),
        "invalid method",
    );
    assert_path(
        hc(json!({"port": 70000})),
        &format!("{p}.port"),
        "invalid port",
    );
    assert_path(
        hc(json!({"interval": "soon"})),
        &format!("{p}.interval"),
        "invalid duration",
    );
    assert_path(
        hc(json!({"username": "u"})),
        &format!("{p}.password"),
        "empty password",
    );
    assert_path(
        hc(json!({"password": "p"})),
        &format!("{p}.username"),
        "empty username",
    );
    assert_path(hc(json!({"uri": "no-slash"})), &format!("{p}.uri"), "slash");
    assert_path(
        hc(json!({"match": {"statusCodes": [[500, 200]]}})),
        &format!("{p}.match.statusCodes[0]"),
        "range",
    );
    assert_path(
        hc(json!({"match": {"statusCodes": [[200]]}})),
        &format!("{p}.match.statusCodes[0]"),
        "range",
    );
    assert_path(
        hc(json!({"match": {"headers": [{"name": "a", "type": "glob"}]}})),
        &format!("{p}.match.headers[0].type"),
        "exact or regexp",
    );
    assert_path(
        hc(json!({"match": {"headers": [{"value": "a"}]}})),
        &format!("{p}.match.headers[0].name"),
        "empty",
    );
    assert_path(
        hc(json!({"match": {"body": {"value": "(", "type": "regexp"}}})),
        &format!("{p}.match.body.value"),
        "regexp",
    );
    assert_path(
        hc(json!({"match": {"body": {"value": "a", "type": "glob"}}})),
        &format!("{p}.match.body.type"),
        "contains or regexp",
    );
    let e = pool_err(with_server(
        json!({"loadBalance": {"healthCheck": {"fails": -1}}}),
    ));
    assert_path(
        e,
        "filters[0].pools[0].loadBalance.healthCheck.fails",
        "at least 1",
    );
}

#[test]
fn pool_fields() {
    let e = pool_err(with_server(json!({"timeout": "3 seconds"})));
    assert_path(e, "filters[0].pools[0].timeout", "invalid duration");
    let e = pool_err(with_server(json!({"failureCodes": [500, 42]})));
    assert_path(e, "filters[0].pools[0].failureCodes[1]", "status code");
    let e = pool_err(with_server(json!({"retryPolicy": "missing"})));
    assert_path(e, "filters[0].pools[0].retryPolicy", "not found");
    let mut res = Map::new();
    res.insert("cb".into(), json!({"name": "cb", "kind": "Retry"}));
    let e = try_build_with(
        json!({"pools": [with_server(json!({"circuitBreakerPolicy": "cb"}))]}),
        &res,
        &supervisor(),
    )
    .err()
    .unwrap();
    assert_path(
        e,
        "filters[0].pools[0].circuitBreakerPolicy",
        "not a CircuitBreaker",
    );
}

#[test]
fn proxy_fields() {
    let base = |extra: Value| {
        let mut d = json!({"pools": [{"servers": [{"url": U}]}]});
        merge(&mut d, extra);
        err(d)
    };
    assert_path(
        base(json!({"mtls": {"certBase64": "!!", "keyBase64": "a", "rootCertBase64": "a"}})),
        "filters[0].mtls.certBase64",
        "base64",
    );
    assert_path(
        base(json!({"mtls": {"certBase64": "aGVsbG8=", "keyBase64": "aGVsbG8="}})),
        "filters[0].mtls",
        "rootCertBase64",
    );
    assert_path(
        base(
            json!({"mtls": {"certBase64": "aGVsbG8=", "keyBase64": "aGVsbG8=", "rootCertBase64": "aGVsbG8="}}),
        ),
        "filters[0].mtls.certBase64",
        "certificate",
    );
    assert_path(
        base(json!({"maxIdleConnsPerHost": -1})),
        "filters[0].maxIdleConnsPerHost",
        "negative",
    );
    assert_path(
        base(json!({"maxIdleConns": -1})),
        "filters[0].maxIdleConns",
        "negative",
    );
    assert_path(
        base(json!({"maxIdleConns": "many"})),
        "filters[0].maxIdleConns",
        "invalid type",
    );
    assert_path(
        base(json!({"maxRedirection": -1})),
        "filters[0].maxRedirection",
        "negative",
    );
    assert_path(
        base(json!({"maxRedirection": "3"})),
        "filters[0].maxRedirection",
        "invalid type",
    );
    assert_path(
        base(json!({"compression": {"minLength": -1}})),
        "filters[0].compression.minLength",
        "invalid value",
    );
}

#[test]
fn tolerated_inputs() {
    // Unknown keys are warnings; `pass` is accepted for `passes`; empty durations mean unset.
    let p = try_build(json!({
        "maxConnection": 3,
        "maxIdleConns": 10240,
        "pools": [{"servers": [{"url": U, "tags": ["x"]}], "timeout": "",
            "spanName": "s", "loadBalance": {"policy": "cookieHash", "stickySession": {"mode": "DurationBased"}},
            "healthCheck": {"interval": "1h", "pass": 2, "fails": 2}}],
    }));
    assert!(p.is_ok(), "{:?}", p.err());
}
