use eg_supervisor::{Object, ObjectKind};
use serde_json::{json, Value};

use super::*;
use crate::testkit::{ctx, global_filter, pipeline, stats_tag, step, supervisor, trace, validate};

fn gf(before_result: &str, fallthrough: Value) -> Value {
    json!({
        "name": "gf", "kind": "GlobalFilter",
        "beforePipeline": {"filters": [step("before", before_result)]},
        "afterPipeline": {"filters": [step("after", "")]},
        "fallthrough": fallthrough,
    })
}

/// before ends? × pipeline ends? × fallthrough flags → which stages ran.
#[tokio::test]
async fn fallthrough_matrix() {
    let cases = [
        // (before result, pipeline result, ft.before, ft.pipeline, expected trace)
        ("", "", false, false, vec!["before", "main", "after"]),
        ("r1", "", false, false, vec!["before"]),
        ("r1", "", true, false, vec!["before", "main", "after"]),
        ("", "r1", false, false, vec!["before", "main"]),
        ("", "r1", false, true, vec!["before", "main", "after"]),
        ("r1", "r1", true, false, vec!["before", "main"]),
        ("r1", "r1", true, true, vec!["before", "main", "after"]),
        // Before ended and the pipeline is skipped: `sawEnd` stays set, so `after` runs only
        // with fallthrough.pipeline.
        ("r1", "", false, true, vec!["before", "after"]),
    ];
    for (b, p, fb, fp, want) in cases {
        let sup = supervisor();
        let g = global_filter(&sup, gf(b, json!({"beforePipeline": fb, "pipeline": fp})));
        let pl = pipeline(
            &sup,
            json!({"name": "main-pl", "kind": "Pipeline", "filters": [step("main", p)]}),
        );
        let mut c = ctx("/", &[]);
        g.handle(&mut c, &pl).await;
        let got: Vec<String> = trace(&c)
            .into_iter()
            .map(|t| t.trim_end_matches("@DEFAULT").to_string())
            .collect();
        assert_eq!(got, want, "before={b:?} pipeline={p:?} ft=({fb},{fp})");
    }
}

#[tokio::test]
async fn a_failing_validator_before_skips_the_rest() {
    let sup = supervisor();
    let g = global_filter(
        &sup,
        json!({"name": "gf", "kind": "GlobalFilter",
               "beforePipeline": {"filters": [{"name": "validator", "kind": "Validator",
                   "headers": {"Before-Pipeline": {"values": ["valid"]}}}]},
               "afterPipeline": {"filters": [step("after", "")]}}),
    );
    let pl = pipeline(
        &sup,
        json!({"name": "p", "kind": "Pipeline", "filters": [
            {"name": "mock", "kind": "Mock", "rules": [{"code": 200, "body": "ok"}]}]}),
    );
    let mut c = ctx("/", &[]);
    assert_eq!(g.handle(&mut c, &pl).await, "invalid");
    assert_eq!(c.take_default_response().unwrap().status, 400);
    assert!(trace(&c).is_empty());

    let mut c = ctx("/", &[("Before-Pipeline", "valid")]);
    // mock returns `mocked`, unhandled → the pipeline ended → after is skipped.
    assert_eq!(g.handle(&mut c, &pl).await, "mocked");
    assert_eq!(c.take_default_response().unwrap().status, 200);
    assert!(trace(&c).is_empty());
}

#[tokio::test]
async fn one_stats_tag_named_after_the_routed_pipeline_and_its_data() {
    let sup = supervisor();
    let g = global_filter(&sup, gf("", json!({})));
    let pl = pipeline(
        &sup,
        json!({"name": "routed", "kind": "Pipeline", "filters": [step("main", "")],
               "data": {"k": "v"}}),
    );
    let mut c = ctx("/", &[]);
    g.handle(&mut c, &pl).await;
    let tags: Vec<String> = c.tags.iter().map(|t| t.to_string()).collect();
    assert_eq!(tags.len(), 1, "{tags:?}");
    let tag = stats_tag(&c);
    assert!(tag.starts_with("pipeline(routed): before("), "{tag}");
    assert!(
        tag.contains(")->main(") && tag.contains(")->after("),
        "{tag}"
    );
    assert_eq!(c.data.as_ref().unwrap()["PIPELINE"], json!({"k": "v"}));
}

#[tokio::test]
async fn only_one_stage_is_enough() {
    let sup = supervisor();
    let g = global_filter(
        &sup,
        json!({"name": "gf", "kind": "GlobalFilter",
               "afterPipeline": {"filters": [step("after", "")]}}),
    );
    let pl = pipeline(
        &sup,
        json!({"name": "p", "kind": "Pipeline", "filters": [step("main", "")]}),
    );
    let mut c = ctx("/", &[]);
    g.handle(&mut c, &pl).await;
    assert_eq!(trace(&c), ["main@DEFAULT", "after@DEFAULT"]);
}

#[test]
fn bad_specs_name_the_field() {
    let sup = supervisor();
    let cases = [
        (json!({}), "", "at least one"),
        (
            json!({"beforePipeline": {}}),
            "beforePipeline.filters",
            "required",
        ),
        (
            json!({"afterPipeline": {"filters": [{"name": "x", "kind": "Nope"}]}}),
            "afterPipeline.filters[0].kind",
            "unknown filter kind",
        ),
        (
            json!({"beforePipeline": {"filters": [step("a", "")],
                   "flow": [{"filter": "a", "jumpIf": {"r1": "zzz"}}]}}),
            "beforePipeline.flow[0].jumpIf.r1",
            "not found",
        ),
        (
            json!({"beforePipeline": {"filters": []}, "fallthrough": {"pipeline": "yes"}}),
            "fallthrough.pipeline",
            "invalid type",
        ),
    ];
    for (body, path, msg) in cases {
        let mut doc = json!({"name": "gf", "kind": "GlobalFilter"});
        if let (Some(d), Some(b)) = (doc.as_object_mut(), body.as_object()) {
            d.extend(b.clone());
        }
        let err = validate(&sup, doc).expect_err(&format!("accepted {body}"));
        assert_eq!(err.path, path, "{body}: {err}");
        assert!(err.message.contains(msg), "{body}: {err}");
    }
    let w = validate(
        &sup,
        json!({"name": "gf", "kind": "GlobalFilter",
               "beforePipeline": {"filters": [], "extra": 1}, "other": 2}),
    )
    .unwrap();
    assert_eq!(
        w,
        [
            "other: unknown field, ignored",
            "beforePipeline.extra: unknown field, ignored"
        ]
    );
}

#[tokio::test]
async fn update_inherits_stage_filters_and_closes_removed_stages() {
    let sup = supervisor();
    let old = global_filter(&sup, gf("", json!({})));
    let pl = pipeline(
        &sup,
        json!({"name": "p", "kind": "Pipeline", "filters": []}),
    );
    let mut c = ctx("/", &[]);
    old.handle(&mut c, &pl).await;
    let new = global_filter(
        &sup,
        json!({"name": "gf", "kind": "GlobalFilter",
               "beforePipeline": {"filters": [step("before", "")]}}),
    );
    assert_eq!(
        new.status()["beforePipeline"]["filters"]["before"]["inherited"],
        2
    );
    assert!(new.status()["afterPipeline"].is_null());
    let o = old.status();
    assert_eq!(o["beforePipeline"]["filters"]["before"]["closed"], true);
    assert_eq!(o["afterPipeline"]["filters"]["after"]["closed"], true);
}

#[test]
fn kind_names() {
    let k = GlobalFilterKind::new(crate::testkit::filters());
    let info = k.info();
    assert_eq!((info.kind, info.name), ("GlobalFilter", "globalfilter"));
    assert_eq!(info.aliases, ["globalfilters"]);
    assert_eq!(info.category, Category::BusinessController);
}
