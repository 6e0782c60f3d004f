//! Spec checks: required fields, field paths of bad values, defaults.

use super::*;

#[test]
fn root_is_required_and_must_be_a_directory() {
    assert_eq!(build_err(json!({})), "filters[0].root: required");
    let site = Site::new();
    let missing = site.dir.path().join("nope");
    let e = build_err(json!({"root": missing.to_string_lossy()}));
    assert!(e.starts_with("filters[0].root: "), "{e}");
    let file = site.write("a.txt", "a");
    let e = build_err(json!({"root": file.to_string_lossy()}));
    assert!(e.contains("is not a directory"), "{e}");
}

#[test]
fn bad_fields_are_refused_with_their_path() {
    let site = Site::new();
    let root = site.root_str();
    let cases = [
        (json!({"compress": "br"}), "filters[0].compress: "),
        (
            json!({"precompressed": "gzip zstd"}),
            "filters[0].precompressed: ",
        ),
        (json!({"rewrite": "^/(a $1"}), "filters[0].rewrite: "),
        (json!({"hidden": ["ok", "[abc"]}), "filters[0].hidden[1]: "),
        (json!({"hidden": [""]}), "filters[0].hidden[0]: "),
        (
            json!({"tryFiles": ["{path}", "=abc"]}),
            "filters[0].tryFiles[1]: ",
        ),
        (json!({"tryFiles": ["=99 low"]}), "filters[0].tryFiles[0]: "),
        (json!({"tryFiles": ["=101"]}), "filters[0].tryFiles[0]: "),
        (json!({"tryFiles": [""]}), "filters[0].tryFiles[0]: "),
        (json!({"index": ["../up.html"]}), "filters[0].index[0]: "),
        (json!({"index": [""]}), "filters[0].index[0]: "),
        (
            json!({"cache": {"bufferPoolSize": -1}}),
            "filters[0].cache.bufferPoolSize: ",
        ),
        (
            json!({"cache": {"bufferPoolMaxFileSize": -5}}),
            "filters[0].cache.bufferPoolMaxFileSize: ",
        ),
        (
            json!({"cache": {"bufferPoolTTL": -1}}),
            "filters[0].cache.bufferPoolTTL: ",
        ),
        (
            json!({"cache": {"cacheFileExtensionFilters": [{"extension": ["[x"]}]}}),
            "filters[0].cache.cacheFileExtensionFilters[0].extension[0]: ",
        ),
        (
            json!({"cache": {"cacheFileExtensionFilters": [{"etagMaxAge": 5}]}}),
            "filters[0].cache.cacheFileExtensionFilters[0].extension: ",
        ),
        (json!({"index": "index.html"}), "filters[0].index"),
    ];
    for (mut doc, want) in cases {
        doc["root"] = root.clone().into();
        let e = build_err(doc.clone());
        assert!(e.starts_with(want), "{doc}: {e}");
    }
}

#[test]
fn unknown_fields_are_warnings() {
    let site = Site::new();
    let spec = filter_spec(&KIND, json!({"root": site.root_str(), "bogus": 1}));
    let sup = supervisor();
    let res = crate::resilience::Policies::new();
    let built = (KIND.build)(&spec, &BuildContext::new(&sup, &res)).unwrap();
    assert_eq!(built.warnings.len(), 1, "{:?}", built.warnings);
    assert!(built.warnings[0].contains("bogus"));
}

#[tokio::test]
async fn a_relative_root_is_taken_from_the_working_directory() {
    // The crate's own directory is the working directory of its tests.
    let f = build(&KIND, json!({"root": "src/fileserver"})).unwrap();
    let a = get(f.as_ref(), "/glob.rs").await;
    assert_eq!(a.status, 200);
    assert!(a.text().contains("filepath.Match"));
}

#[test]
fn cache_sizes_default_as_in_easegress_and_are_passed_on() {
    let site = Site::new();
    let f = site.filter(json!({}));
    let cfg = FileServer::cfg_of(f.as_ref());
    assert_eq!(cfg.pool_size, 2 * 1024 * 1024 * 1024);
    assert_eq!(cfg.max_file_size, 10 * 1024 * 1024);
    assert_eq!(cfg.ttl, Duration::from_secs(600));
    assert_eq!(cfg.index, ["index.html", "index.txt"]);
    let f = site.filter(json!({"cache": {
        "bufferPoolSize": 0, "bufferPoolMaxFileSize": 0, "bufferPoolTTL": 7,
    }}));
    let cfg = FileServer::cfg_of(f.as_ref());
    assert_eq!((cfg.pool_size, cfg.max_file_size), (2 << 30, 10 << 20));
    assert_eq!(cfg.ttl, Duration::from_secs(7));
}
