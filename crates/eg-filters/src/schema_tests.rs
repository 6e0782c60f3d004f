//! Every built-in filter kind serves the JSON schema of its spec, and that schema lists the
//! fields the kind's decoder knows.

use serde_json::{json, Map, Value};

use crate::filter::BuildContext;
use crate::registry::FilterKind;
use crate::resilience::Policies;
use crate::testkit::{filter_spec, supervisor};

/// Each built-in kind with a small spec it accepts without warnings.
fn kinds() -> Vec<(FilterKind, Value)> {
    use crate::builder::{databuilder, requestbuilder, responsebuilder, resultbuilder};
    vec![
        (
            crate::proxy::KIND,
            json!({"pools": [{"servers": [{"url": "http://127.0.0.1:9"}]}]}),
        ),
        (
            crate::validator::KIND,
            json!({"headers": {"X-A": {"values": ["a"]}}}),
        ),
        (
            crate::ratelimiter::KIND,
            json!({"policies": [{"name": "p"}], "defaultPolicyRef": "p",
                   "urls": [{"url": {"prefix": "/"}}]}),
        ),
        (crate::corsadaptor::KIND, json!({})),
        (
            crate::redirector::KIND,
            json!({"match": "^/a", "replacement": "/b"}),
        ),
        (crate::redirectorv2::KIND, json!({"scheme": "https"})),
        (
            crate::certextractor::KIND,
            json!({"target": "subject", "field": "CommonName"}),
        ),
        (
            crate::remotefilter::KIND,
            json!({"url": "http://127.0.0.1:9/filter", "timeout": "1s"}),
        ),
        (crate::mock::KIND, json!({})),
        (
            crate::oidcadaptor::KIND,
            json!({"clientId": "c", "clientSecret": "s", "redirectURI": "/cb",
                   "discovery": "https://idp.test/.well-known/openid-configuration"}),
        ),
        (
            crate::opafilter::KIND,
            json!({"policy": "package http\nallow = true"}),
        ),
        (crate::fallback::KIND, json!({"mockCode": 200})),
        (crate::fileserver::KIND, json!({"root": "."})),
        (crate::headercounter::KIND, json!({"headers": ["X-A"]})),
        (
            crate::headerlookup::KIND,
            json!({"headerKey": "X-Id", "etcdPrefix": "users",
                   "headerSetters": [{"etcdKey": "a", "headerKey": "X-A"}]}),
        ),
        (
            crate::headertojson::KIND,
            json!({"headerMap": [{"header": "X-A", "json": "a"}]}),
        ),
        (crate::requestadaptor::KIND, json!({})),
        (crate::responseadaptor::KIND, json!({})),
        (requestbuilder::KIND, json!({"template": "method: GET"})),
        (
            responsebuilder::KIND,
            json!({"template": "statusCode: 200"}),
        ),
        (resultbuilder::KIND, json!({"template": "result0"})),
        (
            databuilder::KIND,
            json!({"dataKey": "k", "template": "a: 1"}),
        ),
    ]
}

/// The warnings of `kind`'s check of `doc`.
fn check(kind: &FilterKind, doc: &Value) -> Result<Vec<String>, String> {
    let spec = filter_spec(kind, doc.clone());
    let sup = supervisor();
    let res = Policies::new();
    kind.validate(&spec, &BuildContext::new(&sup, &res))
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn every_kind_serves_the_schema_of_the_fields_its_decoder_knows() {
    for (kind, example) in kinds() {
        let k = kind.kind;
        assert_eq!(
            check(&kind, &example),
            Ok(vec![]),
            "{k}: the example is clean"
        );
        let schema = (kind.schema)();
        assert_eq!(schema["type"], "object", "{k}: {schema}");
        assert_eq!(schema["required"][0], "name", "{k}");
        assert_eq!(schema["required"][1], "kind", "{k}");
        let props: &Map<String, Value> = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{k}: no properties in {schema}"));
        let fields: Vec<&String> = props
            .keys()
            .filter(|p| *p != "name" && *p != "kind")
            .collect();
        assert!(!fields.is_empty(), "{k}: a schema without fields: {schema}");
        // Every property is a field the decoder knows: set (to null, which keeps its
        // default) it is never reported as unknown.
        for p in &fields {
            let mut doc = example.clone();
            if doc.get(p.as_str()).is_some() {
                continue;
            }
            doc[p.as_str()] = Value::Null;
            let warnings = check(&kind, &doc).unwrap_or_else(|e| panic!("{k}.{p}: {e}"));
            assert!(warnings.is_empty(), "{k}.{p}: {warnings:?}");
        }
        // ... and a key that is no field is.
        let mut doc = example.clone();
        doc["noSuchField"] = json!(1);
        assert_eq!(
            check(&kind, &doc),
            Ok(vec![
                "filters[0].noSuchField: unknown field, ignored".to_string()
            ]),
            "{k}"
        );
        // The defaults served beside the schema are all fields of it.
        if let Value::Object(defaults) = (kind.default_spec)() {
            for key in defaults.keys() {
                assert!(
                    props.contains_key(key),
                    "{k}: default {key} not in the schema"
                );
            }
        }
    }
}

#[test]
fn nested_types_and_durations_are_described() {
    let proxy = (crate::proxy::KIND.schema)();
    let server = &proxy["properties"]["pools"]["items"]["properties"]["servers"]["items"];
    assert_eq!(server["properties"]["url"]["type"], "string", "{proxy}");
    assert!(server["required"]
        .as_array()
        .is_some_and(|r| r.contains(&json!("url"))));
    let timeout = &proxy["properties"]["pools"]["items"]["properties"]["timeout"];
    assert!(
        timeout.to_string().contains("\"format\":\"duration\""),
        "{timeout}"
    );
    let mock = (crate::mock::KIND.schema)();
    let rule = &mock["properties"]["rules"]["items"]["properties"];
    assert!(
        rule.get("match").is_some() && rule.get("body").is_some(),
        "{mock}"
    );
}

#[test]
fn a_pipelines_filters_are_checked_against_the_schema_of_their_kind() {
    let mut registry = crate::FilterRegistry::new();
    registry
        .register(crate::mock::KIND)
        .register(crate::proxy::KIND);
    let pipeline = json!({
        "type": "object",
        "properties": {"filters": {"type": "array", "description": "The filters."}},
    });
    let schema = registry.embed_in_pipeline_schema(pipeline);
    let filters = &schema["properties"]["filters"];
    assert_eq!(filters["description"], "The filters.");
    let items = &filters["items"];
    assert_eq!(
        items["properties"]["kind"]["enum"],
        json!(["Mock", "Proxy"])
    );
    assert_eq!(items["required"], json!(["kind", "name"]));
    let branches = items["allOf"].as_array().expect("one branch per kind");
    assert_eq!(branches.len(), 2);
    let proxy = branches
        .iter()
        .find(|b| b["if"]["properties"]["kind"]["const"] == "Proxy")
        .expect("a Proxy branch");
    assert!(proxy["then"]["properties"]["pools"].is_object(), "{proxy}");
    assert!(proxy["then"].get("$schema").is_none());
}
