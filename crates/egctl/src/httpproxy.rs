//! `egctl create httpproxy`: translation of `--rule HOST/PATH=URL1,URL2`
//! flags into one HTTPServer and one single-Proxy Pipeline per rule.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// One parsed `--rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRule {
    /// Host to match (empty = any host).
    pub host: String,
    /// Exact path (set when the rule's path has no trailing `*`).
    pub path: String,
    /// Path prefix (set when the rule's path ends with `*`).
    pub path_prefix: String,
    /// Backend URLs, in order.
    pub endpoints: Vec<String>,
}

/// Parses `HOST/PATH=URL1,URL2`. A trailing `*` makes the path a prefix.
/// Fails for a missing or repeated `=`, a missing `/`, or no endpoints.
pub fn parse_rule(rule: &str) -> Result<ProxyRule, String> {
    let parts: Vec<&str> = rule.split('=').collect();
    if parts.len() != 2 {
        return Err(format!(
            "rule {rule} should in format 'host/path=endpoint1,endpoint2', invalid format"
        ));
    }
    let Some((host, path)) = parts[0].split_once('/') else {
        return Err(format!("rule {rule} not contain a path"));
    };
    let (path, path_prefix) = match path.strip_suffix('*') {
        Some(prefix) => (String::new(), format!("/{prefix}")),
        None => (format!("/{path}"), String::new()),
    };
    let endpoints: Vec<String> = parts[1]
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if endpoints.is_empty() {
        return Err(format!("endpoints in rule {rule} is empty"));
    }
    Ok(ProxyRule {
        host: host.to_string(),
        path,
        path_prefix,
        endpoints,
    })
}

/// TLS settings of the generated HTTPServer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// `--tls`: serve HTTPS.
    pub enabled: bool,
    /// `--auto-cert`: take certificates from the AutoCertManager.
    pub auto_cert: bool,
    /// Base64 of the `--ca-cert-file` content (empty when not given).
    pub ca_cert_base64: String,
    /// `(cert file name, base64 cert, base64 key)` for each `--cert-file`/`--key-file` pair.
    pub certs: Vec<(String, String, String)>,
}

/// Name of pipeline number `id` of proxy `name` (`NAME-0`, `NAME-1`, …).
pub fn pipeline_name(name: &str, id: usize) -> String {
    format!("{name}-{id}")
}

/// Pipeline with one Proxy filter `proxy` that round-robins over `endpoints`.
pub fn pipeline_spec(name: &str, endpoints: &[String]) -> Value {
    let servers: Vec<Value> = endpoints.iter().map(|u| json!({ "url": u })).collect();
    json!({
        "name": name,
        "kind": "Pipeline",
        "filters": [{
            "name": "proxy",
            "kind": "Proxy",
            "pools": [{ "servers": servers, "loadBalance": { "policy": "roundRobin" } }]
        }]
    })
}

/// HTTPServer `name` on `port` plus its pipelines. Consecutive rules with
/// the same host share one HTTPServer rule.
pub fn translate(
    name: &str,
    port: u16,
    rules: &[ProxyRule],
    tls: &TlsOptions,
) -> (Value, Vec<Value>) {
    let mut hs_rules: Vec<(String, Vec<Value>)> = Vec::new();
    let mut pipelines = Vec::new();
    for (id, rule) in rules.iter().enumerate() {
        let pl = pipeline_name(name, id);
        let mut path = Map::new();
        if !rule.path.is_empty() {
            path.insert("path".into(), json!(rule.path));
        }
        if !rule.path_prefix.is_empty() {
            path.insert("pathPrefix".into(), json!(rule.path_prefix));
        }
        path.insert("backend".into(), json!(pl));
        pipelines.push(pipeline_spec(&pl, &rule.endpoints));
        match hs_rules.last_mut() {
            Some((host, paths)) if *host == rule.host => paths.push(Value::Object(path)),
            _ => hs_rules.push((rule.host.clone(), vec![Value::Object(path)])),
        }
    }
    let rules_json: Vec<Value> = hs_rules
        .into_iter()
        .map(|(host, paths)| {
            let mut r = Map::new();
            if !host.is_empty() {
                r.insert("host".into(), json!(host));
            }
            r.insert("paths".into(), Value::Array(paths));
            Value::Object(r)
        })
        .collect();
    let mut hs = json!({
        "name": name,
        "kind": "HTTPServer",
        "port": port,
        "https": false,
        "keepAlive": true,
        "rules": rules_json,
    });
    if tls.enabled {
        let certs: BTreeMap<&str, &str> = tls
            .certs
            .iter()
            .map(|(f, c, _)| (f.as_str(), c.as_str()))
            .collect();
        let keys: BTreeMap<&str, &str> = tls
            .certs
            .iter()
            .map(|(f, _, k)| (f.as_str(), k.as_str()))
            .collect();
        hs["https"] = json!(true);
        hs["autoCert"] = json!(tls.auto_cert);
        if !tls.ca_cert_base64.is_empty() {
            hs["caCertBase64"] = json!(tls.ca_cert_base64);
        }
        hs["certs"] = json!(certs);
        hs["keys"] = json!(keys);
    }
    (hs, pipelines)
}

/// Parses `--dns-provider k=v` flags into a map.
pub fn parse_dns_provider(items: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for item in items {
        let Some((k, v)) = item.split_once('=') else {
            return Err(format!(
                "dns provider {item} should in format 'name=secret', invalid format"
            ));
        };
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// AutoCertManager spec with domain `domain` added or replaced: starts from
/// `existing` (the only AutoCertManager on the server) or, when there is
/// none, from a new `autocertmanager` object, which needs `email`.
pub fn auto_cert_manager_spec(
    existing: Option<&Value>,
    email: &str,
    domain: &str,
    dns_provider: &BTreeMap<String, String>,
) -> Result<Value, String> {
    let mut spec = match existing {
        Some(v) => v.clone(),
        None if !email.is_empty() => json!({"name": "autocertmanager", "kind": "AutoCertManager", "domains": []}),
        None => {
            return Err("there is no AutoCertManager and auto-cert-email is not set, please create one or set auto-cert-email".into())
        }
    };
    if !email.is_empty() {
        spec["email"] = json!(email);
    }
    let new_domain = json!({"name": domain, "dnsProvider": dns_provider});
    let domains = spec
        .as_object_mut()
        .ok_or("AutoCertManager spec is not an object")?
        .entry("domains")
        .or_insert_with(|| json!([]));
    if !domains.is_array() {
        *domains = json!([]);
    }
    if let Some(list) = domains.as_array_mut() {
        match list
            .iter_mut()
            .find(|d| d.get("name").and_then(Value::as_str) == Some(domain))
        {
            Some(d) => *d = new_domain,
            None => list.push(new_domain),
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    // Same cases as Easegress's TestParseRule.
    #[test]
    fn parse_rule_cases() {
        let ok = [
            (
                "foo.com/bar/bala=http://127.0.0.1:9096",
                "foo.com",
                "/bar/bala",
                "",
                vec!["http://127.0.0.1:9096"],
            ),
            (
                "/bar=http://127.0.0.1:9096,http://127.0.0.1:9097",
                "",
                "/bar",
                "",
                vec!["http://127.0.0.1:9096", "http://127.0.0.1:9097"],
            ),
            (
                "foo.com/bar*=http://127.0.0.1:9096",
                "foo.com",
                "",
                "/bar",
                vec!["http://127.0.0.1:9096"],
            ),
            (
                "/=http://127.0.0.1:9096",
                "",
                "/",
                "",
                vec!["http://127.0.0.1:9096"],
            ),
        ];
        for (rule, host, path, prefix, endpoints) in ok {
            let r = parse_rule(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
            assert_eq!(r.host, host, "{rule}");
            assert_eq!(r.path, path, "{rule}");
            assert_eq!(r.path_prefix, prefix, "{rule}");
            assert_eq!(r.endpoints, strs(&endpoints), "{rule}");
        }
        for rule in [
            "foo.com/bar*=http://127.0.0.1:9096=",
            "foo.com=http://127.0.0.1:9096",
            "=http://127.0.0.1:9096",
            "foo.com/path=",
            "foo.com/path",
        ] {
            assert!(parse_rule(rule).is_err(), "{rule}");
        }
    }

    // Same shape as Easegress's TestTranslateToProxyFilter / TestTranslateToPipeline.
    #[test]
    fn pipeline_has_one_round_robin_proxy() {
        let p = pipeline_spec(
            "pipeline",
            &strs(&["http://127.0.0.1:9095", "http://127.0.0.1:9096"]),
        );
        assert_eq!(
            p["filters"],
            json!([{"name": "proxy", "kind": "Proxy", "pools": [{
                "servers": [{"url": "http://127.0.0.1:9095"}, {"url": "http://127.0.0.1:9096"}],
                "loadBalance": {"policy": "roundRobin"}}]}])
        );
        assert_eq!(p["kind"], "Pipeline");
    }

    // Same expectations as Easegress's TestTranslate: rules with the same
    // consecutive host are merged, pipelines numbered in order.
    #[test]
    fn translate_groups_consecutive_hosts() {
        let rules: Vec<ProxyRule> = [
            "foo.com/barz=http://127.0.0.1:8080",
            "foo.com/bar*=http://127.0.0.1:8081",
            "bar.com/foo=http://127.0.0.1:8082",
            "zoo.com/foo=http://127.0.0.1:8083",
            "/foo=http://127.0.0.1:8084",
        ]
        .iter()
        .map(|r| parse_rule(r).unwrap())
        .collect();
        let (hs, pls) = translate("test", 10080, &rules, &TlsOptions::default());
        assert_eq!(hs["port"], 10080);
        assert_eq!(hs["https"], false);
        assert_eq!(
            hs["rules"],
            json!([
                {"host": "foo.com", "paths": [{"path": "/barz", "backend": "test-0"}, {"pathPrefix": "/bar", "backend": "test-1"}]},
                {"host": "bar.com", "paths": [{"path": "/foo", "backend": "test-2"}]},
                {"host": "zoo.com", "paths": [{"path": "/foo", "backend": "test-3"}]},
                {"paths": [{"path": "/foo", "backend": "test-4"}]}
            ])
        );
        let names: Vec<&str> = pls.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["test-0", "test-1", "test-2", "test-3", "test-4"]);
        assert_eq!(
            pls[4]["filters"][0]["pools"][0]["servers"][0]["url"],
            "http://127.0.0.1:8084"
        );
    }

    #[test]
    fn tls_fields() {
        let tls = TlsOptions {
            enabled: true,
            auto_cert: true,
            ca_cert_base64: "Y2E=".into(),
            certs: vec![("a.crt".into(), "Y2VydA==".into(), "a2V5".into())],
        };
        let (hs, _) = translate("t", 443, &[parse_rule("/=http://x").unwrap()], &tls);
        assert_eq!(hs["https"], true);
        assert_eq!(hs["autoCert"], true);
        assert_eq!(hs["caCertBase64"], "Y2E=");
        assert_eq!(hs["certs"], json!({"a.crt": "Y2VydA=="}));
        assert_eq!(hs["keys"], json!({"a.crt": "a2V5"}));
    }

    #[test]
    fn auto_cert_manager_add_or_update() {
        let dns = parse_dns_provider(&strs(&["name=dnspod", "zone=megaease.com"])).unwrap();
        assert!(auto_cert_manager_spec(None, "", "*.foo.com", &dns).is_err());
        let created = auto_cert_manager_spec(None, "a@b.c", "*.foo.com", &dns).unwrap();
        assert_eq!(created["name"], "autocertmanager");
        assert_eq!(created["domains"][0]["dnsProvider"]["zone"], "megaease.com");
        let updated =
            auto_cert_manager_spec(Some(&created), "", "*.foo.com", &BTreeMap::new()).unwrap();
        assert_eq!(updated["domains"].as_array().unwrap().len(), 1);
        assert_eq!(updated["email"], "a@b.c");
        assert!(parse_dns_provider(&strs(&["novalue"])).is_err());
    }
}
