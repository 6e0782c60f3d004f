//! The control plane end to end: the real binary, its admin API and its store.

use eg_testkit::{eventually, free_port, http, Server};
use serde_json::json;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_easegress-server");

fn mock_pipeline(name: &str, body: &str) -> String {
    format!(
        "name: {name}\nkind: Pipeline\nfilters:\n- name: mock\n  kind: Mock\n  rules:\n  - code: 200\n    body: {body}\n"
    )
}

/// The system controllers every member stores at start, as Easegress does.
const SYSTEM_CONTROLLERS: [&str; 4] = [
    "RawConfigTrafficController",
    "ServiceRegistry",
    "StatusSyncController",
    "TrafficController",
];

/// The names of the objects `GET /objects` lists, the system controllers left out.
fn user_objects(s: &Server) -> Vec<String> {
    let list = s.api("GET", "/objects", "").json();
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["name"].as_str())
        .filter(|n| !SYSTEM_CONTROLLERS.contains(n))
        .map(str::to_string)
        .collect()
}

fn http_server(name: &str, port: u16, backend: &str) -> String {
    format!("name: {name}\nkind: HTTPServer\nport: {port}\nrules:\n- paths:\n  - pathPrefix: /\n    backend: {backend}\n")
}

#[test]
fn crud_status_codes_and_config_version() {
    let s = Server::start_new(BIN, "crud");
    let created = s.api("POST", "/objects", &mock_pipeline("pl-a", "a"));
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("Location"), Some("/apis/v2/objects/pl-a"));
    let v1: u64 = created.header("X-Config-Version").unwrap().parse().unwrap();

    let dup = s.api("POST", "/objects", &mock_pipeline("pl-a", "b"));
    assert_eq!(dup.status, 409);
    assert_eq!(dup.json()["code"], 409);

    // A dry run checks the write and stores nothing.
    let dry = s.api(
        "POST",
        "/objects?dryRun=true",
        &mock_pipeline("pl-dry", "d"),
    );
    assert_eq!(dry.status, 201, "{}", dry.body);
    assert_eq!(s.api("GET", "/objects/pl-dry", "").status, 404);
    let dry = s.api(
        "PUT",
        "/objects/pl-a?dryRun=true",
        &mock_pipeline("pl-a", "changed"),
    );
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(
        s.api("GET", "/objects/pl-a", "").json()["filters"][0]["rules"][0]["body"],
        "a"
    );
    let bad = s.api(
        "POST",
        "/objects?dryRun=true",
        "name: bad-hs\nkind: HTTPServer\nport: nope\n",
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("port"), "{}", bad.body);

    let got = s.api("GET", "/objects/pl-a", "");
    assert_eq!(got.status, 200);
    let spec = got.json();
    assert_eq!(spec["filters"][0]["rules"][0]["body"], "a");
    assert_eq!(spec["labels"]["easegress/owner"], "user-api");
    assert!(spec["createdAt"].is_string());

    let yaml = s.api_with(
        "GET",
        "/objects/pl-a",
        &[("Accept", "application/yaml")],
        "",
    );
    assert_eq!(yaml.header("Content-Type"), Some("text/x-yaml"));
    assert!(yaml.body.contains("name: pl-a"), "{}", yaml.body);

    let upd = s.api("PUT", "/objects/pl-a", &mock_pipeline("pl-a", "c"));
    assert_eq!(upd.status, 200, "{}", upd.body);
    let v2: u64 = upd.header("X-Config-Version").unwrap().parse().unwrap();
    assert!(v2 > v1);
    assert_eq!(
        s.api("GET", "/objects/pl-a", "").json()["filters"][0]["rules"][0]["body"],
        "c"
    );

    assert_eq!(
        s.api("PUT", "/objects/pl-a", &mock_pipeline("pl-b", "c"))
            .status,
        400,
        "name mismatch"
    );
    assert_eq!(
        s.api("PUT", "/objects/nope", &mock_pipeline("nope", "c"))
            .status,
        404
    );
    let kind_change = s.api(
        "PUT",
        "/objects/pl-a",
        "name: pl-a\nkind: GlobalFilter\nbeforePipeline:\n  filters: []\n",
    );
    assert_eq!(kind_change.status, 400, "{}", kind_change.body);

    assert_eq!(s.api("DELETE", "/objects/pl-a", "").status, 200);
    assert_eq!(s.api("GET", "/objects/pl-a", "").status, 404);
    assert_eq!(s.api("DELETE", "/objects/pl-a", "").status, 404);
    assert!(user_objects(&s).is_empty());
}

#[test]
fn bad_specs_are_refused_with_the_field_and_nothing_is_stored() {
    let s = Server::start_new(BIN, "bad-specs");
    let cases: &[(&str, &str)] = &[
        ("name: x1\nkind: Pipeline\nfilters: [ { unclosed", "invalid YAML"),
        ("kind: Pipeline\nfilters: []\n", "name"),
        ("name: 'a b'\nkind: Pipeline\nfilters: []\n", "name"),
        ("name: x2\nkind: NoSuchKind\n", "kind"),
        ("name: x3\n", "kind"),
        ("name: x4\nkind: HTTPServer\n", "port"),
        ("name: x5\nkind: HTTPServer\nport: notanumber\n", "port"),
        ("name: x6\nkind: Pipeline\nfilters:\n- name: p\n  kind: Proxy\n  pools:\n  - servers:\n    - url: 127.0.0.1:8888\n", "filters[0].pools[0].servers[0].url"),
        ("name: x7\nkind: Pipeline\nfilters:\n- name: m\n  kind: NoSuchFilter\n", "filters[0].kind"),
        ("name: x8\nkind: StatusInLocalController\npath: ''\n", "path"),
    ];
    for (doc, field) in cases {
        let a = s.api("POST", "/objects", doc);
        assert_eq!(a.status, 400, "{doc}: {}", a.body);
        let msg = a.json()["message"].as_str().unwrap_or_default().to_string();
        assert!(
            msg.contains(field),
            "{doc}: message {msg:?} does not name {field}"
        );
    }
    assert!(user_objects(&s).is_empty(), "nothing stored");
}

#[test]
fn unknown_keys_are_accepted_and_reported_as_warnings() {
    let s = Server::start_new(BIN, "warnings");
    let doc = "name: pl-w\nkind: Pipeline\nmaxConnection: 3\nfilters:\n- name: m\n  kind: Mock\n  colour: red\n  rules:\n  - code: 200\n";
    let a = s.api("POST", "/objects", doc);
    assert_eq!(a.status, 201, "{}", a.body);
    let warnings = a.json()["warnings"].to_string();
    assert!(warnings.contains("maxConnection"), "{warnings}");
    assert!(warnings.contains("filters[0].colour"), "{warnings}");
}

#[test]
fn acknowledged_writes_survive_kill_9_and_serve_again() {
    let mut s = Server::start_new(BIN, "persist");
    let port = free_port();
    assert_eq!(
        s.api("POST", "/objects", &mock_pipeline("pl-p", "persisted"))
            .status,
        201
    );
    assert_eq!(
        s.api("POST", "/objects", &http_server("hs-p", port, "pl-p"))
            .status,
        201
    );
    s.kill9();
    s.start();
    assert_eq!(s.api("GET", "/objects/hs-p", "").json()["port"], port);
    let addr = format!("127.0.0.1:{port}");
    let body = eventually(Duration::from_secs(20), || {
        http(&addr, "GET", "/x", &[], "")
            .ok()
            .filter(|a| a.status == 200)
            .map(|a| a.body)
    });
    assert_eq!(body, "persisted");
    assert_eq!(s.stop(), Some(0), "SIGTERM is a clean stop");
}

#[test]
fn kinds_resources_and_filter_metadata() {
    let s = Server::start_new(BIN, "meta");
    let kinds = s.api("GET", "/object-kinds", "").json();
    for k in [
        "HTTPServer",
        "Pipeline",
        "GlobalFilter",
        "StatusInLocalController",
    ] {
        assert!(kinds.as_array().unwrap().contains(&json!(k)), "{kinds}");
    }
    let res = s.api("GET", "/object-api-resources", "").json();
    let hs = res
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "HTTPServer")
        .unwrap()
        .clone();
    assert_eq!(hs["name"], "httpserver");
    assert_eq!(hs["category"], "TrafficGate");
    assert!(hs["aliases"].as_array().unwrap().contains(&json!("hs")));
    let results = s
        .api(
            "GET",
            "/metadata/objects/pipeline/filters/Proxy/results",
            "",
        )
        .json();
    assert!(results.as_array().unwrap().contains(&json!("failureCode")));
    // Every registered filter kind serves the schema of its spec.
    let filters = s
        .api("GET", "/metadata/objects/pipeline/filters", "")
        .json();
    assert!(filters.as_array().unwrap().len() >= 14, "{filters}");
    for k in filters.as_array().unwrap() {
        let k = k.as_str().unwrap();
        let schema = s
            .api(
                "GET",
                &format!("/metadata/objects/pipeline/filters/{k}/schema"),
                "",
            )
            .json();
        assert_eq!(schema["type"], "object", "{k}: {schema}");
        let fields = schema["properties"]
            .as_object()
            .map(|p| p.keys().filter(|f| *f != "name" && *f != "kind").count());
        assert!(fields.unwrap_or(0) > 0, "{k}: {schema}");
    }
    let proxy = s
        .api("GET", "/metadata/objects/pipeline/filters/Proxy/schema", "")
        .json();
    for field in ["pools", "mirrorPool", "compression", "mtls", "maxIdleConns"] {
        assert!(proxy["properties"].get(field).is_some(), "{field}: {proxy}");
    }
    assert_eq!(
        s.api("GET", "/metadata/objects/pipeline/filters/Nope/results", "")
            .status,
        404
    );
    // Object kinds serve the schemas of their spec types; a Pipeline's filters are checked
    // per filter kind.
    let hs = s.api("GET", "/object-kinds/hs/schema", "").json();
    for field in [
        "port",
        "rules",
        "keepAlive",
        "ipFilter",
        "clientMaxBodySize",
    ] {
        assert!(hs["properties"].get(field).is_some(), "{field}: {hs}");
    }
    let pl = s.api("GET", "/object-kinds/Pipeline/schema", "").json();
    let items = &pl["properties"]["filters"]["items"];
    assert!(
        items["properties"]["kind"]["enum"]
            .as_array()
            .is_some_and(|k| k.contains(&json!("Proxy"))),
        "{pl}"
    );
    assert_eq!(s.api("GET", "/object-kinds/Nope/schema", "").status, 404);
    let tmpl = s.api("GET", "/objects-yaml/hs/demo", "");
    assert!(tmpl.body.contains("kind: HTTPServer"), "{}", tmpl.body);
    let groups = s.api("GET", "", "").json();
    assert_eq!(groups[0]["Group"], "admin");
    assert_eq!(s.api("GET", "/no-such-route", "").status, 404);
    assert_eq!(s.api("PATCH", "/objects", "").status, 405);
}

#[test]
fn system_controllers_are_listed_stored_and_kept_as_easegress_does() {
    let mut s = Server::start_new(BIN, "sysctl");
    let kinds = s.api("GET", "/object-kinds", "").json();
    let res = s.api("GET", "/object-api-resources", "").json();
    for k in SYSTEM_CONTROLLERS {
        assert!(kinds.as_array().unwrap().contains(&json!(k)), "{kinds}");
        let r = res
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == k)
            .unwrap_or_else(|| panic!("{k} missing from {res}"));
        assert_eq!(r["category"], "SystemController");
        assert_eq!(r["name"], k.to_lowercase());
    }
    // Each is an object named after its kind, with its defaults.
    let list = s.api("GET", "/objects", "").json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, SYSTEM_CONTROLLERS);
    let sr = s.api("GET", "/objects/ServiceRegistry", "").json();
    assert_eq!(sr["kind"], "ServiceRegistry");
    assert_eq!(sr["syncInterval"], "10s");

    // Neither created nor deleted through the API; changed with PUT, checked first.
    let doc = "name: StatusSyncController\nkind: StatusSyncController\n";
    assert_eq!(s.api("POST", "/objects", doc).status, 409);
    assert_eq!(
        s.api("DELETE", "/objects/StatusSyncController", "").status,
        400
    );
    let bad = s.api(
        "PUT",
        "/objects/ServiceRegistry",
        "name: ServiceRegistry\nkind: ServiceRegistry\nsyncInterval: soon\n",
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("syncInterval"), "{}", bad.body);
    let ok = s.api(
        "PUT",
        "/objects/ServiceRegistry",
        "name: ServiceRegistry\nkind: ServiceRegistry\nsyncInterval: 30s\n",
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(s.api("DELETE", "/objects?all=true", "").status, 200);
    assert_eq!(
        s.api("GET", "/objects", "")
            .json()
            .as_array()
            .unwrap()
            .len(),
        4
    );

    // A restart keeps the changed spec rather than storing the defaults again.
    s.stop();
    s.start();
    let sr = s.api("GET", "/objects/ServiceRegistry", "").json();
    assert_eq!(sr["syncInterval"], "30s");
}

#[test]
fn status_of_objects_and_members() {
    let s = Server::start_new(BIN, "status-member");
    assert_eq!(
        s.api("POST", "/objects", &mock_pipeline("pl-s", "s"))
            .status,
        201
    );
    let key = "eg-traffic-default/pl-s/status-member";
    let st = eventually(Duration::from_secs(10), || {
        let a = s.api("GET", "/status/objects/pl-s", "");
        (a.status == 200 && a.json().get(key).is_some()).then(|| a.json())
    });
    assert!(st[key].is_object());
    assert_eq!(s.api("GET", "/status/objects/missing", "").status, 404);
    let members = s.api("GET", "/status/members", "").json();
    assert_eq!(members[0]["options"]["Name"], "status-member");
    assert_eq!(members[0]["options"]["APIAddr"], s.api_addr());
    assert!(members[0]["lastHeartbeatTime"].is_string());
}

#[test]
fn custom_data_kinds_and_items_with_schema() {
    let s = Server::start_new(BIN, "customdata");
    let kind = "name: users\nidField: id\njsonSchema:\n  type: object\n  properties:\n    age:\n      type: integer\n  required: [id, age]\n";
    assert_eq!(s.api("POST", "/customdatakinds", kind).status, 201);
    assert_eq!(s.api("POST", "/customdatakinds", kind).status, 409);
    assert_eq!(
        s.api("POST", "/customdata/users", "id: u1\nage: 3\n")
            .status,
        201
    );
    let bad = s.api("POST", "/customdata/users", "id: u2\nage: old\n");
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.json()["message"].as_str().unwrap().contains("age"),
        "{}",
        bad.body
    );
    assert_eq!(
        s.api("POST", "/customdata/users", "age: 3\n").status,
        400,
        "missing id"
    );
    let batch = "rebuild: true\nlist:\n- {id: u3, age: 1}\n- {id: u4, age: 2}\n";
    assert_eq!(s.api("POST", "/customdata/users/items", batch).status, 200);
    let items = s.api("GET", "/customdata/users", "").json();
    assert_eq!(items.as_array().unwrap().len(), 2, "{items}");
    assert_eq!(s.api("GET", "/customdata/users/u3", "").json()["age"], 1);
    assert_eq!(
        s.api("GET", "/customdata/users/u1", "").status,
        404,
        "rebuild removed u1"
    );
    let bad_batch = "list:\n- {id: u5, age: 1}\n- {id: u6, age: x}\n";
    assert_eq!(
        s.api("POST", "/customdata/users/items", bad_batch).status,
        400
    );
    assert_eq!(
        s.api("GET", "/customdata/users/u5", "").status,
        404,
        "a bad batch changes nothing"
    );
    assert_eq!(s.api("DELETE", "/customdata/users/u3", "").status, 200);
    assert_eq!(s.api("DELETE", "/customdatakinds/users", "").status, 200);
    assert_eq!(s.api("GET", "/customdata/users", "").status, 404);
    assert_eq!(
        s.api(
            "POST",
            "/customdatakinds",
            "name: bad\njsonSchema:\n  type: 12\n"
        )
        .status,
        400
    );
}
