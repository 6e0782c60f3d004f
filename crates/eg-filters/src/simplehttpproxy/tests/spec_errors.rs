//! Bad specs: every error names the field at fault.

use super::*;

#[track_caller]
fn refused(doc: Value, resilience: &[Value], path: &str, words: &str) {
    match try_build_with(doc, resilience) {
        Ok(_) => panic!("spec accepted"),
        Err(e) => {
            assert_eq!(e.path, path, "{e}");
            assert!(e.message.contains(words), "{e}");
        }
    }
}

#[test]
fn bad_durations_are_refused() {
    for bad in [json!("3 seconds"), json!("-"), json!(5)] {
        refused(json!({"timeout": bad}), &[], "filters[0].timeout", "");
    }
    refused(
        json!({"timeout": "3 seconds"}),
        &[],
        "filters[0].timeout",
        "invalid duration",
    );
}

#[test]
fn the_retry_policy_must_exist_and_be_a_retry() {
    refused(
        json!({"retryPolicy": "nope"}),
        &[],
        "filters[0].retryPolicy",
        "nope",
    );
    let cb = json!({"name": "cb", "kind": "CircuitBreaker"});
    refused(
        json!({"retryPolicy": "cb"}),
        &[cb],
        "filters[0].retryPolicy",
        "cb",
    );
    assert!(try_build_with(json!({"retryPolicy": "retry"}), &[retry_policy(2)]).is_ok());
}

#[test]
fn idle_limits_must_not_be_negative() {
    for f in ["maxIdleConns", "maxIdleConnsPerHost"] {
        refused(
            json!({f: -1}),
            &[],
            &format!("filters[0].{f}"),
            "greater than or equal to 0",
        );
        refused(json!({f: "many"}), &[], &format!("filters[0].{f}"), "");
        assert!(try_build_with(json!({f: 0}), &[]).is_ok());
    }
}

#[test]
fn wrongly_typed_fields_are_refused() {
    refused(
        json!({"serverMaxBodySize": "big"}),
        &[],
        "filters[0].serverMaxBodySize",
        "",
    );
    refused(
        json!({"compression": {"minLength": -1}}),
        &[],
        "filters[0].compression.minLength",
        "",
    );
    refused(
        json!({"compression": "gzip"}),
        &[],
        "filters[0].compression",
        "",
    );
    refused(
        json!({"insecureSkipVerify": "yes"}),
        &[],
        "filters[0].insecureSkipVerify",
        "",
    );
    refused(json!({"retryPolicy": 3}), &[], "filters[0].retryPolicy", "");
}

#[test]
fn a_good_spec_builds_and_unknown_keys_warn() {
    let doc = json!({
        "retryPolicy": "retry", "timeout": "2s", "compression": {"minLength": 1024},
        "maxIdleConns": 100, "maxIdleConnsPerHost": 10, "serverMaxBodySize": -1,
        "maxBodySize": 1024,
    });
    let mut d = doc.clone();
    d["name"] = "p".into();
    d["kind"] = "SimpleHTTPProxy".into();
    let (policies, _) = Policies::decode(&[retry_policy(2)], "resilience").unwrap();
    let plan = super::super::spec::Plan::check(&d, "filters[0]", "p", &policies).unwrap();
    assert_eq!(plan.warnings.len(), 1);
    assert!(plan.warnings[0].starts_with("filters[0].maxBodySize"));
    assert_eq!(plan.max_body, None);
    assert_eq!(plan.timeout, Some(std::time::Duration::from_secs(2)));
    assert_eq!(plan.settings.max_idle_per_host, 10);
    assert_eq!(plan.settings.max_idle, 100);
}

#[test]
fn the_kind_registers_easegress_results_and_defaults() {
    let k = &crate::simplehttpproxy::KIND;
    assert_eq!(k.kind, "SimpleHTTPProxy");
    assert_eq!(k.results, &["internalError", "clientError", "serverError"]);
    let d = (k.default_spec)();
    assert_eq!(d["maxIdleConns"], 10240);
    assert_eq!(d["maxIdleConnsPerHost"], 1024);
}
