//! `/apis/v2/metrics` of the real server after traffic through an HTTPServer and a Proxy:
//! Easegress's `*_percentage` summaries with their labels, and every metric the Grafana
//! dashboard in `docs/grafana/` queries.

use std::collections::BTreeSet;
use std::time::Duration;

use eg_testkit::{eventually, free_port, http, Reply, Server, Upstream};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");
/// The dashboard, from the crate's directory.
const DASHBOARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/grafana/easegress-rs.json"
);
/// Requests driven through the gateway before scraping.
const REQUESTS: usize = 20;
/// The quantiles of Easegress's summaries.
const QUANTILES: [&str; 6] = ["0.25", "0.5", "0.75", "0.9", "0.95", "0.99"];

/// A server with an HTTPServer whose pipeline proxies to `upstream`, after [`REQUESTS`]
/// requests; returns it and its scrape.
fn server_after_traffic(name: &str, upstream: &str) -> (Server, String) {
    let s = Server::start_new(BIN, name);
    let pipeline = format!(
        "name: pl-proxy\nkind: Pipeline\nflow:\n- filter: proxy\nfilters:\n- name: proxy\n  kind: Proxy\n  pools:\n  - servers:\n    - url: {upstream}\n    loadBalance:\n      policy: roundRobin\n"
    );
    assert_eq!(s.api("POST", "/objects", &pipeline).status, 201);
    let port = free_port();
    let server = format!(
        "name: hs-metrics\nkind: HTTPServer\nport: {port}\naddress: 127.0.0.1\nrules:\n- paths:\n  - pathPrefix: /\n    backend: pl-proxy\n"
    );
    assert_eq!(s.api("POST", "/objects", &server).status, 201);
    let gateway = format!("127.0.0.1:{port}");
    eventually(Duration::from_secs(15), || {
        http(&gateway, "GET", "/ready", &[], "")
            .ok()
            .filter(|a| a.status == 200)
    });
    for i in 0..REQUESTS {
        let a = http(&gateway, "POST", &format!("/r/{i}"), &[], "some body").expect("request");
        assert_eq!(a.status, 200, "{a:?}");
    }
    let text = s.api("GET", "/metrics", "").body;
    (s, text)
}

/// The value of the sample written `series` (name and labels).
fn sample(text: &str, series: &str) -> f64 {
    let prefix = format!("{series} ");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {series} in {text}"));
    line[prefix.len()..].parse().expect("a number")
}

/// The metric names that have at least one sample in a scrape.
fn sampled_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// The metric names a PromQL expression selects: every identifier followed by `{` (the
/// dashboard writes each selector with a label matcher) or the first argument of
/// `label_values(`.
fn metric_names(expr: &str) -> Vec<String> {
    let bytes = expr.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if ident(bytes[i]) && (i == 0 || !ident(bytes[i - 1])) {
            let start = i;
            while i < bytes.len() && ident(bytes[i]) {
                i += 1;
            }
            let word = &expr[start..i];
            let rest = expr[i..].trim_start();
            if rest.starts_with('{') {
                names.push(word.to_string());
            } else if word == "label_values" {
                let arg = rest.trim_start_matches('(').trim_start();
                let end = arg
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(arg.len());
                names.push(arg[..end].to_string());
                i += rest.len() - arg.len() + end;
                continue;
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn percentage_summaries_and_dashboard_metrics_are_exported() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let up = rt.block_on(Upstream::start(|_| Reply::text(200, "upstream answer")));
    let (_s, text) = server_after_traffic("metrics-dashboard", &up.url());

    // Easegress's summaries, with its labels and quantiles.
    let server_labels = "clusterName=\"eg-cluster-default-name\",clusterRole=\"primary\",instanceName=\"metrics-dashboard\",name=\"hs-metrics\",kind=\"HTTPServer\",routerKind=\"Ordered\",backend=\"pl-proxy\"";
    for family in [
        "httpserver_requests_duration_percentage",
        "httpserver_requests_size_bytes_percentage",
        "httpserver_responses_size_bytes_percentage",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} summary")),
            "{family}: {text}"
        );
        for q in QUANTILES {
            let prefix = format!("{family}{{{server_labels},quantile=\"{q}\"}} ");
            let line = text
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no {prefix} in {text}"));
            let v: f64 = line[prefix.len()..].parse().expect("a number");
            assert!(v.is_finite(), "{line}");
        }
        // Every routed request, the readiness probes too.
        let count = sample(&text, &format!("{family}_count{{{server_labels}}}"));
        let total = sample(
            &text,
            &format!("httpserver_total_requests{{{server_labels}}}"),
        );
        assert!(
            count >= REQUESTS as f64 && count == total,
            "{count} {total}"
        );
    }
    // The pool's labels, as its counter has them.
    let counter = text
        .lines()
        .find(|l| l.starts_with("proxy_total_connections{"))
        .unwrap_or_else(|| panic!("no proxy_total_connections in {text}"));
    let proxy_labels = &counter["proxy_total_connections{".len()..counter.rfind('}').expect("}")];
    assert!(
        proxy_labels.starts_with("clusterName=\"eg-cluster-default-name\",clusterRole=\"primary\",instanceName=\"metrics-dashboard\",proxyName=")
            && proxy_labels.ends_with(",kind=\"Proxy\",loadBalancePolicy=\"roundRobin\",filterPolicy=\"\""),
        "{counter}"
    );
    for family in [
        "proxy_request_body_size_percentage",
        "proxy_response_body_size_percentage",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} summary")),
            "{family}: {text}"
        );
        for q in QUANTILES {
            let prefix = format!("{family}{{{proxy_labels},quantile=\"{q}\"}} ");
            assert!(
                text.lines().any(|l| l.starts_with(&prefix)),
                "no {prefix} in {text}"
            );
        }
    }
    // Bodies of 9 (request) and 15 (response) bytes: the median is about them.
    let median = |family: &str| {
        sample(
            &text,
            &format!("{family}{{{proxy_labels},quantile=\"0.5\"}}"),
        )
    };
    assert!((median("proxy_request_body_size_percentage") - 9.0).abs() < 1.0);
    assert!((median("proxy_response_body_size_percentage") - 15.0).abs() < 1.0);

    // Every metric every dashboard panel and variable queries has samples.
    let sampled = sampled_names(&text);
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(DASHBOARD).expect("dashboard file"))
            .expect("dashboard JSON");
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().unwrap_or("?");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "panel {title} has no query");
        for t in targets {
            let expr = t["expr"].as_str().expect("expr");
            let names = metric_names(expr);
            assert!(!names.is_empty(), "panel {title}: no metric in {expr}");
            for n in names {
                assert!(sampled.contains(&n), "panel {title}: {n} is not exported");
                checked += 1;
            }
        }
    }
    for v in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
    {
        if v["type"] != "query" {
            continue;
        }
        let query = v["query"]["query"].as_str().expect("variable query");
        let names = metric_names(query);
        assert!(!names.is_empty(), "variable {}: no metric", v["name"]);
        for n in names {
            assert!(
                sampled.contains(&n),
                "variable {}: {n} is not exported",
                v["name"]
            );
        }
    }
    assert!(checked > 20, "only {checked} metric references checked");
}

#[test]
fn metric_names_are_read_from_expressions() {
    assert_eq!(
        metric_names(
            "histogram_quantile(0.9, sum by (name, le) (rate(a_bucket{x=~\"$y\"}[5m]))) / b {z=\"1\"}"
        ),
        ["a_bucket", "b"]
    );
    assert_eq!(
        metric_names("label_values(httpserver_health{i=~\"$i\"}, name)"),
        ["httpserver_health"]
    );
    assert_eq!(
        metric_names("label_values(process_start_time_seconds, job)"),
        ["process_start_time_seconds"]
    );
}
