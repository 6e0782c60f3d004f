//! Custom data kinds and their items.

use super::*;

/// A kind `users` keyed by `id` whose items need a numeric `age`.
const USERS: &str = r#"{"name": "users", "idField": "id",
    "jsonSchema": {"type": "object", "required": ["age"], "properties": {"age": {"type": "integer"}}}}"#;

/// Writes a `users` item with `method`.
async fn item(api: &Api, method: &str, body: &str) -> Answer {
    call(api, method, "/customdata/users", body).await
}

fn items(api: &Api, kind: &str) -> Vec<String> {
    api.sup
        .store()
        .range(&keys::custom_data_items(kind))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k.rsplit('/').next().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn kinds_are_created_once_listed_and_deleted_with_their_items() {
    let api = api();
    let a = call(&api, "POST", "/customdatakinds", USERS).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    let a = call(&api, "POST", "/customdatakinds", USERS).await;
    assert_eq!(a.status, StatusCode::CONFLICT);

    let got = call(&api, "GET", "/customdatakinds/users", "").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["idField"], "id");
    // The id field defaults to `name`.
    call(&api, "POST", "/customdatakinds", r#"{"name": "plain"}"#).await;
    assert_eq!(
        call(&api, "GET", "/customdatakinds/plain", "").await.body["idField"],
        "name"
    );

    item(&api, "POST", r#"{"id": "u1", "age": 3}"#).await;
    let list = call(&api, "GET", "/customdatakinds", "").await;
    let users = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "users")
        .cloned()
        .unwrap();
    assert_eq!(users["len"], 1);

    // PUT updates an existing kind only.
    let a = call(&api, "PUT", "/customdatakinds", r#"{"name": "ghost"}"#).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let a = call(&api, "DELETE", "/customdatakinds/users", "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(items(&api, "users").is_empty());
    assert_eq!(
        status(&api, "GET", "/customdatakinds/users", "").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&api, "DELETE", "/customdatakinds/users", "").await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_kind_with_a_bad_name_or_schema_is_400() {
    let api = api();
    let a = call(&api, "POST", "/customdatakinds", r#"{"name": "a b"}"#).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = call(
        &api,
        "POST",
        "/customdatakinds",
        r#"{"name": "k", "jsonSchema": {"type": 12}}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().starts_with("jsonSchema:"), "{a:?}");
    assert_eq!(
        status(&api, "GET", "/customdatakinds/k", "").await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn items_are_created_once_checked_against_the_schema_and_deleted() {
    let api = api();
    call(&api, "POST", "/customdatakinds", USERS).await;

    let a = item(&api, "POST", r#"{"id": "u1", "age": 3}"#).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    let a = item(&api, "POST", r#"{"id": "u1", "age": 4}"#).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(
        call(&api, "GET", "/customdata/users/u1", "").await.body["age"],
        3
    );
    // PUT creates or replaces.
    let a = item(&api, "PUT", r#"{"id": "u1", "age": 4}"#).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        call(&api, "GET", "/customdata/users/u1", "").await.body["age"],
        4
    );

    let a = item(&api, "POST", r#"{"id": "u2", "age": "old"}"#).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().contains("JSON schema"), "{a:?}");
    let a = item(&api, "POST", r#"{"age": 1}"#).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().starts_with("id:"), "{a:?}");
    assert_eq!(items(&api, "users"), ["u1"]);

    let a = call(&api, "POST", "/customdata/nokind", r#"{"name": "x"}"#).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    assert_eq!(
        status(&api, "DELETE", "/customdata/users/u1", "").await,
        StatusCode::OK
    );
    assert_eq!(
        status(&api, "DELETE", "/customdata/users/u1", "").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&api, "GET", "/customdata/users/u1", "").await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_batch_is_all_or_nothing() {
    let api = api();
    call(&api, "POST", "/customdatakinds", USERS).await;
    item(&api, "POST", r#"{"id": "u1", "age": 1}"#).await;
    item(&api, "POST", r#"{"id": "u2", "age": 2}"#).await;

    // One bad item: nothing is deleted, nothing written.
    let a = call(
        &api,
        "POST",
        "/customdata/users/items",
        r#"{"delete": ["u1"], "list": [{"id": "u3", "age": 3}, {"id": "u4"}]}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().starts_with("list[1]:"), "{a:?}");
    assert_eq!(items(&api, "users"), ["u1", "u2"]);

    let a = call(
        &api,
        "POST",
        "/customdata/users/items",
        r#"{"delete": ["u1"], "list": [{"id": "u3", "age": 3}]}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(items(&api, "users"), ["u2", "u3"]);

    // rebuild replaces every item.
    let a = call(
        &api,
        "POST",
        "/customdata/users/items",
        r#"{"rebuild": true, "list": [{"id": "u9", "age": 9}]}"#,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(items(&api, "users"), ["u9"]);

    assert_eq!(
        status(&api, "DELETE", "/customdata/users/items", "").await,
        StatusCode::OK
    );
    assert!(items(&api, "users").is_empty());
    let listed = call(&api, "GET", "/customdata/users", "").await;
    assert_eq!(listed.body, json!([]));
}
