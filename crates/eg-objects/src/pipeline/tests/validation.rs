//! Every validation rule, with a bad input each and the field path it must name.

use serde_json::{json, Value};

use crate::testkit::{step, supervisor, validate};

fn pl(body: Value) -> Value {
    let mut doc = json!({"name": "p", "kind": "Pipeline"});
    if let (Some(d), Some(b)) = (doc.as_object_mut(), body.as_object()) {
        d.extend(b.clone());
    }
    doc
}

/// Asserts `body` is refused with an error at `path` whose message contains `msg`.
fn refused(body: Value, path: &str, msg: &str) {
    let sup = supervisor();
    let err = validate(&sup, pl(body.clone())).expect_err(&format!("accepted: {body}"));
    assert_eq!(err.path, path, "{body}: {err}");
    assert!(err.message.contains(msg), "{body}: {err}");
}

#[test]
fn a_good_spec_passes_without_warnings() {
    let sup = supervisor();
    let w = validate(
        &sup,
        pl(json!({
            "filters": [step("a", ""), step("b", "r1"), step("c", "")],
            "flow": [
                {"filter": "a", "jumpIf": {"": "c"}},
                {"filter": "b", "alias": "b1", "namespace": "ns1", "jumpIf": {"r1": "END"}},
                {"filter": "c"},
                {"filter": "END"},
            ],
            "resilience": [{"name": "retry", "kind": "Retry", "maxAttempts": 3}],
            "data": {"foo": "bar"},
        })),
    )
    .unwrap();
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn filters_are_required() {
    refused(json!({}), "filters", "required");
    refused(json!({"filters": {}}), "filters", "invalid type");
    // An empty list is accepted.
    assert!(validate(&supervisor(), pl(json!({"filters": []}))).is_ok());
}

#[test]
fn filter_meta_is_checked() {
    refused(json!({"filters": [1]}), "filters[0]", "mapping");
    refused(
        json!({"filters": [{"kind": "Step"}]}),
        "filters[0].name",
        "required",
    );
    refused(
        json!({"filters": [{"name": 3, "kind": "Step"}]}),
        "filters[0].name",
        "string",
    );
    refused(
        json!({"filters": [{"name": "a b", "kind": "Step"}]}),
        "filters[0].name",
        "invalid name",
    );
    refused(
        json!({"filters": [step("a", ""), {"name": "x"}]}),
        "filters[1].kind",
        "required",
    );
    refused(
        json!({"filters": [{"name": "x", "kind": "X"}]}),
        "filters[0].kind",
        "unknown filter kind \"X\"",
    );
}

#[test]
fn filter_names_are_unique_and_end_is_reserved() {
    refused(
        json!({"filters": [step("END", "")]}),
        "filters[0].name",
        "reserved",
    );
    refused(
        json!({"filters": [step("a", ""), step("b", ""), step("a", "")]}),
        "filters[2].name",
        "duplicated filter name \"a\"",
    );
}

#[test]
fn filter_kind_errors_name_fields_under_the_filter() {
    refused(
        json!({"filters": [step("a", ""), {"name": "m", "kind": "Mock", "rules": [{"code": 700}]}]}),
        "filters[1].rules[0].code",
        "status code",
    );
    refused(
        json!({"filters": [{"name": "v", "kind": "Validator"}]}),
        "filters[0]",
        "none of the validations",
    );
}

#[test]
fn flow_nodes_must_name_defined_filters() {
    refused(
        json!({"filters": [step("a", "")], "flow": [{"filter": "a"}, {"filter": "b"}]}),
        "flow[1].filter",
        "filter \"b\" not found",
    );
    refused(
        json!({"filters": [step("a", "")], "flow": [{"alias": "x"}]}),
        "flow[0].filter",
        "required",
    );
    refused(
        json!({"filters": [step("a", "")], "flow": [{"filter": "a b"}]}),
        "flow[0].filter",
        "invalid name",
    );
    refused(
        json!({"filters": [step("a", "")], "flow": [{"filter": "a", "jumpIf": []}]}),
        "flow[0].jumpIf",
        "invalid type",
    );
}

#[test]
fn jump_keys_must_be_results_of_the_kind() {
    refused(
        json!({"filters": [step("a", ""), step("b", "")],
               "flow": [{"filter": "a"}, {"filter": "a"}, {"filter": "a", "jumpIf": {"invalid": "b"}}, {"filter": "b"}]}),
        "flow[2].jumpIf.invalid",
        "not a result of filter kind Step (results: r1, r2)",
    );
    refused(
        json!({"filters": [{"name": "c", "kind": "HeaderCounter", "headers": ["A"]}],
               "flow": [{"filter": "c", "jumpIf": {"mocked": "END"}}]}),
        "flow[0].jumpIf.mocked",
        "results: invalidHeader",
    );
}

#[test]
fn jumps_only_go_forward() {
    refused(
        json!({"filters": [step("a", ""), step("b", "")],
               "flow": [{"filter": "a"}, {"filter": "b", "jumpIf": {"r1": "a"}}]}),
        "flow[1].jumpIf.r1",
        "target \"a\" not found",
    );
    // A node cannot jump to itself either.
    refused(
        json!({"filters": [step("a", "")], "flow": [{"filter": "a", "jumpIf": {"r1": "a"}}]}),
        "flow[0].jumpIf.r1",
        "later in the flow",
    );
}

#[test]
fn unknown_and_empty_targets_are_refused() {
    refused(
        json!({"filters": [step("a", "")], "flow": [{"filter": "a", "jumpIf": {"r1": "nowhere"}}]}),
        "flow[0].jumpIf.r1",
        "target \"nowhere\" not found",
    );
    refused(
        json!({"filters": [step("a", "")], "flow": [{"filter": "a", "jumpIf": {"r1": ""}}]}),
        "flow[0].jumpIf.r1",
        "not found",
    );
}

#[test]
fn an_end_node_is_not_a_jump_target_by_alias() {
    refused(
        json!({"filters": [step("a", "")],
               "flow": [{"filter": "a", "jumpIf": {"r1": "stop"}}, {"filter": "END", "alias": "stop"}]}),
        "flow[0].jumpIf.r1",
        "not found",
    );
}

#[test]
fn ambiguous_targets_are_duplicated_names() {
    refused(
        json!({"filters": [step("a", ""), step("b", "")],
               "flow": [{"filter": "a", "jumpIf": {"r1": "b"}}, {"filter": "b"}, {"filter": "b"}]}),
        "flow[0].jumpIf.r1",
        "duplicated filter name/alias \"b\"",
    );
    refused(
        json!({"filters": [step("a", ""), step("b", "")],
               "flow": [{"filter": "a", "jumpIf": {"": "x"}}, {"filter": "b", "alias": "x"},
                        {"filter": "a", "alias": "x"}]}),
        "flow[0].jumpIf.\"\"",
        "duplicated filter name/alias \"x\"",
    );
}

#[test]
fn repeated_filters_without_jumps_to_them_are_fine() {
    let sup = supervisor();
    validate(
        &sup,
        pl(json!({"filters": [step("a", ""), step("b", "")],
                  "flow": [{"filter": "a", "namespace": "x"}, {"filter": "a", "namespace": "y"},
                           {"filter": "a", "jumpIf": {"r1": "b"}}, {"filter": "b"}]})),
    )
    .unwrap();
}

/// Easegress's schema makes the rates 1-100: an explicit 0 is refused by the pipeline's
/// check, the same whether or not a Proxy uses the policy.
#[test]
fn a_zero_failure_rate_threshold_is_refused_at_its_own_path() {
    let cb = json!({"name": "cb", "kind": "CircuitBreaker", "failureRateThreshold": 0});
    refused(
        json!({"filters": [step("a", "")], "resilience": [cb.clone()]}),
        "resilience[0].failureRateThreshold",
        "not a percentage in 1-100",
    );
    let proxy = json!({"name": "px", "kind": "Proxy", "pools": [{
        "servers": [{"url": "http://127.0.0.1:9"}], "circuitBreakerPolicy": "cb"}]});
    refused(
        json!({"filters": [proxy], "resilience": [cb]}),
        "resilience[0].failureRateThreshold",
        "not a percentage in 1-100",
    );
}

/// The Proxy's unknown keys reach the answer like every other filter's, and checking it
/// needs no runtime (nothing live is built).
#[test]
fn a_proxys_unknown_keys_are_warnings() {
    let sup = supervisor();
    let w = validate(
        &sup,
        pl(
            json!({"filters": [{"name": "px", "kind": "Proxy", "timeout": "1s", "pools": [{
            "servers": [{"url": "http://127.0.0.1:9", "wieght": 1}], "maxConnection": 3,
            "circuitBreakerPolicy": "cb"}]}],
            "resilience": [{"name": "cb", "kind": "CircuitBreaker", "failureRateThreshold": 60}]}),
        ),
    )
    .unwrap();
    let mut w = w;
    w.sort();
    assert_eq!(
        w,
        vec![
            "filters[0].pools[0].maxConnection: unknown field, ignored",
            "filters[0].pools[0].servers[0].wieght: unknown field, ignored",
            "filters[0].timeout: unknown field, ignored",
        ]
    );
    let err = validate(
        &sup,
        pl(
            json!({"filters": [{"name": "px", "kind": "Proxy", "pools": [{
            "servers": [{"url": "http://127.0.0.1:9"}], "circuitBreakerPolicy": "nope"}]}]}),
        ),
    )
    .unwrap_err();
    assert_eq!(err.path, "filters[0].pools[0].circuitBreakerPolicy");
}

#[test]
fn resilience_policies_are_checked() {
    let f = json!([step("a", "")]);
    refused(
        json!({"filters": f, "resilience": [3]}),
        "resilience[0]",
        "mapping",
    );
    refused(
        json!({"filters": f, "resilience": [{"kind": "Retry"}]}),
        "resilience[0].name",
        "required",
    );
    refused(
        json!({"filters": f, "resilience": [{"name": "r", "kind": "Retrier"}]}),
        "resilience[0].kind",
        "unknown resilience kind",
    );
    refused(
        json!({"filters": f, "resilience": [{"name": "r"}]}),
        "resilience[0].kind",
        "required",
    );
    refused(
        json!({"filters": f, "resilience": [{"name": "r", "kind": "Retry", "waitDuration": "soon"}]}),
        "resilience[0].waitDuration",
        "invalid duration",
    );
    refused(
        json!({"filters": f, "resilience": [{"name": "r", "kind": "Retry", "backOffPolicy": "linear"}]}),
        "resilience[0].backOffPolicy",
        "not one of",
    );
    refused(
        json!({"filters": f, "resilience": [
            {"name": "r", "kind": "Retry"},
            {"name": "c", "kind": "CircuitBreaker", "slidingWindowType": "SIZE"}]}),
        "resilience[1].slidingWindowType",
        "not one of",
    );
    refused(
        json!({"filters": f, "resilience": [
            {"name": "r", "kind": "CircuitBreaker", "failureRateThreshold": 150}]}),
        "resilience[0].failureRateThreshold",
        "percentage",
    );
    refused(
        json!({"filters": f, "resilience": [{"name": "r", "kind": "Retry"}, {"name": "r", "kind": "CircuitBreaker"}]}),
        "resilience[1].name",
        "duplicated",
    );
}

#[test]
fn data_must_be_a_mapping() {
    refused(json!({"filters": [], "data": [1]}), "data", "invalid type");
}

#[test]
fn unknown_keys_are_warnings_with_paths() {
    let sup = supervisor();
    let w = validate(
        &sup,
        pl(json!({
            "version": "easegress.megaease.com/v2",
            "labels": {"a": "b"},
            "protocol": "HTTP",
            "filters": [{"name": "m", "kind": "Mock", "rules": [{"code": 200, "delay2": "1s"}]}],
            "flow": [{"filter": "m", "jumpif": {}}],
            "resilience": [{"name": "r", "kind": "Retry", "maxAttempt": 2}],
        })),
    )
    .unwrap();
    let mut w = w;
    w.sort();
    assert_eq!(
        w,
        vec![
            "filters[0].rules[0].delay2: unknown field, ignored",
            "flow[0].jumpif: unknown field, ignored",
            "protocol: unknown field, ignored",
            "resilience[0].maxAttempt: unknown field, ignored",
        ]
    );
}
