//! The listener's own answers over a real socket: prefixes, `X-Config-Version` and the
//! object-size limit.

use eg_testkit::{free_port, http, raw, status_of, Answer};

use super::*;

/// Serves `api_with(config)` on a free port; returns the address and the stop switch.
async fn serving(config: ApiConfig) -> (String, tokio::sync::watch::Sender<bool>) {
    let addr = format!("127.0.0.1:{}", free_port());
    let api = api_with(ApiConfig {
        addr: addr.clone(),
        ..config
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    crate::serve(api, stopped).await.expect("serve");
    (addr, stop)
}

/// One request from a blocking thread (the client is synchronous).
async fn request(addr: &str, method: &str, path: &str, body: &str) -> Answer {
    let (addr, method, path, body) = (
        addr.to_string(),
        method.to_string(),
        path.to_string(),
        body.to_string(),
    );
    tokio::task::spawn_blocking(move || http(&addr, &method, &path, &[], &body))
        .await
        .unwrap()
        .expect("request")
}

fn version(a: &Answer) -> u64 {
    a.header("X-Config-Version")
        .expect("X-Config-Version on every answer")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn every_answer_carries_the_config_version_and_writes_raise_it() {
    let (addr, _stop) = serving(ApiConfig::default()).await;
    let first = request(&addr, "GET", "/apis/v2/objects", "").await;
    assert_eq!(first.status, 200);
    let created = request(&addr, "POST", "/apis/v2/objects", &widget("w1", json!({}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(version(&created) > version(&first));
    let refused = request(&addr, "POST", "/apis/v2/objects", &widget("w1", json!({}))).await;
    assert_eq!(refused.status, 409);
    assert_eq!(version(&refused), version(&created));
    let missing = request(&addr, "GET", "/apis/v2/nothing", "").await;
    assert_eq!(missing.status, 404);
    assert_eq!(version(&missing), version(&created));
}

#[tokio::test]
async fn v1_is_an_alias_and_other_prefixes_are_404() {
    let (addr, _stop) = serving(ApiConfig::default()).await;
    assert_eq!(
        request(&addr, "GET", "/apis/v1/healthz", "").await.status,
        200
    );
    assert_eq!(
        request(&addr, "GET", "/apis/v2/healthz/", "").await.status,
        200
    );
    assert_eq!(
        request(&addr, "GET", "/apis/v2x/healthz", "").await.status,
        404
    );
    // The root leads to the dashboard; other paths outside the prefixes are not found.
    assert_eq!(request(&addr, "GET", "/", "").await.status, 302);
    assert_eq!(request(&addr, "GET", "/index.html", "").await.status, 404);
}

#[tokio::test]
async fn an_object_over_the_size_limit_is_413_and_not_stored() {
    let (addr, _stop) = serving(ApiConfig {
        max_object_size: 256,
        ..ApiConfig::default()
    })
    .await;
    let big = widget("big", json!({"pad": "x".repeat(512)}));
    let a = request(&addr, "POST", "/apis/v2/objects", &big).await;
    assert_eq!(a.status, 413, "{}", a.body);
    let message = a.json()["message"].as_str().unwrap_or("").to_string();
    assert!(
        message.contains("256") && message.contains("--api-max-object-size"),
        "{message}"
    );
    assert_eq!(
        request(&addr, "GET", "/apis/v2/objects/big", "")
            .await
            .status,
        404
    );
    // The limit is for object specs only: other bodies may be larger.
    let kind = format!(
        r#"{{"name": "k", "jsonSchema": {{"description": "{}"}}}}"#,
        "y".repeat(512)
    );
    assert_eq!(
        request(&addr, "POST", "/apis/v2/customdatakinds", &kind)
            .await
            .status,
        201
    );
    // A declared length over the limit is refused before the body is sent.
    let addr2 = addr.clone();
    let answer = tokio::task::spawn_blocking(move || {
        raw(
            &addr2,
            "PUT /apis/v2/objects/big HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n",
        )
    })
    .await
    .unwrap();
    assert_eq!(status_of(&answer), 413, "{answer}");
}

/// `GET path` with extra header fields, from a blocking thread.
async fn get_with(addr: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let (addr, path) = (addr.to_string(), path.to_string());
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let h: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        http(&addr, "GET", &path, &h, "")
    })
    .await
    .unwrap()
    .expect("request")
}

#[tokio::test]
async fn the_dashboard_is_behind_the_same_basic_auth() {
    let mut users = std::collections::BTreeMap::new();
    users.insert("admin".to_string(), "s3cret".to_string());
    let (addr, _stop) = serving(ApiConfig {
        basic_auth: users,
        ..ApiConfig::default()
    })
    .await;
    // admin:s3cret
    const AUTH: (&str, &str) = ("Authorization", "Basic YWRtaW46czNjcmV0");
    for path in [
        "/",
        "/dashboard/",
        "/dashboard/app.js",
        "/dashboard/nothing",
    ] {
        let refused = get_with(&addr, path, &[]).await;
        assert_eq!(refused.status, 401, "{path}");
        assert!(refused.header("WWW-Authenticate").is_some());
        assert!(!refused.body.contains("<html"), "{path}");
    }
    let page = get_with(&addr, "/dashboard/", &[AUTH]).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page
        .header("Content-Security-Policy")
        .is_some_and(|c| c.contains("default-src 'none'")));
    assert!(page.body.contains("<main"));
    let root = get_with(&addr, "/", &[AUTH]).await;
    assert_eq!(root.status, 302);
    assert_eq!(root.header("Location"), Some("/dashboard/"));
    let tag = page.header("ETag").expect("an ETag");
    let again = get_with(&addr, "/dashboard/", &[AUTH, ("If-None-Match", tag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let missing = get_with(&addr, "/dashboard/nothing.js", &[AUTH]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json()["code"], 404);
}

#[tokio::test]
async fn the_dashboard_answers_only_to_allowed_hosts_without_auth() {
    let (addr, _stop) = serving(ApiConfig::default()).await;
    let as_host = |host: &str| {
        let (addr, req) = (
            addr.clone(),
            format!("GET /dashboard/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        );
        tokio::task::spawn_blocking(move || raw(&addr, &req))
    };
    let rebound = as_host("attacker.example").await.unwrap();
    assert_eq!(status_of(&rebound), 403, "{rebound}");
    assert!(!rebound.contains("<html"));
    let local = as_host("localhost").await.unwrap();
    assert_eq!(status_of(&local), 200);
}
