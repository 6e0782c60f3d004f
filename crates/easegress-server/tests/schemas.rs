//! `docs/schemas/` holds exactly the schemas the spec types generate.
//!
//! `make schemas` (this test with `EG_WRITE_SCHEMAS=1`) rewrites the files; without it the
//! test fails when a spec type changed and the files were not regenerated, naming the file.

use std::path::PathBuf;

use easegress_server::{registry, schemas};

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/schemas")
}

#[test]
fn the_published_schemas_are_the_generated_ones() {
    let (filters, kinds) = registry::builtin().finish();
    let docs = schemas::documents(&filters, &kinds);
    let dir = schema_dir();
    let write = std::env::var_os("EG_WRITE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (path, doc) in &docs {
        let file = dir.join(path);
        let text = schemas::render(doc);
        if write {
            std::fs::create_dir_all(file.parent().expect("a parent")).expect("schema dir");
            std::fs::write(&file, text).expect("schema written");
        } else if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "docs/schemas is out of date (run `make schemas`): {stale:?}"
    );
    let names: Vec<&str> = docs.iter().map(|(p, _)| p.as_str()).collect();
    for expected in [
        "easegress.json",
        "objects/HTTPServer.json",
        "objects/Pipeline.json",
        "filters/Proxy.json",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
}

#[test]
fn the_combined_schema_picks_the_schema_of_each_kind() {
    let (filters, kinds) = registry::builtin().finish();
    let docs = schemas::documents(&filters, &kinds);
    let all = &docs
        .iter()
        .find(|(p, _)| p == "easegress.json")
        .expect("easegress.json")
        .1;
    let kinds_listed = all["properties"]["kind"]["enum"].as_array().expect("kinds");
    assert!(kinds_listed.contains(&serde_json::json!("HTTPServer")));
    let branch = |kind: &str| {
        all["allOf"]
            .as_array()
            .and_then(|b| {
                b.iter()
                    .find(|b| b["if"]["properties"]["kind"]["const"] == kind)
            })
            .map(|b| b["then"].clone())
            .unwrap_or_else(|| panic!("no branch for {kind}"))
    };
    let hs = branch("HTTPServer");
    for field in ["port", "rules", "keepAlive", "clientMaxBodySize"] {
        assert!(hs["properties"].get(field).is_some(), "{field}: {hs}");
    }
    let pl = branch("Pipeline");
    let filter_kinds = &pl["properties"]["filters"]["items"]["properties"]["kind"]["enum"];
    assert!(
        filter_kinds
            .as_array()
            .is_some_and(|k| k.contains(&serde_json::json!("Proxy"))),
        "{pl}"
    );
}
