use serde_json::json;

use super::*;
use crate::testkit::{build, ctx, run};

#[tokio::test]
async fn counts_listed_headers() {
    let f = build(&KIND, json!({"headers": ["Cookie", "Authorization"]})).unwrap();
    let mut c = ctx(
        "GET",
        "/",
        &[("cookie", "a=1"), ("Authorization", "Bearer x")],
    );
    assert_eq!(run(&*f, &mut c).await, "");
    let mut c = ctx("GET", "/", &[("Cookie", "b=2")]);
    assert_eq!(run(&*f, &mut c).await, "");
    assert_eq!(
        f.status(),
        json!({"counts": {"cookie": 2, "authorization": 1}})
    );
}

#[tokio::test]
async fn none_of_the_headers_is_invalid() {
    let f = build(&KIND, json!({"headers": ["Cookie"]})).unwrap();
    let mut c = ctx("GET", "/", &[("X-Other", "1")]);
    assert_eq!(run(&*f, &mut c).await, RESULT_INVALID_HEADER);
    // An empty value does not count.
    let mut c = ctx("GET", "/", &[("Cookie", "")]);
    assert_eq!(run(&*f, &mut c).await, RESULT_INVALID_HEADER);
    assert!(c.response().is_none());
    assert_eq!(f.status(), json!({"counts": {"cookie": 0}}));
}

#[tokio::test]
async fn counts_carry_over_to_the_next_generation() {
    let old = build(&KIND, json!({"headers": ["Cookie", "X-Gone"]})).unwrap();
    let mut c = ctx("GET", "/", &[("Cookie", "a")]);
    run(&*old, &mut c).await;
    let new = build(&KIND, json!({"headers": ["cookie", "X-New"]})).unwrap();
    new.init(Some(&*old));
    assert_eq!(new.status(), json!({"counts": {"cookie": 1, "x-new": 0}}));
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (
            json!({"headers": ["ok", "bad name"]}),
            "filters[0].headers[1]",
        ),
        (json!({"headers": ["A", "a"]}), "filters[0].headers[1]"),
        (json!({"headers": "Cookie"}), "filters[0].headers"),
    ];
    for (doc, path) in cases {
        let err = build(&KIND, doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{doc} accepted"));
        assert_eq!(err.path, path, "{doc}: {err}");
    }
}
