use std::time::Duration;

use eg_supervisor::Supervisor;
use serde_json::json;

use super::*;
use crate::resilience::Policies;
use crate::testkit::{build, ctx, filter_spec, run, supervisor};

fn spec() -> Value {
    json!({
        "headerKey": "X-Org-Header",
        "etcdPrefix": "credentials/",
        "headerSetters": [
            {"etcdKey": "ext-id", "headerKey": "user-ext-id"},
            {"etcdKey": "extra-entry", "headerKey": "X-Extra"},
        ],
    })
}

fn put(sup: &Supervisor, kind: &str, id: &str, item: Value) {
    sup.store()
        .put(
            &keys::custom_data_item(kind, id),
            item.to_string().into_bytes(),
        )
        .unwrap();
}

fn lookup_filter(sup: &Supervisor, doc: Value) -> Box<dyn Filter> {
    let res = Policies::new();
    let spec = filter_spec(&KIND, doc);
    let f = (KIND.build)(&spec, &BuildContext::new(sup, &res))
        .unwrap()
        .filter;
    f.init(None);
    f
}

/// The headers `f` adds to `GET path` carrying `headers`.
async fn added(f: &dyn Filter, path: &str, headers: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut c = ctx("GET", path, headers);
    assert_eq!(run(f, &mut c).await, "");
    c.request()
        .unwrap()
        .headers()
        .iter()
        .filter(|(k, _)| {
            !headers
                .iter()
                .any(|(h, _)| h.eq_ignore_ascii_case(k.as_str()))
        })
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn sets_headers_from_the_item() {
    let sup = supervisor();
    put(
        &sup,
        "credentials",
        "abc",
        json!({"ext-id": "123456789", "extra-entry": 7, "other": "x"}),
    );
    let f = lookup_filter(&sup, spec());
    assert_eq!(
        added(&*f, "/", &[("x-org-header", "abc")]).await,
        pairs(&[("user-ext-id", "123456789"), ("x-extra", "7")])
    );
    // An existing header is replaced.
    let mut c = ctx(
        "GET",
        "/",
        &[("x-org-header", "abc"), ("User-Ext-Id", "forged")],
    );
    run(&*f, &mut c).await;
    let all: Vec<_> = c
        .request()
        .unwrap()
        .headers()
        .get_all("user-ext-id")
        .iter()
        .collect();
    assert_eq!(all, vec!["123456789"]);
    // No header, an empty one, or an unknown id: nothing changes.
    assert!(added(&*f, "/", &[]).await.is_empty());
    assert!(added(&*f, "/", &[("x-org-header", "")]).await.is_empty());
    assert!(added(&*f, "/", &[("x-org-header", "nobody")])
        .await
        .is_empty());
}

#[tokio::test]
async fn path_regexp_group_extends_the_id() {
    let sup = supervisor();
    put(
        &sup,
        "credentials",
        "abc-def",
        json!({"ext-id": "from-path"}),
    );
    put(&sup, "credentials", "abc", json!({"ext-id": "plain"}));
    let mut doc = spec();
    doc["pathRegExp"] = json!("^/api/([a-z]+)/[0-9]+");
    let f = lookup_filter(&sup, doc);
    assert_eq!(
        added(&*f, "/api/def/4", &[("x-org-header", "abc")]).await,
        pairs(&[("user-ext-id", "from-path")])
    );
    // No match: the header value alone.
    assert_eq!(
        added(&*f, "/other", &[("x-org-header", "abc")]).await,
        pairs(&[("user-ext-id", "plain")])
    );
}

#[tokio::test]
async fn a_change_of_the_custom_data_is_seen() {
    let sup = supervisor();
    put(&sup, "credentials", "abc", json!({"ext-id": "v1"}));
    let f = lookup_filter(&sup, spec());
    let hl = f.as_any().downcast_ref::<HeaderLookup>().unwrap();
    let h = &[("x-org-header", "abc")];
    assert_eq!(added(&*f, "/", h).await, pairs(&[("user-ext-id", "v1")]));
    assert_eq!(hl.cached(), 1);
    put(&sup, "credentials", "abc", json!({"ext-id": "v2"}));
    let mut seen = false;
    for _ in 0..200 {
        if added(&*f, "/", h).await == pairs(&[("user-ext-id", "v2")]) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen, "the update never reached the filter");
    // A deleted item no longer sets anything.
    sup.store()
        .apply(
            vec![eg_store::Op::Delete(keys::custom_data_item(
                "credentials",
                "abc",
            ))],
            None,
        )
        .unwrap();
    let mut gone = false;
    for _ in 0..200 {
        if added(&*f, "/", h).await.is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "the deletion never reached the filter");
    f.close();
}

#[tokio::test]
async fn the_cache_holds_at_most_128_items() {
    let sup = supervisor();
    for i in 0..130 {
        put(
            &sup,
            "credentials",
            &format!("id{i}"),
            json!({"ext-id": i.to_string()}),
        );
    }
    let f = lookup_filter(&sup, spec());
    let hl = f.as_any().downcast_ref::<HeaderLookup>().unwrap();
    for i in 0..130 {
        let id = format!("id{i}");
        assert_eq!(
            added(&*f, "/", &[("x-org-header", &id)]).await,
            pairs(&[("user-ext-id", &i.to_string())])
        );
    }
    assert_eq!(hl.cached(), CACHE_SIZE);
}

#[test]
fn the_kind_is_read_with_or_without_slashes() {
    let sup = supervisor();
    for prefix in ["credentials", "/credentials/", "credentials/"] {
        let mut doc = spec();
        doc["etcdPrefix"] = json!(prefix);
        let f = lookup_filter(&sup, doc);
        let hl = f.as_any().downcast_ref::<HeaderLookup>().unwrap();
        assert_eq!(hl.prefix, "/custom-data/credentials/");
    }
}

#[test]
fn bad_specs_name_the_field() {
    let with = |k: &str, v: Value| {
        let mut d = spec();
        d[k] = v;
        d
    };
    let cases = [
        (with("headerKey", json!("")), "filters[0].headerKey"),
        (with("headerKey", json!("bad key")), "filters[0].headerKey"),
        (with("etcdPrefix", json!("")), "filters[0].etcdPrefix"),
        (with("etcdPrefix", json!("/")), "filters[0].etcdPrefix"),
        (with("pathRegExp", json!("(")), "filters[0].pathRegExp"),
        (with("headerSetters", json!([])), "filters[0].headerSetters"),
        (with("headerSetters", json!({})), "filters[0].headerSetters"),
        (
            with("headerSetters", json!([{"headerKey": "X-A"}])),
            "filters[0].headerSetters[0].etcdKey",
        ),
        (
            with(
                "headerSetters",
                json!([{"etcdKey": "a", "headerKey": "X-A"}, {"etcdKey": "b"}]),
            ),
            "filters[0].headerSetters[1].headerKey",
        ),
        (
            with(
                "headerSetters",
                json!([{"etcdKey": "a", "headerKey": "bad key"}]),
            ),
            "filters[0].headerSetters[0].headerKey",
        ),
    ];
    for (doc, path) in cases {
        let err = build(&KIND, doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{doc} accepted"));
        assert_eq!(err.path, path, "{doc}: {err}");
    }
}
