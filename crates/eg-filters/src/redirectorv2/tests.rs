use http::header::LOCATION;
use http::StatusCode;
use serde_json::json;

use super::*;
use crate::testkit::{body_text, build, ctx, filter_spec, run, supervisor};

async fn redirect(spec: Value, path: &str, prefix: Option<&str>) -> Option<(u16, String)> {
    let f = build(&KIND, spec).unwrap();
    let mut c = ctx("GET", path, &[("Host", "localhost")]);
    c.route_path_prefix = prefix.map(std::sync::Arc::from);
    match run(&*f, &mut c).await {
        "" => {
            assert!(c.response().is_none());
            None
        }
        RESULT_REDIRECTED => {
            let resp = c.response().unwrap();
            let loc = resp.headers[LOCATION].to_str().unwrap().to_string();
            Some((resp.status.as_u16(), loc))
        }
        other => panic!("unexpected result {other}"),
    }
}

#[tokio::test]
async fn replaces_the_full_path() {
    let spec = json!({"path": {"type": "ReplaceFullPath", "replaceFullPath": "/newpath"}});
    assert_eq!(
        redirect(spec, "/user/data/profile?x=1", None).await,
        Some((302, "http://localhost/newpath?x=1".into()))
    );
    // The new path is escaped as a URL path.
    let spec = json!({"path": {"type": "ReplaceFullPath", "replaceFullPath": "/a b"}});
    assert_eq!(
        redirect(spec, "/x", None).await,
        Some((302, "http://localhost/a%20b".into()))
    );
}

#[tokio::test]
async fn replaces_the_route_prefix() {
    let spec = json!({"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/account/"}});
    assert_eq!(
        redirect(spec.clone(), "/user/data/profile", Some("/user/")).await,
        Some((302, "http://localhost/account/data/profile".into()))
    );
    // A route without a prefix, or a path the prefix no longer starts (rewritten), changes
    // nothing.
    assert_eq!(redirect(spec.clone(), "/user/data", None).await, None);
    assert_eq!(redirect(spec, "/other/data", Some("/user/")).await, None);
}

#[tokio::test]
async fn changes_scheme_and_hostname() {
    assert_eq!(
        redirect(json!({"scheme": "https"}), "/user/data/profile", None).await,
        Some((302, "https://localhost/user/data/profile".into()))
    );
    assert_eq!(
        redirect(json!({"hostname": "example.com:8443"}), "/p?q=1", None).await,
        Some((302, "http://example.com:8443/p?q=1".into()))
    );
    // The port field is not used.
    assert_eq!(
        redirect(json!({"hostname": "example.com", "port": 8080}), "/p", None).await,
        Some((302, "http://example.com/p".into()))
    );
}

#[tokio::test]
async fn no_change_means_no_redirect() {
    assert_eq!(redirect(json!({}), "/user/data/profile", None).await, None);
    assert_eq!(redirect(json!({"statusCode": 303}), "/a", None).await, None);
    assert_eq!(redirect(json!({"scheme": "http"}), "/a", None).await, None);
    assert_eq!(
        redirect(json!({"hostname": "localhost"}), "/a", None).await,
        None
    );
    // A request that is already https is not redirected to https again.
    let f = build(&KIND, json!({"scheme": "https"})).unwrap();
    let mut c = ctx("GET", "/a", &[("Host", "localhost")]);
    c.request_mut()
        .unwrap()
        .head
        .extensions
        .insert(eg_protocols::ClientTls);
    assert_eq!(run(&*f, &mut c).await, "");
}

#[tokio::test]
async fn status_code_and_body() {
    for code in [301u16, 302, 303, 304, 307, 308] {
        let spec = json!({"scheme": "https", "statusCode": code});
        let f = build(&KIND, spec).unwrap();
        let mut c = ctx("GET", "/a", &[("Host", "h")]);
        assert_eq!(run(&*f, &mut c).await, RESULT_REDIRECTED);
        let resp = c.response().unwrap();
        assert_eq!(resp.status.as_u16(), code);
        assert_eq!(resp.headers[LOCATION], "https://h/a");
        let reason = StatusCode::from_u16(code)
            .unwrap()
            .canonical_reason()
            .unwrap();
        assert_eq!(body_text(&c), reason);
    }
}

#[test]
fn port_is_a_warning() {
    let spec = filter_spec(&KIND, json!({"port": 8080, "hostname": "a.com"}));
    let sup = supervisor();
    let res = crate::resilience::Policies::new();
    let built = (KIND.build)(&spec, &BuildContext::new(&sup, &res)).unwrap();
    assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
    assert!(built.warnings[0].starts_with("filters[0].port: "));
}

#[test]
fn bad_specs_name_the_field() {
    let cases = [
        (json!({"scheme": ""}), "filters[0].scheme"),
        (json!({"scheme": "ftp"}), "filters[0].scheme"),
        (json!({"hostname": ""}), "filters[0].hostname"),
        (json!({"hostname": "a.com/x"}), "filters[0].hostname"),
        (json!({"hostname": "a b"}), "filters[0].hostname"),
        (json!({"port": 0}), "filters[0].port"),
        (json!({"port": 70000}), "filters[0].port"),
        (json!({"port": "80"}), "filters[0].port"),
        (json!({"statusCode": 299}), "filters[0].statusCode"),
        (json!({"statusCode": 300}), "filters[0].statusCode"),
        (json!({"statusCode": 200}), "filters[0].statusCode"),
        (json!({"path": {}}), "filters[0].path.type"),
        (json!({"path": {"type": "Other"}}), "filters[0].path.type"),
        (
            json!({"path": {"type": "ReplaceFullPath"}}),
            "filters[0].path.replaceFullPath",
        ),
        (
            json!({"path": {"type": "ReplacePrefixMatch", "replaceFullPath": "/a"}}),
            "filters[0].path.replacePrefixMatch",
        ),
        (json!({"path": "/a"}), "filters[0].path"),
    ];
    for (doc, path) in cases {
        let err = build(&KIND, doc.clone())
            .err()
            .unwrap_or_else(|| panic!("{doc} accepted"));
        assert_eq!(err.path, path, "{doc}: {err}");
    }
}
