//! `/objects`: create, update, delete, get and list, with what each leaves in the store.

use super::*;

#[tokio::test]
async fn create_stores_the_object_and_bumps_the_config_version() {
    let api = api();
    let before = config_version(&api);
    let a = post(&api, &widget("w1", json!({"size": 3}))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(
        a.headers.get("location").and_then(|v| v.to_str().ok()),
        Some("/apis/v2/objects/w1")
    );
    let doc = stored(&api, "w1").expect("stored");
    assert_eq!(doc["size"], 3);
    assert_eq!(doc["labels"]["easegress/owner"], "user-api");
    assert!(doc["createdAt"].is_string(), "{doc}");
    assert!(config_version(&api) > before);
}

#[tokio::test]
async fn create_answers_the_kinds_warnings() {
    let api = api();
    let a = post(&api, &widget("w1", json!({"unknownField": 1}))).await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["name"], "w1");
    assert_eq!(a.body["warnings"], json!(["unknownField"]));
    assert!(stored(&api, "w1").is_some());
}

#[tokio::test]
async fn a_duplicate_is_409_and_changes_nothing() {
    let api = api();
    post(&api, &widget("w1", json!({"size": 1}))).await;
    let version = config_version(&api);
    let a = post(&api, &widget("w1", json!({"size": 2}))).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{a:?}");
    assert_eq!(a.body["code"], 409);
    assert_eq!(stored(&api, "w1").unwrap()["size"], 1);
    assert_eq!(config_version(&api), version);
}

#[tokio::test]
async fn a_spec_the_kind_refuses_is_400_naming_the_field_and_nothing_is_stored() {
    let api = api();
    let a = post(&api, &widget("w1", json!({"size": -1}))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().contains("size"), "{a:?}");
    assert!(stored_names(&api).is_empty());
    assert_eq!(config_version(&api), 0);
}

#[tokio::test]
async fn unknown_kinds_bad_names_and_empty_bodies_are_400() {
    let api = api();
    let a = post(&api, r#"{"name": "x", "kind": "Gadget"}"#).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().contains("Gadget"), "{a:?}");
    let a = post(&api, r#"{"name": "a b", "kind": "Widget"}"#).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{a:?}");
    let a = post(&api, "  ").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().contains("empty body"), "{a:?}");
    // YAML is accepted as well as JSON.
    let a = post(&api, "name: from-yaml\nkind: Widget\nsize: 2\n").await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(stored_names(&api), ["from-yaml"]);
}

#[tokio::test]
async fn update_replaces_the_spec_and_checks_name_and_existence() {
    let api = api();
    post(&api, &widget("w1", json!({"size": 1}))).await;
    let version = config_version(&api);

    let a = put(&api, "w1", &widget("w1", json!({"size": 5}))).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(stored(&api, "w1").unwrap()["size"], 5);
    assert!(config_version(&api) > version);

    let a = put(&api, "w1", &widget("w2", json!({}))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().starts_with("name:"), "{a:?}");
    assert_eq!(stored(&api, "w1").unwrap()["size"], 5);
    assert!(stored(&api, "w2").is_none());

    let a = put(&api, "w1", &widget("w1", json!({"size": -3}))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(stored(&api, "w1").unwrap()["size"], 5);

    let a = put(&api, "nope", &widget("nope", json!({}))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(stored(&api, "nope").is_none());
}

#[tokio::test]
async fn update_cannot_change_the_kind() {
    let api = api();
    post(&api, &widget("w1", json!({}))).await;
    let a = put(&api, "w1", r#"{"name": "w1", "kind": "Part"}"#).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().starts_with("kind:"), "{a:?}");
    assert_eq!(stored(&api, "w1").unwrap()["kind"], "Widget");
}

#[tokio::test]
async fn delete_removes_the_object_and_a_missing_one_is_404() {
    let api = api();
    post(&api, &widget("w1", json!({}))).await;
    let version = config_version(&api);
    let a = call(&api, "DELETE", "/objects/w1", "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(stored(&api, "w1").is_none());
    assert!(config_version(&api) > version);
    let a = call(&api, "DELETE", "/objects/w1", "").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.body["code"], 404);
}

#[tokio::test]
async fn owned_objects_are_stored_replaced_and_deleted_with_their_owner() {
    let api = api();
    let a = post(&api, &widget("w", json!({"parts": 2}))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert_eq!(stored_names(&api), ["w", "w-part-0", "w-part-1"]);
    // Labelled `<kind>:<name>` as Easegress labels what an object generates.
    assert_eq!(
        stored(&api, "w-part-0").unwrap()["labels"]["easegress/owner"],
        "Widget:w"
    );

    // What the owner owns cannot be changed or deleted on its own.
    let a = put(&api, "w-part-0", r#"{"name": "w-part-0", "kind": "Part"}"#).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().contains("owned by Widget:w"), "{a:?}");
    let a = call(&api, "DELETE", "/objects/w-part-0", "").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(stored(&api, "w-part-0").is_some());

    // An update owning fewer objects drops the others.
    let a = put(&api, "w", &widget("w", json!({"parts": 1}))).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(stored_names(&api), ["w", "w-part-0"]);

    let a = call(&api, "DELETE", "/objects/w", "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(stored_names(&api).is_empty());
}

#[tokio::test]
async fn objects_stored_with_the_old_bare_owner_label_still_go_with_their_owner() {
    let api = api();
    let a = post(&api, &widget("w", json!({"parts": 2}))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    // As earlier versions stored them: `easegress/owner: w`.
    for part in ["w-part-0", "w-part-1"] {
        let mut doc = stored(&api, part).unwrap();
        doc["labels"]["easegress/owner"] = json!("w");
        let bytes = serde_json::to_vec(&doc).unwrap();
        api.sup.store().put(&keys::object(part), bytes).unwrap();
    }
    // Still owned: not changeable on its own, dropped by an update, deleted with the owner.
    let a = call(&api, "DELETE", "/objects/w-part-0", "").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{a:?}");
    let a = put(&api, "w", &widget("w", json!({"parts": 1}))).await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(stored_names(&api), ["w", "w-part-0"]);
    assert_eq!(
        stored(&api, "w-part-0").unwrap()["labels"]["easegress/owner"],
        "Widget:w"
    );
    let a = call(&api, "DELETE", "/objects/w", "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(stored_names(&api).is_empty());

    // Re-creating over an object stored with the old label is no conflict.
    post(&api, &widget("v", json!({"parts": 1}))).await;
    let mut doc = stored(&api, "v-part-0").unwrap();
    doc["labels"]["easegress/owner"] = json!("v");
    let bytes = serde_json::to_vec(&doc).unwrap();
    api.sup
        .store()
        .put(&keys::object("v-part-0"), bytes)
        .unwrap();
    api.sup.store().delete(&keys::object("v")).unwrap();
    let a = post(&api, &widget("v", json!({"parts": 1}))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
}

#[tokio::test]
async fn an_owned_object_the_kind_refuses_fails_the_whole_create() {
    let api = api();
    let a = post(&api, &widget("w", json!({"parts": 1, "brokenParts": true}))).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().contains("generated object w-part-0"), "{a:?}");
    assert!(a.message().contains("broken"), "{a:?}");
    assert!(stored_names(&api).is_empty());
}

#[tokio::test]
async fn an_owned_name_taken_by_another_object_is_409() {
    let api = api();
    post(&api, r#"{"name": "w-part-0", "kind": "Part"}"#).await;
    let a = post(&api, &widget("w", json!({"parts": 1}))).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{a:?}");
    assert!(stored(&api, "w").is_none());
    assert_eq!(
        stored(&api, "w-part-0").unwrap()["labels"]["easegress/owner"],
        "user-api"
    );
}

#[tokio::test]
async fn get_and_list_honour_the_namespace() {
    let api = api();
    post(&api, &widget("w1", json!({"size": 1}))).await;
    post(&api, r#"{"name": "p1", "kind": "Part"}"#).await;

    let a = call(&api, "GET", "/objects/w1", "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["size"], 1);
    assert_eq!(
        status(&api, "GET", "/objects/w1?namespace=default", "").await,
        StatusCode::OK
    );
    assert_eq!(
        status(&api, "GET", "/objects/w1?namespace=other", "").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&api, "GET", "/objects/none", "").await,
        StatusCode::NOT_FOUND
    );

    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_string())
            .collect()
    };
    // Without a namespace: every object; with "default": the traffic ones (Pipeline
    // and TrafficGate categories); any other namespace is empty.
    assert_eq!(
        names(&call(&api, "GET", "/objects", "").await.body),
        ["p1", "w1"]
    );
    assert_eq!(
        names(
            &call(&api, "GET", "/objects?namespace=default", "")
                .await
                .body
        ),
        ["w1"]
    );
    assert!(names(&call(&api, "GET", "/objects?namespace=x", "").await.body).is_empty());
    let all = call(&api, "GET", "/objects?all-namespaces=true", "").await;
    assert_eq!(names(&all.body["default"]), ["w1"]);
    let both = call(
        &api,
        "GET",
        "/objects?namespace=default&all-namespaces=true",
        "",
    )
    .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn delete_all_needs_all_true() {
    let api = api();
    post(&api, &widget("w1", json!({}))).await;
    post(&api, &widget("w2", json!({"parts": 1}))).await;
    assert_eq!(status(&api, "DELETE", "/objects", "").await, StatusCode::OK);
    assert_eq!(stored_names(&api).len(), 3);
    assert_eq!(
        status(&api, "DELETE", "/objects?all=true", "").await,
        StatusCode::OK
    );
    assert!(stored_names(&api).is_empty());
}

#[tokio::test]
async fn a_dry_run_create_checks_everything_and_stores_nothing() {
    let api = api();
    let a = call(
        &api,
        "POST",
        "/objects?dryRun=true",
        &widget("w1", json!({"parts": 2})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
    assert!(stored_names(&api).is_empty());
    assert_eq!(config_version(&api), 0);

    let a = call(
        &api,
        "POST",
        "/objects?dryRun=All",
        &widget("w1", json!({"size": -1})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.message().contains("size"), "{a:?}");

    post(&api, &widget("w1", json!({"size": 1}))).await;
    let version = config_version(&api);
    let a = call(
        &api,
        "POST",
        "/objects?dryRun=true",
        &widget("w1", json!({"size": 2})),
    )
    .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{a:?}");
    assert_eq!(stored(&api, "w1").unwrap()["size"], 1);
    assert_eq!(config_version(&api), version);
}

#[tokio::test]
async fn a_dry_run_update_checks_everything_and_changes_nothing() {
    let api = api();
    post(&api, &widget("w1", json!({"size": 1}))).await;
    let version = config_version(&api);
    let a = call(
        &api,
        "PUT",
        "/objects/w1?dryRun=true",
        &widget("w1", json!({"size": 7, "unknownField": 1})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{a:?}");
    assert_eq!(a.body["warnings"], json!(["unknownField"]));
    assert_eq!(stored(&api, "w1").unwrap()["size"], 1);
    assert_eq!(config_version(&api), version);

    let a = call(
        &api,
        "PUT",
        "/objects/w1?dryRun=true",
        &widget("w1", json!({"size": -7})),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = call(
        &api,
        "PUT",
        "/objects/nope?dryRun=true",
        &widget("nope", json!({})),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(stored(&api, "nope").is_none());
}
