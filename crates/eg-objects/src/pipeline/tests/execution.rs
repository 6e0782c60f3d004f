//! The execution algorithm: order, jumps, END, aliases, namespaces, repeated filters,
//! data, stats.

use serde_json::{json, Value};

use crate::testkit::{ctx, pipeline, stats_tag, step, supervisor, trace};

fn pl(name: &str, filters: Value, flow: Value) -> Value {
    json!({"name": name, "kind": "Pipeline", "filters": filters, "flow": flow})
}

#[tokio::test]
async fn without_flow_filters_run_in_definition_order() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        json!({"name": "p", "kind": "Pipeline", "filters": [step("b", ""), step("a", "")]}),
    );
    let mut c = ctx("/", &[]);
    assert_eq!(p.handle(&mut c).await, "");
    assert_eq!(trace(&c), ["b@DEFAULT", "a@DEFAULT"]);
    assert!(
        c.take_default_response().is_none(),
        "no response: the server answers 503"
    );
}

#[tokio::test]
async fn flow_order_wins_over_definition_order() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        pl(
            "p",
            json!([step("a", ""), step("b", "")]),
            json!([{"filter": "b"}, {"filter": "a"}]),
        ),
    );
    let mut c = ctx("/", &[]);
    p.handle(&mut c).await;
    assert_eq!(trace(&c), ["b@DEFAULT", "a@DEFAULT"]);
}

#[tokio::test]
async fn non_empty_result_without_jump_ends_the_flow() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        pl(
            "p",
            json!([step("a", "r1"), step("b", "")]),
            json!([{"filter": "a"}, {"filter": "b"}]),
        ),
    );
    let mut c = ctx("/", &[]);
    assert_eq!(p.handle(&mut c).await, "r1");
    assert_eq!(trace(&c), ["a@DEFAULT"]);
}

#[tokio::test]
async fn a_listed_result_jumps_forward_skipping_nodes() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        pl(
            "p",
            json!([step("a", "r2"), step("b", ""), step("c", ""), step("d", "")]),
            json!([{"filter": "a", "jumpIf": {"r1": "END", "r2": "c"}},
                   {"filter": "b"}, {"filter": "c"}, {"filter": "d"}]),
        ),
    );
    let mut c = ctx("/", &[]);
    assert_eq!(p.handle(&mut c).await, "");
    assert_eq!(trace(&c), ["a@DEFAULT", "c@DEFAULT", "d@DEFAULT"]);
}

#[tokio::test]
async fn jump_to_end_and_explicit_end_node() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        pl(
            "p",
            json!([step("a", "r1"), step("b", "")]),
            json!([{"filter": "a", "jumpIf": {"r1": "END"}}, {"filter": "b"}]),
        ),
    );
    let mut c = ctx("/", &[]);
    assert_eq!(p.handle(&mut c).await, "r1");
    assert_eq!(trace(&c), ["a@DEFAULT"]);

    // A target after an explicit END runs only when jumped to.
    let p = pipeline(
        &sup,
        pl(
            "q",
            json!([step("ok", ""), step("fail", "r1"), step("fix", "")]),
            json!([{"filter": "ok"}, {"filter": "END"}, {"filter": "fix"}]),
        ),
    );
    let mut c = ctx("/", &[]);
    assert_eq!(p.handle(&mut c).await, "");
    assert_eq!(trace(&c), ["ok@DEFAULT"]);
    let p = pipeline(
        &sup,
        pl(
            "q2",
            json!([step("fail", "r1"), step("fix", "")]),
            json!([{"filter": "fail", "jumpIf": {"r1": "fix"}}, {"filter": "END"}, {"filter": "fix"}]),
        ),
    );
    let mut c = ctx("/", &[]);
    assert_eq!(p.handle(&mut c).await, "");
    assert_eq!(trace(&c), ["fail@DEFAULT", "fix@DEFAULT"]);
}

#[tokio::test]
async fn empty_result_can_jump() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        pl(
            "p",
            json!([step("a", ""), step("b", ""), step("c", "")]),
            json!([{"filter": "a", "jumpIf": {"": "c"}}, {"filter": "b"}, {"filter": "c"}]),
        ),
    );
    let mut c = ctx("/", &[]);
    p.handle(&mut c).await;
    assert_eq!(trace(&c), ["a@DEFAULT", "c@DEFAULT"]);
    let p = pipeline(
        &sup,
        pl(
            "q",
            json!([step("a", ""), step("b", "")]),
            json!([{"filter": "a", "jumpIf": {"": "END"}}, {"filter": "b"}]),
        ),
    );
    let mut c = ctx("/", &[]);
    assert_eq!(p.handle(&mut c).await, "");
    assert_eq!(trace(&c), ["a@DEFAULT"]);
}

#[tokio::test]
async fn aliases_namespaces_and_repeated_filters() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        pl(
            "p",
            json!([step("copy", ""), step("check", "r1"), step("last", "")]),
            json!([
                {"filter": "copy", "namespace": "one"},
                {"filter": "copy", "namespace": "two"},
                {"filter": "check", "alias": "check1", "jumpIf": {"r1": "check2"}},
                {"filter": "copy", "namespace": "skipped"},
                {"filter": "check", "alias": "check2", "namespace": "two", "jumpIf": {"r1": "last"}},
                {"filter": "copy"},
                {"filter": "last"},
            ]),
        ),
    );
    let mut c = ctx("/", &[]);
    assert_eq!(p.handle(&mut c).await, "");
    assert_eq!(
        trace(&c),
        [
            "copy@one",
            "copy@two",
            "check@DEFAULT",
            "check@two",
            "last@DEFAULT"
        ]
    );
    assert_eq!(
        c.namespaces()
            .iter()
            .map(|n| n.name.to_string())
            .collect::<Vec<_>>(),
        ["DEFAULT", "one", "two"]
    );
    let tag = stats_tag(&c);
    assert!(
        tag.starts_with("pipeline(p): copy(")
            && tag.contains(")->check1(r1,")
            && tag.contains(")->check2(r1,"),
        "{tag}"
    );
    assert_eq!(tag.matches("->").count(), 4, "{tag}");
}

#[tokio::test]
async fn async_filters_are_awaited() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        pl(
            "p",
            json!([{"name": "a", "kind": "Step", "result": "r1", "pending": true}, step("b", "")]),
            json!([{"filter": "a", "jumpIf": {"r1": "b"}}, {"filter": "b"}]),
        ),
    );
    let mut c = ctx("/", &[]);
    assert_eq!(p.handle(&mut c).await, "");
    assert_eq!(trace(&c), ["a@DEFAULT", "b@DEFAULT"]);
}

#[tokio::test]
async fn data_is_exposed_as_pipeline() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        json!({"name": "p", "kind": "Pipeline", "filters": [step("a", "")],
               "data": {"foo": "hello world", "n": 1}}),
    );
    let mut c = ctx("/", &[]);
    p.handle(&mut c).await;
    assert_eq!(
        c.data.as_ref().unwrap()["PIPELINE"],
        json!({"foo": "hello world", "n": 1})
    );
    // No data: nothing is set.
    let q = pipeline(
        &sup,
        json!({"name": "q", "kind": "Pipeline", "filters": [], "data": {}}),
    );
    let mut c = ctx("/", &[]);
    q.handle(&mut c).await;
    assert!(c.data.is_none());
}

#[tokio::test]
async fn stats_tag_format() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        pl(
            "demo",
            json!([step("f1", ""), step("f2", "r2")]),
            json!([{"filter": "f1"}, {"filter": "f2"}]),
        ),
    );
    let mut c = ctx("/", &[]);
    p.handle(&mut c).await;
    let tag = stats_tag(&c);
    let re = regex::Regex::new(
        r"^pipeline\(demo\): f1\([0-9.]+(ns|µs|ms|s)\)->f2\(r2,[0-9.]+(ns|µs|ms|s)\)$",
    )
    .unwrap();
    assert!(re.is_match(&tag), "{tag}");
    let e = pipeline(
        &sup,
        json!({"name": "empty", "kind": "Pipeline", "filters": []}),
    );
    let mut c = ctx("/", &[]);
    e.handle(&mut c).await;
    assert_eq!(stats_tag(&c), "pipeline(empty): <empty>");
}

#[tokio::test]
async fn real_filters_in_a_flow() {
    let sup = supervisor();
    let p = pipeline(
        &sup,
        pl(
            "p",
            json!([
                {"name": "validator", "kind": "Validator", "headers": {"X-Ok": {"values": ["yes"]}}},
                {"name": "mock", "kind": "Mock", "rules": [{"code": 200, "body": "hello"}]},
                {"name": "fallback", "kind": "Fallback", "mockCode": 403, "mockBody": "denied"},
            ]),
            json!([
                {"filter": "validator", "jumpIf": {"invalid": "fallback"}},
                {"filter": "mock", "jumpIf": {"mocked": "END"}},
                {"filter": "fallback"},
            ]),
        ),
    );
    let mut c = ctx("/", &[("X-Ok", "yes")]);
    assert_eq!(p.handle(&mut c).await, "mocked");
    let r = c.take_default_response().unwrap();
    assert_eq!(
        (r.status.as_u16(), r.body.bytes().unwrap().as_ref()),
        (200, &b"hello"[..])
    );
    let mut c = ctx("/", &[("X-Ok", "no")]);
    assert_eq!(p.handle(&mut c).await, "fallback");
    let r = c.take_default_response().unwrap();
    assert_eq!(
        (r.status.as_u16(), r.body.bytes().unwrap().as_ref()),
        (403, &b"denied"[..])
    );
    assert_eq!(p.requests(), 2);
}

/// Cost of the flow loop: run with `cargo test --release -p eg-objects -- --ignored
/// pipeline_overhead --nocapture`.
#[tokio::test]
#[ignore]
async fn pipeline_overhead() {
    let sup = supervisor();
    let counter = |n: &str| json!({"name": n, "kind": "HeaderCounter", "headers": ["X-A"]});
    let p = pipeline(
        &sup,
        pl(
            "bench",
            json!([counter("c1"), counter("c2"), counter("c3"),
                   {"name": "m", "kind": "Mock", "rules": [{"code": 200, "body": "ok"}]}]),
            json!([{"filter": "c1"}, {"filter": "c2", "jumpIf": {"": "c3"}}, {"filter": "c3"},
                   {"filter": "m", "jumpIf": {"mocked": "END"}}]),
        ),
    );
    const N: u32 = 200_000;
    let start = std::time::Instant::now();
    for _ in 0..N {
        let mut c = ctx("/", &[("X-A", "1")]);
        p.handle(&mut c).await;
        std::hint::black_box(&c);
    }
    let with_ctx = start.elapsed() / N;
    let start = std::time::Instant::now();
    for _ in 0..N {
        let c = ctx("/", &[("X-A", "1")]);
        std::hint::black_box(&c);
    }
    let ctx_only = start.elapsed() / N;
    let start = std::time::Instant::now();
    for _ in 0..N {
        std::hint::black_box(std::time::Instant::now());
    }
    println!("Instant::now(): {:?}", start.elapsed() / N);
    println!(
        "4-node flow: {with_ctx:?}/request including context setup ({ctx_only:?}); \
         flow only ≈ {:?}",
        with_ctx.saturating_sub(ctx_only)
    );
}

#[test]
fn handle_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let sup = supervisor();
    let p = pipeline(
        &sup,
        json!({"name": "p", "kind": "Pipeline", "filters": []}),
    );
    let mut c = ctx("/", &[]);
    let fut = p.handle(&mut c);
    assert_send(&fut);
    drop(fut);
    let g = crate::testkit::global_filter(
        &sup,
        json!({"name": "g", "kind": "GlobalFilter", "beforePipeline": {"filters": []}}),
    );
    let fut = g.handle(&mut c, &p);
    assert_send(&fut);
}
