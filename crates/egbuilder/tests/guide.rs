//! The developer guide's egbuilder section shows the scaffold as it is: every Rust block of
//! that section is a piece of what egbuilder writes for the kinds it names.

use std::path::Path;

use egbuilder::config::BuildConfig;
use egbuilder::project::Project;
use egbuilder::scaffold::{controller_module, filter_module, registry};
use egbuilder::workspace::main_rs;

const GUIDE: &str = include_str!("../../../docs/developer-guide.md");
const SECTION: &str = "## Build a custom server with egbuilder";

/// The Rust code blocks of the egbuilder section.
fn rust_blocks() -> Vec<&'static str> {
    let start = GUIDE
        .find(SECTION)
        .expect("the guide has the egbuilder section");
    let section = &GUIDE[start + SECTION.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .split("```rust\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect()
}

/// What egbuilder writes for the guide's example.
fn generated() -> Vec<String> {
    let project = Project {
        name: "my-kinds".into(),
        filters: vec!["MyFilter1".into(), "MyFilter2".into()],
        controllers: vec![
            "MyController1".into(),
            "MyController2".into(),
            "MyController3".into(),
        ],
    };
    let build = BuildConfig::parse(
        "easegress: {path: ../easegress-rs}\nplugins: [{name: my-kinds, path: .}]\n",
        Path::new("/my-kinds/build.yaml"),
    )
    .expect("a valid build file");
    vec![
        filter_module("MyFilter1"),
        controller_module("MyController1"),
        registry(&project),
        main_rs(&build),
    ]
}

#[test]
fn the_guide_shows_the_scaffold() {
    let blocks = rust_blocks();
    assert!(blocks.len() >= 5, "{} Rust blocks", blocks.len());
    let files = generated();
    for block in blocks {
        assert!(
            files.iter().any(|f| f.contains(block)),
            "this block of the guide is not what egbuilder writes:\n{block}"
        );
    }
}
