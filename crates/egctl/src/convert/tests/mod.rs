//! Unit tests of the nginx converter.

mod directives;
mod parse;
mod small;

use std::path::Path;

use serde_json::Value;

use super::{convert_file, Conversion};

/// Converts `text` written as `nginx.conf` in a fresh directory (with `extra` files).
pub fn convert_text(text: &str, extra: &[(&str, &str)]) -> (Conversion, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, content) in extra {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, content).expect("write");
    }
    let file = dir.path().join("nginx.conf");
    std::fs::write(&file, text).expect("write nginx.conf");
    let c = convert_file(&file, "t").expect("conversion");
    (c, dir)
}

/// Converts `text`, expecting an error.
pub fn convert_error(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("nginx.conf");
    std::fs::write(&file, text).expect("write nginx.conf");
    match convert_file(&file, "t") {
        Ok(_) => panic!("no error for {text}"),
        Err(e) => e,
    }
}

/// The pipeline named `name`.
pub fn pipeline<'a>(c: &'a Conversion, name: &str) -> &'a Value {
    c.objects
        .pipelines
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no pipeline {name} in {:?}", c.objects.pipelines))
}

/// Whether some warning contains `part`.
pub fn warned(c: &Conversion, part: &str) -> bool {
    c.warnings.list().iter().any(|w| w.contains(part))
}

#[test]
fn a_missing_file_is_an_error() {
    let e = match convert_file(Path::new("/nonexistent/nginx.conf"), "t") {
        Ok(_) => panic!("converted a missing file"),
        Err(e) => e,
    };
    assert!(e.contains("/nonexistent/nginx.conf"), "{e}");
}
