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
    assert_eq!(request(&addr, "GET", "/", "").await.status, 404);
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
