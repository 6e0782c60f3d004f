//! The route table's fallbacks and fixed answers.

use super::*;

#[tokio::test]
async fn an_unknown_path_is_404_and_a_known_path_with_another_method_is_405() {
    let api = api();
    let a = call(&api, "GET", "/no/such/thing", "").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body["code"], 404);
    assert!(a.message().contains("GET /apis/v2/no/such/thing"), "{a:?}");

    for (method, path) in [
        ("PATCH", "/objects"),
        ("POST", "/objects/w1"),
        ("PUT", "/healthz"),
        ("POST", "/customdata/k/i"),
    ] {
        let a = call(&api, method, path, "").await;
        assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_eq!(a.body["code"], 405);
    }
}

#[tokio::test]
async fn fixed_answers() {
    let api = api();
    assert_eq!(status(&api, "GET", "/healthz", "").await, StatusCode::OK);
    let groups = call(&api, "GET", "", "").await;
    let entries = groups.body[0]["Entries"].as_array().unwrap().len();
    assert_eq!(entries, crate::routes::ROUTES.len());
    let about = call(&api, "GET", "/about", "").await;
    assert!(about.body.as_str().unwrap().contains("Easegress"));
}

/// Start requests that cannot start anything answer Easegress's 400s and leave nothing
/// running (the profiles themselves are tested against the real binary).
#[tokio::test]
async fn profile_start_refuses_bad_requests() {
    let api = api();
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = dir.path().join("no-such-dir/cpu.pprof");
    let bad_path = format!("{{\"path\": {:?}}}", missing_dir.to_str().unwrap());
    for kind in ["cpu", "memory"] {
        let uri = format!("/profile/start/{kind}");
        for (body, message) in [
            ("", "bad request"),
            ("[1, 2", "bad request"),
            ("path: [a]", "bad request"),
            ("{}", "missing path"),
            ("path: ''", "missing path"),
        ] {
            let a = call(&api, "POST", &uri, body).await;
            assert_eq!(a.status, StatusCode::BAD_REQUEST, "{kind} {body:?}: {a:?}");
            assert_eq!(a.body["message"], message, "{kind} {body:?}");
        }
        let a = call(&api, "POST", &uri, &bad_path).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{a:?}");
        let m = a.body["message"].as_str().unwrap();
        assert!(
            m.starts_with(&format!("create {kind} profile failed: ")) && m.contains("no-such-dir"),
            "{m}"
        );
    }
    let info = call(&api, "GET", "/profile", "").await;
    assert_eq!(info.body, json!({"cpuPath": "", "memoryPath": ""}));
    assert!(!missing_dir.exists());
}

#[tokio::test]
async fn path_segments_are_percent_decoded() {
    let api = api();
    post(&api, &widget("w~1", json!({}))).await;
    let a = call(&api, "GET", "/objects/w%7E1", "").await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["name"], "w~1");
}

#[tokio::test]
async fn kinds_are_listed_with_their_resource_names() {
    let api = api();
    let a = call(&api, "GET", "/object-kinds", "").await;
    assert_eq!(a.status, StatusCode::OK);
    let text = a.body.to_string();
    assert!(text.contains("Widget") && text.contains("Part"), "{text}");
}

#[tokio::test]
async fn metrics_include_the_process_metrics() {
    let api = api();
    let a = call(&api, "GET", "/metrics", "").await;
    assert_eq!(a.status, 200);
    let text = a.body.as_str().expect("text");
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "process_threads",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} missing in\n{text}"
        );
    }
}

#[tokio::test]
async fn an_object_kinds_schema_is_served_by_name_or_alias() {
    let api = api();
    let a = call(&api, "GET", "/object-kinds/widgets/schema", "").await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["type"], "object");
    let a = call(&api, "GET", "/object-kinds/Gadget/schema", "").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.message().contains("Gadget"), "{a:?}");
}
