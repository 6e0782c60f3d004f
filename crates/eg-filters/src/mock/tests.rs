use serde_json::json;

use super::*;
use crate::testkit::{body_text, build, ctx, run};

fn mock(doc: Value) -> Box<dyn Filter> {
    build(&KIND, doc).unwrap()
}

#[tokio::test]
async fn first_matching_rule_answers() {
    let m = mock(json!({"rules": [
        {"match": {"path": "/users/1"}, "code": 203,
         "headers": {"X-Mocked": "true", "Content-Type": "application/json"},
         "body": "{\"name\":\"alice\"}"},
        {"match": {"pathPrefix": "/users/"}, "code": 404, "body": "none"},
    ]}));
    let mut c = ctx("GET", "/users/1", &[]);
    assert_eq!(run(&*m, &mut c).await, RESULT_MOCKED);
    let resp = c.response().unwrap();
    assert_eq!(resp.status, 203);
    assert_eq!(resp.headers["x-mocked"], "true");
    assert_eq!(resp.headers["content-type"], "application/json");
    assert_eq!(body_text(&c), "{\"name\":\"alice\"}");

    let mut c = ctx("GET", "/users/2", &[]);
    assert_eq!(run(&*m, &mut c).await, RESULT_MOCKED);
    assert_eq!(c.response().unwrap().status, 404);
    assert_eq!(body_text(&c), "none");
}

#[tokio::test]
async fn no_match_continues_without_response() {
    let m = mock(json!({"rules": [{"match": {"path": "/a"}, "code": 200}]}));
    let mut c = ctx("GET", "/b", &[]);
    assert_eq!(run(&*m, &mut c).await, "");
    assert!(c.response().is_none());
    let empty = mock(json!({}));
    assert_eq!(run(&*empty, &mut c).await, "");
}

#[tokio::test]
async fn empty_match_matches_everything() {
    let m = mock(json!({"rules": [{"code": 418, "body": "teapot"}]}));
    let mut c = ctx("POST", "/anything", &[]);
    assert_eq!(run(&*m, &mut c).await, RESULT_MOCKED);
    assert_eq!(c.response().unwrap().status, 418);
    assert_eq!(body_text(&c), "teapot");
}

#[tokio::test]
async fn header_rules_any_or_all() {
    let any = mock(json!({"rules": [{"match": {"headers": {
        "X-A": {"exact": "1"}, "X-B": {"prefix": "v"}}}, "code": 200}]}));
    let all = mock(
        json!({"rules": [{"match": {"matchAllHeaders": true, "headers": {
        "X-A": {"exact": "1"}, "X-B": {"regex": "^v[0-9]$"}}}, "code": 200}]}),
    );
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case<'_>; 4] = [
        (&[("X-A", "1")], RESULT_MOCKED, ""),
        (&[("X-B", "v1")], RESULT_MOCKED, ""),
        (&[("X-A", "1"), ("X-B", "v2")], RESULT_MOCKED, RESULT_MOCKED),
        (&[("X-A", "2"), ("X-B", "w")], "", ""),
    ];
    for (headers, want_any, want_all) in cases {
        let mut c = ctx("GET", "/", headers);
        assert_eq!(run(&*any, &mut c).await, want_any, "{headers:?}");
        let mut c = ctx("GET", "/", headers);
        assert_eq!(run(&*all, &mut c).await, want_all, "{headers:?}");
    }
}

#[tokio::test]
async fn empty_header_matcher_means_absent() {
    let m = mock(
        json!({"rules": [{"match": {"headers": {"X-Token": {"empty": true}}},
        "code": 401}]}),
    );
    let mut c = ctx("GET", "/", &[]);
    assert_eq!(run(&*m, &mut c).await, RESULT_MOCKED);
    let mut c = ctx("GET", "/", &[("X-Token", "t")]);
    assert_eq!(run(&*m, &mut c).await, "");
}

#[tokio::test]
async fn any_header_value_may_match() {
    let m = mock(json!({"rules": [{"match": {"headers": {"X-A": {"exact": "b"}}}, "code": 200}]}));
    let mut c = ctx("GET", "/", &[("X-A", "a"), ("X-A", "b")]);
    assert_eq!(run(&*m, &mut c).await, RESULT_MOCKED);
}

#[tokio::test]
async fn delay_waits_before_going_on() {
    let m = mock(json!({"rules": [{"code": 200, "delay": "30ms"}]}));
    let mut c = ctx("GET", "/", &[]);
    let start = std::time::Instant::now();
    assert_eq!(run(&*m, &mut c).await, RESULT_MOCKED);
    // A lower bound only: the wait happened.
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (
            json!({"rules": [{"match": {}}]}),
            "filters[0].rules[0].code",
        ),
        (
            json!({"rules": [{"code": 200}, {"code": 600}]}),
            "filters[0].rules[1].code",
        ),
        (
            json!({"rules": [{"code": "x"}]}),
            "filters[0].rules[0].code",
        ),
        (
            json!({"rules": [{"code": 200, "match": {"path": "a"}}]}),
            "filters[0].rules[0].match.path",
        ),
        (
            json!({"rules": [{"code": 200, "match": {"pathPrefix": "a"}}]}),
            "filters[0].rules[0].match.pathPrefix",
        ),
        (
            json!({"rules": [{"code": 200, "match": {"headers": {"X": {}}}}]}),
            "filters[0].rules[0].match.headers.X",
        ),
        (
            json!({"rules": [{"code": 200, "match": {"headers": {"X": {"regex": "("}}}}]}),
            "filters[0].rules[0].match.headers.X.regex",
        ),
        (
            json!({"rules": [{"code": 200, "match": {"headers": {"bad name": {"exact": "a"}}}}]}),
            "filters[0].rules[0].match.headers.bad name",
        ),
        (
            json!({"rules": [{"code": 200, "headers": {"X": "a\nb"}}]}),
            "filters[0].rules[0].headers.X",
        ),
        (
            json!({"rules": [{"code": 200, "delay": "soon"}]}),
            "filters[0].rules[0].delay",
        ),
        (json!({"rules": {}}), "filters[0].rules"),
    ];
    for (doc, path) in cases {
        let err = build(&KIND, doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{doc} accepted"));
        assert_eq!(err.path, path, "{doc}: {err}");
    }
}

#[tokio::test]
async fn yaml_nulls_are_the_fields_defaults() {
    // `body:` and `headers:` with nothing after them, as users write them.
    let doc = eg_spec::parse_document(
        "rules:\n  - match:\n    code: 204\n    headers:\n    body:\n    delay:\n",
    )
    .unwrap();
    let m = mock(doc);
    let mut c = ctx("GET", "/x", &[]);
    assert_eq!(run(&*m, &mut c).await, RESULT_MOCKED);
    assert_eq!(c.response().unwrap().status, 204);
    assert_eq!(body_text(&c), "");
}

#[tokio::test]
async fn yaml_1_1_boolean_words_are_strings() {
    // Easegress reads YAML with gopkg.in/yaml.v3, where only true/false are booleans.
    for word in ["n", "y", "no", "yes", "on", "off", "N", "Off"] {
        let doc = eg_spec::parse_document(&format!(
            "rules:\n  - code: 200\n    body: {word}\n    headers:\n      X-Word: {word}\n"
        ))
        .unwrap();
        let m = mock(doc);
        let mut c = ctx("GET", "/", &[]);
        assert_eq!(run(&*m, &mut c).await, RESULT_MOCKED);
        assert_eq!(body_text(&c), word);
        assert_eq!(c.response().unwrap().headers["x-word"], word);
    }
    // A real boolean is still not a string, as in Easegress.
    let doc = eg_spec::parse_document("rules:\n  - code: 200\n    body: true\n").unwrap();
    let err = build(&KIND, doc).err().map(|e| e.path);
    assert_eq!(err.as_deref(), Some("filters[0].rules[0].body"));
}
