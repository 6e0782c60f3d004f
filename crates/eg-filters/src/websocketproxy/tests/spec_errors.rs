//! Bad specs: every error names the field at fault.

use eg_spec::SpecError;
use serde_json::{json, Value};

const U: &str = "ws://127.0.0.1:9";

fn err(doc: Value) -> SpecError {
    match crate::testkit::build(&super::super::KIND, doc) {
        Ok(_) => panic!("spec accepted"),
        Err(e) => e,
    }
}

/// The error of a one-pool spec whose pool has a server plus `extra`.
fn pool_err(extra: Value) -> SpecError {
    let mut p = json!({"servers": [{"url": U}]});
    if let (Some(m), Value::Object(x)) = (p.as_object_mut(), extra) {
        m.extend(x);
    }
    err(json!({"pools": [p]}))
}

#[track_caller]
fn assert_path(e: SpecError, path: &str, words: &str) {
    assert_eq!(e.path, path, "{e}");
    assert!(e.message.contains(words), "{e}");
}

const P: &str = "filters[0].pools[0]";

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
    assert_path(
        err(json!({"pools": "x"})),
        "filters[0].pools",
        "invalid type",
    );
}

#[test]
fn servers_must_be_websocket_urls() {
    let e = err(json!({"pools": [{"servers": [{"url": "http://127.0.0.1:9"}]}]}));
    assert_path(e, &format!("{P}.servers[0].url"), "ws or wss");
    let e = err(json!({"pools": [{"servers": [{"url": "ws://"}]}]}));
    assert_path(e, &format!("{P}.servers[0].url"), "host");
    let e = err(json!({"pools": [{"servers": []}]}));
    assert_path(e, &format!("{P}.servers"), "empty");
    let e = err(json!({"pools": [{"servers": [{"url": U, "weight": 101}]}]}));
    assert_path(e, &format!("{P}.servers[0].weight"), "0-100");
    let e = err(json!({"pools": [{"servers": [{"url": U, "weight": 1}, {"url": U}]}]}));
    assert_path(e, &format!("{P}.servers"), "weight");
    let e = err(json!({"pools": [{"servers": [{"url": U, "tags": ["a"]}], "serverTags": ["b"]}]}));
    assert_path(e, &format!("{P}.serverTags"), "tags");
    let e = pool_err(json!({"serviceName": "svc"}));
    assert_path(e, &format!("{P}.serviceName"), "not supported");
    let e = pool_err(json!({"setUpstreamHost": "yes"}));
    assert_path(e, &format!("{P}.setUpstreamHost"), "invalid type");
}

#[test]
fn load_balance_and_filter() {
    let e = pool_err(json!({"loadBalance": {"policy": "nearest"}}));
    assert_path(e, &format!("{P}.loadBalance.policy"), "unknown");
    let e = pool_err(json!({"loadBalance": {"policy": "headerHash"}}));
    assert_path(
        e,
        &format!("{P}.loadBalance.headerHashKey"),
        "headerHashKey",
    );
    let sticky = |s: Value| pool_err(json!({"loadBalance": {"stickySession": s}}));
    let e = sticky(json!({"mode": "Forever"}));
    assert_path(e, &format!("{P}.loadBalance.stickySession.mode"), "Forever");
    let e = sticky(json!({}));
    assert_path(
        e,
        &format!("{P}.loadBalance.stickySession.mode"),
        "required",
    );
    let e = sticky(json!({"mode": "ApplicationBased"}));
    assert_path(
        e,
        &format!("{P}.loadBalance.stickySession.appCookieName"),
        "needs",
    );
    let e = sticky(json!({"mode": "DurationBased", "lbCookieName": "a b"}));
    assert_path(
        e,
        &format!("{P}.loadBalance.stickySession.lbCookieName"),
        "cookie name",
    );
    let e = sticky(json!({"mode": "DurationBased", "lbCookieExpire": "soon"}));
    assert_path(
        e,
        &format!("{P}.loadBalance.stickySession.lbCookieExpire"),
        "",
    );
    let e = pool_err(json!({"loadBalance": {"healthCheck": {"interval": "1s"}}}));
    assert_path(e, &format!("{P}.loadBalance.healthCheck"), "healthCheck");
    let doc = json!({"pools": [{"servers": [{"url": U}]},
        {"servers": [{"url": U}], "filter": {"policy": "general"}}]});
    let e = err(doc);
    assert_eq!(e.path, "filters[0].pools[1].filter.headers", "{e}");
}

#[test]
fn message_limits() {
    for f in ["clientMaxMsgSize", "serverMaxMsgSize"] {
        let e = pool_err(json!({f: -2}));
        assert_path(e, &format!("{P}.{f}"), "-1 for no limit");
        let e = pool_err(json!({f: "big"}));
        assert_path(e, &format!("{P}.{f}"), "invalid type");
    }
}

#[test]
fn origin_settings() {
    let e = pool_err(json!({"originPatterns": ["ok.com", "[bad"]}));
    assert_path(
        e,
        &format!("{P}.originPatterns[1]"),
        "invalid origin pattern",
    );
    let e = pool_err(json!({"originPatterns": "a.com"}));
    assert_path(e, &format!("{P}.originPatterns"), "invalid type");
    let e = pool_err(json!({"insecureSkipVerify": "no"}));
    assert_path(e, &format!("{P}.insecureSkipVerify"), "invalid type");
}

#[test]
fn health_checks() {
    let hc = |v: Value| pool_err(json!({"healthCheck": v}));
    let h = format!("{P}.healthCheck");
    assert_path(hc(json!({})), &h, "empty health check");
    assert_path(
        hc(json!({"interval": "soon", "ws": {}})),
        &format!("{h}.interval"),
        "",
    );
    assert_path(
        hc(json!({"fails": -1, "ws": {}})),
        &format!("{h}.fails"),
        "at least 1",
    );
    assert_path(
        hc(json!({"passes": -1, "ws": {}})),
        &format!("{h}.passes"),
        "at least 1",
    );
    assert_path(
        hc(json!({"http": {"method": "FETCH"}})),
        &format!("{h}.http.method"),
        "invalid method",
    );
    assert_path(
        hc(json!({"http": {"port": 70000}})),
        &format!("{h}.http.port"),
        "invalid port",
    );
    assert_path(
        hc(json!({"http": {"uri": "health"}})),
        &format!("{h}.http.uri"),
        "invalid uri",
    );
    assert_path(
        hc(json!({"http": {"username": "u"}})),
        &format!("{h}.http.password"),
        "empty password",
    );
    assert_path(
        hc(json!({"http": {"match": {"statusCodes": [[300, 200]]}}})),
        &format!("{h}.http.match.statusCodes[0]"),
        "range",
    );
    assert_path(
        hc(json!({"ws": {"port": -1}})),
        &format!("{h}.ws.port"),
        "invalid port",
    );
    assert_path(
        hc(json!({"ws": {"uri": "ws"}})),
        &format!("{h}.ws.uri"),
        "invalid uri",
    );
    assert_path(
        hc(json!({"ws": {"headers": {"Bad Name": "x"}}})),
        &format!("{h}.ws.headers.Bad Name"),
        "header name",
    );
    assert_path(
        hc(json!({"ws": {"match": {"statusCodes": [[101]]}}})),
        &format!("{h}.ws.match.statusCodes[0]"),
        "range",
    );
    assert_path(
        hc(json!({"ws": {"match": {"headers": [{"name": "X", "type": "glob"}]}}})),
        &format!("{h}.ws.match.headers[0].type"),
        "exact or regexp",
    );
    assert_path(
        hc(json!({"ws": {"match": {"body": {"value": "(", "type": "regexp"}}}})),
        &format!("{h}.ws.match.body.value"),
        "regexp",
    );
}

#[test]
fn unknown_keys_warn_and_the_defaults_build() {
    let spec = crate::testkit::filter_spec(
        &super::super::KIND,
        json!({"pools": [{"servers": [{"url": U}], "spanName": "x"}]}),
    );
    let sup = crate::testkit::supervisor();
    let res = crate::resilience::Policies::new();
    let ctx = crate::filter::BuildContext::new(&sup, &res);
    let warnings = super::super::KIND.validate(&spec, &ctx).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("spanName"), "{warnings:?}");
}
